// The visualizer's simulation (viz/sim.h), without a window: recording the
// views does not change the run, the session log tells the truth about each
// step, live edits, the population aggregate, and loading a trained agent
// (--agent) or a learned rule (--rule), with their input errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "agents/bandits.h"
#include "agents/learnable.h"
#include "agents/exposure.h"
#include "agents/registry.h"
#include "agents/trainer.h"
#include "core/io.h"
#include "input_error_of.h"
#include "viz/sim.h"

namespace fs = std::filesystem;

namespace cohort {
namespace {

const std::string kRecsim = std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json";

viz::SimOptions Options(std::vector<std::string> sets) {
  viz::SimOptions o;
  o.scenario = kRecsim;
  o.overrides = std::move(sets);
  o.drawn_users = 16;
  return o;
}

std::string AgentBytes(const Agent& a) {
  BinaryWriter w;
  a.Save(w);
  return w.data();
}

fs::path Fresh(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("cohort_test_viz_sim_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

}  // namespace

// The window's loop (with every view recorded and a user followed) is the
// runner's loop: the same slates and rewards as Act/Step/Observe/Update by hand,
// and the same learned state.
TEST_CASE("viz sim: recording the views does not change the run") {
  viz::Sim sim(Options({"agent.type=linucb", "run.num_envs=48"}));
  sim.Select(5);
  const Scenario s = LoadScenario(kRecsim, {"agent.type=linucb", "run.num_envs=48"}, AgentRegistry());
  VecEnv env(s.env, s.seed, s.variant, VecEnv::Options{48, 1, -1});
  AgentContext ctx{MakeEnvSpec(s.env), GroundTruth(env), s.seed, s.variant, 48, s.run.train_steps};
  std::unique_ptr<Agent> agent = MakeAgent(s.agent, ctx);
  SlateBatch slates;
  slates.Resize(48, s.env.slate_size);
  const StepBatch* batch = &env.Reset();
  for (int t = 0; t < 120; ++t) {
    agent->Act(*batch, slates);
    batch = &env.Step(slates);
    agent->Observe(*batch);
    agent->Update();
    sim.Step();
    REQUIRE(sim.slates().index == slates.index);
    REQUIRE(sim.batch().reward == batch->reward);
  }
  CHECK(AgentBytes(sim.agent()) == AgentBytes(*agent));
  CHECK(sim.series().reward.size() == 120);
  CHECK(sim.steps() == 120);
}

// Each record: the slate's true click probabilities and P(no click) sum to 1,
// the click and watch time match the step's outcome, the agent's scores rank
// its slate (LinUCB acts greedily on its index), and an ended episode names the
// slot's next user.
TEST_CASE("viz sim: the session log of the selected user") {
  viz::Sim sim(Options({"agent.type=linucb", "run.num_envs=8", "env.users.time_budget.mean=12"}));
  sim.Select(3);
  int ended = 0, clicks = 0;
  for (int t = 0; t < 200; ++t) {
    sim.Step();
    REQUIRE_FALSE(sim.session().empty());
    const viz::SessionRecord& r = sim.session().back();
    CHECK(r.step == sim.steps());
    double total = r.no_click_prob;
    for (double p : r.click_prob) total += p;
    CHECK(total == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(r.clicked == sim.batch().click_position[3]);
    CHECK((r.watch_time > 0.0) == (r.clicked >= 0));
    clicks += r.clicked >= 0;
    REQUIRE(r.score_name == "UCB index");
    std::vector<double> in_slate;
    double best_outside = -1e300;
    for (size_t c = 0; c < r.agent_score.size(); ++c) {
      const bool shown = std::find(r.slate.begin(), r.slate.end(), int32_t(c)) != r.slate.end();
      if (shown)
        in_slate.push_back(r.agent_score[c]);
      else
        best_outside = std::max(best_outside, r.agent_score[c]);
    }
    CHECK(*std::min_element(in_slate.begin(), in_slate.end()) >= best_outside);
    if (r.terminated) {
      ++ended;
      CHECK(r.next_user != r.user);
      CHECK(r.end_reason == EndReason::kBudget);
    }
  }
  CHECK(ended > 3);
  CHECK(clicks > 20);
  CHECK(sim.session().size() == 200);
  sim.Select(4);
  CHECK(sim.session().empty());
}

TEST_CASE("viz sim: live edits take effect, survive a restart and can be undone") {
  viz::Sim sim(Options({"agent.type=greedy", "run.num_envs=16"}));
  viz::LiveParams p = sim.live();
  REQUIRE(p.choice.size() == 1);  // the proportional model's one live key, its no-click mass
  CHECK(p.choice[0] == sim.scenario().env.choice.no_click_mass);
  p.choice[0] = 3.5;
  p.boredom_increment = 0.4;
  sim.SetLive(p);
  CHECK(sim.env().model().params().choice.no_click_mass == 3.5);
  CHECK(sim.env().Boredom(0) != nullptr);
  for (int t = 0; t < 5; ++t) sim.Step();
  sim.Restart(9);
  CHECK(sim.seed() == 9);
  CHECK(sim.steps() == 0);
  CHECK(sim.env().model().params().choice.no_click_mass == 3.5);
  CHECK(sim.env().model().params().dynamics.boredom_increment == 0.4);
  sim.SetLive(sim.scenario_live());
  CHECK(sim.env().model().params().choice.no_click_mass == sim.scenario().env.choice.no_click_mass);
  // A value past the model's constraint is clamped to a valid model.
  p.choice[0] = sim.scenario().env.choice.min_normalizer - 5.0;
  sim.SetLive(p);
  CHECK(sim.env().model().params().choice.no_click_mass > sim.env().model().params().choice.min_normalizer);
}

// The live panel's sliders come from the env schema: each range declared
// once beside its key (Schema::Slider where the key's range is open-ended).
TEST_CASE("viz sim: live sliders read their ranges and docs from the schema") {
  for (const char* model : {"proportional", "mnl", "cascade", "pbm"}) {
    CAPTURE(model);
    viz::Sim sim(
        Options({"agent.type=greedy", "run.num_envs=8", std::string("env.choice={\"type\": \"") + model + "\"}"}));
    const EnvParams& env = sim.scenario().env;
    const std::vector<viz::LiveSlider> sliders = viz::LiveSliders(env);
    REQUIRE(sliders.size() == sim.live().Values().size());
    CHECK(sliders[0].key == "dynamics.interest.drift_std");
    CHECK(sliders[3].key == "dynamics.boredom.decay");
    const json doc = {{"choice", {{"type", model}}}};
    for (const viz::LiveSlider& s : sliders) {
      CAPTURE(s.key);
      const Field* f = FindField(EnvSchema(), s.key, doc);
      REQUIRE(f != nullptr);
      CHECK(s.field == f);
      CHECK(!f->doc.empty());
      CHECK(std::isfinite(s.lo));
      CHECK(std::isfinite(s.hi));
      CHECK(s.lo < s.hi);
      CHECK(s.lo >= f->min);  // inside the key's own range
      CHECK(s.hi <= f->max);
      if (f->HasSlider()) {
        CHECK(s.lo == f->slider_min);
        CHECK(s.hi == f->slider_max);
        CHECK(s.log_scale == f->slider_log);
      } else {
        CHECK(s.lo == f->min);
        CHECK(s.hi == f->max);
      }
    }
    // The temperature, where a model has one, slides on a log scale from 0.02.
    for (const viz::LiveSlider& s : sliders)
      if (s.key == "choice.temperature") CHECK((s.log_scale && s.lo == 0.02));
  }
  // Open-ended keys declare their slider range in the schema.
  const Field* drift = FindField(EnvSchema(), "dynamics.interest.drift_std");
  REQUIRE(drift != nullptr);
  CHECK(drift->max >= kMaxParameterMagnitude);  // open-ended: bounded only for finiteness
  CHECK(drift->HasSlider());
  CHECK(FindField(EnvSchema(), "dynamics.interest.nosuch") == nullptr);
  CHECK(FindField(EnvSchema(), "choice.no_click_mass", json{{"choice", {{"type", "proportional"}}}}) != nullptr);
  CHECK(FindField(EnvSchema(), "choice.no_click_mass", json{{"choice", {{"type", "mnl"}}}}) == nullptr);
}

// Live values are clamped to their keys' schema ranges (not to the sliders'),
// so an edit never makes an invalid model.
TEST_CASE("viz sim: live edits are clamped to the schema's ranges") {
  viz::Sim sim(Options({"agent.type=greedy", "run.num_envs=8", "env.choice={\"type\": \"mnl\"}"}));
  viz::LiveParams p = sim.live();
  p.drift_std = -1.0;          // [0, inf)
  p.interest_step = 3.0;       // [0, 1]
  p.boredom_increment = 50.0;  // [0, inf): past the slider's 2, still valid
  p.boredom_decay = -0.5;      // [0, 1]
  p.choice[0] = -2.0;          // temperature > 0
  sim.SetLive(p);
  const EnvParams& e = sim.env().model().params();
  CHECK(e.dynamics.drift_std == 0.0);
  CHECK(e.dynamics.interest_step == 1.0);
  CHECK(e.dynamics.boredom_increment == 50.0);
  CHECK(e.dynamics.boredom_decay == 0.0);
  CHECK(e.choice.temperature > 0.0);
  CHECK(e.choice.temperature < 1e-300);
  viz::LiveParams q;
  q.SetValues({0.1, 0.2, 0.3, 0.4, 5.0});
  CHECK(q.drift_std == 0.1);
  CHECK(q.boredom_decay == 0.4);
  CHECK(q.choice == std::vector<double>{5.0});
  CHECK(q.Values() == std::vector<double>{0.1, 0.2, 0.3, 0.4, 5.0});
}

// A slider range must lie inside the key's range and be finite.
TEST_CASE("viz sim: Schema::Slider refuses a range outside its key's") {
  Schema s;
  s.Number("x", 0.5, 0.0, 1.0, "doc");
  CHECK_THROWS_AS(s.Slider(-1.0, 0.5), std::logic_error);
  CHECK_THROWS_AS(s.Slider(0.5, 0.5), std::logic_error);
  CHECK_THROWS_AS(s.Slider(0.0, 1.0, true), std::logic_error);  // log scale from 0
  s.Slider(0.1, 0.9, true);
  CHECK(s.Find("x")->HasSlider());
  s.PositiveNumber("t", 1.0, "doc");
  CHECK_THROWS_AS(s.Slider(0.0, 5.0), std::logic_error);  // t > 0
  s.Bool("b", true, "doc");
  CHECK_THROWS_AS(s.Slider(0.0, 1.0), std::logic_error);
}

namespace {
// An agent that reports a fixed entropy over a fixed maximum.
class EntropyAgent : public Agent {
 public:
  EntropyAgent(double h, double max) : h_(h), max_(max) {}
  const std::string& type() const override {
    static const std::string name = "entropy_stub";
    return name;
  }
  void Act(const StepBatch&, SlateBatch&) override {}
  double LastPolicyEntropy() const override { return h_; }
  double MaxPolicyEntropy() const override { return max_; }

 private:
  double h_, max_;
};
}  // namespace

// The Policy view plots entropy / (the agent's largest entropy), in [0, 1].
TEST_CASE("viz: policy entropy is normalized by the agent's own action space") {
  CHECK(PlackettLuceMaxEntropy(10, 1) == doctest::Approx(std::log(10.0)));
  CHECK(PlackettLuceMaxEntropy(10, 3) == doctest::Approx(std::log(720.0)));
  CHECK(PlackettLuceMaxEntropy(4, 4) == doctest::Approx(std::log(24.0)));
  // A uniform Plackett-Luce policy over slates of 3 from 10 has entropy log 720: 1.
  CHECK(NormalizedPolicyEntropy(EntropyAgent(std::log(720.0), PlackettLuceMaxEntropy(10, 3))) == doctest::Approx(1.0));
  CHECK(NormalizedPolicyEntropy(EntropyAgent(0.0, PlackettLuceMaxEntropy(10, 3))) == 0.0);
  CHECK(std::isnan(NormalizedPolicyEntropy(EntropyAgent(std::nan(""), 2.0))));
  CHECK(std::isnan(NormalizedPolicyEntropy(EntropyAgent(1.0, std::nan("")))));
  CHECK(std::isnan(NormalizedPolicyEntropy(EntropyAgent(0.0, 0.0))));  // one action: no entropy to speak of
}

// The aggregate behind the drawn sample bins every active user once.
TEST_CASE("viz sim: the density grid aggregates every user") {
  viz::Sim sim(Options({"agent.type=random", "run.num_envs=5000"}));
  sim.Step();
  const viz::DensityGrid g = sim.Density(sim.topic_map(), true, 32, 1.0f);  // the topic circle lies in the unit disc
  int64_t active = 0;
  for (int r = 0; r < sim.rows(); ++r) active += sim.batch().active[size_t(r)];
  CHECK(g.users == active);
  CHECK(std::accumulate(g.count.begin(), g.count.end(), 0.0) == doctest::Approx(double(active)));
  CHECK(g.max > 1.0f);
  CHECK(sim.drawn().size() == 16);
}

// Series are per-step means over the users that acted.
TEST_CASE("viz sim: per-step series") {
  viz::Sim sim(Options({"agent.type=greedy", "run.num_envs=32"}));
  for (int t = 0; t < 30; ++t) sim.Step();
  const auto& s = sim.series();
  CHECK(s.reward.size() == 30);
  double mean = 0.0;
  for (int r = 0; r < 32; ++r) mean += sim.batch().reward[size_t(r)] / 32.0;
  CHECK(s.reward.last() == doctest::Approx(mean));
  for (size_t i = 0; i < s.slate_diversity.size(); ++i) {
    CHECK(s.slate_diversity.at(i) > 0.0);
    CHECK(s.slate_diversity.at(i) <= 1.0);
    CHECK(s.coverage.at(i) <= 1.0);
  }
  // The exposure Gini curve is the running heatmap's, by hand.
  std::vector<double> exposure(size_t(sim.heatmap().num_topics()), 0.0);
  for (int t = 0; t < sim.heatmap().num_topics(); ++t)
    for (int j = 0; j < sim.heatmap().slate_size(); ++j)
      exposure[size_t(t)] += double(sim.heatmap().count(t, j)) / std::log2(double(j) + 2.0);
  CHECK(s.exposure_gini.size() == 30);
  CHECK(s.exposure_gini.last() == doctest::Approx(Gini(exposure)));
  CHECK(s.exposure_gini.last() > 0.0);
  // The myopic normalized reward of the myopic oracle is 1 by construction.
  viz::Sim oracle(Options({"agent.type=oracle", "run.num_envs=32"}));
  oracle.Step();
  CHECK(oracle.series().normalized_reward.last() == doctest::Approx(1.0));
}

TEST_CASE("viz sim: --agent loads a training checkpoint's policy") {
  const fs::path dir = Fresh("checkpoint");
  const Scenario run = LoadScenario(
      kRecsim,
      {"agent.type=epsilon_greedy", "run.num_envs=16", "run.episodes=16", "run.train_steps=40", "run.eval_every=20"},
      AgentRegistry());
  TrainOptions t;
  t.out_dir = dir.string();
  REQUIRE_FALSE(TrainScenario(run, t).interrupted);

  viz::SimOptions o = Options({"agent.type=random"});  // the checkpoint's agent replaces the scenario's
  o.agent_checkpoint = dir.string();
  viz::Sim sim(o);
  CHECK(sim.agent().type() == "epsilon_greedy");
  CHECK(sim.rows() == 16);
  CHECK_FALSE(sim.learning());
  CHECK(sim.run_dir() == dir.string());
  CHECK(sim.agent_label().find("checkpoint at step 40") != std::string::npos);
  // The trained state, not a fresh agent's.
  const CheckpointInfo info = ReadCheckpointInfo(dir.string());
  VecEnv env(run.env, run.seed, run.variant, VecEnv::Options{16, 1, -1});
  AgentContext ctx{MakeEnvSpec(run.env), GroundTruth(env), run.seed, run.variant, 16, run.run.train_steps};
  std::unique_ptr<Agent> fresh = MakeAgent(run.agent, ctx), loaded = MakeAgent(run.agent, ctx);
  LoadCheckpointAgent(info, run, *loaded);
  loaded->SetTraining(false);
  fresh->SetTraining(false);
  CHECK(AgentBytes(sim.agent()) == AgentBytes(*loaded));
  CHECK(AgentBytes(sim.agent()) != AgentBytes(*fresh));
  // Frozen: the evaluation loop (Act only), exactly as the runner evaluates.
  VecEnv shown(sim.scenario().env, sim.seed(), 0, VecEnv::Options{16, 1, -1});
  SlateBatch slates;
  slates.Resize(16, run.env.slate_size);
  const StepBatch* batch = &shown.Reset();
  for (int i = 0; i < 10; ++i) {
    sim.Step();
    loaded->Act(*batch, slates);
    batch = &shown.Step(slates);
    REQUIRE(sim.slates().index == slates.index);
  }
  CHECK(AgentBytes(sim.agent()) == AgentBytes(*loaded));
  CHECK(sim.updates() == 0);

  viz::SimOptions shape = Options({"env.slate_size=3"});
  shape.agent_checkpoint = dir.string();
  CHECK(testing::InputErrorOf([&] { viz::Sim s(shape); }).find("/env/slate_size: differs from the trained agent") !=
        std::string::npos);
  viz::SimOptions missing = Options({});
  missing.agent_checkpoint = (dir / "nothing_here").string();
  CHECK(testing::InputErrorOf([&] { viz::Sim s(missing); }).find("has no checkpoint.bin") != std::string::npos);
}

TEST_CASE("viz sim: --rule puts a learned rule in its slot") {
  const fs::path dir = Fresh("rule");
  const LearnableRule& rule = bandits::ExplorationRule();
  std::vector<float> theta(size_t(rule.theta_size), 0.0f);
  theta[0] = 0.7f;
  const std::string path = (dir / "rule.json").string();
  WriteRuleFile(path, rule, theta, json::object());

  viz::SimOptions o = Options({"agent.type=linucb", "run.num_envs=8"});
  o.rule = path;
  viz::Sim sim(o);
  REQUIRE(sim.rule() == FindLearnableRule("meta_schedule"));
  CHECK(sim.rule_theta() == theta);
  CHECK(sim.agent_config()["exploration"]["type"] == "meta_schedule");
  // The meta view's probe: exp(0.7) at every t/T; the baseline 1.
  const RuleProbe& probe = sim.rule()->probe;
  REQUIRE(probe.evaluate);
  CHECK(probe.evaluate(theta, {0.5, 60.0}, sim.agent_config()) == doctest::Approx(std::exp(0.7)));
  CHECK(probe.evaluate(std::vector<float>(theta.size(), 0.0f), {0.5, 60.0}, sim.agent_config()) == 1.0);
  sim.Step();

  viz::SimOptions wrong_agent = Options({"agent.type=greedy"});
  wrong_agent.rule = path;
  CHECK(testing::InputErrorOf([&] { viz::Sim s(wrong_agent); }).find("does not have") != std::string::npos);
  viz::SimOptions both = o;
  both.agent_checkpoint = dir.string();
  CHECK(testing::InputErrorOf([&] { viz::Sim s(both); }).find("not both") != std::string::npos);
  const std::string bad = (dir / "bad.json").string();
  WriteFileAtomic(bad, R"({"kind": "cohort_something_else", "version": 1, "theta": []})");
  viz::SimOptions unknown = o;
  unknown.rule = bad;
  CHECK(testing::InputErrorOf([&] { viz::Sim s(unknown); }).find("unknown rule kind") != std::string::npos);
}

}  // namespace cohort
