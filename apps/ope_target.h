// The target policy of `cohort ope --target AGENT` (apps/ope.h).
//
// AGENT is one of:
//   - an agent JSON ('{"type": "greedy"}') or an agent type ("greedy"),
//     resolved against the log's scenario (its defaults, its slate size);
//   - a scenario file: its agent (refused when its slates have another size
//     or candidate count than the log's);
//   - a training run (`cohort run` with run.train_steps > 0): its directory
//     or its checkpoint.bin. The agent is rebuilt from the run's own resolved
//     scenario (recorded in the checkpoint), the checkpoint's agent state is
//     loaded into it (agents/trainer.h LoadCheckpointAgent), and it acts
//     frozen (SetTraining(false)), as the run's own evaluations do. Refused
//     (InputError, exit 2) when the run's environment does not fit the log:
//     another candidate count, slate size, topic count, catalog features or
//     feature dimension, or observation (history, hidden interests, budget);
//     and when the checkpoint is missing or damaged (the loader's reason).
//
// A checkpointed agent's per-slot state (random streams, rollout buffers) has
// the run's run.num_envs rows, and an agent acts on batches of exactly its
// own row count (agents/agent.h). When the log's replay has another row
// count, the frozen agent acts on the log's rows in chunks of its own size
// (the last chunk padded with inactive rows). A frozen policy's slate law at a
// row depends only on that row's observation (evaluation mode changes no
// state and sees no Observe), so the laws, and every estimate and truth, are
// the same as on batches of its own size (tested: runs of 8, 32 and 64 slots
// on a 32-slot log give the truth of the same weights given as a scenario
// agent).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agents/agent.h"
#include "agents/trainer.h"
#include "env/scenario.h"

namespace cohort {

class OpeTarget {
 public:
  // `text` as given to --target; `log` the log's scenario. Throws InputError
  // for every refusal above.
  OpeTarget(const std::string& text, const Scenario& log);

  // The agent block (for a checkpoint, the run's agent).
  const json& agent() const { return agent_; }
  // For the result: {"file", "step"} of the checkpoint; null for other targets.
  json checkpoint() const;

  // A frozen target that acts on batches of ctx.num_envs rows of the log's
  // environment and records its slate laws. Throws InputError when it has no
  // closed-form slate law (Thompson sampling).
  std::unique_ptr<Agent> Make(const AgentContext& ctx) const;

 private:
  json agent_;
  std::string source_ = "--target";  // what errors of the agent's factory name
  std::optional<CheckpointInfo> checkpoint_;
  std::optional<Scenario> run_;  // the checkpoint's run
};

}  // namespace cohort
