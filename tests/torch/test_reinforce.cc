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

DOCTEST_TEST_CASE("reinforce offline: the off-policy top-K loss on a hand case (weights, cap, lambda_K)") {
  // 2 rows, K = 3 candidates, slates of k = 2, cap c = 10:
  //   loss = -(1/2) sum_i R_i sum_j min(pi_ij / beta_ij, c) * 2 (1 - pi_ij) * log pi_ij,
  // weights and lambda held constant, so d loss / d z_i = -(1/2) R_i sum_j w_ij lambda_ij (e_{a_ij} - pi_i).
  const std::vector<double> z0 = {0.3, -0.5, 1.1, 2.0, 0.0, -1.0};
  const std::vector<int64_t> slate = {2, 0, 0, 2};
  // Row 1's first item: pi ~ 0.84 against beta 0.01, a weight of ~84 clipped to 10.
  const std::vector<double> beta = {0.5, 0.25, 0.01, 0.3};
  const std::vector<double> ret = {1.5, -0.7};
  const double cap = 10.0;
  std::vector<double> pi(6), want_grad(6, 0.0), want_w(4);
  double want_loss = 0.0;
  for (int i = 0; i < 2; ++i) {
    double zsum = 0.0;
    for (int c = 0; c < 3; ++c) zsum += std::exp(z0[size_t(3 * i + c)]);
    for (int c = 0; c < 3; ++c) pi[size_t(3 * i + c)] = std::exp(z0[size_t(3 * i + c)]) / zsum;
    for (int j = 0; j < 2; ++j) {
      const int64_t a = slate[size_t(2 * i + j)];
      const double p = pi[size_t(3 * i + a)];
      const double w = std::min(p / beta[size_t(2 * i + j)], cap), lambda = 2.0 * (1.0 - p);
      want_w[size_t(2 * i + j)] = w;
      want_loss -= 0.5 * ret[size_t(i)] * w * lambda * std::log(p);
      for (int c = 0; c < 3; ++c)
        want_grad[size_t(3 * i + c)] -= 0.5 * ret[size_t(i)] * w * lambda * ((c == a ? 1.0 : 0.0) - pi[size_t(3 * i + c)]);
    }
  }
  DOCTEST_CHECK(want_w[2] == cap);  // the case does clip
  DOCTEST_CHECK(want_w[0] < cap);
  torch::Tensor z = torch::tensor(z0, torch::kFloat64).view({2, 3}).requires_grad_(true);
  torch::Tensor w;
  const torch::Tensor loss = torch_agents::OffPolicyTopKLoss(
      z, torch::tensor(slate, torch::kInt64).view({2, 2}), torch::tensor(beta, torch::kFloat64).view({2, 2}),
      torch::tensor(ret, torch::kFloat64), cap, &w);
  loss.backward();
  DOCTEST_CHECK(loss.item<double>() == doctest::Approx(want_loss).epsilon(1e-12));
  const double* g = z.grad().data_ptr<double>();
  const double* wp = w.contiguous().data_ptr<double>();
  for (int i = 0; i < 6; ++i) DOCTEST_CHECK(g[i] == doctest::Approx(want_grad[size_t(i)]).epsilon(1e-10));
  for (int i = 0; i < 4; ++i) DOCTEST_CHECK(wp[i] == doctest::Approx(want_w[size_t(i)]).epsilon(1e-12));
  // cap 0: no clipping (row 1's weight is pi / beta itself).
  torch::Tensor w0;
  torch_agents::OffPolicyTopKLoss(z.detach(), torch::tensor(slate, torch::kInt64).view({2, 2}),
                                  torch::tensor(beta, torch::kFloat64).view({2, 2}),
                                  torch::tensor(ret, torch::kFloat64), 0.0, &w0);
  DOCTEST_CHECK(w0[1][0].item<double>() == doctest::Approx(pi[3] / 0.01).epsilon(1e-12));
}

// Hands `learner` every step of `steps` steps of `rows` slots of an
// epsilon-greedy logging policy (greedy by observed affinity; a uniform slate
// with probability epsilon) on `params` seeded `seed`, with its exact item
// propensities: (1 - epsilon) [c in greedy slate] + epsilon k / K.
void FeedEpsilonGreedyLog(Agent& learner, const EnvParams& params, uint64_t seed, int rows, int steps, double epsilon) {
  VecEnv env(params, seed, 0, VecEnv::Options{rows, 1, -1});
  AgentContext ctx{MakeEnvSpec(params), std::nullopt, seed, 0, rows, 0};
  GreedyAgent greedy(json{{"score", "affinity"}}, ctx);
  Rng rng = MakeRng(seed, 0, 99, StreamPurpose::kPolicy);
  const int K = params.num_candidates, k = params.slate_size;
  SlateBatch s;
  s.Resize(rows, k);
  std::vector<double> prop(size_t(rows) * size_t(K));
  const StepBatch* b = &env.Reset();
  for (int t = 0; t < steps; ++t) {
    greedy.Act(*b, s);
    for (int r = 0; r < rows; ++r) {
      double* p = &prop[size_t(r) * size_t(K)];
      for (int c = 0; c < K; ++c) p[c] = epsilon * k / K;
      for (int j = 0; j < k; ++j) p[s.Row(r)[j]] += 1.0 - epsilon;
      if (rng.Uniform() < epsilon) SampleSlate(SlateLaw::Uniform(), K, k, rng, s.Row(r));
    }
    const StepBatch obs = *b;
    b = &env.Step(s);
    for (int r = 0; r < rows; ++r) {
      if (!obs.active[size_t(r)]) continue;
      LoggedStep step;
      step.obs = &obs;
      step.row = r;
      step.user = obs.user_id[size_t(r)];
      step.slate = s.Row(r);
      step.reward = b->reward[size_t(r)];
      step.click = b->click_position[size_t(r)];
      step.watch_time = step.click >= 0 ? b->watch_time[size_t(r) * size_t(k) + size_t(step.click)] : 0.0;
      step.item_propensity = &prop[size_t(r) * size_t(K)];
      learner.AddLoggedStep(step);
    }
  }
}

std::string SavedBytes(const Agent& agent) {
  BinaryWriter w;
  agent.Save(w);
  return w.data();
}

DOCTEST_TEST_CASE("reinforce offline: deterministic for a seed; the behaviour head learns the logging policy") {
  const EnvParams params = RecsimEnv();
  const int rows = 32;
  auto fit = [&](uint64_t seed, const std::string& behaviour, std::map<std::string, double>* stats, int epochs = 3) {
    AgentContext ctx{MakeEnvSpec(params), std::nullopt, seed, 0, rows, 0};
    auto agent = Registrar().Make(Config(), ctx);
    DOCTEST_CHECK(agent->LearnsOffline());
    const json options = Validate(json{{"behaviour", behaviour}, {"epochs", epochs}}, *agent->OfflineSchema(), "test");
    FeedEpsilonGreedyLog(*agent, params, 5, rows, 120, 0.3);
    *stats = agent->FitLogged(options);
    return SavedBytes(*agent);
  };
  std::map<std::string, double> a, b, c, logged;
  const std::string first = fit(1, "learned", &a);
  DOCTEST_CHECK(fit(1, "learned", &b) == first);
  DOCTEST_CHECK(a == b);
  DOCTEST_CHECK(fit(2, "learned", &c) != first);  // the seed matters (initialisation, batch order)
  DOCTEST_CHECK(a["steps"] == doctest::Approx(rows * 120.0));
  DOCTEST_CHECK(a["updates"] == doctest::Approx(3.0 * std::ceil(rows * 120.0 / 256.0)));
  // With the logged propensities as beta, the (unused) head is still fitted
  // and reported against them. Per draw, greedy's two items have beta
  // (0.7 + 0.3 * 2/10) / 2 = 0.38 and the others 0.03; they are 76% of the
  // logged items, so a uniform head (0.1) is off by 0.76 * 0.28 + 0.24 * 0.07
  // = 0.23 on average. A softmax of the items' own features cannot express
  // "the top two" exactly; fitted, the head halves that error.
  fit(1, "logged", &logged, 30);
  DOCTEST_MESSAGE("behaviour head's mean |beta_head - beta_logged| on the logged items: "
                  << logged["behaviour_head_abs_error"] << " (a uniform head: 0.23)");
  DOCTEST_CHECK(logged["behaviour_head_abs_error"] < 0.15);
  DOCTEST_CHECK(logged["mean_weight"] > 0.0);
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

// A small sequence encoder of each type (dropout on, so the contract's
// Save/Load clause covers the dropout stream).
json Encoder(const std::string& type) {
  if (type == "gru") return {{"type", "gru"}, {"hidden", 8}};
  return {{"type", "transformer"}, {"hidden", 8}, {"layers", 1}, {"heads", 2}, {"feedforward", 16}, {"dropout", 0.1}};
}
// RecSim's scenario with the last 6 interactions observed, episodes long
// enough to fill them.
EnvParams SequenceEnv() { return RecsimEnv({"horizon.max_episode_steps=12", "observation.sequence.length=6"}); }

DOCTEST_TEST_CASE("reinforce: the mlp encoder is the network without the key; sequence encoders need a sequence") {
  const EnvParams params = SequenceEnv();
  VecEnv env(params, 3, 0, VecEnv::Options{8, 1, -1});
  AgentContext ctx{MakeEnvSpec(params), GroundTruth(env), 5, 0, 8, 0};
  auto plain = Registrar().Make(Config(), ctx);
  auto mlp = Registrar().Make(Config({{"encoder", {{"type", "mlp"}}}}), ctx);
  DOCTEST_CHECK(testing::Checkpoint(*plain) == testing::Checkpoint(*mlp));
  for (const char* type : {"gru", "transformer"}) {
    auto agent = Registrar().Make(Config({{"encoder", Encoder(type)}}), ctx);
    DOCTEST_CHECK(testing::Checkpoint(*agent).size() > testing::Checkpoint(*plain).size());  // the encoder's weights
    const EnvParams without = RecsimEnv();
    VecEnv plain_env(without, 3, 0, VecEnv::Options{8, 1, -1});
    AgentContext no_sequence{MakeEnvSpec(without), GroundTruth(plain_env), 5, 0, 8, 0};
    try {
      Registrar().Make(Config({{"encoder", Encoder(type)}}), no_sequence);
      DOCTEST_FAIL("a sequence encoder was built without a sequence observation");
    } catch (const InputError& e) {
      DOCTEST_CHECK(std::string(e.what()).find("/agent/encoder/type") != std::string::npos);
      DOCTEST_CHECK(std::string(e.what()).find("env.observation.sequence.length") != std::string::npos);
    }
  }
}

DOCTEST_TEST_CASE("reinforce: with a sequence encoder the policy reads the history and learns it") {
  // The logits of a row change when only its sequence changes (the state
  // reaches the policy), and training moves the encoder's weights.
  const EnvParams params = SequenceEnv();
  for (const char* type : {"gru", "transformer"}) {
    DOCTEST_INFO(type);
    VecEnv env(params, 3, 0, VecEnv::Options{16, 1, -1});
    AgentContext ctx{MakeEnvSpec(params), GroundTruth(env), 5, 0, 16, 0};
    auto agent = Registrar().Make(Config({{"encoder", Encoder(type)}, {"rollout_steps", 4}}), ctx);
    const StepBatch* b = &env.Reset();
    SlateBatch s;
    s.Resize(16, params.slate_size);
    std::vector<double> trace;
    const std::string before = testing::Checkpoint(*agent);
    Train(*agent, env, b, s, 9, trace);
    DOCTEST_CHECK(testing::Checkpoint(*agent) != before);
    int row = -1;
    for (int r = 0; r < 16 && row < 0; ++r)
      if (b->active[size_t(r)] && b->sequence_length[size_t(r)] >= 2) row = r;
    DOCTEST_REQUIRE(row >= 0);
    std::vector<double> a(size_t(params.num_candidates)), c(a.size());
    DOCTEST_CHECK(agent->CandidateScores(*b, row, a.data()) == "logit");
    StepBatch changed = *b;
    const size_t e = size_t(row) * size_t(changed.sequence);
    changed.sequence_reward[e] += 3.0f;
    changed.sequence_clicked[e * size_t(changed.slate_size)] ^= 1;
    agent->CandidateScores(changed, row, c.data());
    DOCTEST_CHECK(a != c);
  }
}

DOCTEST_TEST_CASE("reinforce pretraining: next_click learns the log's clicks, deterministically, with each encoder") {
  // An epsilon-greedy log of RecSim's scenario with the last 6 interactions
  // observed: clicks depend on the observed interests and the items, so a
  // click model of the features beats the log's click-position frequencies
  // (click_nll_marginal); the fit is the same bytes for the same seed.
  const EnvParams params = SequenceEnv();
  const int rows = 64;
  for (const char* type : {"mlp", "gru", "transformer"}) {
    DOCTEST_INFO(type);
    auto fit = [&](uint64_t seed, json offline, std::map<std::string, double>* stats) {
      AgentContext ctx{MakeEnvSpec(params), std::nullopt, seed, 0, rows, 0};
      auto agent = Registrar().Make(
          Config({{"encoder", std::string(type) == "mlp" ? json{{"type", "mlp"}} : Encoder(type)}}), ctx);
      offline["objective"] = "next_click";
      const json options = Validate(offline, *agent->OfflineSchema(), "test");
      FeedEpsilonGreedyLog(*agent, params, 5, rows, 120, 0.3);
      const std::string before = SavedBytes(*agent);
      *stats = agent->FitLogged(options);
      DOCTEST_CHECK(SavedBytes(*agent) != before);
      return SavedBytes(*agent);
    };
    std::map<std::string, double> a, b, w;
    const json options = {{"epochs", 4}, {"batch_size", 64}};
    const std::string first = fit(1, options, &a);
    DOCTEST_CHECK(fit(1, options, &b) == first);
    DOCTEST_CHECK(a == b);
    DOCTEST_MESSAGE(std::string(type) << ": click nll " << a["click_nll"] << " vs the click-position frequencies' "
                                      << a["click_nll_marginal"] << "; accuracy " << a["click_accuracy"]
                                      << ", watch-time mse " << a["watch_time_mse"]);
    DOCTEST_MESSAGE(std::string(type) << ": held out (" << a["validation_steps"] << " steps): click nll "
                                      << a["validation_click_nll"] << " vs " << a["validation_click_nll_marginal"]
                                      << ", accuracy " << a["validation_click_accuracy"]);
    DOCTEST_CHECK(a["click_nll"] < a["click_nll_marginal"] - 0.02);
    DOCTEST_CHECK(a["validation_steps"] > 0.0);
    DOCTEST_CHECK(a["validation_click_nll"] < a["validation_click_nll_marginal"] - 0.01);
    DOCTEST_CHECK(a["steps"] > 0.0);
    DOCTEST_CHECK(a["watch_time_mse"] < 1.0);  // below the variance of a unit-mean target with no model
    DOCTEST_CHECK(a["mean_weight"] == doctest::Approx(1.0));
    // Inverse-propensity weights: greedy's items (per-draw 0.38) weigh less
    // than 1/K, the others more.
    fit(1, {{"epochs", 1}, {"weighting", "inverse_propensity"}}, &w);
    DOCTEST_CHECK(w["mean_weight"] != doctest::Approx(1.0));
    DOCTEST_CHECK(std::isfinite(w["click_nll"]));
  }
}

DOCTEST_TEST_CASE("reinforce offline: a key of the other objective is refused, not ignored") {
  const EnvParams params = RecsimEnv();
  AgentContext ctx{MakeEnvSpec(params), std::nullopt, 1, 0, 8, 0};
  auto refused = [&](const json& offline, const std::string& path) {
    auto agent = Registrar().Make(Config(), ctx);
    FeedEpsilonGreedyLog(*agent, params, 5, 8, 4, 0.3);
    try {
      agent->FitLogged(Validate(offline, *agent->OfflineSchema(), "test"));
      DOCTEST_FAIL("accepted " << offline.dump());
    } catch (const InputError& e) {
      DOCTEST_CHECK(std::string(e.what()).find(path) != std::string::npos);
    }
  };
  refused({{"objective", "next_click"}, {"behaviour", "logged"}}, "/agent/offline/behaviour");
  refused({{"objective", "next_click"}, {"credit", "item"}}, "/agent/offline/credit");
  refused({{"weighting", "inverse_propensity"}}, "/agent/offline/weighting");
  refused({{"watch_time_weight", 0.5}}, "/agent/offline/watch_time_weight");
  refused({{"validation", 0.0}}, "/agent/offline/validation");
  refused({{"objective", "next_click"}, {"weight_cap", 5.0}}, "/agent/offline/weight_cap");
}

DOCTEST_TEST_CASE("reinforce: a warm start takes the trained networks, and refuses other shapes") {
  const EnvParams params = SequenceEnv();
  VecEnv env(params, 3, 0, VecEnv::Options{8, 1, -1});
  AgentContext ctx{MakeEnvSpec(params), std::nullopt, 5, 0, 8, 0};
  const json config = Config({{"encoder", Encoder("gru")}});
  auto trained = Registrar().Make(config, ctx);
  FeedEpsilonGreedyLog(*trained, params, 5, 8, 20, 0.3);
  trained->FitLogged(Validate(json{{"objective", "next_click"}, {"epochs", 2}}, *trained->OfflineSchema(), "test"));
  AgentContext other_seed = ctx;
  other_seed.seed = 9;
  auto fresh = Registrar().Make(config, other_seed);
  const StepBatch& b = env.Reset();
  std::vector<double> want(size_t(params.num_candidates)), before(want.size()), got(want.size());
  trained->CandidateScores(b, 0, want.data());
  fresh->CandidateScores(b, 0, before.data());
  DOCTEST_CHECK(before != want);
  fresh->InitFrom(*trained);
  fresh->CandidateScores(b, 0, got.data());
  DOCTEST_CHECK(got == want);
  // Other networks: named, nothing copied.
  for (const json& differs : {Config({{"encoder", Encoder("gru")}, {"hidden", {32}}}), Config(),
                              Config({{"encoder", Encoder("gru")}, {"baseline", "batch_mean"}})}) {
    DOCTEST_INFO(differs.dump());
    auto agent = Registrar().Make(differs, ctx);
    const std::string bytes = SavedBytes(*agent);
    try {
      agent->InitFrom(*trained);
      DOCTEST_FAIL("a warm start across networks was accepted");
    } catch (const InputError& e) {
      DOCTEST_CHECK(std::string(e.what()).find("/agent/init") != std::string::npos);
    }
    DOCTEST_CHECK(SavedBytes(*agent) == bytes);
  }
}

}  // namespace
// The Agent contract (tests/agent_harness.h), with and without the top-K correction.
COHORT_AGENT_CONFORMANCE("reinforce", Registrar(),
                         {Config({{"rollout_steps", 4}, {"eval", "greedy"}}), "logit", 1e-5, true});
COHORT_AGENT_CONFORMANCE("reinforce, plain REINFORCE", Registrar(),
                         {Config({{"rollout_steps", 4}, {"eval", "greedy"}, {"topk_correction", false}}), "logit", 1e-5,
                          true});

// ... and with each sequence encoder, on a scenario that observes the sequence.
DOCTEST_TEST_CASE("Agent contract: reinforce with the gru and transformer encoders") {
  for (const char* type : {"gru", "transformer"}) {
    DOCTEST_INFO(type);
    testing::CheckAgentContract(
        Registrar(),
        testing::ContractCase{Config({{"rollout_steps", 4}, {"eval", "greedy"}, {"encoder", Encoder(type)}}), "logit",
                              1e-5, true},
        SequenceEnv());
  }
}

}  // namespace cohort
