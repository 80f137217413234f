// The `cohort` command: run, validate, list, bench.
#include <algorithm>
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
#ifdef COHORT_WITH_VIZ
#include "viz/app.h"
#endif
#include "agents/registry.h"
#include "agents/runner.h"
#include "agents/trainer.h"
#include "apps/bench.h"
#include "apps/meta_mpi.h"
#include "apps/progress.h"
#include "apps/sweep.h"
#include "core/io.h"
#include "env/scenario.h"
#include "env/variants.h"
#include "meta/meta.h"

namespace fs = std::filesystem;
using namespace cohort;

namespace {

constexpr const char* kUsage = R"(cohort: a fast simulator of recommender-system users

usage:
  cohort run SCENARIO [--set dotted.path=value]... [--seed N] [--variant SPLIT:INDEX]
                      [--out DIR] [--threads N] [--force] [--quiet]
  cohort run --resume DIR                                      (continue an interrupted training run)
  cohort validate SCENARIO [--set dotted.path=value]...      (or a SWEEP file: validated and expanded)
  cohort list
  cohort sweep SWEEP.json [--out DIR] [--jobs N] [--quiet]      (under mpirun: cells spread over ranks)
  cohort report DIR [--group-by PATH]... [--baseline PATH=VALUE]... [--metric KEY]...
  cohort meta train META.json [--out DIR] [--set dotted.path=value]... [--quiet]
                                                              (rerun with the same DIR to resume)
  cohort meta eval META.json --rule RULE.json|baseline [--split NAME] [--variants N] [--seeds N] [--out FILE]
  cohort viz SCENARIO [--set dotted.path=value]... [--agent RUN_DIR|CHECKPOINT] [--rule RULE.json]
                      [--select SLOT] [--steps-per-frame N] [--views map,session,policy,curves,meta|none]
                      [--color-by interest|segment|satisfaction|budget] [--tails]
                      [--headless --frames N --screenshot FILE.png]
                 (live window: SDL2 + Dear ImGui; headless: Mesa offscreen, writes a PNG;
                  --agent: a training run's policy; --rule: a learned rule in its agent slot)
  cohort bench [--scenario NAME_OR_FILE]... [--agent TYPE]... [--eval] [--set dotted.path=value]...
               [--num-envs B] [--threads N] [--seconds S] [--out FILE]
                 (default agent: random; learners train unless --eval: acting only)

SCENARIO is a JSON file, or the name of a shipped scenario (scenarios/NAME.json).
Exit codes: 0 success, 1 runtime failure, 2 bad input (file, JSON path and reason on stderr).
)";

struct Args {
  std::vector<std::string> positional;
  std::vector<std::string> sets;
  std::vector<std::string> scenarios;
  std::vector<std::string> agents;   // bench
  bool eval = false;                 // bench: acting only
  std::string rule, split = "test";  // meta eval
  int variants = 64, seeds = 2;      // meta eval
  std::vector<std::string> group_by, baseline, metrics;
  int jobs = 0;
  std::string out, variant, resume;
  long long seed = -1;
  int threads = 0, num_envs = 1024;
  double seconds = 2.0;
  bool force = false, quiet = false;
  bool headless = false;  // viz
  int frames = 60, select = -1, steps_per_frame = 1;
  std::string views, color_by;  // viz
  bool tails = false;
  std::string screenshot;
};

long long ParseInt(const std::string& flag, const std::string& v, long long lo) {
  try {
    size_t used = 0;
    const long long x = std::stoll(v, &used);
    if (used == v.size() && x >= lo) return x;
  } catch (const std::exception&) {
  }
  throw InputError(flag, "", "expected an integer >= " + std::to_string(lo) + ", got \"" + v + "\"");
}

double ParseSeconds(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size() && x > 0 && x < 1e6) return x;
  } catch (const std::exception&) {
  }
  throw InputError(flag, "", "expected a number of seconds > 0, got \"" + v + "\"");
}

Args ParseArgs(int argc, char** argv, int first) {
  Args a;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) throw InputError(argv[i], "", "needs a value");
    return argv[++i];
  };
  for (int i = first; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--set")
      a.sets.push_back(value(i));
    else if (s.rfind("--set=", 0) == 0)
      a.sets.push_back(s.substr(6));
    else if (s == "--seed")
      a.seed = ParseInt(s, value(i), 0);
    else if (s == "--out")
      a.out = value(i);
    else if (s == "--variant")
      a.variant = value(i);
    else if (s == "--threads")
      a.threads = int(ParseInt(s, value(i), 1));
    else if (s == "--num-envs")
      a.num_envs = int(ParseInt(s, value(i), 1));
    else if (s == "--seconds")
      a.seconds = ParseSeconds(s, value(i));
    else if (s == "--scenario")
      a.scenarios.push_back(value(i));
    else if (s == "--agent")
      a.agents.push_back(value(i));
    else if (s == "--eval")
      a.eval = true;
    else if (s == "--rule")
      a.rule = value(i);
    else if (s == "--split")
      a.split = value(i);
    else if (s == "--variants")
      a.variants = int(ParseInt(s, value(i), 1));
    else if (s == "--seeds")
      a.seeds = int(ParseInt(s, value(i), 1));
    else if (s == "--jobs")
      a.jobs = int(ParseInt(s, value(i), 1));
    else if (s == "--group-by")
      a.group_by.push_back(value(i));
    else if (s == "--baseline")
      a.baseline.push_back(value(i));
    else if (s == "--metric")
      a.metrics.push_back(value(i));
    else if (s == "--resume")
      a.resume = value(i);
    else if (s == "--force")
      a.force = true;
    else if (s == "--headless")
      a.headless = true;
    else if (s == "--frames")
      a.frames = int(ParseInt(s, value(i), 1));
    else if (s == "--views")
      a.views = value(i);
    else if (s == "--color-by")
      a.color_by = value(i);
    else if (s == "--tails")
      a.tails = true;
    else if (s == "--select")
      a.select = int(ParseInt(s, value(i), 0));
    else if (s == "--steps-per-frame")
      a.steps_per_frame = int(ParseInt(s, value(i), 0));
    else if (s == "--screenshot")
      a.screenshot = value(i);
    else if (s == "--quiet")
      a.quiet = true;
    else if (s.rfind("--", 0) == 0) {
      const std::string hint = Suggest(
          s, {"--set",      "--seed",   "--out",        "--variant",  "--threads",         "--num-envs", "--seconds",
              "--scenario", "--agent",  "--eval",       "--rule",     "--split",           "--variants", "--seeds",
              "--force",    "--quiet",  "--jobs",       "--group-by", "--baseline",        "--metric",   "--resume",
              "--headless", "--frames", "--screenshot", "--select",   "--steps-per-frame", "--views",    "--color-by",
              "--tails"});
      throw InputError(s, "", "unknown option" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
    } else
      a.positional.push_back(s);
  }
  return a;
}

// A path, or the name of a shipped scenario.
std::string ResolveScenario(const std::string& name) {
  if (fs::exists(name)) return name;
  for (const fs::path& dir : {fs::path("scenarios"), fs::path(COHORT_SOURCE_DIR) / "scenarios"}) {
    const fs::path p = dir / (name + ".json");
    if (fs::exists(p)) return p.string();
  }
  return name;  // ReadJsonFile reports it missing
}

Scenario Load(const Args& a) {
  if (a.positional.size() != 1) throw InputError("cohort", "", "expected exactly one SCENARIO argument");
  std::vector<std::string> sets = a.sets;
  if (a.seed >= 0) sets.push_back("seed=" + std::to_string(a.seed));
  if (a.threads > 0) sets.push_back("run.threads=" + std::to_string(a.threads));
  Scenario s = LoadScenario(ResolveScenario(a.positional[0]), sets, AgentRegistry());
  if (!a.variant.empty()) {
    VariantFamily family(s, AgentRegistry());
    if (family.empty())
      throw InputError(s.file, "/family", "--variant needs a variant family, and this scenario defines none");
    s = family.Instantiate(family.Parse(a.variant));
  }
  return s;
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

std::atomic<bool> g_stop{false};
extern "C" void OnSigint(int) { g_stop.store(true); }

// Training (run.train_steps > 0): checkpoints, SIGINT, --resume.
int Train(const Scenario& s, const std::string& out, bool resume, bool quiet) {
  g_stop.store(false);
  auto previous = std::signal(SIGINT, OnSigint);
  Progress progress(s.resolved["name"].get<std::string>() + " training", !quiet, "steps");
  TrainOptions options;
  options.out_dir = out;
  options.resume = resume;
  options.stop = &g_stop;
  options.progress = [&](int64_t user_steps, int64_t done, int64_t total) { progress.Update(user_steps, done, total); };
  const TrainOutput r = TrainScenario(s, options);
  std::signal(SIGINT, previous);
  if (r.interrupted) {
    std::fprintf(stderr, "\ninterrupted at step %lld; checkpoint written. Continue with: cohort run --resume %s\n",
                 (long long)r.step, out.c_str());
    return 130;
  }
  std::printf("%s  (%s)\n", s.resolved["name"].get<std::string>().c_str(), out.c_str());
  PrintTable(r.summary);
  return 0;
}

int CmdRun(const Args& a) {
  if (!a.resume.empty()) {
    if (!a.positional.empty() || !a.sets.empty() || a.seed >= 0 || !a.variant.empty())
      throw InputError("--resume", "", "takes the run directory only: the scenario is its scenario.resolved.json");
    const std::string file = (fs::path(a.resume) / "scenario.resolved.json").string();
    const Scenario s = ParseScenario(ReadJsonFile(file), file, AgentRegistry());
    if (s.run.train_steps <= 0) throw InputError(file, "/run/train_steps", "only training runs can be resumed");
    if (fs::exists(fs::path(a.resume) / "summary.json")) {
      std::fprintf(stderr, "%s is already complete (summary.json exists)\n", a.resume.c_str());
      return 0;
    }
    return Train(s, a.resume, true, a.quiet);
  }
  const Scenario s = Load(a);
  std::string out = a.out;
  if (out.empty()) {
    std::string stem = fs::path(s.file).stem().string();
    if (!a.variant.empty()) {
      std::string v = a.variant;
      std::replace(v.begin(), v.end(), ':', '-');
      stem += "-" + v;
    }
    out = (fs::path("runs") / (stem + "-seed" + std::to_string(s.seed))).string();
  }
  const fs::path summary = fs::path(out) / "summary.json";
  const fs::path resolved = fs::path(out) / "scenario.resolved.json";
  if (!a.force && fs::exists(summary)) {
    // A finished run of the same scenario is not redone; a different one is
    // never overwritten silently.
    std::ifstream in(resolved);
    json previous = json::parse(in, nullptr, false);
    if (!previous.is_discarded() && previous == s.resolved) {
      std::fprintf(stderr, "%s is already complete (summary.json exists); use --force to run again\n", out.c_str());
      return 0;
    }
    throw InputError(out, "", "holds a finished run of a different scenario; choose another --out or pass --force");
  }
  if (s.run.train_steps > 0) return Train(s, out, false, a.quiet);
  Progress progress(s.resolved["name"].get<std::string>(), !a.quiet);
  const RunOutput r =
      RunScenario(s, out, [&](int64_t steps, int64_t done, int64_t total) { progress.Update(steps, done, total); });
  std::printf("%s  (%s)\n", s.resolved["name"].get<std::string>().c_str(), out.c_str());
  PrintTable(r.summary);
  return 0;
}

// A sweep file (it names a "base" scenario): validated and expanded, nothing runs.
bool IsSweepFile(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;  // ReadJsonFile reports it
  std::ifstream in(path);
  const json j = json::parse(in, nullptr, false);
  return !j.is_discarded() && j.is_object() && j.contains("base") && !j.contains("env");
}

int CmdValidate(const Args& a) {
  if (a.positional.size() == 1 && IsSweepFile(a.positional[0])) {
    const Sweep sweep = LoadSweep(a.positional[0]);
    std::printf("%s: ok (sweep over %s, %zu cells)\n", sweep.file.c_str(), sweep.base.c_str(), sweep.cells.size());
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

int CmdList() {
  std::printf("agents (scenario key \"agent\"):\n%s\n", DescribeRegistry(AgentRegistry(), 1).c_str());
  std::printf("choice models (scenario key \"env.choice\"):\n%s\n", DescribeRegistry(ChoiceModelRegistry(), 1).c_str());
  std::printf("environment (scenario key \"env\"):\n%s\n", DescribeSchema(EnvSchema(), 1).c_str());
  std::printf("run settings (scenario key \"run\"):\n%s\n", DescribeSchema(RunSchema(), 1).c_str());
  std::printf("variant family (scenario key \"family\"):\n%s\n", DescribeSchema(FamilySchema(), 1).c_str());
  return 0;
}

std::string SelfPath(const char* argv0) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::absolute(argv0).string() : self.string();
}

int CmdSweep(const Args& a, const char* argv0) {
  if (a.positional.size() != 1) throw InputError("cohort sweep", "", "expected exactly one SWEEP file");
  const Sweep sweep = LoadSweep(a.positional[0]);
  SweepOptions options;
  options.out_dir = a.out.empty() ? (fs::path("runs") / fs::path(sweep.file).stem()).string() : a.out;
  options.jobs = a.jobs;
  options.quiet = a.quiet;
  options.cohort_binary = SelfPath(argv0);
  const SweepTotals t = RunSweepDistributed(sweep, options);
  if (t.total < 0) return 0;  // an MPI worker rank: rank 0 reports
  std::printf("sweep %s: %lld cells, %lld already done, %lld ran, %lld failed  (%s)\n", sweep.file.c_str(),
              (long long)t.total, (long long)t.skipped, (long long)t.done, (long long)t.failed,
              options.out_dir.c_str());
  if (t.failed > 0) {
    std::printf("failed cells keep their error in cells/<cell>/error.json; rerun the same command to retry them\n");
    return 1;
  }
  return 0;
}

int CmdReport(const Args& a) {
  if (a.positional.size() != 1) throw InputError("cohort report", "", "expected exactly one sweep DIR");
  ReportOptions options;
  options.group_by = a.group_by;
  options.metrics = a.metrics;
  for (const std::string& b : a.baseline) {
    const size_t eq = b.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("--baseline", "", "expected PATH=VALUE, got \"" + b + "\"");
    const json v = json::parse(b.substr(eq + 1), nullptr, false);
    options.baseline[b.substr(0, eq)] = v.is_discarded() ? json(b.substr(eq + 1)) : v;
  }
  WriteReport(a.positional[0], options);
  std::printf("wrote %s/results.csv, %s/results.md and %s/plots/\n", a.positional[0].c_str(), a.positional[0].c_str(),
              a.positional[0].c_str());
  return 0;
}

int CmdBench(const Args& a) {
  std::vector<std::string> names = a.scenarios;
  if (names.empty()) names = {"recsim_interest_evolution"};
  std::vector<std::string> agents = a.agents;
  if (agents.empty()) agents = {"random"};
  json results = json::array();
  for (const std::string& name : names) {
    for (const std::string& agent : agents) {
      std::vector<std::string> sets = {"agent={\"type\": \"" + agent + "\"}"};  // replaces the scenario's agent
      sets.insert(sets.end(), a.sets.begin(), a.sets.end());
      const Scenario s = LoadScenario(ResolveScenario(name), sets, AgentRegistry());
      BenchResult b = BenchScenario(s, a.num_envs, a.threads > 0 ? a.threads : 1, a.seconds, !a.eval);
      json r = b.ToJson();
      r["scenario"] = name;
      results.push_back(r);
      if (!a.quiet)
        std::fprintf(stderr,
                     "%-28s %-14s %-5s %9s user-steps/s (%s per core): simulator %4.1f%%, act %4.1f%%, learn %4.1f%%\n",
                     name.c_str(), agent.c_str(), b.mode.c_str(), Progress::Human(b.user_steps_per_second).c_str(),
                     Progress::Human(b.user_steps_per_second / b.threads).c_str(), 100.0 * b.env_seconds / b.seconds,
                     100.0 * b.act_seconds / b.seconds, 100.0 * b.learn_seconds / b.seconds);
    }
  }
  json doc = {
      {"benchmark", "cohort bench"}, {"hardware_threads", std::thread::hardware_concurrency()}, {"results", results}};
  const std::string text = doc.dump(2) + "\n";
  if (!a.out.empty()) WriteFileAtomic(a.out, text);
  std::fputs(text.c_str(), stdout);
  return 0;
}

// `cohort meta train|eval` (meta/meta.h).
int CmdMeta(const Args& a) {
  if (a.positional.size() != 2 || (a.positional[0] != "train" && a.positional[0] != "eval"))
    throw InputError("cohort meta", "",
                     "expected `cohort meta train META.json` or `cohort meta eval META.json --rule R`");
  const MetaSpec spec = LoadMetaSpec(a.positional[1], a.sets);
  if (a.positional[0] == "train") {
    const std::string out = a.out.empty() ? "runs/meta_" + spec.resolved["name"].get<std::string>() : a.out;
    g_stop.store(false);
    auto previous = std::signal(SIGINT, OnSigint);
    const auto start = std::chrono::steady_clock::now();
    MetaTrainOptions o;
    o.out_dir = out;
    o.stop = &g_stop;
    Distribution dist;
    const bool mpi = MetaMpiBegin(dist);
    if (mpi) o.distribution = &dist;
    int64_t first = -1;
    o.progress = [&](const MetaProgress& p) {
      if (a.quiet || dist.rank != 0) return;
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
    std::signal(SIGINT, previous);
    if (dist.rank != 0) return done ? 0 : 130;
    if (!done) {
      std::fprintf(stderr, "interrupted: checkpoint written; rerun `cohort meta train %s --out %s` to resume\n",
                   a.positional[1].c_str(), out.c_str());
      return 130;
    }
    std::printf("meta run: %s (rule.json: the final mean; best_rule.json: the best on validation)\n", out.c_str());
    return 0;
  }
  if (a.rule.empty()) throw InputError("cohort meta eval", "--rule", "required: a rule file, or \"baseline\"");
  // "baseline" (or "adam", its name for the learned optimizer): theta = 0.
  const bool baseline = a.rule == "baseline" || (a.rule == "adam" && spec.learnable->type == "learned");
  const std::vector<float> theta = baseline ? std::vector<float>{} : ReadRuleFile(a.rule, *spec.learnable);
  const std::vector<MetaEvalRow> rows = MetaEvaluate(spec, theta, a.split, a.variants, a.seeds, spec.threads);
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
  std::fprintf(stderr, "%s on %s: %zu lifetimes, area %.4f, final %.4f, train_score %.4f, diverged %d\n",
               a.rule.c_str(), a.split.c_str(), rows.size(), n > 0 ? area / n : 0.0, n > 0 ? final_score / n : 0.0,
               n > 0 ? train / n : 0.0, diverged);
  return 0;
}

int CmdViz(const Args& a) {
  if (a.positional.size() != 1) throw InputError("cohort viz", "", "expected `cohort viz SCENARIO`");
  if (a.headless && a.screenshot.empty()) throw InputError("cohort viz", "--screenshot", "--headless needs a PNG path");
#ifdef COHORT_WITH_VIZ
  if (a.agents.size() > 1) throw InputError("cohort viz", "--agent", "give one training run (--agent RUN_DIR)");
  viz::VizOptions o;
  o.sim.scenario = ResolveScenario(a.positional[0]);
  o.sim.overrides = a.sets;
  if (!a.agents.empty()) o.sim.agent_checkpoint = a.agents.front();
  o.sim.rule = a.rule;
  o.select = a.select;
  o.steps_per_frame = a.steps_per_frame;
  if (!a.views.empty()) {
    o.views.clear();
    const std::vector<std::string>& known = viz::kViews;
    for (size_t begin = 0; begin <= a.views.size();) {
      const size_t end = std::min(a.views.find(',', begin), a.views.size());
      const std::string view = a.views.substr(begin, end - begin);
      if (view != "none" && std::find(known.begin(), known.end(), view) == known.end()) {
        const std::string hint = Suggest(view, known);
        throw InputError(
            "cohort viz", "--views",
            "unknown view \"" + view + "\"" +
                (hint.empty() ? " (views: " + Join(known) + ", none)" : " (did you mean \"" + hint + "\"?)"));
      }
      if (view != "none") o.views.push_back(view);
      begin = end + 1;
    }
  }
  if (!a.color_by.empty()) {
    const std::vector<std::string>& colors = viz::kColorings;
    if (std::find(colors.begin(), colors.end(), a.color_by) == colors.end())
      throw InputError("cohort viz", "--color-by", "\"" + a.color_by + "\" is not one of " + Join(colors));
    o.color_by = a.color_by;
  }
  o.tails = a.tails;
  o.headless = a.headless;
  o.frames = a.frames;
  o.screenshot = a.screenshot;
  return viz::RunViz(o);
#else
  std::fprintf(stderr, "error: this cohort was built without the visualizer (SDL2, Dear ImGui, OpenGL not found)\n");
  return 1;
#endif
}

// Every subcommand, once: dispatch and the unknown-command suggestion both
// read this table.
struct Command {
  const char* name;
  int (*run)(const Args& args, const char* argv0);
};
const Command kCommands[] = {
    {"run", [](const Args& a, const char*) { return CmdRun(a); }},
    {"validate", [](const Args& a, const char*) { return CmdValidate(a); }},
    {"list", [](const Args&, const char*) { return CmdList(); }},
    {"bench", [](const Args& a, const char*) { return CmdBench(a); }},
    {"sweep", [](const Args& a, const char* argv0) { return CmdSweep(a, argv0); }},
    {"report", [](const Args& a, const char*) { return CmdReport(a); }},
    {"meta", [](const Args& a, const char*) { return CmdMeta(a); }},
    {"viz", [](const Args& a, const char*) { return CmdViz(a); }},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kInputErrorExitCode : 0;
  }
  const std::string cmd = argv[1];
  try {
    const Args a = ParseArgs(argc, argv, 2);
    std::vector<std::string> names;
    for (const Command& c : kCommands) {
      if (cmd == c.name) return c.run(a, argv[0]);
      names.push_back(c.name);
    }
    const std::string hint = Suggest(cmd, names);
    throw InputError("cohort", "",
                     "unknown command \"" + cmd + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                         "; see cohort --help");
  } catch (const InputError& e) {
    for (const Problem& p : e.problems()) std::fprintf(stderr, "error: %s\n", p.ToString().c_str());
    return kInputErrorExitCode;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
