// Experiment sweeps: many `cohort run`s from one file, locally or over MPI,
// resumable, and aggregated into tables and plots.
//
// Sweep file (validated like a scenario; see SweepSchema()):
//   {"base": "../scenarios/x.json",          scenario path, relative to the sweep file
//    "set": {"run.episodes": 500},           fixed overrides for every cell
//    "axes": [                               combined as a grid (cartesian product)
//      {"path": "agent.type", "values": ["random", "greedy"]},              grid axis
//      {"path": "agent", "values": [{"type": "random"}, {"type": "greedy", "score": "quality"}],
//       "labels": ["random", "greedy-quality"]},       whole objects need short labels
//      {"path": "env.choice.temperature", "distribution": "log_uniform",
//       "low": 0.1, "high": 2, "count": 4},                                 random axis
//      {"zip": [{"path": "a", "values": [..]}, {"path": "b", "values": [..]}]}  zipped
//    ],
//    "seeds": {"start": 0, "count": 5}  or  "seed_list": [0, 7],
//    "variants": {"split": "test", "start": 0, "count": 8},   optional: family variants
//    "seed": 0,                              seed of the random axes
//    "report": {"group_by": ["agent.type"], "baseline": {"agent.type": "random"},
//               "metrics": ["return_mean", "ctr", "normalized_score"]}}
//
// Output directory (the contract between `cohort sweep` and `cohort report`):
//   OUT/sweep.resolved.json   the validated sweep, defaults filled, "base" absolute
//   OUT/cells.jsonl           one line per cell in expansion order:
//       {"cell": "c000007", "index": 7,
//        "axes": {"agent.type": "greedy", "env.choice.temperature": 0.5},
//        "seed": 3, "variant": "test:2" (or null), "dir": "cells/c000007",
//        "labels": {"agent": "greedy-quality"}}    only for axes with labels
//   OUT/cells/<cell>/         a normal `cohort run` directory: scenario.resolved.json,
//                             metrics.jsonl, summary.json (present = cell done)
//   OUT/cells/<cell>/error.json   written when the cell failed:
//       {"exit_code": N, "message": "last lines of its stderr"}
//   OUT/results.csv, OUT/results.md, OUT/plots/*.svg   written by `cohort report`
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/schema.h"

namespace cohort {

struct SweepCell {
  std::string id;  // "c000007"
  int64_t index = 0;
  json axes = json::object();    // dotted path -> value, in axis order
  json labels = json::object();  // dotted path -> report label, for axes that give "labels"
  uint64_t seed = 0;
  std::optional<std::string> variant;  // "split:index"
  std::string dir;                     // relative to the sweep output directory
  json ToJson() const;
  static SweepCell FromJson(const json& j);
  // Arguments after `cohort run`: BASE --set path=value... --seed S [--variant V] --out DIR --quiet
  std::vector<std::string> RunArgs(const std::string& base, const json& fixed_sets, const std::string& out_dir) const;
};

struct Sweep {
  std::string file;
  json resolved;     // validated sweep document
  std::string base;  // absolute scenario path
  std::vector<SweepCell> cells;
};

const Schema& SweepSchema();
// Reads, validates (same error quality as scenarios) and expands a sweep file.
// Also validates the base scenario with each axis value applied, so a bad
// axis value is reported before anything runs.
Sweep LoadSweep(const std::string& path);
// Expansion only (tests): grid x zip x random axes x seeds x variants.
std::vector<SweepCell> ExpandCells(const json& resolved_sweep);

enum class CellState { kPending, kDone, kFailed };
CellState StateOf(const std::string& out_dir, const SweepCell& cell);

struct SweepOptions {
  std::string out_dir;
  int jobs = 0;  // 0: number of cores
  bool quiet = false;
  std::string cohort_binary;  // the executable that runs cells (`cohort run ...`)
};

struct SweepTotals {
  int64_t total = 0, skipped = 0, done = 0, failed = 0;
};

// Writes sweep.resolved.json and cells.jsonl, then runs every cell that has no
// summary.json in a pool of worker processes (one thread each). Failures are
// recorded in the cell's error.json and do not stop the others.
SweepTotals RunSweepLocal(const Sweep& sweep, const SweepOptions& options);

// Under mpirun (and when built with MPI), cells are handed to ranks
// dynamically; otherwise RunSweepLocal. Worker ranks return total = -1.
SweepTotals RunSweepDistributed(const Sweep& sweep, const SweepOptions& options);

// Pieces shared by the local pool and the MPI runner.
// Writes sweep.resolved.json and cells.jsonl; refuses a directory holding a different sweep.
void PrepareSweepDir(const Sweep& sweep, const std::string& out_dir);
// Starts `cohort run` for a cell as a child process (output to the cell's log.txt).
pid_t LaunchCell(const Sweep& sweep, const SweepCell& cell, const SweepOptions& options);
int ExitCodeOf(int wait_status);
// Writes error.json for a cell that did not produce summary.json.
void RecordCellResult(const std::string& out_dir, const SweepCell& cell, int exit_code);

class SweepProgress {
 public:
  explicit SweepProgress(bool quiet)
      : quiet_(quiet), tty_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()), last_(start_) {}
  void Update(const SweepTotals& totals, int running);

 private:
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point start_, last_;
  int64_t last_finished_ = -1;
};

// ---- report ----------------------------------------------------------------

struct ReportOptions {
  std::vector<std::string> group_by;  // axis paths, "seed" or "variant"; [] = every axis
  json baseline = json::object();     // {axis path: value} naming the baseline group
  std::vector<std::string> metrics;   // summary keys; [] = a default list
  int bootstrap_samples = 10000;
  uint64_t seed = 0;  // bootstrap resampling seed (results are reproducible)
};

// Reads OUT/cells.jsonl and every finished cell's summary.json (and
// metrics.jsonl for curves); writes OUT/results.csv, OUT/results.md and
// OUT/plots/*.svg atomically. Options given as empty fall back to the sweep
// file's "report" block.
void WriteReport(const std::string& out_dir, const ReportOptions& options);

// True when this process was started by mpirun (OpenMPI, MPICH or PMIx).
bool UnderMpirun();

}  // namespace cohort
