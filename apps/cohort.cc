// The `cohort` command. Each subcommand is one entry of kCommands (bottom of
// this file): its name, usage, the options it takes with their help text and
// defaults, examples, and the function that runs it. apps/cli.h parses the
// command line against that entry, so a subcommand never sees an option it
// does not take.
#include <dlfcn.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "agents/learnable.h"
#include "agents/memory.h"
#ifdef COHORT_WITH_VIZ
#include "viz/app.h"
#endif
#include "agents/registry.h"
#include "agents/runner.h"
#include "agents/trainer.h"
#include "apps/bench.h"
#include "apps/cli.h"
#include "apps/jobs.h"
#include "apps/offline.h"
#include "apps/ope.h"
#include "apps/meta_mpi.h"
#include "apps/progress.h"
#include "apps/scenario_files.h"
#include "apps/sweep.h"
#include "cohort_version.h"
#include "core/json_parse.h"
#include "core/io.h"
#include "env/scenario.h"
#include "env/variants.h"
#include "meta/meta.h"

namespace fs = std::filesystem;
using namespace cohort;
using cli::Args;

namespace {
Scenario Load(const Args& a) {
  return LoadNamedScenario(a.positional[0], a.sets, a.seed >= 0 ? std::optional<int64_t>(a.seed) : std::nullopt,
                           a.threads > 0 ? std::optional<int>(a.threads) : std::nullopt,
                           a.Given("--variant") ? std::optional<std::string>(a.variant) : std::nullopt);
}

void PrintTable(const json& summary) {
  size_t width = 0;
  for (auto it = summary.begin(); it != summary.end(); ++it) width = std::max(width, it.key().size());
  for (auto it = summary.begin(); it != summary.end(); ++it) {
    std::string v;
    if (it->is_number_float()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", it->get<double>());
      v = buf;
    } else if (it->is_string()) {
      v = it->get<std::string>();
    } else {
      v = it->dump();
    }
    std::printf("  %-*s  %s\n", int(width), it.key().c_str(), v.c_str());
  }
}

json ReadJsonOrNull(const fs::path& p) {
  try {
    return ReadJsonFile(p.string());
  } catch (const InputError&) {
    return json();
  }
}

// Prints a finished run's table, or how to continue a stopped one; returns the exit code.
int ReportRun(const JobOutcome& o) {
  if (o.stopped) {
    std::fprintf(stderr, "\n%s: stopped at step %lld; checkpoint written. Continue with: cohort run --resume %s\n",
                 o.SignalName(), (long long)o.step, o.out.c_str());
    return o.ExitCode();
  }
  if (o.already_complete) return 0;
  std::printf("%s  (%s)\n", o.name.c_str(), o.out.c_str());
  PrintTable(o.summary);
  return 0;
}

int CmdRun(const Args& a) {
  RefuseMpiRanks("cohort run", "Spread runs over ranks with `mpirun cohort sweep SWEEP.json`.");
  if (a.Given("--resume")) {
    for (const char* f : {"--set", "--seed", "--variant", "--out", "--threads", "--force"})
      if (a.Given(f))
        throw InputError(
            "--resume", "",
            std::string("takes the run directory only, not ") + f + ": the scenario is its scenario.resolved.json");
    if (!a.positional.empty())
      throw InputError("--resume", "", "takes the run directory only, not a SCENARIO argument");
    return ReportRun(ResumeRunJob(a.resume, a.quiet));
  }
  if (a.positional.size() != 1) throw InputError("cohort run", "", "expected SCENARIO (or --resume DIR)");
  const Scenario s = Load(a);
  RunJobOptions options;
  options.out = a.out;
  options.force = a.force;
  options.quiet = a.quiet;
  return ReportRun(RunJob(s, options));
}

// --target, --estimators and --bootstrap as an OpeRequest (cohort ope, and
// cohort log's evaluation).
OpeRequest OpeRequestOf(const Args& a) {
  OpeRequest q;
  q.target = a.target;
  for (size_t b = 0; a.Given("--estimators") && b <= a.estimators.size();) {
    const size_t e = std::min(a.estimators.find(',', b), a.estimators.size());
    if (e > b) q.estimators.push_back(a.estimators.substr(b, e - b));
    b = e + 1;
  }
  q.options.bootstrap_samples = a.bootstrap;
  return q;
}

int CmdLog(const Args& a) {
  RefuseMpiRanks("cohort log", "Log several scenarios or seeds from a sweep's cells instead.");
  for (const char* flag : {"--estimators", "--bootstrap"})
    if (a.Given(flag) && !a.Given("--target"))
      throw InputError("cohort log", flag, "evaluates a target on the log: give --target AGENT too");
  const Scenario s = Load(a);
  LogJobOptions options;
  options.out = a.out;
  options.csv = a.csv;
  options.force = a.force;
  options.quiet = a.quiet;
  if (a.Given("--target")) options.evaluate = OpeRequestOf(a);
  const JobOutcome o = LogJob(s, options);
  if (o.stopped) {
    std::fprintf(stderr, "\n%s: stopped; no log was written (rerun the same command)\n", o.SignalName());
    return o.ExitCode();
  }
  std::printf("%s  (%s/log.h5)\n", o.name.c_str(), o.out.c_str());
  if (options.evaluate) {
    std::fputs(OpeTable(o.evaluation).c_str(), stdout);
  } else {
    PrintTable(o.summary);
  }
  return 0;
}

int CmdOpe(const Args& a) {
  if (!a.Given("--target"))
    throw InputError("cohort ope", "--target", "required: the policy to evaluate (an agent JSON, a type, a scenario, a training run)");
  OpeRequest q = OpeRequestOf(a);
  if (a.seed >= 0) q.options.seed = uint64_t(a.seed);
  q.terms = a.terms;
  json result;
  if (a.positional.size() == 1) {
    q.log_dir = a.positional[0];
    result = EvaluateOffPolicy(q);
  } else {
    result = EvaluateOverLogs(a.positional, q);
  }
  if (!a.out.empty()) WriteFileAtomic(a.out, result.dump(2) + "\n");
  std::fputs(OpeTable(result).c_str(), stdout);
  return 0;
}

int CmdTrainOffline(const Args& a) {
  if (a.out.empty())
    throw InputError("cohort train-offline", "--out",
                     "required: the model file (click_model) or the directory (other agents) to write");
  if (a.agents.size() > 1) throw InputError("cohort train-offline", "--agent", "given more than once");
  OfflineRequest q;
  q.log_dir = a.positional[0];
  if (!a.agents.empty()) q.agent = a.agents[0];
  q.out = a.out;
  q.sequence = a.sequence;
  const json r = TrainOfflineAgent(q);
  if (r["agent"]["type"] == "click_model") {
    std::printf("click model fitted on %lld logged positions of %s in %d Newton iterations (log loss %.5f): %s\n",
                (long long)r["fit"]["rows"].get<int64_t>(), q.log_dir.c_str(), r["fit"]["iterations"].get<int>(),
                r["fit"]["log_loss"].get<double>(), a.out.c_str());
    std::printf("act by it: --set 'agent={\"type\": \"click_model\", \"model\": \"%s\"}'\n", a.out.c_str());
  } else if (r["fit"].contains("click_nll")) {
    const json& f = r["fit"];
    std::printf(
        "%s pretrained as a click model: %lld logged steps, %lld gradient steps; click cross-entropy %.4f "
        "(the log's click-position frequencies: %.4f), accuracy %.3f, watch-time mse %.4f\n",
        r["agent"]["type"].get<std::string>().c_str(), (long long)f.value("steps", 0.0),
        (long long)f.value("updates", 0.0), f.value("click_nll", std::nan("")),
        f.value("click_nll_marginal", std::nan("")), f.value("click_accuracy", std::nan("")),
        f.value("watch_time_mse", std::nan("")));
    std::printf("checkpoint: %s (fine-tune online from it: --set agent.init=%s)\n", a.out.c_str(), a.out.c_str());
  } else {
    std::printf("%s: %lld logged steps, %lld gradient steps (mean importance weight %.3f, %.1f%% clipped)\n",
                r["agent"]["type"].get<std::string>().c_str(), (long long)r["fit"].value("steps", 0.0),
                (long long)r["fit"].value("updates", 0.0), r["fit"].value("mean_weight", std::nan("")),
                100.0 * r["fit"].value("clipped_fraction", std::nan("")));
    std::printf("checkpoint: %s (cohort viz --agent %s)\n", a.out.c_str(), a.out.c_str());
  }
  std::printf("%s", OfflineReport(r).c_str());
  return 0;
}

// A sweep file (it names a "base" scenario): validated and expanded, nothing runs.
bool IsSweepFile(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;  // ReadJsonFile reports it
  const json j = ReadJsonOrNull(path);
  return !j.is_discarded() && j.is_object() && j.contains("base") && !j.contains("env");
}

std::string Minutes(double seconds) {
  char buf[64];
  if (seconds < 90)
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  else if (seconds < 5400)
    std::snprintf(buf, sizeof buf, "%.1f min", seconds / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  return buf;
}

int CmdValidate(const Args& a) {
  if (IsSweepFile(a.positional[0])) {
    for (const char* f : {"--seed", "--variant", "--threads"})
      if (a.Given(f))
        throw InputError(f, "",
                         "applies to a scenario; a sweep sets seeds and variants itself (use --set for the base)");
    const Sweep sweep = LoadSweep(a.positional[0], a.sets);
    const SweepWork work = EstimateSweepWork(sweep, a.quiet ? 0.0 : 1.0);
    std::printf("%s: ok (sweep over %s, %lld cells", sweep.file.c_str(), sweep.base.c_str(),
                (long long)sweep.cells.size());
    // --quiet skips the calibration run, which the estimate comes from.
    if (work.user_steps > 0) std::printf("; about %s user-steps", Progress::Human(double(work.user_steps)).c_str());
    if (work.seconds_per_core > 0)
      std::printf(", about %s on one core of this machine (%s with %u cores)", Minutes(work.seconds_per_core).c_str(),
                  Minutes(work.seconds_per_core / std::max(1u, std::thread::hardware_concurrency())).c_str(),
                  std::max(1u, std::thread::hardware_concurrency()));
    std::printf(")\n");
    return 0;
  }
  const Scenario s = Load(a);
  VariantFamily family(s, AgentRegistry());  // also checks the splits can be drawn
  std::printf("%s: ok (scenario \"%s\", agent \"%s\", %d topics, %d candidates, slate %d", s.file.c_str(),
              s.resolved["name"].get<std::string>().c_str(), s.agent["type"].get<std::string>().c_str(),
              s.env.num_topics, s.env.num_candidates, s.env.slate_size);
  if (!family.empty()) {
    std::printf("; family splits:");
    for (const auto& split : family.splits())
      std::printf(" %s=%lld", split.c_str(), (long long)family.SplitSize(split));
  }
  std::printf(")\n");
  return 0;
}

// `cohort list [NAME]`: every registry and schema, or only the parts whose
// name, key or dotted path contains NAME.
int CmdList(const Args& a) {
  const std::string filter = a.positional.empty() ? "" : a.positional[0];
  struct Part {
    std::string title;
    std::string body;
  };
  const std::vector<Part> parts = {
      {"agents (scenario key \"agent\")", DescribeRegistry(AgentRegistry(), 1)},
      {"choice models (scenario key \"env.choice\")", DescribeRegistry(ChoiceModelRegistry(), 1)},
      {"environment (scenario key \"env\")", DescribeSchema(EnvSchema(), 1)},
      {"run settings (scenario key \"run\")", DescribeSchema(RunSchema(), 1)},
      {"variant family (scenario key \"family\")", DescribeSchema(FamilySchema(), 1)},
  };
  if (filter.empty()) {
    for (const Part& p : parts) std::printf("%s:\n%s\n", p.title.c_str(), p.body.c_str());
    return 0;
  }
  // A filtered listing keeps, per part, each top-level entry (a line at the
  // first indentation and the deeper lines under it) that mentions NAME.
  int shown = 0;
  for (const Part& p : parts) {
    std::vector<std::string> lines;
    for (size_t b = 0; b < p.body.size();) {
      const size_t e = std::min(p.body.find('\n', b), p.body.size());
      lines.push_back(p.body.substr(b, e - b));
      b = e + 1;
    }
    auto indent = [](const std::string& l) { return l.find_first_not_of(' '); };
    const size_t top = lines.empty() ? 0 : indent(lines[0]);
    std::string kept;
    for (size_t i = 0; i < lines.size();) {
      size_t j = i + 1;
      while (j < lines.size() && (lines[j].empty() || indent(lines[j]) > top)) ++j;
      std::string entry;
      for (size_t k = i; k < j; ++k) entry += lines[k] + "\n";
      if (entry.find(filter) != std::string::npos || p.title.find(filter) != std::string::npos) kept += entry;
      i = j;
    }
    if (!kept.empty()) {
      std::printf("%s:\n%s\n", p.title.c_str(), kept.c_str());
      ++shown;
    }
  }
  if (shown == 0)
    throw InputError("cohort list", "", "nothing matches \"" + filter + "\" (try `cohort list` for everything)");
  return 0;
}

std::string SelfPath(const char* argv0) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::absolute(argv0).string() : self.string();
}

// A shell word: quoted when it holds anything a shell would interpret.
std::string ShellQuote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,+@%") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int CmdSweep(const Args& a, const char* argv0) {
  const Sweep sweep = LoadSweep(a.positional[0], a.sets);
  SweepOptions options;
  options.out_dir = a.out.empty() ? (fs::path("runs") / fs::path(sweep.file).stem()).string() : a.out;
  options.jobs = a.jobs;
  options.quiet = a.quiet;
  options.cohort_binary = SelfPath(argv0);
  if (a.Given("--shard")) std::tie(options.shard, options.shards) = cli::ParseShard(a.shard);
  if (a.list_cells) {
    for (const char* f : {"--jobs", "--quiet"})
      if (a.Given(f)) throw InputError(f, "", "has no effect with --list-cells (which runs nothing)");
    for (const SweepCell& c : sweep.cells) {
      if (!options.InShard(c)) continue;
      std::string line = ShellQuote(options.cohort_binary);
      for (const std::string& w : sweep.CellArgs(c, options.out_dir)) {
        line += ' ';
        line += ShellQuote(w);
      }
      std::printf("%s\n", line.c_str());
    }
    return 0;
  }
  const JobOutcome o = SweepJob(sweep, options);
  if (o.worker) return o.ExitCode();  // an MPI worker rank: rank 0 reports
  const SweepTotals& t = o.sweep;
  char shard[64] = "";
  if (options.shards > 1)
    std::snprintf(shard, sizeof shard, " (shard %lld/%lld)", (long long)options.shard, (long long)options.shards);
  std::printf("sweep %s%s: %lld cells, %lld already done, %lld ran, %lld failed", sweep.file.c_str(), shard,
              (long long)t.total, (long long)t.skipped, (long long)t.done, (long long)t.failed);
  if (t.interrupted > 0) std::printf(", %lld interrupted", (long long)t.interrupted);
  std::printf("  (%s)\n", options.out_dir.c_str());
  if (o.stopped) {
    std::fprintf(stderr,
                 "%s: stopped; running training cells wrote their checkpoints. Rerun the same command to resume.\n",
                 o.SignalName());
    return o.ExitCode();
  }
  if (t.failed > 0) {
    std::printf("failed cells keep their error in cells/<cell>/error.json; rerun the same command to retry them\n");
    return 1;
  }
  return 0;
}

int CmdReport(const Args& a) {
  ReportOptions options;
  options.group_by = a.group_by;
  options.metrics = a.metrics;
  for (const std::string& b : a.baseline) {
    const size_t eq = b.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("--baseline", "", "expected PATH=VALUE, got \"" + b + "\"");
    const json v = ParseJsonOrDiscarded(b.substr(eq + 1));
    options.baseline[b.substr(0, eq)] = v.is_discarded() ? json(b.substr(eq + 1)) : v;
  }
  WriteReport(a.positional[0], options);
  std::printf("wrote %s/results.csv, %s/results.md and %s/plots/\n", a.positional[0].c_str(), a.positional[0].c_str(),
              a.positional[0].c_str());
  return 0;
}

// The 1-minute load average (/proc/loadavg; -1 where there is none): a
// benchmark on a shared machine is only as good as the cores it got.
double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1.0;
  if (!(in >> load)) return -1.0;
  return load;
}

int CmdBench(const Args& a) {
  std::vector<std::string> names = a.scenarios;
  if (names.empty()) names = {"recsim_interest_evolution"};
  std::vector<std::string> agents = a.agents;
  if (agents.empty()) agents = {"random"};
  const std::vector<int> batch_sizes = a.num_envs_list.empty() ? std::vector<int>{a.num_envs} : a.num_envs_list;
  const std::vector<int> thread_counts = a.thread_counts.empty() ? std::vector<int>{1} : a.thread_counts;
  json results = json::array();
  for (const std::string& name : names) {
    for (const std::string& agent : agents) {
      std::vector<std::string> sets = {"agent={\"type\": \"" + agent + "\"}"};  // replaces the scenario's agent
      sets.insert(sets.end(), a.sets.begin(), a.sets.end());
      const Scenario s = LoadScenario(ResolveScenario(name), sets, AgentRegistry());
      for (const int num_envs : batch_sizes) {
        // BenchScenario builds one VecEnv of num_envs slots and the agent.
        MemoryEstimate memory;
        const std::string rows_key = "--num-envs=" + std::to_string(num_envs);
        AddVecEnvMemory(s.env, s.resolved, num_envs, rows_key, memory);
        AddCatalogMemory(s.env, s.resolved, CatalogItems(s.env, 0), 1, memory);
        AddAgentMemory(s.agent, s.env, s.resolved, num_envs, rows_key, 0, memory);
        const std::string no_pointer;
        CheckMemory(memory, "--num-envs", "the benchmark of " + s.file, &no_pointer);
        for (const int threads : thread_counts) {
          const double load_before = LoadAverage();
          BenchResult b = BenchScenario(s, num_envs, threads, a.seconds, !a.eval);
          json r = b.ToJson();
          r["scenario"] = name;
          r["load_average_before"] = load_before;
          r["load_average_after"] = LoadAverage();
          results.push_back(r);
          if (!a.quiet)
            std::fprintf(stderr,
                         "%-28s %-14s %-5s B=%-6d %2d thr %9s user-steps/s (%s per core): simulator %4.1f%%, act "
                         "%4.1f%%, learn %4.1f%% (load %.2f)\n",
                         name.c_str(), agent.c_str(), b.mode.c_str(), num_envs, threads,
                         Progress::Human(b.user_steps_per_second).c_str(),
                         Progress::Human(b.user_steps_per_second / b.threads).c_str(), 100.0 * b.env_seconds / b.seconds,
                         100.0 * b.act_seconds / b.seconds, 100.0 * b.learn_seconds / b.seconds, load_before);
        }
      }
    }
  }
  // The BLAS kernels LibTorch's matrix products run on (bench/README.md,
  // "Sequence encoders"): OpenBLAS falls back to its generic Prescott kernels
  // on CPUs it does not know, and OPENBLAS_CORETYPE overrides its choice.
  std::string blas_core = "unknown (no OpenBLAS loaded)";
  using CoreName = char* (*)();
  if (auto f = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) blas_core = f();
  json doc = {{"benchmark", "cohort bench"},
              {"hardware_threads", std::thread::hardware_concurrency()},
              {"blas_core", blas_core},
              {"results", results}};
  const std::string text = doc.dump(2) + "\n";
  if (!a.out.empty()) WriteFileAtomic(a.out, text);
  std::fputs(text.c_str(), stdout);
  return 0;
}

// ---- meta ------------------------------------------------------------------

std::vector<std::string> MetaOverrides(const Args& a) {
  std::vector<std::string> sets = a.sets;
  if (a.threads > 0) sets.push_back("threads=" + std::to_string(a.threads));
  return sets;
}

int CmdMetaTrain(const Args& a) {
  MetaTrainJobOptions options;
  options.quiet = a.quiet;
  if (a.Given("--resume")) {
    for (const char* f : {"--set", "--out", "--threads"})
      if (a.Given(f)) throw InputError("--resume", "", std::string("takes the run directory only, not ") + f);
    if (!a.positional.empty()) throw InputError("--resume", "", "takes the run directory only, not a META file");
    options.out = a.resume;
    options.resume = true;
  } else {
    if (a.positional.size() != 1) throw InputError("cohort meta train", "", "expected META.json (or --resume DIR)");
    options.meta_file = a.positional[0];
    options.sets = MetaOverrides(a);
    options.out = a.out;
  }
  const JobOutcome o = MetaTrainJob(options);
  if (o.worker) return o.ExitCode();
  if (o.stopped) {
    std::fprintf(stderr, "%s: stopped; checkpoint written. Continue with: cohort meta train --resume %s\n",
                 o.SignalName(), o.out.c_str());
    return o.ExitCode();
  }
  std::printf("meta run: %s (rule.json: the final mean; best_rule.json: the best on validation)\n", o.out.c_str());
  return 0;
}

int CmdMetaEval(const Args& a) {
  const MetaSpec spec = LoadMetaSpec(a.positional[0], MetaOverrides(a));
  if (!a.Given("--rule")) throw InputError("cohort meta eval", "--rule", "required: a rule file, or \"baseline\"");
  // The split and the number of variants are checked before anything runs:
  // an unknown split or more variants than it holds is bad input, not zero.
  const VariantFamily family(spec.base, AgentRegistry());
  std::string sizes;
  for (const std::string& s : family.splits())
    sizes += (sizes.empty() ? "" : ", ") + s + " (" + std::to_string(family.SplitSize(s)) + ")";
  const int64_t size = family.SplitSize(a.split);
  if (size < 0) {
    const std::string hint = Suggest(a.split, family.splits());
    throw InputError("--split", "",
                     "unknown split \"" + a.split + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                         "; splits of " + spec.base.file + ": " + sizes);
  }
  int variants = a.variants;
  if (a.Given("--variants") && a.variants > size)
    throw InputError("--variants", "",
                     std::to_string(a.variants) + " exceeds split \"" + a.split + "\", which holds " +
                         std::to_string(size) + " variants; splits: " + sizes);
  variants = int(std::min<int64_t>(variants, size));  // the default, 64, is "at most 64"
  // "baseline" (or "adam", its name for the learned optimizer): theta = 0.
  const bool baseline = a.rule == "baseline" || (a.rule == "adam" && spec.learnable->type == "learned");
  const std::vector<float> theta = baseline ? std::vector<float>{} : ReadRuleFile(a.rule, *spec.learnable);
  const std::vector<MetaEvalRow> rows = MetaEvaluate(spec, theta, a.split, variants, a.seeds, spec.threads);
  std::string lines;
  double area = 0.0, final_score = 0.0, train = 0.0;
  int n = 0, diverged = 0;
  for (const MetaEvalRow& r : rows) {
    json j = {{"split", a.split},
              {"variant_index", r.variant_index},
              {"seed", r.seed},
              {"rule", a.rule},
              {"diverged", r.result.diverged},
              {"curve", r.result.curve},
              {"user_steps", r.result.user_steps}};
    j["area"] = std::isfinite(r.result.area) ? json(r.result.area) : json(nullptr);
    j["final"] = std::isfinite(r.result.final_score) ? json(r.result.final_score) : json(nullptr);
    j["train_score"] = std::isfinite(r.result.train_score) ? json(r.result.train_score) : json(nullptr);
    lines += j.dump() + "\n";
    if (r.result.diverged)
      ++diverged;
    else
      area += r.result.area, final_score += r.result.final_score, train += r.result.train_score, ++n;
  }
  if (!a.out.empty())
    WriteFileAtomic(a.out, lines);
  else
    std::fputs(lines.c_str(), stdout);
  std::fprintf(stderr, "%s on %s: %zu lifetimes (%d variants x %d seeds)", a.rule.c_str(), a.split.c_str(), rows.size(),
               variants, a.seeds);
  if (n > 0) std::fprintf(stderr, ", area %.4f, final %.4f, train_score %.4f", area / n, final_score / n, train / n);
  std::fprintf(stderr, ", diverged %d\n", diverged);
  if (n == 0) {
    std::fprintf(stderr, "error: every lifetime diverged: no score to report\n");
    return 1;
  }
  return 0;
}

int CmdViz(const Args& a) {
  if (a.headless && a.screenshot.empty()) throw InputError("--headless", "", "needs --screenshot FILE.png");
#ifdef COHORT_WITH_VIZ
  if (a.agents.size() > 1) throw InputError("--agent", "", "give one training run (--agent RUN_DIR)");
  viz::VizOptions o;
  o.sim.scenario = ResolveScenario(a.positional[0]);
  o.sim.overrides = a.sets;
  if (!a.agents.empty()) o.sim.agent_checkpoint = a.agents.front();
  o.sim.rule = a.rule;
  o.select = a.select;
  o.steps_per_frame = a.steps_per_frame;
  if (a.Given("--views")) {
    o.views.clear();
    const std::vector<std::string>& known = viz::kViews;
    for (size_t begin = 0; begin <= a.views.size();) {
      const size_t end = std::min(a.views.find(',', begin), a.views.size());
      const std::string view = a.views.substr(begin, end - begin);
      if (view != "none" && std::find(known.begin(), known.end(), view) == known.end()) {
        const std::string hint = Suggest(view, known);
        throw InputError(
            "--views", "",
            "unknown view \"" + view + "\"" +
                (hint.empty() ? " (views: " + Join(known) + ", none)" : " (did you mean \"" + hint + "\"?)"));
      }
      if (view != "none") o.views.push_back(view);
      begin = end + 1;
    }
  }
  if (a.Given("--color-by")) {
    const std::vector<std::string>& colors = viz::kColorings;
    if (std::find(colors.begin(), colors.end(), a.color_by) == colors.end())
      throw InputError("--color-by", "", "\"" + a.color_by + "\" is not one of " + Join(colors));
    o.color_by = a.color_by;
  }
  o.tails = a.tails;
  o.headless = a.headless;
  if (a.Given("--frames")) o.frames = a.frames;  // else: 60 headless, until closed in a window
  o.screenshot = a.screenshot;
  if (a.Given("--size")) {
    const viz::FrameSize size = viz::ParseSize(a.size);
    o.width = size.width;
    o.height = size.height;
  }
  return viz::RunViz(o);
#else
  std::fprintf(stderr, "error: this cohort was built without the visualizer (SDL2, Dear ImGui, OpenGL not found)\n");
  return 1;
#endif
}

// ---- the table of subcommands -----------------------------------------------

struct Entry {
  cli::Command command;
  int (*run)(const Args& args, const char* argv0);
};

const std::vector<Entry>& Commands() {
  static const std::vector<Entry> entries = {
      {{"run",
        "Run a scenario: roll out its agent (training first when run.train_steps > 0) and write a run directory.",
        "SCENARIO",
        0,
        1,
        {{"--set", "override a scenario value (repeatable), e.g. --set run.episodes=500"},
         {"--seed", "the run's seed (default: the scenario's \"seed\")"},
         {"--variant", "run variant INDEX of the family split SPLIT, e.g. test:3 (default: the base scenario)"},
         {"--out", "run directory (default: runs/<scenario>[-<split>-<index>]-seed<N>)"},
         {"--threads",
          "threads for the simulator and agents (default: the scenario's run.threads); results do\n"
          "not depend on it"},
         {"--force", "run again into a directory that holds a finished run"},
         {"--quiet", "no progress line"},
         {"--resume", "continue the interrupted training run in DIR (takes no other option)"}},
        {"cohort run recsim_interest_evolution --seed 3 --out runs/recsim3",
         "cohort run scenarios/long_term_value.json --set agent.type=reinforce --set run.train_steps=2000",
         "cohort run --resume runs/long_term_value-seed0"},
        "SCENARIO is a JSON file or the name of a shipped scenario (scenarios/NAME.json). Rerunning the same\n"
        "command continues an interrupted training run from its checkpoint; SIGINT, SIGTERM and SIGUSR1 write a\n"
        "checkpoint and exit with 128 + the signal number."},
       [](const Args& a, const char*) { return CmdRun(a); }},
      {{"log",
        "Run a scenario's agent as the logging policy and write every step with its exact propensities (HDF5).",
        "SCENARIO",
        1,
        1,
        {{"--out", "the log directory (required): log.h5, log.json, scenario.resolved.json"},
         {"--set", "override a scenario value (repeatable)"},
         {"--seed", "the run's seed (default: the scenario's \"seed\")"},
         {"--variant", "log variant INDEX of the family split SPLIT, e.g. test:3"},
         {"--threads", "threads for the simulator (the log does not depend on it)"},
         {"--csv", "also write log.csv, one row per slate position (for small logs)"},
         {"--force", "replace a log already in --out"},
         {"--quiet", "no progress line and no warning"},
         {"--target",
          "then evaluate this policy on the log as `cohort ope DIR --target` does: DIR/ope.json, and\n"
          "DIR/summary.json with flat numbers for `cohort report` (a sweep's \"ope\" cells)"},
         {"--estimators", "with --target: as for ope"},
         {"--bootstrap", "with --target: as for ope"}},
        {"cohort log recsim_interest_evolution --set agent.type=random --out logs/recsim_random",
         "cohort log recsim_interest_evolution --set 'agent={\"type\": \"logging\", \"policy\": {\"type\": "
         "\"greedy\"}, \"epsilon\": 0.2}' --out logs/greedy_eps",
         "cohort log recsim_interest_evolution --set agent.type=dqn --set run.train_steps=300 --out logs/dqn"},
        "The agent acts as in `cohort run`: run.episodes users, learning online; with run.train_steps > 0, the\n"
        "trainer's training steps (evaluations are not logged). A policy without closed-form\n"
        "propensities (Thompson sampling) is refused; wrap it with {\"type\": \"logging\", ...}. The columns are\n"
        "in docs/logs.md. SIGINT, SIGTERM and SIGUSR1 stop it without leaving a partial file."},
       [](const Args& a, const char*) { return CmdLog(a); }},
      {{"ope",
        "Estimate a target policy's value from a log (off-policy estimators), next to the simulator's exact truth.",
        "LOG_DIR...",
        1,
        100000,
        {{"--target",
          "the policy to evaluate: an agent JSON, an agent type, a scenario file (its agent), or a\n"
          "training run (its directory or checkpoint.bin: the trained agent, frozen); required"},
         {"--estimators",
          "comma-separated: dm,ips,snips,clipped_ips,switch,dr,iips,pseudo_inverse,rips (default:\n"
          "all that apply)"},
         {"--bootstrap", "bootstrap resamples of each interval (default: 1000)"},
         {"--seed", "the bootstrap's seed (default: 0)"},
         {"--out", "also write the result as JSON to FILE"},
         {"--terms",
          "also write the per-step terms the estimators read (propensities, the target's\n"
          "probabilities, the model's predictions; the exact truth apart) to FILE (HDF5); one LOG_DIR"}},
        {"cohort ope logs/recsim_random --target greedy",
         "cohort ope logs/seed0 logs/seed1 logs/seed2 --target greedy --estimators ips,snips,dr",
         "cohort ope logs/recsim_random --target runs/reinforce",
         "cohort ope logs/recsim_random --target '{\"type\": \"epsilon_greedy\", \"epsilon\": 0.1}' --estimators "
         "ips,snips,dr --out ope.json",
         "cohort ope logs/recsim_random --target greedy --terms terms.h5"},
        "The log's scenario (recorded in log.h5) is replayed to give the target's probabilities of the logged\n"
        "slates and the exact truth; every replayed slate is checked against the file. With several LOG_DIRs\n"
        "(seeds), also each estimator's bias, standard deviation and RMSE over them. docs/ope.md."},
       [](const Args& a, const char*) { return CmdOpe(a); }},
      {{"train-offline",
        "Learn a policy from a log alone (a click model, off-policy or pretrained REINFORCE); its true online value.",
        "LOG_DIR",
        1,
        1,
        {{"--agent",
          "what to learn: click_model (default: a logistic click model, acted on greedily) or reinforce\n"
          "(off-policy top-K REINFORCE), as an agent type or JSON, e.g. '{\"type\": \"reinforce\",\n"
          "\"offline\": {\"behaviour\": \"logged\"}}'"},
         {"--out",
          "required: click_model: the model file to write (its summary goes to STEM.summary.json);\n"
          "other agents: the directory for checkpoint.bin and summary.json"},
         {"--sequence",
          "replay the log observing the user's last L interactions (env.observation.sequence.length; default:\n"
          "the log's own), e.g. to pretrain a sequence encoder on a log written without them: the sequence is\n"
          "an observation only, so the replayed trajectory is the log's (refused for an mlp encoder, which reads none)"}},
        {"cohort train-offline logs/recsim_random --out models/click.json",
         "cohort train-offline logs/recsim_greedy --agent reinforce --out runs/offline_reinforce",
         "cohort run recsim_interest_evolution --set 'agent={\"type\": \"click_model\", \"model\": "
         "\"models/click.json\"}'",
         "cohort train-offline logs/hidden_greedy --agent '{\"type\": \"reinforce\", \"encoder\": {\"type\": "
         "\"gru\"}, \"offline\": {\"objective\": \"next_click\"}}' --out runs/pretrained_gru",
         "cohort run hidden_interests --set 'agent={\"type\": \"reinforce\", \"encoder\": {\"type\": \"gru\"}, "
         "\"init\": \"runs/pretrained_gru\"}'"},
        "The click model: clicked ~ logistic([u * x, x, onehot(position)]) with an L2 penalty of 1, by Newton's\n"
        "method. reinforce: the log's scenario is replayed for the logged observations and the policy is\n"
        "trained on them with importance weights min(pi/beta, cap) and the top-K multiplier (Chen et al.\n"
        "2019), beta learned (a second head) or the log's propensities (--agent's \"offline\" object); with\n"
        "\"objective\": \"next_click\", supervised as a click model (next click and watch time), a warm start\n"
        "for RL fine-tuning online (the agent's \"init\": the --out directory). Then the frozen learned\n"
        "policy, the logging policy and the random and oracle references run on the same evaluation users:\n"
        "the true online value, normalized scores and the paired learned-minus-logging difference are printed\n"
        "and written to the summary (docs/ope.md, offline learning)."},
       [](const Args& a, const char*) { return CmdTrainOffline(a); }},
      {{"validate",
        "Check a scenario (or a sweep file) without running it: every error at once, with its JSON path.",
        "SCENARIO|SWEEP",
        1,
        1,
        {{"--set", "override a value before validating (repeatable); on a sweep file, applied to its base"},
         {"--seed", "as for run (scenarios only)"},
         {"--variant", "also instantiate this family variant, e.g. test:3 (scenarios only)"},
         {"--threads", "as for run (scenarios only)"},
         {"--quiet", "sweeps: skip the short calibration run behind the minutes estimate"}},
        {"cohort validate recsim_interest_evolution --set env.slate_size=3",
         "cohort validate scenarios/sweeps/recsim_agents.json"},
        "For a sweep it prints the number of cells and an estimate of the work: user-steps, and from a short\n"
        "calibration run of the base scenario, minutes on this machine."},
       [](const Args& a, const char*) { return CmdValidate(a); }},
      {{"list",
        "List agents, choice models and every scenario key with its default and range.",
        "[NAME]",
        0,
        1,
        {},
        {"cohort list", "cohort list linucb", "cohort list temperature"},
        "With NAME, only the entries that mention it (an agent, a choice model, a key)."},
       [](const Args& a, const char*) { return CmdList(a); }},
      {{"sweep",
        "Run every cell of a sweep file (grid, random and zipped axes x seeds x variants), resumably.",
        "SWEEP.json",
        1,
        1,
        {{"--out", "sweep directory (default: runs/<sweep file stem>)"},
         {"--set",
          "override a value of the base scenario in every cell (repeatable); recorded in\n"
          "sweep.resolved.json like the file's own \"set\""},
         {"--jobs", "cells run at once (default: the number of cores)"},
         {"--shard",
          "run only cells with index % N == I (job arrays: shards 0/N .. N-1/N together run\n"
          "the whole sweep; default: all cells)"},
         {"--list-cells", "print the `cohort run` command of each cell (of the shard) and exit"},
         {"--quiet", "no progress line"}},
        {"cohort sweep scenarios/sweeps/recsim_agents.json --jobs 4",
         "cohort sweep scenarios/sweeps/recsim_agents.json --shard $SLURM_ARRAY_TASK_ID/8 --out /scratch/recsim",
         "mpirun -np 16 cohort sweep scenarios/sweeps/recsim_agents.json"},
        "A directory is used by one sweep process (or shard) at a time (sweep.lock). SIGINT, SIGTERM and\n"
        "SIGUSR1 stop the running cells (training cells checkpoint); rerunning the same command resumes."},
       [](const Args& a, const char* argv0) { return CmdSweep(a, argv0); }},
      {{"report",
        "Aggregate a sweep directory into results.csv, results.md and plots/ (bootstrap intervals, paired deltas).",
        "DIR",
        1,
        1,
        {{"--group-by",
          "axis path, \"seed\" or \"variant\" to group by (repeatable; default: the sweep's\n"
          "report.group_by, else every axis)"},
         {"--baseline",
          "the baseline group for paired differences, e.g. agent.type=random (repeatable;\n"
          "default: the sweep's report.baseline)"},
         {"--metric",
          "summary key to tabulate (repeatable; default: the sweep's report.metrics, else\n"
          "return_mean, normalized_score, ctr, episode_length_mean, regret_per_episode)"}},
        {"cohort report runs/recsim_agents", "cohort report runs/recsim_agents --group-by agent.type --metric ctr"},
        ""},
       [](const Args& a, const char*) { return CmdReport(a); }},
      {{"meta train",
        "Meta-train a learnable update rule with evolution strategies over a family's train split.",
        "META.json",
        0,
        1,
        {{"--out", "run directory (default: runs/meta_<name>)"},
         {"--set", "override a meta-file value (repeatable), e.g. --set es.generations=5"},
         {"--threads", "lifetimes run in parallel (default: the meta file's \"threads\"; 0 there: every core)"},
         {"--resume", "continue the meta run in DIR with its recorded meta file and overrides"},
         {"--quiet", "no per-generation line"}},
        {"cohort meta train scenarios/meta/bandit_exploration.json --out runs/meta_bandit",
         "cohort meta train --resume runs/meta_bandit"},
        "Rerunning with the same --out also continues. SIGINT, SIGTERM and SIGUSR1 checkpoint and exit with\n"
        "128 + the signal number."},
       [](const Args& a, const char*) { return CmdMetaTrain(a); }},
      {{"meta eval",
        "Evaluate a rule (or the baseline) on every (variant, seed) lifetime of a split; JSON lines out.",
        "META.json",
        1,
        1,
        {{"--rule", "RULE.json, or \"baseline\" (theta = 0; \"adam\" for the learned optimizer); required"},
         {"--split", "family split (default: test)"},
         {"--variants",
          "variants 0..N-1 of the split (default: 64, or the whole split when smaller; more\n"
          "than the split holds is an error)"},
         {"--seeds", "seeds per variant (default: 2)"},
         {"--set", "override a meta-file value (repeatable)"},
         {"--threads", "lifetimes run in parallel (default: the meta file's \"threads\")"},
         {"--out", "write the JSON lines to FILE (default: stdout)"}},
        {"cohort meta eval scenarios/meta/drifting_optimizer.json --rule "
         "scenarios/rules/drifting_learned_optimizer.json",
         "cohort meta eval scenarios/meta/bandit_exploration.json --rule baseline --split ood_noisy_items --variants "
         "8"},
        ""},
       [](const Args& a, const char*) { return CmdMetaEval(a); }},
      {{"viz",
        "Watch users and a policy live (SDL2 + Dear ImGui), or render frames headless to a PNG.",
        "SCENARIO",
        1,
        1,
        {{"--set", "override a scenario value (repeatable)"},
         {"--agent", "show the policy of a training run (RUN_DIR or its checkpoint.bin)"},
         {"--rule", "a learned rule file, in the slot of the scenario's agent that takes it"},
         {"--select", "user slot selected at start (default: the first drawn user)"},
         {"--steps-per-frame", "batched steps per frame (default: 1; 0: paused)"},
         {"--views", "views open at start: map,session,policy,curves,meta or none (default: all)"},
         {"--color-by", "map colouring: interest, segment, satisfaction or budget (default: interest)"},
         {"--tails", "the map draws every user's recent movement"},
         {"--headless", "render offscreen (Mesa) instead of a window; needs --screenshot"},
         {"--frames", "frames to render, then exit (default: 60 headless; in a window, until closed)"},
         {"--screenshot", "write the last frame as a PNG (headless, or when the window closes)"},
         {"--size", "window or frame size in pixels, each side 320..8192 (default: 1600x1000)"}},
        {"cohort viz recsim_interest_evolution",
         "SDL_VIDEODRIVER=offscreen cohort viz cascade_news --headless --frames 120 --screenshot /tmp/viz.png"},
        ""},
       [](const Args& a, const char*) { return CmdViz(a); }},
      {{"bench",
        "Measure user-steps per second of scenarios x agents (simulator, acting and learning time apart).",
        "",
        0,
        0,
        {{"--scenario", "scenario name or file (repeatable; default: recsim_interest_evolution)"},
         {"--agent", "agent type (repeatable; default: random)"},
         {"--eval", "acting only: learners do not train"},
         {"--set", "override a scenario value (repeatable)"},
         {"--num-envs", "users stepped per batch (default: 1024); a list (1024,16384) measures each", true},
         {"--threads", "threads (default: 1); a list (1,2) measures each", true},
         {"--seconds", "measured seconds per combination (default: 2)"},
         {"--out", "also write the JSON to FILE"},
         {"--quiet", "no per-combination line on stderr"}},
        {"cohort bench", "cohort bench --scenario cascade_news --agent linucb --agent random --seconds 5",
         "cohort bench --threads 1,2 --num-envs 1024,16384"},
        ""},
       [](const Args& a, const char*) { return CmdBench(a); }},
  };
  return entries;
}

std::string MainHelp() {
  std::string out =
      "cohort: a fast simulator of recommender-system users\n\nusage: cohort COMMAND [options]\n\ncommands:\n";
  for (const Entry& e : Commands()) {
    char line[512];
    std::snprintf(line, sizeof line, "  %-11s %s\n", e.command.name, e.command.summary);
    out += line;
  }
  out +=
      "\n`cohort COMMAND --help` lists a command's options with their defaults and examples.\n"
      "`cohort --version` says what this build includes.\n"
      "SCENARIO is a JSON file, or the name of a shipped scenario (scenarios/NAME.json).\n"
      "Exit codes: 0 success, 1 runtime failure, 2 bad input (file or flag, JSON path and reason on stderr);\n"
      "128 + N when stopped by signal N (a checkpoint is written first).\n";
  return out;
}

std::string VersionText() {
  auto yes = [](bool b) { return b ? "yes" : "no"; };
#ifdef COHORT_HAVE_TORCH
  const bool torch = true;
#else
  const bool torch = false;
#endif
#ifdef COHORT_WITH_VIZ
  const bool viz = true;
#else
  const bool viz = false;
#endif
#ifdef COHORT_HAVE_MPI
  const bool mpi = true;
#else
  const bool mpi = false;
#endif
#ifdef COHORT_HAVE_PYTHON
  const bool python = true;
#else
  const bool python = false;
#endif
  std::string out =
      std::string("cohort ") + COHORT_VERSION + " (git " + COHORT_GIT_REVISION + ", " + COHORT_BUILD_TYPE + " build)\n";
  out += std::string("  LibTorch agents: ") + yes(torch) + "\n";
  out += std::string("  visualizer:      ") + yes(viz) + "\n";
  out += std::string("  MPI:             ") + yes(mpi) + "\n";
  out += std::string("  Python package:  ") + yes(python) + "\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(MainHelp().c_str(), stderr);
    return kInputErrorExitCode;
  }
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    std::fputs(MainHelp().c_str(), stdout);
    return 0;
  }
  if (first == "--version") {
    std::fputs(VersionText().c_str(), stdout);
    return 0;
  }
  try {
    // "meta" has two subcommands; their names are two words.
    std::string name = first;
    int next = 2;
    if (first == "meta") {
      const std::string sub = argc > 2 ? argv[2] : "";
      if (sub == "--help" || sub == "-h") {
        std::printf("usage: cohort meta train|eval ...\n\n  cohort meta train --help\n  cohort meta eval --help\n");
        return 0;
      }
      if (sub != "train" && sub != "eval") {
        const std::string hint = Suggest(sub, {"train", "eval"});
        throw InputError("cohort meta", "",
                         (sub.empty() ? std::string("expected a subcommand") : "unknown subcommand \"" + sub + "\"") +
                             (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                             ": cohort meta train META.json, or cohort meta eval META.json --rule RULE");
      }
      name = "meta " + sub;
      next = 3;
    }
    std::vector<std::string> names;
    for (const Entry& e : Commands()) {
      if (name == e.command.name) {
        const Args a = cli::Parse(e.command, argc, argv, next);
        if (a.help) {
          std::fputs(cli::HelpText(e.command).c_str(), stdout);
          return 0;
        }
        return e.run(a, argv[0]);
      }
      if (std::strchr(e.command.name, ' ') == nullptr) names.push_back(e.command.name);
    }
    names.push_back("meta");
    const std::string hint = Suggest(name, names);
    throw InputError("cohort", "",
                     "unknown command \"" + name + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                         "; see cohort --help");
  } catch (const InputError& e) {
    for (const Problem& p : e.problems()) std::fprintf(stderr, "error: %s\n", p.ToString().c_str());
    return kInputErrorExitCode;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
