// The meta layer: OpenAI-ES (quadratic toy, noise regenerated from seeds,
// NaN-safe shaping, bit-identical resume), the lifetime runner and
// `cohort meta train` (resume and thread-count independence).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agents/learned_optimizer.h"
#include "agents/registry.h"
#include "core/io.h"
#include "env/variants.h"
#include "meta/es.h"
#include "meta/lifetime.h"
#include "meta/meta.h"
#include "tests/input_error_of.h"

namespace fs = std::filesystem;
using namespace cohort;

namespace {

double Quadratic(const std::vector<float>& x, const std::vector<float>& target) {
  double s = 0.0;
  for (size_t i = 0; i < x.size(); ++i) s += (double(x[i]) - target[i]) * (double(x[i]) - target[i]);
  return -s;
}

void Generation(OpenAiEs& es, const std::vector<float>& target) {
  std::vector<double> plus, minus;
  for (int p = 0; p < es.pairs(); ++p) {
    plus.push_back(Quadratic(es.Candidate(p, 1), target));
    minus.push_back(Quadratic(es.Candidate(p, -1), target));
  }
  es.Update(plus, minus);
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// progress.jsonl without the wall-clock field.
std::string ProgressWithoutTimes(const fs::path& p) {
  std::ifstream in(p);
  std::string out;
  for (std::string l; std::getline(in, l);) {
    json j = json::parse(l);
    j.erase("seconds");
    out += j.dump() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("es: recovers the optimum of a quadratic") {
  const std::vector<float> target = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -1.0f, 2.0f, -0.5f, 1.5f, -3.0f};
  EsConfig c;
  c.pairs = 16;
  c.sigma = 0.1;
  c.lr = 0.05;
  c.seed = 4;
  OpenAiEs es(c, std::vector<float>(target.size(), 0.0f));
  const double start = -Quadratic(es.mean(), target);
  for (int g = 0; g < 300; ++g) Generation(es, target);
  const double end = -Quadratic(es.mean(), target);
  INFO("squared distance " << start << " -> " << end);
  CHECK(end < 0.01 * start);
  CHECK(es.generation() == 300);
  CHECK(es.sigma() == doctest::Approx(0.1 * std::pow(0.999, 300)));
}

TEST_CASE("es: noise regenerated from (seed, generation, pair) matches on every worker") {
  EsConfig c;
  c.pairs = 4;
  c.seed = 9;
  OpenAiEs a(c, std::vector<float>(50, 0.5f)), b(c, std::vector<float>(50, 0.5f));  // two "ranks"
  std::vector<float> ea, eb;
  for (int p = 0; p < 4; ++p) {
    a.Noise(p, ea);
    b.Noise(p, eb);
    CHECK(ea == eb);
    // Antithetic: the two members are mean +/- sigma * eps.
    const std::vector<float> plus = a.Candidate(p, 1), minus = a.Candidate(p, -1);
    for (size_t i = 0; i < plus.size(); ++i) CHECK(plus[i] + minus[i] == doctest::Approx(1.0f));
  }
  a.Noise(0, ea);
  a.Noise(1, eb);
  CHECK(ea != eb);  // pairs differ
  c.seed = 10;
  OpenAiEs other(c, std::vector<float>(50, 0.5f));
  other.Noise(0, eb);
  CHECK(ea != eb);  // seeds differ
}

TEST_CASE("es: a diverged member loses its pair; two diverged members carry no signal") {
  EsConfig c;
  c.pairs = 4;
  OpenAiEs es(c, std::vector<float>(3, 0.0f));
  const double nan = std::nan("");
  const std::vector<double> s = es.Shape({1.0, nan, nan, 2.0}, {0.0, 5.0, nan, 2.0});
  CHECK(s[0] > 0.0);
  CHECK(s[1] < 0.0);
  CHECK(s[1] == doctest::Approx(-s[0]));  // loses by the largest |d| of the fully finite pairs (1)
  CHECK(s[2] == 0.0);
  CHECK(s[3] == 0.0);
  c.shaping = "sign";
  OpenAiEs sign(c, std::vector<float>(3, 0.0f));
  CHECK(sign.Shape({1.0, nan, nan, 2.0}, {0.0, 5.0, nan, 2.0}) == std::vector<double>{1.0, -1.0, 0.0, 0.0});
  // NaN fitness never reaches the mean.
  es.Update({nan, nan, 1.0, nan}, {0.0, nan, nan, nan});
  for (float m : es.mean()) CHECK(std::isfinite(m));
}

TEST_CASE("es: save and load resume bit-identically") {
  const std::vector<float> target = {0.3f, -0.7f, 1.1f};
  EsConfig c;
  c.pairs = 5;
  c.seed = 2;
  OpenAiEs whole(c, std::vector<float>(3, 0.0f)), first(c, std::vector<float>(3, 0.0f)),
      second(c, std::vector<float>(3, 1.0f));
  for (int g = 0; g < 20; ++g) Generation(whole, target);
  for (int g = 0; g < 7; ++g) Generation(first, target);
  BinaryWriter w;
  first.Save(w);
  BinaryReader r(w.data(), "test");
  second.Load(r);
  CHECK(r.done());
  for (int g = 7; g < 20; ++g) Generation(second, target);
  CHECK(second.mean() == whole.mean());
  CHECK(second.sigma() == whole.sigma());
  CHECK(second.generation() == 20);
}

namespace {

fs::path WriteMetaFile(const std::string& name, int threads) {
  const fs::path dir = fs::temp_directory_path() / ("cohort_test_meta_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const json meta = {{"name", "test_meta"},
                     {"scenario", std::string(COHORT_SOURCE_DIR) + "/tests/data/family.json"},
                     {"agent", {{"type", "reinforce"}, {"hidden", json::array()}, {"rollout_steps", 4}}},
                     {"rule", {{"lr", 0.01}}},
                     {"lifetime", {{"steps", 8}, {"num_envs", 8}, {"eval_users", 8}, {"evals", 2}}},
                     {"es", {{"pairs", 2}, {"generations", 4}, {"sigma", 0.1}, {"seed", 5}}},
                     {"validation", {{"every", 2}, {"variants", 2}}},
                     {"threads", threads}};
  WriteFileAtomic((dir / "meta.json").string(), meta.dump(2));
  return dir;
}

// A tiny torch-free meta file: linear Thompson sampling's exploration rule on bandit_family.
fs::path WriteBanditMetaFile(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("cohort_test_meta_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const json meta = {
      {"name", "test_meta_bandit"},
      {"scenario", std::string(COHORT_SOURCE_DIR) + "/scenarios/bandit_family.json"},
      {"agent", {{"type", "linear_ts"}, {"v", 0.5}}},
      {"rule", {{"type", "meta_schedule"}}},
      {"lifetime", {{"steps", 6}, {"num_envs", 8}, {"eval_users", 16}, {"evals", 2}, {"fitness", "train_score"}}},
      {"es", {{"pairs", 2}, {"generations", 2}, {"sigma", 0.1}, {"seed", 3}}},
      {"validation", {{"every", 2}, {"variants", 2}}},
      {"threads", 1}};
  WriteFileAtomic((dir / "meta.json").string(), meta.dump(2));
  return dir;
}

bool HaveReinforce() { return AgentRegistry().Find("reinforce") != nullptr; }

}  // namespace

TEST_CASE("meta: a lifetime's curve, and Adam equals the learned rule with a zero output layer") {
  if (!HaveReinforce()) {
    MESSAGE("LibTorch agents not built: skipped");
    return;
  }
  const fs::path dir = WriteMetaFile("lifetime", 1);
  const MetaSpec spec = LoadMetaSpec((dir / "meta.json").string(), {});
  const VariantFamily family(spec.base, AgentRegistry());
  const Scenario s = family.Instantiate(family.Sample("train", 1));
  const LifetimeResult adam = RunLifetime(s, AgentWithRule(spec, {}), 17, spec.lifetime);
  REQUIRE(adam.curve.size() == 2);
  CHECK_FALSE(adam.diverged);
  CHECK(adam.user_steps > 0);
  CHECK(std::isfinite(adam.area));
  CHECK(adam.area == doctest::Approx((adam.curve[0] + adam.curve[1]) / 2));
  const LifetimeResult init = RunLifetime(s, AgentWithRule(spec, InitialLearnedTheta(0)), 17, spec.lifetime);
  CHECK(init.curve == adam.curve);  // hidden layers random, output layer zero: Adam bit for bit
  std::vector<float> theta = InitialLearnedTheta(0);
  theta.back() = 2.0f;  // exp(2) times Adam's step: another learning curve
  CHECK(RunLifetime(s, AgentWithRule(spec, theta), 17, spec.lifetime).curve != adam.curve);
}

TEST_CASE("meta: training resumes bit-identically and does not depend on the thread count") {
  if (!HaveReinforce()) {
    MESSAGE("LibTorch agents not built: skipped");
    return;
  }
  const fs::path whole = WriteMetaFile("whole", 1), part = WriteMetaFile("part", 1),
                 threads = WriteMetaFile("threads", 2);
  const MetaSpec spec = LoadMetaSpec((whole / "meta.json").string(), {});
  MetaTrainOptions o;
  o.out_dir = (whole / "run").string();
  CHECK(MetaTrain(spec, o));
  const std::string rule = Slurp(whole / "run" / "rule.json");
  CHECK(json::parse(rule)["meta"]["generation"] == 4);
  CHECK(fs::exists(whole / "run" / "best_rule.json"));
  const std::string progress = ProgressWithoutTimes(whole / "run" / "progress.jsonl");
  CHECK(progress.find("\"kind\":\"validation\"") != std::string::npos);

  const MetaSpec part_spec = LoadMetaSpec((part / "meta.json").string(), {});
  MetaTrainOptions p;
  p.out_dir = (part / "run").string();
  p.stop_at_generation = 2;
  CHECK_FALSE(MetaTrain(part_spec, p));
  p.stop_at_generation = -1;
  CHECK(MetaTrain(part_spec, p));
  CHECK(ProgressWithoutTimes(part / "run" / "progress.jsonl") == progress);
  CHECK(json::parse(Slurp(part / "run" / "rule.json"))["theta"] == json::parse(rule)["theta"]);

  const MetaSpec two = LoadMetaSpec((threads / "meta.json").string(), {});
  MetaTrainOptions t;
  t.out_dir = (threads / "run").string();
  CHECK(MetaTrain(two, t));
  CHECK(ProgressWithoutTimes(threads / "run" / "progress.jsonl") == progress);
  // ES moved the rule away from its start.
  CHECK(json::parse(rule)["theta"] != json(InitialLearnedTheta(0)));
}

TEST_CASE("meta: bad meta files are input errors naming the file and the key") {
  // Each check on a bandit meta file (torch-free: the exploration slot) and,
  // with LibTorch, on a REINFORCE one (the optimizer slot).
  std::vector<std::pair<fs::path, std::string>> files = {{WriteBanditMetaFile("bad_bandit"), "exploration"}};
  if (HaveReinforce()) files.emplace_back(WriteMetaFile("bad", 1), "optimizer");
  for (const auto& [dir, slot] : files) {
    const std::string file = (dir / "meta.json").string();
    INFO(file);
    auto error = [&](const std::vector<std::string>& sets) {
      return testing::InputErrorOf([&] { LoadMetaSpec(file, sets); });
    };
    CHECK(error({"es.pairz=3"}).find("did you mean \"pairs\"") != std::string::npos);
    CHECK(error({"es.sigma=-1"}).find("/es/sigma") != std::string::npos);
    CHECK(error({"rule.type=adam"}).find("/rule/type") != std::string::npos);
    CHECK(error({"agent={\"type\": \"random\"}"}).find("no \"" + slot + "\"") != std::string::npos);
    CHECK(error({"scenario=" + std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json"})
              .find("no variant family") != std::string::npos);
  }
}

TEST_CASE("meta: the bandit exploration rule meta-trains torch-free; theta = 0 is the fixed agent") {
  const fs::path dir = WriteBanditMetaFile("bandit");
  const MetaSpec spec = LoadMetaSpec((dir / "meta.json").string(), {});
  CHECK(spec.learnable->slot == "exploration");

  // The rule at theta = 0 in the agent's slot is the agent with "fixed" exploration.
  const std::vector<MetaEvalRow> rows = MetaEvaluate(spec, {}, "test", 2, 1, 1);
  const VariantFamily family(spec.base, AgentRegistry());
  json fixed = spec.agent;
  fixed["exploration"] = {{"type", "fixed"}};
  for (const MetaEvalRow& row : rows) {
    const Scenario s = family.Instantiate(family.Sample("test", row.variant_index));
    const LifetimeResult direct = RunLifetime(s, fixed, row.seed, spec.lifetime);
    CHECK(row.result.curve == direct.curve);
    CHECK(row.result.train_score == direct.train_score);
    // fitness = train_score: the area ES sees is the training users' score.
    CHECK(row.result.area == row.result.train_score);
    CHECK(std::isfinite(row.result.train_score));
  }
  LifetimeSpec eval_area = spec.lifetime;
  eval_area.fitness = "eval_area";
  const Scenario s0 = family.Instantiate(family.Sample("test", 0));
  const LifetimeResult by_curve = RunLifetime(s0, fixed, rows[0].seed, eval_area);
  CHECK(by_curve.area == doctest::Approx((by_curve.curve[0] + by_curve.curve[1]) / 2.0));
  CHECK(by_curve.train_score == rows[0].result.train_score);

  MetaTrainOptions o;
  o.out_dir = (dir / "run").string();
  CHECK(MetaTrain(spec, o));
  const json rule = json::parse(Slurp(dir / "run" / "rule.json"));
  CHECK(rule["kind"] == "cohort_bandit_exploration");
  CHECK(rule["theta"].size() == 12);
  CHECK(rule["theta"] != json(std::vector<float>(12, 0.0f)));
  fs::remove_all(dir);
}
