// The logging wrapper: any agent, logged with known exploration.
//
//   {"type": "logging", "policy": {"type": "greedy"}, "epsilon": 0.1}
//   {"type": "logging", "policy": {"type": "linucb"}, "temperature": 0.5}
//
// A production ranker is often deterministic, and a log of a deterministic
// policy supports no importance-weighted estimate of any other policy. The
// wrapper acts as the wrapped policy's frozen evaluation policy (a production
// ranker does not learn while it is logged: the wrapped agent is switched to
// evaluation mode and never observes), and
//   temperature = 0: keeps its slate, or with probability epsilon replaces it
//     by a uniformly random one; the wrapped policy must have a slate law
//     (agents/slate_law.h), which the wrapper's law mixes with the uniform;
//   temperature > 0: ignores its slate and draws a Plackett-Luce slate over
//     exp(score / temperature) of its CandidateScores (every candidate must
//     have a score), again mixed with a uniform slate with probability
//     epsilon; any policy with scores works, Thompson sampling's included.
// Its own draws come from a stream of (seed, variant, user, kLogging). It is
// privileged when the wrapped policy is.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agents/agent.h"
#include "agents/baselines.h"

namespace cohort {

class AgentTable;
// Registers "logging" in `table`, whose own types it wraps.
void RegisterLoggingPolicy(AgentTable& table);

class LoggingPolicy : public Agent {
 public:
  LoggingPolicy(const json& config, const AgentContext& ctx, std::unique_ptr<Agent> inner);
  const std::string& type() const override;
  void Act(const StepBatch& obs, SlateBatch& slates) override;
  // Evaluation acts on other users: the wrapped policy's state (its streams;
  // it never learns) is set aside and put back, like the wrapper's streams.
  void SetTraining(bool training) override;
  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override {
    return inner_->CandidateScores(obs, row, scores);
  }
  bool HasSlateLaw() const override { return true; }
  void RecordSlateLaws(bool on) override { laws_.SetOn(on); }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.Get(row, type()); }
  void Save(BinaryWriter& out) const override;
  void Load(BinaryReader& in) override;

 private:
  std::unique_ptr<Agent> inner_;
  const double epsilon_, temperature_;
  UserStreams streams_;
  SlateLawRecord laws_;
  std::vector<double> scores_;
  std::string inner_saved_;  // the wrapped policy's Save() bytes while evaluating
  bool evaluating_ = false;
};

}  // namespace cohort
