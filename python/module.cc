// cohort._cohort: the C++ core as a Python extension (pybind11 over NumPy).
// The Python package (python/cohort/__init__.py) is the public face; this
// module holds only what must be C++: building a scenario the way the CLI
// does, and a VecEnv whose reused buffers are handed to NumPy without copies.
//
// Observation and info arrays are views of the VecEnv's StepBatch buffers:
// each keeps its VecEnv alive (a capsule holding a shared_ptr, so a view made
// before reset(seed=...) rebuilt the VecEnv still points at live memory), and
// holds the values of the last reset/step until the next step overwrites them
// (docs/python.md). The views are made once per VecEnv (`generation` tells
// the Python layer when to make them again), so a step costs no allocation.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "apps/jobs.h"
#include "apps/offline.h"
#include "apps/ope.h"
#include "apps/scenario_files.h"
#include "apps/sweep.h"
#include "core/io.h"
#include "core/json_parse.h"
#include "core/schema.h"
#include "core/serialize.h"
#include "meta/meta.h"
#include "env/ground_truth.h"
#include "env/variants.h"
#include "env/vec_env.h"

namespace py = pybind11;
using namespace cohort;

namespace {

// Copies `slates` (any integer dtype) into out[0 .. num_envs * slate_size)
// as int32, checked: the dtype (TypeError), the shape and every index
// (ValueError naming the row). Repeated items within a row are
// VecEnv::Step's check.
void CopySlates(const EnvSpec& s, int num_envs, const py::array& slates, int32_t* out) {
  if (slates.dtype().kind() != 'i' && slates.dtype().kind() != 'u')
    throw py::type_error("slates must be an integer array, got dtype " + std::string(py::str(slates.dtype())));
  std::string shape;
  for (py::ssize_t i = 0; i < slates.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(slates.shape(i));
  if (slates.ndim() != 2 || slates.shape(0) != num_envs || slates.shape(1) != s.slate_size)
    throw py::value_error("slates must have shape (num_envs, slate_size) = (" + std::to_string(num_envs) + ", " +
                          std::to_string(s.slate_size) + "), got (" + shape + ")");
  const auto idx = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(slates);
  for (size_t i = 0; i < size_t(idx.size()); ++i) {
    const int64_t v = idx.data()[i];
    if (v < 0 || v >= s.num_candidates)
      throw py::value_error("slates row " + std::to_string(i / size_t(s.slate_size)) + ": position " +
                            std::to_string(i % size_t(s.slate_size)) + " holds " + std::to_string(v) +
                            ", outside the candidates [0, " + std::to_string(s.num_candidates - 1) + "]");
    out[i] = int32_t(v);
  }
}

// The same into a new (num_envs, slate_size) vector.
std::vector<int32_t> SlateRows(const EnvSpec& s, int num_envs, const py::array& slates) {
  std::vector<int32_t> out(size_t(num_envs) * size_t(s.slate_size));
  CopySlates(s, num_envs, slates, out.data());
  return out;
}

// The scenario of `source`: a name or path, or (is_document) JSON text of
// the scenario itself, named "<dict>" in errors.
Scenario LoadSource(const std::string& source, bool is_document, std::vector<std::string> sets,
                    std::optional<int64_t> seed, const std::optional<std::string>& variant,
                    std::optional<int> threads = std::nullopt) {
  if (is_document)
    return LoadScenarioDocument(ParseJson(source, "<dict>"), "<dict>", std::move(sets), seed, threads, variant);
  return LoadNamedScenario(source, std::move(sets), seed, threads, variant);
}

// A job's outcome for the Python layer: summary as JSON text, the rest plain.
py::dict OutcomeDict(const JobOutcome& o) {
  py::dict d;
  d["out"] = o.out;
  d["name"] = o.name;
  d["summary"] = o.summary.is_null() ? std::string() : o.summary.dump();
  d["already_complete"] = o.already_complete;
  d["stopped"] = o.stopped;
  d["signal"] = o.stopped ? std::string(o.SignalName()) : std::string();
  d["step"] = o.step;
  d["worker"] = o.worker;
  py::dict totals;
  totals["total"] = o.sweep.total;
  totals["skipped"] = o.sweep.skipped;
  totals["done"] = o.sweep.done;
  totals["failed"] = o.sweep.failed;
  totals["interrupted"] = o.sweep.interrupted;
  d["sweep"] = totals;
  return d;
}

// Runs a job with the GIL released; its outcome for the Python layer.
template <class Job>
py::dict Released(Job job) {
  JobOutcome outcome;
  {
    py::gil_scoped_release release;
    outcome = job();
  }
  return OutcomeDict(outcome);
}

// One environment: the scenario it was made from and its VecEnv.
class Env {
 public:
  Env(Scenario s, int num_envs, int threads, int64_t users, int64_t first_user)
      : scenario_(std::move(s)), num_envs_(num_envs), threads_(threads), users_(users), first_user_(first_user) {
    if (num_envs < 1) throw std::invalid_argument("num_envs must be at least 1, got " + std::to_string(num_envs));
    if (threads < 1) throw std::invalid_argument("threads must be at least 1, got " + std::to_string(threads));
    if (users < -1 || users == 0)
      throw std::invalid_argument("users must be at least 1 (or None: unlimited), got " + std::to_string(users));
    if (first_user < 0)
      throw std::invalid_argument("first_user must be non-negative, got " + std::to_string(first_user));
    Build(scenario_.seed);
  }

  const Scenario& scenario() const { return scenario_; }
  const VecEnv& vec_env() const { return *env_; }
  // Owns a reference to the VecEnv: the base object of its NumPy views.
  py::capsule Owner() const {
    return py::capsule(new std::shared_ptr<VecEnv>(env_),
                       [](void* p) { delete static_cast<std::shared_ptr<VecEnv>*>(p); });
  }
  // Incremented whenever the VecEnv (and so every buffer) is rebuilt.
  int generation() const { return generation_; }
  int num_envs() const { return num_envs_; }
  uint64_t seed() const { return seed_; }
  // Steps since the last reset; -1 before the first.
  int64_t steps() const { return steps_; }

  // Gymnasium semantics: a seed rebuilds the environment's streams from it;
  // no seed restarts from the current seed's first users.
  void Reset(std::optional<int64_t> seed) {
    if (seed) {
      if (*seed < 0) throw std::invalid_argument("seed must be non-negative, got " + std::to_string(*seed));
      Build(uint64_t(*seed));
    }
    py::gil_scoped_release release;
    env_->Reset();
    steps_ = 0;
  }

  void Step(const py::array& slates) {
    CopySlates(env_->spec(), num_envs_, slates, slates_.index.data());
    py::gil_scoped_release release;
    env_->Step(slates_);  // repeated items: std::invalid_argument naming the row (ValueError)
    ++steps_;
  }

 private:
  void Build(uint64_t seed) {
    seed_ = seed;
    steps_ = -1;
    env_ = std::make_shared<VecEnv>(scenario_.env, seed, scenario_.variant, VecEnv::Options{num_envs_, threads_, users_, first_user_});
    slates_.Resize(num_envs_, env_->spec().slate_size);
    ++generation_;
  }

  Scenario scenario_;
  int num_envs_, threads_;
  int64_t users_;  // -1: unlimited
  int64_t first_user_;
  std::shared_ptr<VecEnv> env_;
  SlateBatch slates_;
  int generation_ = 0;
  uint64_t seed_ = 0;
  int64_t steps_ = -1;
};

// A NumPy view of `v` shaped `shape`, keeping `owner` alive.
template <class T>
py::array View(const std::vector<T>& v, std::vector<py::ssize_t> shape, py::handle owner) {
  return py::array_t<T>(shape, v.data(), owner);
}
// The same for 0/1 bytes, as NumPy bools (one byte each).
py::array BoolView(const std::vector<uint8_t>& v, std::vector<py::ssize_t> shape, py::handle owner) {
  return py::array(py::dtype("bool"), shape, v.data(), owner);
}

py::dict Observation(const Env& e) {
  const py::capsule self = e.Owner();
  const StepBatch& b = e.vec_env().batch();
  const py::ssize_t B = b.rows, K = b.num_candidates, d = b.dim, H = b.history;
  py::dict obs;
  obs["interests"] = View(b.interests, {B, d}, self);
  obs["budget"] = View(b.budget, {B}, self);
  obs["history_topics"] = View(b.history_topics, {B, H}, self);
  obs["candidate_item"] = View(b.item_id, {B, K}, self);
  obs["candidate_topic"] = View(b.topic, {B, K}, self);
  obs["candidate_length"] = View(b.length, {B, K}, self);
  if (b.candidate_features) obs["candidate_features"] = View(b.features, {B, K, d}, self);
  if (b.sequence > 0) {  // env.observation.sequence: the last L interactions, most recent first
    const py::ssize_t L = b.sequence, k = b.slate_size;
    obs["sequence_length"] = View(b.sequence_length, {B}, self);
    b.ForEachSequenceField([&](const char* name, const auto& v, int width, double, Domain) {
      if (width == 0) return;
      std::vector<py::ssize_t> shape = {B, L};
      if (std::string_view(name) == "sequence_features")
        shape.insert(shape.end(), {k, d});
      else if (width == k)
        shape.push_back(k);
      obs[name] = View(v, shape, self);  // flags as uint8 0/1, as their space says
    });
  }
  return obs;
}

py::dict Info(const Env& e) {
  const py::capsule self = e.Owner();
  const StepBatch& b = e.vec_env().batch();
  const py::ssize_t B = b.rows, k = b.slate_size, d = b.dim;
  py::dict info;
  info["env_id"] = View(b.env_id, {B}, self);
  info["user_id"] = View(b.user_id, {B}, self);
  info["active"] = BoolView(b.active, {B}, self);
  info["session_index"] = View(b.session_index, {B}, self);
  info["session_step"] = View(b.session_step, {B}, self);
  info["episode_step"] = View(b.episode_step, {B}, self);
  info["session_ended"] = BoolView(b.session_ended, {B}, self);
  info["end_reason"] = View(b.end_reason, {B}, self);
  info["gap"] = View(b.gap, {B}, self);
  info["click_position"] = View(b.click_position, {B}, self);
  info["examined"] = BoolView(b.examined, {B, k}, self);
  info["clicked"] = BoolView(b.clicked, {B, k}, self);
  info["liked"] = BoolView(b.liked, {B, k}, self);
  info["disliked"] = BoolView(b.disliked, {B, k}, self);
  info["watch_time"] = View(b.watch_time, {B, k}, self);
  info["final_interests"] = View(b.final_interests, {B, d}, self);
  return info;
}

py::dict Spec(const Env& e) {
  const EnvSpec& s = e.vec_env().spec();
  py::dict d;
  d["num_envs"] = e.num_envs();
  d["num_candidates"] = s.num_candidates;
  d["slate_size"] = s.slate_size;
  d["feature_dim"] = s.feature_dim;
  d["num_topics"] = s.num_topics;
  d["history"] = s.history;
  d["sequence"] = s.sequence;
  d["interests_observed"] = s.interests_observed();
  d["interests"] = s.interests == Observability::kVisible ? "visible"
                   : s.interests == Observability::kNoisy ? "noisy"
                                                          : "hidden";
  d["budget_observed"] = s.budget_observed;
  d["candidate_features"] = s.candidate_features;
  d["live_catalog"] = s.arms_are_items;
  d["max_episode_steps"] = s.max_episode_steps;
  return d;
}


// A built-in agent (agents/registry.h) acting in one Env from Python. It is
// bound to the Env it was made for: act/observe read that Env's current
// StepBatch (the Python layer checks that the observation passed is that
// Env's), in the order the runner keeps (agents/agent.h): act, the Env's step,
// observe, update. Save/load write the agent's complete state (its Save/Load,
// random streams included) in a sealed file that also records the resolved
// config and the number of rows, so a state is never loaded into another agent.
class AgentHandle {
 public:
  AgentHandle(Env& env, const std::string& config_text, int64_t total_steps) : env_(&env) {
    // Resolved and validated as the "agent" block of the Env's scenario, so
    // defaults, ranges and cross-field checks are the CLI's; errors name
    // the file "<agent>" and the JSON path /agent/...
    json doc = env.scenario().resolved;
    doc["agent"] = ParseJson(config_text, "<agent>");
    const Scenario s = ParseScenario(doc, "<agent>", AgentRegistry());
    config_ = s.agent;
    if (total_steps < 0)
      throw std::invalid_argument("total_steps must be non-negative, got " + std::to_string(total_steps));
    AgentContext ctx{env.vec_env().spec(), GroundTruth(env.vec_env()), env.seed(), env.scenario().variant,
                     env.num_envs(), total_steps};
    privileged_ = IsPrivileged(config_);
    agent_ = MakeAgent(config_, ctx);
    generation_ = env.generation();
    slates_.Resize(env.num_envs(), env.vec_env().spec().slate_size);
  }

  const json& config() const { return config_; }
  const Agent& agent() const { return *agent_; }
  bool privileged() const { return privileged_; }
  const SlateBatch& slates() const { return slates_; }

  void Act() {
    const StepBatch& b = Current("act");
    {
      py::gil_scoped_release release;
      agent_->Act(b, slates_);
    }
    acted_at_ = env_->steps();
    observed_ = false;
  }

  void Observe() {
    if (!training_) return;  // the frozen policy observes nothing (documented)
    const StepBatch& b = Current("observe");
    if (acted_at_ < 0 || env_->steps() != acted_at_ + 1 || observed_)
      throw std::runtime_error(
          "observe() takes the result of env.step() on the slates of this agent's last act(): call act(obs), "
          "env.step(slates), then observe(...) once per step");
    observed_ = true;
    py::gil_scoped_release release;
    agent_->Observe(b);
  }

  std::map<std::string, double> Update() {
    if (!training_) return {};
    py::gil_scoped_release release;
    return agent_->Update();
  }

  void SetTraining(bool training) {
    training_ = training;
    agent_->SetTraining(training);
  }
  bool training() const { return training_; }

  // (rows, K) scores, NaN where a row has none; and the score's name.
  std::pair<py::array_t<double>, std::string> Scores() {
    const StepBatch& b = Current("scores");
    const int K = b.num_candidates;
    py::array_t<double> out({py::ssize_t(b.rows), py::ssize_t(K)});
    double* o = out.mutable_data();
    std::fill(o, o + size_t(b.rows) * size_t(K), std::nan(""));
    std::string name;
    for (int r = 0; r < b.rows; ++r) {
      const std::string n = agent_->CandidateScores(b, r, o + size_t(r) * size_t(K));
      if (!n.empty()) name = n;
    }
    return {out, name};
  }

  void Save(const std::string& path) const {
    BinaryWriter w;
    w.String(kMagic);
    w.Pod(kVersion);
    w.String(config_.dump());
    w.Pod(int32_t(env_->num_envs()));
    w.Tag("agent");
    agent_->Save(w);
    WriteFileAtomic(path, Seal(w.data()));
  }

  void Load(const std::string& path) {
    const std::string bytes = ReadFileBytes(path);
    BinaryReader r(Unseal(bytes, path), path);
    std::string magic, config;
    r.String(magic);
    if (magic != kMagic) throw std::runtime_error(path + " is not a Cohort agent file (written by Agent.save)");
    const uint32_t version = r.Get<uint32_t>();
    if (version != kVersion)
      throw std::runtime_error(path + " is an agent file of format " + std::to_string(version) +
                               "; this Cohort reads " + std::to_string(kVersion));
    r.String(config);
    json stored;
    try {
      stored = ParseJson(config, path);
    } catch (const InputError& e) {
      r.Fail(std::string("its config: ") + e.what());
    }
    if (stored != config_)
      throw std::invalid_argument(path + " holds the state of another agent: " + stored.dump() +
                                  "; this agent is " + config_.dump());
    const int32_t rows = r.Get<int32_t>();
    if (rows != env_->num_envs())
      throw std::invalid_argument(path + " holds an agent for num_envs=" + std::to_string(rows) +
                                  "; this agent's environment has num_envs=" + std::to_string(env_->num_envs()));
    r.Tag("agent");
    agent_->Load(r);
    r.Check(r.done(), "trailing data after the agent's state");
  }

 private:
  static constexpr const char* kMagic = "cohort-python-agent";
  static constexpr uint32_t kVersion = 1;

  static std::string ReadFileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument(path + ": cannot be read");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }

  // The Env's batch, after checking the Env was reset and (for agents that
  // read ground truth) not rebuilt by reset(seed=...) since this agent was
  // made: its handle would point at the old one.
  const StepBatch& Current(const char* what) const {
    if (env_->steps() < 0)
      throw std::runtime_error(std::string(what) + "(): call env.reset() first");
    if (privileged_ && env_->generation() != generation_)
      throw std::runtime_error(std::string(what) + "(): the environment was reset with a new seed after this agent "
                               "was made, and \"" + config_["type"].get<std::string>() +
                               "\" reads its ground truth: make the agent again (cohort.agent(env, ...))");
    return env_->vec_env().batch();
  }

  Env* env_;
  json config_;
  std::unique_ptr<Agent> agent_;
  bool privileged_ = false, training_ = true, observed_ = false;
  int generation_ = 0;
  int64_t acted_at_ = -1;
  SlateBatch slates_;
};

}  // namespace

PYBIND11_MODULE(_cohort, m) {
  m.doc() = "Cohort's C++ core (use the cohort package, not this module)";

  // ScenarioError: a ValueError whose message is the CLI's, with .file, .path
  // (the JSON pointer) and .problems (every problem as (file, path, message)).
  static py::exception<InputError> scenario_error(m, "ScenarioError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      py::object err = py::handle(scenario_error.ptr())(py::str(e.what()));
      const auto& problems = e.problems();
      err.attr("file") = problems.empty() ? "" : problems[0].file;
      err.attr("path") = problems.empty() ? "" : problems[0].path;
      py::list all;
      for (const Problem& q : problems) all.append(py::make_tuple(q.file, q.path, q.message));
      err.attr("problems") = all;
      PyErr_SetObject(scenario_error.ptr(), err.ptr());
    }
  });

  m.def("shipped_scenarios", &ShippedScenarioNames, "Names of the shipped scenarios.");
  m.def(
      "variants",
      [](const std::string& source, bool is_document, std::vector<std::string> sets, const std::string& split) {
        const Scenario s = LoadSource(source, is_document, std::move(sets), std::nullopt, std::nullopt);
        const VariantFamily family(s, AgentRegistry());
        if (family.empty()) throw InputError(s.file, "/family", "defines no variant family");
        // Checked here rather than by VariantFamily::Sample, whose message
        // names the CLI's --variant.
        const auto& names = family.splits();
        if (std::find(names.begin(), names.end(), split) == names.end()) {
          const std::string hint = Suggest(split, names);
          throw InputError(s.file, "/family", "has no split \"" + split + "\"" +
                                                  (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                                                  "; its splits: " + Join(names));
        }
        py::list out;
        const int64_t n = family.SplitSize(split);
        for (int64_t i = 0; i < n; ++i) {
          const Variant& v = family.Sample(split, i);
          py::dict values;
          for (const auto& [path, value] : v.values) values[py::str(path)] = value;
          py::dict d;
          d["name"] = v.split + ":" + std::to_string(v.index);
          d["split"] = v.split;
          d["index"] = v.index;
          d["id"] = v.id;
          d["values"] = values;
          out.append(d);
        }
        return out;
      },
      py::arg("source"), py::arg("is_document"), py::arg("sets"), py::arg("split"));


  // The CLI's jobs (apps/jobs.h), with the GIL released while they run.
  m.def(
      "run",
      [](const std::string& source, bool is_document, std::vector<std::string> sets, std::optional<int64_t> seed,
         std::optional<std::string> variant, std::optional<int> threads, std::optional<std::string> out, bool force,
         bool quiet) {
        const Scenario s = LoadSource(source, is_document, std::move(sets), seed, variant, threads);
        RunJobOptions o;
        o.out = out.value_or("");
        o.keep_nothing = !out.has_value();
        o.force = force;
        o.quiet = quiet;
        return Released([&] { return RunJob(s, o); });
      },
      py::arg("source"), py::arg("is_document"), py::arg("sets"), py::arg("seed"), py::arg("variant"),
      py::arg("threads"), py::arg("out"), py::arg("force"), py::arg("quiet"));
  m.def(
      "resume",
      [](const std::string& dir, bool quiet) {
        return Released([&] { return ResumeRunJob(dir, quiet); });
      },
      py::arg("dir"), py::arg("quiet"));
  m.def(
      "sweep",
      [](const std::string& file, std::vector<std::string> sets, const std::string& out, int jobs, int64_t shard,
         int64_t shards, bool quiet, const std::string& binary) {
        const Sweep sweep = LoadSweep(file, sets);
        SweepOptions o;
        o.out_dir = out;
        o.jobs = jobs;
        o.quiet = quiet;
        o.cohort_binary = binary;
        o.shard = shard;
        o.shards = shards;
        return Released([&] { return SweepJob(sweep, o); });
      },
      py::arg("file"), py::arg("sets"), py::arg("out"), py::arg("jobs"), py::arg("shard"), py::arg("shards"),
      py::arg("quiet"), py::arg("binary"));
  m.def(
      "report",
      [](const std::string& dir, std::vector<std::string> group_by, std::vector<std::string> metrics,
         const std::string& baseline) {
        ReportOptions o;
        o.group_by = std::move(group_by);
        o.metrics = std::move(metrics);
        o.baseline = ParseJson(baseline, "baseline");
        json rows;
        {
          py::gil_scoped_release release;
          rows = WriteReport(dir, o);
        }
        return rows.dump();
      },
      py::arg("dir"), py::arg("group_by"), py::arg("metrics"), py::arg("baseline"));
  m.def(
      "log",
      [](const std::string& source, bool is_document, std::vector<std::string> sets, std::optional<int64_t> seed,
         std::optional<std::string> variant, std::optional<int> threads, const std::string& out, bool csv, bool force,
         bool quiet) {
        const Scenario s = LoadSource(source, is_document, std::move(sets), seed, variant, threads);
        LogJobOptions o;
        o.out = out;
        o.csv = csv;
        o.force = force;
        o.quiet = quiet;
        return Released([&] { return LogJob(s, o); });
      },
      py::arg("source"), py::arg("is_document"), py::arg("sets"), py::arg("seed"), py::arg("variant"),
      py::arg("threads"), py::arg("out"), py::arg("csv"), py::arg("force"), py::arg("quiet"));
  m.def(
      "ope",
      [](const std::vector<std::string>& log_dirs, const std::string& target, std::vector<std::string> estimators,
         int bootstrap, uint64_t seed, const std::string& terms) {
        OpeRequest q;
        q.target = target;
        q.terms = terms;
        q.estimators = std::move(estimators);
        q.options.bootstrap_samples = bootstrap;
        q.options.seed = seed;
        json result;
        {
          py::gil_scoped_release release;
          if (log_dirs.size() == 1) {
            q.log_dir = log_dirs[0];
            result = EvaluateOffPolicy(q);
          } else {
            result = EvaluateOverLogs(log_dirs, q);
          }
        }
        return result.dump();
      },
      py::arg("log_dirs"), py::arg("target"), py::arg("estimators"), py::arg("bootstrap"), py::arg("seed"),
      py::arg("terms"));
  m.def(
      "train_offline",
      [](const std::string& log_dir, const std::string& out, double l2) {
        OfflineFit fit;
        {
          py::gil_scoped_release release;
          fit = TrainOffline(log_dir, out, l2);
        }
        return fit.model.dump();
      },
      py::arg("log_dir"), py::arg("out"), py::arg("l2"));
  m.def(
      "train_offline_agent",
      [](const std::string& log_dir, const std::string& agent, const std::string& out, double l2, bool evaluate,
         int sequence) {
        OfflineRequest q;
        q.log_dir = log_dir;
        q.agent = agent;
        q.out = out;
        q.lambda = l2;
        q.evaluate = evaluate;
        q.sequence = sequence;
        json result;
        {
          py::gil_scoped_release release;
          result = TrainOfflineAgent(q);
        }
        return result.dump();
      },
      py::arg("log_dir"), py::arg("agent"), py::arg("out"), py::arg("l2"), py::arg("evaluate"), py::arg("sequence"));
  m.def(
      "meta_train",
      [](const std::string& file, std::vector<std::string> sets, const std::string& out, bool resume, bool quiet) {
        MetaTrainJobOptions o;
        o.meta_file = resume ? "" : file;
        o.sets = std::move(sets);
        o.out = out;
        o.resume = resume;
        o.quiet = quiet;
        return Released([&] { return MetaTrainJob(o); });
      },
      py::arg("file"), py::arg("sets"), py::arg("out"), py::arg("resume"), py::arg("quiet"));
  m.attr("cohort_binary") = COHORT_BINARY_PATH;

  py::class_<Env>(m, "Env")
      .def(py::init([](const std::string& source, bool is_document, std::vector<std::string> sets,
                       std::optional<int64_t> seed, std::optional<std::string> variant, int num_envs, int threads,
                       int64_t users, int64_t first_user) {
             return std::make_unique<Env>(LoadSource(source, is_document, std::move(sets), seed, variant), num_envs,
                                          threads, users, first_user);
           }),
           py::arg("source"), py::arg("is_document"), py::arg("sets"), py::arg("seed"), py::arg("variant"),
           py::arg("num_envs"), py::arg("threads"), py::arg("users"), py::arg("first_user"))
      .def("reset", &Env::Reset, py::arg("seed") = py::none())
      .def("step", &Env::Step, py::arg("slates"))
      .def("observation", &Observation)
      .def("info", &Info)
      .def("outcome",
           [](const Env& e) {
             const py::capsule self = e.Owner();
             const StepBatch& b = e.vec_env().batch();
             const py::ssize_t B = e.num_envs();
             return py::make_tuple(View(b.reward, {B}, self), BoolView(b.terminated, {B}, self),
                                   BoolView(b.truncated, {B}, self));
           })
      .def_property_readonly("generation", &Env::generation)
      .def("spec", &Spec)
      .def_property_readonly("resolved", [](const Env& e) { return e.scenario().resolved.dump(); })
      .def_property_readonly("variant", [](const Env& e) { return e.scenario().variant_name; })
      // Ground truth [privileged]: never part of an observation.
      .def("truth_choice_probabilities",
           [](const Env& e, const py::array& slates) {
             const std::vector<int32_t> rows = SlateRows(e.vec_env().spec(), e.num_envs(), slates);
             const int k = e.vec_env().spec().slate_size;
             py::array_t<double> out({py::ssize_t(e.num_envs()), py::ssize_t(k)});
             double* o = out.mutable_data();
             const GroundTruth truth(e.vec_env());
             for (int r = 0; r < e.num_envs(); ++r) truth.ChoiceProbabilities(r, &rows[size_t(r) * k], o + r * k);
             return out;
           })
      .def("truth_expected_reward",
           [](const Env& e, const py::array& slates) {
             const std::vector<int32_t> rows = SlateRows(e.vec_env().spec(), e.num_envs(), slates);
             const int k = e.vec_env().spec().slate_size;
             py::array_t<double> out(py::ssize_t(e.num_envs()));
             const GroundTruth truth(e.vec_env());
             for (int r = 0; r < e.num_envs(); ++r)
               out.mutable_data()[r] = truth.ExpectedReward(r, &rows[size_t(r) * k]);
             return out;
           })
      .def("truth_oracle_slates",
           [](const Env& e) {
             const int k = e.vec_env().spec().slate_size;
             py::array_t<int32_t> slates({py::ssize_t(e.num_envs()), py::ssize_t(k)});
             py::array_t<double> value(py::ssize_t(e.num_envs()));
             const GroundTruth truth(e.vec_env());
             for (int r = 0; r < e.num_envs(); ++r)
               value.mutable_data()[r] = truth.OracleSlate(r, slates.mutable_data() + r * k);
             return py::make_tuple(slates, value);
           })
      .def("truth_quality",
           [](const Env& e) {
             const int K = e.vec_env().spec().num_candidates;
             py::array_t<float> out({py::ssize_t(e.num_envs()), py::ssize_t(K)});
             const GroundTruth truth(e.vec_env());
             for (int r = 0; r < e.num_envs(); ++r)
               std::copy_n(truth.CandidateQualities(r), K, out.mutable_data() + r * K);
             return out;
           })
      .def("truth_interests", [](const Env& e) {
        const int d = e.vec_env().spec().feature_dim;
        py::array_t<float> out({py::ssize_t(e.num_envs()), py::ssize_t(d)});
        const GroundTruth truth(e.vec_env());
        for (int r = 0; r < e.num_envs(); ++r) std::copy_n(truth.TrueInterests(r), d, out.mutable_data() + r * d);
        return out;
      });

  py::class_<AgentHandle>(m, "Agent")
      .def(py::init<Env&, const std::string&, int64_t>(), py::arg("env"), py::arg("config"), py::arg("total_steps"),
           py::keep_alive<1, 2>())
      .def("act",
           [](py::object self) {
             AgentHandle& a = self.cast<AgentHandle&>();
             a.Act();
             const SlateBatch& s = a.slates();
             return py::array_t<int32_t>({py::ssize_t(s.rows), py::ssize_t(s.slate_size)}, s.index.data(), self);
           })
      .def("observe", &AgentHandle::Observe)
      .def("update", &AgentHandle::Update)
      .def("scores", &AgentHandle::Scores)
      .def("save", &AgentHandle::Save, py::arg("path"))
      .def("load", &AgentHandle::Load, py::arg("path"))
      .def("set_training", &AgentHandle::SetTraining, py::arg("training"))
      .def_property_readonly("training", &AgentHandle::training)
      .def_property_readonly("type", [](const AgentHandle& a) { return a.agent().type(); })
      .def_property_readonly("learns", [](const AgentHandle& a) { return a.agent().learns(); })
      .def_property_readonly("privileged", &AgentHandle::privileged)
      .def_property_readonly("config", [](const AgentHandle& a) { return a.config().dump(); })
      .def("entropy", [](const AgentHandle& a) {
        return py::make_tuple(a.agent().LastPolicyEntropy(), a.agent().MaxPolicyEntropy());
      });
}
