// One user-step of one row, as a sequence of named stages.
//
// StepRow reads top to bottom like the user's experience: the slate is
// scored and the user chooses (Choose), every clicked item is consumed
// (Respond) and changes the user (EvolveInterests, UpdateAfterClick), or the
// user passes (UpdateAfterNoClick); interests drift; the session may end
// (SessionEnd), and an ended session either continues after a gap or ends
// the episode (EndSession); finally the row gets its next observation or its
// next user (Finish).
//
// Randomness: every draw of a step comes from the row's response stream, in
// the order of the stages below (the choice's draws, then per click the
// dislike/like draws and the interest direction, then drift, leave, return
// and gap); candidates and observation noise have their own streams. The
// order is part of the results: changing it changes every trajectory.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "env/slate_search.h"
#include "env/vec_env.h"
#include "env/vec_env_inl.h"

namespace cohort {

// The slate as the user sees it: each position's item, its score (the
// utility the choice model turns into probabilities) and its affinity (the
// user-item match that responses and dynamics also read).
struct VecEnv::ShownSlate {
  ItemView items[slate_search::kMaxSlateSize];
  double scores[slate_search::kMaxSlateSize];
  double affinity[slate_search::kMaxSlateSize];
  double probs[slate_search::kMaxSlateSize];
  // Respond()'s by-product: each clicked item's watch time in double
  // precision, which the budget and the clock are charged with.
  mutable double watch[slate_search::kMaxSlateSize];
};

void VecEnv::StepRow(int r, const int32_t* slate) {
  const size_t R = size_t(r);
  StepBatch& b = batch_;
  const size_t s0 = R * slate_size_;
  std::fill_n(&b.liked[s0], slate_size_, 0);
  std::fill_n(&b.disliked[s0], slate_size_, 0);
  std::fill_n(&b.watch_time[s0], slate_size_, 0.0f);
  b.terminated[R] = b.truncated[R] = b.session_ended[R] = b.end_reason[R] = 0;
  b.gap[R] = 0.0f;

  // A bot (env.users.bots) chooses by its rule instead of the choice model
  // and feels nothing: no interest evolution, satisfaction or drift.
  const int bot_entry = Bot(r);
  const std::vector<BotParams>& bots = model_.params().bots;
  const bool person = bot_entry < 0 || size_t(bot_entry) >= bots.size();
  ShownSlate shown;
  if (person)
    Choose(r, slate, shown);
  else
    BotChoose(r, bots[size_t(bot_entry)], slate, shown);

  // Every click is watched, in position order. Each is capped by the budget
  // the user had when the slate arrived, so a click's outcome does not depend
  // on the others (which keeps ExpectedReward exact for multi-click models);
  // the watch times are then charged to the budget one after another.
  double reward = 0.0, step_time = 0.0;
  const double budget = budget_[R];
  bool first_click = true;
  for (int j = 0; j < slate_size_; ++j) {
    if (!b.clicked[s0 + size_t(j)]) continue;
    reward += Respond(r, shown, j, budget);
    const double watch = shown.watch[j];
    if (person) EvolveInterests(r, shown.items[j], shown.affinity[j]);
    UpdateAfterClick(r, shown.items[j], shown.affinity[j], watch, first_click, person);
    step_time += watch;
    first_click = false;
  }
  if (first_click) {
    UpdateAfterNoClick(r, person);
    step_time = model_.params().dynamics.budget_no_click_cost;
  }
  if (person) Drift(r);
  time_[R] += step_time;
  b.reward[R] = static_cast<float>(reward);
  if (b.sequence > 0) RecordInteraction(r, slate);
  ++b.session_step[R];
  ++b.episode_step[R];

  const EndReason reason = SessionEnd(r);
  const bool episode_over = reason != EndReason::kNone && EndSession(r, reason);
  Finish(r, episode_over);
}

// env.observation.sequence: the step just taken becomes entry 0 of the
// row's sequence, the older entries move one place (the oldest of a full
// sequence drops out). Runs before Finish, while the batch still holds the
// candidates the slate indexes and this step's response.
void VecEnv::RecordInteraction(int r, const int32_t* slate) {
  StepBatch& b = batch_;
  const size_t R = size_t(r), L = size_t(b.sequence), k = size_t(slate_size_), s0 = R * k;
  const size_t c0 = R * size_t(num_candidates_);
  b.ForEachSequenceField([&](const char*, auto& v, int width, double, Domain) {
    const size_t w = size_t(width);
    auto* row = v.data() + R * L * w;
    if (w > 0) std::copy_backward(row, row + (L - 1) * w, row + L * w);
  });
  const size_t e = R * L;  // entry 0 of row r
  for (size_t j = 0; j < k; ++j) {
    const size_t c = c0 + size_t(slate[j]);
    b.sequence_topic[e * k + j] = b.topic[c];
    if (b.sequence_items) b.sequence_item_id[e * k + j] = b.item_id[c];
    if (b.candidate_features) std::copy_n(&b.features[c * dim_], dim_, &b.sequence_features[(e * k + j) * dim_]);
    b.sequence_clicked[e * k + j] = b.clicked[s0 + j];
    b.sequence_liked[e * k + j] = b.liked[s0 + j];
    b.sequence_disliked[e * k + j] = b.disliked[s0 + j];
    b.sequence_watch_time[e * k + j] = b.watch_time[s0 + j];
  }
  b.sequence_click_position[e] = b.click_position[R];
  b.sequence_reward[e] = b.reward[R];
  b.sequence_gap[e] = session_gap_[R];
  b.sequence_session_step[e] = int32_t(b.session_step[R]);
  b.sequence_length[R] = std::min(b.sequence_length[R] + 1, int32_t(L));
}

// Scores the slate and lets the user choose: the choice model's exact
// probabilities, then its draws (env/choice.h) set the examined and clicked
// flags. click_position reports the first click.
void VecEnv::Choose(int r, const int32_t* slate, ShownSlate& shown) {
  const size_t R = size_t(r);
  for (int j = 0; j < slate_size_; ++j) {
    shown.items[j] = Candidate(r, slate[j]);
    shown.scores[j] = Score(r, shown.items[j], &shown.affinity[j]);
  }
  const ChoiceModel& choice = model_.choice();
  choice.Probabilities(shown.scores, slate_size_, click_propensity_[R], shown.probs);
  const size_t s0 = R * slate_size_;
  batch_.click_position[R] =
      choice.Sample(shown.probs, slate_size_, rng_response_[R], &batch_.examined[s0], &batch_.clicked[s0]);
}

// Which position bot `bot` clicks if it clicks (env/params.h BotParams):
// clickbait the highest quality (the first among equals), click_farm the
// first item of its topic (-1: none shown); -2 for the random clicker, any
// position alike. The one rule BotChoose draws from and BotProbabilities
// states exactly.
int BotTarget(const BotParams& bot, const ItemView* items, int k) {
  switch (bot.kind) {
    case BotKind::kRandomClicker:
      return -2;
    case BotKind::kClickbait: {
      int best = 0;
      for (int j = 1; j < k; ++j)
        if (items[j].quality > items[best].quality) best = j;
      return best;
    }
    case BotKind::kClickFarm:
      for (int j = 0; j < k; ++j)
        if (items[j].topic == bot.topic) return j;
      return -1;
  }
  return -1;
}

// A bot's choice: it examines every position and clicks at most one, with
// probability click_probability (one uniform draw from the response stream;
// the random clicker draws its position next). The scores are filled in as
// for a person (Respond reads the affinity for likes).
void VecEnv::BotChoose(int r, const BotParams& bot, const int32_t* slate, ShownSlate& shown) {
  const size_t R = size_t(r), s0 = R * slate_size_;
  for (int j = 0; j < slate_size_; ++j) {
    shown.items[j] = Candidate(r, slate[j]);
    shown.scores[j] = Score(r, shown.items[j], &shown.affinity[j]);
  }
  Rng& rng = rng_response_[R];
  int position = -1;
  if (rng.Uniform() < bot.click_probability) {
    position = BotTarget(bot, shown.items, slate_size_);
    if (position == -2) position = int(rng.Below(uint32_t(slate_size_)));
  }
  std::fill_n(&batch_.examined[s0], slate_size_, 1);
  std::fill_n(&batch_.clicked[s0], slate_size_, 0);
  if (position >= 0) batch_.clicked[s0 + size_t(position)] = 1;
  batch_.click_position[R] = position;
}

// What the user does with the clicked item at `position`: a dislike (a
// skip: only dislike_completion of it is watched) or else possibly a like,
// and how much of it is watched, capped by `budget` (shown.watch[position],
// unrounded; the batch reports it as a float). Returns the click's reward,
// the weighted sum of those behaviours.
double VecEnv::Respond(int r, const ShownSlate& shown, int position, double budget) {
  const ResponseParams& rp = model_.params().response;
  Rng& rng = rng_response_[size_t(r)];
  const ItemView& it = shown.items[position];
  const double q = it.quality, a = shown.affinity[position];
  bool disliked = false, liked = false;
  if (rp.dislike_enabled) disliked = rng.Uniform() < Sigmoid(rp.dislike_bias + rp.dislike_quality * q);
  if (rp.like_enabled && !disliked)
    liked = rng.Uniform() < Sigmoid(rp.like_bias + rp.like_quality * q + rp.like_affinity * a);
  const double completion =
      disliked ? rp.dislike_completion : std::clamp(rp.completion_base + rp.completion_quality * q, 0.0, 1.0);
  const double watch = std::min(budget, it.length * completion);
  const size_t sj = size_t(r) * slate_size_ + size_t(position);
  batch_.liked[sj] = liked;
  batch_.disliked[sj] = disliked;
  batch_.watch_time[sj] = static_cast<float>(watch);
  shown.watch[position] = watch;
  return ClickReward(model_.params().reward, q, watch, liked, disliked);
}

// Interest evolution (RecSim's rule generalised to embeddings): a click
// moves interest toward the item (or away), by a step that shrinks as the
// interest saturates. Under the RecSim rule the direction is random, toward
// with probability (a + 1) / 2, so liked topics tend to become more liked.
void VecEnv::EvolveInterests(int r, const ItemView& it, double a) {
  const DynamicsParams& d = model_.params().dynamics;
  if (d.interest_rule == InterestRule::kNone) return;
  float* u = &interests_[size_t(r) * dim_];
  const double a_clip = std::clamp(it.features ? a : double(u[it.topic]), -1.0, 1.0);
  double sign = 1.0;
  if (d.interest_rule == InterestRule::kRecSim)
    sign = rng_response_[size_t(r)].Uniform() < (a_clip + 1.0) / 2.0 ? 1.0 : -1.0;
  else if (d.interest_rule == InterestRule::kAway)
    sign = -1.0;
  const double mag = d.interest_step * (1.0 - std::abs(a_clip));
  if (it.features == nullptr) {
    const double uc = u[it.topic];
    u[it.topic] = ClipInterest(uc + sign * mag * (1.0 - uc));
  } else {
    for (int i = 0; i < dim_; ++i) u[i] = ClipInterest(u[i] + sign * mag * (it.features[i] - u[i]));
  }
}

// After a click: satisfaction takes in the experience (quality, affinity,
// and the boredom the user had with the topic), boredom decays (once per
// step, at the first click) and grows on the item's topic, the budget pays
// for the watch time (less when the item was good), and the topic enters the
// click history.
void VecEnv::UpdateAfterClick(int r, const ItemView& it, double a, double watch, bool first_click, bool person) {
  const EnvParams& p = model_.params();
  const DynamicsParams& d = p.dynamics;
  const size_t R = size_t(r);
  float* bored = boredom_.empty() ? nullptr : &boredom_[R * num_topics_];
  const double q = it.quality;
  const double boredom_c = bored ? bored[it.topic] : 0.0;
  if (person)
    satisfaction_[R] = d.satisfaction_decay * satisfaction_[R] +
                       (1.0 - d.satisfaction_decay) * (d.satisfaction_quality * q + d.satisfaction_affinity * a -
                                                       d.satisfaction_boredom * boredom_c);
  if (bored && person) {
    if (first_click)
      for (int t = 0; t < num_topics_; ++t) bored[t] = static_cast<float>(bored[t] * d.boredom_decay);
    bored[it.topic] = static_cast<float>(bored[it.topic] + d.boredom_increment);
  }
  budget_[R] -= watch * (1.0 - d.budget_quality_gain * q - d.budget_affinity_gain * a);
  const int H = p.observation.history;
  if (H > 0) {
    history_ring_[R * H + size_t(history_head_[R])] = it.topic;
    history_head_[R] = (history_head_[R] + 1) % H;
  }
}

// Passing over a slate: satisfaction moves toward the no-click value,
// boredom decays, and browsing costs budget_no_click_cost of time.
void VecEnv::UpdateAfterNoClick(int r, bool person) {
  const DynamicsParams& d = model_.params().dynamics;
  const size_t R = size_t(r);
  if (person)
    satisfaction_[R] =
        d.satisfaction_decay * satisfaction_[R] + (1.0 - d.satisfaction_decay) * d.satisfaction_no_click;
  if (!boredom_.empty() && person) {
    float* bored = &boredom_[R * num_topics_];
    for (int t = 0; t < num_topics_; ++t) bored[t] = static_cast<float>(bored[t] * d.boredom_decay);
  }
  budget_[R] -= d.budget_no_click_cost;
}

// Interests also wander on their own, whatever was shown (a random walk).
void VecEnv::Drift(int r) {
  const double std = model_.params().dynamics.drift_std;
  if (std <= 0.0) return;
  float* u = &interests_[size_t(r) * dim_];
  Rng& rng = rng_response_[size_t(r)];
  for (int i = 0; i < dim_; ++i) u[i] = ClipInterest(u[i] + rng.Normal(0.0, std));
}

// Why the session ends now, if it does: the budget is spent, or the user
// leaves (more readily when dissatisfied, less when patient), or the session
// reached its step cap.
EndReason VecEnv::SessionEnd(int r) {
  const EnvParams& p = model_.params();
  const DynamicsParams& d = p.dynamics;
  const size_t R = size_t(r);
  EndReason reason = EndReason::kNone;
  // A NaN or infinite budget never reaches 0: the session would never end.
  // Validation bounds every parameter (kMaxParameterMagnitude), so this is a
  // guard for parameters set in code.
  if (!std::isfinite(budget_[R]) || !std::isfinite(satisfaction_[R]))
    throw std::runtime_error("user " + std::to_string(user_[R]) + "'s " +
                             (!std::isfinite(budget_[R]) ? "time budget" : "satisfaction") +
                             " became NaN or infinite at step " +
                             std::to_string(tick_) +
                             ": the parameters of env.time_budget, env.catalog (length_*, quality_*) or "
                             "env.dynamics are too extreme for the simulation to stay finite");
  if (budget_[R] <= 0.0) {
    reason = EndReason::kBudget;
  } else if (d.leave_base > 0.0 || d.leave_dissatisfaction > 0.0) {
    const double p_leave = (d.leave_base + d.leave_dissatisfaction * std::max(0.0, -satisfaction_[R])) / patience_[R];
    if (rng_response_[R].Uniform() < p_leave) reason = EndReason::kLeft;
  }
  if (reason == EndReason::kNone && p.max_session_steps > 0 && batch_.session_step[R] >= p.max_session_steps)
    reason = EndReason::kSessionCap;
  return reason;
}

// An ended session. Without retention it ends the episode (a session cap
// truncates, anything else terminates). With retention the user comes back
// with a probability that grows with satisfaction, after a gap that shrinks
// with it; time away lets boredom and satisfaction fade, and the next
// session starts with a fresh budget. Returns true when the episode is over.
bool VecEnv::EndSession(int r, EndReason reason) {
  const EnvParams& p = model_.params();
  const DynamicsParams& d = p.dynamics;
  const RetentionParams& ret = p.retention;
  const size_t R = size_t(r);
  StepBatch& b = batch_;
  b.session_ended[R] = 1;
  b.end_reason[R] = static_cast<uint8_t>(reason);
  if (!ret.enabled) {
    (reason == EndReason::kSessionCap ? b.truncated : b.terminated)[R] = 1;
    return true;
  }
  if (b.session_index[R] + 1 >= ret.max_sessions) {
    b.truncated[R] = 1;
    return true;
  }
  Rng& rng = rng_response_[R];
  const double s = satisfaction_[R];
  const double p_return = std::clamp(ret.return_base + ret.return_satisfaction * s, 0.0, 1.0) * return_propensity_[R];
  if (!(rng.Uniform() < p_return)) {
    b.terminated[R] = 1;  // churned
    return true;
  }
  const double gap = rng.Exponential(ret.gap_mean * std::exp(-ret.gap_satisfaction * s));
  time_[R] += gap;
  if (!boredom_.empty() && d.boredom_gap_decay != 1.0) {
    float* bored = &boredom_[R * num_topics_];
    const double f = std::pow(d.boredom_gap_decay, gap);
    for (int t = 0; t < num_topics_; ++t) bored[t] = static_cast<float>(bored[t] * f);
  }
  satisfaction_[R] *= std::pow(d.satisfaction_gap_decay, gap);
  b.gap[R] = static_cast<float>(gap);
  if (b.sequence > 0) session_gap_[R] = static_cast<float>(gap);
  ++b.session_index[R];
  StartSession(r);
  return false;
}

// The end of the step: the episode cap (which also closes the session),
// then same-step auto-reset of an ended episode (its last observation kept
// in final_interests), and the next candidates and observation.
void VecEnv::Finish(int r, bool episode_over) {
  const EnvParams& p = model_.params();
  const size_t R = size_t(r);
  StepBatch& b = batch_;
  if (!episode_over && p.max_episode_steps > 0 && b.episode_step[R] >= p.max_episode_steps) {
    episode_over = true;
    b.truncated[R] = 1;
    b.session_ended[R] = 1;  // the cap ends the current session too
    b.end_reason[R] = static_cast<uint8_t>(EndReason::kEpisodeCap);
  }
  if (episode_over) {
    std::copy_n(&b.interests[R * dim_], dim_, &b.final_interests[R * dim_]);
    EndEpisodeAndReset(r);
    if (!b.active[R]) return;
  }
  FillCandidates(r);
  FillObservation(r);
}

void VecEnv::EndEpisodeAndReset(int r) {
  const int64_t next = user_[size_t(r)] + num_envs_;
  if (options_.max_users >= 0 && next - options_.first_user >= options_.max_users) {
    batch_.active[size_t(r)] = 0;
    return;
  }
  StartUser(r, next);
}

}  // namespace cohort
