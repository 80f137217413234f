#include "viz/plot.h"

#include <algorithm>
#include <cmath>

namespace cohort::viz {
namespace {

constexpr float kPad = 4.0f;      // between text and the plot area
constexpr float kTickLen = 4.0f;  // tick marks outside the plot area
constexpr float kSwatch = 16.0f;  // legend colour swatch width
constexpr float kMinGap = 12.0f;  // between neighbouring x tick labels

struct Layout {
  ImVec2 min, max;  // the plot area on screen
  AxisRange x, y;

  float X(double v) const { return Screen(Fraction(v, x), min.x, max.x); }
  float Y(double v) const { return Screen(Fraction(v, y), max.y, min.y); }  // up is larger
  double DataX(float px) const { return x.lo + double(px - min.x) / double(max.x - min.x) * 2 * (x.hi / 2 - x.lo / 2); }

  // Halves: hi - lo may overflow.
  static double Fraction(double v, const AxisRange& r) { return (v / 2 - r.lo / 2) / (r.hi / 2 - r.lo / 2); }
  // Far-off points are pulled in to 100 plot sizes away so float vertices stay
  // sane; that bends only segments to points that far out of range.
  static float Screen(double fraction, float from, float to) {
    return float(from + std::clamp(fraction, -100.0, 101.0) * double(to - from));
  }
};

std::optional<AxisRange> DataRange(const std::vector<PlotLine>& lines, bool y) {
  std::optional<AxisRange> r;
  for (const PlotLine& line : lines) {
    const std::vector<double>& v = y ? line.y : line.x;
    r = Union(r, FiniteRange(v.data(), v.size()));
  }
  return r;
}

// The most ticks (up to max_ticks, at least 2) whose labels do not touch in
// `room` pixels: measured on the labels, so wide labels get fewer ticks.
std::vector<double> FittingTicks(const AxisRange& r, float room, bool horizontal, int max_ticks,
                                 std::vector<std::string>& labels) {
  const float line = ImGui::GetTextLineHeight();
  for (int n = max_ticks;; --n) {
    std::vector<double> ticks = NiceTicks(r.lo, r.hi, n);
    const double step = TickStep(ticks);
    labels.clear();
    float extent = 0.0f;
    for (double t : ticks) {
      labels.push_back(FormatTick(t, step));
      extent = std::max(extent, horizontal ? ImGui::CalcTextSize(labels.back().c_str()).x : line);
    }
    const float spacing = ticks.size() < 2 ? room : room * float(step / 2 / (r.hi / 2 - r.lo / 2));
    if (n <= 2 || spacing >= extent + (horizontal ? kMinGap : line)) return ticks;
  }
}

// The corner (top-left, top-right, bottom-left, bottom-right) whose legend box
// covers the fewest line points: the legend hides as little data as it can.
ImVec2 LegendCorner(const Layout& p, const std::vector<PlotLine>& lines, ImVec2 box) {
  const float inset = 6.0f;
  const ImVec2 corners[4] = {{p.min.x + inset, p.min.y + inset},
                             {p.max.x - inset - box.x, p.min.y + inset},
                             {p.min.x + inset, p.max.y - inset - box.y},
                             {p.max.x - inset - box.x, p.max.y - inset - box.y}};
  int covered[4] = {0, 0, 0, 0};
  for (const PlotLine& line : lines)
    for (size_t i = 0; i < std::min(line.x.size(), line.y.size()); ++i) {
      if (!std::isfinite(line.x[i]) || !std::isfinite(line.y[i])) continue;
      const float sx = p.X(line.x[i]), sy = p.Y(line.y[i]);
      for (int c = 0; c < 4; ++c)
        covered[c] +=
            sx >= corners[c].x && sx <= corners[c].x + box.x && sy >= corners[c].y && sy <= corners[c].y + box.y;
    }
  return corners[std::min_element(covered, covered + 4) - covered];
}

void Legend(ImDrawList* draw, const Layout& p, const std::vector<PlotLine>& lines) {
  const float line_h = ImGui::GetTextLineHeight();
  ImVec2 box(0.0f, kPad);
  for (const PlotLine& line : lines) {
    if (line.label.empty()) continue;
    box.x = std::max(box.x, kSwatch + 2 * kPad + ImGui::CalcTextSize(line.label.c_str()).x);
    box.y += line_h + 2.0f;
  }
  if (box.x == 0.0f) return;
  box.x += 2 * kPad, box.y += kPad - 2.0f;
  const ImVec2 at = LegendCorner(p, lines, box);
  draw->AddRectFilled(at, ImVec2(at.x + box.x, at.y + box.y), IM_COL32(10, 12, 16, 200), 3.0f);
  draw->AddRect(at, ImVec2(at.x + box.x, at.y + box.y), ImGui::GetColorU32(ImGuiCol_Border), 3.0f);
  float y = at.y + kPad;
  for (const PlotLine& line : lines) {
    if (line.label.empty()) continue;
    const float mid = std::floor(y + line_h / 2) + 0.5f;
    draw->AddLine(ImVec2(at.x + kPad, mid), ImVec2(at.x + kPad + kSwatch, mid), line.color,
                  std::max(2.0f, line.thickness));
    draw->AddText(ImVec2(at.x + 2 * kPad + kSwatch, y), ImGui::GetColorU32(ImGuiCol_Text), line.label.c_str());
    y += line_h + 2.0f;
  }
}

// Lines broken at NaN; a point with no finite neighbour becomes a dot. One
// AddLine per segment: ImGui's thick anti-aliased polylines tear at the sharp
// spikes of a noisy series (their miter joins are clamped).
void Lines(ImDrawList* draw, const Layout& p, const std::vector<PlotLine>& lines) {
  for (const PlotLine& line : lines) {
    const size_t n = std::min(line.x.size(), line.y.size());
    const auto finite = [&](size_t i) { return i < n && std::isfinite(line.x[i]) && std::isfinite(line.y[i]); };
    ImVec2 prev;
    for (size_t i = 0; i < n; ++i) {
      if (!finite(i)) continue;
      const ImVec2 at(p.X(line.x[i]), p.Y(line.y[i]));
      if (i > 0 && finite(i - 1))
        draw->AddLine(prev, at, line.color, line.thickness);
      else if (!finite(i + 1))
        draw->AddCircleFilled(at, line.thickness + 0.5f, line.color);
      prev = at;
    }
  }
}

// The vertical cursor at the data x nearest the mouse, a dot on every line
// there, and a tooltip with the exact values.
void Hover(ImDrawList* draw, const Layout& p, const std::vector<PlotLine>& lines, const PlotOptions& options) {
  const double mouse_x = p.DataX(ImGui::GetIO().MousePos.x);
  std::vector<int> nearest(lines.size(), -1);
  double cursor = mouse_x;
  bool found = false;
  for (size_t l = 0; l < lines.size(); ++l) {
    const PlotLine& line = lines[l];
    nearest[l] = NearestIndex(line.x.data(), std::min(line.x.size(), line.y.size()), mouse_x);
    if (nearest[l] < 0) continue;
    const double x = line.x[size_t(nearest[l])];
    if (!found || std::abs(x - mouse_x) < std::abs(cursor - mouse_x)) cursor = x, found = true;
  }
  if (!found) return;
  const float sx = p.X(cursor);
  draw->AddLine(ImVec2(sx, p.min.y), ImVec2(sx, p.max.y), IM_COL32(255, 255, 255, 110));
  for (size_t l = 0; l < lines.size(); ++l)
    if (nearest[l] >= 0 && std::isfinite(lines[l].y[size_t(nearest[l])]))
      draw->AddCircleFilled(ImVec2(p.X(lines[l].x[size_t(nearest[l])]), p.Y(lines[l].y[size_t(nearest[l])])), 3.5f,
                            lines[l].color);
  ImGui::BeginTooltip();
  ImGui::Text("%s = %.10g", options.x_label.empty() ? "x" : options.x_label.c_str(), cursor);
  for (size_t l = 0; l < lines.size(); ++l) {
    if (nearest[l] < 0) continue;
    const PlotLine& line = lines[l];
    const ImVec2 at = ImGui::GetCursorScreenPos();  // a colour swatch, then the value
    const float h = ImGui::GetTextLineHeight();
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(at.x, at.y + h * 0.3f), ImVec2(at.x + 10.0f, at.y + h * 0.7f),
                                              line.color);
    ImGui::Dummy(ImVec2(10.0f, h));
    ImGui::SameLine();
    const double x = line.x[size_t(nearest[l])], y = line.y[size_t(nearest[l])];
    const char* name = line.label.empty() ? "y" : line.label.c_str();
    if (x == cursor)
      ImGui::Text("%s: %.6g", name, y);
    else  // this line has no point at the cursor: say where its nearest one is
      ImGui::Text("%s: %.6g (at %.10g)", name, y, x);
  }
  ImGui::EndTooltip();
}

}  // namespace

ImU32 PlotColor(int i) {
  static const ImU32 kColors[8] = {IM_COL32(90, 170, 255, 255),  IM_COL32(255, 160, 60, 255),
                                   IM_COL32(110, 210, 110, 255), IM_COL32(240, 90, 100, 255),
                                   IM_COL32(190, 140, 255, 255), IM_COL32(230, 210, 90, 255),
                                   IM_COL32(90, 220, 220, 255),  IM_COL32(240, 140, 200, 255)};
  return kColors[((i % 8) + 8) % 8];
}

void LinePlot(const char* id, const std::vector<PlotLine>& lines, ImVec2 size, const PlotOptions& options) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  if (size.x <= 0.0f) size.x = avail.x;
  if (size.y <= 0.0f) size.y = avail.y;
  size.x = std::max(size.x, 60.0f), size.y = std::max(size.y, 40.0f);
  const ImVec2 origin = ImGui::GetCursorScreenPos(), end(origin.x + size.x, origin.y + size.y);
  ImGui::InvisibleButton(id, size);  // claims the rectangle: layout and hover like any item
  const bool hovered = ImGui::IsItemHovered();
  if (!ImGui::IsItemVisible()) return;  // scrolled away: nothing to draw

  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float line_h = ImGui::GetTextLineHeight();
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text), dim = ImGui::GetColorU32(ImGuiCol_Text, 0.75f);
  draw->AddRectFilled(origin, end, IM_COL32(20, 22, 28, 255), 3.0f);
  draw->PushClipRect(origin, end, true);  // a long title or label is cut at the plot's edge

  // Rows: title and y label on top, x tick labels and the x label below.
  const bool top_row = !options.title.empty() || !options.y_label.empty();
  Layout p;
  p.x = options.x_range ? *options.x_range : PaddedRange(DataRange(lines, false), 0.0);
  p.y = options.y_range ? *options.y_range : PaddedRange(DataRange(lines, true), 0.05, options.y_from_zero);
  if (!(p.x.hi > p.x.lo)) p.x = PaddedRange(AxisRange{p.x.lo, p.x.lo}, 0.0);  // a fixed range may be empty
  if (!(p.y.hi > p.y.lo)) p.y = PaddedRange(AxisRange{p.y.lo, p.y.lo}, 0.0);
  p.min.y = origin.y + kPad + (top_row ? line_h + kPad : line_h / 2);  // half a line: the top y label
  p.max.y = end.y - kPad - kTickLen - line_h - (options.x_label.empty() ? 0.0f : line_h + 2.0f);
  const float plot_h = std::max(1.0f, p.max.y - p.min.y);
  std::vector<std::string> y_labels, x_labels;
  const std::vector<double> y_ticks =
      FittingTicks(p.y, plot_h, false, std::clamp(int(plot_h / (2.0f * line_h)) + 1, 2, 10), y_labels);
  float label_w = 0.0f;
  for (const std::string& s : y_labels) label_w = std::max(label_w, ImGui::CalcTextSize(s.c_str()).x);
  p.min.x = origin.x + kPad + label_w + kPad + kTickLen;
  p.max.x = end.x - kPad - 8.0f;  // room for half of the last x label
  const float plot_w = std::max(1.0f, p.max.x - p.min.x);
  const std::vector<double> x_ticks = FittingTicks(p.x, plot_w, true, 12, x_labels);

  if (top_row) {
    float title_x = origin.x + (size.x - ImGui::CalcTextSize(options.title.c_str()).x) / 2;
    if (!options.y_label.empty()) {  // the y label over its axis; the title moves right if they would meet
      const float y_label_x = std::max(origin.x + kPad, p.min.x - ImGui::CalcTextSize(options.y_label.c_str()).x / 2);
      draw->AddText(ImVec2(y_label_x, origin.y + kPad), dim, options.y_label.c_str());
      title_x = std::max(title_x, y_label_x + ImGui::CalcTextSize(options.y_label.c_str()).x + 3 * kPad);
    }
    draw->AddText(ImVec2(title_x, origin.y + kPad), text, options.title.c_str());
  }
  if (!options.x_label.empty())
    draw->AddText(
        ImVec2(p.min.x + (plot_w - ImGui::CalcTextSize(options.x_label.c_str()).x) / 2, end.y - kPad - line_h), dim,
        options.x_label.c_str());

  draw->AddRectFilled(p.min, p.max, IM_COL32(12, 14, 18, 255));
  const ImU32 grid = IM_COL32(255, 255, 255, 28), tick = IM_COL32(255, 255, 255, 120);
  for (size_t i = 0; i < y_ticks.size(); ++i) {
    const float y = std::floor(p.Y(y_ticks[i])) + 0.5f;  // half-pixel: crisp 1-px lines
    draw->AddLine(ImVec2(p.min.x, y), ImVec2(p.max.x, y), grid);
    draw->AddLine(ImVec2(p.min.x - kTickLen, y), ImVec2(p.min.x, y), tick);
    const ImVec2 s = ImGui::CalcTextSize(y_labels[i].c_str());
    draw->AddText(ImVec2(p.min.x - kTickLen - kPad - s.x, y - s.y / 2), dim, y_labels[i].c_str());
  }
  for (size_t i = 0; i < x_ticks.size(); ++i) {
    const float x = std::floor(p.X(x_ticks[i])) + 0.5f;
    draw->AddLine(ImVec2(x, p.min.y), ImVec2(x, p.max.y), grid);
    draw->AddLine(ImVec2(x, p.max.y), ImVec2(x, p.max.y + kTickLen), tick);
    const float w = ImGui::CalcTextSize(x_labels[i].c_str()).x;
    const float left = std::clamp(x - w / 2, origin.x + kPad, end.x - kPad - w);  // the end labels stay inside
    draw->AddText(ImVec2(left, p.max.y + kTickLen + 1.0f), dim, x_labels[i].c_str());
  }
  for (double m : options.x_markers)
    if (m >= p.x.lo && m <= p.x.hi) {
      const float x = std::floor(p.X(m)) + 0.5f;
      draw->AddLine(ImVec2(x, p.min.y), ImVec2(x, p.max.y), IM_COL32(255, 210, 90, 140));
    }

  draw->PushClipRect(p.min, p.max, true);  // lines past a fixed range are cut at the frame
  Lines(draw, p, lines);
  if (hovered && ImGui::IsMouseHoveringRect(p.min, p.max)) Hover(draw, p, lines, options);
  draw->PopClipRect();
  Legend(draw, p, lines);
  draw->AddRect(p.min, p.max, ImGui::GetColorU32(ImGuiCol_Border));
  draw->PopClipRect();
}

}  // namespace cohort::viz
