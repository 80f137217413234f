// Tests of agents/torch/dqn.cc (see tests/torch/main.cc: DOCTEST_ macros only).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "agent_harness.h"
#include "agents/baselines.h"
#include "agents/torch/common.h"
#include "env/scenario.h"

namespace cohort::torch_agents {
void RegisterDqn(AgentRegistrar& r);
// Test seam defined in agents/torch/dqn.cc.
namespace dqn_testing {
std::vector<float> TdTargets(Agent& a, const StepBatch& next, const std::vector<float>& reward,
                             const std::vector<float>& done);
std::vector<float> CandidateQ(Agent& a, const StepBatch& obs, bool target);
void PerturbOnline(Agent& a, uint64_t seed, double scale);
void SyncTarget(Agent& a);
}  // namespace dqn_testing
}  // namespace cohort::torch_agents

namespace {

using namespace cohort;
using testing::Checkpoint;
using testing::Trace;
using testing::Train;
namespace dt = cohort::torch_agents::dqn_testing;
using testing::EpisodeReturn;
using testing::RecsimEnv;
constexpr auto Registrar = &testing::Family<torch_agents::RegisterDqn>;

json SmallConfig() {
  return json{{"type", "dqn"},      {"learning_starts", 64}, {"batch_size", 32},
              {"target_update", 5}, {"epsilon_steps", 30},   {"hidden", {16}}};
}

DOCTEST_TEST_CASE("dqn acts with the top-k candidates by Q when greedy") {
  const EnvParams p = RecsimEnv({"slate_size=3"});
  VecEnv::Options o;
  o.num_envs = 8;
  VecEnv env(p, 2, 0, o);
  const StepBatch& b = env.Reset();
  AgentContext ctx{MakeEnvSpec(p), GroundTruth(env), 2, 0, 8, 0};
  auto agent = Registrar().Make(json{{"type", "dqn"}}, ctx);
  agent->SetTraining(false);
  SlateBatch s;
  s.Resize(8, 3);
  agent->Act(b, s);
  const std::vector<float> q = dt::CandidateQ(*agent, b, false);
  for (int r = 0; r < 8; ++r) {
    std::vector<float> row(q.begin() + r * 10, q.begin() + r * 10 + 10);
    std::vector<float> sorted = row;
    std::sort(sorted.rbegin(), sorted.rend());
    for (int j = 0; j < 3; ++j) DOCTEST_CHECK(row[size_t(s.Row(r)[j])] == sorted[size_t(j)]);
  }
}

DOCTEST_TEST_CASE("dqn CandidateScores: the online Q-values, whose top-k the greedy slate is") {
  const EnvParams p = RecsimEnv({"slate_size=3"});
  const int B = 8;
  VecEnv::Options o;
  o.num_envs = B;
  VecEnv env(p, 2, 0, o);
  AgentContext ctx{MakeEnvSpec(p), GroundTruth(env), 2, 0, B, 0};
  auto agent = Registrar().Make(SmallConfig(), ctx);
  const StepBatch* b = &env.Reset();
  Trace trace;
  b = Train(*agent, env, b, 60, trace);  // some updates: Q is no longer the initial network
  DOCTEST_REQUIRE(!trace.stats.empty());
  agent->SetTraining(false);
  // The same values as the whole batch's forward pass (the test seam).
  const std::vector<float> q = dt::CandidateQ(*agent, *b, false);
  std::vector<double> scores(10);
  for (int r = 0; r < B; ++r) {
    if (!b->active[size_t(r)]) continue;
    DOCTEST_CHECK(agent->CandidateScores(*b, r, scores.data()) == "Q-value");
    for (int c = 0; c < 10; ++c)
      DOCTEST_CHECK(scores[size_t(c)] == doctest::Approx(q[size_t(r) * 10 + size_t(c)]).epsilon(1e-5));
  }
  int distinct = 0;
  DOCTEST_CHECK(testing::ActsByTopScores(*agent, env, b, 10, "Q-value", 1e-5, &distinct) == "");
  DOCTEST_CHECK(distinct > 10 * B / 2);
}

DOCTEST_TEST_CASE("dqn TD target: online argmax on the next state, evaluated by the target network") {
  const EnvParams p = RecsimEnv();
  VecEnv::Options o;
  o.num_envs = 8;
  VecEnv env(p, 5, 0, o);
  const StepBatch& next = env.Reset();
  AgentContext ctx{MakeEnvSpec(p), GroundTruth(env), 5, 0, 8, 0};
  auto agent = Registrar().Make(json{{"type", "dqn"}, {"gamma", 0.9}}, ctx);
  // k = 2 positions per row: the clicked one carries the reward, the other 0.
  std::vector<float> reward(16, 0.0f);
  for (int r = 0; r < 8; ++r) reward[size_t(r) * 2 + size_t(r % 2)] = float(r + 1);
  const std::vector<float> done = {0, 0, 1, 0, 0, 0, 0, 0};
  dt::PerturbOnline(*agent, 77, 0.5);  // online and target now disagree
  const std::vector<float> qo = dt::CandidateQ(*agent, next, false);
  const std::vector<float> qt = dt::CandidateQ(*agent, next, true);
  const std::vector<float> y = dt::TdTargets(*agent, next, reward, done);
  int differs = 0;
  for (int r = 0; r < 8; ++r) {
    const auto o_row = qo.begin() + r * 10, t_row = qt.begin() + r * 10;
    const int a_online = int(std::max_element(o_row, o_row + 10) - o_row);
    const int a_target = int(std::max_element(t_row, t_row + 10) - t_row);
    differs += a_online != a_target;
    const double boot = done[size_t(r)] ? 0.0 : 0.9 * t_row[a_online];
    for (int j = 0; j < 2; ++j) {
      const size_t i = size_t(r) * 2 + size_t(j);
      DOCTEST_CHECK(y[i] == doctest::Approx(reward[i] + boot).epsilon(1e-5));
    }
  }
  DOCTEST_CHECK(differs > 0);  // the case separates online-max from target-argmax
  // A sync makes target == online: targets move to the online values.
  dt::SyncTarget(*agent);
  const std::vector<float> y2 = dt::TdTargets(*agent, next, reward, done);
  for (int r = 0; r < 8; ++r) {
    const auto o_row = qo.begin() + r * 10;
    const double boot = done[size_t(r)] ? 0.0 : 0.9 * *std::max_element(o_row, o_row + 10);
    DOCTEST_CHECK(y2[size_t(r) * 2] == doctest::Approx(reward[size_t(r) * 2] + boot).epsilon(1e-5));
  }
}

DOCTEST_TEST_CASE("dqn learns on recsim_interest_evolution: beats random on reward per step") {
  const EnvParams p = RecsimEnv();
  const int B = 128, steps = 1500;
  VecEnv::Options o;
  o.num_envs = B;
  VecEnv env(p, 1, 0, o);
  AgentContext ctx{MakeEnvSpec(p), GroundTruth(env), 1, 0, B, steps};
  auto agent = Registrar().Make(json{{"type", "dqn"}, {"gamma", 0.9}}, ctx);
  const StepBatch* b = &env.Reset();
  Trace trace;
  b = Train(*agent, env, b, steps, trace);
  agent->SetTraining(false);
  double dqn_step, random_step, greedy_step;
  const double dqn_return = EpisodeReturn(*agent, p, 1000, B, &dqn_step);
  RandomAgent random(json::object(), ctx);
  const double random_return = EpisodeReturn(random, p, 1000, B, &random_step);
  GreedyAgent greedy(json{{"score", "affinity"}}, ctx);
  const double greedy_return = EpisodeReturn(greedy, p, 1000, B, &greedy_step);
  DOCTEST_MESSAGE("episode return (128 eval users, seed 1000): dqn " << dqn_return << " random " << random_return
                                                                     << " greedy-affinity " << greedy_return);
  DOCTEST_MESSAGE("reward per user-step: dqn " << dqn_step << " random " << random_step << " greedy-affinity "
                                               << greedy_step);
  DOCTEST_CHECK(dqn_step > random_step * 1.1);
}

// The Agent contract (tests/agent_harness.h); the greedy slate is the top-k of the Q-values.
COHORT_AGENT_CONFORMANCE("dqn", Registrar(), {SmallConfig(), "Q-value", 1e-5, true});

}  // namespace
