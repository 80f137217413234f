// Experiment sweeps: many `cohort run`s from one file, locally or over MPI,
// resumable, and aggregated into tables and plots.
//
// The sweep file format (axes, seeds, variants, the report block) and the
// output directory are documented in docs/sweeps.md; the command line
// (--shard, --list-cells, locks, signals) in docs/cli.md. The output directory
// is the contract between `cohort sweep` and `cohort report`:
//   OUT/sweep.resolved.json   the validated sweep, defaults filled, "base" absolute
//   OUT/cells.jsonl           one line per cell in expansion order (SweepCell::ToJson)
//   OUT/cells/<cell>/         a normal `cohort run` directory (summary.json present = done;
//                             error.json = failed, with the exit code and its last log lines)
//   OUT/locks/                one lock file per shard of a running sweep (SweepLock)
//   OUT/results.csv, OUT/results.md, OUT/plots/*.svg   written by `cohort report`
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/schema.h"
#include "env/memory.h"

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
  // The cell's command line after `cohort`: run BASE --set path=value...
  // --seed S [--variant V] --threads 1 --out DIR --quiet. With `ope` (the
  // resolved sweep's "ope" block, for "job": "ope"), the cell is `cohort log`
  // with the same settings, --force (a retried cell starts over) and
  // --target/--estimators/--bootstrap from the block.
  std::vector<std::string> RunArgs(const std::string& base, const json& fixed_sets, const std::string& out_dir,
                                   const json& ope = nullptr) const;
};

// One setting of a cell: a dotted scenario path, its value and its report
// label (a string, or null).
struct SweepSetting {
  std::string path;
  json value;
  json label;
};

// The cells of a sweep in expansion order (grid x zip x random axes, then
// seeds, then variants, the last fastest), each computed from its index when
// asked for: a sweep of a million cells holds its axes, never a million
// cells. Iterating gives SweepCells by value.
class SweepCells {
 public:
  SweepCells() = default;
  // From a validated sweep document (the random axes are drawn here). Throws
  // InputError naming `file` when the sweep has more than kMaxSweepCells cells.
  SweepCells(const json& resolved_sweep, const std::string& file);
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  SweepCell operator[](int64_t index) const;

  class Iterator {
   public:
    Iterator(const SweepCells* cells, int64_t index) : cells_(cells), index_(index) {}
    SweepCell operator*() const { return (*cells_)[index_]; }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return index_ != o.index_; }

   private:
    const SweepCells* cells_;
    int64_t index_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size_}; }

  // The positions of each axis (a position: the settings it makes).
  const std::vector<std::vector<std::vector<SweepSetting>>>& axes() const { return dims_; }
  // The paths the axes set, in axis order.
  std::vector<std::string> AxisPaths() const;
  // Whether some cell has `value` for a report key (an axis path, "seed" or
  // "variant"; apps/report.cc KeyValue), and up to `limit` of the values the
  // cells have for it, without visiting every cell.
  bool HasKeyValue(const std::string& key, const json& value) const;
  std::vector<json> KeyValues(const std::string& key, size_t limit) const;

 private:
  std::vector<std::vector<std::vector<SweepSetting>>> dims_;
  std::vector<uint64_t> seed_list_;  // explicit seeds; empty: seed_start_ + 0..seed_count_-1
  uint64_t seed_start_ = 0;
  int64_t seed_count_ = 1;
  std::string split_;  // "": no variants
  int64_t variant_start_ = 0, variant_count_ = 1;
  int64_t size_ = 0;
  int64_t seeds() const { return seed_list_.empty() ? seed_count_ : int64_t(seed_list_.size()); }
  uint64_t Seed(int64_t i) const { return seed_list_.empty() ? seed_start_ + uint64_t(i) : seed_list_[size_t(i)]; }
};

// The most cells a sweep may have: cells.jsonl, the directories and the
// report all grow with the count (a cell is a process and a run directory).
inline constexpr int64_t kMaxSweepCells = 10'000'000;

struct Sweep {
  std::string file;
  json resolved;     // validated sweep document
  // What each cell runs: `cohort run`, or for "job": "ope" `cohort log` with
  // an evaluation (the "ope" block; null otherwise).
  json OpeBlock() const { return resolved.value("job", "run") == "ope" ? resolved["ope"] : json(nullptr); }
  std::vector<std::string> CellArgs(const SweepCell& cell, const std::string& out_dir) const {
    return cell.RunArgs(base, resolved["set"], out_dir, OpeBlock());
  }
  std::string base;  // absolute scenario path
  SweepCells cells;
  // The memory estimate of the largest cell (agents/memory.h): the base with
  // the fixed settings and, on each axis, the position that needs the most.
  MemoryEstimate largest_cell;
  std::string largest_cell_settings;  // those positions, as "--set" words
};

const Schema& SweepSchema();
// Reads, validates (same error quality as scenarios) and expands a sweep file.
// Also validates the base scenario with each axis value applied, and the
// "report" block against the axes, so a bad axis value or report key is
// reported before anything runs. `overrides` (the command line's --set) are
// added to the file's "set" (the command line wins) and recorded with it.
Sweep LoadSweep(const std::string& path, const std::vector<std::string>& overrides = {});

// The work a sweep asks for, from a calibration of `calibrate_seconds`: the
// first cell's agent acting on a few episodes gives steps per episode and
// user-steps per second on one core; every cell's rollouts (x3 with reference
// policies) and training steps (train_steps x num_envs) are counted at that
// length and rate ("job": "ope" cells x4: the log, two replays and a rollout).
// Training costs more per step than acting, so training
// sweeps take longer than `seconds_per_core` says. Zeros when not calibrated.
struct SweepWork {
  double user_steps = 0.0;
  double seconds_per_core = 0.0;
};
SweepWork EstimateSweepWork(const Sweep& sweep, double calibrate_seconds);
// Expansion only (tests): grid x zip x random axes x seeds x variants, every
// cell built (SweepCells holds them without building them).
std::vector<SweepCell> ExpandCells(const json& resolved_sweep);

enum class CellState { kPending, kDone, kFailed };
CellState StateOf(const std::string& out_dir, const SweepCell& cell);

struct SweepOptions {
  std::string out_dir;
  int jobs = 0;  // 0: number of cores
  bool quiet = false;
  std::string cohort_binary;  // the executable that runs cells (`cohort run ...`)
  // Job arrays: this process runs only cells with index % shards == shard.
  int64_t shard = 0, shards = 1;
  // Set by a signal handler: running cells get SIGTERM (training cells
  // checkpoint), nothing new starts, and the sweep returns.
  const std::atomic<bool>* stop = nullptr;

  bool InShard(const SweepCell& cell) const { return cell.index % shards == shard; }
  bool Stopping() const { return stop != nullptr && stop->load(); }
};

struct SweepTotals {
  int64_t total = 0, skipped = 0, done = 0, failed = 0;
  int64_t interrupted = 0;  // stopped by options.stop: neither done nor failed; a rerun resumes them
};

// One sweep process per directory and shard: OUT/locks/shard-I-of-N.lock
// holds an flock and the holder's host and pid. A held lock is refused
// (InputError naming the holder); a lock file left by a dead process is taken
// over, and said so on stderr unless `quiet`. Released when destroyed.
class SweepLock {
 public:
  SweepLock(const std::string& out_dir, int64_t shard, int64_t shards, bool quiet);
  ~SweepLock();
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  int fd_ = -1;
  std::string path_;
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
  // The line Update prints (tests): `elapsed` seconds since the start.
  static std::string Line(const SweepTotals& totals, int running, double elapsed);

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
// file's "report" block. Returns results.csv's rows as JSON objects: "cell",
// "status" (done, failed, pending), each axis (its label when the axis has
// labels; null when a cell has none), "seed", "variant" (null: the base
// scenario) and every metric (null where a cell has no value).
json WriteReport(const std::string& out_dir, const ReportOptions& options);

// The "report" block of a sweep against its cells before anything runs:
// group_by names axes (or seed, variant), the baseline names a grouped key and
// a value some cell has, metrics are summary keys. InputError naming `file`.
void CheckReportBlock(const json& report, const SweepCells& cells, const std::string& file);

// True when this process was started by mpirun (OpenMPI, MPICH or PMIx).
bool UnderMpirun();

}  // namespace cohort
