#include "viz/app.h"

#include <SDL.h>
#include <SDL_opengl.h>
#include <backends/imgui_impl_opengl3.h>
#include <backends/imgui_impl_sdl.h>
#include <imgui.h>
#include <stb_image_write.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/json_parse.h"
#include "env/ground_truth.h"
#include "viz/layout.h"
#include "viz/plot.h"

namespace fs = std::filesystem;

namespace cohort::viz {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ImU32 TopicColor(int topic, int topics, float alpha = 1.0f) {
  float r, g, b;
  ImGui::ColorConvertHSVtoRGB(float(topic) / float(std::max(1, topics)), 0.65f, 0.95f, r, g, b);
  return ImGui::ColorConvertFloat4ToU32(ImVec4(r, g, b, alpha));
}

// A sequential colour scale for continuous values (blue -> yellow), t in [0, 1].
ImU32 ScaleColor(double t, float alpha = 1.0f) {
  t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0;
  return ImGui::ColorConvertFloat4ToU32(
      ImVec4(float(0.15 + 0.85 * t), float(0.3 + 0.6 * t), float(0.9 - 0.75 * t), alpha));
}

// A TimeSeries as a plot line: at most `buckets` bucket means at their centre
// steps (1 = the series' first step since Restart).
PlotLine SeriesLine(const std::string& label, const TimeSeries& s, ImU32 color, size_t buckets = 600) {
  TimeSeries::Steps b = s.BucketedSteps(buckets);
  for (double& x : b.step) x += 1.0;
  return PlotLine{label, std::move(b.step), std::move(b.mean), color};
}

PlotOptions Opts(std::string title, std::string x_label, std::string y_label = "", bool y_from_zero = false) {
  PlotOptions o;
  o.title = std::move(title), o.x_label = std::move(x_label), o.y_label = std::move(y_label);
  o.y_from_zero = y_from_zero;
  return o;
}

// ---------------------------------------------------------------- run metrics
// metrics.jsonl of the --agent run, reread when it changes (a run in progress
// rewrites it atomically at each checkpoint).
struct RunMetrics {
  std::string path;
  fs::file_time_type stamp{};
  std::map<std::string, PlotLine> eval, train;  // key -> curve over training step
  int64_t lines = 0;

  void Refresh() {
    std::error_code ec;
    if (path.empty() || !fs::exists(path, ec)) return;
    const auto now = fs::last_write_time(path, ec);
    if (ec || now == stamp) return;
    stamp = now;
    eval.clear(), train.clear(), lines = 0;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      json j = ParseJsonOrDiscarded(line);
      if (j.is_discarded() || !j.is_object() || !j.contains("step")) continue;
      ++lines;
      auto& into = j.value("kind", "") == "eval" ? eval : train;
      const double step = j["step"].get<double>();
      for (const auto& [k, v] : j.items()) {
        if (!v.is_number() || k == "step" || k == "user_steps") continue;
        PlotLine& l = into[k];
        l.label = k;
        l.x.push_back(step);
        l.y.push_back(v.get<double>());
      }
    }
  }
};

// ---------------------------------------------------------------- view state
enum class ColorBy { kInterest = 0, kSegment, kSatisfaction, kBudget };
// Shown in the window for kColorings' entries, in their order.
const char* const kColorByNames[] = {"strongest interest", "segment", "satisfaction", "budget left"};

struct ViewState {
  bool playing = false, max_speed = false;
  int steps_per_frame = 1;
  float frame_budget_ms = 30.0f;
  int seed_input = 0;
  // Views shown (closing a window hides it: nothing of it is computed).
  bool show_map = true, show_session = true, show_policy = true, show_curves = true, show_meta = true;
  bool policy_visible = true, curves_visible = true;  // drawn last frame (not collapsed)
  bool env_open = true, env_reset = true;             // the live parameters' section: open, and set so this frame
  // Map.
  int color_by = 0;
  bool true_interests = false, show_density = true, show_items = true, show_trail = true, show_tails = false;
  // Tails: the drawn users' last kTail projected positions (ring buffers),
  // appended once per simulation step; cleared with the projection.
  static constexpr int kTail = 24;
  std::vector<std::array<float, 2>> tails;
  std::vector<int64_t> tail_user;
  int tail_len = 0, tail_head = 0;
  int64_t tail_step = -1;
  DensityGrid density;
  int64_t density_step = -1;
  bool density_true = false;
  float pca_extent = 0.0f;
  bool use_pca = false;
  Projection2D pca = Projection2D::TopicCircle(1);
  Clock::time_point density_time{};
  std::vector<std::array<float, 2>> trail;  // the selected user's projected interests
  int64_t trail_user = -1;
  // Meta view.
  int probe_x = 0;
  std::vector<double> probe_at;
  std::vector<PlotLine> probe_lines;  // drawn for probe_lines_x / probe_lines_at
  int probe_lines_x = -1;
  std::vector<double> probe_lines_at;
  // Speed.
  double frame_ms = 0.0, sim_ms = 0.0;
  double sim_rate = 0.0;  // user-steps per second of simulation time
  RunMetrics run;
};

// ---------------------------------------------------------------- controls
void Controls(Sim& sim, ViewState& v) {
  ImGui::TextWrapped("%s  |  agent: %s", sim.scenario().resolved.value("name", "").c_str(), sim.agent_label().c_str());
  ImGui::TextWrapped("step %lld  |  %d user slots  |  %lld user-steps  |  %lld updates", (long long)sim.steps(),
                     sim.rows(), (long long)sim.user_steps(), (long long)sim.updates());
  if (ImGui::Button(v.playing ? "Pause" : "Play")) v.playing = !v.playing;
  ImGui::SameLine();
  if (ImGui::Button("Step")) sim.Step();
  ImGui::SameLine();
  ImGui::Checkbox("max speed", &v.max_speed);
  if (v.max_speed)
    ImGui::SliderFloat("ms of simulation / frame", &v.frame_budget_ms, 5.0f, 200.0f, "%.0f");
  else
    ImGui::SliderInt("steps / frame", &v.steps_per_frame, 1, 200);
  ImGui::InputInt("seed", &v.seed_input);
  ImGui::SameLine();
  if (ImGui::Button("Restart")) sim.Restart(uint64_t(std::max(0, v.seed_input))), v.trail.clear();
  if (sim.learns()) {
    bool learning = sim.learning();
    if (ImGui::Checkbox("learning (off: the frozen evaluation policy)", &learning)) sim.SetLearning(learning);
  }
  ImGui::TextWrapped("simulation: %.3g user-steps/s (%.1f ms of a %.1f ms frame)", v.sim_rate, v.sim_ms, v.frame_ms);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "environment + agent + recording, measured per frame; drawing is the rest of the frame.\n"
        "Hidden views cost nothing; with max speed the simulation gets a fixed time per frame.");
  ImGui::Separator();
  // Every slider's range, log scale and tooltip come from the env schema,
  // where each key is declared once (LiveSliders, viz/sim.h).
  if (v.env_reset) ImGui::SetNextItemOpen(v.env_open, ImGuiCond_Always);
  if (ImGui::CollapsingHeader("Environment (live; kept across restarts)")) {
    LiveParams p = sim.live();
    std::vector<double> values = p.Values();
    const std::vector<LiveSlider> sliders = LiveSliders(sim.scenario().env);
    bool changed = false;
    for (size_t i = 0; i < sliders.size() && i < values.size(); ++i) {
      const LiveSlider& s = sliders[i];
      // A scenario value outside the slider range widens it rather than being clamped.
      const float lo = float(std::min(s.lo, values[i])), hi = float(std::max(s.hi, values[i]));
      float value = float(values[i]);
      // Labelled by the key (as --set takes it, less the obvious "dynamics.").
      const std::string label = s.key.rfind("dynamics.", 0) == 0 ? s.key.substr(9) : s.key;
      ImGui::SetNextItemWidth(std::max(80.0f, ImGui::GetContentRegionAvail().x - ImGui::CalcTextSize(label.c_str()).x -
                                                  ImGui::GetStyle().ItemInnerSpacing.x));
      if (ImGui::SliderFloat(label.c_str(), &value, lo, hi, "%.4g", s.log_scale ? ImGuiSliderFlags_Logarithmic : 0)) {
        values[i] = value;
        changed = true;
      }
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("env.%s: %s\nslider %.4g .. %.4g (--set env.%s=VALUE)", s.key.c_str(), s.field->doc.c_str(),
                          s.lo, s.hi, s.key.c_str());
    }
    if (changed) {
      p.SetValues(values);
      sim.SetLive(p);
    }
  }
  if (!(sim.live() == sim.scenario_live()) && ImGui::Button("Back to the scenario's values"))
    sim.SetLive(sim.scenario_live());
  ImGui::Separator();
  ImGui::TextUnformatted("Views:");
  ImGui::SameLine();
  ImGui::Checkbox("map", &v.show_map), ImGui::SameLine(), ImGui::Checkbox("session", &v.show_session),
      ImGui::SameLine();
  ImGui::Checkbox("policy", &v.show_policy), ImGui::SameLine(), ImGui::Checkbox("curves", &v.show_curves);
  if (sim.rule() != nullptr && sim.rule()->probe.evaluate) ImGui::SameLine(), ImGui::Checkbox("meta", &v.show_meta);
}

// ---------------------------------------------------------------- population map
struct MapFrame {
  ImVec2 centre;
  float scale;
  float extent;
  ImVec2 At(std::array<float, 2> xy) const { return {centre.x + scale * xy[0], centre.y - scale * xy[1]}; }
};

// The colour of user row r under the chosen mode; `range` normalises continuous values.
ImU32 UserColor(const Sim& sim, int r, int mode, const float* u, int dim, double lo, double hi, float alpha) {
  switch (ColorBy(mode)) {
    case ColorBy::kSegment:
      return TopicColor(sim.env().Segment(r), std::max<int>(2, int(sim.scenario().env.segments.size())), alpha);
    case ColorBy::kSatisfaction:
      return ScaleColor((sim.env().Satisfaction(r) - lo) / std::max(1e-9, hi - lo), alpha);
    case ColorBy::kBudget:
      return ScaleColor((sim.env().Budget(r) - lo) / std::max(1e-9, hi - lo), alpha);
    case ColorBy::kInterest:
    default: {
      int best = 0;
      for (int k = 1; k < dim; ++k)
        if (u[k] > u[best]) best = k;
      return TopicColor(best, dim, alpha);
    }
  }
}

void PopulationMap(Sim& sim, ViewState& v) {
  ImGui::SetNextItemWidth(170);
  ImGui::Combo("colour", &v.color_by, kColorByNames, IM_ARRAYSIZE(kColorByNames));
  ImGui::SameLine();
  if (ImGui::Checkbox("true interests", &v.true_interests)) v.trail.clear(), v.tail_len = 0;
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("privileged: the simulator's hidden interests (off: what the agent observes)");
  ImGui::Checkbox("density of all users", &v.show_density);
  ImGui::SameLine();
  ImGui::Checkbox("items", &v.show_items);
  ImGui::SameLine();
  ImGui::Checkbox("trail", &v.show_trail);
  ImGui::SameLine();
  if (ImGui::Checkbox("tails of all drawn users", &v.show_tails)) v.tail_len = 0;

  const StepBatch& b = sim.batch();
  if (!sim.topic_map().pca()) {  // per-topic interests: the topic circle, or PCA on demand
    ImGui::SameLine();
    if (ImGui::Checkbox("PCA", &v.use_pca)) {
      if (v.use_pca) v.pca = sim.PcaNow(v.true_interests), v.pca_extent = 0.0f;
      v.trail.clear(), v.density.bins = 0, v.tail_len = 0;  // all are in the old projection
    }
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("principal axes of the current interests (fixed until toggled again)");
  }
  const Projection2D& map = v.use_pca && !sim.topic_map().pca() ? v.pca : sim.topic_map();
  const int dim = b.dim, topics = sim.scenario().env.num_topics;
  auto interests = [&](int r) { return v.true_interests ? sim.env().TrueInterests(r) : b.Interests(r); };

  // Continuous colour range over the drawn users.
  double lo = 0.0, hi = 1.0;
  if (v.color_by == int(ColorBy::kSatisfaction) || v.color_by == int(ColorBy::kBudget)) {
    lo = 1e300, hi = -1e300;
    for (int64_t row : sim.drawn()) {
      const double x =
          v.color_by == int(ColorBy::kSatisfaction) ? sim.env().Satisfaction(int(row)) : sim.env().Budget(int(row));
      if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
    }
    if (lo > hi) lo = 0.0, hi = 1.0;
  }

  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 size(std::max(100.0f, avail.x), std::max(100.0f, avail.y - 24.0f));
  // The topic circle lies in the unit disc; a PCA view follows the drawn users
  // (grows at once, shrinks slowly, so the picture does not jitter).
  float extent = 1.0f;
  if (map.pca()) {
    float needed = 1e-3f;
    for (int64_t row : sim.drawn()) {
      const auto xy = map.Project(interests(int(row)));
      needed = std::max({needed, std::abs(xy[0]), std::abs(xy[1])});
    }
    v.pca_extent = std::max(1.1f * needed, v.pca_extent * 0.995f);
    extent = v.pca_extent;
  }
  const MapFrame f{ImVec2(origin.x + size.x / 2, origin.y + size.y / 2), 0.46f * std::min(size.x, size.y) / extent,
                   extent};
  draw->AddRectFilled(origin, ImVec2(origin.x + size.x, origin.y + size.y), IM_COL32(20, 22, 28, 255));
  draw->PushClipRect(origin, ImVec2(origin.x + size.x, origin.y + size.y), true);

  // Every active user, aggregated: recomputed when the simulation moved, at
  // most 5 times a second (one pass over all users: ~8 ms at 100k users).
  if (v.show_density) {
    const bool stale = v.density_step != sim.steps() || v.density_true != v.true_interests;
    if (v.density.bins == 0 || std::abs(v.density.extent / extent - 1.0f) > 0.05f ||
        (stale && Clock::now() - v.density_time > std::chrono::milliseconds(200))) {
      v.density = sim.Density(map, v.true_interests, 96, extent);
      v.density_step = sim.steps();
      v.density_true = v.true_interests;
      v.density_time = Clock::now();
    }
    const DensityGrid& g = v.density;
    const float cell = 2.0f * g.extent * f.scale / float(g.bins);
    const ImVec2 top_left = f.At({-g.extent, g.extent});
    for (int j = 0; j < g.bins; ++j)
      for (int i = 0; i < g.bins; ++i) {
        const float c = g.count[size_t(j) * size_t(g.bins) + size_t(i)];
        if (c <= 0.0f) continue;
        const float t = std::log1p(c) / std::log1p(std::max(1.0f, g.max));
        const ImVec2 a(top_left.x + float(i) * cell, top_left.y + float(j) * cell);
        draw->AddRectFilled(a, ImVec2(a.x + cell, a.y + cell), IM_COL32(70, 90, 140, int(30 + 150 * t)));
      }
  }
  if (!map.pca())
    for (int k = 0; k < topics; ++k) {  // topic anchors with labels
      const ImVec2 p = f.At({map.axis(0)[size_t(k)], map.axis(1)[size_t(k)]});
      draw->AddCircleFilled(p, 5.0f, TopicColor(k, topics));
      char label[32];
      std::snprintf(label, sizeof label, "topic %d", k);
      draw->AddText(ImVec2(p.x + 7, p.y - 7), IM_COL32(220, 220, 220, 255), label);
    }
  // A live catalog's items (a sample of at most 400 alive ones); items of one
  // topic share its anchor on the topic circle, so they are spread around it.
  if (v.show_items && sim.scenario().env.catalog.source == CandidateSource::kLive) {
    const Catalog& cat = sim.env().catalog();
    const int64_t alive = cat.alive_count(), stride = std::max<int64_t>(1, alive / 400);
    for (int64_t i = 0; i < alive; i += stride) {
      const ItemView item = cat.Item(cat.AliveItem(i));
      ImVec2 q = f.At(map.ProjectItem(item.topic, item.features));
      if (item.features == nullptr) {
        const float angle = 2.39996f * float(i / stride), radius = 10.0f + 2.0f * float((i / stride) % 7);
        q = ImVec2(q.x + radius * std::cos(angle), q.y + radius * std::sin(angle));
      }
      draw->AddRectFilled(ImVec2(q.x - 1.5f, q.y - 1.5f), ImVec2(q.x + 1.5f, q.y + 1.5f),
                          TopicColor(item.topic, topics, 0.45f));
    }
  }
  // How the drawn users' interests moved over the last steps (a slot that
  // changed user starts a new tail).
  if (v.show_tails) {
    const size_t n = sim.drawn().size();
    if (v.tails.size() != n * ViewState::kTail || sim.steps() < v.tail_step) {
      v.tails.assign(n * ViewState::kTail, {0.0f, 0.0f});
      v.tail_user.assign(n * ViewState::kTail, -1);
      v.tail_len = 0, v.tail_head = 0;
    }
    if (sim.steps() != v.tail_step) {
      for (size_t i = 0; i < n; ++i) {
        const int row = int(sim.drawn()[i]);
        v.tails[i * ViewState::kTail + size_t(v.tail_head)] = map.Project(interests(row));
        v.tail_user[i * ViewState::kTail + size_t(v.tail_head)] = b.user_id[size_t(row)];
      }
      v.tail_head = (v.tail_head + 1) % ViewState::kTail;
      v.tail_len = std::min(v.tail_len + 1, ViewState::kTail);
      v.tail_step = sim.steps();
    }
    for (size_t i = 0; i < n; ++i)
      for (int k = 1; k < v.tail_len; ++k) {  // oldest to newest
        const int older = (v.tail_head - v.tail_len + k - 1 + 2 * ViewState::kTail) % ViewState::kTail;
        const int newer = (older + 1) % ViewState::kTail;
        const size_t a = i * ViewState::kTail + size_t(older), z = i * ViewState::kTail + size_t(newer);
        if (v.tail_user[a] != v.tail_user[z]) continue;
        draw->AddLine(f.At(v.tails[a]), f.At(v.tails[z]), IM_COL32(200, 200, 220, 20 + 110 * k / v.tail_len), 1.0f);
      }
  }
  int hovered = -1;
  for (int64_t row64 : sim.drawn()) {
    const int row = int(row64);
    const ImVec2 p = f.At(map.Project(interests(row)));
    const bool active = b.active[size_t(row)] != 0;
    draw->AddCircleFilled(p, 2.5f, UserColor(sim, row, v.color_by, interests(row), dim, lo, hi, active ? 0.9f : 0.2f));
    if (ImGui::IsWindowHovered() && ImGui::IsMouseHoveringRect(ImVec2(p.x - 4, p.y - 4), ImVec2(p.x + 4, p.y + 4)))
      hovered = row;
  }
  if (hovered >= 0) {
    ImGui::SetTooltip(
        "user slot %d (user %lld, segment %d)\nepisode step %lld, session %d\nsatisfaction %.3f, budget "
        "%.2f\nlast reward %.3f\nclick to inspect",
        hovered, (long long)b.user_id[size_t(hovered)], sim.env().Segment(hovered),
        (long long)b.episode_step[size_t(hovered)], b.session_index[size_t(hovered)], sim.env().Satisfaction(hovered),
        sim.env().Budget(hovered), b.reward[size_t(hovered)]);
    if (ImGui::IsMouseClicked(0)) sim.Select(hovered), v.trail.clear();
  }

  const int sel = sim.selected();
  if (sel >= 0) {
    const ImVec2 p = f.At(map.Project(interests(sel)));
    // Trail: where the selected user's interests have been (this user only).
    if (v.trail_user != b.user_id[size_t(sel)]) v.trail.clear(), v.trail_user = b.user_id[size_t(sel)];
    const auto xy = map.Project(interests(sel));
    if (v.trail.empty() || v.trail.back() != xy) v.trail.push_back(xy);
    if (v.trail.size() > 400) v.trail.erase(v.trail.begin());
    if (v.show_trail)
      for (size_t i = 1; i < v.trail.size(); ++i)
        draw->AddLine(f.At(v.trail[i - 1]), f.At(v.trail[i]),
                      IM_COL32(255, 255, 255, int(40 + 200 * double(i) / double(v.trail.size()))), 1.5f);
    // The selected user's candidates (items) and the last slate and click.
    const int K = b.num_candidates;
    for (int c = 0; c < K; ++c) {
      const size_t i = size_t(sel) * size_t(K) + size_t(c);
      const int t = b.topic[i];
      ImVec2 q = f.At(map.ProjectItem(t, b.candidate_features ? &b.features[i * size_t(dim)] : nullptr));
      // Items of one topic share an anchor: fan them out so each is visible.
      const float angle = 6.2831853f * float(c) / float(K);
      q = ImVec2(q.x + 9.0f * std::cos(angle), q.y + 9.0f * std::sin(angle));
      if (v.show_items) {
        draw->AddRectFilled(ImVec2(q.x - 3, q.y - 3), ImVec2(q.x + 3, q.y + 3), TopicColor(t, topics, 0.9f));
        if (ImGui::IsWindowHovered() && ImGui::IsMouseHoveringRect(ImVec2(q.x - 4, q.y - 4), ImVec2(q.x + 4, q.y + 4)))
          ImGui::SetTooltip("candidate %d of user slot %d\ntopic %d, quality %.3f, length %.2f", c, sel, t,
                            GroundTruth(sim.env()).CandidateQuality(sel, c),
                            b.length[size_t(sel) * size_t(K) + size_t(c)]);
      }
    }
    const auto& log = sim.session();
    if (!log.empty() && log.back().step == sim.steps()) {  // the slate just shown (its candidates are gone now)
      const SessionRecord& rec = log.back();
      for (size_t j = 0; j < rec.slate.size(); ++j) {
        const size_t c = size_t(rec.slate[j]);
        const ImVec2 q =
            f.At(map.ProjectItem(rec.topic[c], rec.features.empty() ? nullptr : &rec.features[c * size_t(dim)]));
        const bool clicked = int(j) == rec.clicked;
        draw->AddLine(p, q, clicked ? IM_COL32(255, 255, 80, 255) : IM_COL32(180, 180, 180, 170),
                      clicked ? 3.0f : 1.2f);
      }
    }
    draw->AddCircle(p, 8.0f, IM_COL32(255, 255, 255, 255), 0, 2.0f);
  }
  draw->PopClipRect();
  ImGui::Dummy(size);
  // Legend.
  if (v.color_by == int(ColorBy::kSatisfaction) || v.color_by == int(ColorBy::kBudget)) {
    const ImVec2 a = ImGui::GetCursorScreenPos();
    for (int i = 0; i < 100; ++i)
      draw->AddRectFilled(ImVec2(a.x + 2.0f * float(i), a.y + 4), ImVec2(a.x + 2.0f * float(i + 1), a.y + 16),
                          ScaleColor(i / 99.0));
    ImGui::Dummy(ImVec2(204, 18));
    ImGui::SameLine();
    ImGui::Text("%s from %.3g to %.3g (drawn users)", kColorByNames[v.color_by], lo, hi);
  } else {
    ImGui::Text(
        "%zu of %d users drawn%s; shaded: density of all %lld active users; squares: the selected user's "
        "candidates; white: interest trail; lines: last slate (yellow: clicked)",
        sim.drawn().size(), sim.rows(), map.pca() ? " (PCA)" : " (topic circle)", (long long)v.density.users);
  }
}

// ---------------------------------------------------------------- session inspector
const char* EndReasonName(EndReason r) {
  switch (r) {
    case EndReason::kBudget:
      return "budget spent";
    case EndReason::kLeft:
      return "left (dissatisfied)";
    case EndReason::kSessionCap:
      return "session step cap";
    case EndReason::kEpisodeCap:
      return "episode cap";
    default:
      return "";
  }
}

void SessionInspector(Sim& sim) {
  const int sel = sim.selected();
  if (sel < 0) {
    ImGui::TextUnformatted("Click a user on the map to follow it.");
    return;
  }
  const VecEnv& env = sim.env();
  const StepBatch& b = sim.batch();
  ImGui::Text("user slot %d: user %lld, segment %d, session %d, step %lld of its episode", sel,
              (long long)b.user_id[size_t(sel)], env.Segment(sel), b.session_index[size_t(sel)],
              (long long)b.episode_step[size_t(sel)]);
  const float* bored = env.Boredom(sel);
  ImGui::Text(
      "now: budget %.2f, satisfaction %.3f, max boredom %s", env.Budget(sel), env.Satisfaction(sel),
      bored ? std::to_string(*std::max_element(bored, bored + sim.scenario().env.num_topics)).c_str() : "(off)");
  const auto& log = sim.session();
  if (log.empty()) {
    ImGui::TextUnformatted("(no steps recorded yet for this user slot: press Step or Play)");
    return;
  }
  // The user's state over the recorded steps (a gap where the slot changed user).
  {
    PlotLine budget{"budget left", {}, {}, PlotColor(0)}, sat{"satisfaction", {}, {}, PlotColor(1)},
        bored{"boredom (clicked topic)", {}, {}, PlotColor(2)};
    std::vector<double> ends;
    for (const SessionRecord& r : log) {
      const bool gone = r.terminated || r.truncated;
      budget.x.push_back(double(r.step)), budget.y.push_back(gone ? kNaN : r.budget);
      sat.x.push_back(double(r.step)), sat.y.push_back(r.satisfaction);
      bored.x.push_back(double(r.step)), bored.y.push_back(r.boredom);
      if (r.session_ended) ends.push_back(double(r.step));
    }
    const float half = (ImGui::GetContentRegionAvail().x - 8.0f) / 2.0f;
    // The plots, the candidates and the history share the window's height.
    const float plot_h = std::clamp(0.28f * ImGui::GetContentRegionAvail().y, 70.0f, 150.0f);
    PlotOptions o = Opts("budget (lines: session ends)", "step");
    o.x_markers = ends;
    LinePlot("##budget", {budget}, ImVec2(half, plot_h), o);
    ImGui::SameLine();
    PlotOptions q = Opts("satisfaction, boredom", "step");
    q.x_markers = ends;
    std::vector<PlotLine> lines = {sat};
    if (sim.env().Boredom(sel) != nullptr) lines.push_back(bored);
    LinePlot("##satisfaction", lines, ImVec2(half, plot_h), q);
  }
  // The latest step in full: every candidate with the agent's score.
  const SessionRecord& last = log.back();
  const std::string score = last.score_name.empty() ? "agent score (none)" : "agent: " + last.score_name;
  ImGui::Text("step %lld: %zu candidates; the slate is marked with its position, [*] clicked", (long long)last.step,
              last.topic.size());
  const ImGuiTableFlags flags =
      ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingFixedFit;
  const float row_h = ImGui::GetTextLineHeightWithSpacing() + 4.0f;
  // Up to 8 candidate rows, fewer when the window is short (the table scrolls).
  const float rows_room = (ImGui::GetContentRegionAvail().y - 2.0f * ImGui::GetFrameHeightWithSpacing()) * 0.5f;
  const int table_rows = std::clamp(int(rows_room / row_h) - 1, 2, int(std::min<size_t>(last.topic.size(), 8)));
  if (ImGui::BeginTable("candidates", 6, flags, ImVec2(0, row_h * float(table_rows + 1) + 4.0f))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    for (const char* h : {"cand", "topic", "quality", "length", "slate pos  P(click)"}) ImGui::TableSetupColumn(h);
    ImGui::TableSetupColumn(score.c_str());
    ImGui::TableHeadersRow();
    for (size_t c = 0; c < last.topic.size(); ++c) {
      ImGui::TableNextRow();
      int pos = -1;
      for (size_t j = 0; j < last.slate.size(); ++j)
        if (size_t(last.slate[j]) == c) pos = int(j);
      ImGui::TableSetColumnIndex(0), ImGui::Text("%zu", c);
      ImGui::TableSetColumnIndex(1),
          ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(TopicColor(last.topic[c], sim.scenario().env.num_topics)),
                             "%d", last.topic[c]);
      ImGui::TableSetColumnIndex(2), ImGui::Text("%.3f", last.quality[c]);
      ImGui::TableSetColumnIndex(3), ImGui::Text("%.2f", last.length[c]);
      ImGui::TableSetColumnIndex(4);
      if (pos >= 0) ImGui::Text("%d%s  p=%.3f", pos, pos == last.clicked ? " [*]" : "", last.click_prob[size_t(pos)]);
      ImGui::TableSetColumnIndex(5), ImGui::Text("%.4g", last.agent_score[c]);
    }
    ImGui::EndTable();
  }
  // Every recorded step, newest first.
  ImGui::Text("history (newest first, %zu steps kept): true P(click) of each slate item vs the agent's score",
              log.size());
  if (ImGui::BeginTable("history", 8, flags, ImVec2(0, std::max(2.0f * row_h, ImGui::GetContentRegionAvail().y)))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    for (const char* h : {"step", "session", "slate: topic p(click) | score", "P(none)", "click", "watch",
                          "budget / sat / bored", "event"})
      ImGui::TableSetupColumn(h);
    ImGui::TableHeadersRow();
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
      const SessionRecord& r = *it;
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0), ImGui::Text("%lld", (long long)r.step);
      ImGui::TableSetColumnIndex(1), ImGui::TextUnformatted(SessionStepLabel(r.session, r.session_step).c_str());
      ImGui::TableSetColumnIndex(2);
      std::string s;
      for (size_t j = 0; j < r.slate.size(); ++j) {
        char cell[64];
        std::snprintf(cell, sizeof cell, "%st%d %.2f|%.3g", j ? "  " : "", r.topic[size_t(r.slate[j])], r.click_prob[j],
                      r.agent_score[size_t(r.slate[j])]);
        s += cell;
      }
      ImGui::TextUnformatted(s.c_str());
      ImGui::TableSetColumnIndex(3), ImGui::Text("%.3f", r.no_click_prob);
      ImGui::TableSetColumnIndex(4);
      if (r.clicked >= 0)
        ImGui::Text("pos %d", r.clicked);
      else
        ImGui::TextDisabled("none");
      ImGui::TableSetColumnIndex(5), ImGui::Text("%.2f", r.watch_time);
      ImGui::TableSetColumnIndex(6), ImGui::Text("%.2f / %.3f / %.3g", r.budget, r.satisfaction, r.boredom);
      ImGui::TableSetColumnIndex(7);
      if (r.terminated || r.truncated)
        ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "%s: gone; next user %lld", EndReasonName(r.end_reason),
                           (long long)r.next_user);
      else if (r.session_ended)
        ImGui::TextColored(ImVec4(0.5f, 0.9f, 1, 1), "%s; returns after %.1f", EndReasonName(r.end_reason),
                           r.return_gap);
    }
    ImGui::EndTable();
  }
}

// ---------------------------------------------------------------- policy
// `height`: what the heatmap may take, its header row included.
void Heatmap(const SlateHeatmap& h, float height) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float label_w = 62.0f;
  const float cell_w = std::clamp((ImGui::GetContentRegionAvail().x - label_w) / float(h.slate_size()), 18.0f, 60.0f);
  const float cell_h = std::clamp((height - 18.0f) / float(h.num_topics()), 1.0f, 16.0f);
  double top = 1e-12;  // colours scale to the most frequent cell, so 20 topics are not all dark
  for (int t = 0; t < h.num_topics(); ++t)
    for (int j = 0; j < h.slate_size(); ++j) top = std::max(top, h.Frequency(t, j));
  for (int j = 0; j < h.slate_size(); ++j) {
    char label[32];
    std::snprintf(label, sizeof label, "pos %d", j);
    draw->AddText(ImVec2(origin.x + label_w + float(j) * cell_w, origin.y), IM_COL32(220, 220, 220, 255), label);
  }
  const int label_every = cell_h >= 13.0f ? 1 : int(std::ceil(13.0f / cell_h));
  for (int t = 0; t < h.num_topics(); ++t) {
    const float y = origin.y + 18.0f + float(t) * cell_h;
    if (t % label_every == 0) {
      char label[32];
      std::snprintf(label, sizeof label, "topic %d", t);
      draw->AddText(ImVec2(origin.x, y), IM_COL32(220, 220, 220, 255), label);
    }
    for (int j = 0; j < h.slate_size(); ++j) {
      const double fr = h.Frequency(t, j), c = fr / top;
      const ImVec2 a(origin.x + label_w + float(j) * cell_w, y), z(a.x + cell_w - 2, a.y + cell_h - 1);
      draw->AddRectFilled(a, z, IM_COL32(int(40 + 215 * c), int(60 + 120 * c), int(120 - 100 * c), 255));
      if (ImGui::IsMouseHoveringRect(a, z))
        ImGui::SetTooltip("topic %d at position %d: %.4f of the items shown there (%lld)", t, j, fr,
                          (long long)h.count(t, j));
    }
  }
  ImGui::Dummy(ImVec2(label_w + float(h.slate_size()) * cell_w, 18.0f + float(h.num_topics()) * cell_h));
  ImGui::Text("brightest cell: %.3f of its position's items", top);
  ImGui::Text("since the last clear: topic entropy %.3f nats (max %.3f), coverage %.2f", h.TopicEntropy(),
              std::log(double(h.num_topics())), h.Coverage());
}

void PolicyView(Sim& sim) {
  if (ImGui::Button("Clear heatmap")) sim.ClearHeatmap();
  // The heatmap takes up to half of what is left; its two text lines and the
  // plot share the rest.
  const float text_h = 2.0f * ImGui::GetTextLineHeightWithSpacing();
  Heatmap(sim.heatmap(), std::min(258.0f, 0.5f * (ImGui::GetContentRegionAvail().y - text_h)));
  const Sim::Series& s = sim.series();
  std::vector<PlotLine> lines = {SeriesLine("slate diversity", s.slate_diversity, PlotColor(0)),
                                 SeriesLine("topic coverage", s.coverage, PlotColor(1)),
                                 SeriesLine("topic exposure Gini (heatmap)", s.exposure_gini, PlotColor(3))};
  const double max_entropy = std::log(double(sim.scenario().env.num_topics));
  PlotLine entropy = SeriesLine("topic entropy / max", s.topic_entropy, PlotColor(2));
  for (double& y : entropy.y) y /= max_entropy;
  lines.push_back(entropy);
  if (!s.policy_entropy.empty() && std::isfinite(s.policy_entropy.last())) {
    // Normalized by the largest entropy of the agent's own action space
    // (log K for one choice, log(K!/(K-k)!) for an ordered slate).
    lines.push_back(SeriesLine("policy entropy / max", s.policy_entropy, PlotColor(3)));
  }
  LinePlot("##policy", lines, ImVec2(-1, std::max(60.0f, ImGui::GetContentRegionAvail().y)),
           Opts("what the policy shows, per step", "step", "fraction"));
}

// ---------------------------------------------------------------- curves
// Every plot is collected first and then tiled into the window (FitGrid), so
// all of them stay visible however many the agent and its run provide.
void CurvesView(Sim& sim, ViewState& v) {
  const Sim::Series& s = sim.series();
  struct Plot {
    std::string id;
    std::vector<PlotLine> lines;
    PlotOptions options;
  };
  std::vector<Plot> plots;
  plots.push_back(
      {"##reward", {SeriesLine("reward / user-step", s.reward, PlotColor(0))}, Opts("reward per user-step", "step")});
  plots.push_back({"##ctr", {SeriesLine("CTR", s.ctr, PlotColor(1))}, Opts("click-through rate", "step", "", true)});
  plots.push_back({"##return",
                   {SeriesLine("episode return", s.episode_return, PlotColor(2))},
                   Opts("return of the episodes that ended", "step", "")});
  if (sim.scenario().env.retention.enabled)
    plots.push_back({"##retention",
                     {SeriesLine("sessions followed by a return", s.retention, PlotColor(3))},
                     Opts("retention", "step", "", true)});
  plots.push_back({"##normalized",
                   {SeriesLine("myopic normalized reward", s.normalized_reward, PlotColor(4))},
                   Opts("myopic normalized reward (32 users)", "step")});
  for (const auto& [name, series] : sim.train_stats())
    plots.push_back({"##train_" + name,
                     {SeriesLine(name, series, PlotColor(5), 400)},
                     Opts("training: " + name + " (per update)", "update", "")});
  if (!sim.run_dir().empty()) {
    v.run.path = (fs::path(sim.run_dir()) / "metrics.jsonl").string();
    if (ImGui::GetFrameCount() % 60 == 1) v.run.Refresh();
    ImGui::TextWrapped("\"run\" curves: %s/metrics.jsonl (%lld lines, reread as it grows)", sim.run_dir().c_str(),
                       (long long)v.run.lines);
    struct Section {
      const std::map<std::string, PlotLine>* lines;
      const char* kind;
      std::vector<const char*> keys;
    };
    const Section sections[] = {
        {&v.run.eval, "evaluation", {"normalized_score", "human_normalized_score", "return_mean", "ctr", "return_rate", "slate_diversity",
          "exposure_gini", "long_tail_share", "exposure_merit_gap", "calibration_kl"}},
        {&v.run.train,
         "training",
         {"episode_return_mean", "loss", "entropy", "policy_loss", "value_loss", "td_error"}}};
    int slot = 0;
    for (const Section& section : sections)
      for (const char* key : section.keys) {
        auto it = section.lines->find(key);
        if (it == section.lines->end()) continue;
        PlotLine l = it->second;
        l.color = PlotColor(slot++ % 6);
        const std::string title = std::string("run ") + section.kind + ": " + key;
        plots.push_back({"##" + title, {l}, Opts(title, "training step")});
      }
  }
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const ImVec2 room = ImGui::GetContentRegionAvail();
  const Grid grid = FitGrid(int(plots.size()), room.x, room.y - 2.0f, gap, 130.0f, 80.0f, 240.0f);
  for (size_t i = 0; i < plots.size(); ++i) {
    if (i % size_t(grid.columns) != 0) ImGui::SameLine();
    LinePlot(plots[i].id.c_str(), plots[i].lines, ImVec2(grid.cell_w, grid.cell_h), plots[i].options);
  }
}

// ---------------------------------------------------------------- meta view
void MetaView(const Sim& sim, ViewState& v) {
  const LearnableRule& rule = *sim.rule();
  const RuleProbe& probe = rule.probe;
  if (v.probe_at.size() != probe.inputs.size()) {
    v.probe_at.clear();
    for (const auto& in : probe.inputs) v.probe_at.push_back(in.value);
  }
  ImGui::TextWrapped("The %s rule in \"%s\" (%d meta-parameters) against its baseline (theta = 0).", rule.type.c_str(),
                     rule.slot.c_str(), rule.theta_size);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Pick the input along x; the others are fixed on the sliders.");
  std::vector<const char*> names;
  for (const auto& in : probe.inputs) names.push_back(in.name.c_str());
  ImGui::SetNextItemWidth(260);
  ImGui::Combo("x axis", &v.probe_x, names.data(), int(names.size()));
  for (size_t i = 0; i < probe.inputs.size(); ++i) {
    if (int(i) == v.probe_x) continue;
    const RuleProbe::Input& in = probe.inputs[i];
    float x = float(v.probe_at[i]);
    ImGui::SetNextItemWidth(std::min(260.0f, 0.55f * ImGui::GetContentRegionAvail().x));
    if (ImGui::SliderFloat(in.name.c_str(), &x, float(in.lo), float(in.hi), "%.3g",
                           in.log_scale ? ImGuiSliderFlags_Logarithmic : 0))
      v.probe_at[i] = x;
  }
  const RuleProbe::Input& xin = probe.inputs[size_t(v.probe_x)];
  // 402 evaluations (the LPO probe runs LibTorch ops): only when an input moved.
  if (v.probe_lines.empty() || v.probe_lines_x != v.probe_x || v.probe_lines_at != v.probe_at) {
    PlotLine learned{"learned rule", {}, {}, PlotColor(1), 2.0f};
    PlotLine baseline{probe.baseline + " (theta = 0)", {}, {}, PlotColor(0)};
    const std::vector<float> zeros(sim.rule_theta().size(), 0.0f);
    std::vector<double> at = v.probe_at;
    for (int i = 0; i <= 200; ++i) {
      const double u = double(i) / 200.0;
      at[size_t(v.probe_x)] = xin.log_scale ? xin.lo * std::pow(xin.hi / xin.lo, u) : xin.lo + (xin.hi - xin.lo) * u;
      learned.x.push_back(at[size_t(v.probe_x)]);
      baseline.x.push_back(at[size_t(v.probe_x)]);
      learned.y.push_back(probe.evaluate(sim.rule_theta(), at, sim.agent_config()));
      baseline.y.push_back(probe.evaluate(zeros, at, sim.agent_config()));
    }
    v.probe_lines = {baseline, learned};
    v.probe_lines_x = v.probe_x;
    v.probe_lines_at = v.probe_at;
  }
  LinePlot("##meta", v.probe_lines, ImVec2(-1, std::max(60.0f, ImGui::GetContentRegionAvail().y)),
           Opts(probe.output, xin.name, probe.output));
}

bool WritePng(const std::string& path, int width, int height) {
  std::vector<unsigned char> pixels(size_t(width) * size_t(height) * 4);
  glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
  std::vector<unsigned char> flipped(pixels.size());  // GL rows start at the bottom
  const size_t row = size_t(width) * 4;
  for (int y = 0; y < height; ++y) std::copy_n(&pixels[size_t(height - 1 - y) * row], row, &flipped[size_t(y) * row]);
  const std::string tmp = path + ".partial";  // atomic: no half-written PNG
  if (!stbi_write_png(tmp.c_str(), width, height, 4, flipped.data(), int(row))) return false;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

FrameSize ParseSize(const std::string& text) {
  const size_t x = text.find_first_of("xX");
  auto side = [&](const std::string& digits, const char* name) {
    if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos)
      throw InputError("--size", "", "expected WIDTHxHEIGHT in pixels (e.g. 1600x1000), got \"" + text + "\"");
    const int v = std::stoi(digits);
    if (v < kMinFrameSide || v > kMaxFrameSide)
      throw InputError("--size", "",
                       std::string(name) + " " + digits + " is outside [" + std::to_string(kMinFrameSide) + ", " +
                           std::to_string(kMaxFrameSide) + "]");
    return v;
  };
  if (x == std::string::npos)
    throw InputError("--size", "", "expected WIDTHxHEIGHT in pixels (e.g. 1600x1000), got \"" + text + "\"");
  return {side(text.substr(0, x), "width"), side(text.substr(x + 1), "height")};
}

namespace {

// SDL's drivers that show nothing: with no display SDL falls back to them.
bool InvisibleDriver(const std::string& driver) { return driver == "offscreen" || driver == "dummy"; }

std::string NoWindowRemedy() {
  return "render without a window with `--headless --screenshot FILE.png` (and --frames N), or run where a display "
         "is reachable (set DISPLAY or WAYLAND_DISPLAY)";
}

// Guards the start of the window: SDL_Init and SDL_CreateWindow wait on the
// display server, and an unreachable DISPLAY (a dead ssh tunnel, a host that
// drops packets) can keep them waiting for minutes. Past the limit the
// process exits 1 with the remedy rather than hanging unseen.
class StartWatchdog {
 public:
  explicit StartWatchdog(int seconds)
      : thread_([this, seconds] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!done_cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; })) {
            std::fprintf(stderr,
                         "error: cannot open a window: the display (DISPLAY=%s) did not answer within %d s; %s\n",
                         std::getenv("DISPLAY") ? std::getenv("DISPLAY") : "", seconds, NoWindowRemedy().c_str());
            std::fflush(stderr);
            std::_Exit(1);
          }
        }) {}
  ~StartWatchdog() { Done(); }
  void Done() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

int RunViz(const VizOptions& o, VizReport* report) {
  if (o.frames == 0 || o.frames < -1)
    throw InputError("cohort viz", "--frames", "must be >= 1 (got " + std::to_string(o.frames) + ")");
  if (o.width < kMinFrameSide || o.width > kMaxFrameSide || o.height < kMinFrameSide || o.height > kMaxFrameSide)
    throw InputError("--size", "",
                     std::to_string(o.width) + "x" + std::to_string(o.height) + " is outside [" +
                         std::to_string(kMinFrameSide) + ", " + std::to_string(kMaxFrameSide) + "]");
  if (!o.screenshot.empty()) {
    const fs::path dir = fs::absolute(o.screenshot).parent_path();
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      throw InputError("cohort viz", "--screenshot", "directory " + dir.string() + " does not exist");
  }
  Sim sim(o.sim);  // bad input throws here, before a window opens
  if (o.select >= sim.rows())
    throw InputError("cohort viz", "--select",
                     "user slot " + std::to_string(o.select) + " >= " + std::to_string(sim.rows()) + " slots");
  sim.Select(o.select >= 0 ? o.select : (sim.drawn().empty() ? -1 : int(sim.drawn().front())));
  const int frame_limit = o.frames > 0 ? o.frames : (o.headless ? 60 : -1);

  // The driver: offscreen when headless (set for SDL_Init only, so the
  // caller's environment is left as it was); else SDL's choice, which must be
  // one that shows a window unless the user asked for another by name.
  const char* requested_env = std::getenv("SDL_VIDEODRIVER");
  const std::string requested = requested_env ? requested_env : "";
  StartWatchdog watchdog(30);
  if (o.headless) setenv("SDL_VIDEODRIVER", "offscreen", 1);
  const int init = SDL_Init(SDL_INIT_VIDEO);
  if (o.headless) {
    if (requested_env)
      setenv("SDL_VIDEODRIVER", requested.c_str(), 1);
    else
      unsetenv("SDL_VIDEODRIVER");
  }
  if (init != 0) {
    std::fprintf(stderr, "error: cannot start SDL video (%s); %s\n", SDL_GetError(), NoWindowRemedy().c_str());
    return 1;
  }
  const std::string driver = SDL_GetCurrentVideoDriver() ? SDL_GetCurrentVideoDriver() : "";
  if (!o.headless && InvisibleDriver(driver) && requested != driver) {
    const bool no_display = !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY");
    std::fprintf(stderr, "error: cannot open a window: %s (SDL found only its invisible \"%s\" video driver); %s\n",
                 no_display ? "no display (DISPLAY and WAYLAND_DISPLAY are not set)" : "the display refused SDL",
                 driver.c_str(), NoWindowRemedy().c_str());
    SDL_Quit();
    return 1;
  }
  if (!o.headless && InvisibleDriver(driver))
    std::fprintf(stderr, "viz: SDL_VIDEODRIVER=%s: the window is not shown%s\n", driver.c_str(),
                 frame_limit > 0 ? "" : "; it runs until interrupted (give --frames N)");
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
  SDL_Window* window = SDL_CreateWindow(
      "Cohort", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, o.width, o.height,
      SDL_WINDOW_OPENGL | SDL_WINDOW_ALLOW_HIGHDPI | (o.headless ? SDL_WINDOW_HIDDEN : SDL_WINDOW_RESIZABLE));
  SDL_GLContext gl = window ? SDL_GL_CreateContext(window) : nullptr;
  if (gl == nullptr) {
    std::fprintf(stderr, "error: cannot open an OpenGL 3 window with SDL's \"%s\" driver (%s); %s\n", driver.c_str(),
                 SDL_GetError(), NoWindowRemedy().c_str());
    if (window) SDL_DestroyWindow(window);
    SDL_Quit();
    return 1;
  }
  watchdog.Done();
  if (!o.headless) SDL_GL_SetSwapInterval(1);
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini next to the user's files
  ImGui::StyleColorsDark();
  ImGui_ImplSDL2_InitForOpenGL(window, gl);
  ImGui_ImplOpenGL3_Init("#version 130");

  ViewState v;
  auto open = [&](const char* name) { return std::find(o.views.begin(), o.views.end(), name) != o.views.end(); };
  v.show_map = open("map"), v.show_session = open("session"), v.show_policy = open("policy");
  v.show_curves = open("curves"), v.show_meta = open("meta");
  v.playing = (o.headless || frame_limit > 0) && o.steps_per_frame > 0;
  v.show_tails = o.tails;
  for (size_t i = 0; i < kColorings.size(); ++i)
    if (o.color_by == kColorings[i]) v.color_by = int(i);
  v.steps_per_frame = o.steps_per_frame;
  v.seed_input = int(sim.seed());
  const bool has_meta = sim.rule() != nullptr && bool(sim.rule()->probe.evaluate);
  int exit_code = 0;
  const auto run_start = Clock::now();
  double sim_seconds_total = 0.0;
  int frames = 0;
  int laid_out_w = -1, laid_out_h = -1;  // the frame size the views were last placed for
  std::vector<std::string> cut_off;
  for (bool quit = false; !quit; ++frames) {
    const auto frame_start = Clock::now();
    SDL_Event event;
    while (SDL_PollEvent(&event)) {
      ImGui_ImplSDL2_ProcessEvent(&event);
      if (event.type == SDL_QUIT) quit = true;
    }
    const bool last_frame = quit || (frame_limit > 0 && frames + 1 >= frame_limit);
    int width = o.width, height = o.height;
    SDL_GetWindowSize(window, &width, &height);
    int pixels_w = width, pixels_h = height;  // larger on a high-DPI display
    SDL_GL_GetDrawableSize(window, &pixels_w, &pixels_h);
    // Simulate: a fixed number of steps, or (max speed) as many as fit the
    // frame's time budget. Headless runs step a fixed number for reproducibility.
    sim.SetRecording({.series = v.curves_visible, .policy = v.policy_visible});
    const auto sim_start = Clock::now();
    const int64_t user_steps_before = sim.user_steps();
    if (v.playing) {
      if (v.max_speed && !o.headless) {
        do sim.Step();
        while (std::chrono::duration<double, std::milli>(Clock::now() - sim_start).count() < v.frame_budget_ms);
      } else {
        for (int i = 0; i < v.steps_per_frame; ++i) sim.Step();
      }
    }
    const double sim_seconds = std::chrono::duration<double>(Clock::now() - sim_start).count();
    sim_seconds_total += sim_seconds;
    if (v.playing && sim_seconds > 0) {
      v.sim_ms = 1e3 * sim_seconds;
      v.sim_rate = double(sim.user_steps() - user_steps_before) / sim_seconds;
    }

    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplSDL2_NewFrame();
    ImGui::NewFrame();
    // The views are placed for the frame at start and again whenever the
    // frame is resized; in between the user may move and resize them.
    const bool relayout = width != laid_out_w || height != laid_out_h;
    laid_out_w = width, laid_out_h = height;
    const ViewRects rects = LayOutViews(float(width), float(height),
                                        {.map = v.show_map,
                                         .session = v.show_session,
                                         .policy = v.show_policy,
                                         .curves = v.show_curves,
                                         .meta = has_meta && v.show_meta,
                                         .run_curves = !sim.run_dir().empty()});
    v.env_reset = relayout;
    if (relayout) v.env_open = height >= 800;  // short frames start with the live parameters folded
    auto place = [&](const Rect& r) {
      const ImGuiCond cond = relayout ? ImGuiCond_Always : ImGuiCond_FirstUseEver;
      ImGui::SetNextWindowPos(ImVec2(r.x, r.y), cond);
      ImGui::SetNextWindowSize(ImVec2(r.w, r.h), cond);
    };
    // On the last frame, a view whose content needs a scroll bar is reported.
    auto check_fit = [&](const char* title) {
      if (last_frame && ImGui::GetScrollMaxY() > 0.5f) cut_off.push_back(title);
    };
    place(rects.controls);
    ImGui::Begin("Controls");
    Controls(sim, v);
    check_fit("Controls");
    ImGui::End();
    if (v.show_map) {
      place(rects.map);
      if (ImGui::Begin("Population map", &v.show_map)) PopulationMap(sim, v), check_fit("Population map");
      ImGui::End();
    }
    if (v.show_session) {
      place(rects.session);
      if (ImGui::Begin("Session inspector", &v.show_session)) SessionInspector(sim), check_fit("Session inspector");
      ImGui::End();
    }
    // A collapsed or closed view is not drawn and what only it reads is not recorded.
    v.policy_visible = v.curves_visible = false;
    if (v.show_policy) {
      place(rects.policy);
      if (ImGui::Begin("Policy", &v.show_policy)) PolicyView(sim), v.policy_visible = true, check_fit("Policy");
      ImGui::End();
    }
    if (v.show_curves) {
      place(rects.curves);
      if (ImGui::Begin("Curves", &v.show_curves)) CurvesView(sim, v), v.curves_visible = true, check_fit("Curves");
      ImGui::End();
    }
    if (has_meta && v.show_meta) {
      place(rects.meta);
      if (ImGui::Begin("Meta view", &v.show_meta)) MetaView(sim, v), check_fit("Meta view");
      ImGui::End();
    }
    ImGui::Render();
    glViewport(0, 0, pixels_w, pixels_h);
    glClearColor(0.08f, 0.08f, 0.1f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    if (last_frame) {
      // The back buffer before the swap holds the frame just drawn.
      if (!o.screenshot.empty() && !WritePng(o.screenshot, pixels_w, pixels_h)) {
        std::fprintf(stderr, "error: cannot write %s\n", o.screenshot.c_str());
        exit_code = 1;
      }
      quit = true;
    }
    SDL_GL_SwapWindow(window);
    v.frame_ms = std::chrono::duration<double, std::milli>(Clock::now() - frame_start).count();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - run_start).count();
  std::fprintf(stderr,
               "viz: %d frames in %.2f s (%.1f frames/s), %lld steps of %d user slots: %.3g user-steps/s while "
               "simulating, %.3g user-steps/s overall (simulation %.0f%% of wall time)\n",
               frames, wall, frames / std::max(1e-9, wall), (long long)sim.steps(), sim.rows(),
               double(sim.user_steps()) / std::max(1e-9, sim_seconds_total),
               double(sim.user_steps()) / std::max(1e-9, wall), 100.0 * sim_seconds_total / std::max(1e-9, wall));
  if (!cut_off.empty())
    std::fprintf(stderr, "viz: at %dx%d these views do not fit their windows: %s\n", laid_out_w, laid_out_h,
                 Join(cut_off).c_str());
  if (report != nullptr) report->frames = frames, report->cut_off = cut_off;
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplSDL2_Shutdown();
  ImGui::DestroyContext();
  SDL_GL_DeleteContext(gl);
  SDL_DestroyWindow(window);
  SDL_Quit();
  return exit_code;
}

}  // namespace cohort::viz
