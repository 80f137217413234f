#include "viz/layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cohort::viz {

ViewRects LayOutViews(float width, float height, const LayoutInput& in) {
  ViewRects r;
  // Left column: wide enough for the controls' sliders and the heatmap.
  const float left = std::clamp(0.27f * width, std::min(300.0f, width), std::max(300.0f, 0.34f * width));
  // The top row holds the map and the session inspector; Curves below gets
  // more height when it also shows the training run's curves.
  const float top = std::round(height * (in.run_curves && in.curves ? 0.50f : 0.55f));
  const float right = width - left;
  // Controls over Policy in the left column (Controls takes all of it when
  // Policy is closed).
  const float controls_h = in.policy ? std::round(height * 0.58f) : height;
  r.controls = {0, 0, left, controls_h};
  r.policy = {0, controls_h, left, height - controls_h};
  // Right part, top row: map and session share it (either alone takes it).
  const bool top_row = in.map || in.session, bottom_row = in.curves || in.meta;
  const float top_h = !bottom_row ? height : !top_row ? 0.0f : top;
  const float map_w = in.session ? (in.map ? std::round(right * 0.55f) : 0.0f) : right;
  r.map = {left, 0, map_w, top_h};
  r.session = {left + map_w, 0, right - map_w, top_h};
  const float curves_w = in.meta ? (in.curves ? std::round(right * 0.63f) : 0.0f) : right;
  r.curves = {left, top_h, curves_w, height - top_h};
  r.meta = {left + curves_w, top_h, right - curves_w, height - top_h};
  return r;
}

Grid FitGrid(int items, float width, float height, float gap, float min_w, float min_h, float max_h) {
  Grid best;
  if (items <= 0) return best;
  best.fits = false;
  float best_score = -1.0f;
  bool best_fits = false;
  for (int columns = 1; columns <= items; ++columns) {
    const int rows = (items + columns - 1) / columns;
    const float w = (width - gap * float(columns - 1)) / float(columns);
    const float h = std::min(max_h, (height - gap * float(rows - 1)) / float(rows));
    if (w <= 0 || h <= 0) continue;
    const bool fits = w >= min_w && h >= min_h;
    // A plot reads best at about 2:1; beyond that extra width is worth little.
    // Ties go to more columns: the same plots, less height used.
    const float score = std::min(w, 2.0f * h) * std::min(h, w / 1.2f);
    if ((fits && !best_fits) || (fits == best_fits && score >= best_score)) {
      best = {columns, rows, w, h, fits};
      best_score = score, best_fits = fits;
    }
  }
  return best;
}

std::string SessionStepLabel(int session, long long session_step) {
  char out[48];
  std::snprintf(out, sizeof out, "s%d step %lld", session, session_step);
  return out;
}

}  // namespace cohort::viz
