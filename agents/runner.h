// Runs a scenario's agent over its episodes and produces the run directory:
// scenario.resolved.json, metrics.jsonl (one line per finished episode,
// ordered by user) and summary.json. Every file is written atomically.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "env/scenario.h"

namespace cohort {

struct EpisodeRecord {
  int64_t user = 0;
  double ret = 0.0;
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

// Progress over all passes: (user-steps done, episodes done, episodes total).
using ProgressFn = std::function<void(int64_t steps, int64_t done, int64_t total)>;

// Rolls out `agent_config` for scenario.run.episodes episodes.
Rollout RollOut(const Scenario& scenario, const json& agent_config, bool regret, const ProgressFn& progress,
                int64_t done_offset = 0, int64_t total = 0);

struct RunOutput {
  json summary;
  Rollout main;
};

// The full `cohort run`: the scenario's agent, plus random and myopic-oracle
// reference rollouts on the same users when run.reference is set. Writes the
// run directory when `out_dir` is non-empty.
RunOutput RunScenario(const Scenario& scenario, const std::string& out_dir, const ProgressFn& progress);

// The summary keys that hold wall-clock timings (everything else in
// summary.json is bit-identical for the same scenario and seed).
inline const std::vector<std::string> kTimingKeys = {"steps_per_second", "elapsed_seconds"};

}  // namespace cohort
