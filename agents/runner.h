// Runs a scenario's agent over its episodes and produces the run directory:
// scenario.resolved.json, metrics.jsonl (one line per finished episode,
// ordered by user) and summary.json. Every file is written atomically.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "agents/agent.h"
#include "agents/exposure.h"
#include "env/scenario.h"
#include "env/vec_env.h"

namespace cohort {

// Cold start: the first kColdStartSteps steps of each user's episode, when
// the agent has seen little or nothing of the user (no history yet).
constexpr int kColdStartSteps = 5;

struct EpisodeRecord {
  int64_t user = 0;
  double ret = 0.0;
  double cold_start_return = 0.0;  // reward over the first kColdStartSteps steps
  int64_t length = 0;
  int64_t clicks = 0;
  int64_t likes = 0;
  int64_t dislikes = 0;
  double watch_time = 0.0;
  int sessions = 1;
  int returns = 0;  // sessions that were followed by a return
  bool terminated = false;
  bool truncated = false;
  double regret = 0.0;  // sum over steps of oracle minus chosen expected reward
  json ToJson() const;
};

struct Rollout {
  std::string agent;
  std::vector<EpisodeRecord> episodes;  // sorted by user
  int64_t steps = 0;
  double seconds = 0.0;
};

// Per-row accumulation of episode records from successive StepBatches.
class EpisodeTracker {
 public:
  // Rows' current users, from the first observation.
  void Start(const StepBatch& batch);
  // Adds one step's outcome; appends finished episodes; returns user-steps counted.
  int64_t Record(const StepBatch& batch, std::vector<EpisodeRecord>& finished);
  std::vector<EpisodeRecord>& current() { return current_; }

 private:
  std::vector<EpisodeRecord> current_;
};

// Evaluation extras of a rollout.
struct RolloutExtras {
  double coverage = 0.0;         // distinct items (live catalog) or topics shown / all of them
  double slate_diversity = 0.0;  // mean fraction of distinct topics in a slate
  double policy_entropy = 0.0;   // mean LastPolicyEntropy() (NaN if the agent has none)
  ExposureMetrics exposure;      // agents/exposure.h
};

// The extras as summary keys: coverage, slate_diversity, policy_entropy (null
// without one), exposure_gini, long_tail_share, exposure_merit_gap,
// calibration_kl, and exposure_by_topic ([{"topic", "exposure_share",
// "merit_share"}], not a metric).
void AddRolloutExtras(const RolloutExtras& extras, json& summary);

// Progress over all passes: (user-steps done, episodes done, episodes total).
using ProgressFn = std::function<void(int64_t steps, int64_t done, int64_t total)>;

// Rolls `agent` over every user of `env` (built with max_users) until no row is
// active. With `learn`, the agent Observes every result (and learning agents
// Update): online learning during the run; without, only Act is called (the
// evaluation of a frozen policy).
Rollout RollOutWith(VecEnv& env, Agent& agent, bool regret, bool learn, const ProgressFn& progress, int64_t done_offset,
                    int64_t total, RolloutExtras* extras);

// The VecEnv of a plain run (RollOut; cohort log and cohort ope replay the
// same): run.episodes users on min(run.num_envs, run.episodes) slots (idle
// slots would only cost time), run.threads threads.
VecEnv::Options PlainRunEnvOptions(const RunParams& run);

// Rolls out `agent_config` for scenario.run.episodes episodes.
Rollout RollOut(const Scenario& scenario, const json& agent_config, bool regret, const ProgressFn& progress,
                int64_t done_offset = 0, int64_t total = 0, RolloutExtras* extras = nullptr);

// Evaluation users: the same population and catalog as training users (same
// seed and variant) but numbered from kFirstEvalUser, never met in training.
inline constexpr int64_t kFirstEvalUser = int64_t(1) << 40;
// `users` evaluation users on `num_envs` slots. When `world` is not
// stationary (events, catalog turnover) they meet it as it is now
// (VecEnv::StartFromWorldOf) instead of the initial world.
std::unique_ptr<VecEnv> MakeEvalEnv(const EnvParams& params, uint64_t seed, uint64_t variant, int num_envs, int threads,
                                    int64_t users, const VecEnv& world);

// summary.json keys of a rollout (episodes, returns, clicks, ctr, regret, ...).
// With bots in the population (env.users.bots), also human_users, bot_users,
// human_return_mean, human_return_ci95 and bot_return_mean: every user's
// kind is BotEntryOf its id (env/model.h), so the split needs no simulator.
json SummarizeRollout(const Scenario& scenario, const Rollout& r);
// Whether each episode of `r` is a person's (all true without bots).
std::vector<bool> HumanEpisodes(const Scenario& scenario, const Rollout& r);
// Throws std::runtime_error naming the first metric of `summary` that is a
// NaN or infinite number (undefined metrics are null, not NaN): a summary is
// never written with a value that became non-finite.
void CheckFiniteSummary(const json& summary);

// Adds random_return_mean, oracle_return_mean, normalized_score and
// normalized_score_ci95 (core/stats.h NormalizedScore: a ratio of paired means
// with its delta-method interval; null when the oracle does no better than
// random) to `summary`: `main` against the reference rollouts on the same users
// (pairs past the shortest rollout are ignored). With bots in `scenario`'s
// population, also human_normalized_score and its interval: the same ratio
// over the people among those users only.
void AddReferenceScores(const Scenario& scenario, const Rollout& main, const Rollout& random, const Rollout& oracle,
                        json& summary);

// A plain run's progress: user-steps so far (every pass), the episodes of the
// scenario's agent done and asked (run.episodes), and the episodes of the
// reference rollouts done and to do (run.reference: a random and an oracle
// pass over the same users after the agent's; 0 and 0 without).
struct RunProgress {
  int64_t steps = 0;
  int64_t done = 0, total = 0;
  int64_t reference_done = 0, reference_total = 0;
};

// RunScenario's progress callback: a function of a RunProgress, or one of
// (steps, done, total) (ProgressFn), which then counts the episodes of every
// pass together. Called once before any work (the starting point of a rate),
// then every ~200 ms.
class RunProgressFn {
 public:
  RunProgressFn() = default;
  RunProgressFn(std::nullptr_t) {}
  template <class F>
  requires std::is_invocable_v<F&, const RunProgress&> RunProgressFn(F f) : f_(std::move(f)) {}
  template <class F>
  requires(!std::is_invocable_v<F&, const RunProgress&> && std::is_invocable_v<F&, int64_t, int64_t, int64_t>)
      RunProgressFn(F f)
      : f_([f = std::move(f)](const RunProgress& p) mutable {
          f(p.steps, p.done + p.reference_done, p.total + p.reference_total);
        }) {}
  explicit operator bool() const { return bool(f_); }
  void operator()(const RunProgress& p) const { f_(p); }

 private:
  std::function<void(const RunProgress&)> f_;
};

struct RunOutput {
  json summary;
  Rollout main;
};

// The full `cohort run`: the scenario's agent, plus random and myopic-oracle
// reference rollouts on the same users when run.reference is set. Writes the
// run directory when `out_dir` is non-empty.
RunOutput RunScenario(const Scenario& scenario, const std::string& out_dir, const RunProgressFn& progress);

// The summary keys that hold wall-clock timings (everything else in
// summary.json is bit-identical for the same scenario and seed).
inline const std::vector<std::string> kTimingKeys = {"steps_per_second", "elapsed_seconds"};

// Every numeric key a run's summary.json can hold (plain runs, reference
// rollouts, training runs), so a sweep's report.metrics is checked before any
// cell runs. tests/test_runner.cc fails when a run writes a key missing here.
inline const std::vector<std::string> kSummaryMetricKeys = {"episodes",
                                                            "steps",
                                                            "return_mean",
                                                            "return_std",
                                                            "return_ci95",
                                                            "episode_length_mean",
                                                            "clicks_per_episode",
                                                            "ctr",
                                                            "item_ctr",
                                                            "watch_time_per_episode",
                                                            "sessions_per_episode",
                                                            "return_rate",
                                                            "regret_per_episode",
                                                            "regret_per_step",
                                                            "random_return_mean",
                                                            "oracle_return_mean",
                                                            "normalized_score",
                                                            "normalized_score_ci95",
                                                            "cold_start_return_mean",
                                                            "cold_start_normalized_score",
                                                            "cold_start_normalized_score_ci95",
                                                            "human_users",
                                                            "bot_users",
                                                            "human_return_mean",
                                                            "human_return_ci95",
                                                            "bot_return_mean",
                                                            "human_normalized_score",
                                                            "human_normalized_score_ci95",
                                                            "steps_per_second",
                                                            "elapsed_seconds",
                                                            "normalized_score_area",
                                                            "train_normalized_score",
                                                            "train_steps",
                                                            "train_user_steps",
                                                            "updates",
                                                            "coverage",
                                                            "slate_diversity",
                                                            "policy_entropy",
                                                            "exposure_gini",
                                                            "long_tail_share",
                                                            "exposure_merit_gap",
                                                            "calibration_kl"};

}  // namespace cohort
