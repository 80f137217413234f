#include "env/vec_env.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace cohort {
namespace {

constexpr int kMaxSlate = 64;  // stack buffers in the hot path; validated in scenario.cc

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double SampleTrait(Rng& rng, const Trait& t) {
  if (t.std <= 0.0) return t.mean;
  return std::clamp(rng.Normal(t.mean, t.std), t.lo, t.hi);
}

float ClipInterest(double x) { return static_cast<float>(std::clamp(x, -1.0, 1.0)); }

}  // namespace

void StepBatch::CandidateFeatures(int r, int c, float* out) const {
  const size_t row_item = size_t(r) * num_candidates + size_t(c);
  if (candidate_features) {
    std::copy_n(&features[row_item * dim], dim, out);
  } else {
    std::fill_n(out, dim, 0.0f);
    out[topic[row_item]] = 1.0f;
  }
}

VecEnv::VecEnv(const EnvParams& params, uint64_t seed, uint64_t variant, Options options)
    : initial_params_(params),
      spec_(MakeEnvSpec(params)),
      model_(params, seed, variant),
      options_(options),
      num_envs_(options.num_envs),
      dim_(params.FeatureDim()),
      num_topics_(params.num_topics),
      k_(params.num_candidates),
      slate_(params.slate_size) {
  if (num_envs_ < 1) throw std::invalid_argument("VecEnv: num_envs must be >= 1");
  if (slate_ > kMaxSlate) throw std::invalid_argument("VecEnv: slate_size exceeds 64");
  const size_t B = size_t(num_envs_);
  user_.assign(B, -1);
  segment_.assign(B, 0);
  interests_.assign(B * dim_, 0.0f);
  if (params.BoredomEnabled()) boredom_.assign(B * num_topics_, 0.0f);
  satisfaction_.assign(B, 0.0);
  budget_.assign(B, 0.0);
  time_.assign(B, 0.0);
  budget0_.assign(B, 0.0);
  patience_.assign(B, 1.0);
  click_propensity_.assign(B, 1.0);
  boredom_sensitivity_.assign(B, 0.0);
  return_propensity_.assign(B, 1.0);
  const int H = params.observation.history;
  history_ring_.assign(B * size_t(std::max(H, 1)), -1);
  history_head_.assign(B, 0);
  rng_candidates_.resize(B);
  rng_response_.resize(B);
  rng_observation_.resize(B);

  StepBatch& b = batch_;
  b.rows = num_envs_;
  b.num_candidates = k_;
  b.slate_size = slate_;
  b.dim = dim_;
  b.history = H;
  b.interests_observed = params.observation.interests != Observability::kHidden;
  b.candidate_features = params.catalog.features == FeatureKind::kEmbedding;
  b.env_id.resize(B);
  for (int r = 0; r < num_envs_; ++r) b.env_id[size_t(r)] = r;
  b.active.assign(B, 0);
  b.user_id.assign(B, -1);
  b.session_index.assign(B, 0);
  b.session_step.assign(B, 0);
  b.episode_step.assign(B, 0);
  b.reward.assign(B, 0.0f);
  b.terminated.assign(B, 0);
  b.truncated.assign(B, 0);
  b.session_ended.assign(B, 0);
  b.end_reason.assign(B, 0);
  b.gap.assign(B, 0.0f);
  b.click_position.assign(B, -1);
  const size_t BS = B * size_t(slate_);
  b.examined.assign(BS, 0);
  b.clicked.assign(BS, 0);
  b.liked.assign(BS, 0);
  b.disliked.assign(BS, 0);
  b.watch_time.assign(BS, 0.0f);
  b.interests.assign(B * dim_, 0.0f);
  b.final_interests.assign(B * dim_, 0.0f);
  b.budget.assign(B, std::numeric_limits<float>::quiet_NaN());
  b.history_topics.assign(B * size_t(H), -1);
  const size_t BK = B * size_t(k_);
  b.item_id.assign(BK, -1);
  b.topic.assign(BK, 0);
  quality_.assign(BK, 0.0f);
  b.length.assign(BK, 0.0f);
  if (b.candidate_features) b.features.assign(BK * dim_, 0.0f);

  for (size_t i = 0; i < params.events.size(); ++i) sorted_events_.push_back(i);
  std::stable_sort(sorted_events_.begin(), sorted_events_.end(), [&](size_t a, size_t c) {
    return params.events[a].at_step < params.events[c].at_step;
  });
  if (options_.threads > 1) pool_ = std::make_unique<ThreadPool>(options_.threads);
}

VecEnv::~VecEnv() = default;

void VecEnv::StartFromWorldOf(const VecEnv& world) {
  if (world.dim_ != dim_ || world.k_ != k_ || world.slate_ != slate_ ||
      world.model_.seed() != model_.seed() || world.model_.variant() != model_.variant())
    throw std::invalid_argument("StartFromWorldOf: the world comes from another scenario, seed or variant");
  start_model_ = world.model_;
  start_catalog_ = world.catalog_;
  start_tick_ = world.tick_;
  start_event_ = world.next_event_;
}

bool VecEnv::stationary() const {
  const CatalogParams& c = initial_params_.catalog;
  return initial_params_.events.empty() &&
         (c.source != CandidateSource::kLive || (c.arrival_rate <= 0.0 && c.max_age <= 0));
}

void VecEnv::EditParams(const std::function<void(EnvParams&)>& edit) {
  EnvParams p = model_.params();
  edit(p);
  const EnvParams& q = model_.params();
  const bool same_shape = p.num_topics == q.num_topics && p.num_candidates == q.num_candidates &&
                          p.slate_size == q.slate_size && p.FeatureDim() == q.FeatureDim() &&
                          p.catalog.features == q.catalog.features && p.catalog.source == q.catalog.source &&
                          p.observation.history == q.observation.history &&
                          p.observation.interests == q.observation.interests &&
                          p.observation.budget == q.observation.budget && p.segments.size() == q.segments.size();
  if (!same_shape) throw std::invalid_argument("VecEnv::EditParams: a live edit must not change the observation shape");
  model_.mutable_params() = std::move(p);
  model_.Refresh();
  if (boredom_.empty() && model_.params().BoredomEnabled()) boredom_.assign(size_t(num_envs_) * num_topics_, 0.0f);
}

const StepBatch& VecEnv::Reset() {
  if (start_model_) {
    tick_ = start_tick_;
    next_event_ = start_event_;
    model_ = *start_model_;
    catalog_ = start_catalog_;
  } else {
    tick_ = 0;
    next_event_ = 0;
    model_ = PopulationModel(initial_params_, model_.seed(), model_.variant());
  }
  if (!start_model_ && model_.params().catalog.source == CandidateSource::kLive) {
    catalog_.Reset(model_);
    if (catalog_.alive_count() < k_)
      throw std::runtime_error("live catalog holds fewer items than candidates per step");
  }
  auto reset_rows = [&](int begin, int end) {
    for (int r = begin; r < end; ++r) {
      batch_.reward[size_t(r)] = 0.0f;
      batch_.terminated[size_t(r)] = batch_.truncated[size_t(r)] = 0;
      batch_.session_ended[size_t(r)] = batch_.end_reason[size_t(r)] = 0;
      batch_.gap[size_t(r)] = 0.0f;
      batch_.click_position[size_t(r)] = -1;
      std::fill_n(&batch_.final_interests[size_t(r) * dim_], dim_, 0.0f);
      const size_t s0 = size_t(r) * slate_;
      std::fill_n(&batch_.examined[s0], slate_, 0);
      std::fill_n(&batch_.clicked[s0], slate_, 0);
      std::fill_n(&batch_.liked[s0], slate_, 0);
      std::fill_n(&batch_.disliked[s0], slate_, 0);
      std::fill_n(&batch_.watch_time[s0], slate_, 0.0f);
      if (options_.max_users >= 0 && r >= options_.max_users) {
        batch_.active[size_t(r)] = 0;
        continue;
      }
      StartUser(r, options_.first_user + r);
      FillCandidates(r);
      FillObservation(r);
    }
  };
  if (pool_) pool_->ParallelFor(num_envs_, reset_rows);
  else reset_rows(0, num_envs_);
  batch_.tick = tick_;
  return batch_;
}

bool VecEnv::AnyActive() const {
  return std::any_of(batch_.active.begin(), batch_.active.end(), [](uint8_t a) { return a != 0; });
}

void VecEnv::StartUser(int r, int64_t user) {
  const EnvParams& p = model_.params();
  const size_t R = size_t(r);
  user_[R] = user;
  Rng init = MakeRng(model_.seed(), model_.variant(), uint64_t(user), StreamPurpose::kUserInit);
  const int seg = model_.SampleSegment(init);
  segment_[R] = seg;
  float* u = &interests_[R * dim_];
  const SegmentParams* sp = p.segments.empty() ? nullptr : &p.segments[size_t(seg)];
  for (int i = 0; i < dim_; ++i) {
    double x = (sp == nullptr || !sp->normal) ? init.Uniform(sp ? sp->low : -1.0, sp ? sp->high : 1.0)
                                              : init.Normal(sp->mean, sp->std);
    if (sp != nullptr && !sp->center.empty()) x += sp->center[size_t(i)];
    u[i] = ClipInterest(x);
  }
  budget0_[R] = SampleTrait(init, p.time_budget);
  patience_[R] = SampleTrait(init, p.patience);
  click_propensity_[R] = SampleTrait(init, p.click_propensity);
  boredom_sensitivity_[R] = SampleTrait(init, p.boredom_sensitivity);
  return_propensity_[R] = SampleTrait(init, p.return_propensity);
  satisfaction_[R] = p.dynamics.satisfaction_initial;
  time_[R] = 0.0;
  if (!boredom_.empty()) std::fill_n(&boredom_[R * num_topics_], num_topics_, 0.0f);
  std::fill_n(&history_ring_[R * std::max(p.observation.history, 1)],
              std::max(p.observation.history, 1), -1);
  history_head_[R] = 0;
  rng_candidates_[R] = MakeRng(model_.seed(), model_.variant(), uint64_t(user), StreamPurpose::kCandidates);
  rng_response_[R] = MakeRng(model_.seed(), model_.variant(), uint64_t(user), StreamPurpose::kResponse);
  rng_observation_[R] = MakeRng(model_.seed(), model_.variant(), uint64_t(user), StreamPurpose::kObservation);
  batch_.active[R] = 1;
  batch_.user_id[R] = user;
  batch_.session_index[R] = 0;
  batch_.episode_step[R] = 0;
  StartSession(r);
}

void VecEnv::StartSession(int r) {
  budget_[size_t(r)] = budget0_[size_t(r)];
  batch_.session_step[size_t(r)] = 0;
}

ItemView VecEnv::Candidate(int r, int c) const {
  const size_t i = size_t(r) * k_ + size_t(c);
  return {batch_.topic[i], quality_[i], batch_.length[i],
          batch_.candidate_features ? &batch_.features[i * dim_] : nullptr};
}

double VecEnv::Score(int r, const ItemView& item, double* affinity) const {
  const ScoreParams& s = model_.params().score;
  const double a = model_.Affinity(&interests_[size_t(r) * dim_], item);
  *affinity = a;
  double score = s.affinity_weight * a + s.quality_weight * item.quality;
  if (!boredom_.empty())
    score -= s.boredom_weight * boredom_sensitivity_[size_t(r)] *
             boredom_[size_t(r) * num_topics_ + size_t(item.topic)];
  return score;
}

void VecEnv::FillCandidates(int r) {
  const size_t base = size_t(r) * k_;
  Rng& rng = rng_candidates_[size_t(r)];
  StepBatch& b = batch_;
  if (model_.params().catalog.source == CandidateSource::kResample) {
    for (int c = 0; c < k_; ++c) {
      const size_t i = base + size_t(c);
      b.item_id[i] = -1;
      model_.SampleItem(rng, &b.topic[i], &quality_[i], &b.length[i],
                        b.candidate_features ? &b.features[i * dim_] : nullptr);
    }
    return;
  }
  // Live catalog: K distinct items, uniformly (rejection; K << catalog size).
  const uint32_t alive = static_cast<uint32_t>(catalog_.alive_count());
  for (int c = 0; c < k_; ++c) {
    int64_t id;
    bool repeated;
    do {
      id = catalog_.AliveItem(rng.Below(alive));
      repeated = false;
      for (int j = 0; j < c; ++j) repeated |= b.item_id[base + size_t(j)] == id;
    } while (repeated);
    const size_t i = base + size_t(c);
    const ItemView item = catalog_.Item(id);
    b.item_id[i] = id;
    b.topic[i] = item.topic;
    quality_[i] = item.quality;
    b.length[i] = item.length;
    if (b.candidate_features) std::copy_n(item.features, dim_, &b.features[i * dim_]);
  }
}

void VecEnv::FillObservation(int r) {
  const EnvParams& p = model_.params();
  const size_t R = size_t(r);
  float* out = &batch_.interests[R * dim_];
  const float* u = &interests_[R * dim_];
  switch (p.observation.interests) {
    case Observability::kVisible:
      std::copy_n(u, dim_, out);
      break;
    case Observability::kNoisy:
      for (int i = 0; i < dim_; ++i)
        out[i] = static_cast<float>(u[i] + rng_observation_[R].Normal(0.0, p.observation.noise_std));
      break;
    case Observability::kHidden:
      std::fill_n(out, dim_, 0.0f);
      break;
  }
  if (p.observation.budget) batch_.budget[R] = static_cast<float>(budget_[R]);
  const int H = p.observation.history;
  for (int h = 0; h < H; ++h)  // most recent first
    batch_.history_topics[R * H + size_t(h)] =
        history_ring_[R * H + size_t((history_head_[R] - 1 - h + 2 * H) % H)];
}

void VecEnv::StepRow(int r, const int32_t* slate) {
  const EnvParams& p = model_.params();
  const DynamicsParams& d = p.dynamics;
  const size_t R = size_t(r);
  StepBatch& b = batch_;
  Rng& rng = rng_response_[R];
  const size_t s0 = R * slate_;
  std::fill_n(&b.examined[s0], slate_, 0);
  std::fill_n(&b.clicked[s0], slate_, 0);
  std::fill_n(&b.liked[s0], slate_, 0);
  std::fill_n(&b.disliked[s0], slate_, 0);
  std::fill_n(&b.watch_time[s0], slate_, 0.0f);
  b.terminated[R] = b.truncated[R] = b.session_ended[R] = b.end_reason[R] = 0;
  b.gap[R] = 0.0f;

  // 1. Choice: exact probabilities, then one draw (cascade: one per examined position).
  ItemView items[kMaxSlate];
  double scores[kMaxSlate], affinity[kMaxSlate], probs[kMaxSlate];
  for (int j = 0; j < slate_; ++j) {
    items[j] = Candidate(r, slate[j]);
    scores[j] = Score(r, items[j], &affinity[j]);
  }
  model_.ChoiceProbabilities(scores, slate_, click_propensity_[R], probs);
  int click = -1;
  if (p.choice.kind == ChoiceKind::kCascade) {
    double reach = 1.0;
    for (int j = 0; j < slate_ && click < 0; ++j) {
      const double e = model_.PositionWeight(j);
      const double stop = reach > 0.0 ? probs[j] / reach : 0.0;  // = e_j * c_j
      reach -= probs[j];
      const double u = rng.Uniform();
      if (u < e) b.examined[s0 + size_t(j)] = 1;
      if (u < stop) click = j;
    }
  } else {
    std::fill_n(&b.examined[s0], slate_, 1);
    double u = rng.Uniform();
    for (int j = 0; j < slate_; ++j) {
      if (u < probs[j]) {
        click = j;
        break;
      }
      u -= probs[j];
    }
  }
  b.click_position[R] = click;

  // 2. Response, reward and state update.
  float* u = &interests_[R * dim_];
  float* bored = boredom_.empty() ? nullptr : &boredom_[R * num_topics_];
  double reward = 0.0;
  double step_time;
  if (click >= 0) {
    const ItemView& it = items[click];
    const double q = it.quality, a = affinity[click];
    const ResponseParams& rp = p.response;
    bool disliked = false, liked = false;
    if (rp.dislike_enabled) disliked = rng.Uniform() < Sigmoid(rp.dislike_bias + rp.dislike_quality * q);
    if (rp.like_enabled && !disliked)
      liked = rng.Uniform() < Sigmoid(rp.like_bias + rp.like_quality * q + rp.like_affinity * a);
    const double completion = disliked ? rp.dislike_completion
                                       : std::clamp(rp.completion_base + rp.completion_quality * q, 0.0, 1.0);
    const double watch = std::min(budget_[R], it.length * completion);
    const size_t sj = s0 + size_t(click);
    b.clicked[sj] = 1;
    b.liked[sj] = liked;
    b.disliked[sj] = disliked;
    b.watch_time[sj] = static_cast<float>(watch);
    const RewardParams& w = p.reward;
    reward = w.click + w.quality * q + w.watch_time * watch + w.like * liked + w.dislike * disliked;

    // Interest evolution (RecSim's rule generalised to embeddings): the step
    // shrinks as interest saturates; direction up with probability (a+1)/2.
    if (d.interest_rule != InterestRule::kNone) {
      const double a_clip = std::clamp(it.features ? a : double(u[it.topic]), -1.0, 1.0);
      double sign = 1.0;
      if (d.interest_rule == InterestRule::kRecSim) sign = rng.Uniform() < (a_clip + 1.0) / 2.0 ? 1.0 : -1.0;
      else if (d.interest_rule == InterestRule::kAway) sign = -1.0;
      const double mag = d.interest_step * (1.0 - std::abs(a_clip));
      if (it.features == nullptr) {
        const double uc = u[it.topic];
        u[it.topic] = ClipInterest(uc + sign * mag * (1.0 - uc));
      } else {
        for (int i = 0; i < dim_; ++i) u[i] = ClipInterest(u[i] + sign * mag * (it.features[i] - u[i]));
      }
    }
    const double boredom_c = bored ? bored[it.topic] : 0.0;
    satisfaction_[R] = d.satisfaction_decay * satisfaction_[R] +
                       (1.0 - d.satisfaction_decay) * (d.satisfaction_quality * q + d.satisfaction_affinity * a -
                                                      d.satisfaction_boredom * boredom_c);
    if (bored) {
      for (int t = 0; t < num_topics_; ++t) bored[t] = static_cast<float>(bored[t] * d.boredom_decay);
      bored[it.topic] = static_cast<float>(bored[it.topic] + d.boredom_increment);
    }
    budget_[R] -= watch * (1.0 - d.budget_quality_gain * q - d.budget_affinity_gain * a);
    step_time = watch;
    const int H = p.observation.history;
    if (H > 0) {
      history_ring_[R * H + size_t(history_head_[R])] = it.topic;
      history_head_[R] = (history_head_[R] + 1) % H;
    }
  } else {
    satisfaction_[R] = d.satisfaction_decay * satisfaction_[R] +
                       (1.0 - d.satisfaction_decay) * d.satisfaction_no_click;
    if (bored)
      for (int t = 0; t < num_topics_; ++t) bored[t] = static_cast<float>(bored[t] * d.boredom_decay);
    budget_[R] -= d.budget_no_click_cost;
    step_time = d.budget_no_click_cost;
  }
  if (d.drift_std > 0.0)
    for (int i = 0; i < dim_; ++i) u[i] = ClipInterest(u[i] + rng.Normal(0.0, d.drift_std));
  time_[R] += step_time;
  b.reward[R] = static_cast<float>(reward);
  ++b.session_step[R];
  ++b.episode_step[R];

  // 3. Session and episode ends.
  EndReason reason = EndReason::kNone;
  if (budget_[R] <= 0.0) {
    reason = EndReason::kBudget;
  } else if (d.leave_base > 0.0 || d.leave_dissatisfaction > 0.0) {
    const double p_leave =
        (d.leave_base + d.leave_dissatisfaction * std::max(0.0, -satisfaction_[R])) / patience_[R];
    if (rng.Uniform() < p_leave) reason = EndReason::kLeft;
  }
  if (reason == EndReason::kNone && p.max_session_steps > 0 && b.session_step[R] >= p.max_session_steps)
    reason = EndReason::kSessionCap;

  bool episode_over = false;
  if (reason != EndReason::kNone) {
    b.session_ended[R] = 1;
    b.end_reason[R] = static_cast<uint8_t>(reason);
    const RetentionParams& ret = p.retention;
    if (!ret.enabled) {
      episode_over = true;
      (reason == EndReason::kSessionCap ? b.truncated : b.terminated)[R] = 1;
    } else if (b.session_index[R] + 1 >= ret.max_sessions) {
      episode_over = true;
      b.truncated[R] = 1;
    } else {
      const double s = satisfaction_[R];
      const double p_return =
          std::clamp(ret.return_base + ret.return_satisfaction * s, 0.0, 1.0) * return_propensity_[R];
      if (rng.Uniform() < p_return) {
        const double gap = rng.Exponential(ret.gap_mean * std::exp(-ret.gap_satisfaction * s));
        time_[R] += gap;
        if (bored && d.boredom_gap_decay != 1.0) {
          const double f = std::pow(d.boredom_gap_decay, gap);
          for (int t = 0; t < num_topics_; ++t) bored[t] = static_cast<float>(bored[t] * f);
        }
        satisfaction_[R] *= std::pow(d.satisfaction_gap_decay, gap);
        b.gap[R] = static_cast<float>(gap);
        ++b.session_index[R];
        StartSession(r);
      } else {
        episode_over = true;
        b.terminated[R] = 1;  // churned
      }
    }
  }
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

void VecEnv::Save(BinaryWriter& out) const {
  out.Tag("vec_env");
  out.Pod(num_envs_);
  out.Pod(dim_);
  out.Pod(k_);
  out.Pod(slate_);
  out.Pod(tick_);
  out.Pod<uint64_t>(next_event_);
  catalog_.Save(out);
  out.Vector(user_);
  out.Vector(segment_);
  out.Vector(interests_);
  out.Vector(boredom_);
  for (const auto* v : {&satisfaction_, &budget_, &time_, &budget0_, &patience_, &click_propensity_,
                        &boredom_sensitivity_, &return_propensity_})
    out.Vector(*v);
  out.Vector(history_ring_);
  out.Vector(history_head_);
  out.Vector(rng_candidates_);
  out.Vector(rng_response_);
  out.Vector(rng_observation_);
  const StepBatch& b = batch_;
  out.Tag("batch");
  out.Pod(b.tick);
  out.Vector(b.env_id), out.Vector(b.active), out.Vector(b.user_id), out.Vector(b.session_index);
  out.Vector(b.session_step), out.Vector(b.episode_step), out.Vector(b.reward), out.Vector(b.terminated);
  out.Vector(b.truncated), out.Vector(b.session_ended), out.Vector(b.end_reason), out.Vector(b.gap);
  out.Vector(b.click_position), out.Vector(b.examined), out.Vector(b.clicked), out.Vector(b.liked);
  out.Vector(b.disliked), out.Vector(b.watch_time), out.Vector(b.interests), out.Vector(b.final_interests);
  out.Vector(b.budget), out.Vector(b.history_topics), out.Vector(b.item_id), out.Vector(b.topic);
  // The candidates' hidden quality is kept apart from the batch (agents must
  // not read it) but saved where the batch once held it: checkpoints keep
  // their layout.
  out.Vector(quality_), out.Vector(b.length), out.Vector(b.features);
}

void VecEnv::Load(BinaryReader& in) {
  in.Tag("vec_env");
  int shape[4];
  for (int& v : shape) in.Pod(v);
  if (shape[0] != num_envs_ || shape[1] != dim_ || shape[2] != k_ || shape[3] != slate_)
    throw std::runtime_error("checkpoint of a VecEnv with another shape (slots, dim, candidates, slate)");
  in.Pod(tick_);
  next_event_ = size_t(in.Get<uint64_t>());
  // The model as of this tick: the initial parameters plus the model-side
  // effects of the events already applied (they draw no random numbers).
  model_ = PopulationModel(initial_params_, model_.seed(), model_.variant());
  for (size_t i = 0; i < next_event_ && i < sorted_events_.size(); ++i) {
    const EventParams& e = initial_params_.events[sorted_events_[i]];
    if (e.kind == EventKind::kPreferenceShift) model_.ApplyPreferenceShift(e.segment, e.topic, e.amount);
    if (e.kind == EventKind::kQualityShift) model_.ShiftTopicQuality(e.topic, e.amount);
  }
  catalog_.Load(in);
  in.Vector(user_);
  in.Vector(segment_);
  in.Vector(interests_);
  in.Vector(boredom_);
  for (auto* v : {&satisfaction_, &budget_, &time_, &budget0_, &patience_, &click_propensity_,
                  &boredom_sensitivity_, &return_propensity_})
    in.Vector(*v);
  in.Vector(history_ring_);
  in.Vector(history_head_);
  in.Vector(rng_candidates_);
  in.Vector(rng_response_);
  in.Vector(rng_observation_);
  StepBatch& b = batch_;
  in.Tag("batch");
  in.Pod(b.tick);
  in.Vector(b.env_id), in.Vector(b.active), in.Vector(b.user_id), in.Vector(b.session_index);
  in.Vector(b.session_step), in.Vector(b.episode_step), in.Vector(b.reward), in.Vector(b.terminated);
  in.Vector(b.truncated), in.Vector(b.session_ended), in.Vector(b.end_reason), in.Vector(b.gap);
  in.Vector(b.click_position), in.Vector(b.examined), in.Vector(b.clicked), in.Vector(b.liked);
  in.Vector(b.disliked), in.Vector(b.watch_time), in.Vector(b.interests), in.Vector(b.final_interests);
  in.Vector(b.budget), in.Vector(b.history_topics), in.Vector(b.item_id), in.Vector(b.topic);
  in.Vector(quality_), in.Vector(b.length), in.Vector(b.features);
}

void VecEnv::ApplyEvents() {
  const EnvParams& p = model_.params();
  size_t& next = next_event_;
  while (next < sorted_events_.size() && p.events[sorted_events_[next]].at_step <= tick_) {
    const EventParams e = p.events[sorted_events_[next++]];
    switch (e.kind) {
      case EventKind::kPreferenceShift: {
        model_.ApplyPreferenceShift(e.segment, e.topic, e.amount);
        for (int r = 0; r < num_envs_; ++r) {
          if (!batch_.active[size_t(r)] || (e.segment >= 0 && segment_[size_t(r)] != e.segment)) continue;
          float* u = &interests_[size_t(r) * dim_];
          if (p.catalog.features == FeatureKind::kOneHot) {
            u[e.topic] = ClipInterest(u[e.topic] + e.amount);
          } else {
            const float* c = model_.TopicCenter(e.topic);
            for (int i = 0; i < dim_; ++i) u[i] = ClipInterest(u[i] + e.amount * c[i]);
          }
        }
        break;
      }
      case EventKind::kQualityShift: {
        model_.ShiftTopicQuality(e.topic, e.amount);
        catalog_.ShiftQuality(e.topic, e.amount);
        break;
      }
      case EventKind::kNewItems:
        catalog_.AddItems(model_, e.count, e.topic, tick_);
        break;
    }
  }
}

const StepBatch& VecEnv::Step(const SlateBatch& slates) {
  if (slates.rows != num_envs_ || slates.slate_size != slate_ ||
      slates.index.size() != size_t(num_envs_) * size_t(slate_))
    throw std::invalid_argument("slate batch has shape " + std::to_string(slates.rows) + "x" +
                                std::to_string(slates.slate_size) + ", expected " +
                                std::to_string(num_envs_) + "x" + std::to_string(slate_));
  for (int r = 0; r < num_envs_; ++r) {
    if (!batch_.active[size_t(r)]) continue;
    const int32_t* s = slates.Row(r);
    for (int j = 0; j < slate_; ++j) {
      if (s[j] < 0 || s[j] >= k_)
        throw std::invalid_argument("slate row " + std::to_string(r) + " position " + std::to_string(j) +
                                    ": candidate index " + std::to_string(s[j]) + " is outside [0, " +
                                    std::to_string(k_) + ")");
      for (int i = 0; i < j; ++i)
        if (s[i] == s[j])
          throw std::invalid_argument("slate row " + std::to_string(r) + ": candidate " +
                                      std::to_string(s[j]) + " appears twice (slates hold distinct items)");
    }
  }
  ++tick_;
  ApplyEvents();
  if (model_.params().catalog.source == CandidateSource::kLive) {
    catalog_.Advance(model_, tick_);
    if (catalog_.alive_count() < k_)
      throw std::runtime_error("live catalog fell to " + std::to_string(catalog_.alive_count()) +
                               " items at step " + std::to_string(tick_) + ", fewer than " +
                               std::to_string(k_) + " candidates");
  }
  auto step_rows = [&](int begin, int end) {
    for (int r = begin; r < end; ++r) {
      if (batch_.active[size_t(r)]) {
        StepRow(r, slates.Row(r));
      } else {
        batch_.reward[size_t(r)] = 0.0f;
        batch_.terminated[size_t(r)] = batch_.truncated[size_t(r)] = batch_.session_ended[size_t(r)] = 0;
        batch_.click_position[size_t(r)] = -1;
      }
    }
  };
  if (pool_) pool_->ParallelFor(num_envs_, step_rows);
  else step_rows(0, num_envs_);
  batch_.tick = tick_;
  return batch_;
}

// ---- Ground truth ---------------------------------------------------------

double VecEnv::ChoiceProbabilities(int r, const int32_t* slate, double* probs) const {
  double scores[kMaxSlate], affinity;
  for (int j = 0; j < slate_; ++j) scores[j] = Score(r, Candidate(r, slate[j]), &affinity);
  return model_.ChoiceProbabilities(scores, slate_, click_propensity_[size_t(r)], probs);
}

double VecEnv::ExpectedReward(int r, const int32_t* slate) const {
  double scores[kMaxSlate], affinity[kMaxSlate], probs[kMaxSlate];
  for (int j = 0; j < slate_; ++j) scores[j] = Score(r, Candidate(r, slate[j]), &affinity[j]);
  model_.ChoiceProbabilities(scores, slate_, click_propensity_[size_t(r)], probs);
  double total = 0.0;
  for (int j = 0; j < slate_; ++j)
    total += probs[j] * model_.ExpectedRewardGivenClick(Candidate(r, slate[j]), affinity[j], budget_[size_t(r)]);
  return total;
}

void VecEnv::CandidateExpectedRewards(int r, double* out) const {
  for (int c = 0; c < k_; ++c) {
    double affinity, prob;
    const ItemView item = Candidate(r, c);
    const double score = Score(r, item, &affinity);
    model_.ChoiceProbabilities(&score, 1, click_propensity_[size_t(r)], &prob);
    out[c] = prob * model_.ExpectedRewardGivenClick(item, affinity, budget_[size_t(r)]);
  }
}

double VecEnv::OracleSlate(int r, int32_t* slate) const {
  // Per-candidate score and value given a click; a slate's value is then
  // sum_j P_j(scores) * value_j.
  std::vector<double> score(static_cast<size_t>(k_)), value(static_cast<size_t>(k_));
  for (int c = 0; c < k_; ++c) {
    double affinity;
    const ItemView item = Candidate(r, c);
    score[size_t(c)] = Score(r, item, &affinity);
    value[size_t(c)] = model_.ExpectedRewardGivenClick(item, affinity, budget_[size_t(r)]);
  }
  const double cp = click_propensity_[size_t(r)];
  auto evaluate = [&](const int32_t* s, int len) {
    double sc[kMaxSlate] = {}, pr[kMaxSlate], v = 0.0;
    for (int j = 0; j < len; ++j) sc[j] = score[size_t(s[j])];
    model_.ChoiceProbabilities(sc, len, cp, pr);
    for (int j = 0; j < len; ++j) v += pr[j] * value[size_t(s[j])];
    return v;
  };
  const ChoiceParams& c = model_.params().choice;
  const bool order_matters = c.kind == ChoiceKind::kCascade || c.position_decay != 1.0;
  // Number of slates to enumerate: C(K,k) or P(K,k).
  double count = 1.0;
  for (int j = 0; j < slate_; ++j) count *= double(k_ - j) / (order_matters ? 1.0 : double(j + 1));
  int32_t cur[kMaxSlate];
  double best = -std::numeric_limits<double>::infinity();
  if (count <= double(kMaxEnumeratedSlates)) {
    std::vector<uint8_t> used(size_t(k_), 0);
    auto recurse = [&](auto&& self, int depth, int start) -> void {
      if (depth == slate_) {
        const double v = evaluate(cur, slate_);
        if (v > best) {
          best = v;
          std::copy_n(cur, slate_, slate);
        }
        return;
      }
      for (int i = order_matters ? 0 : start; i < k_; ++i) {
        if (used[size_t(i)]) continue;
        used[size_t(i)] = 1;
        cur[depth] = i;
        self(self, depth + 1, i + 1);
        used[size_t(i)] = 0;
      }
    };
    recurse(recurse, 0, 0);
    return best;
  }
  // Greedy: fill positions in order, each with the item that maximises the
  // value of the partial slate.
  std::vector<uint8_t> used(size_t(k_), 0);
  for (int j = 0; j < slate_; ++j) {
    double best_partial = -std::numeric_limits<double>::infinity();
    int best_item = 0;
    for (int i = 0; i < k_; ++i) {
      if (used[size_t(i)]) continue;
      cur[j] = i;
      const double v = evaluate(cur, j + 1);
      if (v > best_partial || used[size_t(best_item)]) {
        best_partial = v;
        best_item = i;
      }
    }
    cur[j] = best_item;
    used[size_t(best_item)] = 1;
  }
  std::copy_n(cur, slate_, slate);
  return evaluate(cur, slate_);
}

}  // namespace cohort
