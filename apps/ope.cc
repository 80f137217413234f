#include "apps/ope.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "agents/registry.h"
#include "agents/runner.h"
#include "agents/slate_law.h"
#include "agents/trainer.h"
#include "apps/h5_table.h"
#include "apps/log.h"
#include "apps/ope_terms.h"
#include "apps/ope_target.h"
#include "apps/ope_weights.h"
#include "apps/scenario_files.h"
#include "core/json_parse.h"
#include "core/rng.h"
#include "env/ground_truth.h"
#include "env/vec_env.h"

namespace fs = std::filesystem;

namespace cohort {
namespace {

// Ordered slates a stochastic target's truth enumerates at most.
constexpr int64_t kTruthEnumerationLimit = 20000;
constexpr int kTruthMonteCarloDraws = 1024;

// What the log holds that the estimators read.
struct LogColumns {
  int64_t n = 0;
  int k = 0, K = 0;
  std::vector<int64_t> slate, user, click, terminated, truncated;
  std::vector<double> reward, mu_conditional, mu_position_item, slate_propensity;
  std::vector<double> position_reward;  // n x k; empty in logs written before the column existed
};

// Replays the log's run (the simulator and the logging policy, as cohort log
// ran them) with the target acting frozen beside it; calls `row` for every
// logged user-step in the log's order after checking it is the logged one.
using RowFn = std::function<void(int64_t i, const StepBatch& b, int r, const GroundTruth& truth, const SlateLaw& law,
                                 const int32_t* target_slate, const SlateLaw& logging_law)>;
void Replay(const Scenario& s, const OpeTarget& target_policy, const LogColumns& log, const std::string& file,
            const RowFn& row) {
  LogReplay replay(s, file);
  const GroundTruth truth(replay.env());
  AgentContext target_ctx = replay.context();
  target_ctx.total_steps = 0;
  std::unique_ptr<Agent> target = target_policy.Make(target_ctx);  // frozen, recording its laws
  SlateBatch target_slates;
  target_slates.Resize(replay.env().num_envs(), log.k);
  replay.Run(
      log.user, log.slate, log.k, [&](const StepBatch& b) { target->Act(b, target_slates); },
      [&](int64_t i, const StepBatch& b, int r) {
        row(i, b, r, truth, target->LastSlateLaw(r), target_slates.Row(r), replay.logging().LastSlateLaw(r));
      });
}

// The mean return of the frozen target on `users` of a training log: the
// training run's VecEnv (the same slots and user numbering), stepped until
// each of them has finished its episode.
double TrainingUsersReturn(const Scenario& s, const OpeTarget& target, const std::set<int64_t>& users) {
  VecEnv env(s.env, s.seed, s.variant, TrainingEnvOptions(s.run));
  AgentContext ctx{env.spec(), GroundTruth(env), s.seed, s.variant, env.num_envs()};
  std::unique_ptr<Agent> frozen = target.Make(ctx);
  SlateBatch slates;
  slates.Resize(env.num_envs(), s.env.slate_size);
  EpisodeTracker tracker;
  std::vector<EpisodeRecord> finished;
  tracker.Start(env.Reset());
  size_t pending = users.size();
  double sum = 0.0;
  while (pending > 0) {
    frozen->Act(env.batch(), slates);
    tracker.Record(env.Step(slates), finished);
    for (const EpisodeRecord& e : finished)
      if (users.count(e.user)) sum += e.ret, --pending;
    finished.clear();
  }
  return sum / double(std::max<size_t>(1, users.size()));
}

// E_{s ~ law} ExpectedReward(row r, s): exact over the slates of positive
// probability when they are few enough, else a Monte Carlo mean.
double TargetValue(const SlateLaw& law, const GroundTruth& truth, int r, int K, int k, const int32_t* own, Rng& rng,
                   bool* monte_carlo) {
  if (law.Deterministic()) return truth.ExpectedReward(r, own);
  double slates = 1.0;
  for (int j = 0; j < k; ++j) slates *= double(K - j);
  std::vector<int32_t> s(static_cast<size_t>(k));
  std::vector<double> cond(static_cast<size_t>(k));
  if (slates > double(kTruthEnumerationLimit)) {
    *monte_carlo = true;
    double sum = 0.0;
    for (int m = 0; m < kTruthMonteCarloDraws; ++m) {
      SampleSlate(law, K, k, rng, s.data());
      sum += truth.ExpectedReward(r, s.data());
    }
    return sum / kTruthMonteCarloDraws;
  }
  double value = 0.0;
  ForEachOrderedSlate(K, k, [&](const int32_t* slate) {
    const double p = SlateProbabilities(law, K, slate, k, cond.data());
    if (p > 0.0) value += p * truth.ExpectedReward(r, slate);
  });
  return value;
}

bool ImportanceWeighted(const std::string& name) { return name != "dm"; }

}  // namespace

json EvaluateOffPolicy(const OpeRequest& q) {
  const std::string file = (fs::path(q.log_dir) / "log.h5").string();
  const std::unique_ptr<H5Reader> h5 = OpenLog(q.log_dir);
  if (!q.terms.empty()) CheckOpeTermsPath(q.terms);
  for (const char* c : {"steps/position_propensity", "steps/position_item_propensity", "steps/slate_propensity"})
    if (!h5->HasColumn(c))
      throw InputError(file, "", std::string("has no ") + c + " column: a log without propensities supports no "
                                                              "off-policy estimate");
  Scenario s = ParseScenario(ParseJson(h5->Attribute("scenario"), file + " (scenario attribute)"), file,
                             AgentRegistry());
  s.variant = std::stoull(h5->Attribute("variant_id"));
  const std::string variant_name = h5->Attribute("variant");
  if (variant_name != "base") s.variant_name = variant_name;

  LogColumns log;
  int w = 0;
  int64_t rows = 0;
  log.slate = h5->Integers("steps/slate", &log.n, &log.k);
  log.user = h5->Integers("steps/user_id", &rows, &w);
  log.click = h5->Integers("steps/click_position", &rows, &w);
  log.terminated = h5->Integers("steps/terminated", &rows, &w);
  log.truncated = h5->Integers("steps/truncated", &rows, &w);
  log.reward = h5->Doubles("steps/reward", &rows, &w);
  log.mu_conditional = h5->Doubles("steps/position_propensity", &rows, &w);
  log.slate_propensity = h5->Doubles("steps/slate_propensity", &rows, &w);
  log.mu_position_item = h5->Doubles("steps/position_item_propensity", &rows, &w);
  log.K = w / std::max(1, log.k);
  if (h5->HasColumn("steps/position_reward")) log.position_reward = h5->Doubles("steps/position_reward", &rows, &w);
  const int k = log.k, K = log.K;
  if (k != s.env.slate_size || K != s.env.num_candidates)
    throw InputError(file, "", "its columns do not match its scenario's slate size and candidates");

  const OpeTarget target(q.target, s);

  std::vector<std::string> names = q.estimators;
  const bool all = names.empty();
  if (all) names = OpeEstimatorNames();
  for (const std::string& name : names) {
    const auto& known = OpeEstimatorNames();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      const std::string hint = Suggest(name, known);
      throw InputError("--estimators", "",
                       "unknown estimator \"" + name + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                           "; estimators: " + Join(known));
    }
  }
  const bool deterministic = std::all_of(log.slate_propensity.begin(), log.slate_propensity.end(),
                                         [](double p) { return p == 1.0; });
  json skipped = json::object();
  if (deterministic) {
    std::vector<std::string> kept;
    for (const std::string& name : names) {
      if (!ImportanceWeighted(name)) {
        kept.push_back(name);
      } else if (!all) {
        throw InputError("--estimators", "",
                         "\"" + name + "\" weighs by the logging propensities, and every slate of this log had "
                         "probability 1 (a deterministic logging policy): it is undefined for any other policy. Log "
                         "the policy with exploration ({\"type\": \"logging\", \"policy\": {...}, \"epsilon\": 0.1})");
      } else {
        skipped[name] = "the logging policy was deterministic (every slate propensity 1)";
      }
    }
    names = kept;
  }
  const std::string law = h5->HasAttribute("slate_law") ? h5->Attribute("slate_law") : "";
  OpeOptions options = q.options;
  options.num_candidates = K;
  // The pseudo-inverse: closed form for uniform logging; otherwise exact
  // weights from the logging policy's second moment at each step (in closed
  // form, or enumerating a Plackett-Luce law's slates when they are few
  // enough: apps/ope_weights.h). A "mixed" log is tried, and skipped after
  // the replay if one of its laws has no weights.
  double ordered_slates = 1.0;
  for (int j = 0; j < k; ++j) ordered_slates *= double(K - j);
  const bool plackett_luce = law.find("plackett_luce") != std::string::npos;
  const bool given_weights = law != "uniform" && K * k <= kPseudoInverseCellLimit &&
                             (!plackett_luce || ordered_slates <= double(kPseudoInverseSlateLimit));
  const std::string no_weights_why = "its exact weights for a non-uniform logging policy need K k <= " +
                                     std::to_string(kPseudoInverseCellLimit) +
                                     " cells and, for a Plackett-Luce law (no closed form), at most " +
                                     std::to_string(kPseudoInverseSlateLimit) + " ordered slates";
  if (law == "uniform") {
    options.pseudo_inverse_form = PseudoInverseForm::kUniformWithoutReplacement;
  } else if (given_weights) {
    options.pseudo_inverse_form = PseudoInverseForm::kGivenWeights;
  } else {
    const auto it = std::find(names.begin(), names.end(), "pseudo_inverse");
    if (it != names.end()) {
      if (!all) throw InputError("--estimators", "", "pseudo_inverse: " + no_weights_why);
      names.erase(it);
      skipped["pseudo_inverse"] = no_weights_why;
    }
  }
  const bool want_weights =
      given_weights && std::find(names.begin(), names.end(), "pseudo_inverse") != names.end();

  // Pass 1: the reward model, ridge on [u * x_c, x_c, onehot(position)].
  const int d = s.env.FeatureDim(), D = 2 * d + k;
  std::vector<float> xc(static_cast<size_t>(d));
  std::vector<double> x(static_cast<size_t>(D));
  auto features = [&](const StepBatch& b, int r, int c, int j) {
    b.CandidateFeatures(r, c, xc.data());
    const float* u = b.Interests(r);
    for (int m = 0; m < d; ++m) x[size_t(m)] = double(u[m]) * double(xc[size_t(m)]);
    for (int m = 0; m < d; ++m) x[size_t(d + m)] = double(xc[size_t(m)]);
    for (int m = 0; m < k; ++m) x[size_t(2 * d + m)] = m == j ? 1.0 : 0.0;
  };
  // Position j's part of the step's reward: the log's position_reward (each
  // click's own reward; the whole reward at the one click of a single-click
  // model), except that a step's reward not earned at any position (a
  // no-click step's, 0 in every shipped scenario) is credited to position 0,
  // so the parts always sum to the step's reward. Logs without the column
  // credit the whole reward to the clicked position.
  auto position_reward = [&](int64_t i, int j) {
    if (!log.position_reward.empty()) {
      const double* p = &log.position_reward[size_t(i) * size_t(k)];
      double rest = log.reward[size_t(i)];
      for (int l = 0; l < k; ++l) rest -= p[l];
      return p[j] + (j == 0 && log.click[size_t(i)] < 0 ? rest : 0.0);
    }
    const int64_t click = log.click[size_t(i)];
    return (click == j || (click < 0 && j == 0)) ? log.reward[size_t(i)] : 0.0;
  };
  RidgeRewardModel model;
  model.Begin(D);
  Replay(s, target, log, file,
         [&](int64_t i, const StepBatch& b, int r, const GroundTruth&, const SlateLaw&, const int32_t*, const SlateLaw&) {
           for (int j = 0; j < k; ++j) {
             features(b, r, int(log.slate[size_t(i) * k + size_t(j)]), j);
             model.Add(x.data(), position_reward(i, j));
           }
         });
  model.Solve();

  // Pass 2: the target's columns, the model's predictions and the truth.
  OpeData data;
  data.n = log.n;
  data.k = k;
  data.reward = log.reward;
  data.mu_conditional = log.mu_conditional;
  const size_t nk = size_t(log.n) * size_t(k);
  data.position_reward.resize(nk);
  data.mu_marginal.resize(nk);
  data.pi_conditional.resize(nk);
  data.pi_marginal.resize(nk);
  data.pi_item_position.resize(nk * size_t(k));
  data.model_position.resize(nk);
  data.model_target_value.resize(size_t(log.n));
  if (want_weights) data.pseudo_inverse_weight.resize(size_t(log.n));
  PseudoInverseSlateWeights weights(K, k);
  bool weights_missing = false;  // a step's logging law has none (a "mixed" log)
  std::vector<double> truth_value(size_t(log.n)), marg(size_t(k) * size_t(K)), cond(static_cast<size_t>(k));
  std::vector<int32_t> logged(static_cast<size_t>(k));
  std::vector<double> score(static_cast<size_t>(K));
  bool mc_marginals = false, mc_truth = false;
  // --terms: the target's full position marginals and the model's prediction
  // for every (candidate, position), n k K each (apps/ope_terms.h).
  const bool want_terms = !q.terms.empty();
  std::vector<double> terms_pi, terms_model;
  if (want_terms) terms_pi.resize(nk * size_t(K)), terms_model.resize(nk * size_t(K));
  const uint64_t mc_seed = SplitMix64(s.seed ^ 0x6f70652d7472757eull);
  Replay(s, target, log, file,
         [&](int64_t i, const StepBatch& b, int r, const GroundTruth& truth, const SlateLaw& law, const int32_t* own,
             const SlateLaw& logging_law) {
           const size_t ik = size_t(i) * size_t(k);
           for (int j = 0; j < k; ++j) logged[size_t(j)] = int32_t(log.slate[ik + size_t(j)]);
           SlateProbabilities(law, K, logged.data(), k, cond.data());
           Rng rng = MakeRng(mc_seed, s.variant, uint64_t(i), StreamPurpose::kLogging);
           mc_marginals |= PositionMarginals(law, K, k, rng, marg.data()) == MarginalMethod::kMonteCarlo;
           for (int j = 0; j < k; ++j) {
             const int c = logged[size_t(j)];
             data.position_reward[ik + size_t(j)] = position_reward(i, j);
             data.mu_marginal[ik + size_t(j)] = log.mu_position_item[size_t(i) * size_t(k * K) + size_t(j * K + c)];
             data.pi_conditional[ik + size_t(j)] = cond[size_t(j)];
             data.pi_marginal[ik + size_t(j)] = marg[size_t(j) * K + size_t(c)];
             for (int l = 0; l < k; ++l) data.pi_item_position[(ik + size_t(j)) * k + size_t(l)] = marg[size_t(l) * K + size_t(c)];
             features(b, r, c, j);
             data.model_position[ik + size_t(j)] = model.Predict(x.data());
           }
           // E_{s ~ target} sum_j r_hat(c_j, j) = sum_j sum_c pi(c at j) r_hat(c, j).
           double v = 0.0;
           for (int j = 0; j < k; ++j)
             for (int c = 0; c < K; ++c) {
               const double p = marg[size_t(j) * K + size_t(c)];
               if (p == 0.0) continue;
               features(b, r, c, j);
               v += p * model.Predict(x.data());
             }
           data.model_target_value[size_t(i)] = v;
           if (want_weights && !weights_missing) {
             if (weights.Available(logging_law))
               data.pseudo_inverse_weight[size_t(i)] = weights.Weight(logging_law, marg.data(), logged.data());
             else
               weights_missing = true;
           }
           if (want_terms) {
             std::copy(marg.begin(), marg.end(), terms_pi.begin() + ptrdiff_t(ik * size_t(K)));
             for (int j = 0; j < k; ++j)
               for (int c = 0; c < K; ++c) {
                 features(b, r, c, j);
                 terms_model[(ik + size_t(j)) * size_t(K) + size_t(c)] = model.Predict(x.data());
               }
           }
           truth_value[size_t(i)] = TargetValue(law, truth, r, K, k, own, rng, &mc_truth);
         });

  if (weights_missing) {
    const auto it = std::find(names.begin(), names.end(), "pseudo_inverse");
    if (!all) throw InputError("--estimators", "", "pseudo_inverse: " + no_weights_why);
    names.erase(it);
    skipped["pseudo_inverse"] = no_weights_why;
  }
  double truth_sum = 0.0, logging_sum = 0.0;
  for (int64_t i = 0; i < log.n; ++i) truth_sum += truth_value[size_t(i)], logging_sum += log.reward[size_t(i)];
  const double truth_mean = log.n > 0 ? truth_sum / double(log.n) : std::nan("");
  json estimates = json::object();
  for (const std::string& name : names) {
    try {
      const OpeEstimate e = EstimateOf(EstimatorTerms(name, data, options), options);
      estimates[name] = {{"estimate", e.value}, {"ci95", {e.lo, e.hi}}, {"error", e.value - truth_mean}};
    } catch (const OpeUndefined& e) {
      // Undefined on this log (a self-normalized estimator whose target
      // matches no logged slate): listed, so a sweep's other cells go on.
      skipped[name] = std::string("undefined on this log: ") + e.what();
    }
  }
  // Whole episodes (long-term value): per-decision importance sampling of
  // each logged user's return, rho_t = prod_{t' <= t} w_t' over the user's
  // steps in order, against the truth of rolling the frozen target out on the
  // same users (same seed and variant, users numbered as in the log). Users
  // whose episode the end of a training run cut (no terminated or truncated
  // row) have no return: they are left out of both, and counted.
  std::set<int64_t> ended, seen;
  for (int64_t i = 0; i < log.n; ++i) {
    seen.insert(log.user[size_t(i)]);
    if (log.terminated[size_t(i)] || log.truncated[size_t(i)]) ended.insert(log.user[size_t(i)]);
  }
  std::map<int64_t, size_t> episode_of;
  std::vector<double> pdis, logged_return, rho;
  const std::vector<double> weight = SlateWeights(data, "pdis");
  for (int64_t i = 0; i < log.n; ++i) {
    if (!ended.count(log.user[size_t(i)])) continue;
    auto [it, fresh] = episode_of.emplace(log.user[size_t(i)], pdis.size());
    if (fresh) pdis.push_back(0.0), logged_return.push_back(0.0), rho.push_back(1.0);
    const size_t e = it->second;
    rho[e] *= weight[size_t(i)];
    pdis[e] += rho[e] * log.reward[size_t(i)];
    logged_return[e] += log.reward[size_t(i)];
  }
  json episodes = json::object();
  if (!pdis.empty() && !deterministic) {
    double truth_return = 0.0, logged = 0.0;
    if (s.run.train_steps > 0) {
      truth_return = TrainingUsersReturn(s, target, ended);
    } else {
      const VecEnv::Options o = PlainRunEnvOptions(s.run);
      VecEnv env(s.env, s.seed, s.variant, o);
      AgentContext ctx{env.spec(), GroundTruth(env), s.seed, s.variant, o.num_envs};
      std::unique_ptr<Agent> frozen = target.Make(ctx);
      const Rollout truth_rollout = RollOutWith(env, *frozen, false, /*learn=*/false, nullptr, 0, 0, nullptr);
      for (const EpisodeRecord& e : truth_rollout.episodes) truth_return += e.ret;
      truth_return /= double(std::max<size_t>(1, truth_rollout.episodes.size()));
    }
    for (double g : logged_return) logged += g;
    const OpeEstimate e = EstimateOf(OpeTerms{pdis, {}}, options);
    episodes = {{"users", int64_t(pdis.size())},
                {"users_cut", int64_t(seen.size() - ended.size())},
                {"truth", {{"return", truth_return}}},
                {"logged_return", logged / double(pdis.size())},
                {"pdis", {{"estimate", e.value}, {"ci95", {e.lo, e.hi}}, {"error", e.value - truth_return}}}};
  }
  json out = {{"log", q.log_dir},
              {"target", target.agent()},
              {"logging_policy", s.agent},
              {"logging_law", law},
              {"steps", log.n},
              {"truth", {{"value", truth_mean}, {"method", mc_truth ? "monte_carlo" : "exact"}}},
              {"logging", {{"value", log.n > 0 ? logging_sum / double(log.n) : std::nan("")}}},
              {"estimators", estimates},
              {"skipped", skipped},
              {"bootstrap", {{"samples", options.bootstrap_samples}, {"seed", options.seed}}},
              {"target_marginals", mc_marginals ? "monte_carlo" : "exact"},
              {"episodes", episodes}};
  if (want_terms) {
    OpeTermsColumns c;
    c.data = &data;
    c.K = K;
    c.user = &log.user;
    c.slate = &log.slate;
    c.slate_propensity = &log.slate_propensity;
    c.pi_position_item = &terms_pi;
    c.model_position_item = &terms_model;
    c.truth_value = &truth_value;
    WriteOpeTerms(q.terms, c,
                  {{"format", "cohort ope terms 1"},
                   {"log", q.log_dir},
                   {"target", target.agent()},
                   {"logging_policy", s.agent},
                   {"logging_law", law},
                   {"scenario", s.resolved},
                   {"num_candidates", K},
                   {"slate_size", k},
                   {"truth_method", mc_truth ? "monte_carlo" : "exact"},
                   {"target_marginals", mc_marginals ? "monte_carlo" : "exact"},
                   {"result", out}});
    out["terms"] = q.terms;
  }
  if (const json c = target.checkpoint(); !c.is_null()) out["target_checkpoint"] = c;
  return out;
}

json EvaluateOverLogs(const std::vector<std::string>& log_dirs, const OpeRequest& request) {
  if (!request.terms.empty())
    throw InputError("--terms", "",
                     "writes the terms of one log: give one LOG_DIR (or one file per log, one call each)");
  json logs = json::array();
  std::map<std::string, std::vector<double>> estimates;
  std::vector<double> truths;
  std::set<std::string> skipped;
  for (const std::string& dir : log_dirs) {
    OpeRequest q = request;
    q.log_dir = dir;
    json r = EvaluateOffPolicy(q);
    truths.push_back(r["truth"]["value"].get<double>());
    for (auto it = r["estimators"].begin(); it != r["estimators"].end(); ++it)
      estimates[it.key()].push_back(it.value()["estimate"].get<double>());
    for (auto it = r["skipped"].begin(); it != r["skipped"].end(); ++it) skipped.insert(it.key());
    logs.push_back(std::move(r));
  }
  json over = json::object();
  for (const auto& [name, values] : estimates) {
    if (skipped.count(name) || values.size() != truths.size()) continue;
    const OpeError e = ErrorOverLogs(values, truths);
    over[name] = {{"bias", e.bias}, {"stddev", e.stddev}, {"rmse", e.rmse}, {"logs", e.logs}};
  }
  return {{"logs", logs}, {"over_logs", over}};
}

namespace {
constexpr const char* kOpeSummarySuffixes[] = {"_estimate", "_error", "_squared_error", "_abs_error", "_covered"};
}  // namespace

const std::vector<std::string>& OpeSummaryKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k = {"slates", "episodes", "truth", "logged_reward", "true_return", "logged_return"};
    std::vector<std::string> names = OpeEstimatorNames();
    names.push_back("pdis");
    for (const std::string& n : names)
      for (const char* suffix : kOpeSummarySuffixes) k.push_back(n + suffix);
    return k;
  }();
  return keys;
}

json OpeSummary(const json& r, const json& log_summary) {
  json out = json::object();
  for (auto it = log_summary.begin(); it != log_summary.end(); ++it)
    if (it.value().is_number() && it.key() != "seconds") out[it.key()] = it.value();
  const double truth = r["truth"]["value"].get<double>();
  out["truth"] = truth;
  out["logged_reward"] = r["logging"]["value"];
  auto add = [&](const std::string& name, const json& e, double true_value) {
    const double estimate = e["estimate"].get<double>(), error = estimate - true_value;
    const double lo = e["ci95"][0].get<double>(), hi = e["ci95"][1].get<double>();
    const double values[] = {estimate, error, error * error, std::abs(error),
                             lo <= true_value && true_value <= hi ? 1.0 : 0.0};
    for (size_t m = 0; m < std::size(values); ++m) out[name + kOpeSummarySuffixes[m]] = values[m];
  };
  for (auto it = r["estimators"].begin(); it != r["estimators"].end(); ++it) add(it.key(), it.value(), truth);
  if (r.contains("episodes") && !r["episodes"].empty()) {
    const json& e = r["episodes"];
    out["true_return"] = e["truth"]["return"];
    out["logged_return"] = e["logged_return"];
    add("pdis", e["pdis"], e["truth"]["return"].get<double>());
  }
  return out;
}

std::string OpeTable(const json& r) {
  std::string out;
  char line[256];
  if (r.contains("over_logs")) {
    for (const json& log : r["logs"]) out += OpeTable(log) + "\n";
    std::snprintf(line, sizeof line, "over %zu logs (each estimate against its log's truth)\n", r["logs"].size());
    out += line;
    out += "  estimator            bias     stddev       rmse\n";
    for (auto it = r["over_logs"].begin(); it != r["over_logs"].end(); ++it) {
      std::snprintf(line, sizeof line, "  %-16s %+9.5f  %9.5f  %9.5f\n", it.key().c_str(), it.value()["bias"].get<double>(),
                    it.value()["stddev"].get<double>(), it.value()["rmse"].get<double>());
      out += line;
    }
    return out;
  }
  std::snprintf(line, sizeof line, "off-policy value of %s on %lld logged steps of %s\n",
                r["target"]["type"].get<std::string>().c_str(), (long long)r["steps"].get<int64_t>(),
                r["logging_policy"]["type"].get<std::string>().c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-16s %10.5f   (%s)\n", "truth", r["truth"]["value"].get<double>(),
                r["truth"]["method"].get<std::string>().c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-16s %10.5f   (the logging policy's own mean reward)\n", "logged reward",
                r["logging"]["value"].get<double>());
  out += line;
  out += "  estimator          estimate   95% interval            error\n";
  for (auto it = r["estimators"].begin(); it != r["estimators"].end(); ++it) {
    const json& e = it.value();
    std::snprintf(line, sizeof line, "  %-16s %10.5f   [%9.5f, %9.5f]  %+9.5f\n", it.key().c_str(),
                  e["estimate"].get<double>(), e["ci95"][0].get<double>(), e["ci95"][1].get<double>(),
                  e["error"].get<double>());
    out += line;
  }
  for (auto it = r["skipped"].begin(); it != r["skipped"].end(); ++it)
    out += "  " + it.key() + ": skipped (" + it.value().get<std::string>() + ")\n";
  if (r.contains("episodes") && !r["episodes"].empty()) {
    const json& e = r["episodes"];
    std::snprintf(line, sizeof line,
                  "episodes (%lld users): true return %.4f, logged %.4f; per-decision IS %.4f [%.4f, %.4f] (error %+.4f)\n",
                  (long long)e["users"].get<int64_t>(), e["truth"]["return"].get<double>(),
                  e["logged_return"].get<double>(), e["pdis"]["estimate"].get<double>(),
                  e["pdis"]["ci95"][0].get<double>(), e["pdis"]["ci95"][1].get<double>(),
                  e["pdis"]["error"].get<double>());
    out += line;
  }
  return out;
}

}  // namespace cohort
