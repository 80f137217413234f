// Tests of agents/torch/reinforce.cc (see tests/torch/main.cc: DOCTEST_ macros only).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <string>
#include <vector>

#include "agent_harness.h"
#include "agents/baselines.h"
#include "agents/torch/common.h"
#include "agents/torch/reinforce.h"
#include "env/scenario.h"

namespace cohort {
namespace {

using testing::MeanReward;
using testing::RecsimEnv;
constexpr auto Registrar = &testing::Family<torch_agents::RegisterReinforce>;

json Config(json extra = json::object()) {
  json c = {{"type", "reinforce"}};
  for (auto& [key, value] : extra.items()) c[key] = value;
  return c;
}

// Runs `steps` training steps; appends every slate and update statistic to
// `trace`. With `inspect`, CandidateScores on every row before and after each Act.
void Train(Agent& agent, VecEnv& env, const StepBatch*& b, SlateBatch& s, int steps, std::vector<double>& trace,
           bool inspect = false) {
  for (int i = 0; i < steps; ++i) {
    if (inspect) testing::InspectAllRows(agent, *b);
    agent.Act(*b, s);
    if (inspect) testing::InspectAllRows(agent, *b);
    for (int32_t v : s.index) trace.push_back(v);
    b = &env.Step(s);
    agent.Observe(*b);
    for (const auto& [name, value] : agent.Update()) trace.push_back(value);
  }
}

DOCTEST_TEST_CASE("reinforce: top-K loss gradient matches the hand computation") {
  // 1 row, K = 3, slate (2, 0): d/dz of -sum_j lambda_j A_j log pi(a_j)
  // = -sum_j lambda_j A_j (e_{a_j} - pi), lambda_j = 2 (1 - pi(a_j)) held constant.
  const std::vector<double> z0 = {0.3, -0.5, 1.1};
  const std::vector<int64_t> slate = {2, 0};
  const std::vector<double> adv = {1.5, -0.7};
  torch::Tensor z = torch::tensor(z0, torch::kFloat64).view({1, 3}).requires_grad_(true);
  const torch::Tensor slates = torch::tensor(slate, torch::kInt64).view({1, 2});
  const torch::Tensor a = torch::tensor(adv, torch::kFloat64).view({1, 2});
  const torch::Tensor mask = torch::ones({1}, torch::kFloat64);
  torch_agents::PolicyGradientLoss(z, slates, a, mask, true).backward();

  double zsum = 0.0;
  for (double v : z0) zsum += std::exp(v);
  std::vector<double> pi(3), want(3, 0.0);
  for (int i = 0; i < 3; ++i) pi[size_t(i)] = std::exp(z0[size_t(i)]) / zsum;
  for (int j = 0; j < 2; ++j) {
    const int64_t item = slate[size_t(j)];
    const double lambda = 2.0 * (1.0 - pi[size_t(item)]);
    for (int i = 0; i < 3; ++i) want[size_t(i)] -= lambda * adv[size_t(j)] * ((i == item ? 1.0 : 0.0) - pi[size_t(i)]);
  }
  const double* g = z.grad().data_ptr<double>();
  for (int i = 0; i < 3; ++i) DOCTEST_CHECK(g[i] == doctest::Approx(want[size_t(i)]).epsilon(1e-10));

  // k = 1: lambda = 1, so top-K and plain coincide.
  torch::Tensor z1 = torch::tensor(z0, torch::kFloat64).view({1, 3}).requires_grad_(true);
  torch::Tensor z2 = torch::tensor(z0, torch::kFloat64).view({1, 3}).requires_grad_(true);
  const torch::Tensor one = torch::tensor(std::vector<int64_t>{1}, torch::kInt64).view({1, 1});
  torch_agents::PolicyGradientLoss(z1, one, torch::full({1, 1}, 2.0, torch::kFloat64), mask, true).backward();
  torch_agents::PolicyGradientLoss(z2, one, torch::full({1}, 2.0, torch::kFloat64), mask, false).backward();
  DOCTEST_CHECK(torch::allclose(z1.grad(), z2.grad(), 1e-12, 1e-12));
}

DOCTEST_TEST_CASE("reinforce: plain slate log-likelihood gradient matches finite differences") {
  // 2 rows (the second masked out), K = 3, k = 2, sampled without replacement:
  // log P(a1, a2) = log pi(a1) + log pi(a2) - log(1 - pi(a1)).
  const std::vector<double> z0 = {0.3, -0.5, 1.1, 2.0, 0.0, -1.0};
  const torch::Tensor slates = torch::tensor(std::vector<int64_t>{1, 2, 0, 1}, torch::kInt64).view({2, 2});
  const torch::Tensor adv = torch::tensor(std::vector<double>{0.8, 5.0}, torch::kFloat64);
  const torch::Tensor mask = torch::tensor(std::vector<double>{1.0, 0.0}, torch::kFloat64);
  torch::Tensor z = torch::tensor(z0, torch::kFloat64).view({2, 3}).requires_grad_(true);
  torch_agents::PolicyGradientLoss(z, slates, adv, mask, false).backward();

  auto hand = [](std::vector<double> v) {  // row 0 only
    const double s = std::exp(v[0]) + std::exp(v[1]) + std::exp(v[2]);
    const double p1 = std::exp(v[1]) / s, p2 = std::exp(v[2]) / s;
    return -0.8 * (std::log(p1) + std::log(p2) - std::log(1.0 - p1));
  };
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor zc = torch::tensor(z0, torch::kFloat64).view({2, 3});
    DOCTEST_CHECK(torch_agents::PolicyGradientLoss(zc, slates, adv, mask, false).item<double>() ==
                  doctest::Approx(hand(z0)).epsilon(1e-12));
  }
  const double* g = z.grad().data_ptr<double>();
  for (int i = 0; i < 6; ++i) {
    const double h = 1e-6;
    std::vector<double> up = z0, down = z0;
    up[size_t(i)] += h;
    down[size_t(i)] -= h;
    const double fd = (hand(up) - hand(down)) / (2 * h);
    DOCTEST_CHECK(g[i] == doctest::Approx(fd).epsilon(1e-6));
  }
  DOCTEST_CHECK(g[3] == 0.0);  // the masked row has no gradient
}

DOCTEST_TEST_CASE("reinforce: schema defaults and one update's statistics") {
  const json c = Registrar().Resolve(Config());
  DOCTEST_CHECK(c["optimizer"]["type"] == "adam");
  DOCTEST_CHECK(c["topk_correction"] == true);
  const EnvParams params = RecsimEnv();
  VecEnv::Options o;
  o.num_envs = 16;
  VecEnv env(params, 3, 0, o);
  AgentContext ctx{MakeEnvSpec(params), GroundTruth(env), 3, 0, 16, 0};
  auto agent = Registrar().Make(Config({{"rollout_steps", 4}}), ctx);
  DOCTEST_CHECK(agent->learns());
  const StepBatch* b = &env.Reset();
  SlateBatch s;
  s.Resize(16, params.slate_size);
  std::map<std::string, double> stats;
  for (int i = 0; i < 4; ++i) {
    agent->Act(*b, s);
    // A near-uniform initial policy over 10 candidates.
    DOCTEST_CHECK(agent->LastPolicyEntropy() == doctest::Approx(std::log(10.0)).epsilon(1e-3));
    for (int r = 0; r < 16; ++r) DOCTEST_CHECK(s.Row(r)[0] != s.Row(r)[1]);
    b = &env.Step(s);
    agent->Observe(*b);
    stats = agent->Update();
    DOCTEST_CHECK(stats.empty() == (i < 3));
  }
  for (const char* key : {"loss", "entropy", "mean_return", "lr", "grad_norm"}) DOCTEST_CHECK(stats.count(key) == 1);
  DOCTEST_CHECK(stats["lr"] == doctest::Approx(3e-3));  // the agent's own default for Adam
  DOCTEST_CHECK(c["optimizer"]["lr"] == 3e-3);
  DOCTEST_CHECK(c["activation"] == "relu");
  DOCTEST_CHECK(stats["grad_norm"] > 0.0);
  DOCTEST_CHECK(stats["mean_return"] > 0.0);
}

DOCTEST_TEST_CASE("reinforce: CandidateScores are the policy logits; greedy evaluation takes their top-k") {
  const EnvParams params = RecsimEnv();
  const int B = 16;
  VecEnv::Options o;
  o.num_envs = B;
  VecEnv env(params, 13, 0, o), eval_env(params, 14, 0, o);
  AgentContext ctx{MakeEnvSpec(params), GroundTruth(env), 13, 0, B, 0};
  auto agent = Registrar().Make(Config({{"rollout_steps", 4}, {"eval", "greedy"}}), ctx);
  const StepBatch* b = &env.Reset();
  SlateBatch s;
  s.Resize(B, params.slate_size);
  std::vector<double> trace;
  Train(*agent, env, b, s, 24, trace);  // 6 updates: the logits are no longer near-uniform
  agent->SetTraining(false);
  const StepBatch* e = &eval_env.Reset();
  int distinct = 0;
  DOCTEST_CHECK(testing::ActsByTopScores(*agent, eval_env, e, 10, "logit", 1e-5, &distinct) == "");
  DOCTEST_CHECK(distinct > 10 * B / 2);
}

DOCTEST_TEST_CASE("reinforce: learns on recsim_interest_evolution (beats random)") {
  // Train on seed 1, evaluate (sampling from the policy) on fresh users of
  // seed 777, against the random policy on the same users.
  const EnvParams params = RecsimEnv();
  const int rows = 128, steps = 800;
  AgentContext eval_ctx{MakeEnvSpec(params), std::nullopt, 777, 0, rows, 0};
  RandomAgent random(json::object(), eval_ctx);
  const double baseline = MeanReward(random, params, 777, rows, 200);
  for (bool topk : {true, false}) {
    VecEnv::Options o;
    o.num_envs = rows;
    VecEnv env(params, 1, 0, o);
    AgentContext ctx{MakeEnvSpec(params), GroundTruth(env), 1, 0, rows, steps};
    auto agent =
        Registrar().Make(Config({{"topk_correction", topk}, {"optimizer", {{"type", "adam"}, {"lr", 3e-3}}}}), ctx);
    const StepBatch* b = &env.Reset();
    SlateBatch s;
    s.Resize(rows, params.slate_size);
    std::vector<double> trace;
    Train(*agent, env, b, s, steps, trace);
    agent->SetTraining(false);
    const double trained = MeanReward(*agent, params, 777, rows, 200);
    DOCTEST_MESSAGE("topk_correction " << topk << ": reward per step trained " << trained << ", random " << baseline);
    DOCTEST_CHECK(trained > baseline + 0.2);
  }
}

DOCTEST_TEST_CASE("reinforce: throughput at B=1024 (reported, not asserted)") {
  const EnvParams params = RecsimEnv();
  const int rows = 1024, steps = 64;
  VecEnv::Options o;
  o.num_envs = rows;
  VecEnv env(params, 2, 0, o);
  AgentContext ctx{MakeEnvSpec(params), GroundTruth(env), 2, 0, rows, 0};
  auto agent = Registrar().Make(Config(), ctx);
  const StepBatch* b = &env.Reset();
  SlateBatch s;
  s.Resize(rows, params.slate_size);
  std::vector<double> trace;
  Train(*agent, env, b, s, 16, trace);  // warm-up: one full rollout and update
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  Train(*agent, env, b, s, steps, trace);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_secs = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  DOCTEST_MESSAGE("act+step+observe+update at B=" << rows << ": " << double(rows) * steps / secs
                                                  << " user-steps/s wall, " << double(rows) * steps / cpu_secs
                                                  << " per CPU second");
  DOCTEST_CHECK(secs > 0.0);
}

}  // namespace
// The Agent contract (tests/agent_harness.h), with and without the top-K correction.
COHORT_AGENT_CONFORMANCE("reinforce", Registrar(),
                         {Config({{"rollout_steps", 4}, {"eval", "greedy"}}), "logit", 1e-5, true});
COHORT_AGENT_CONFORMANCE("reinforce, plain REINFORCE", Registrar(),
                         {Config({{"rollout_steps", 4}, {"eval", "greedy"}, {"topk_correction", false}}), "logit", 1e-5,
                          true});

}  // namespace cohort
