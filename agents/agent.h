// The Agent contract.
//
// Each step the runner calls, in this order:
//   Act(obs, slates)   one slate of k distinct candidate indices per active row
//   env.Step(slates)   -> result
//   Observe(result)    the response to those slates (reward, clicks, end flags)
//                      and, in the same batch, the NEXT observation (rows whose
//                      episode ended already hold the next user: same-step
//                      auto-reset; terminated/truncated say which)
//   Update()           a learning agent updates when it has collected enough
//                      (every step, every n steps, at the end of a rollout) and
//                      returns named statistics; an empty map means "no update
//                      this step"
//
// Evaluation: SetTraining(false) switches to the frozen policy (bandits act
// greedily without exploring; stochastic policies sample with their
// evaluation stream). In evaluation mode the runner calls only Act, on another
// VecEnv with the same number of rows, and Act must not change any training
// state (buffers, statistics, the training random stream): a run with periodic
// evaluation trains exactly like one without (tested).
//
// Inspection: CandidateScores(obs, row, scores) gives the agent's own score of
// each candidate of one row (Q-value, logit, UCB index, ...), the quantity its
// greedy / training Act ranks by, for the visualizer's session inspector. It is
// const in the strict sense: no random draws, statistics, buffers or caches
// change, so calling it between any two calls leaves the run bit-identical.
//
// Checkpoints: Save/Load write and read every piece of state that influences
// future behaviour, including random streams and rollout buffers, so that a
// resumed run continues bit-identically.
//
// Divergence: a learning agent that finds a NaN/Inf in a loss, gradient or
// parameter throws TrainingDiverged naming the tensor; the runner adds the
// step and keeps the last good checkpoint.
//
// Agents are registered by "type" (agents/registry.h) and configured from the
// scenario's "agent" block like every other component. Gradient-based agents
// never hard-code an optimizer: they own an UpdateRule (agents/update_rules.h)
// built from their "optimizer" block, the seam the meta layer plugs into.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/slate_law.h"
#include "core/schema.h"
#include "core/serialize.h"
#include "env/ground_truth.h"
#include "env/spec.h"
#include "env/vec_env.h"

namespace cohort {

// What an agent is built with. `spec` is everything it may know about the
// environment before acting (shapes, what is observed, public constants);
// observations arrive through Act/Observe. `privileged` is ground truth of the
// VecEnv the agent acts in (env/ground_truth.h): MakeAgent hands it only to
// agent types the registry computes as privileged (agents/registry.h) and
// strips it from every other, so a non-privileged agent cannot read hidden
// state even when its caller offers the handle.
struct AgentContext {
  EnvSpec spec;
  std::optional<GroundTruth> privileged;
  uint64_t seed = 0;
  uint64_t variant = 0;
  int num_envs = 1;
  // Planned training length in environment steps of the whole batch (one
  // Step() call = 1), for schedules that depend on progress t/T. 0: unknown.
  int64_t total_steps = 0;
};

class TrainingDiverged : public std::runtime_error {
 public:
  explicit TrainingDiverged(const std::string& what) : std::runtime_error(what) {}
};

// One logged user-step handed to an agent that learns offline
// (Agent::AddLoggedStep, `cohort train-offline`): the observation the logging
// policy saw (row `row` of `obs`), the slate it chose, the step's reward and
// clicked position, and the logging policy's exact probability of each of the
// K candidates appearing anywhere in the slate (the log's item_propensity;
// nullptr when the log has none).
struct LoggedStep {
  const StepBatch* obs = nullptr;
  int row = 0;
  int64_t user = 0;
  const int32_t* slate = nullptr;  // k candidate indices, in position order
  double reward = 0.0;
  int click = -1;  // the clicked position, -1 for none
  double watch_time = 0.0;  // the clicked item's watch time (0 when nothing was clicked)
  const double* item_propensity = nullptr;
};

class Agent {
 public:
  virtual ~Agent() = default;
  virtual const std::string& type() const = 0;
  // Writes one slate per active row of `obs` into `slates` (already sized
  // rows x slate_size). Inactive rows may be left as they are.
  virtual void Act(const StepBatch& obs, SlateBatch& slates) = 0;
  // Sees the outcome of the slates just acted on (and the next observation).
  virtual void Observe(const StepBatch& result) {}
  virtual bool learns() const { return false; }
  // One learning step when ready; returns named training statistics (empty:
  // nothing happened this step).
  virtual std::map<std::string, double> Update() { return {}; }
  // false: frozen evaluation policy (see the contract above).
  virtual void SetTraining(bool training) {}
  // Inspection (the visualizer's session inspector): the agent's own score of
  // every candidate of row `row` of `obs` -- what it ranks by -- written to
  // scores[0 .. obs.num_candidates). Returns the score's name ("logit",
  // "Q-value", "UCB index", ...), or "" when the agent has no per-candidate
  // score (random) or the row is inactive (scores then left untouched). Must
  // not change any state (no random draws, no statistics, no buffers): calling
  // it between steps leaves the run bit-identical.
  virtual std::string CandidateScores(const StepBatch& obs, int row, double* scores) const { return ""; }
  // Policy entropy (nats) of the last Act over active rows, for stochastic
  // policies; NaN when the agent has no such notion.
  virtual double LastPolicyEntropy() const { return std::nan(""); }
  // The largest value LastPolicyEntropy() can take: the entropy of the
  // uniform distribution over what it is the entropy of (log K for one choice
  // among K candidates, PlackettLuceMaxEntropy(K, k) for ordered slates), so
  // that entropies of different action spaces compare on [0, 1]. NaN when
  // the agent reports none.
  virtual double MaxPolicyEntropy() const { return std::nan(""); }
  // Slate laws (cohort log, off-policy evaluation; agents/slate_law.h). After
  // RecordSlateLaws(true), every Act keeps, for each active row, the law that
  // row's slate was drawn from; LastSlateLaw(row) gives it until the next
  // Act. Recording draws nothing and changes no state: a run acts the same
  // with it on (tested). HasSlateLaw() is false for policies whose slate
  // probabilities have no closed form (Thompson sampling); they record none.
  virtual bool HasSlateLaw() const { return false; }
  virtual void RecordSlateLaws(bool on) {}
  virtual const SlateLaw& LastSlateLaw(int row) const {
    throw std::logic_error(type() + " records no slate law");
  }
  // Offline learning (`cohort train-offline LOG_DIR --agent AGENT`,
  // apps/offline.h). An agent that can learn from a log alone returns the
  // schema of its offline options from OfflineSchema() (nullptr: it cannot;
  // the options are not part of its scenario block, so online runs resolve
  // as before). The trainer replays the log and calls AddLoggedStep once per
  // logged user-step, in the log's order (each user's steps in step order;
  // one user is one episode), then FitLogged(options) once with the options
  // validated against that schema: it trains on what was added, frees it and
  // returns named statistics. The agent then acts by what it learned, and
  // Save() holds it.
  virtual const Schema* OfflineSchema() const { return nullptr; }
  bool LearnsOffline() const { return OfflineSchema() != nullptr; }
  virtual void AddLoggedStep(const LoggedStep& step) { throw std::logic_error(type() + " does not learn offline"); }
  virtual std::map<std::string, double> FitLogged(const json& options) {
    throw std::logic_error(type() + " does not learn offline");
  }
  // Warm start (an agent's "init" key: a checkpoint directory; MakeAgent
  // calls this once, right after construction): take the network values of
  // `trained`, an agent of the same type built from the checkpoint's scenario
  // and loaded from it. Optimizer state, random streams and buffers stay
  // those of a fresh agent. Throws InputError (JSON path /agent/init) when
  // the networks differ. Only agents whose schema has "init" are asked.
  virtual void InitFrom(const Agent& trained) { throw std::logic_error(type() + " takes no warm start"); }
  // Checkpoint: complete state, bit-exact.
  virtual void Save(BinaryWriter& out) const {}
  virtual void Load(BinaryReader& in) {}
};

// The per-row laws an agent records (Agent::RecordSlateLaws).
class SlateLawRecord {
 public:
  void SetOn(bool on) { on_ = on; }
  bool on() const { return on_; }
  // The law of row r, to be filled in (the record grows to the row).
  SlateLaw& At(int r) {
    if (size_t(r) >= laws_.size()) laws_.resize(size_t(r) + 1);
    return laws_[size_t(r)];
  }
  const SlateLaw& Get(int r, const std::string& type) const {
    if (size_t(r) >= laws_.size()) throw std::logic_error(type + ": no slate law recorded for row " + std::to_string(r));
    return laws_[size_t(r)];
  }

 private:
  bool on_ = false;
  std::vector<SlateLaw> laws_;
};

// log(K! / (K - k)!): the entropy of the uniform distribution over ordered
// slates of k distinct items out of K (k = 1: log K).
inline double PlackettLuceMaxEntropy(int candidates, int slate_size) {
  double h = 0.0;
  for (int j = 0; j < slate_size && j < candidates; ++j) h += std::log(double(candidates - j));
  return h;
}

// LastPolicyEntropy() / MaxPolicyEntropy(): in [0, 1], 1 for a uniform
// policy, 0 for a deterministic one; NaN when the agent reports no entropy
// (or its action space has a single action).
inline double NormalizedPolicyEntropy(const Agent& agent) {
  const double h = agent.LastPolicyEntropy(), max = agent.MaxPolicyEntropy();
  return std::isfinite(h) && max > 0.0 ? h / max : std::nan("");
}

}  // namespace cohort
