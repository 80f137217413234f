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
// PNG and prints the measured speed. A window that cannot be shown (no
// display: SDL would fall back to its invisible offscreen driver) is refused
// with exit code 1 and the remedy, never left running unseen.
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
  bool headless = false;  // --headless: SDL's offscreen driver, no display needed
  // --frames N: frames to render, then exit (the simulation plays from the
  // start, as headless). -1 (not given): 60 headless, until closed in a
  // window. Anything else below 1 is refused.
  int frames = -1;
  // --screenshot FILE.png: the last frame, written atomically (headless: required).
  std::string screenshot;
  // --size WxH (ParseSize): the window, or the headless frame, in pixels.
  int width = 1600, height = 1000;
  int steps_per_frame = 1;
  int select = -1;                          // user slot selected at start (-1: the first drawn user)
  std::vector<std::string> views = kViews;  // open at start
  std::string color_by = kColorings[0];     // the map's colouring
  bool tails = false;                       // the map draws every drawn user's recent movement
};

// Frame sizes `--size` accepts, per side.
inline constexpr int kMinFrameSide = 320, kMaxFrameSide = 8192;

// "WxH" (e.g. "1600x1000"; 'x' or 'X') -> {width, height}, each side in
// [kMinFrameSide, kMaxFrameSide]; throws InputError("--size", "", reason).
struct FrameSize {
  int width = 0, height = 0;
};
FrameSize ParseSize(const std::string& text);

// What a finished run saw, for tests and the `viz:` summary line.
struct VizReport {
  int frames = 0;
  // Views (window titles) whose content did not fit their window on the last
  // frame (a scroll bar would have been needed): empty when the layout fits.
  std::vector<std::string> cut_off;
};

// Returns the process exit code (1: no window could be opened, or the PNG not
// written); throws InputError for bad input (scenario, --select, --frames,
// --size, --screenshot's directory), before any window opens.
int RunViz(const VizOptions& options, VizReport* report = nullptr);

}  // namespace cohort::viz
