// `cohort log`: the scenario's agent (the logging policy) run like `cohort
// run` runs it (run.episodes users, learning online, run.num_envs slots), with
// every user-step written to DIR/log.h5: what the agent observed, the slate it
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

#include "env/scenario.h"

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
// without closed-form propensities and for training runs.
LogOutcome LogScenario(const Scenario& s, const LogOptions& options);

class H5Reader;
// DIR/log.h5 opened for reading, after checking it is a Cohort log:
// InputError naming the directory or file otherwise.
std::unique_ptr<H5Reader> OpenLog(const std::string& log_dir);

// The files of a log directory (for RemoveStaleTemporaries).
const std::vector<std::string>& LogDirectoryFiles();

}  // namespace cohort
