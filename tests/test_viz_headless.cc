// `cohort viz --headless`: renders through SDL's offscreen driver (Mesa) and
// writes a PNG; read back here with stb_image, no display needed.
#include <doctest/doctest.h>

#include <stb_image.h>

#include <filesystem>
#include <set>
#include <string>

#include "agents/registry.h"
#include "agents/trainer.h"
#include "viz/app.h"

namespace {

namespace fs = std::filesystem;

struct Png {
  int width = 0, height = 0;
  size_t colours = 0;  // distinct colours, sampled: windows, text, users and plots give many
};

// Renders `o` headless for `frames` frames at width x height into a fresh
// PNG; checks the exit code and that no partial file is left.
Png Render(cohort::viz::VizOptions o, const std::string& name, int frames, int width, int height) {
  const fs::path png = fs::temp_directory_path() / ("cohort_test_viz_" + name + ".png");
  fs::remove(png);
  o.headless = true;
  o.frames = frames;
  o.screenshot = png.string();
  o.width = width, o.height = height;
  REQUIRE(cohort::viz::RunViz(o) == 0);
  CHECK(!fs::exists(png.string() + ".partial"));
  Png out;
  int channels = 0;
  unsigned char* pixels = stbi_load(png.string().c_str(), &out.width, &out.height, &channels, 3);
  REQUIRE(pixels != nullptr);
  std::set<int> colours;
  for (int i = 0; i < out.width * out.height; i += 7)
    colours.insert(pixels[3 * i] << 16 | pixels[3 * i + 1] << 8 | pixels[3 * i + 2]);
  stbi_image_free(pixels);
  fs::remove(png);
  out.colours = colours.size();
  return out;
}

const std::string kScenarios = std::string(COHORT_SOURCE_DIR) + "/scenarios/";

}  // namespace

TEST_CASE("viz: a headless run writes a non-trivial PNG of the requested size") {
  cohort::viz::VizOptions o;
  o.sim.scenario = kScenarios + "recsim_interest_evolution.json";
  o.sim.overrides = {"run.num_envs=64"};
  const Png png = Render(o, "plain", 5, 640, 400);
  CHECK(png.width == 640);
  CHECK(png.height == 400);
  CHECK(png.colours > 20);
}

// Every view open, with a shipped learned rule (the meta view draws the rule
// against Adam) on a learning REINFORCE agent, 100 users, 20 frames.
TEST_CASE("viz: a headless run with a learned rule draws every view") {
  cohort::viz::VizOptions o;
  o.sim.scenario = kScenarios + "drifting_family.json";
  o.sim.overrides = {"run.num_envs=100", R"(agent={"type": "reinforce", "hidden": [], "optimizer": {"lr": 0.3}})"};
  o.sim.rule = kScenarios + "rules/drifting_learned_optimizer.json";
  const Png png = Render(o, "rule", 20, 1200, 800);
  CHECK(png.width == 1200);
  CHECK(png.height == 800);
  CHECK(png.colours > 50);
}

// --agent: a training run's policy, frozen, with the run's metrics.jsonl in Curves.
TEST_CASE("viz: a headless run shows a training run's policy") {
  const fs::path dir = fs::temp_directory_path() / "cohort_test_viz_agent";
  fs::remove_all(dir);
  cohort::viz::VizOptions o;
  o.sim.scenario = kScenarios + "recsim_interest_evolution.json";
  cohort::TrainOptions t;
  t.out_dir = (dir / "run").string();
  const cohort::Scenario run = cohort::LoadScenario(
      o.sim.scenario,
      {"agent.type=ucb1", "run.num_envs=16", "run.episodes=16", "run.train_steps=30", "run.eval_every=10"},
      cohort::AgentRegistry());
  REQUIRE_FALSE(cohort::TrainScenario(run, t).interrupted);
  o.sim.agent_checkpoint = t.out_dir;
  const Png png = Render(o, "agent", 5, 1000, 700);
  CHECK(png.width == 1000);
  CHECK(png.colours > 20);
  fs::remove_all(dir);
}
