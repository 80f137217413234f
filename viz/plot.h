// Line plots for the visualizer drawn with Dear ImGui's draw list (there is no
// ImPlot): frame, nice ticks with labels, axis labels, title, legend and a
// hover cursor whose tooltip reads every line at the nearest point. The axis
// arithmetic is GL-free in viz/axes.h.
#pragma once

#include <imgui.h>

#include <optional>
#include <string>
#include <vector>

#include "viz/axes.h"

namespace cohort::viz {

struct PlotLine {
  std::string label;         // in the legend and tooltip; unlabelled lines are left out of the legend
  std::vector<double> x, y;  // x sorted ascending (hover searches it); a NaN x or y breaks the line
  ImU32 color = IM_COL32(90, 170, 255, 255);
  float thickness = 1.5f;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool y_from_zero = false;                   // the y axis holds 0 (rates, counts)
  std::optional<AxisRange> x_range, y_range;  // fixed ranges; by default the data's (y padded)
  std::vector<double> x_markers;              // vertical marker lines (restarts, evaluations, ...)
};

// Distinct line colours readable on the dark style, cycling after 8.
ImU32 PlotColor(int i);

// Draws a line plot of `size` at the cursor (a width or height <= 0 takes the
// available space) and advances the cursor past it like any item. Costs O(the
// points passed): callers pass at most a few thousand per line.
void LinePlot(const char* id, const std::vector<PlotLine>& lines, ImVec2 size, const PlotOptions& options);

}  // namespace cohort::viz
