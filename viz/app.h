// `cohort viz SCENARIO [--agent CHECKPOINT] [--rule RULE]`: the scenario's
// environment and agent stepping live in an SDL2 + Dear ImGui (OpenGL3)
// window. Views (each a window that can be collapsed or closed; a hidden view
// costs nothing):
//   Controls        play, pause, single step, speed (steps per frame or a
//                   per-frame time budget), restart with a seed, learning on
//                   or off, live environment parameters, measured speed
//   Population map  users (a sample drawn, every user aggregated as a density)
//                   and the selected user's candidates in a 2-D projection
//                   (topic circle or PCA), interest trails, the slate and the
//                   click; colour by interest, segment, satisfaction or budget
//   Session         the selected user's steps: candidates, slate, true click
//                   probabilities next to the agent's own scores, click, watch
//                   time, budget, boredom, satisfaction, leaving and returning
//   Policy          topic x slate-position heatmap; entropy, coverage and
//                   diversity over time
//   Curves          reward, CTR, return, retention, myopic normalized reward,
//                   the agent's training statistics, and with --agent the
//                   training run's own metrics.jsonl as it grows
//   Meta view       the learned rule's output against its baseline's (Adam,
//                   PPO-clip, fixed exploration) along one input, the others
//                   (including progress t/T) on sliders
// With `headless` it renders through SDL's offscreen driver (Mesa), writes a
// PNG and prints the measured speed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "viz/sim.h"

namespace cohort::viz {

// The views `--views` opens (Controls is always open) and the map colourings
// of `--color-by`.
inline const std::vector<std::string> kViews = {"map", "session", "policy", "curves", "meta"};
inline const std::vector<std::string> kColorings = {"interest", "segment", "satisfaction", "budget"};

struct VizOptions {
  SimOptions sim;
  bool headless = false;
  int frames = 60;         // headless: frames to render (playing)
  std::string screenshot;  // headless: PNG written after the last frame
  int width = 1600, height = 1000;
  int steps_per_frame = 1;
  int select = -1;                          // user slot selected at start (-1: the first drawn user)
  std::vector<std::string> views = kViews;  // open at start
  std::string color_by = kColorings[0];     // the map's colouring
  bool tails = false;                       // the map draws every drawn user's recent movement
};

// Returns the process exit code; throws InputError for bad input.
int RunViz(const VizOptions& options);

}  // namespace cohort::viz
