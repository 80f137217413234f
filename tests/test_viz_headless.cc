// `cohort viz --headless`: renders through SDL's offscreen driver (Mesa) and
// writes a PNG; read back here with stb_image, no display needed.
#include <doctest/doctest.h>

#include <stb_image.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <utility>

#include "agents/registry.h"
#include "agents/trainer.h"
#include "viz/app.h"

namespace {

namespace fs = std::filesystem;

struct Png {
  int width = 0, height = 0;
  size_t colours = 0;  // distinct colours, sampled: windows, text, users and plots give many
};

// Renders `o` for `frames` frames at width x height into a fresh PNG,
// headless unless `window` (then through a window on SDL's offscreen
// driver, asked for by name); checks the exit code, that no partial file is
// left and that every view fits its window.
Png Render(cohort::viz::VizOptions o, const std::string& name, int frames, int width, int height, bool window = false) {
  const fs::path png = fs::temp_directory_path() / ("cohort_test_viz_" + name + ".png");
  fs::remove(png);
  o.headless = !window;
  o.frames = frames;
  o.screenshot = png.string();
  o.width = width, o.height = height;
  cohort::viz::VizReport report;
  if (window) setenv("SDL_VIDEODRIVER", "offscreen", 1);
  const int code = cohort::viz::RunViz(o, &report);
  if (window) unsetenv("SDL_VIDEODRIVER");
  REQUIRE(code == 0);
  CHECK(report.frames == (frames > 0 ? frames : 60));
  CAPTURE(width);
  CAPTURE(height);
  CHECK(cohort::Join(report.cut_off) == "");
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
  const Png png = Render(o, "plain", -1, 1024, 640);  // -1: the headless default of 60 frames
  CHECK(png.width == 1024);
  CHECK(png.height == 640);
  CHECK(png.colours > 20);
}

// Without --headless, --frames closes the window after that many frames and
// --screenshot writes its last frame (here a window on the offscreen driver,
// which a user asks for by name).
TEST_CASE("viz: --frames and --screenshot work in a window") {
  cohort::viz::VizOptions o;
  o.sim.scenario = kScenarios + "recsim_interest_evolution.json";
  o.sim.overrides = {"run.num_envs=64"};
  const Png png = Render(o, "window", 4, 1280, 800, true);
  CHECK(png.width == 1280);
  CHECK(png.height == 800);
  CHECK(png.colours > 20);
}

// No display and no --headless: exit 1 at once (SDL would otherwise fall back
// to its invisible offscreen driver and the window would run unseen).
TEST_CASE("viz: without a display a window is refused, not run unseen") {
  const char* display = std::getenv("DISPLAY");
  const std::string saved = display ? display : "";
  unsetenv("DISPLAY");
  unsetenv("WAYLAND_DISPLAY");
  unsetenv("SDL_VIDEODRIVER");
  cohort::viz::VizOptions o;
  o.sim.scenario = kScenarios + "recsim_interest_evolution.json";
  o.sim.overrides = {"run.num_envs=16"};
  cohort::viz::VizReport report;
  CHECK(cohort::viz::RunViz(o, &report) == 1);
  CHECK(report.frames == 0);
  if (display) setenv("DISPLAY", saved.c_str(), 1);
}

TEST_CASE("viz: bad --frames, --size and --screenshot are input errors") {
  cohort::viz::VizOptions o;
  o.sim.scenario = kScenarios + "recsim_interest_evolution.json";
  o.headless = true;
  o.frames = 0;
  CHECK_THROWS_AS(cohort::viz::RunViz(o), cohort::InputError);
  o.frames = 2;
  o.screenshot = "/nonexistent_dir_for_cohort_test/x.png";
  CHECK_THROWS_AS(cohort::viz::RunViz(o), cohort::InputError);
  o.screenshot.clear();
  o.width = 100;
  CHECK_THROWS_AS(cohort::viz::RunViz(o), cohort::InputError);

  using cohort::viz::ParseSize;
  CHECK(ParseSize("1600x1000").width == 1600);
  CHECK(ParseSize("1600x1000").height == 1000);
  CHECK(ParseSize("1024X640").height == 640);
  auto message = [](const std::string& text) {
    try {
      ParseSize(text);
    } catch (const cohort::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("1600") == "--size: expected WIDTHxHEIGHT in pixels (e.g. 1600x1000), got \"1600\"");
  CHECK(message("16x1000") == "--size: width 16 is outside [320, 8192]");
  CHECK(message("1600x9000") == "--size: height 9000 is outside [320, 8192]");
  CHECK(message("ax600") == "--size: expected WIDTHxHEIGHT in pixels (e.g. 1600x1000), got \"ax600\"");
  CHECK(message("-800x600") == "--size: expected WIDTHxHEIGHT in pixels (e.g. 1600x1000), got \"-800x600\"");
}

// Every view open, with a shipped learned rule (the meta view draws the rule
// against its baseline) on a learning REINFORCE agent (Adam), 100 users, 20
// frames; without LibTorch, the bandit exploration rule on linear Thompson
// sampling.
TEST_CASE("viz: a headless run with a learned rule draws every view") {
  cohort::viz::VizOptions o;
  if (cohort::AgentRegistry().Find("reinforce") != nullptr) {
    o.sim.scenario = kScenarios + "drifting_family.json";
    o.sim.overrides = {"run.num_envs=100", R"(agent={"type": "reinforce", "hidden": [], "optimizer": {"lr": 0.3}})"};
    o.sim.rule = kScenarios + "rules/drifting_learned_optimizer.json";
  } else {
    o.sim.scenario = kScenarios + "bandit_family.json";
    o.sim.overrides = {"run.num_envs=100", R"(agent={"type": "linear_ts", "v": 0.5})"};
    o.sim.rule = kScenarios + "rules/bandit_exploration.json";
  }
  const Png png = Render(o, "rule", 20, 1200, 800);
  CHECK(png.width == 1200);
  CHECK(png.height == 800);
  CHECK(png.colours > 50);
}

// --agent: a training run's policy, frozen, with the run's metrics.jsonl in
// Curves (then the most plots): every view fits the frame at each size.
TEST_CASE("viz: a headless run shows a training run's policy, every view fitting the frame") {
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
  for (const auto& [w, h] : {std::pair{1024, 640}, std::pair{1600, 1000}, std::pair{2560, 1440}}) {
    const Png png = Render(o, "agent", 5, w, h);
    CHECK(png.width == w);
    CHECK(png.colours > 20);
  }
  fs::remove_all(dir);
}
