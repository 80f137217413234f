// Training runner for learning agents: `cohort run` on a scenario whose
// run.train_steps > 0.
//
// Loop: the agent acts on B training slots (users seeded by the scenario's
// seed), observes and updates; every run.eval_every steps the frozen policy
// (SetTraining(false)) is evaluated on run.episodes evaluation users: the
// same population, catalog and topic geometry (same seed), but users numbered
// from 2^40, never met in training; the same users at every evaluation, so the
// learning curve is paired across evaluations. Random and myopic-oracle
// references on those users give the normalized score.
//
// Non-learning agents run the same loop (popularity still counts clicks);
// their evaluations then use the same users as a learning agent's, so tables
// compare like with like. Privileged agents (the myopic oracle) are rebuilt on
// the evaluation environment for each evaluation, since they read the state
// of the environment they act in.
//
// Non-stationary worlds (scheduled events, live-catalog turnover): each
// evaluation puts the evaluation users in the world as it is at that training
// step (VecEnv::StartFromWorldOf), and the random and oracle references are
// recomputed there, so the normalized score compares policies in the same
// world.
//
// Run directory:
//   scenario.resolved.json
//   metrics.jsonl   {"kind": "eval", "step", "user_steps", return_mean, ...}
//                   {"kind": "train", "step", "user_steps", episodes, episode_return_mean,
//                    updates, <the agent's training statistics, averaged>}
//   summary.json    the final evaluation, plus normalized_score_area (mean normalized
//                   score over the evaluations after step 0), train_normalized_score
//                   (the mean return of the finished training episodes, normalized
//                   by the last evaluation's random and oracle means), train_steps,
//                   train_user_steps, updates
//   checkpoint.bin  everything needed to continue bit-identically (environment,
//                   agent, runner state, metrics so far); written atomically every
//                   run.checkpoint_every steps, at the end, and when interrupted
//
// Resuming (`cohort run --resume DIR`) continues from checkpoint.bin and gives
// byte-identical metrics.jsonl and summary.json (timings aside) to an
// uninterrupted run. A NaN/Inf in training (TrainingDiverged) stops the run
// with a message naming the agent, the step and the tensor; checkpoint.bin
// keeps the last good state.
#pragma once

#include <atomic>
#include <string>

#include "agents/runner.h"

namespace cohort {

struct TrainOptions {
  std::string out_dir;                      // required: checkpoints live there
  bool resume = false;                      // continue from out_dir/checkpoint.bin
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT): checkpoint and return
  // (training user-steps, steps done, steps total); called once before the
  // first step (after a resume, with the resumed counts: apps/progress.h
  // measures the rate from that first call) and then every ~200 ms.
  ProgressFn progress;
  // Called after each evaluation (the untrained policy's at step 0 too, but
  // not again on a resume) with the batched step, the normalized score and the
  // half-width of its 95% interval (both NaN when the score is undefined).
  std::function<void(int64_t step, double normalized_score, double ci95)> on_eval;
  int64_t stop_at_step = -1;  // tests: behave as if interrupted before this step
};

struct TrainOutput {
  json summary;  // empty when interrupted
  bool interrupted = false;
  int64_t step = 0;  // batched steps done
};

TrainOutput TrainScenario(const Scenario& scenario, const TrainOptions& options);

// The VecEnv of the trainer's training slots: run.num_envs slots of users
// numbered from 0 without end (a slot whose user leaves takes the next),
// run.threads threads. cohort log logs a training run's training steps on it
// (apps/log.h).
VecEnv::Options TrainingEnvOptions(const RunParams& run);

// A training checkpoint read for its policy (`cohort viz --agent`). `path` is
// a run directory or its checkpoint.bin. ReadCheckpointInfo gives the run's
// resolved scenario and the step the checkpoint was written at;
// LoadCheckpointAgent restores the agent's state into `agent`, which must be
// built from that scenario's "agent" block with its run.num_envs slots
// (rollout buffers are per slot). Throws InputError for a missing file and
// std::runtime_error for a corrupt one.
struct CheckpointInfo {
  std::string file;  // the checkpoint.bin read
  json scenario;     // scenario.resolved of the run
  int64_t step = 0;  // training steps done
};
CheckpointInfo ReadCheckpointInfo(const std::string& path);
void LoadCheckpointAgent(const CheckpointInfo& info, const Scenario& run, Agent& agent);

// Writes DIR/scenario.resolved.json and DIR/checkpoint.bin for an agent
// trained outside the training loop (`cohort train-offline`): a checkpoint of
// `run` at step 0 that holds `agent`'s state, a freshly reset environment and
// no progress lines, so that ReadCheckpointInfo / LoadCheckpointAgent (`cohort
// viz --agent DIR`) load the agent like a trained run's. `agent` must have
// been built from run.agent with run.run.num_envs slots; `updates` is recorded
// as the run's update count.
void WriteAgentCheckpoint(const Scenario& run, const Agent& agent, int64_t updates, const std::string& out_dir);

// Where a trained policy's observations would differ between two
// environments: the first of /env/num_topics, /env/candidates,
// /env/slate_size, /env/catalog/features (the features or their dimension),
// /env/observation/history, /env/observation/interests (hidden or not),
// /env/observation/budget, /env/observation/sequence/length that differs; "" when none does. A checkpoint's
// agent acts only where it is "" (cohort viz --agent, cohort ope --target).
std::string ObservationShapeDifference(const EnvParams& a, const EnvParams& b);

// Reads a whole checkpoint file's bytes into a fresh trainer for `scenario`,
// as `cohort run --resume` would, and runs nothing: for tests and the fuzz
// target (tests/fuzz). A defect of any kind (checksum, format, a length or
// index out of bounds, trailing data) throws std::runtime_error "checkpoint
// NAME is corrupt: ..."; a checkpoint of another scenario throws InputError.
void LoadCheckpointBytes(const std::string& bytes, const Scenario& scenario, const std::string& name);

}  // namespace cohort
