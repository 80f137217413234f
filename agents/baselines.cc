#include "agents/baselines.h"

#include <algorithm>
#include <numeric>

namespace cohort {
namespace {
const std::string kRandom = "random", kPopularity = "popularity", kGreedy = "greedy", kOracle = "oracle";
// The handle a privileged agent cannot work without.
const GroundTruth& RequireGroundTruth(const AgentContext& ctx, const char* type) {
  if (!ctx.privileged)
    throw std::invalid_argument(std::string(type) + " reads ground truth but was given no privileged handle");
  return *ctx.privileged;
}
}  // namespace

RandomAgent::RandomAgent(const json& config, const AgentContext& ctx) : streams_(ctx.seed, ctx.variant, ctx.num_envs) {}
const std::string& RandomAgent::type() const { return kRandom; }

void RandomAgent::Act(const StepBatch& obs, SlateBatch& slates) {
  const int K = obs.num_candidates, k = obs.slate_size;
  perm_.resize(size_t(K));
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    Rng& rng = streams_.For(r, obs.user_id[size_t(r)]);
    // Partial Fisher-Yates: the first k of a uniform permutation.
    std::iota(perm_.begin(), perm_.end(), 0);
    int32_t* out = slates.Row(r);
    for (int j = 0; j < k; ++j) {
      const int pick = j + int(rng.Below(uint32_t(K - j)));
      std::swap(perm_[size_t(j)], perm_[size_t(pick)]);
      out[j] = perm_[size_t(j)];
    }
    if (laws_.on()) laws_.At(r) = SlateLaw::Uniform();
  }
}

RankingAgent::RankingAgent(const AgentContext& ctx) : ctx_(ctx), streams_(ctx.seed, ctx.variant, ctx.num_envs) {}

void RankingAgent::Act(const StepBatch& obs, SlateBatch& slates) {
  const int K = obs.num_candidates, k = obs.slate_size;
  scores_.resize(size_t(K));
  jitter_.resize(size_t(K));
  order_.resize(size_t(K));
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    Score(obs, r, scores_.data());
    Rng& rng = streams_.For(r, obs.user_id[size_t(r)]);
    for (double& j : jitter_) j = rng.Uniform();  // uniform tie breaking
    std::iota(order_.begin(), order_.end(), 0);
    std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), [&](int32_t a, int32_t b) {
      if (scores_[size_t(a)] != scores_[size_t(b)]) return scores_[size_t(a)] > scores_[size_t(b)];
      return jitter_[size_t(a)] < jitter_[size_t(b)];
    });
    std::copy_n(order_.begin(), k, slates.Row(r));
    if (laws_.on()) laws_.At(r) = SlateLaw{0.0, SlateLaw::Kind::kRanking, scores_};
  }
}

std::string RankingAgent::CandidateScores(const StepBatch& obs, int row, double* scores) const {
  if (!obs.active[size_t(row)]) return "";
  Score(obs, row, scores);
  return ScoreName();
}

PopularityAgent::PopularityAgent(const json& config, const AgentContext& ctx)
    : RankingAgent(ctx), per_item_(ctx.spec.arms_are_items), prior_(config["prior"].get<double>()) {
  if (!per_item_) Grow(ctx.spec.num_topics - 1);
}
const std::string& PopularityAgent::type() const { return kPopularity; }

void PopularityAgent::Grow(int64_t id) {
  if (id >= static_cast<int64_t>(clicks_.size())) {
    clicks_.resize(size_t(id) + 1, 0.0);
    shows_.resize(size_t(id) + 1, 0.0);
  }
}

void PopularityAgent::Score(const StepBatch& obs, int row, double* scores) const {
  for (int c = 0; c < obs.num_candidates; ++c) {
    const size_t i = size_t(row) * obs.num_candidates + size_t(c);
    const size_t id = size_t(per_item_ ? obs.item_id[i] : obs.topic[i]);
    const double clicks = id < clicks_.size() ? clicks_[id] : 0.0, shows = id < shows_.size() ? shows_[id] : 0.0;
    // Smoothed click-through rate: the Beta(prior, prior) posterior mean.
    scores[c] = (clicks + prior_) / (shows + 2.0 * prior_);
  }
}

void PopularityAgent::Act(const StepBatch& obs, SlateBatch& slates) {
  const int K = obs.num_candidates;
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    for (int c = 0; c < K; ++c) {
      const size_t i = size_t(r) * K + size_t(c);
      Grow(per_item_ ? obs.item_id[i] : obs.topic[i]);
    }
  }
  RankingAgent::Act(obs, slates);
  const int k = obs.slate_size;
  last_ids_.assign(size_t(obs.rows) * k, -1);
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    for (int j = 0; j < k; ++j) {
      const size_t i = size_t(r) * obs.num_candidates + size_t(slates.Row(r)[j]);
      last_ids_[size_t(r) * k + size_t(j)] = per_item_ ? obs.item_id[i] : obs.topic[i];
    }
  }
}

void PopularityAgent::Observe(const StepBatch& result) {
  for (size_t i = 0; i < last_ids_.size(); ++i) {
    const int64_t id = last_ids_[i];
    if (id < 0) continue;
    shows_[size_t(id)] += 1.0;
    clicks_[size_t(id)] += result.clicked[i];
  }
}

void PopularityAgent::SetTraining(bool training) {
  RankingAgent::SetTraining(training);
  if (!training && !evaluating_) {
    saved_size_ = clicks_.size();
    saved_last_ids_ = last_ids_;
    evaluating_ = true;
  } else if (training && evaluating_) {
    clicks_.resize(saved_size_);  // entries grown during evaluation hold zero counts
    shows_.resize(saved_size_);
    last_ids_ = saved_last_ids_;
    evaluating_ = false;
  }
}

void PopularityAgent::Save(BinaryWriter& out) const {
  RankingAgent::Save(out);
  out.Vector(clicks_);
  out.Vector(shows_);
  out.Vector(last_ids_);
}
void PopularityAgent::Load(BinaryReader& in) {
  RankingAgent::Load(in);
  in.Vector(clicks_);
  in.Vector(shows_, "popularity.shows", clicks_.size());
  in.Check(per_item_ || clicks_.size() == size_t(ctx_.spec.num_topics),
           "popularity.clicks holds " + std::to_string(clicks_.size()) + " topics");
  in.Vector(last_ids_);
  const size_t slate = size_t(ctx_.num_envs) * size_t(ctx_.spec.slate_size);
  in.Check(last_ids_.empty() || last_ids_.size() == slate,
           "popularity.last_ids holds " + std::to_string(last_ids_.size()) + " values for " + std::to_string(slate) +
               " slate positions");
  in.CheckRange(last_ids_, -1, int64_t(clicks_.size()) - 1, "popularity.last_ids");
}

GreedyAgent::GreedyAgent(const json& config, const AgentContext& ctx)
    : RankingAgent(ctx), score_(config["score"].get<std::string>()) {
  if (score_ == "history" && ctx.spec.sequence == 0 && ctx.spec.history == 0)
    throw InputError("", "/agent/score",
                     "\"history\" ranks by the user's observed past clicks, which this scenario does not observe "
                     "(set env.observation.sequence.length or env.observation.history)");
  if (score_ != "affinity" && score_ != "history")
    RequireGroundTruth(ctx, ("greedy with score \"" + score_ + "\"").c_str());
}
const std::string& GreedyAgent::type() const { return kGreedy; }

std::string GreedyAgent::ScoreName() const {
  if (score_ == "expected_reward") return "expected reward (alone)";
  return score_;  // "affinity" or "quality"
}

void GreedyAgent::Score(const StepBatch& obs, int row, double* scores) const {
  const int K = obs.num_candidates;
  if (score_ == "quality") {
    const float* quality = ctx_.privileged->CandidateQualities(row);
    for (int c = 0; c < K; ++c) scores[c] = quality[c];
  } else if (score_ == "expected_reward") {
    ctx_.privileged->CandidateExpectedRewards(row, scores);
  } else if (score_ == "history") {
    // Clicks on each candidate's topic among the observed past: the clicked
    // positions of the sequence's entries, or the recent clicked topics.
    const size_t R = size_t(row);
    for (int c = 0; c < K; ++c) {
      const int32_t topic = obs.topic[R * size_t(K) + size_t(c)];
      double n = 0.0;
      if (obs.sequence > 0) {
        const size_t k = size_t(obs.slate_size), L = size_t(obs.sequence);
        for (int e = 0; e < obs.sequence_length[R]; ++e)
          for (size_t j = 0; j < k; ++j) {
            const size_t i = (R * L + size_t(e)) * k + j;
            n += obs.sequence_clicked[i] && obs.sequence_topic[i] == topic;
          }
      } else {
        for (int h = 0; h < obs.history; ++h) n += obs.history_topics[R * size_t(obs.history) + size_t(h)] == topic;
      }
      scores[c] = n;
    }
  } else {  // affinity with the observed interests (zero when hidden)
    const float* u = obs.Interests(row);
    features_.resize(size_t(obs.dim));
    for (int c = 0; c < K; ++c) {
      if (!obs.candidate_features) {
        scores[c] = u[obs.topic[size_t(row) * K + size_t(c)]];
        continue;
      }
      obs.CandidateFeatures(row, c, features_.data());
      double a = 0.0;
      for (int i = 0; i < obs.dim; ++i) a += double(u[i]) * features_[size_t(i)];
      scores[c] = a;
    }
  }
}

OracleAgent::OracleAgent(const json& config, const AgentContext& ctx) : truth_(RequireGroundTruth(ctx, "oracle")) {}
const std::string& OracleAgent::type() const { return kOracle; }

void OracleAgent::Act(const StepBatch& obs, SlateBatch& slates) {
  const int k = obs.slate_size;
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    truth_.OracleSlate(r, slates.Row(r));
    if (laws_.on())
      laws_.At(r) = SlateLaw{0.0, SlateLaw::Kind::kFixed, std::vector<double>(slates.Row(r), slates.Row(r) + k)};
  }
}

std::string OracleAgent::CandidateScores(const StepBatch& obs, int row, double* scores) const {
  if (!obs.active[size_t(row)]) return "";
  truth_.CandidateExpectedRewards(row, scores);
  return "expected reward (alone)";
}

}  // namespace cohort
