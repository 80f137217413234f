#include "agents/logging_policy.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "agents/registry.h"

namespace cohort {
namespace {
const std::string kLogging = "logging";
}  // namespace

void RegisterLoggingPolicy(AgentTable& table) {
  static Schema schema{"logging wrapper"};
  schema.Component("policy", &table.types(), "greedy", "the wrapped policy (any agent block), acting frozen")
      .Number("epsilon", 0.0, 0.0, 1.0, "probability of a uniformly random slate instead of the policy's")
      .Number("temperature", 0.0, 0.0, 1e300,
              "> 0: a Plackett-Luce slate over exp(score / temperature) of the policy's CandidateScores; "
              "0: the policy's own slate");
  const AgentTable* t = &table;
  table.Add({kLogging,
             "logging wrapper: any policy, frozen, with known exploration (epsilon-uniform mixing or a "
             "Plackett-Luce temperature) so its log has propensities",
             &schema},
            [t](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
              return std::make_unique<LoggingPolicy>(config, ctx, t->Make(config["policy"], ctx));
            },
            [t](const json& config) { return t->IsPrivileged(config["policy"]); });
}

LoggingPolicy::LoggingPolicy(const json& config, const AgentContext& ctx, std::unique_ptr<Agent> inner)
    : inner_(std::move(inner)),
      epsilon_(config["epsilon"].get<double>()),
      temperature_(config["temperature"].get<double>()),
      streams_(ctx.seed, ctx.variant, ctx.num_envs, StreamPurpose::kLogging) {
  if (temperature_ == 0.0 && !inner_->HasSlateLaw())
    throw InputError("", "/agent/policy/type",
                     "\"" + inner_->type() +
                         "\" has no closed-form slate probabilities (its scores are random draws); log it with "
                         "\"temperature\" > 0, which samples from its scores instead");
  inner_->SetTraining(false);
  if (temperature_ == 0.0) inner_->RecordSlateLaws(true);
}

const std::string& LoggingPolicy::type() const { return kLogging; }

void LoggingPolicy::SetTraining(bool training) {
  streams_.SetTraining(training);
  if (!training && !evaluating_) {
    BinaryWriter w;
    inner_->Save(w);
    inner_saved_ = w.data();
    evaluating_ = true;
  } else if (training && evaluating_) {
    BinaryReader r(inner_saved_, "logging: the wrapped policy's state");
    inner_->Load(r);
    evaluating_ = false;
  }
}

void LoggingPolicy::Act(const StepBatch& obs, SlateBatch& slates) {
  const int K = obs.num_candidates, k = obs.slate_size;
  if (temperature_ == 0.0) inner_->Act(obs, slates);
  scores_.resize(size_t(K));
  for (int r = 0; r < obs.rows; ++r) {
    if (!obs.active[size_t(r)]) continue;
    Rng& rng = streams_.For(r, obs.user_id[size_t(r)]);
    int32_t* out = slates.Row(r);
    SlateLaw law;
    if (temperature_ == 0.0) {
      // The policy's slate, or a uniform one with probability epsilon.
      if (laws_.on()) law = inner_->LastSlateLaw(r);
      if (epsilon_ > 0.0 && rng.Uniform() < epsilon_) SampleSlate(SlateLaw::Uniform(), K, k, rng, out);
      if (laws_.on()) law.uniform = epsilon_ + (1.0 - epsilon_) * law.uniform;
    } else {
      if (inner_->CandidateScores(obs, r, scores_.data()).empty())
        throw std::runtime_error("logging: \"" + inner_->type() +
                                 "\" gives no per-candidate scores, which \"temperature\" samples from");
      const double top = *std::max_element(scores_.begin(), scores_.end());
      law = SlateLaw{epsilon_, SlateLaw::Kind::kPlackettLuce, std::vector<double>(size_t(K))};
      for (int c = 0; c < K; ++c) law.values[size_t(c)] = std::exp((scores_[size_t(c)] - top) / temperature_);
      SampleSlate(law, K, k, rng, out);
    }
    if (laws_.on()) laws_.At(r) = std::move(law);
  }
}

void LoggingPolicy::Save(BinaryWriter& out) const {
  out.Tag("logging");
  streams_.Save(out);
  inner_->Save(out);
}

void LoggingPolicy::Load(BinaryReader& in) {
  in.Tag("logging");
  streams_.Load(in);
  inner_->Load(in);
}

}  // namespace cohort
