// Tests of agents/torch/ppo.cc and the shared actor-critic pieces
// (agents/torch/actor_critic.h). See tests/torch/main.cc: DOCTEST_ macros only.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "agent_harness.h"
#include "agents/baselines.h"
#include "agents/torch/actor_critic.h"
#include "agents/torch/common.h"
#include "agents/torch/drift.h"
#include "core/io.h"
#include "env/scenario.h"
#include "tests/input_error_of.h"
#include "warm_start.h"

namespace cohort::torch_agents {
void RegisterPpo(AgentRegistrar& r);
}

namespace cohort {
namespace {

using testing::Checkpoint;
using testing::Trace;
using testing::Train;

using testing::MeanReward;
using testing::RecsimEnv;
using torch_agents::ComputeGae;
constexpr auto Registrar = &testing::Family<torch_agents::RegisterPpo>;

DOCTEST_TEST_CASE("ppo: GAE matches a hand computation (terminated, truncated, inactive)") {
  // T = 3 steps, B = 3 rows, gamma 0.9, lambda 0.8 (gamma * lambda = 0.72).
  // row 0: t1 terminated (no bootstrap; t2 is the next user, bootstrapped on last V)
  // row 1: t1 truncated (bootstrap on the ended user's final value 3.0)
  // row 2: t1 terminated, inactive at t2 (users exhausted)
  const int T = 3, B = 3;
  std::vector<float> rewards = {1, 1, 1, 2, 0, 1, 0.5f, 1, 0};
  std::vector<float> values = {0.5f, 1, 0, 1, 2, 0, 0.2f, 0.1f, 0};
  std::vector<float> last = {0.4f, 0.3f, 0};
  std::vector<float> final_values(9, 0.0f);
  final_values[4] = 3.0f;
  std::vector<uint8_t> term = {0, 0, 0, 1, 0, 1, 0, 0, 0};
  std::vector<uint8_t> trunc = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  std::vector<uint8_t> active = {1, 1, 1, 1, 1, 1, 1, 1, 0};
  std::vector<float> adv, ret;
  ComputeGae(T, B, rewards, values, last, final_values, term, trunc, active, 0.9, 0.8, adv, ret);
  // row 0: A2 = 0.5 + 0.9*0.4 - 0.2 = 0.66; A1 = 2 - 1 = 1; A0 = 1 + 0.9*1 - 0.5 + 0.72*1 = 2.12
  // row 1: A2 = 1 + 0.9*0.3 - 0.1 = 1.17; A1 = 0.9*3 - 2 = 0.7; A0 = 1 + 0.9*2 - 1 + 0.72*0.7 = 2.304
  // row 2: A2 = 0 (inactive); A1 = 1 - 0 = 1; A0 = 1 + 0 - 0 + 0.72*1 = 1.72
  const std::vector<double> want = {2.12, 2.304, 1.72, 1.0, 0.7, 1.0, 0.66, 1.17, 0.0};
  for (size_t i = 0; i < want.size(); ++i) {
    DOCTEST_CHECK(adv[i] == doctest::Approx(want[i]).epsilon(1e-5));
    DOCTEST_CHECK(ret[i] == doctest::Approx(want[i] + values[i]).epsilon(1e-5));
  }
}

DOCTEST_TEST_CASE("ppo: clipped surrogate has zero gradient outside the clip range") {
  // eps = 0.2. (ratio, A): (1.1, +1) inside -> d/dratio = -A/n; (1.3, +1) clipped
  // above -> 0; (0.7, -1) clipped below -> 0; (1.3, -1) outside but the
  // unclipped term is the pessimistic one -> -A/n.
  torch::Tensor ratio = torch::tensor({1.1f, 1.3f, 0.7f, 1.3f}).requires_grad_(true);
  const torch::Tensor adv = torch::tensor({1.0f, 1.0f, -1.0f, -1.0f});
  const torch::Tensor loss = torch_agents::ClippedSurrogate(ratio, adv, 0.2);
  loss.backward();
  // loss = mean(-1.1, -1.2, 0.8, 1.3) = -0.2 / 4
  DOCTEST_CHECK(loss.item<double>() == doctest::Approx(-0.05).epsilon(1e-5));
  const float* g = ratio.grad().data_ptr<float>();
  DOCTEST_CHECK(g[0] == doctest::Approx(-0.25));
  DOCTEST_CHECK(g[1] == 0.0f);
  DOCTEST_CHECK(g[2] == 0.0f);
  DOCTEST_CHECK(g[3] == doctest::Approx(0.25));
}

DOCTEST_TEST_CASE("ppo: Plackett-Luce log-probability and entropy by hand") {
  // Weights 1, 2, 3: slate (2, 1) has probability 3/6 * 2/3 = 1/3.
  const torch::Tensor logits = torch::tensor({0.0f, float(std::log(2.0)), float(std::log(3.0))}).reshape({1, 3});
  const torch::Tensor slate = torch::tensor({int64_t(2), int64_t(1)}).reshape({1, 2});
  auto [logp, entropy] = torch_agents::PlackettLuce(logits, slate);
  DOCTEST_CHECK(logp.item<double>() == doctest::Approx(std::log(1.0 / 3.0)).epsilon(1e-6));
  auto h = [](std::vector<double> p) {
    double s = 0;
    for (double q : p) s -= q * std::log(q);
    return s;
  };
  const double want = h({1 / 6.0, 2 / 6.0, 3 / 6.0}) + h({1 / 3.0, 2 / 3.0});
  DOCTEST_CHECK(entropy.item<double>() == doctest::Approx(want).epsilon(1e-6));
}

// The slate entropy reported is normalized by that of the uniform
// distribution over ordered slates, log(K!/(K-k)!), not by log K: a
// near-uniform initial policy reads 1 (it read about k before), and the
// deterministic greedy evaluation policy 0.
DOCTEST_TEST_CASE("ppo: policy entropy normalized by its action space: uniform 1, deterministic 0") {
  const EnvParams params = RecsimEnv();
  const int K = params.num_candidates, k = params.slate_size;
  DOCTEST_REQUIRE(k > 1);
  VecEnv env(params, 3, 0, VecEnv::Options{32, 1, -1});
  AgentContext ctx{MakeEnvSpec(params), GroundTruth(env), 3, 0, 32, 0};
  auto agent = Registrar().Make(json{{"type", "ppo"}, {"eval_greedy", true}}, ctx);
  double slates = 1.0;
  for (int j = 0; j < k; ++j) slates *= double(K - j);
  DOCTEST_CHECK(agent->MaxPolicyEntropy() == doctest::Approx(std::log(slates)).epsilon(1e-12));
  SlateBatch s;
  s.Resize(32, k);
  agent->Act(env.Reset(), s);
  // Initial logits are small: every conditional softmax is nearly uniform.
  DOCTEST_CHECK(agent->LastPolicyEntropy() > 1.5 * std::log(double(K)));
  DOCTEST_CHECK(NormalizedPolicyEntropy(*agent) == doctest::Approx(1.0).epsilon(2e-3));
  DOCTEST_CHECK(NormalizedPolicyEntropy(*agent) <= 1.0 + 1e-9);
  agent->SetTraining(false);  // top-k of the logits: one slate with probability 1
  agent->Act(env.Reset(), s);
  DOCTEST_CHECK(NormalizedPolicyEntropy(*agent) == 0.0);
}

// eval_greedy here; the bit-identity part trains with the default sampling.
DOCTEST_TEST_CASE("ppo: learns on recsim_interest_evolution (beats random on eval users)") {
  const EnvParams params = RecsimEnv();
  const int B = 128, steps = 2000;
  const json config = {{"type", "ppo"}};
  AgentContext ctx{MakeEnvSpec(params), std::nullopt, 1, 0, B, steps};
  VecEnv env(params, 1, 0, VecEnv::Options{B, 1, -1});
  auto agent = Registrar().Make(config, ctx);
  Trace t;
  const auto t0 = std::chrono::steady_clock::now();
  Train(*agent, env, &env.Reset(), steps, t);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  agent->SetTraining(false);
  const double trained = MeanReward(*agent, params, 1000, B, 500);
  RandomAgent random(json::object(), ctx);
  const double baseline = MeanReward(random, params, 1000, B, 500);
  GreedyAgent greedy(json{{"score", "affinity"}}, ctx);
  const double reference = MeanReward(greedy, params, 1000, B, 500);
  DOCTEST_MESSAGE("ppo recsim: train " << steps << " steps x " << B << " rows in " << secs
                                       << " s; training reward/step " << t.reward / double(t.user_steps)
                                       << "; eval reward/step trained " << trained << " vs random " << baseline
                                       << " (greedy affinity " << reference << ")");
  DOCTEST_CHECK(trained > baseline * 1.05);
}

// --- The "drift" component (agents/torch/drift.h) ---

// 30 training steps of a small PPO (7 updates); the trace and the final checkpoint.
std::pair<Trace, std::string> ShortRun(const json& drift) {
  const EnvParams params = testing::ContractScenario();  // episodes capped at 5 steps: truncations happen
  const int B = 8;
  json config = {{"type", "ppo"}, {"rollout_steps", 4}, {"minibatches", 2}, {"epochs", 2}, {"hidden", {16}}};
  if (!drift.is_null()) config["drift"] = drift;
  AgentContext ctx{MakeEnvSpec(params), std::nullopt, 7, 0, B, 40};
  VecEnv env(params, 3, 0, VecEnv::Options{B, 1, -1});
  auto agent = Registrar().Make(config, ctx);
  Trace t;
  Train(*agent, env, &env.Reset(), 30, t);
  return {t, Checkpoint(*agent)};
}

std::vector<float> TestTheta(uint64_t seed, double output_scale) {
  std::vector<float> theta = torch_agents::InitialLpoTheta(seed);
  Rng rng = MakeRng(seed, 0, 1, StreamPurpose::kPolicy);
  for (int i = torch_agents::kLpoInputs * torch_agents::kLpoHidden; i < torch_agents::kLpoThetaSize; ++i)
    theta[size_t(i)] = float(rng.Normal(0.0, output_scale));  // b1 and w2
  return theta;
}

DOCTEST_TEST_CASE("ppo drift: clip is today's loss; lpo at theta = 0 and Initial(seed) is clip, bit for bit") {
  // The clip drift's loss is ClippedSurrogate itself; its f agrees with it.
  Rng rng = MakeRng(1, 0, 2, StreamPurpose::kPolicy);
  std::vector<float> r(64), a(64);
  for (size_t i = 0; i < r.size(); ++i) r[i] = float(std::exp(rng.Normal(0.0, 0.4))), a[i] = float(rng.Normal());
  const torch::Tensor ratio = torch::tensor(r), adv = torch::tensor(a);
  const auto clip = torch_agents::MakeDrift({{"type", "clip"}}, 0.2);
  DOCTEST_CHECK(torch::equal(clip->PolicyLoss(ratio, adv, 0.5), torch_agents::ClippedSurrogate(ratio, adv, 0.2)));
  DOCTEST_CHECK(torch::allclose(-(ratio * adv - clip->Value(ratio, adv, 0.5)).mean(),
                                torch_agents::ClippedSurrogate(ratio, adv, 0.2)));
  // Whole short training runs: explicit clip, lpo theta = 0 and lpo at its
  // initial theta (random hidden layer, zero output) equal the default config.
  const auto [base_trace, base_ckpt] = ShortRun(json());
  DOCTEST_CHECK(base_trace.updates == 7);
  const json lpo_init = {{"type", "lpo"}, {"theta", torch_agents::InitialLpoTheta(4)}};
  for (const json& drift : {json{{"type", "clip"}}, json{{"type", "lpo"}}, lpo_init}) {
    const auto [trace, ckpt] = ShortRun(drift);
    DOCTEST_CHECK(trace.slates == base_trace.slates);
    DOCTEST_CHECK(trace.reward == base_trace.reward);
    DOCTEST_CHECK(ckpt == base_ckpt);
  }
}

DOCTEST_TEST_CASE("ppo drift: DPO matches hand-computed values on both advantage branches") {
  // alpha 2, beta 0.6. A >= 0: relu(x - 2 tanh(x / 2)), x = (r - 1) A;
  // A < 0: relu(y - 0.6 tanh(y / 0.6)), y = log(r) A.
  //   (1.5, 1): x = 0.5, 0.5 - 2 tanh(0.25) = 0.0101626752
  //   (2, 3): x = 3, 3 - 2 tanh(1.5) = 1.1897034927
  //   (0.5, 1): x = -0.5 -> negative -> 0
  //   (0.5, -1): y = log 2, log 2 - 0.6 tanh(log 2 / 0.6) = 0.2014566037
  //   (0.25, -2): y = 2 log 4 -> 2.1727049757
  //   (2, -1): y = -log 2 -> 0; (1, +-2): 0
  const torch::Tensor ratio = torch::tensor({1.5f, 2.0f, 0.5f, 0.5f, 0.25f, 2.0f, 1.0f, 1.0f});
  const torch::Tensor adv = torch::tensor({1.0f, 3.0f, 1.0f, -1.0f, -2.0f, -1.0f, 2.0f, -2.0f});
  const std::vector<double> want = {0.0101626752, 1.1897034927, 0, 0.2014566037, 2.1727049757, 0, 0, 0};
  const auto dpo = torch_agents::MakeDrift({{"type", "dpo"}, {"alpha", 2.0}, {"beta", 0.6}}, 0.2);
  const torch::Tensor f = dpo->Value(ratio, adv, 0.0);
  for (size_t i = 0; i < want.size(); ++i)
    DOCTEST_CHECK(f[int64_t(i)].item<double>() == doctest::Approx(want[i]).epsilon(1e-5));
  // The schema defaults are the paper's alpha = 2, beta = 0.6.
  const json resolved = Registrar().Resolve({{"type", "ppo"}, {"drift", {{"type", "dpo"}}}});
  DOCTEST_CHECK(resolved["drift"]["alpha"] == 2.0);
  DOCTEST_CHECK(resolved["drift"]["beta"] == 0.6);
}

DOCTEST_TEST_CASE("ppo drift: lpo is a valid drift for random theta (>= clip, 0 and flat at r = 1)") {
  std::vector<float> r, a;
  for (float ri : {0.3f, 0.8f, 0.95f, 1.0f, 1.05f, 1.3f, 2.5f})
    for (float ai : {-2.0f, -0.5f, 0.0f, 0.7f, 2.0f, 5.0f}) r.push_back(ri), a.push_back(ai);
  const torch::Tensor adv = torch::tensor(a);
  const auto clip = torch_agents::MakeDrift({{"type", "clip"}}, 0.2);
  for (uint64_t seed : {1, 2, 3}) {
    const auto lpo = torch_agents::MakeDrift({{"type", "lpo"}, {"file", ""}, {"theta", TestTheta(seed, 1.0)}}, 0.2);
    for (double progress : {0.0, 0.6}) {
      torch::Tensor ratio = torch::tensor(r).requires_grad_(true);
      const torch::Tensor f = lpo->Value(ratio, adv, progress);
      f.sum().backward();
      const torch::Tensor g = (f - clip->Value(ratio, adv, progress)).detach();
      double residual = 0;
      for (size_t i = 0; i < r.size(); ++i) {
        const double gi = g[int64_t(i)].item<double>();
        DOCTEST_CHECK(f[int64_t(i)].item<double>() >= 0.0);
        DOCTEST_CHECK(gi >= 0.0);
        residual += gi;
        if (r[i] == 1.0f) {
          DOCTEST_CHECK(f[int64_t(i)].item<double>() == 0.0);
          DOCTEST_CHECK(ratio.grad()[int64_t(i)].item<double>() == 0.0);  // df/dr(1, A) = 0
        }
      }
      DOCTEST_CHECK(residual > 0.0);  // the network does act away from r = 1
    }
  }
}

DOCTEST_TEST_CASE("ppo drift: a non-zero lpo theta changes training; so does dpo") {
  const auto [base_trace, base_ckpt] = ShortRun(json());
  const auto [lpo_trace, lpo_ckpt] = ShortRun({{"type", "lpo"}, {"theta", TestTheta(5, 1.0)}});
  const auto [dpo_trace, dpo_ckpt] = ShortRun({{"type", "dpo"}});
  DOCTEST_CHECK(lpo_ckpt != base_ckpt);
  DOCTEST_CHECK(dpo_ckpt != base_ckpt);
  DOCTEST_CHECK(std::isfinite(lpo_trace.reward));
}

DOCTEST_TEST_CASE("ppo drift: lpo is a learnable rule; rule files round-trip; bad theta is an InputError") {
  namespace fs = std::filesystem;
  const LearnableRule& rule = torch_agents::LpoDriftRule();
  DOCTEST_CHECK(rule.slot == "drift");
  DOCTEST_CHECK(rule.theta_size == torch_agents::kLpoThetaSize);
  DOCTEST_CHECK(InitialTheta(rule, 9) == torch_agents::InitialLpoTheta(9));
  DOCTEST_CHECK(Registrar().FindLearnable("lpo") != nullptr);

  const fs::path dir = fs::temp_directory_path() / "cohort_test_lpo_rule";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "rule.json").string();
  const std::vector<float> theta = TestTheta(6, 0.5);
  WriteRuleFile(path, rule, theta, {{"generation", 1}});
  DOCTEST_CHECK(ReadRuleFile(path, rule) == theta);
  DOCTEST_CHECK(ShortRun({{"type", "lpo"}, {"file", path}}).second ==
                ShortRun({{"type", "lpo"}, {"theta", theta}}).second);
  DOCTEST_CHECK(testing::InputErrorOf([] {
                  ShortRun({{"type", "lpo"}, {"theta", {1.0, 2.0, 3.0}}});
                }).find("expected 128") != std::string::npos);
  const std::string wrong = (dir / "wrong.json").string();
  json short_rule = ReadJsonFile(path);
  short_rule["theta"].erase(0);
  WriteFileAtomic(wrong, short_rule.dump());
  DOCTEST_CHECK(testing::InputErrorOf([&] { ReadRuleFile(wrong, rule); }).find("wrong.json: /theta") !=
                std::string::npos);
  WriteFileAtomic(wrong, R"({"kind": "cohort_learned_optimizer", "version": 1})");
  DOCTEST_CHECK(testing::InputErrorOf([&] {
                  ShortRun({{"type", "lpo"}, {"file", wrong}});
                }).find("wrong.json: /kind") != std::string::npos);
  fs::remove_all(dir);
}

// CPU seconds of this process (the test machine may be shared: wall time is noisy).
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

DOCTEST_TEST_CASE("ppo: speed at B=1024 (reported, not asserted)") {
  const EnvParams params = RecsimEnv();
  const int B = 1024, steps = 64;
  const json config = {{"type", "ppo"}};
  AgentContext ctx{MakeEnvSpec(params), std::nullopt, 1, 0, B, 0};
  VecEnv env(params, 1, 0, VecEnv::Options{B, 1, -1});
  auto agent = Registrar().Make(config, ctx);
  SlateBatch s;
  s.Resize(B, params.slate_size);
  const StepBatch* obs = &env.Reset();
  double act = 0, step = 0, observe = 0, update = 0;
  for (int i = 0; i < steps; ++i) {
    const double t0 = CpuSeconds();
    agent->Act(*obs, s);
    const double t1 = CpuSeconds();
    obs = &env.Step(s);
    const double t2 = CpuSeconds();
    agent->Observe(*obs);
    const double t3 = CpuSeconds();
    agent->Update();
    const double t4 = CpuSeconds();
    act += t1 - t0, step += t2 - t1, observe += t3 - t2, update += t4 - t3;
  }
  const double us = double(B) * steps, agent_s = act + observe + update;
  DOCTEST_MESSAGE("ppo speed B=1024 (CPU time): agent act+observe+update "
                  << us / agent_s << " user-steps/s, with env " << us / (agent_s + step)
                  << " user-steps/s; per step ms: act " << 1e3 * act / steps << ", env " << 1e3 * step / steps
                  << ", observe " << 1e3 * observe / steps << ", update " << 1e3 * update / steps);
  DOCTEST_CHECK(agent_s > 0);
}

}  // namespace
// The Agent contract (tests/agent_harness.h); eval_greedy acts by the top-k logits.
COHORT_AGENT_CONFORMANCE(
    "ppo", Registrar(),
    {{{"type", "ppo"}, {"rollout_steps", 4}, {"minibatches", 2}, {"hidden", {16}}, {"eval_greedy", true}},
     "logit",
     1e-5,
     true});

// ... and with each sequence encoder (dropout on for the transformer, so the
// Save/Load clause covers its stream), on RecSim's scenario observing the last
// 6 interactions, with episodes long enough to fill them.
DOCTEST_TEST_CASE("Agent contract: ppo with the gru and transformer encoders") {
  const json encoders[] = {
      {{"type", "gru"}, {"hidden", 8}},
      {{"type", "transformer"}, {"hidden", 8}, {"layers", 1}, {"heads", 2}, {"feedforward", 16}, {"dropout", 0.1}}};
  for (const json& encoder : encoders) {
    json config = {{"type", "ppo"}, {"rollout_steps", 4}, {"minibatches", 2}, {"hidden", {16}}, {"eval_greedy", true}};
    config["encoder"] = encoder;
    testing::CheckAgentContract(Registrar(), testing::ContractCase{config, "logit", 1e-5, true},
                                RecsimEnv({"horizon.max_episode_steps=12", "observation.sequence.length=6"}));
  }
}

DOCTEST_TEST_CASE("ppo: a warm start from reinforce takes the actor and encoder; other networks refused") {
  testing::CheckActorCriticWarmStart(Registrar(), "ppo");
}

}  // namespace cohort
