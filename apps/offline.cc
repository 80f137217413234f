#include "apps/offline.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include "agents/registry.h"
#include "agents/runner.h"
#include "agents/trainer.h"
#include "apps/h5_table.h"
#include "apps/log.h"
#include "core/io.h"
#include "core/json_parse.h"
#include "core/ope.h"
#include "core/stats.h"
#include "env/vec_env.h"

namespace fs = std::filesystem;

namespace cohort {

OfflineFit TrainOffline(const std::string& log_dir, const std::string& out, double lambda) {
  const std::string file = (fs::path(log_dir) / "log.h5").string();
  if (!(lambda > 0.0) || !std::isfinite(lambda)) throw std::invalid_argument("the L2 penalty must be a finite number > 0");
  const std::unique_ptr<H5Reader> h5 = OpenLog(log_dir);
  int64_t n = 0, rows = 0;
  int k = 0, d = 0, K = 0, w = 0;
  const std::vector<int64_t> slate = h5->Integers("steps/slate", &n, &k);
  const std::vector<int64_t> clicked = h5->Integers("steps/clicked", &rows, &w);
  const std::vector<double> interests = h5->Doubles("steps/interests", &rows, &d);
  const std::vector<int64_t> topic = h5->Integers("steps/candidate_topic", &rows, &K);
  const bool embedded = h5->HasColumn("steps/candidate_features");
  int fw = 0;
  const std::vector<double> features =
      embedded ? h5->Doubles("steps/candidate_features", &rows, &fw) : std::vector<double>{};

  // Rows [u * x, x, onehot(j)]; Newton's method on the penalized log-likelihood.
  const int D = 2 * d + k;
  std::vector<double> x(static_cast<size_t>(D)), beta(static_cast<size_t>(D), 0.0);
  auto fill = [&](int64_t i, int j) {
    const int c = int(slate[size_t(i) * k + size_t(j)]);
    for (int m = 0; m < d; ++m) {
      const double xc = embedded ? features[(size_t(i) * K + size_t(c)) * d + size_t(m)]
                                 : (topic[size_t(i) * K + size_t(c)] == m ? 1.0 : 0.0);
      x[size_t(m)] = interests[size_t(i) * d + size_t(m)] * xc;
      x[size_t(d + m)] = xc;
    }
    for (int m = 0; m < k; ++m) x[size_t(2 * d + m)] = m == j ? 1.0 : 0.0;
  };
  OfflineFit fit;
  fit.rows = n * k;
  std::vector<double> H(size_t(D) * D), g(static_cast<size_t>(D));
  for (fit.iterations = 0; fit.iterations < 50; ++fit.iterations) {
    std::fill(H.begin(), H.end(), 0.0);
    for (int p = 0; p < D; ++p) g[size_t(p)] = -lambda * beta[size_t(p)], H[size_t(p) * D + p] = lambda;
    double loss = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < k; ++j) {
        fill(i, j);
        double z = 0.0;
        for (int p = 0; p < D; ++p) z += beta[size_t(p)] * x[size_t(p)];
        const double prob = 1.0 / (1.0 + std::exp(-z)), y = double(clicked[size_t(i) * k + size_t(j)]);
        loss -= y > 0 ? std::log(std::max(prob, 1e-300)) : std::log(std::max(1.0 - prob, 1e-300));
        const double s = prob * (1.0 - prob);
        for (int p = 0; p < D; ++p) {
          if (x[size_t(p)] == 0.0) continue;
          g[size_t(p)] += (y - prob) * x[size_t(p)];
          for (int q = 0; q <= p; ++q) H[size_t(p) * D + q] += s * x[size_t(p)] * x[size_t(q)];
        }
      }
    fit.log_loss = loss / double(std::max<int64_t>(1, fit.rows));
    double norm = 0.0;
    for (double v : g) norm += v * v;
    if (std::sqrt(norm) < 1e-8 * double(std::max<int64_t>(1, fit.rows))) break;
    // H step = g (H = X^T W X + lambda I is positive definite).
    const std::vector<double> step = CholeskySolve(H, g);
    for (int p = 0; p < D; ++p) beta[size_t(p)] += step[size_t(p)];
  }
  const json scenario = ParseJson(h5->Attribute("scenario"), file + " (scenario attribute)");
  fit.model = {{"kind", "cohort_click_model"},
               {"feature_dim", d},
               {"slate_size", k},
               {"lambda", lambda},
               {"interaction", std::vector<double>(beta.begin(), beta.begin() + d)},
               {"item", std::vector<double>(beta.begin() + d, beta.begin() + 2 * d)},
               {"position", std::vector<double>(beta.begin() + 2 * d, beta.end())},
               {"fitted_on", {{"log", log_dir}, {"scenario", scenario.value("name", "")}, {"rows", fit.rows},
                              {"iterations", fit.iterations}, {"log_loss", fit.log_loss}}}};
  WriteFileAtomic(out, fit.model.dump(2) + "\n");
  return fit;
}

namespace {

// The log's scenario as `cohort log` ran it (seed, variant and all); with
// sequence >= 0, observing the last `sequence` interactions instead of what
// the log observed (an observation only: the replayed trajectory is the same).
Scenario LogScenarioOf(const H5Reader& h5, const std::string& file, int sequence = -1) {
  json doc = ParseJson(h5.Attribute("scenario"), file + " (scenario attribute)");
  if (sequence >= 0) doc["env"]["observation"]["sequence"]["length"] = sequence;
  Scenario s = ParseScenario(doc, file, AgentRegistry());
  s.variant = std::stoull(h5.Attribute("variant_id"));
  const std::string variant_name = h5.Attribute("variant");
  if (variant_name != "base") s.variant_name = variant_name;
  return s;
}

json Scores(const Scenario& run, const Rollout& main, const Rollout& random, const Rollout& oracle) {
  RunningStat ret;
  for (const EpisodeRecord& e : main.episodes) ret.Add(e.ret);
  json out = {{"return_mean", ret.mean()}, {"return_ci95", ret.ci95()}};
  AddReferenceScores(run, main, random, oracle, out);
  out.erase("random_return_mean");
  out.erase("oracle_return_mean");
  return out;
}

// The true online value of `learned` (frozen) next to the logging policy's
// (run as cohort log ran it) and the random and myopic-oracle references, on
// the same evaluation users: as many as the log has, on run.num_envs slots
// (the learned agent's shape).
json OnlineValue(const Scenario& log_scenario, const Scenario& run, Agent& learned) {
  const int B = run.run.num_envs;
  const int64_t users = log_scenario.run.episodes;
  const VecEnv world(run.env, run.seed, run.variant, VecEnv::Options{1, 1, -1});
  auto eval_env = [&] { return MakeEvalEnv(run.env, run.seed, run.variant, B, run.run.threads, users, world); };
  auto roll = [&](const json& config, bool frozen) {
    std::unique_ptr<VecEnv> env = eval_env();
    AgentContext ctx{env->spec(), GroundTruth(*env), run.seed, run.variant, B};
    std::unique_ptr<Agent> agent = MakeAgent(config, ctx);
    if (frozen) agent->SetTraining(false);
    return RollOutWith(*env, *agent, false, !frozen && agent->learns(), {}, 0, 0, nullptr);
  };
  learned.SetTraining(false);
  std::unique_ptr<VecEnv> env = eval_env();
  const Rollout main = RollOutWith(*env, learned, false, false, {}, 0, 0, nullptr);
  const Rollout logging = roll(log_scenario.agent, /*frozen=*/false);
  const Rollout random = roll(json{{"type", "random"}}, true);
  const Rollout oracle = roll(json{{"type", "oracle"}}, true);
  RunningStat diff, rr, ro;
  const size_t n = std::min(main.episodes.size(), logging.episodes.size());
  for (size_t i = 0; i < n; ++i) diff.Add(main.episodes[i].ret - logging.episodes[i].ret);
  for (const EpisodeRecord& e : random.episodes) rr.Add(e.ret);
  for (const EpisodeRecord& e : oracle.episodes) ro.Add(e.ret);
  return {{"users", int64_t(main.episodes.size())},
          {"first_user", kFirstEvalUser},
          {"learned", Scores(run, main, random, oracle)},
          {"logging", Scores(run, logging, random, oracle)},
          {"learned_minus_logging", {{"return_mean", diff.mean()}, {"ci95", diff.ci95()}}},
          {"random_return_mean", rr.mean()},
          {"oracle_return_mean", ro.mean()}};
}

json AgentBlock(const std::string& text) {
  if (text.empty()) throw InputError("--agent", "", "required: an agent JSON or an agent type");
  if (text.front() == '{') return ParseJson(text, "--agent");
  return json{{"type", text}};
}

std::string SummaryPathOfModel(const std::string& model) {
  fs::path p(model);
  if (p.extension() == ".json") p.replace_extension("");
  return p.string() + ".summary.json";
}

}  // namespace

json TrainOfflineAgent(const OfflineRequest& q) {
  const auto start = std::chrono::steady_clock::now();
  if (q.out.empty()) throw InputError("--out", "", "required: where to write what was learned");
  const std::string file = (fs::path(q.log_dir) / "log.h5").string();
  json block = AgentBlock(q.agent);
  if (!block.is_object() || !block.contains("type") || !block["type"].is_string())
    throw InputError("--agent", "/agent/type", "an agent block needs a \"type\" string");
  const std::unique_ptr<H5Reader> h5 = OpenLog(q.log_dir);
  const Scenario s = LogScenarioOf(*h5, file, q.sequence);
  json result = {{"log", q.log_dir}, {"out", q.out}};
  if (q.sequence >= 0) result["sequence"] = q.sequence;

  if (block["type"] == "click_model") {
    if (block.size() > 1)
      throw InputError("--agent", "", "the click model takes no keys here (its \"model\" is the file --out writes)");
    if (q.sequence >= 0)
      throw InputError("--sequence", "",
                       "applies to an agent learned by replaying the log (reinforce), not to the click model, "
                       "which reads the logged columns alone");
    const OfflineFit fit = TrainOffline(q.log_dir, q.out, q.lambda);
    json config = {{"type", "click_model"}, {"model", fs::absolute(q.out).string()}};
    result["agent"] = config;
    result["fit"] = {{"rows", fit.rows}, {"iterations", fit.iterations}, {"log_loss", fit.log_loss}};
    if (q.evaluate) {
      json doc = s.resolved;
      doc["agent"] = config;
      const Scenario run = ParseScenario(doc, "--agent", AgentRegistry());
      const VecEnv env(run.env, run.seed, run.variant, VecEnv::Options{1, 1, -1});
      AgentContext ctx{env.spec(), GroundTruth(env), run.seed, run.variant, run.run.num_envs};
      std::unique_ptr<Agent> agent = MakeAgent(run.agent, ctx);
      result["online"] = OnlineValue(s, run, *agent);
    }
    result["summary"] = SummaryPathOfModel(q.out);
    result["elapsed_seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WriteFileAtomic(result["summary"].get<std::string>(), result.dump(2) + "\n");
    return result;
  }

  // An agent that learns offline, resolved against the log's scenario; its
  // "offline" options are no part of the agent's block (online runs of it
  // resolve as before) and are validated against its own offline schema.
  json options_in = json::object();
  if (block.contains("offline")) {
    options_in = block["offline"];
    block.erase("offline");
  }
  json doc = s.resolved;
  doc["agent"] = block;
  const Scenario run = ParseScenario(doc, "--agent", AgentRegistry());
  const VecEnv spec_env(run.env, run.seed, run.variant, VecEnv::Options{1, 1, -1});
  AgentContext ctx{spec_env.spec(), GroundTruth(spec_env), run.seed, run.variant, run.run.num_envs};
  std::unique_ptr<Agent> agent = MakeAgent(run.agent, ctx);
  if (!agent->LearnsOffline())
    throw InputError("--agent", "/agent/type",
                     "\"" + agent->type() + "\" cannot learn from a log; offline learners: click_model, reinforce" +
                         std::string(agent->type() == "a2c" || agent->type() == "ppo"
                                         ? " (a2c and ppo start from a reinforce pretraining: its checkpoint as "
                                           "the agent's \"init\", with the same hidden, activation and encoder)"
                                         : ""));

  if (q.sequence >= 0 && (!run.agent.contains("encoder") || run.agent["encoder"].value("type", "mlp") == "mlp"))
    throw InputError("--sequence", "",
                     "the agent reads no sequence (its encoder is mlp): a replay with one would change nothing; "
                     "give the agent a sequence encoder (\"encoder\": {\"type\": \"gru\"})");
  const json options = Validate(options_in, *agent->OfflineSchema(), "--agent", "/agent/offline");

  int64_t n = 0, rows = 0;
  int k = 0, w = 0, K = 0;
  const std::vector<int64_t> slate = h5->Integers("steps/slate", &n, &k);
  const std::vector<int64_t> user = h5->Integers("steps/user_id", &rows, &w);
  const std::vector<double> reward = h5->Doubles("steps/reward", &rows, &w);
  const std::vector<int64_t> click = h5->Integers("steps/click_position", &rows, &w);
  const std::vector<double> watch_time = h5->Doubles("steps/watch_time", &rows, &w);
  const bool has_propensity = h5->HasColumn("steps/item_propensity");
  const std::vector<double> item_propensity =
      has_propensity ? h5->Doubles("steps/item_propensity", &rows, &K) : std::vector<double>{};
  if (k != run.env.slate_size || (has_propensity && K != run.env.num_candidates))
    throw InputError(file, "", "its columns do not match its scenario's slate size and candidates");
  std::vector<int32_t> logged(static_cast<size_t>(k));
  LogReplay(s, file).Run(user, slate, k, nullptr, [&](int64_t i, const StepBatch& b, int r) {
    for (int j = 0; j < k; ++j) logged[size_t(j)] = int32_t(slate[size_t(i) * k + size_t(j)]);
    LoggedStep step;
    step.obs = &b;
    step.row = r;
    step.user = user[size_t(i)];
    step.slate = logged.data();
    step.reward = reward[size_t(i)];
    step.click = int(click[size_t(i)]);
    step.watch_time = step.click >= 0 ? watch_time[size_t(i) * k + size_t(step.click)] : 0.0;
    step.item_propensity = has_propensity ? &item_propensity[size_t(i) * K] : nullptr;
    agent->AddLoggedStep(step);
  });
  const std::map<std::string, double> stats = agent->FitLogged(options);
  json fit = json::object();
  for (const auto& [key, value] : stats) fit[key] = value;
  WriteAgentCheckpoint(run, *agent, int64_t(stats.count("updates") ? stats.at("updates") : 0.0), q.out);
  result["agent"] = run.agent;
  result["agent"]["offline"] = options;
  result["fit"] = fit;
  if (q.evaluate) result["online"] = OnlineValue(s, run, *agent);
  result["summary"] = (fs::path(q.out) / "summary.json").string();
  result["elapsed_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CheckFiniteSummary(result["fit"]);
  WriteFileAtomic(result["summary"].get<std::string>(), result.dump(2) + "\n");
  return result;
}

std::string OfflineReport(const json& r) {
  std::string out;
  char line[512];
  const std::string type = r["agent"]["type"].get<std::string>();
  std::snprintf(line, sizeof line, "%s learned from %s, written to %s\n", type.c_str(),
                r["log"].get<std::string>().c_str(), r["out"].get<std::string>().c_str());
  out += line;
  if (r.contains("online")) {
    const json& o = r["online"];
    std::snprintf(line, sizeof line, "true online value on %lld evaluation users (paired):\n",
                  (long long)o["users"].get<int64_t>());
    out += line;
    for (const char* who : {"learned", "logging"}) {
      const json& e = o[who];
      char score[64] = "undefined";
      if (e["normalized_score"].is_number())
        std::snprintf(score, sizeof score, "%.3f +/- %.3f", e["normalized_score"].get<double>(),
                      e["normalized_score_ci95"].get<double>());
      std::snprintf(line, sizeof line, "  %-8s return %9.3f +/- %.3f   normalized score %s\n", who,
                    e["return_mean"].get<double>(), e["return_ci95"].get<double>(), score);
      out += line;
    }
    std::snprintf(line, sizeof line, "  learned - logging: %+.3f +/- %.3f (random %.3f, oracle %.3f)\n",
                  o["learned_minus_logging"]["return_mean"].get<double>(),
                  o["learned_minus_logging"]["ci95"].get<double>(), o["random_return_mean"].get<double>(),
                  o["oracle_return_mean"].get<double>());
    out += line;
  }
  out += "summary: " + r["summary"].get<std::string>() + "\n";
  return out;
}

}  // namespace cohort
