// `cohort viz SCENARIO`: the scenario's environment and agent stepping live in
// an SDL2 + Dear ImGui (OpenGL3) window. A first version (issue 5): controls
// (play, pause, single step, speed, restart with a new seed), the population
// map (sampled users' observed interests on a topic circle, the selected
// user's slate and click), the topic x slate-position heatmap with policy
// entropy and coverage, and the reward / CTR curves. With `headless` it
// renders through SDL's offscreen driver (Mesa) and writes a PNG.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cohort::viz {

struct VizOptions {
  std::string scenario;
  std::vector<std::string> overrides;  // --set
  bool headless = false;
  int frames = 60;                     // headless: frames to render (playing)
  std::string screenshot;              // headless: PNG written after the last frame
  int width = 1280, height = 800;
  int steps_per_frame = 1;
  int max_users = 4096;                // user slots simulated (the scenario's num_envs, capped)
  int drawn_users = 500;               // users drawn on the map (the rest are aggregated)
};

// Returns the process exit code; throws InputError for a bad scenario.
int RunViz(const VizOptions& options);

}  // namespace cohort::viz
