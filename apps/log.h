// `cohort log`: the scenario's agent (the logging policy) run like `cohort
// run` runs it, with every user-step written to DIR/log.h5. A plain run
// (run.train_steps = 0): run.episodes users, learning online, run.num_envs
// slots. A training run (run.train_steps > 0): the trainer's training sequence
// (agents/trainer.h), run.train_steps batched steps on run.num_envs slots of
// users without end, the agent updating after every step; each training
// user-step is logged with the law the agent had when it acted, so the log
// shows the learner's exploration change. The trainer's periodic evaluations
// (frozen, on held-out users) are not logged: by the agent contract they
// leave training bit-identical (agents/agent.h), so the logged sequence is
// the trainer's. A training log ends with users whose episode the end of
// training cut (neither terminated nor truncated on their last row). Each
// logged row holds what the agent observed, the slate it
// chose with the exact probabilities it chose it with (agents/slate_law.h),
// the users' response, and in a separate group the simulator's exact truth
// about that slate. The columns are the contract; docs/logs.md lists them.
//
// Rows are (step, slot) in order, active slots only: the same scenario and
// seed give the same file for any thread count. The file is written as
// log.h5.partial and renamed when complete (apps/h5_table.h); a stopped log
// (SIGINT, SIGTERM, SIGUSR1) leaves none.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agents/agent.h"
#include "env/scenario.h"
#include "env/vec_env.h"

namespace cohort {

struct LogOptions {
  std::string out_dir;
  bool csv = false;                         // also DIR/log.csv, one row per slate position
  const std::atomic<bool>* stop = nullptr;  // set: stop and write nothing
  // (user-steps, episodes done, episodes in all), every ~200 ms.
  std::function<void(int64_t, int64_t, int64_t)> progress;
};

struct LogOutcome {
  std::string file;          // DIR/log.h5 ("" when stopped)
  int64_t slates = 0;        // rows of the log
  int64_t episodes = 0;      // users whose episode ended
  std::string slate_law;     // the logging policy's law (agents/slate_law.h Describe), or "mixed"
  bool deterministic = false;   // every logged slate had probability 1: IPS-type estimators are undefined
  bool monte_carlo = false;     // some item propensities are Monte Carlo estimates
  bool stopped = false;
  json summary;              // what DIR/log.json holds
};

// InputError (naming the scenario file and JSON path) for a logging policy
// without closed-form propensities.
LogOutcome LogScenario(const Scenario& s, const LogOptions& options);

// The run a log records, as cohort log runs it and cohort ope replays it: its
// VecEnv (PlainRunEnvOptions or TrainingEnvOptions), whether batched step
// `step` is taken, and the learning after each step (Observe, then Update:
// every step in training, as the trainer does; when the agent learns in a
// plain run, as cohort run does).
VecEnv::Options LoggedRunEnvOptions(const RunParams& run);
bool LoggedRunContinues(const RunParams& run, const VecEnv& env, int64_t step);
void LoggedRunLearns(const RunParams& run, Agent& agent, const StepBatch& result);

// Reruns a log's run (the simulator and the logging policy, as cohort log ran
// them, learning step by step when it did) and checks every logged user-step
// against the file: `user` (n) and `slate` (n x k) are the log's user_id and
// slate columns. Run calls act(batch) once per batched step, after the
// logging policy acted (an agent acting beside it: cohort ope's target), and
// row(i, batch, r) for each logged row i in the file's order; a row whose user
// or slate differs, or a row count that differs, is a runtime_error naming
// `file`. cohort ope and cohort train-offline read logs through it.
class LogReplay {
 public:
  LogReplay(const Scenario& s, std::string file);
  const VecEnv& env() const { return env_; }
  // The logging policy's context (total_steps: the run's training steps).
  const AgentContext& context() const { return ctx_; }
  const Agent& logging() const { return *logging_; }
  using ActFn = std::function<void(const StepBatch& batch)>;
  using RowFn = std::function<void(int64_t i, const StepBatch& batch, int r)>;
  void Run(const std::vector<int64_t>& user, const std::vector<int64_t>& slate, int k, const ActFn& act,
           const RowFn& row);

 private:
  const Scenario& s_;
  const std::string file_;
  VecEnv env_;
  AgentContext ctx_;
  std::unique_ptr<Agent> logging_;
};

class H5Reader;
// DIR/log.h5 opened for reading, after checking it is a Cohort log:
// InputError naming the directory or file otherwise.
std::unique_ptr<H5Reader> OpenLog(const std::string& log_dir);

// The files of a log directory (for RemoveStaleTemporaries).
const std::vector<std::string>& LogDirectoryFiles();

}  // namespace cohort
