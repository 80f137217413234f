#include "apps/log.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "agents/registry.h"
#include "agents/runner.h"
#include "agents/slate_law.h"
#include "agents/trainer.h"
#include "apps/h5_table.h"
#include "core/io.h"
#include "core/rng.h"
#include "env/ground_truth.h"
#include "env/vec_env.h"

namespace fs = std::filesystem;

namespace cohort {
namespace {

using Type = H5Table::Type;

// One column of the log: where it lives, its type and width, and what it
// means (also written into the file, as each dataset's "doc" attribute and in
// the file's "schema" attribute).
struct ColumnSpec {
  std::string group, name;
  Type type;
  int width;
  std::string doc;
};

const char* TypeName(Type t) {
  switch (t) {
    case Type::kInt8:
      return "int8";
    case Type::kUInt8:
      return "uint8";
    case Type::kInt32:
      return "int32";
    case Type::kInt64:
      return "int64";
    case Type::kFloat32:
      return "float32";
    case Type::kFloat64:
      return "float64";
  }
  return "?";
}

// The log's columns for a run of this shape, in file order. Observation
// columns are the StepBatch's at the moment the agent acted; response
// columns the StepBatch's after the step. Widths of 0 (no history, a one-hot
// catalog's features) leave the column out.
std::vector<ColumnSpec> Columns(const EnvSpec& spec) {
  const int K = spec.num_candidates, k = spec.slate_size, d = spec.feature_dim, H = spec.history;
  std::vector<ColumnSpec> c = {
      {"steps", "user_id", Type::kInt64, 1, "the user (one user is one episode)"},
      {"steps", "episode", Type::kInt64, 1, "the episode's number in the run (users are numbered from 0)"},
      {"steps", "session", Type::kInt32, 1, "the session within the episode, from 0"},
      {"steps", "step", Type::kInt64, 1, "the step within the episode, from 0"},
      {"steps", "session_step", Type::kInt64, 1, "the step within the session, from 0"},
      {"steps", "interests", Type::kFloat32, d, "the interests as observed (exact, noisy, or zeros when hidden)"},
      {"steps", "budget", Type::kFloat32, 1, "the remaining time budget as observed (NaN when not observed)"},
      {"steps", "history_topics", Type::kInt32, H, "the last clicked topics, most recent first, -1 padding"},
      {"steps", "candidate_item", Type::kInt64, K, "item ids on a live catalog; -1 for resampled candidates"},
      {"steps", "candidate_topic", Type::kInt32, K, "each candidate's topic"},
      {"steps", "candidate_features", Type::kFloat32, spec.candidate_features ? K * d : 0,
       "each candidate's feature vector, K x feature_dim row-major (embedding catalogs only)"},
      {"steps", "candidate_length", Type::kFloat32, K, "each candidate's length (time units)"},
      {"steps", "slate", Type::kInt32, k, "the logged slate: candidate indices in position order"},
      {"steps", "slate_propensity", Type::kFloat64, 1,
       "the logging policy's probability of the whole ordered slate"},
      {"steps", "position_propensity", Type::kFloat64, k,
       "per position: the probability of its candidate given the positions before (their product is "
       "slate_propensity)"},
      {"steps", "item_propensity", Type::kFloat64, K,
       "per candidate: the probability that the logging policy puts it anywhere in the slate"},
      {"steps", "position_item_propensity", Type::kFloat64, k * K,
       "k x K row-major: the probability that the logging policy puts candidate c at position j"},
      {"steps", "examined", Type::kUInt8, k, "per position: the user examined it"},
      {"steps", "clicked", Type::kUInt8, k, "per position: the user clicked it"},
      {"steps", "click_position", Type::kInt32, 1, "the clicked position, -1 for none"},
      {"steps", "watch_time", Type::kFloat32, k, "per position: time spent on it"},
      {"steps", "liked", Type::kUInt8, k, "per position: liked"},
      {"steps", "disliked", Type::kUInt8, k, "per position: disliked"},
      {"steps", "reward", Type::kFloat32, 1, "the step's reward"},
      {"steps", "position_reward", Type::kFloat64, k,
       "per position: the part of the step's reward earned there (single-click models: the reward at the clicked "
       "position; multi-click models: each click's own reward; they sum to reward up to float rounding)"},
      {"steps", "session_ended", Type::kUInt8, 1, "a session ended with this step"},
      {"steps", "terminated", Type::kUInt8, 1, "the episode ended with this step (the user left or ran out)"},
      {"steps", "truncated", Type::kUInt8, 1, "the episode was cut at the step cap with this step"},
      {"truth", "expected_reward", Type::kFloat64, 1,
       "privileged: the exact expected reward of the logged slate in the logged state"},
      {"truth", "click_probability", Type::kFloat64, k,
       "privileged: the exact click probability of each logged position"},
  };
  // env.observation.sequence: the StepBatch's sequence_* arrays at the
  // moment the agent acted, each L x entry width row-major, most recent first
  // (from its own field list; none without a sequence).
  if (spec.sequence > 0) {
    StepBatch b;
    b.slate_size = k;
    b.dim = d;
    b.sequence = spec.sequence;
    b.sequence_items = spec.arms_are_items;
    b.candidate_features = spec.candidate_features;
    auto type_of = [](const auto& v) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      if constexpr (std::is_same_v<T, uint8_t>) return Type::kUInt8;
      if constexpr (std::is_same_v<T, int32_t>) return Type::kInt32;
      if constexpr (std::is_same_v<T, int64_t>) return Type::kInt64;
      return Type::kFloat32;
    };
    c.push_back({"steps", "sequence_length", Type::kInt32, 1,
                 "env.observation.sequence: how many of the L entries below are filled (the rest are padding)"});
    b.ForEachSequenceField([&](const char* name, const auto& v, int width, double, Domain) {
      c.push_back({"steps", name, type_of(v), spec.sequence * width,
                   "env.observation.sequence: L x " + std::to_string(width) +
                       " row-major, most recent first (docs/simulator.md, \"Sequence observations\")"});
    });
  }
  c.erase(std::remove_if(c.begin(), c.end(), [](const ColumnSpec& s) { return s.width == 0; }), c.end());
  return c;
}

json SchemaJson(const std::vector<ColumnSpec>& cols) {
  json out = json::array();
  for (const ColumnSpec& c : cols)
    out.push_back({{"group", c.group}, {"name", c.name}, {"dtype", TypeName(c.type)}, {"width", c.width},
                   {"doc", c.doc}});
  return out;
}

// The CSV export's per-position row.
std::string CsvHeader() {
  return "user_id,episode,session,step,position,candidate,item,topic,length,position_propensity,slate_propensity,"
         "examined,clicked,watch_time,liked,disliked,reward,terminated,truncated";
}

std::string Num(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

std::unique_ptr<H5Reader> OpenLog(const std::string& log_dir) {
  const std::string file = (fs::path(log_dir) / "log.h5").string();
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw InputError(log_dir, "", "has no log.h5 (write a log with `cohort log SCENARIO --out DIR`)");
  std::unique_ptr<H5Reader> h5;
  try {
    h5 = std::make_unique<H5Reader>(file);
  } catch (const std::runtime_error& e) {
    throw InputError(file, "", e.what());
  }
  if (!h5->HasAttribute("format") || h5->Attribute("format") != "cohort log 1")
    throw InputError(file, "", "is not a Cohort log (no \"format\" attribute \"cohort log 1\")");
  return h5;
}

const std::vector<std::string>& LogDirectoryFiles() {
  static const std::vector<std::string> files = {"log.h5",   "log.csv",     "log.json", "scenario.resolved.json",
                                                 "ope.json", "summary.json"};
  return files;
}

VecEnv::Options LoggedRunEnvOptions(const RunParams& run) {
  return run.train_steps > 0 ? TrainingEnvOptions(run) : PlainRunEnvOptions(run);
}

bool LoggedRunContinues(const RunParams& run, const VecEnv& env, int64_t step) {
  return run.train_steps > 0 ? step < run.train_steps : env.AnyActive();
}

void LoggedRunLearns(const RunParams& run, Agent& agent, const StepBatch& result) {
  agent.Observe(result);
  if (run.train_steps > 0 || agent.learns()) agent.Update();
}

LogReplay::LogReplay(const Scenario& s, std::string file)
    : s_(s),
      file_(std::move(file)),
      env_(s.env, s.seed, s.variant, LoggedRunEnvOptions(s.run)),
      ctx_{env_.spec(), GroundTruth(env_), s.seed, s.variant, env_.num_envs(), s.run.train_steps},
      logging_(MakeAgent(s.agent, ctx_, s.file)) {
  logging_->RecordSlateLaws(true);  // as cohort log ran it (recording changes nothing)
}

void LogReplay::Run(const std::vector<int64_t>& user, const std::vector<int64_t>& slate, int k, const ActFn& act,
                    const RowFn& row) {
  const int64_t n = int64_t(user.size());
  SlateBatch slates;
  slates.Resize(env_.num_envs(), k);
  int64_t i = 0;
  const StepBatch* batch = &env_.Reset();
  for (int64_t step = 0; LoggedRunContinues(s_.run, env_, step); ++step) {
    logging_->Act(*batch, slates);
    if (act) act(*batch);
    for (int r = 0; r < batch->rows; ++r) {
      if (!batch->active[size_t(r)]) continue;
      bool same = i < n && user[size_t(i)] == batch->user_id[size_t(r)];
      for (int j = 0; same && j < k; ++j) same = slate[size_t(i) * k + size_t(j)] == slates.Row(r)[j];
      if (!same)
        throw std::runtime_error(file_ + ": the log does not replay at row " + std::to_string(i) +
                                 " (the scenario recorded in it gives another user or slate there: the file was "
                                 "changed, or written by another version of Cohort)");
      row(i, *batch, r);
      ++i;
    }
    batch = &env_.Step(slates);
    LoggedRunLearns(s_.run, *logging_, *batch);
  }
  if (i != n)
    throw std::runtime_error(file_ + ": the replay gave " + std::to_string(i) + " rows, the log holds " +
                             std::to_string(n));
}

LogOutcome LogScenario(const Scenario& s, const LogOptions& options) {
  if (options.out_dir.empty()) throw std::invalid_argument("LogScenario needs an output directory");
  const RunParams& run = s.run;
  const bool training = run.train_steps > 0;
  const VecEnv::Options env_options = LoggedRunEnvOptions(run);
  VecEnv env(s.env, s.seed, s.variant, env_options);
  const GroundTruth truth(env);
  AgentContext ctx{env.spec(), GroundTruth(env), s.seed, s.variant, env_options.num_envs, run.train_steps};
  std::unique_ptr<Agent> agent = MakeAgent(s.agent, ctx, s.file);
  if (!agent->HasSlateLaw())
    throw InputError(s.file, "/agent/type",
                     "\"" + agent->type() +
                         "\" draws its scores at random (Thompson sampling), so its slate probabilities have no "
                         "closed form and its log would have no propensities; log it through the logging wrapper, "
                         "{\"type\": \"logging\", \"policy\": {\"type\": \"" +
                         agent->type() + "\"}, \"temperature\": 0.1}, which samples a known law from its scores");
  agent->RecordSlateLaws(true);

  fs::create_directories(options.out_dir);
  RemoveStaleTemporaries(options.out_dir, DirectoryUse::kOwned, LogDirectoryFiles());
  const std::string file = (fs::path(options.out_dir) / "log.h5").string();
  const EnvSpec& spec = env.spec();
  const int K = spec.num_candidates, k = spec.slate_size, d = spec.feature_dim, H = spec.history;
  const std::vector<ColumnSpec> specs = Columns(spec);
  H5Table table(file);
  std::map<std::string, int, std::less<>> col;  // looked up by const char* without a string per row
  for (const ColumnSpec& c : specs) col[c.name] = table.AddColumn(c.group, c.name, c.type, c.width, c.doc);
  auto put = [&](std::string_view name, const void* v) {
    const auto it = col.find(name);
    if (it == col.end()) throw std::logic_error("cohort log: no column " + std::string(name));
    table.Append(it->second, v);
  };
  std::unique_ptr<AtomicLineWriter> csv;
  if (options.csv) {
    csv = std::make_unique<AtomicLineWriter>((fs::path(options.out_dir) / "log.csv").string());
    csv->Write(CsvHeader());
  }

  LogOutcome out;
  SlateBatch slates;
  slates.Resize(env.num_envs(), k);
  std::vector<double> cond(static_cast<size_t>(k)), marg(size_t(k) * size_t(K)), item(static_cast<size_t>(K));
  std::vector<double> click(static_cast<size_t>(k));
  std::vector<int32_t> acted;  // rows logged this step
  std::vector<double> quality;  // acted rows x k: the true quality of each slate item (for position_reward)
  std::vector<double> position_reward(static_cast<size_t>(k));
  const bool multi_click = env.model().choice().multi_click();
  // Per logged row of this step, what the CSV export needs from the
  // observation (it is overwritten by the step).
  struct Staged {
    int64_t user, step;
    int32_t session;
    double slate_p;
    std::vector<double> cond;
    std::vector<int64_t> item;
    std::vector<int32_t> topic;
    std::vector<float> length;
  };
  std::vector<Staged> staged;
  bool all_certain = true;
  std::string law_name;
  // Monte Carlo marginals (Plackett-Luce over many prefixes) draw from a
  // stream of (seed, variant, user, kLogging) salted apart from the logging
  // wrapper's own.
  const uint64_t mc_seed = SplitMix64(s.seed ^ 0x6d6f6e7465636172ull);
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  int64_t user_steps = 0;

  const StepBatch* batch = &env.Reset();
  for (int64_t step = 0; LoggedRunContinues(run, env, step); ++step) {
    if (options.stop != nullptr && options.stop->load()) {
      out.stopped = true;
      if (csv) {  // an abandoned AtomicLineWriter keeps its .partial: remove it too
        csv.reset();
        std::error_code ec;
        fs::remove(fs::path(options.out_dir) / "log.csv.partial", ec);
      }
      return out;  // the table's destructor removes log.h5.partial
    }
    agent->Act(*batch, slates);
    acted.clear();
    staged.clear();
    quality.clear();
    for (int r = 0; r < batch->rows; ++r) {
      if (!batch->active[size_t(r)]) continue;
      acted.push_back(r);
      const int32_t* slate = slates.Row(r);
      for (int j = 0; j < k; ++j) quality.push_back(truth.CandidateQuality(r, slate[j]));
      const SlateLaw& law = agent->LastSlateLaw(r);
      const std::string name = Describe(law);
      if (law_name.empty()) law_name = name;
      else if (law_name != name) law_name = "mixed";
      const double p = SlateProbabilities(law, K, slate, k, cond.data());
      Rng mc = MakeRng(mc_seed, s.variant, uint64_t(batch->user_id[size_t(r)]) ^ (uint64_t(batch->episode_step[size_t(r)]) << 40),
                       StreamPurpose::kLogging);
      out.monte_carlo |= PositionMarginals(law, K, k, mc, marg.data()) == MarginalMethod::kMonteCarlo;
      std::fill(item.begin(), item.end(), 0.0);
      for (int j = 0; j < k; ++j)
        for (int c = 0; c < K; ++c) item[size_t(c)] += marg[size_t(j) * K + size_t(c)];
      all_certain = all_certain && p == 1.0;
      const size_t rK = size_t(r) * size_t(K);
      const int64_t episode = batch->user_id[size_t(r)];
      put("user_id", &batch->user_id[size_t(r)]);
      put("episode", &episode);
      put("session", &batch->session_index[size_t(r)]);
      put("step", &batch->episode_step[size_t(r)]);
      put("session_step", &batch->session_step[size_t(r)]);
      put("interests", &batch->interests[size_t(r) * size_t(d)]);
      put("budget", &batch->budget[size_t(r)]);
      if (H > 0) put("history_topics", &batch->history_topics[size_t(r) * size_t(H)]);
      put("candidate_item", &batch->item_id[rK]);
      put("candidate_topic", &batch->topic[rK]);
      if (spec.candidate_features) put("candidate_features", &batch->features[rK * size_t(d)]);
      put("candidate_length", &batch->length[rK]);
      if (batch->sequence > 0) {
        put("sequence_length", &batch->sequence_length[size_t(r)]);
        batch->ForEachSequenceField([&](const char* name, const auto& v, int width, double, Domain) {
          if (width > 0) put(name, &v[size_t(r) * size_t(batch->sequence) * size_t(width)]);
        });
      }
      put("slate", slate);
      put("slate_propensity", &p);
      put("position_propensity", cond.data());
      put("item_propensity", item.data());
      put("position_item_propensity", marg.data());
      const double expected = truth.ExpectedReward(r, slate);
      truth.ChoiceProbabilities(r, slate, click.data());
      put("expected_reward", &expected);
      put("click_probability", click.data());
      if (csv) {
        Staged st{batch->user_id[size_t(r)], batch->episode_step[size_t(r)], batch->session_index[size_t(r)], p,
                  cond, {}, {}, {}};
        for (int j = 0; j < k; ++j) {
          st.item.push_back(batch->item_id[rK + size_t(slate[j])]);
          st.topic.push_back(batch->topic[rK + size_t(slate[j])]);
          st.length.push_back(batch->length[rK + size_t(slate[j])]);
        }
        staged.push_back(std::move(st));
      }
    }
    batch = &env.Step(slates);
    for (size_t i = 0; i < acted.size(); ++i) {
      const int r = acted[i];
      const size_t rk = size_t(r) * size_t(k);
      put("examined", &batch->examined[rk]);
      put("clicked", &batch->clicked[rk]);
      put("click_position", &batch->click_position[size_t(r)]);
      put("watch_time", &batch->watch_time[rk]);
      put("liked", &batch->liked[rk]);
      put("disliked", &batch->disliked[rk]);
      put("reward", &batch->reward[size_t(r)]);
      // Each position's share of the reward: the click's own reward (the
      // formula the simulator summed, env/params.h ClickReward) when several
      // positions can be clicked; else all of it at the clicked position.
      std::fill(position_reward.begin(), position_reward.end(), 0.0);
      const RewardParams& w = env.model().params().reward;
      for (int j = 0; j < k; ++j) {
        if (!batch->clicked[rk + size_t(j)]) continue;
        position_reward[size_t(j)] =
            multi_click ? ClickReward(w, quality[i * size_t(k) + size_t(j)], batch->watch_time[rk + size_t(j)],
                                      batch->liked[rk + size_t(j)], batch->disliked[rk + size_t(j)])
                        : double(batch->reward[size_t(r)]);
      }
      put("position_reward", position_reward.data());
      put("session_ended", &batch->session_ended[size_t(r)]);
      put("terminated", &batch->terminated[size_t(r)]);
      put("truncated", &batch->truncated[size_t(r)]);
      out.episodes += batch->terminated[size_t(r)] || batch->truncated[size_t(r)];
      if (csv) {
        const Staged& st = staged[i];
        for (int j = 0; j < k; ++j) {
          std::string line = std::to_string(st.user) + "," + std::to_string(st.user) + "," +
                             std::to_string(st.session) + "," + std::to_string(st.step) + "," + std::to_string(j) +
                             "," + std::to_string(slates.Row(r)[j]) + "," + std::to_string(st.item[size_t(j)]) +
                             "," + std::to_string(st.topic[size_t(j)]) + "," + Num(st.length[size_t(j)]) + "," +
                             Num(st.cond[size_t(j)]) + "," + Num(st.slate_p) + "," +
                             std::to_string(int(batch->examined[rk + size_t(j)])) + "," +
                             std::to_string(int(batch->clicked[rk + size_t(j)])) + "," +
                             Num(batch->watch_time[rk + size_t(j)]) + "," +
                             std::to_string(int(batch->liked[rk + size_t(j)])) + "," +
                             std::to_string(int(batch->disliked[rk + size_t(j)])) + "," +
                             Num(batch->reward[size_t(r)]) + "," + std::to_string(int(batch->terminated[size_t(r)])) +
                             "," + std::to_string(int(batch->truncated[size_t(r)]));
          csv->Write(line);
        }
      }
    }
    user_steps += int64_t(acted.size());
    LoggedRunLearns(run, *agent, *batch);
    if (options.progress) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report > std::chrono::milliseconds(200)) {
        last_report = now;
        if (training) options.progress(user_steps, step + 1, run.train_steps);
        else options.progress(user_steps, out.episodes, run.episodes);
      }
    }
  }
  if (options.progress) {
    if (training) options.progress(user_steps, run.train_steps, run.train_steps);
    else options.progress(user_steps, out.episodes, run.episodes);
  }
  // Users a training run's end cut: acting at the last step without their
  // episode ending there (a plain run ends every episode).
  int64_t cut = 0;
  if (training)
    for (const int r : acted) cut += !batch->terminated[size_t(r)] && !batch->truncated[size_t(r)];
  out.slates = table.rows();
  out.slate_law = law_name;
  out.deterministic = all_certain;

  table.SetAttribute("", "format", "cohort log 1");
  table.SetAttribute("", "schema", SchemaJson(specs).dump());
  table.SetAttribute("", "scenario", s.resolved.dump());
  table.SetAttribute("", "agent", s.agent.dump());
  table.SetAttribute("", "seed", std::to_string(s.seed));
  table.SetAttribute("", "variant", s.variant_name.empty() ? std::string("base") : s.variant_name);
  table.SetAttribute("", "variant_id", std::to_string(s.variant));
  table.SetAttribute("", "slate_law", law_name);
  table.SetAttribute("", "item_propensity_method",
                     out.monte_carlo ? "monte_carlo(" + std::to_string(kMonteCarloDraws) + " draws where the "
                                       "Plackett-Luce prefixes exceed " + std::to_string(kExactPrefixLimit) + ")"
                                     : std::string("exact"));
  table.SetAttribute("truth", "privileged",
                     "the simulator's exact quantities: estimators must not read this group (it is what they are "
                     "judged against)");
  table.Commit();
  if (csv) csv->Commit();
  out.summary = {{"file", "log.h5"},
                        {"slates", out.slates},
                        {"episodes", out.episodes},
                        {"users_cut", cut},
                        {"train_steps", run.train_steps},
                        {"slate_law", law_name},
                        {"deterministic", out.deterministic},
                        {"item_propensity_method", out.monte_carlo ? "monte_carlo" : "exact"},
                        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
  WriteFileAtomic((fs::path(options.out_dir) / "scenario.resolved.json").string(), s.resolved.dump(2) + "\n");
  WriteFileAtomic((fs::path(options.out_dir) / "log.json").string(), out.summary.dump(2) + "\n");
  out.file = file;
  return out;
}

}  // namespace cohort
