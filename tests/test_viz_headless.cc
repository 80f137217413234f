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

// Distinct colours of a PNG (sampled), 0 when it cannot be read.
size_t Colours(const std::string& path, int* width, int* height) {
  int channels = 0;
  unsigned char* pixels = stbi_load(path.c_str(), width, height, &channels, 3);
  if (pixels == nullptr) return 0;
  std::set<int> colours;
  for (int i = 0; i < *width * *height; i += 7)
    colours.insert(pixels[3 * i] << 16 | pixels[3 * i + 1] << 8 | pixels[3 * i + 2]);
  stbi_image_free(pixels);
  return colours.size();
}

}  // namespace

// Every view open, with a shipped learned rule (the meta view draws the rule
// against Adam) on a learning REINFORCE agent, 100 users followed for 20 frames.
TEST_CASE("viz: a headless run with a learned rule draws every view") {
  namespace fs = std::filesystem;
  const fs::path png = fs::temp_directory_path() / "cohort_test_viz_rule.png";
  fs::remove(png);
  cohort::viz::VizOptions o;
  o.sim.scenario = std::string(COHORT_SOURCE_DIR) + "/scenarios/drifting_family.json";
  o.sim.overrides = {"run.num_envs=100", R"(agent={"type": "reinforce", "hidden": [], "optimizer": {"lr": 0.3}})"};
  o.sim.rule = std::string(COHORT_SOURCE_DIR) + "/scenarios/rules/drifting_learned_optimizer.json";
  o.headless = true;
  o.frames = 20;
  o.screenshot = png.string();
  o.width = 1200, o.height = 800;
  REQUIRE(cohort::viz::RunViz(o) == 0);
  int w = 0, h = 0;
  CHECK(Colours(png.string(), &w, &h) > 50);
  CHECK(w == 1200);
  CHECK(h == 800);
  fs::remove(png);
}

// --agent: a training run's policy, frozen, with the run's metrics.jsonl in Curves.
TEST_CASE("viz: a headless run shows a training run's policy") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "cohort_test_viz_agent";
  fs::remove_all(dir);
  const std::string scenario = std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json";
  cohort::TrainOptions t;
  t.out_dir = (dir / "run").string();
  REQUIRE_FALSE(cohort::TrainScenario(cohort::LoadScenario(scenario,
                                                           {"agent.type=ucb1", "run.num_envs=16", "run.episodes=16",
                                                            "run.train_steps=30", "run.eval_every=10"},
                                                           cohort::AgentRegistry()),
                                      t)
                    .interrupted);
  cohort::viz::VizOptions o;
  o.sim.scenario = scenario;
  o.sim.agent_checkpoint = t.out_dir;
  o.headless = true;
  o.frames = 5;
  o.screenshot = (dir / "shot.png").string();
  o.width = 1000, o.height = 700;
  REQUIRE(cohort::viz::RunViz(o) == 0);
  int w = 0, h = 0;
  CHECK(Colours(o.screenshot, &w, &h) > 20);
  CHECK(w == 1000);
  fs::remove_all(dir);
}

TEST_CASE("viz: a headless run writes a non-trivial PNG of the requested size") {
  namespace fs = std::filesystem;
  const fs::path png = fs::temp_directory_path() / "cohort_test_viz.png";
  fs::remove(png);
  cohort::viz::VizOptions o;
  o.sim.scenario = std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json";
  o.sim.overrides = {"run.num_envs=64"};
  o.headless = true;
  o.frames = 5;
  o.screenshot = png.string();
  o.width = 640, o.height = 400;
  REQUIRE(cohort::viz::RunViz(o) == 0);
  REQUIRE(fs::exists(png));
  CHECK(!fs::exists(png.string() + ".partial"));
  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = stbi_load(png.string().c_str(), &w, &h, &channels, 3);
  REQUIRE(pixels != nullptr);
  CHECK(w == 640);
  CHECK(h == 400);
  std::set<int> colours;  // windows, text, users and plots: many distinct colours
  for (int i = 0; i < w * h; i += 7) colours.insert(pixels[3 * i] << 16 | pixels[3 * i + 1] << 8 | pixels[3 * i + 2]);
  CHECK(colours.size() > 20);
  stbi_image_free(pixels);
  fs::remove(png);
}
