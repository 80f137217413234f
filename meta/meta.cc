#include "meta/meta.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "agents/learnable.h"
#include "agents/memory.h"
#include "agents/registry.h"
#include "agents/update_rules.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "env/variants.h"

namespace cohort {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMagic = "cohort-meta-checkpoint";
constexpr uint32_t kVersion = 2;  // 2: sealed with a checksum (core/serialize.h)

const ComponentRegistry& LearnableRuleRegistry();

struct Schemas {
  Schema lifetime{"one training lifetime"}, es{"OpenAI-ES"}, validation{"checkpoint selection"}, root{"meta file"};
  Schemas() {
    lifetime.Integer("steps", 60, 1, 1'000'000'000, "T: batched training steps per lifetime")
        .Integer("steps_min", 0, 0, 1'000'000'000, "with steps_max > steps_min: T ~ log-uniform in [min, max]")
        .Integer("steps_max", 0, 0, 1'000'000'000, "see steps_min (0: every lifetime has `steps`)")
        .Integer("num_envs", 32, 1, 1 << 20, "training user slots")
        .Integer("eval_users", 64, 1, 1 << 24, "held-out users per evaluation point")
        .Integer("evals", 3, 1, 1000, "evaluation points of the learning curve (area = their mean)")
        .String("fitness", "eval_area", {"eval_area", "train_score"},
                "ES fitness: eval_area = mean of the frozen policy's normalized-score curve; train_score = the "
                "training users' normalized reward per step (bandits: charges exploration's regret; "
                "meta/lifetime.h)");
    es.Integer("pairs", 8, 1, 1 << 20, "antithetic pairs per generation")
        .Integer("generations", 20, 1, 1'000'000'000, "generations to run")
        .PositiveNumber("sigma", 0.03, "perturbation scale")
        .PositiveNumber("lr", 0.02, "Adam step size on the mean")
        .Number("sigma_decay", 0.999, 0.0, 1.0, "sigma multiplier per generation")
        .Number("lr_decay", 0.999, 0.0, 1.0, "lr multiplier per generation")
        .String("shaping", "zscore", {"zscore", "sign"}, "within-pair fitness shaping")
        .Integer("seed", 0, 0, std::numeric_limits<long long>::max(), "noise, variant and lifetime draws")
        .Integer("init_seed", 0, 0, std::numeric_limits<long long>::max(),
                 "the rule's initial theta (which behaves exactly as its baseline, e.g. Adam)");
    validation.Integer("every", 10, 1, 1'000'000'000, "generations between validations")
        .Integer("variants", 8, 1, 1 << 20, "validation variants (indices 0..n-1, one seed each)");
    root.String("name", "meta", {}, "name of the meta run")
        .String("description", "", {}, "free text")
        .String("scenario", "", {}, "scenario file with a variant family (relative to this file)")
        .Required("scenario")
        .Component("agent", &AgentRegistry(), "reinforce", "the agent trained in every lifetime")
        .Component("rule", &LearnableRuleRegistry(), "learned",
                   "the learnable rule (agents/learnable.h) with its baseline's settings, no theta/file; it "
                   "fills the agent's slot for that rule")
        .Object("lifetime", &lifetime, "lifetimes")
        .Object("es", &es, "the outer loop")
        .Object("validation", &validation, "validation")
        .Integer("threads", 0, 0, 4096, "lifetimes run in parallel (0: every core)");
  }
};

const Schemas& GetSchemas() {
  static const Schemas s;
  return s;
}

struct Task {
  int64_t variant_index = 0;
  uint64_t seed = 0;
  int64_t steps = 0;
};

// Pair p of generation g: its training variant, lifetime seed and length.
Task DrawTask(const MetaSpec& spec, int64_t split_size, int64_t generation, int pair) {
  Rng rng = MakeRng(spec.es.seed ^ 0x6d657461ULL, uint64_t(generation), uint64_t(pair), StreamPurpose::kMeta);
  Task t;
  t.variant_index = int64_t(rng.Below(uint32_t(split_size)));
  t.seed = rng();
  t.steps = spec.lifetime.steps;
  if (spec.steps_max > spec.steps_min && spec.steps_min > 0) {
    const double lo = std::log(double(spec.steps_min)), hi = std::log(double(spec.steps_max));
    t.steps = std::llround(std::exp(rng.Uniform(lo, hi)));
  }
  return t;
}

int Threads(int requested) {
  if (requested > 0) return requested;
  return std::max(1, int(std::thread::hardware_concurrency()));
}

// Runs `n` lifetimes in parallel; results by index (thread-count and rank
// independent).
std::vector<LifetimeResult> RunAll(int n, int threads, const std::function<LifetimeResult(int)>& one,
                                   const Distribution* dist = nullptr) {
  std::vector<LifetimeResult> out(static_cast<size_t>(n));
  std::vector<std::string> errors(static_cast<size_t>(n));
  const int rank = dist ? dist->rank : 0, size = dist ? dist->size : 1;
  auto body = [&](int begin, int end) {
    for (int i = begin; i < end; ++i) {
      if (i % size != rank) continue;
      try {
        out[size_t(i)] = one(i);
      } catch (const std::exception& e) {
        errors[size_t(i)] = e.what();
      }
    }
  };
  const int t = std::min(threads, n);
  if (t <= 1) {
    body(0, n);
  } else {  // one lifetime per chunk so slow ones do not hold up a whole chunk
    ThreadPool pool(t);
    for (int start = 0; start < n; start += t) {
      const int count = std::min(t, n - start);
      pool.ParallelFor(count, [&](int b, int e) { body(start + b, start + e); });
    }
  }
  std::string error;
  for (const std::string& e : errors)
    if (!e.empty() && error.empty()) error = e;
  if (dist != nullptr && dist->size > 1) {
    // Every rank adds its lifetimes' scalars; the others contribute zeros
    // (x + 0 is exact, so the sums equal the single-process values).
    std::vector<double> packed(size_t(n) * 4 + 1, 0.0);
    for (int i = 0; i < n; ++i) {
      if (i % size != rank) continue;
      const LifetimeResult& r = out[size_t(i)];
      packed[size_t(i) * 4] = r.area;
      packed[size_t(i) * 4 + 1] = r.final_score;
      packed[size_t(i) * 4 + 2] = r.diverged ? 1.0 : 0.0;
      packed[size_t(i) * 4 + 3] = double(r.user_steps);
    }
    packed.back() = error.empty() ? 0.0 : 1.0;  // any rank failed: all throw
    dist->sum(packed);
    for (int i = 0; i < n; ++i) {
      LifetimeResult& r = out[size_t(i)];
      r.area = packed[size_t(i) * 4];
      r.final_score = packed[size_t(i) * 4 + 1];
      r.diverged = packed[size_t(i) * 4 + 2] != 0.0;
      r.user_steps = int64_t(packed[size_t(i) * 4 + 3]);
    }
    if (packed.back() != 0.0 && error.empty()) error = "on another rank";
  }
  if (!error.empty()) throw std::runtime_error("lifetime failed: " + error);
  return out;
}

double Mean(const std::vector<double>& v) {
  double s = 0.0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n > 0 ? s / n : std::numeric_limits<double>::quiet_NaN();
}

json Finite(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

// Every learnable rule with its component schema (the "rule" block of a meta
// file), found in the slot of the agents that take it.
const ComponentRegistry& LearnableRuleRegistry() {
  static const ComponentRegistry registry = [] {
    ComponentRegistry r("learnable rule");
    for (const LearnableRule& l : LearnableRules())
      for (const ComponentInfo& agent : AgentRegistry().components())
        if (const ComponentInfo* c = LearnableSlot(agent, l); c != nullptr && r.Find(l.type) == nullptr)
          r.Register({l.type, c->doc + " [fills the agent's \"" + l.slot + "\"]", c->schema});
    return r;
  }();
  return registry;
}

// The rule must fill a slot of the agent, without theta or file (meta-training
// provides theta).
void ResolveRule(MetaSpec& spec, const std::string& path) {
  spec.rule = spec.resolved["rule"];
  spec.learnable = FindLearnableRule(spec.rule["type"].get<std::string>());
  const std::string agent_type = spec.agent["type"].get<std::string>();
  const ComponentInfo* agent = AgentRegistry().Find(agent_type);
  if (agent == nullptr || LearnableSlot(*agent, *spec.learnable) == nullptr)
    throw InputError(path, "/agent/type",
                     "agent \"" + agent_type + "\" has no \"" + spec.learnable->slot +
                         "\" that takes the learnable rule \"" + spec.learnable->type + "\"");
  if (!spec.rule["file"].get<std::string>().empty() || !spec.rule["theta"].empty())
    throw InputError(path, "/rule", "meta-training provides theta itself: remove \"file\"/\"theta\"");
}

// Before the variant family is built: it (every variant of every split) and
// the lifetimes that run at once, one per thread, each with its training and
// evaluation simulators and its agent (agents/memory.h).
void CheckMetaMemory(const Scenario& base, const json& r, const std::string& path) {
  MemoryEstimate memory;
  AddFamilyMemory(base.resolved, memory);
  const json& lt = r["lifetime"];
  const int64_t rows = lt["num_envs"].get<int64_t>();
  const int64_t eval_rows = std::min<int64_t>(rows, lt["eval_users"].get<int64_t>());
  const int64_t steps = std::max(lt["steps"].get<int64_t>(), lt["steps_max"].get<int64_t>());
  const std::string rows_key = "lifetime.num_envs=" + std::to_string(rows);
  MemoryEstimate lifetime;
  AddVecEnvMemory(base.env, base.resolved, rows, rows_key, lifetime, "training simulator");
  AddVecEnvMemory(base.env, base.resolved, eval_rows, rows_key, lifetime, "evaluation simulator");
  AddCatalogMemory(base.env, base.resolved, CatalogItems(base.env, double(steps)), 3, lifetime);
  AddAgentMemory(r["agent"], base.env, base.resolved, rows, rows_key, steps, lifetime);
  const int threads = Threads(r["threads"].get<int>());
  memory.Add(lifetime, threads, threads > 1 ? "each of " + std::to_string(threads) + " lifetimes at once: " : "");
  const std::string no_pointer;  // the keys named are the scenario's and the meta file's
  CheckMemory(memory, path, "meta-training on " + base.file, &no_pointer);
}

}  // namespace

const Schema& MetaSchema() { return GetSchemas().root; }

MetaSpec LoadMetaSpec(const std::string& path, const std::vector<std::string>& overrides) {
  json doc = ReadJsonFile(path);
  for (const std::string& o : overrides) ApplyOverride(doc, o, MetaSchema());
  MetaSpec spec;
  spec.file = path;
  try {
    spec.resolved = Validate(doc, MetaSchema(), path);
  } catch (const InputError& e) {
    RethrowBlamingOverrides(e, overrides);
  }
  const json& r = spec.resolved;
  const fs::path scenario = fs::path(path).parent_path() / r["scenario"].get<std::string>();
  spec.base = LoadScenario(scenario.string(), {}, AgentRegistry());
  CheckMetaMemory(spec.base, r, path);
  const VariantFamily family(spec.base, AgentRegistry());
  if (family.empty()) throw InputError(path, "/scenario", scenario.string() + " defines no variant family");
  spec.agent = r["agent"];
  const json& lt = r["lifetime"];
  spec.lifetime = {lt["steps"].get<int64_t>(), lt["num_envs"].get<int>(), lt["eval_users"].get<int>(),
                   lt["evals"].get<int>()};
  spec.lifetime.fitness = lt["fitness"].get<std::string>();
  spec.steps_min = lt["steps_min"].get<int64_t>();
  spec.steps_max = lt["steps_max"].get<int64_t>();
  if (spec.steps_max > 0 && (spec.steps_min < 1 || spec.steps_min >= spec.steps_max))
    throw InputError(path, "/lifetime/steps_min", "needs 1 <= steps_min < steps_max");
  const json& es = r["es"];
  spec.es.pairs = es["pairs"].get<int>();
  spec.es.sigma = es["sigma"].get<double>();
  spec.es.lr = es["lr"].get<double>();
  spec.es.sigma_decay = es["sigma_decay"].get<double>();
  spec.es.lr_decay = es["lr_decay"].get<double>();
  spec.es.shaping = es["shaping"].get<std::string>();
  spec.es.seed = es["seed"].get<uint64_t>();
  spec.generations = es["generations"].get<int>();
  spec.init_seed = es["init_seed"].get<uint64_t>();
  spec.validation_every = r["validation"]["every"].get<int>();
  spec.validation_variants = r["validation"]["variants"].get<int>();
  spec.threads = r["threads"].get<int>();
  ResolveRule(spec, path);
  return spec;
}

json AgentWithRule(const MetaSpec& spec, const std::vector<float>& theta) {
  json agent = spec.agent;
  json rule = spec.rule;
  rule["theta"] = theta.empty() ? json::array() : json(theta);
  agent[spec.learnable->slot] = rule;
  return agent;
}

std::vector<MetaEvalRow> MetaEvaluate(const MetaSpec& spec, const std::vector<float>& theta, const std::string& split,
                                      int variants, int seeds, int threads, const Distribution* distribution) {
  const VariantFamily family(spec.base, AgentRegistry());
  const int64_t size = family.SplitSize(split);
  const int n_variants = int(std::min<int64_t>(variants, size));
  const json agent = AgentWithRule(spec, theta);
  std::vector<MetaEvalRow> rows;
  for (int v = 0; v < n_variants; ++v)
    for (int s = 0; s < seeds; ++s) rows.push_back({v, uint64_t(1000003) * uint64_t(s + 1), {}});
  const std::vector<LifetimeResult> results = RunAll(
      int(rows.size()), Threads(threads),
      [&](int i) {
        const Scenario scenario = family.Instantiate(family.Sample(split, rows[size_t(i)].variant_index));
        return RunLifetime(scenario, agent, rows[size_t(i)].seed, spec.lifetime);
      },
      distribution);
  for (size_t i = 0; i < rows.size(); ++i) rows[i].result = results[i];
  return rows;
}

bool MetaTrain(const MetaSpec& spec, const MetaTrainOptions& o) {
  using Clock = std::chrono::steady_clock;
  const fs::path dir(o.out_dir);
  fs::create_directories(dir);
  const fs::path resolved_path = dir / "meta.resolved.json", checkpoint = dir / "checkpoint.bin";
  const bool writer = o.distribution == nullptr || o.distribution->rank == 0;
  OpenAiEs es(spec.es, InitialTheta(*spec.learnable, spec.init_seed));
  std::vector<std::string> lines;
  double best_validation = -std::numeric_limits<double>::infinity(), baseline_validation = 0.0;
  bool have_baseline = false;
  if (fs::exists(checkpoint)) {
    json stored = fs::exists(resolved_path) ? ReadJsonFile(resolved_path.string()) : json();
    // Runs from before lifetime.fitness existed used the (default) eval_area.
    if (stored.is_object() && stored.contains("lifetime") && !stored["lifetime"].contains("fitness"))
      stored["lifetime"]["fitness"] = "eval_area";
    if (stored != spec.resolved)
      throw InputError(o.out_dir, "", "holds a meta run of another meta file (meta.resolved.json differs)");
    std::ifstream in(checkpoint, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string data = buffer.str();
    BinaryReader r(Unseal(data, checkpoint.string()), checkpoint.string());
    std::string magic;
    r.String(magic);
    if (magic != kMagic || r.Get<uint32_t>() != kVersion)
      throw std::runtime_error(checkpoint.string() + " is not a Cohort meta checkpoint of this version");
    es.Load(r);
    lines.resize(r.Count("progress lines", sizeof(uint64_t)));
    for (std::string& l : lines) r.String(l);
    r.Pod(best_validation);
    r.Pod(baseline_validation);
    r.Pod(have_baseline);
    r.Check(r.done(), "trailing data after the last section");
  } else if (writer) {
    WriteFileAtomic(resolved_path.string(), spec.resolved.dump(2) + "\n");
  }
  auto save = [&] {
    if (!writer) return;
    BinaryWriter w;
    w.String(kMagic);
    w.Pod(kVersion);
    es.Save(w);
    w.Pod<uint64_t>(lines.size());
    for (const std::string& l : lines) w.String(l);
    w.Pod(best_validation);
    w.Pod(baseline_validation);
    w.Pod(have_baseline);
    std::string all;
    for (const std::string& l : lines) all += l + "\n";
    WriteFileAtomic((dir / "progress.jsonl").string(), all);
    WriteRuleFile((dir / "rule.json").string(), *spec.learnable, es.mean(),
                  {{"meta_file", spec.file}, {"generation", es.generation()}, {"agent", spec.agent}});
    WriteFileAtomic(checkpoint.string(), Seal(w.data()));
  };

  const VariantFamily family(spec.base, AgentRegistry());
  const int64_t train_size = family.SplitSize("train");
  const int threads = Threads(spec.threads);
  auto validate = [&](const std::vector<float>& theta) {
    const std::vector<MetaEvalRow> rows =
        MetaEvaluate(spec, theta, "validation", spec.validation_variants, 1, threads, o.distribution);
    std::vector<double> areas;
    for (const MetaEvalRow& row : rows) areas.push_back(row.result.area);
    return Mean(areas);
  };
  if (!have_baseline) {  // the baseline (theta = 0) on the validation variants: the reference to beat
    baseline_validation = validate({});
    have_baseline = true;
  }
  MetaProgress progress;
  progress.generations = spec.generations;
  while (es.generation() < spec.generations) {
    bool stop = (o.stop != nullptr && o.stop->load()) || es.generation() == o.stop_at_generation;
    if (o.distribution != nullptr && o.distribution->size > 1) {  // ranks agree, or they would deadlock
      std::vector<double> any = {stop ? 1.0 : 0.0};
      o.distribution->sum(any);
      stop = any[0] > 0.0;
    }
    if (stop) {
      save();
      return false;
    }
    const auto start = Clock::now();
    const int64_t g = es.generation();
    const int P = es.pairs();
    std::vector<Task> tasks;
    for (int p = 0; p < P; ++p) tasks.push_back(DrawTask(spec, train_size, g, p));
    const std::vector<LifetimeResult> results = RunAll(
        2 * P, threads,
        [&](int i) {
          const Task& t = tasks[size_t(i / 2)];
          LifetimeSpec life = spec.lifetime;
          life.steps = t.steps;
          const Scenario scenario = family.Instantiate(family.Sample("train", t.variant_index));
          return RunLifetime(scenario, AgentWithRule(spec, es.Candidate(i / 2, i % 2 == 0 ? 1 : -1)), t.seed, life);
        },
        o.distribution);
    std::vector<double> plus, minus, all;
    int diverged = 0;
    int64_t user_steps = 0;
    for (int p = 0; p < P; ++p) {
      plus.push_back(results[size_t(2 * p)].area);
      minus.push_back(results[size_t(2 * p + 1)].area);
      all.push_back(plus.back());
      all.push_back(minus.back());
      diverged += results[size_t(2 * p)].diverged + results[size_t(2 * p + 1)].diverged;
      user_steps += results[size_t(2 * p)].user_steps + results[size_t(2 * p + 1)].user_steps;
    }
    double best = -std::numeric_limits<double>::infinity();
    for (double f : all)
      if (std::isfinite(f)) best = std::max(best, f);
    const double sigma = es.sigma(), lr = es.lr();
    es.Update(plus, minus);
    progress.generation = es.generation();
    progress.fitness_mean = Mean(all);
    progress.fitness_best = best;
    lines.push_back(json{{"kind", "generation"},
                         {"generation", es.generation()},
                         {"fitness_mean", Finite(progress.fitness_mean)},
                         {"fitness_best", Finite(best)},
                         {"diverged", diverged},
                         {"sigma", sigma},
                         {"lr", lr},
                         {"lifetimes", 2 * P},
                         {"user_steps", user_steps},
                         {"seconds", std::chrono::duration<double>(Clock::now() - start).count()}}
                        .dump());
    if (es.generation() % spec.validation_every == 0 || es.generation() == spec.generations) {
      const double v = validate(es.mean());
      progress.validation = v;
      progress.has_validation = true;
      lines.push_back(json{{"kind", "validation"},
                           {"generation", es.generation()},
                           {"rule_area", Finite(v)},
                           {"baseline_area", Finite(baseline_validation)},
                           {"difference", Finite(v - baseline_validation)}}
                          .dump());
      if (std::isfinite(v) && v > best_validation) {
        best_validation = v;
        if (writer)
          WriteRuleFile((dir / "best_rule.json").string(), *spec.learnable, es.mean(),
                        {{"meta_file", spec.file},
                         {"generation", es.generation()},
                         {"validation_area", v},
                         {"baseline_validation_area", baseline_validation},
                         {"agent", spec.agent}});
      }
    }
    save();
    if (o.progress) o.progress(progress);
  }
  return true;
}

}  // namespace cohort
