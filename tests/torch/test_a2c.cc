// Tests of agents/torch/a2c.cc (the shared actor-critic pieces are tested in
// test_ppo.cc too). See tests/torch/main.cc: DOCTEST_ macros only.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

#include "agent_harness.h"
#include "agents/baselines.h"
#include "agents/torch/actor_critic.h"
#include "agents/torch/common.h"
#include "env/scenario.h"
#include "warm_start.h"

namespace cohort::torch_agents {
void RegisterA2c(AgentRegistrar& r);
}

namespace cohort {
namespace {

using testing::Checkpoint;
using testing::Trace;
using testing::Train;

using testing::MeanReward;
using testing::RecsimEnv;
using torch_agents::ComputeGae;
constexpr auto Registrar = &testing::Family<torch_agents::RegisterA2c>;

DOCTEST_TEST_CASE("a2c: GAE with lambda 1 gives discounted returns; truncation bootstraps, termination does not") {
  // One row, T = 4, gamma 0.5, lambda 1, V = 0 everywhere except the final
  // value of the truncated user (4.0): advantages are discounted reward sums
  // cut at each episode end.
  //   t0 r=1, t1 r=2 terminated, t2 r=1, t3 r=2 truncated (final V 4)
  std::vector<float> rewards = {1, 2, 1, 2}, values = {0, 0, 0, 0}, last = {10}, final_values = {0, 0, 0, 4};
  std::vector<uint8_t> term = {0, 1, 0, 0}, trunc = {0, 0, 0, 1}, active = {1, 1, 1, 1};
  std::vector<float> adv, ret;
  ComputeGae(4, 1, rewards, values, last, final_values, term, trunc, active, 0.5, 1.0, adv, ret);
  // t3: 2 + 0.5*4 = 4; t2: 1 + 0.5*4 = 3; t1: 2; t0: 1 + 0.5*2 = 2 (last V 10 never used)
  DOCTEST_CHECK(adv[0] == doctest::Approx(2.0));
  DOCTEST_CHECK(adv[1] == doctest::Approx(2.0));
  DOCTEST_CHECK(adv[2] == doctest::Approx(3.0));
  DOCTEST_CHECK(adv[3] == doctest::Approx(4.0));
  // lambda 0: one-step TD errors.
  values = {1, 1, 1, 1};
  ComputeGae(4, 1, rewards, values, last, final_values, term, trunc, active, 0.5, 0.0, adv, ret);
  DOCTEST_CHECK(adv[0] == doctest::Approx(1 + 0.5 * 1 - 1));
  DOCTEST_CHECK(adv[1] == doctest::Approx(2 - 1));
  DOCTEST_CHECK(adv[2] == doctest::Approx(1 + 0.5 * 1 - 1));
  DOCTEST_CHECK(adv[3] == doctest::Approx(2 + 0.5 * 4 - 1));
  DOCTEST_CHECK(ret[3] == doctest::Approx(4.0));
}

// eval_greedy here; the bit-identity part trains with the default sampling.
DOCTEST_TEST_CASE("a2c: learns on recsim_interest_evolution (beats random on eval users)") {
  const EnvParams params = RecsimEnv();
  const int B = 128, steps = 3000;
  const json config = {{"type", "a2c"}};
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
  DOCTEST_MESSAGE("a2c recsim: train " << steps << " steps x " << B << " rows in " << secs
                                       << " s; training reward/step " << t.reward / double(t.user_steps)
                                       << "; eval reward/step trained " << trained << " vs random " << baseline);
  DOCTEST_CHECK(trained > baseline * 1.05);
}

}  // namespace
// The Agent contract (tests/agent_harness.h); eval_greedy acts by the top-k logits.
COHORT_AGENT_CONFORMANCE(
    "a2c", Registrar(),
    {{{"type", "a2c"}, {"rollout_steps", 4}, {"hidden", {16}}, {"eval_greedy", true}}, "logit", 1e-5, true});

// ... and with each sequence encoder (dropout on for the transformer, so the
// Save/Load clause covers its stream), on RecSim's scenario observing the last
// 6 interactions, with episodes long enough to fill them.
DOCTEST_TEST_CASE("Agent contract: a2c with the gru and transformer encoders") {
  const json encoders[] = {
      {{"type", "gru"}, {"hidden", 8}},
      {{"type", "transformer"}, {"hidden", 8}, {"layers", 1}, {"heads", 2}, {"feedforward", 16}, {"dropout", 0.1}}};
  for (const json& encoder : encoders) {
    json config = {{"type", "a2c"}, {"rollout_steps", 4}, {"hidden", {16}}, {"eval_greedy", true}};
    config["encoder"] = encoder;
    testing::CheckAgentContract(Registrar(), testing::ContractCase{config, "logit", 1e-5, true},
                                RecsimEnv({"horizon.max_episode_steps=12", "observation.sequence.length=6"}));
  }
}

DOCTEST_TEST_CASE("a2c: a warm start from reinforce takes the actor and encoder; other networks refused") {
  testing::CheckActorCriticWarmStart(Registrar(), "a2c");
}

}  // namespace cohort
