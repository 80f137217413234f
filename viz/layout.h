// Where the visualizer's views go in the frame, and how a view's plots tile
// its space: GL-free, so that "every open view fits" is tested without a
// window (tests/test_viz_model.cc) as well as in headless renders.
//
// The frame is split into a left column (Controls above Policy) and a right
// part (Population map and Session inspector above Curves and the Meta view).
// Sizes are fractions of the frame with floors (the controls' column never
// narrower than its sliders need); a view left closed gives its space to its
// row neighbour. Inside a view, plots take what the window has (FitGrid), so
// the layout holds at any frame from 1024 x 640 up.
#pragma once

#include <string>

namespace cohort::viz {

struct Rect {
  float x = 0, y = 0, w = 0, h = 0;
};

// Which views are open at start, and whether Curves holds the training run
// of --agent (then it has about twice the plots and gets a taller row).
struct LayoutInput {
  bool map = true, session = true, policy = true, curves = true, meta = false;
  bool run_curves = false;
};

struct ViewRects {
  Rect controls, map, session, policy, curves, meta;
};

// Every rectangle lies inside [0, width] x [0, height]; open views do not overlap.
ViewRects LayOutViews(float width, float height, const LayoutInput& in);

// `items` cells of at most max_h height tiled into width x height with `gap`
// between them: the column count whose cells are largest while no narrower
// than min_w, their height shared out between the rows (never more than
// max_h). rows * cell_h + (rows - 1) * gap <= height whenever a tiling with
// cells at least min_w x min_h exists; otherwise `fits` is false and the cells
// are the largest that still fit (smaller than the minimum).
struct Grid {
  int columns = 1, rows = 0;
  float cell_w = 0, cell_h = 0;
  bool fits = true;
};
Grid FitGrid(int items, float width, float height, float gap, float min_w, float min_h, float max_h);

// A step's place in its episode for the session history: "s2 step 59" (the
// third session, its 60th step), never "2.59", which reads as a decimal.
std::string SessionStepLabel(int session, long long session_step);

}  // namespace cohort::viz
