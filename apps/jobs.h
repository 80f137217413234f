// The jobs behind `cohort run`, `cohort sweep` and `cohort meta train`, as
// functions: the command line (apps/cohort.cc) parses its flags into these
// options and prints the outcome; the Python package (python/module.cc,
// cohort.run / cohort.sweep / cohort.meta_train) calls the same functions, so
// a run directory, its resumption and its refusals are the same from both.
//
// Signals: while a job runs, SIGINT, SIGTERM (SLURM, PBS, Kubernetes
// pre-emption) and SIGUSR1 (SLURM's warning before it) ask it to stop:
// training writes a checkpoint, a sweep stops its cells, and the job returns
// with `stopped` set (exit code 128 + the signal). The handlers are installed
// for the job's duration only and the previous ones (Python's) restored.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "apps/ope.h"
#include "apps/sweep.h"
#include "env/scenario.h"

namespace cohort {

// What a job did.
struct JobOutcome {
  std::string out;               // its directory
  std::string name;              // a run's scenario name (resolved "name")
  json summary;                  // a run's summary.json (null when stopped)
  json evaluation;               // cohort log --target: the off-policy result (ope.json)
  bool already_complete = false;  // the directory held this finished run: nothing ran
  bool stopped = false;          // stopped by a signal (checkpoint written)
  int signal = 0;                // that signal
  int64_t step = 0;              // a stopped training run's step
  SweepTotals sweep;             // a sweep's cells
  bool worker = false;           // an MPI worker rank of a sweep or meta run: rank 0 reports
  // The shell's convention: 0, or 128 + the signal that stopped the job.
  int ExitCode() const { return stopped ? 128 + signal : 0; }
  // "SIGINT", "SIGTERM" or "SIGUSR1".
  const char* SignalName() const;
};

// Throws InputError when this process is one of several MPI ranks: `command`
// runs one run, which every rank would run; `instead` says what to do.
void RefuseMpiRanks(const char* command, const char* instead);

// ---- cohort run ------------------------------------------------------------

struct RunJobOptions {
  std::string out;     // the run directory; empty: DefaultRunDirectory
  bool force = false;  // run again into a directory that holds a finished run
  bool quiet = false;  // no progress line on stderr
  // Keep no directory: a plain run writes none, a training run trains in a
  // temporary one that is removed afterwards (the Python package's out=None).
  bool keep_nothing = false;
};

// runs/<scenario file stem>[-<split>-<index>]-seed<N>.
std::string DefaultRunDirectory(const Scenario& s);

// `cohort run SCENARIO`: a plain run, or training when run.train_steps > 0.
// A directory holding the same finished run is not redone (its summary is
// returned, already_complete); one holding a different run is refused unless
// `force`. A training run whose directory holds a checkpoint of the same
// scenario continues from it.
JobOutcome RunJob(const Scenario& s, const RunJobOptions& options);

// `cohort run --resume DIR`: continues the training run in DIR from its
// scenario.resolved.json (and variant.json) and checkpoint.bin.
JobOutcome ResumeRunJob(const std::string& dir, bool quiet);

// ---- cohort sweep ----------------------------------------------------------

// Runs every cell of `sweep` not yet done (options.stop is set by the job).
// Cells are `cohort run` processes of options.cohort_binary. InputError
// before anything runs when --jobs cells at once would not fit in memory.
JobOutcome SweepJob(const Sweep& sweep, SweepOptions options);

// ---- cohort log ------------------------------------------------------------

struct LogJobOptions {
  std::string out;     // the log directory (required)
  bool csv = false;    // also log.csv
  bool force = false;  // replace a log already there
  bool quiet = false;
  // Set: once the log is written, evaluate this target on it as `cohort ope
  // DIR` would (its log_dir is ignored) and write DIR/ope.json and
  // DIR/summary.json (OpeSummary: the flat numbers `cohort report` reads).
  // A sweep's "ope" cells run this way.
  std::optional<OpeRequest> evaluate;
};

// `cohort log SCENARIO --out DIR [--target AGENT]` (apps/log.h): refuses a
// directory holding a log unless `force`; the summary is DIR/log.json's
// content, or with `evaluate` DIR/summary.json's.
JobOutcome LogJob(const Scenario& s, const LogJobOptions& options);

// ---- cohort meta train -----------------------------------------------------

struct MetaTrainJobOptions {
  std::string meta_file;           // with `sets`; empty with `resume`
  std::vector<std::string> sets;   // --set overrides (and run.threads)
  std::string out;                 // empty: runs/meta_<name>
  bool resume = false;             // continue `out` with its recorded file and overrides
  bool quiet = false;              // no per-generation line
};

// `cohort meta train`: writes OUT/meta.command.json (what --resume needs),
// then meta-trains (meta/meta.h), continuing from OUT's checkpoint when
// there is one. Under mpirun rank 0 writes and reports, the others are
// workers (outcome.worker).
JobOutcome MetaTrainJob(const MetaTrainJobOptions& options);

}  // namespace cohort
