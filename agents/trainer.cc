#include "agents/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agents/registry.h"
#include "core/json_parse.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/stats.h"

namespace fs = std::filesystem;

namespace cohort {
namespace {

constexpr const char* kMagic = "cohort-checkpoint";
// 2: the file ends with a checksum (core/serialize.h); loaders check every
// length and index.
constexpr uint32_t kVersion = 2;

// Training statistics between two log lines: episodes that ended in training
// and the agent's Update() statistics, averaged.
struct Interval {
  RunningStat episode_return;
  int64_t updates = 0;
  std::map<std::string, std::pair<double, int64_t>> stats;  // sum, count

  void AddStats(const std::map<std::string, double>& s) {
    if (s.empty()) return;
    ++updates;
    for (const auto& [k, v] : s) {
      auto& [sum, n] = stats[k];
      sum += v;
      ++n;
    }
  }
  void Save(BinaryWriter& out) const {
    out.Pod(episode_return);
    out.Pod(updates);
    out.Pod<uint64_t>(stats.size());
    for (const auto& [k, v] : stats) {
      out.String(k);
      out.Pod(v.first);
      out.Pod(v.second);
    }
  }
  void Load(BinaryReader& in) {
    in.Pod(episode_return);
    in.Pod(updates);
    stats.clear();
    const size_t n = in.Count("runner.interval.stats", sizeof(uint64_t) + 2 * sizeof(double));
    for (size_t i = 0; i < n; ++i) {
      std::string k;
      in.String(k);
      auto& v = stats[k];
      in.Pod(v.first);
      in.Pod(v.second);
    }
  }
};

// Field by field: EpisodeRecord has padding bytes, which must not reach a
// checkpoint (they would make identical states differ byte-wise). The
// training episodes in progress are saved without cold_start_return, which
// only evaluation rollouts report (AddReferenceScores), and those are never
// checkpointed part-way; so the format is unchanged.
void SaveRecords(BinaryWriter& out, const std::vector<EpisodeRecord>& v) {
  out.Pod<uint64_t>(v.size());
  for (const EpisodeRecord& e : v) {
    out.Pod(e.user), out.Pod(e.ret), out.Pod(e.length), out.Pod(e.clicks), out.Pod(e.likes);
    out.Pod(e.dislikes), out.Pod(e.watch_time), out.Pod(e.sessions), out.Pod(e.returns);
    out.Pod(e.terminated), out.Pod(e.truncated), out.Pod(e.regret);
  }
}

void LoadRecords(BinaryReader& in, std::vector<EpisodeRecord>& v, size_t rows) {
  constexpr size_t kRecordBytes = sizeof(EpisodeRecord::user) + sizeof(EpisodeRecord::ret) +
                                  sizeof(EpisodeRecord::length) + sizeof(EpisodeRecord::clicks) +
                                  sizeof(EpisodeRecord::likes) + sizeof(EpisodeRecord::dislikes) +
                                  sizeof(EpisodeRecord::watch_time) + sizeof(EpisodeRecord::sessions) +
                                  sizeof(EpisodeRecord::returns) + sizeof(EpisodeRecord::terminated) +
                                  sizeof(EpisodeRecord::truncated) + sizeof(EpisodeRecord::regret);
  const size_t n = in.Count("runner.records", kRecordBytes);
  in.Check(n == rows, "runner.records holds " + std::to_string(n) + " episodes in progress for " +
                          std::to_string(rows) + " slots");
  v.resize(n);
  for (EpisodeRecord& e : v) {
    in.Pod(e.user), in.Pod(e.ret), in.Pod(e.length), in.Pod(e.clicks), in.Pod(e.likes);
    in.Pod(e.dislikes), in.Pod(e.watch_time), in.Pod(e.sessions), in.Pod(e.returns);
    in.Pod(e.terminated), in.Pod(e.truncated), in.Pod(e.regret);
  }
}

std::string ReadCheckpointBytes(const std::string& file, const std::string& where) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(where, "", "has no checkpoint.bin");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Magic and version checked; returns the run's resolved scenario.
json ReadHeader(BinaryReader& r, const std::string& file) {
  std::string magic, resolved;
  r.String(magic);
  if (magic != kMagic) throw std::runtime_error(file + " is not a Cohort checkpoint");
  const uint32_t version = r.Get<uint32_t>();
  if (version != kVersion)
    throw std::runtime_error(file + " is a checkpoint of format " + std::to_string(version) + "; this Cohort reads " +
                             std::to_string(kVersion) + " (rerun without --resume)");
  r.String(resolved);
  try {
    return ParseJson(resolved, "the header");
  } catch (const InputError& e) {
    throw std::runtime_error("checkpoint " + file + " is corrupt: " + e.what());
  }
}

class Trainer {
 public:
  friend void cohort::LoadCheckpointBytes(const std::string&, const Scenario&, const std::string&);
  Trainer(const Scenario& s, const TrainOptions& o)
      : s_(s),
        o_(o),
        B_(s.run.num_envs),
        total_(s.run.train_steps),
        eval_every_(s.run.eval_every > 0 ? s.run.eval_every : std::max<int64_t>(1, total_ / 10)),
        checkpoint_every_(s.run.checkpoint_every > 0 ? s.run.checkpoint_every : eval_every_),
        env_(s.env, s.seed, s.variant, TrainingEnvOptions(s.run)) {
    AgentContext ctx{env_.spec(), GroundTruth(env_), s.seed, s.variant, B_, total_};
    agent_ = MakeAgent(s.agent, ctx, s.file);
    slates_.Resize(B_, s.env.slate_size);
  }

  TrainOutput Run() {
    const auto start = std::chrono::steady_clock::now();
    fs::create_directories(o_.out_dir);
    WriteFileAtomic(Path("scenario.resolved.json"), s_.resolved.dump(2) + "\n");
    if (env_.stationary()) ComputeReferences();
    if (o_.resume) {
      LoadCheckpoint();
    } else {
      env_.Reset();
      tracker_.Start(env_.batch());
      Evaluate();  // the untrained policy: step 0 of the learning curve
    }
    TrainOutput out;
    if (o_.progress) o_.progress(user_steps_, step_, total_);  // the starting point of the rate
    auto last_report = std::chrono::steady_clock::now();
    const auto train_start = last_report;
    const int64_t first_step = step_;
    while (step_ < total_) {
      if ((o_.stop != nullptr && o_.stop->load()) || step_ == o_.stop_at_step) {
        SaveCheckpoint();
        out.interrupted = true;
        out.step = step_;
        return out;
      }
      try {
        agent_->Act(env_.batch(), slates_);
        const StepBatch& result = env_.Step(slates_);
        for (int r = 0; r < B_; ++r)
          if (!std::isfinite(result.reward[size_t(r)]))
            throw TrainingDiverged("slot " + std::to_string(r) + "'s reward is NaN/Inf (env.reward's weights times "
                                   "the behaviour they weigh overflowed)");
        agent_->Observe(result);
        interval_.AddStats(agent_->Update());
      } catch (const TrainingDiverged& e) {
        throw std::runtime_error(
            agent_->type() + ": training diverged at step " + std::to_string(step_) + ": " + e.what() + "; " +
            (last_checkpoint_ >= 0 ? "the last good checkpoint (step " + std::to_string(last_checkpoint_) +
                                         ") is kept in " + Path("checkpoint.bin")
                                   : std::string("no checkpoint had been written yet")));
      }
      finished_.clear();
      user_steps_ += tracker_.Record(env_.batch(), finished_);
      for (const EpisodeRecord& e : finished_) interval_.episode_return.Add(e.ret);
      ++step_;
      if (step_ % eval_every_ == 0 || step_ == total_) {
        LogTraining();
        Evaluate();
      }
      if (step_ % checkpoint_every_ == 0 || step_ == total_) SaveCheckpoint();
      if (o_.progress) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_report > std::chrono::milliseconds(200) || step_ == total_) {
          last_report = now;
          o_.progress(user_steps_, step_, total_);
        }
      }
    }
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count();
    out.summary = final_summary_;
    // Area under the learning curve: the mean normalized score over the
    // evaluations after step 0 (the meta layer's fitness, docs/meta.md). And the
    // training users' episodes on the same scale (the last evaluation's
    // references): what exploring cost them, which the greedy evaluation of
    // a bandit does not show. One pass over the progress lines.
    double area = 0.0, train_return = 0.0;
    int evals = 0;
    int64_t train_episodes = 0;
    for (const std::string& l : lines_) {
      const json j = ParseJson(l, "a progress line");
      // contains() first: operator[] of a const json on a missing key is undefined.
      if (j["kind"] == "eval" && j["step"].get<int64_t>() != 0 && j.contains("normalized_score") &&
          j["normalized_score"].is_number()) {
        area += j["normalized_score"].get<double>();
        ++evals;
      } else if (j["kind"] == "train" && j.contains("episode_return_mean") && j["episode_return_mean"].is_number()) {
        train_return += j["episode_return_mean"].get<double>() * j["episodes"].get<double>();
        train_episodes += j["episodes"].get<int64_t>();
      }
    }
    out.summary["normalized_score_area"] = evals > 0 ? json(area / evals) : json(nullptr);
    const double ref_span =
        final_summary_.value("oracle_return_mean", 0.0) - final_summary_.value("random_return_mean", 0.0);
    out.summary["train_normalized_score"] =
        train_episodes > 0 && std::abs(ref_span) > 1e-12
            ? json((train_return / double(train_episodes) - final_summary_.value("random_return_mean", 0.0)) / ref_span)
            : json(nullptr);
    out.summary["train_steps"] = total_;
    out.summary["train_user_steps"] = user_steps_;
    out.summary["updates"] = updates_;
    out.summary["steps_per_second"] =
        train_seconds > 0 ? double((step_ - first_step) * int64_t(B_)) / train_seconds : 0.0;
    out.summary["elapsed_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CheckFiniteSummary(out.summary);
    WriteFileAtomic(Path("summary.json"), out.summary.dump(2) + "\n");
    out.step = step_;
    return out;
  }

 private:
  std::string Path(const char* name) const { return (fs::path(o_.out_dir) / name).string(); }

  // Evaluation users in the world as it is at this training step (runner.h).
  std::unique_ptr<VecEnv> MakeEvalEnv() const {
    return cohort::MakeEvalEnv(s_.env, s_.seed, s_.variant, B_, s_.run.threads, s_.run.episodes, env_);
  }

  // Random and myopic-oracle returns on the evaluation users: once when the
  // world is stationary, else at every evaluation (the world has moved).
  void ComputeReferences() {
    for (const char* type : {"random", "oracle"}) {
      std::unique_ptr<VecEnv> env = MakeEvalEnv();
      AgentContext ctx{env->spec(), GroundTruth(*env), s_.seed, s_.variant, B_};
      auto agent = MakeAgent(json{{"type", type}}, ctx);
      const Rollout r = RollOutWith(*env, *agent, false, false, {}, 0, 0, nullptr);
      (std::string(type) == "random" ? random_ : oracle_) = r;
    }
  }

  void Evaluate() {
    if (!env_.stationary()) ComputeReferences();
    std::unique_ptr<VecEnv> env = MakeEvalEnv();
    RolloutExtras extras;
    Rollout r;
    if (privileged_) {  // it reads the state of the environment it acts in: a fresh one on `env`
      AgentContext ctx{env->spec(), GroundTruth(*env), s_.seed, s_.variant, B_};
      auto agent = MakeAgent(s_.agent, ctx, s_.file);
      r = RollOutWith(*env, *agent, s_.run.regret, false, {}, 0, 0, &extras);
    } else {
      agent_->SetTraining(false);
      r = RollOutWith(*env, *agent_, s_.run.regret, false, {}, 0, 0, &extras);
      agent_->SetTraining(true);
    }
    json summary = SummarizeRollout(s_, r);
    AddReferenceScores(s_, r, random_, oracle_, summary);
    AddRolloutExtras(extras, summary);
    final_summary_ = summary;
    json line = {{"kind", "eval"}, {"step", step_}, {"user_steps", user_steps_}};
    for (auto it = summary.begin(); it != summary.end(); ++it)
      if (it.key() != "scenario" && it.key() != "agent" && it.key() != "seed" && it.key() != "variant" &&
          it.key() != "variant_values" && it.key() != "exposure_by_topic")
        line[it.key()] = *it;
    lines_.push_back(line.dump());
    if (o_.on_eval) {
      const auto number = [&](const char* key) {
        return summary[key].is_number() ? summary[key].get<double>() : std::nan("");
      };
      o_.on_eval(step_, number("normalized_score"), number("normalized_score_ci95"));
    }
  }

  void LogTraining() {
    json line = {{"kind", "train"},
                 {"step", step_},
                 {"user_steps", user_steps_},
                 {"episodes", interval_.episode_return.count()},
                 {"episode_return_mean",
                  interval_.episode_return.count() > 0 ? json(interval_.episode_return.mean()) : json(nullptr)},
                 {"updates", interval_.updates}};
    for (const auto& [k, v] : interval_.stats) line[k] = v.first / double(v.second);
    lines_.push_back(line.dump());
    updates_ += interval_.updates;
    interval_ = Interval{};
  }

  void WriteMetrics() const {
    std::string all;
    for (const std::string& l : lines_) all += l + "\n";
    WriteFileAtomic(Path("metrics.jsonl"), all);
  }

  void SaveCheckpoint() {
    BinaryWriter w;
    w.String(kMagic);
    w.Pod(kVersion);
    w.String(s_.resolved.dump());
    w.Pod(step_);
    w.Pod(user_steps_);
    w.Pod(updates_);
    env_.Save(w);
    w.Tag("agent");
    agent_->Save(w);
    w.Tag("runner");
    SaveRecords(w, tracker_.current());
    interval_.Save(w);
    w.Pod<uint64_t>(lines_.size());
    for (const std::string& l : lines_) w.String(l);
    w.String(final_summary_.dump());
    WriteMetrics();
    WriteFileAtomic(Path("checkpoint.bin"), Seal(w.data()));
    last_checkpoint_ = step_;
  }

  void LoadCheckpoint() { LoadCheckpointData(ReadCheckpointBytes(Path("checkpoint.bin"), o_.out_dir), Path("checkpoint.bin")); }

  // The whole state from a checkpoint file's bytes; `name` names it in errors.
  void LoadCheckpointData(const std::string& file_bytes, const std::string& name) {
    BinaryReader r(Unseal(file_bytes, name), name);
    if (ReadHeader(r, name) != s_.resolved)
      throw InputError(o_.out_dir, "", "checkpoint.bin belongs to a different scenario than scenario.resolved.json");
    r.Pod(step_);
    r.Pod(user_steps_);
    r.Pod(updates_);
    r.Check(step_ >= 0 && step_ <= total_, "step " + std::to_string(step_) + " is outside the run's [0, " +
                                               std::to_string(total_) + "] steps");
    r.Check(user_steps_ >= 0 && updates_ >= 0, "negative step counts");
    env_.Load(r);
    r.Tag("agent");
    agent_->Load(r);
    r.Tag("runner");
    LoadRecords(r, tracker_.current(), size_t(B_));
    interval_.Load(r);
    lines_.resize(r.Count("runner.lines", sizeof(uint64_t)));
    for (std::string& l : lines_) r.String(l);
    std::string summary;
    r.String(summary);
    try {
      // Each stored line must have what the summary pass reads (Run): a kind,
      // an integer step, and a train line's episode count.
      for (const std::string& l : lines_) {
        const json j = ParseJson(l, "a progress line");
        const bool ok = j.is_object() && j.contains("kind") && (j["kind"] == "eval" || j["kind"] == "train") &&
                        j.contains("step") && j["step"].is_number_integer() &&
                        (j["kind"] == "eval" || (j.contains("episodes") && j["episodes"].is_number_integer()));
        if (!ok) throw InputError("a progress line", "", "lacks its kind, step or episode count");
      }
      final_summary_ = ParseJson(summary, "the summary");
    } catch (const InputError& e) {
      r.Fail(e.what());
    }
    r.Check(r.done(), "trailing data after the last section");
    last_checkpoint_ = step_;
  }

  const Scenario& s_;
  const TrainOptions& o_;
  const int B_;
  const int64_t total_, eval_every_, checkpoint_every_;
  VecEnv env_;
  // Privileged agents (the myopic oracle) read the environment they act in;
  // they are stateless, so evaluation builds a fresh one on the evaluation env.
  const bool privileged_ = IsPrivileged(s_.agent);
  std::unique_ptr<Agent> agent_;
  SlateBatch slates_;
  EpisodeTracker tracker_;
  std::vector<EpisodeRecord> finished_;
  Interval interval_;
  Rollout random_, oracle_;
  std::vector<std::string> lines_;
  json final_summary_ = json::object();
  int64_t step_ = 0, user_steps_ = 0, updates_ = 0, last_checkpoint_ = -1;
};

}  // namespace

CheckpointInfo ReadCheckpointInfo(const std::string& path) {
  CheckpointInfo info;
  info.file = fs::is_directory(path) ? (fs::path(path) / "checkpoint.bin").string() : path;
  const std::string data = ReadCheckpointBytes(info.file, path);
  BinaryReader r(Unseal(data, info.file), info.file);
  info.scenario = ReadHeader(r, info.file);
  r.Pod(info.step);
  return info;
}

void LoadCheckpointAgent(const CheckpointInfo& info, const Scenario& run, Agent& agent) {
  const std::string data = ReadCheckpointBytes(info.file, info.file);
  BinaryReader r(Unseal(data, info.file), info.file);
  if (ReadHeader(r, info.file) != run.resolved)
    throw std::invalid_argument("LoadCheckpointAgent: `run` is not the checkpoint's scenario");
  int64_t step = 0, user_steps = 0, updates = 0;
  r.Pod(step);
  r.Pod(user_steps);
  r.Pod(updates);
  // The environment's state comes first; read past it with an environment of
  // the same shape (its own state is not wanted here).
  VecEnv env(run.env, run.seed, run.variant, VecEnv::Options{run.run.num_envs, 1, -1});
  env.Load(r);
  r.Tag("agent");
  agent.Load(r);
  r.Tag("runner");
}

void WriteAgentCheckpoint(const Scenario& run, const Agent& agent, int64_t updates, const std::string& out_dir) {
  // The layout of Trainer::SaveCheckpoint at step 0.
  VecEnv env(run.env, run.seed, run.variant, VecEnv::Options{run.run.num_envs, run.run.threads, -1});
  env.Reset();
  EpisodeTracker tracker;
  tracker.Start(env.batch());
  BinaryWriter w;
  w.String(kMagic);
  w.Pod(kVersion);
  w.String(run.resolved.dump());
  w.Pod<int64_t>(0);  // step
  w.Pod<int64_t>(0);  // user_steps
  w.Pod<int64_t>(updates);
  env.Save(w);
  w.Tag("agent");
  agent.Save(w);
  w.Tag("runner");
  SaveRecords(w, tracker.current());
  Interval{}.Save(w);
  w.Pod<uint64_t>(0);  // progress lines
  w.String(json::object().dump());
  fs::create_directories(out_dir);
  WriteFileAtomic((fs::path(out_dir) / "scenario.resolved.json").string(), run.resolved.dump(2) + "\n");
  WriteFileAtomic((fs::path(out_dir) / "checkpoint.bin").string(), Seal(w.data()));
}

std::string ObservationShapeDifference(const EnvParams& a, const EnvParams& b) {
  const std::pair<const char*, bool> checks[] = {
      {"/env/num_topics", a.num_topics == b.num_topics},
      {"/env/candidates", a.num_candidates == b.num_candidates},
      {"/env/slate_size", a.slate_size == b.slate_size},
      {"/env/catalog/features", a.catalog.features == b.catalog.features && a.FeatureDim() == b.FeatureDim()},
      {"/env/observation/history", a.observation.history == b.observation.history},
      {"/env/observation/interests",
       (a.observation.interests == Observability::kHidden) == (b.observation.interests == Observability::kHidden)},
      {"/env/observation/budget", a.observation.budget == b.observation.budget},
      {"/env/observation/sequence/length", a.observation.sequence.length == b.observation.sequence.length},
  };
  for (const auto& [path, same] : checks)
    if (!same) return path;
  return "";
}

void LoadCheckpointBytes(const std::string& bytes, const Scenario& scenario, const std::string& name) {
  const TrainOptions options;
  Trainer trainer(scenario, options);
  trainer.LoadCheckpointData(bytes, name);
}

VecEnv::Options TrainingEnvOptions(const RunParams& run) { return VecEnv::Options{run.num_envs, run.threads, -1}; }

TrainOutput TrainScenario(const Scenario& scenario, const TrainOptions& options) {
  if (options.out_dir.empty()) throw std::invalid_argument("TrainScenario needs an output directory");
  Trainer trainer(scenario, options);
  return trainer.Run();
}

}  // namespace cohort
