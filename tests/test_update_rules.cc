// Update rules against hand-computed steps (PyTorch semantics), schedules,
// divergence detection, checkpoints and configuration errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "agents/learned_optimizer.h"
#include "agents/registry.h"
#include "agents/update_rules.h"
#include "core/io.h"
#include "tests/input_error_of.h"

using namespace cohort;

namespace {

json Resolve(const json& optimizer) {
  static Schema s = [] {
    Schema x;
    x.Component("optimizer", &UpdateRuleRegistry(), "adam", "");
    return x;
  }();
  return Validate(json{{"optimizer", optimizer}}, s, "test.json")["optimizer"];
}

// One scalar parameter driven by a gradient sequence; the value after each step.
std::vector<double> Trajectory(const json& optimizer, const std::vector<float>& grads, float x0 = 1.0f) {
  auto rule = MakeUpdateRule(Resolve(optimizer));
  float x = x0, g = 0.0f;
  std::vector<ParamRef> params = {{"w", &x, &g, 1, 0}};
  rule->Init(params);
  std::vector<double> out;
  for (size_t t = 0; t < grads.size(); ++t) {
    g = grads[t];
    rule->Step(params, {int64_t(t) + 1, 0.0});
    out.push_back(x);
  }
  return out;
}

}  // namespace

TEST_CASE("update rules: SGD with momentum and Nesterov, by hand") {
  // lr 0.1, mu 0.9, g = 1, 1: buf 1 -> x 0.9; buf 1.9 -> x 0.71.
  auto x = Trajectory({{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}}, {1, 1});
  CHECK(x[0] == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(x[1] == doctest::Approx(0.71).epsilon(1e-6));
  // Nesterov: step g + mu * buf: 1.9 then 1 + 0.9 * 1.9 = 2.71.
  x = Trajectory({{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}}, {1, 1});
  CHECK(x[0] == doctest::Approx(0.81).epsilon(1e-6));
  CHECK(x[1] == doctest::Approx(0.539).epsilon(1e-6));
  // Plain SGD with L2 weight decay: g + wd * x = 1 + 0.5 * 1.
  x = Trajectory({{"type", "sgd"}, {"lr", 0.1}, {"weight_decay", 0.5}}, {1});
  CHECK(x[0] == doctest::Approx(0.85).epsilon(1e-6));
}

TEST_CASE("update rules: Adam's bias correction, by hand") {
  // lr 0.1, g = 1 then -1.
  // t=1: m = 0.1, v = 0.001, m^ = 1, v^ = 1 -> x = 1 - 0.1 = 0.9.
  // t=2: m = 0.09 - 0.1 = -0.01, v = 0.000999 + 0.001 = 0.001999,
  //      m^ = -0.01 / 0.19 = -0.0526316, v^ = 0.001999 / 0.001999 = 1 -> x = 0.9 + 0.00526316.
  auto x = Trajectory({{"type", "adam"}, {"lr", 0.1}}, {1, -1});
  CHECK(x[0] == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(x[1] == doctest::Approx(0.90526316).epsilon(1e-6));
  // A constant gradient moves by lr per step whatever its scale (bias correction).
  x = Trajectory({{"type", "adam"}, {"lr", 0.01}}, {1e-3f, 1e-3f, 1e-3f});
  CHECK(x[2] == doctest::Approx(0.97).epsilon(1e-4));
  // AdamW: decoupled decay x *= 1 - lr * wd before the Adam step.
  x = Trajectory({{"type", "adam"}, {"lr", 0.1}, {"weight_decay", 0.5}, {"decoupled", true}}, {1});
  CHECK(x[0] == doctest::Approx(0.95 - 0.1).epsilon(1e-6));
}

TEST_CASE("update rules: adam_hd (hypergradient lr) by hand; hyper_lr 0 is Adam bit for bit") {
  const std::vector<float> grads = {0.3f, -1.2f, 0.7f, 0.7f, -0.1f, 2.0f};
  CHECK(Trajectory({{"type", "adam_hd"}, {"lr", 0.05}, {"hyper_lr", 0.0}}, grads) ==
        Trajectory({{"type", "adam"}, {"lr", 0.05}}, grads));
  CHECK(Trajectory({{"type", "adam_hd"}, {"lr", 0.05}, {"hyper_lr", 0.0}, {"form", "additive"}}, grads) ==
        Trajectory({{"type", "adam"}, {"lr", 0.05}}, grads));
  // Multiplicative, lr 0.1, hyper_lr 0.5. Step 1 as Adam: x = 0.9, u_1 = 1.
  // g_2 = 1 agrees with u_1 (cos 1): lr_2 = 0.1 e^0.5, u_2 = 1 -> x = 0.9 - 0.1 e^0.5.
  auto x = Trajectory({{"type", "adam_hd"}, {"lr", 0.1}, {"hyper_lr", 0.5}}, {1, 1});
  CHECK(x[0] == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(x[1] == doctest::Approx(0.9 - 0.1 * std::exp(0.5)).epsilon(1e-5));  // float32 moments
  // g_2 = -1 (cos -1): lr_2 = 0.1 e^-0.5 along Adam's u_2 = -0.0526316 (see above).
  x = Trajectory({{"type", "adam_hd"}, {"lr", 0.1}, {"hyper_lr", 0.5}}, {1, -1});
  CHECK(x[1] == doctest::Approx(0.9 + 0.1 * std::exp(-0.5) * 0.0526316).epsilon(1e-6));
  // Additive (the paper's Adam-HD): lr_2 = 0.1 + 0.05 * g_2 u_1 = 0.15.
  x = Trajectory({{"type", "adam_hd"}, {"lr", 0.1}, {"hyper_lr", 0.05}, {"form", "additive"}}, {1, 1});
  CHECK(x[1] == doctest::Approx(0.75).epsilon(1e-5));
  // ... floored at 0: a large negative hypergradient stops the steps, never reverses them.
  x = Trajectory({{"type", "adam_hd"}, {"lr", 0.1}, {"hyper_lr", 10.0}, {"form", "additive"}}, {1, -1, -1});
  CHECK(x[1] == x[0]);
  // Save/Load mid-run continues identically (the lr scale and u_{t-1} are state).
  auto run = [&](bool reload) {
    auto rule = MakeUpdateRule(Resolve({{"type", "adam_hd"}, {"lr", 0.1}, {"hyper_lr", 0.3}}));
    float w = 1.0f, g = 0.0f;
    std::vector<ParamRef> params = {{"w", &w, &g, 1, 0}};
    rule->Init(params);
    for (int t = 0; t < 5; ++t) {
      if (reload && t == 3) {
        BinaryWriter out;
        rule->Save(out);
        auto fresh = MakeUpdateRule(Resolve({{"type", "adam_hd"}, {"lr", 0.1}, {"hyper_lr", 0.3}}));
        fresh->Init(params);
        BinaryReader in(out.data(), "state");
        fresh->Load(in);
        rule = std::move(fresh);
      }
      g = grads[size_t(t)];
      rule->Step(params, {t + 1, 0.0});
    }
    return std::make_pair(w, rule->LearningRate({6, 0.0}));
  };
  CHECK(run(false) == run(true));
  CHECK(run(false).second != doctest::Approx(0.1));  // the lr did adapt
}

TEST_CASE("update rules: RMSProp, by hand") {
  // alpha 0.99, lr 0.01, g = 1: v = 0.01, step = 1 / 0.1 = 10 -> x = 0.9.
  auto x = Trajectory({{"type", "rmsprop"}, {"lr", 0.01}}, {1, 1});
  CHECK(x[0] == doctest::Approx(0.9).epsilon(1e-5));
  // t=2: v = 0.0099 + 0.01 = 0.0199, step = 1 / sqrt(0.0199).
  CHECK(x[1] == doctest::Approx(0.9 - 0.01 / std::sqrt(0.0199)).epsilon(1e-5));
}

TEST_CASE("update rules: learning-rate schedules") {
  auto rule = MakeUpdateRule(Resolve({{"type", "sgd"}, {"lr", 1.0}, {"schedule", "linear"}, {"final_fraction", 0.1}}));
  CHECK(rule->LearningRate({1, 0.0}) == doctest::Approx(1.0));
  CHECK(rule->LearningRate({1, 0.5}) == doctest::Approx(0.55));
  CHECK(rule->LearningRate({1, 1.0}) == doctest::Approx(0.1));
  rule = MakeUpdateRule(Resolve({{"type", "adam"}, {"lr", 2.0}, {"schedule", "cosine"}}));
  CHECK(rule->LearningRate({1, 0.5}) == doctest::Approx(1.0));
  CHECK(rule->LearningRate({1, 1.0}) == doctest::Approx(0.0));
  rule = MakeUpdateRule(Resolve({{"type", "rmsprop"}, {"lr", 1.0}, {"warmup_steps", 4}}));
  CHECK(rule->LearningRate({1, 0.0}) == doctest::Approx(0.25));
  CHECK(rule->LearningRate({4, 0.0}) == doctest::Approx(1.0));
}

TEST_CASE("update rules: a NaN gradient stops training, names the tensor and changes nothing") {
  auto rule = MakeUpdateRule(Resolve({{"type", "adam"}}));
  float a[2] = {1, 2}, ga[2] = {0.1f, 0.2f}, b = 3, gb = NAN;
  std::vector<ParamRef> params = {{"actor.0.weight", a, ga, 2, 0}, {"critic.bias", &b, &gb, 1, 1}};
  rule->Init(params);
  try {
    rule->Step(params, {1, 0.0});
    FAIL("no exception");
  } catch (const TrainingDiverged& e) {
    CHECK(std::string(e.what()).find("critic.bias") != std::string::npos);
  }
  CHECK(a[0] == 1.0f);
  CHECK(b == 3.0f);
}

TEST_CASE("update rules: save and load continue bit-identically") {
  for (const char* type : {"sgd", "adam", "adam_hd", "rmsprop", "learned"}) {
    json given = {{"type", type}, {"lr", 0.05}};
    if (std::string(type) == "learned") {  // a non-trivial rule: random hidden layers, output layer nonzero
      std::vector<float> theta = InitialLearnedTheta(3);
      for (size_t i = kLearnedOutputOffset; i < theta.size(); ++i) theta[i] = 0.1f * float(i % 5) - 0.2f;
      given["theta"] = theta;
    }
    const json config = Resolve(given);
    auto a = MakeUpdateRule(config), b = MakeUpdateRule(config);
    float xa[3] = {1, -2, 0.5f}, xb[3], g[3];
    std::vector<ParamRef> pa = {{"w", xa, g, 3, 0}}, pb = {{"w", xb, g, 3, 0}};
    a->Init(pa);
    b->Init(pb);
    for (int t = 1; t <= 3; ++t) {
      for (int i = 0; i < 3; ++i) g[i] = float(std::sin(t * 3 + i));
      a->Step(pa, {t, 0.0});
    }
    BinaryWriter w;
    a->Save(w);
    std::copy(xa, xa + 3, xb);
    BinaryReader r(w.data(), "test");
    b->Load(r);
    CHECK(r.done());
    for (int t = 4; t <= 6; ++t) {
      for (int i = 0; i < 3; ++i) g[i] = float(std::cos(t + i));
      a->Step(pa, {t, 0.0});
      b->Step(pb, {t, 0.0});
    }
    for (int i = 0; i < 3; ++i) CHECK(xa[i] == xb[i]);
  }
}

TEST_CASE("update rules: configuration errors name the key") {
  std::string error;
  try {
    Resolve({{"type", "adam"}, {"betta1", 0.9}});
  } catch (const InputError& e) {
    error = e.what();
  }
  CHECK(error.find("/optimizer/betta1: unknown key \"betta1\" (did you mean \"beta1\"?)") != std::string::npos);
  error.clear();
  try {
    Resolve({{"type", "adamw"}});
  } catch (const InputError& e) {
    error = e.what();
  }
  CHECK(error.find("adamw") != std::string::npos);
  CHECK(error.find("adam") != std::string::npos);
}

TEST_CASE("update rules: an owner's defaults for the default type fill only what the user leaves out") {
  Schema s;
  s.Component("optimizer", &UpdateRuleRegistry(), "adam", "").WithDefaults({{"lr", 0.01}});
  auto resolve = [&](const json& config) { return Validate(config, s, "test.json")["optimizer"]; };
  CHECK(resolve(json::object())["lr"].get<double>() == 0.01);                             // absent
  CHECK(resolve({{"optimizer", {{"schedule", "linear"}}}})["lr"].get<double>() == 0.01);  // no type
  CHECK(resolve({{"optimizer", {{"schedule", "linear"}}}})["schedule"] == "linear");
  CHECK(resolve({{"optimizer", {{"type", "adam"}, {"lr", 0.5}}}})["lr"].get<double>() == 0.5);  // given wins
  // Another type keeps its own defaults (Adam's lr does not leak into SGD's).
  CHECK(resolve({{"optimizer", {{"type", "sgd"}}}})["lr"].get<double>() ==
        Resolve({{"type", "sgd"}})["lr"].get<double>());
}

// The learned optimizer (agents/learned_optimizer.h) is residual on Adam: a
// zero output layer is Adam bit for bit, whatever the hidden layers; the
// output bias shifts (o0) and scales (exp(o1)) Adam's step, by hand.
TEST_CASE("learned optimizer: zero output layer is exactly Adam; output biases act as documented") {
  const std::vector<float> grads = {0.5f, -1.0f, 2.0f, 0.1f, -0.3f, 0.7f, 0.0f, -2.0f};
  for (const json& extra : {json::object(), json{{"schedule", "linear"}, {"weight_decay", 0.01}},
                            json{{"decoupled", true}, {"weight_decay", 0.1}, {"warmup_steps", 3}}}) {
    json adam = {{"type", "adam"}, {"lr", 0.05}}, zero = {{"type", "learned"}, {"lr", 0.05}},
         hidden = {{"type", "learned"}, {"lr", 0.05}, {"theta", InitialLearnedTheta(7)}};
    adam.update(extra), zero.update(extra), hidden.update(extra);
    const std::vector<double> a = Trajectory(adam, grads);
    CHECK(Trajectory(zero, grads) == a);
    CHECK(Trajectory(hidden, grads) == a);
  }
  // Output bias o0 = 0.5: every step moves 0.05 * 0.5 further down than Adam.
  std::vector<float> theta(size_t(kLearnedThetaSize), 0.0f);
  theta[size_t(kLearnedThetaSize - 2)] = 0.5f;
  const std::vector<double> adam = Trajectory({{"type", "adam"}, {"lr", 0.05}}, grads);
  const std::vector<double> shifted = Trajectory({{"type", "learned"}, {"lr", 0.05}, {"theta", theta}}, grads);
  for (size_t t = 0; t < grads.size(); ++t)
    CHECK(shifted[t] == doctest::Approx(adam[t] - 0.05 * 0.5 * double(t + 1)).epsilon(1e-6));
  // Output bias o1 = log 2 doubles Adam's step; o1 beyond 3 is clipped to 3.
  for (const double o1 : {std::log(2.0), 10.0}) {
    theta.assign(size_t(kLearnedThetaSize), 0.0f);
    theta.back() = float(o1);
    const std::vector<double> scaled = Trajectory({{"type", "learned"}, {"lr", 0.05}, {"theta", theta}}, grads);
    const double factor = std::exp(std::min(o1, 3.0));
    for (size_t t = 0; t < grads.size(); ++t) {
      const double adam_step = (t == 0 ? adam[0] - 1.0 : adam[t] - adam[t - 1]);
      const double step = (t == 0 ? scaled[0] - 1.0 : scaled[t] - scaled[t - 1]);
      CHECK(step == doctest::Approx(factor * adam_step).epsilon(1e-4));
    }
  }
}

TEST_CASE("learned optimizer: rule files round-trip; bad files name the file and the key") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "cohort_test_learned_rule";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<float> theta = InitialLearnedTheta(11);
  const std::string path = (dir / "rule.json").string();
  WriteLearnedRule(path, theta, {{"generation", 3}});
  CHECK(ReadLearnedRule(path) == theta);
  // "file" in an optimizer block loads it: the same steps as inline theta.
  const std::vector<float> grads = {0.3f, -0.2f, 0.9f};
  CHECK(Trajectory({{"type", "learned"}, {"file", path}}, grads) ==
        Trajectory({{"type", "learned"}, {"theta", theta}}, grads));
  const std::string wrong = (dir / "wrong.json").string();
  WriteFileAtomic(wrong, R"({"kind": "something_else"})");
  CHECK(testing::InputErrorOf([&] { ReadLearnedRule(wrong); }).find("wrong.json: /kind") != std::string::npos);
  json short_rule = ReadJsonFile(path);
  short_rule["theta"].erase(0);
  WriteFileAtomic(wrong, short_rule.dump());
  CHECK(testing::InputErrorOf([&] { ReadLearnedRule(wrong); }).find("/theta") != std::string::npos);
  CHECK(testing::InputErrorOf([&] {
          Trajectory({{"type", "learned"}, {"theta", {1.0, 2.0}}}, grads);
        }).find("expected 450") != std::string::npos);
  // Another network shape than this build's is refused, naming the key.
  json other_shape = ReadJsonFile(path);
  other_shape["hidden"] = {32, 32};
  WriteFileAtomic(wrong, other_shape.dump());
  CHECK(testing::InputErrorOf([&] { ReadLearnedRule(wrong); }).find("wrong.json: /hidden") != std::string::npos);
  fs::remove_all(dir);
}

// The meta view's probe (`cohort viz`) reads the same function the optimizer
// steps with: on a first step (m_hat = g, v_hat = g^2, slow_hat = g) of a
// one-element tensor, the update / lr is the probe's value at Adam direction
// g / (|g| + eps), gradient and slow momentum ratios 1, parameter / rms 1, and
// the step's progress and lifetime; at theta = 0 it is Adam's direction.
TEST_CASE("learned optimizer: the meta view's probe is the rule's update") {
  const RuleProbe& probe = LearnedOptimizerRule().probe;
  REQUIRE(probe.evaluate);
  REQUIRE(probe.inputs.size() == 7);
  std::vector<float> theta = InitialLearnedTheta(3);
  for (int i = kLearnedOutputOffset; i < kLearnedThetaSize; ++i) theta[size_t(i)] = 0.3f * float((i % 5) - 2);
  const double lr = 0.1, g = 0.3, p0 = 0.5;
  std::unique_ptr<UpdateRule> rule = MakeUpdateRule(Resolve({{"type", "learned"}, {"lr", lr}, {"theta", theta}}));
  float value = float(p0), grad = float(g);
  const std::vector<ParamRef> params = {{"w", &value, &grad, 1, 0}};
  rule->Init(params);
  rule->Step(params, {25, 0.25});  // T = 25 / 0.25 = 100 planned updates
  const double adam_dir = g / (std::abs(g) + 1e-8);
  const std::vector<double> at = {adam_dir, 1.0, 1.0, 1.0, 0.25, 100.0, 0.0};
  const double update = (p0 - double(value)) / lr;
  CHECK(update == doctest::Approx(probe.evaluate(theta, at, json::object())).epsilon(1e-5));
  CHECK(std::abs(update - adam_dir) > 0.05);  // the rule does differ from Adam here
  CHECK(probe.evaluate(std::vector<float>(theta.size(), 0.0f), at, json::object()) == doctest::Approx(adam_dir));
}

TEST_CASE("learnable rules: the learned optimizer is registered for the optimizer slot") {
  const LearnableRule* rule = FindLearnableRule("learned");
  REQUIRE(rule != nullptr);
  CHECK(rule->slot == "optimizer");
  CHECK(rule->theta_size == kLearnedThetaSize);
  CHECK(InitialTheta(*rule, 5) == InitialLearnedTheta(5));
  CHECK(FindLearnableRule("adam") == nullptr);  // a baseline, not learnable
  for (const LearnableRule& l : LearnableRules()) {
    CHECK(l.theta_size > 0);
    CHECK(InitialTheta(l, 1).size() == size_t(l.theta_size));
  }
}
