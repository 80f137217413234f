#include "agents/exposure_rerank.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "agents/exposure.h"
#include "agents/registry.h"

namespace cohort {
namespace {
const std::string kExposureRerank = "exposure_rerank";
}  // namespace

void RegisterExposureRerank(AgentTable& table) {
  static Schema schema{"exposure re-ranker"};
  schema.Component("policy", &table.types(), "popularity", "the wrapped policy (any agent block with per-candidate scores)")
      .Number("weight", 1.0, 0.0, 1e6,
              "penalty per unit of relative exposure, in standard deviations of the policy's scores; 0 = the "
              "policy's own ranking")
      .Number("decay", 1.0, 0.0, 1.0, "the served exposure is multiplied by this every step (1: never forgotten)")
      .String("serve", "evaluation", {"evaluation", "always"},
              "evaluation: the policy trains on its own slates and is re-ranked when evaluated; always: the policy "
              "is frozen and every slate is re-ranked");
  const AgentTable* t = &table;
  table.Add({kExposureRerank,
             "exposure re-ranker: a policy's scores standardized, minus a penalty on the exposure already served "
             "to each item or topic (a documented knob trading reward for spread)",
             &schema},
            [t](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
              return std::make_unique<ExposureRerank>(config, ctx, t->Make(config["policy"], ctx));
            },
            [t](const json& config) { return t->IsPrivileged(config["policy"]); });
}

ExposureRerank::ExposureRerank(const json& config, const AgentContext& ctx, std::unique_ptr<Agent> inner)
    : inner_(std::move(inner)),
      weight_(config["weight"].get<double>()),
      decay_(config["decay"].get<double>()),
      always_(config["serve"].get<std::string>() == "always"),
      per_item_(ctx.spec.arms_are_items) {
  if (always_) inner_->SetTraining(false);
}

const std::string& ExposureRerank::type() const { return kExposureRerank; }

void ExposureRerank::SetTraining(bool training) {
  if (!training && !evaluating_) {
    if (always_) {
      BinaryWriter w;
      inner_->Save(w);
      inner_saved_ = w.data();
    } else {
      inner_->SetTraining(false);
    }
    eval_ = Exposure{};
    evaluating_ = true;
  } else if (training && evaluating_) {
    if (always_) {
      BinaryReader r(inner_saved_, "exposure_rerank: the wrapped policy's state");
      inner_->Load(r);
      inner_saved_.clear();
    } else {
      inner_->SetTraining(true);
    }
    eval_ = Exposure{};
    evaluating_ = false;
  }
}

int64_t ExposureRerank::Unit(const StepBatch& obs, int row, int c) const {
  const size_t i = size_t(row) * size_t(obs.num_candidates) + size_t(c);
  return per_item_ ? obs.item_id[i] : int64_t(obs.topic[i]);
}

bool ExposureRerank::Adjusted(const StepBatch& obs, int row, double* adjusted) const {
  const int K = obs.num_candidates;
  if (inner_->CandidateScores(obs, row, adjusted).empty()) return false;
  double mean = 0.0;
  for (int c = 0; c < K; ++c) mean += adjusted[c];
  mean /= K;
  double var = 0.0;
  for (int c = 0; c < K; ++c) var += (adjusted[c] - mean) * (adjusted[c] - mean);
  const double sd = std::sqrt(var / K);
  const Exposure& e = evaluating_ ? eval_ : train_;
  const double mean_exposure = e.num_offered > 0 ? e.total / double(e.num_offered) : 0.0;
  for (int c = 0; c < K; ++c) {
    const double z = sd > 0.0 && std::isfinite(sd) ? (adjusted[c] - mean) / sd : 0.0;
    const int64_t u = Unit(obs, row, c);
    const double served = u >= 0 && size_t(u) < e.served.size() ? e.served[size_t(u)] : 0.0;
    adjusted[c] = z - (mean_exposure > 0.0 ? weight_ * served / mean_exposure : 0.0);
  }
  return true;
}

std::string ExposureRerank::CandidateScores(const StepBatch& obs, int row, double* scores) const {
  if (!Reranking()) return inner_->CandidateScores(obs, row, scores);
  if (!obs.active[size_t(row)] || !Adjusted(obs, row, scores)) return "";
  return "exposure-adjusted score";
}

void ExposureRerank::Act(const StepBatch& obs, SlateBatch& slates) {
  inner_->Act(obs, slates);
  if (!Reranking()) return;
  const int K = obs.num_candidates, k = obs.slate_size;
  adjusted_.resize(size_t(K));
  order_.resize(size_t(K));
  priority_.resize(size_t(K));
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    if (!Adjusted(obs, r, adjusted_.data()))
      throw std::runtime_error("exposure_rerank: \"" + inner_->type() +
                               "\" gives no per-candidate scores to re-rank (wrap a policy that has them: greedy, "
                               "popularity, the bandits, the LibTorch agents, click_model)");
    // Ties go to the policy's own slate order, then to the lower index.
    int32_t* slate = slates.Row(r);
    std::fill(priority_.begin(), priority_.end(), k);
    for (int j = 0; j < k; ++j) priority_[size_t(slate[j])] = j;
    std::iota(order_.begin(), order_.end(), 0);
    std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), [&](int32_t a, int32_t b) {
      if (adjusted_[size_t(a)] != adjusted_[size_t(b)]) return adjusted_[size_t(a)] > adjusted_[size_t(b)];
      if (priority_[size_t(a)] != priority_[size_t(b)]) return priority_[size_t(a)] < priority_[size_t(b)];
      return a < b;
    });
    std::copy_n(order_.begin(), k, slate);
  }
  Add(obs, slates);
}

// After the whole batch is ranked (so every row of one Act, and
// CandidateScores between Acts, see the same state): the rows' candidates
// become offered units, the served exposure decays, and the slates add
// their position weights.
void ExposureRerank::Add(const StepBatch& obs, const SlateBatch& slates) {
  Exposure& e = evaluating_ ? eval_ : train_;
  const int K = obs.num_candidates, k = obs.slate_size;
  auto grow = [&](int64_t u) {
    if (size_t(u) >= e.served.size()) {
      e.served.resize(size_t(u) + 1, 0.0);
      e.offered.resize(size_t(u) + 1, 0);
    }
  };
  if (decay_ < 1.0) {
    for (double& x : e.served) x *= decay_;
    e.total *= decay_;
  }
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    for (int c = 0; c < K; ++c) {
      const int64_t u = Unit(obs, r, c);
      if (u < 0) continue;
      grow(u);
      if (!e.offered[size_t(u)]) e.offered[size_t(u)] = 1, ++e.num_offered;
    }
    for (int j = 0; j < k; ++j) {
      const int64_t u = Unit(obs, r, slates.Row(r)[j]);
      if (u < 0) continue;
      e.served[size_t(u)] += ExposureWeight(j);
      e.total += ExposureWeight(j);
    }
  }
}

void ExposureRerank::Save(BinaryWriter& out) const {
  out.Tag("exposure_rerank");
  out.Vector(train_.served);
  out.Vector(train_.offered);
  out.Pod(train_.num_offered);
  out.Pod(train_.total);
  inner_->Save(out);
}

void ExposureRerank::Load(BinaryReader& in) {
  in.Tag("exposure_rerank");
  in.Vector(train_.served);
  in.Vector(train_.offered);
  in.Pod(train_.num_offered);
  in.Pod(train_.total);
  in.Check(train_.served.size() == train_.offered.size(), "exposure_rerank: served and offered differ in length");
  in.CheckRange(train_.offered, 0, 1, "exposure_rerank.offered");
  int64_t offered = 0;
  for (size_t u = 0; u < train_.served.size(); ++u) {
    in.Check(std::isfinite(train_.served[u]) && train_.served[u] >= 0.0,
             "exposure_rerank: a negative or non-finite exposure");
    offered += train_.offered[u];
  }
  in.Check(offered == train_.num_offered, "exposure_rerank: the offered count does not match its flags");
  in.Check(std::isfinite(train_.total) && train_.total >= 0.0, "exposure_rerank: a negative or non-finite total");
  inner_->Load(in);
}

}  // namespace cohort
