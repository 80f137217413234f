// The jobs of `cohort run`, `cohort sweep` and `cohort meta train` (apps/jobs.h).
#include "apps/jobs.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "agents/memory.h"
#include "agents/registry.h"
#include "agents/runner.h"
#include "agents/trainer.h"
#include "apps/log.h"
#include "apps/meta_mpi.h"
#include "apps/progress.h"
#include "core/io.h"
#include "core/json_parse.h"
#include "meta/meta.h"

namespace fs = std::filesystem;

namespace cohort {
namespace {

// ---- signals: the handler only sets a flag; the loops poll it.
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
extern "C" void OnStopSignal(int sig) {
  g_signal.store(sig);
  g_stop.store(true);
}

// Installs the handlers for one job and restores the previous ones after it.
class StopSignals {
 public:
  StopSignals() {
    g_stop.store(false);
    g_signal.store(0);
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocking wait returns EINTR and sees the flag
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &previous_[i]);
  }
  ~StopSignals() {
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &previous_[i], nullptr);
  }
  static bool Stopped() { return g_stop.load(); }
  // Marks `o` stopped by the signal received.
  static void Mark(JobOutcome& o) {
    o.stopped = true;
    o.signal = g_signal.load() ? g_signal.load() : SIGINT;
  }

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGUSR1};
  std::array<struct sigaction, 3> previous_{};
};

json ReadJsonOrNull(const fs::path& p) {
  try {
    return ReadJsonFile(p.string());
  } catch (const InputError&) {
    return json();
  }
}

// A variant's id seeds its random streams, and scenario.resolved.json holds
// only its parameter values: DIR/variant.json keeps the rest for --resume.
constexpr const char* kVariantFile = "variant.json";

void RecordVariant(const std::string& out, const Scenario& s) {
  if (s.variant_name.empty()) return;
  fs::create_directories(out);
  const json doc = {{"variant", s.variant_name}, {"id", s.variant}, {"values", s.variant_values}};
  WriteFileAtomic((fs::path(out) / kVariantFile).string(), doc.dump(2) + "\n");
}

void RestoreVariant(const std::string& dir, Scenario& s) {
  const fs::path p = fs::path(dir) / kVariantFile;
  if (!fs::exists(p)) return;
  const json doc = ReadJsonFile(p.string());
  if (!doc.is_object() || !doc["variant"].is_string() || !doc["id"].is_number_unsigned() || !doc["values"].is_object())
    throw InputError(p.string(), "", "expected {\"variant\": \"split:index\", \"id\": N, \"values\": {...}}");
  s.variant_name = doc["variant"].get<std::string>();
  s.variant = doc["id"].get<uint64_t>();
  s.variant_values = doc["values"];
}

// The files of a run directory (agents/runner.h, agents/trainer.h, the
// variant record and a sweep cell's error.json): a reopened run directory
// loses the temporaries of these that a killed process left (core/io.h).
const std::vector<std::string> kRunFiles = {"scenario.resolved.json", kVariantFile,   "checkpoint.bin",
                                            "metrics.jsonl",          "summary.json", "error.json"};

void ClearRunDirectory(const std::string& dir, bool quiet) {
  const std::vector<std::string> removed = RemoveStaleTemporaries(dir, DirectoryUse::kOwned, kRunFiles);
  if (!removed.empty() && !quiet)
    std::fprintf(stderr, "%s: removed %zu temporary file(s) left by an interrupted run (%s)\n", dir.c_str(),
                 removed.size(), Join(removed).c_str());
}

// A training run stopped before its first checkpoint has nothing to resume
// from: it starts over, and says so.
void NoCheckpointYet(const std::string& dir) {
  std::fprintf(stderr,
               "%s: no checkpoint.bin yet (the run was stopped before its first checkpoint): starting from "
               "step 0\n",
               dir.c_str());
}

// Training (run.train_steps > 0): checkpoints, signals, resumption.
JobOutcome Train(const Scenario& s, const std::string& out, bool resume, bool quiet) {
  StopSignals signals;
  RecordVariant(out, s);
  // First, before the environment and agent are built (which can take a
  // while): --resume needs it to continue, or to start over, a run stopped
  // at any later moment. After variant.json, which it needs too.
  fs::create_directories(out);
  WriteFileAtomic((fs::path(out) / "scenario.resolved.json").string(), s.resolved.dump(2) + "\n");
  Progress progress(s.resolved["name"].get<std::string>() + " training", !quiet, "steps");
  TrainOptions options;
  options.out_dir = out;
  options.resume = resume;
  options.stop = &g_stop;
  options.progress = [&](int64_t user_steps, int64_t done, int64_t total) { progress.Update(user_steps, done, total); };
  // Each evaluation's normalized score and interval, on a line of its own.
  const std::string label = s.resolved["name"].get<std::string>() + " training";
  options.on_eval = [&](int64_t step, double score, double ci95) {
    progress.Message(FormatEvalLine(label, step, s.run.train_steps, score, ci95));
  };
  const TrainOutput r = TrainScenario(s, options);
  JobOutcome o;
  o.out = out;
  o.name = s.resolved["name"].get<std::string>();
  if (r.interrupted) {
    StopSignals::Mark(o);
    o.step = r.step;
    return o;
  }
  o.summary = r.summary;
  return o;
}

// A temporary directory for a training run whose caller keeps nothing.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = (fs::path(tmp != nullptr && *tmp ? tmp : "/tmp") / "cohort-run-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("cannot create a temporary directory under " + fs::path(pattern).parent_path().string());
    path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Cells run --jobs at a time on this machine: that many of the largest cell
// must fit (LoadSweep has checked one). Under mpirun each rank runs one cell
// at a time, on its own node.
void CheckSweepJobsMemory(const Sweep& sweep, const SweepOptions& options) {
  if (UnderMpirun()) return;
  const int64_t in_shard = sweep.cells.size() / options.shards + (options.shard < sweep.cells.size() % options.shards);
  const int jobs = options.jobs > 0 ? options.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t at_once = std::min<int64_t>(jobs, in_shard);
  const double cell = sweep.largest_cell.bytes();
  const AvailableMemory have = FindAvailableMemory();
  if (at_once <= 1 || cell <= 0 || have.bytes < 0 || double(at_once) * cell <= have.bytes) return;
  const int64_t fit = std::max<int64_t>(1, int64_t(have.bytes / cell));
  throw InputError("--jobs", "",
                   std::to_string(at_once) + " cells at once need about " + FormatBytes(double(at_once) * cell) +
                       " of memory (the largest cell about " + FormatBytes(cell) + "), more than the " +
                       FormatBytes(have.bytes) + " available (" + have.source + "); use --jobs " + std::to_string(fit) +
                       " or fewer");
}

// DIR/meta.command.json: what `cohort meta train --resume DIR` needs (the
// meta file and every override), so a continuation repeats nothing.
constexpr const char* kMetaCommandFile = "meta.command.json";

// The files of a meta run directory (meta/meta.h): a reopened one loses the
// temporaries of these that a killed process left (core/io.h).
void ClearMetaDirectory(const std::string& dir, bool quiet) {
  const std::vector<std::string> own = {kMetaCommandFile, "meta.resolved.json", "progress.jsonl",
                                        "checkpoint.bin", "rule.json",          "best_rule.json"};
  const std::vector<std::string> removed = RemoveStaleTemporaries(dir, DirectoryUse::kOwned, own);
  if (!removed.empty() && !quiet)
    std::fprintf(stderr, "%s: removed %zu temporary file(s) left by an interrupted run (%s)\n", dir.c_str(),
                 removed.size(), Join(removed).c_str());
}

}  // namespace

const char* JobOutcome::SignalName() const {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "SIGINT";
  }
}

// `mpirun -np N cohort run` would run the same run N times into one directory.
void RefuseMpiRanks(const char* command, const char* instead) {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    const char* size = std::getenv(v);
    if (size != nullptr && std::atoi(size) > 1)
      throw InputError(
          command, "",
          std::string("runs one run; under mpirun with ") + size + " ranks every rank would run it. " + instead);
  }
}

std::string DefaultRunDirectory(const Scenario& s) {
  std::string stem = fs::path(s.file).stem().string();
  if (!s.variant_name.empty()) {
    std::string v = s.variant_name;
    std::replace(v.begin(), v.end(), ':', '-');
    stem += "-" + v;
  }
  return (fs::path("runs") / (stem + "-seed" + std::to_string(s.seed))).string();
}

JobOutcome RunJob(const Scenario& s, const RunJobOptions& options) {
  if (options.keep_nothing) {
    if (s.run.train_steps <= 0) {
      JobOutcome o;
      o.name = s.resolved["name"].get<std::string>();
      o.summary = RunScenario(s, "", nullptr).summary;
      return o;
    }
    const TemporaryDirectory dir;
    JobOutcome o = Train(s, dir.path(), /*resume=*/false, options.quiet);
    o.out.clear();
    return o;
  }
  const std::string out = options.out.empty() ? DefaultRunDirectory(s) : options.out;
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    throw InputError("--out", "", out + " exists and is not a directory");
  const fs::path summary = fs::path(out) / "summary.json";
  const json previous = ReadJsonOrNull(fs::path(out) / "scenario.resolved.json");
  const bool same = !previous.is_discarded() && previous == s.resolved;
  if (!options.force && fs::exists(summary)) {
    // A finished run of the same scenario is not redone; a different one is
    // never overwritten silently.
    if (same) {
      ClearRunDirectory(out, options.quiet);
      std::fprintf(stderr, "%s is already complete (summary.json exists); use --force to run again\n", out.c_str());
      JobOutcome o;
      o.out = out;
      o.name = s.resolved["name"].get<std::string>();
      o.already_complete = true;
      o.summary = ReadJsonFile(summary.string());
      return o;
    }
    throw InputError(out, "", "holds a finished run of a different scenario; choose another --out or pass --force");
  }
  if (fs::is_directory(out, ec)) ClearRunDirectory(out, options.quiet);
  if (s.run.train_steps > 0) {
    // The same command again after an interruption continues from the
    // checkpoint (what a sweep's rerun relies on); --force starts over.
    const bool checkpoint = fs::exists(fs::path(out) / "checkpoint.bin");
    const bool resume = !options.force && same && checkpoint;
    if (resume) std::fprintf(stderr, "%s: resuming from its checkpoint.bin\n", out.c_str());
    if (!options.force && same && !checkpoint) NoCheckpointYet(out);
    return Train(s, out, resume, options.quiet);
  }
  Progress progress(s.resolved["name"].get<std::string>(), !options.quiet);
  JobOutcome o;
  o.out = out;
  o.name = s.resolved["name"].get<std::string>();
  o.summary = RunScenario(s, out, [&](const RunProgress& p) {
                progress.Update(p.steps, p.done, p.total, p.reference_done, p.reference_total);
              }).summary;
  return o;
}

JobOutcome ResumeRunJob(const std::string& dir, bool quiet) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    throw InputError("--resume", "", dir + " does not exist (expected the directory of a training run)");
  if (!fs::is_directory(dir, ec))
    throw InputError("--resume", "", dir + " is not a directory (expected the directory of a training run)");
  ClearRunDirectory(dir, quiet);
  const std::string file = (fs::path(dir) / "scenario.resolved.json").string();
  // Train() writes scenario.resolved.json before anything else; a run
  // stopped before even that did no work, and its directory cannot say
  // which scenario it was.
  if (!fs::exists(file, ec))
    throw InputError(dir, "",
                     "has no scenario.resolved.json: the run was stopped before it started, so there is nothing to "
                     "resume (no training was done). Start it again with its original command, `cohort run "
                     "SCENARIO [options] --out " +
                         dir + "`");
  Scenario s = ParseScenario(ReadJsonFile(file), file, AgentRegistry());
  if (s.run.train_steps <= 0) throw InputError(file, "/run/train_steps", "only training runs can be resumed");
  RestoreVariant(dir, s);
  if (fs::exists(fs::path(dir) / "summary.json")) {
    std::fprintf(stderr, "%s is already complete (summary.json exists)\n", dir.c_str());
    JobOutcome o;
    o.out = dir;
    o.already_complete = true;
    o.summary = ReadJsonFile((fs::path(dir) / "summary.json").string());
    return o;
  }
  CheckRunMemory(s);
  const bool checkpoint = fs::exists(fs::path(dir) / "checkpoint.bin");
  if (!checkpoint) NoCheckpointYet(dir);
  return Train(s, dir, checkpoint, quiet);
}

JobOutcome SweepJob(const Sweep& sweep, SweepOptions options) {
  CheckSweepJobsMemory(sweep, options);
  StopSignals signals;
  options.stop = &g_stop;
  JobOutcome o;
  o.out = options.out_dir;
  o.sweep = RunSweepDistributed(sweep, options);
  o.worker = o.sweep.total < 0;  // an MPI worker rank: rank 0 reports
  if (StopSignals::Stopped()) StopSignals::Mark(o);
  return o;
}

JobOutcome LogJob(const Scenario& s, const LogJobOptions& options) {
  if (options.out.empty()) throw InputError("cohort log", "--out", "required: the directory of the log");
  std::error_code ec;
  if (fs::exists(options.out, ec) && !fs::is_directory(options.out, ec))
    throw InputError("--out", "", options.out + " exists and is not a directory");
  const fs::path file = fs::path(options.out) / "log.h5";
  if (fs::exists(file) && !options.force)
    throw InputError(options.out, "", "holds a log (log.h5); choose another --out or pass --force to replace it");
  // A log replaced (or retried) is not done until its evaluation is written again.
  for (const char* stale : {"summary.json", "ope.json"}) fs::remove(fs::path(options.out) / stale, ec);
  StopSignals signals;
  Progress progress(s.resolved["name"].get<std::string>() + " log", !options.quiet);
  LogOptions o;
  o.out_dir = options.out;
  o.csv = options.csv;
  o.stop = &g_stop;
  o.progress = [&](int64_t steps, int64_t done, int64_t total) { progress.Update(steps, done, total); };
  const LogOutcome r = LogScenario(s, o);
  JobOutcome outcome;
  outcome.out = options.out;
  outcome.name = s.resolved["name"].get<std::string>();
  if (r.stopped) {
    StopSignals::Mark(outcome);
    return outcome;
  }
  outcome.summary = r.summary;
  if (r.deterministic && !options.quiet)
    std::fprintf(stderr,
                 "warning: every logged slate had probability 1 (the policy is deterministic): importance-weighted "
                 "estimators are undefined for any other policy. Log it wrapped: {\"type\": \"logging\", "
                 "\"policy\": {...}, \"epsilon\": 0.1}\n");
  if (options.evaluate) {
    OpeRequest q = *options.evaluate;
    q.log_dir = options.out;
    outcome.evaluation = EvaluateOffPolicy(q);
    WriteFileAtomic((fs::path(options.out) / "ope.json").string(), outcome.evaluation.dump(2) + "\n");
    outcome.summary = OpeSummary(outcome.evaluation, r.summary);
    // Written last: its presence marks the cell done (apps/sweep.h).
    WriteFileAtomic((fs::path(options.out) / "summary.json").string(), outcome.summary.dump(2) + "\n");
  }
  return outcome;
}

JobOutcome MetaTrainJob(const MetaTrainJobOptions& options) {
  std::string meta_file = options.meta_file;
  std::vector<std::string> sets = options.sets;
  std::string out = options.out;
  if (options.resume) {
    const std::string file = (fs::path(out) / kMetaCommandFile).string();
    const json cmd = ReadJsonFile(file);
    if (!cmd.is_object() || !cmd["meta_file"].is_string() || !cmd["overrides"].is_array())
      throw InputError(file, "", "expected {\"meta_file\": PATH, \"overrides\": [...]}");
    meta_file = cmd["meta_file"].get<std::string>();
    // The path as it was given (it is recorded in the rule files' metadata),
    // made absolute only when resuming from another working directory.
    if (cmd.contains("cwd") && cmd["cwd"].is_string() && fs::path(meta_file).is_relative() &&
        fs::path(cmd["cwd"].get<std::string>()) != fs::current_path())
      meta_file = (fs::path(cmd["cwd"].get<std::string>()) / meta_file).lexically_normal().string();
    sets.clear();
    for (const json& v : cmd["overrides"]) {
      if (!v.is_string()) throw InputError(file, "/overrides", "expected strings");
      sets.push_back(v.get<std::string>());
    }
  }
  const MetaSpec spec = LoadMetaSpec(meta_file, sets);
  if (out.empty()) out = "runs/meta_" + spec.resolved["name"].get<std::string>();
  StopSignals signals;
  const auto start = std::chrono::steady_clock::now();
  MetaTrainOptions o;
  o.out_dir = out;
  o.stop = &g_stop;
  Distribution dist;
  const bool mpi = MetaMpiBegin(dist);
  if (mpi) o.distribution = &dist;
  // Rank 0 alone writes the directory (meta/meta.h), so it alone clears it.
  if (dist.rank == 0) ClearMetaDirectory(out, options.quiet);
  if (dist.rank == 0 && !options.resume) {
    fs::create_directories(out);
    const fs::path cmd = fs::path(out) / kMetaCommandFile;
    const json doc = {{"meta_file", meta_file}, {"cwd", fs::current_path().string()}, {"overrides", sets}};
    if (!fs::exists(cmd) || ReadJsonOrNull(cmd) != doc) WriteFileAtomic(cmd.string(), doc.dump(2) + "\n");
  }
  int64_t first = -1;
  o.progress = [&](const MetaProgress& p) {
    if (options.quiet || dist.rank != 0) return;
    if (first < 0) first = p.generation - 1;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per = elapsed / double(std::max<int64_t>(1, p.generation - first));
    std::fprintf(stderr, "[meta] generation %lld/%lld  fitness mean %.4f best %.4f", (long long)p.generation,
                 (long long)p.generations, p.fitness_mean, p.fitness_best);
    if (p.has_validation) std::fprintf(stderr, "  validation %.4f", p.validation);
    std::fprintf(stderr, "  %.1fs/generation  ETA %.0fs\n", per, per * double(p.generations - p.generation));
  };
  const bool done = MetaTrain(spec, o);
  if (mpi) MetaMpiEnd();
  JobOutcome outcome;
  outcome.out = out;
  outcome.worker = dist.rank != 0;
  if (!done) StopSignals::Mark(outcome);
  return outcome;
}

}  // namespace cohort
