// The warm start ("init", Agent::InitFrom) of a2c and ppo, shared by
// test_a2c.cc and test_ppo.cc (both link the reinforce library): from a
// reinforce agent the actor takes the policy network and the encoder its
// values, the critic keeps its own; from the same algorithm every network is
// copied; other networks are refused at /agent/init without copying anything.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "agent_harness.h"
#include "agents/torch/encoder_config.h"
#include "agents/torch/reinforce.h"

namespace cohort::testing {

// name -> values of every parameter of `agent` whose name starts with `group` + ".".
inline std::vector<std::vector<float>> GroupValues(const Agent& agent, const std::string& group) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, t] : dynamic_cast<const torch_agents::WarmStartSource&>(agent).Networks().Named()) {
    if (name.rfind(group + ".", 0) != 0) continue;
    const torch::Tensor c = t.detach().contiguous();
    out.emplace_back(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

inline void CheckActorCriticWarmStart(const TestRegistrar& family, const std::string& type) {
  const EnvParams params = RecsimEnv({"horizon.max_episode_steps=12", "observation.sequence.length=6"});
  VecEnv env(params, 3, 0, VecEnv::Options{8, 1, -1});
  AgentContext ctx{MakeEnvSpec(params), std::nullopt, 5, 0, 8, 0};
  AgentContext other_seed = ctx;
  other_seed.seed = 9;
  const TestRegistrar& reinforce_family = Family<torch_agents::RegisterReinforce>();
  auto config = [&](const std::string& t, json extra = json::object()) {
    json c = {{"type", t}, {"hidden", {16}}, {"activation", "relu"}, {"encoder", {{"type", "gru"}, {"hidden", 8}}}};
    for (auto& [key, value] : extra.items()) c[key] = value;
    return c;
  };
  auto reinforce = reinforce_family.Make(config("reinforce"), ctx);
  const StepBatch& b = env.Reset();
  const size_t K = size_t(params.num_candidates);
  auto scores = [&](const Agent& a) {
    std::vector<double> s(K);
    a.CandidateScores(b, 0, s.data());
    return s;
  };

  DOCTEST_SUBCASE("from reinforce: the actor and the encoder, not the critic") {
    auto agent = family.Make(config(type), other_seed);
    const auto critic = GroupValues(*agent, "critic");
    DOCTEST_CHECK(critic.size() == 4);  // two linear layers
    DOCTEST_CHECK(scores(*agent) != scores(*reinforce));
    agent->InitFrom(*reinforce);
    DOCTEST_CHECK(scores(*agent) == scores(*reinforce));  // the same logits, bit for bit
    DOCTEST_CHECK(GroupValues(*agent, "actor") == GroupValues(*reinforce, "policy"));
    DOCTEST_CHECK(GroupValues(*agent, "encoder") == GroupValues(*reinforce, "encoder"));
    DOCTEST_CHECK(GroupValues(*agent, "critic") == critic);
    // ... and back: reinforce from this agent's actor, its value head kept.
    auto back = reinforce_family.Make(config("reinforce"), other_seed);
    const auto value = GroupValues(*back, "value");
    DOCTEST_CHECK(!value.empty());
    back->InitFrom(*agent);
    DOCTEST_CHECK(scores(*back) == scores(*agent));
    DOCTEST_CHECK(GroupValues(*back, "value") == value);
  }
  DOCTEST_SUBCASE("from the same algorithm: every network") {
    auto trained = family.Make(config(type), ctx);
    auto agent = family.Make(config(type), other_seed);
    agent->InitFrom(*trained);
    for (const char* group : {"actor", "critic", "encoder"})
      DOCTEST_CHECK(GroupValues(*agent, group) == GroupValues(*trained, group));
  }
  DOCTEST_SUBCASE("other networks are refused, nothing copied") {
    const json differs[] = {config(type, {{"hidden", {8}}}),                 // shapes
                            config(type, {{"activation", "tanh"}}),          // same shapes, other function
                            config(type, {{"encoder", {{"type", "mlp"}}}}),  // no encoder here
                            config(type, {{"encoder", {{"type", "transformer"}, {"hidden", 8}}}})};
    for (const json& c : differs) {
      DOCTEST_INFO(c.dump());
      auto agent = family.Make(c, other_seed);
      const std::string bytes = Checkpoint(*agent);
      try {
        agent->InitFrom(*reinforce);
        DOCTEST_FAIL("a warm start across networks was accepted");
      } catch (const InputError& e) {
        DOCTEST_CHECK(std::string(e.what()).find("/agent/init") != std::string::npos);
      }
      DOCTEST_CHECK(Checkpoint(*agent) == bytes);
    }
    // Transformers that differ only in their number of heads have the same shapes: refused by name.
    const json two = {{"type", "transformer"}, {"hidden", 8}, {"heads", 2}, {"layers", 1}, {"feedforward", 8}};
    json four = two;
    four["heads"] = 4;
    auto source = reinforce_family.Make(config("reinforce", {{"encoder", two}}), ctx);
    auto agent = family.Make(config(type, {{"encoder", four}}), other_seed);
    try {
      agent->InitFrom(*source);
      DOCTEST_FAIL("a warm start across head counts was accepted");
    } catch (const InputError& e) {
      DOCTEST_CHECK(std::string(e.what()).find("4 heads here, activation relu, encoder transformer with 2 heads") !=
                    std::string::npos);
    }
  }
}

}  // namespace cohort::testing
