#include "viz/app.h"

#include <SDL.h>
#include <SDL_opengl.h>
#include <imgui.h>
#include <backends/imgui_impl_opengl3.h>
#include <backends/imgui_impl_sdl.h>
#include <stb_image_write.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "agents/registry.h"
#include "env/scenario.h"
#include "env/vec_env.h"
#include "viz/plot.h"
#include "viz/view_model.h"

namespace cohort::viz {
namespace {

// The scenario (loaded once) and everything that restarts with a new seed.
struct Sim {
  Scenario scenario;
  std::unique_ptr<VecEnv> env;
  std::unique_ptr<Agent> agent;
  SlateBatch slates;
  const StepBatch* batch = nullptr;
  int64_t steps = 0;
  TimeSeries reward{2000}, ctr{2000};
  std::unique_ptr<SlateHeatmap> heatmap;
  Projection2D map = Projection2D::TopicCircle(1);
  std::vector<int64_t> drawn;

  std::vector<uint8_t> acted;  // rows active when the last slates were shown

  // Bad scenarios throw here, before a window opens.
  void Load(const VizOptions& o) { scenario = LoadScenario(o.scenario, o.overrides, AgentRegistry()); }

  void Start(const VizOptions& o, uint64_t seed) {
    scenario.seed = seed;
    const int users = std::max(1, std::min(o.max_users, scenario.run.num_envs));
    env = std::make_unique<VecEnv>(scenario.env, seed, scenario.variant, VecEnv::Options{users, 1, -1});
    AgentContext ctx{&scenario.env, env.get(), seed, scenario.variant, users};
    agent = MakeAgent(scenario.agent, ctx);
    slates.Resize(users, scenario.env.slate_size);
    batch = &env->Reset();
    steps = 0;
    reward = TimeSeries(2000), ctr = TimeSeries(2000);
    heatmap = std::make_unique<SlateHeatmap>(scenario.env.num_topics, scenario.env.slate_size);
    map = batch->dim == scenario.env.num_topics ? Projection2D::TopicCircle(batch->dim)
                                               : Projection2D::Pca(batch->interests, batch->rows, batch->dim);
    drawn = SampleIndices(users, o.drawn_users, seed);
  }

  void Step() {
    agent->Act(*batch, slates);
    heatmap->AddBatch(*batch, slates);
    acted = batch->active;  // Step overwrites the batch
    batch = &env->Step(slates);
    agent->Observe(*batch);
    agent->Update();
    double r = 0.0, clicks = 0.0;
    int n = 0;
    for (int row = 0; row < batch->rows; ++row) {
      if (!acted[size_t(row)]) continue;
      r += batch->reward[size_t(row)];
      clicks += batch->click_position[size_t(row)] >= 0 ? 1.0 : 0.0;
      ++n;
    }
    reward.Push(n > 0 ? r / n : 0.0);
    ctr.Push(n > 0 ? clicks / n : 0.0);
    ++steps;
  }
};

ImU32 TopicColor(int topic, int topics, float alpha = 1.0f) {
  float r, g, b;
  ImGui::ColorConvertHSVtoRGB(float(topic) / float(std::max(1, topics)), 0.65f, 0.95f, r, g, b);
  return ImGui::ColorConvertFloat4ToU32(ImVec4(r, g, b, alpha));
}

// Bucket means of one series against the environment step, stats in the title.
void Curve(const char* name, const TimeSeries& s, ImU32 color, bool from_zero, ImVec2 size) {
  constexpr size_t kBuckets = 400;  // about one per pixel column whatever the history
  TimeSeries::Steps b = s.BucketedSteps(kBuckets);
  char title[160], legend[96];
  std::snprintf(title, sizeof title, "%s   last %.4g  min %.4g  max %.4g", name, s.empty() ? 0.0 : s.last(), s.min(),
                s.max());
  std::snprintf(legend, sizeof legend, "mean of %zu steps", (s.size() + kBuckets - 1) / kBuckets);
  PlotOptions options;
  options.title = title;
  options.x_label = "environment step";
  options.y_from_zero = from_zero;
  std::vector<PlotLine> lines(1);
  lines[0] = PlotLine{s.size() > kBuckets ? legend : "", std::move(b.step), std::move(b.mean), color};
  LinePlot(name, lines, size, options);
}

void PopulationMap(const Sim& sim, int& selected) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 size(std::max(100.0f, ImGui::GetContentRegionAvail().x), std::max(100.0f, ImGui::GetContentRegionAvail().y));
  const float scale = 0.42f * std::min(size.x, size.y);
  const ImVec2 centre(origin.x + size.x / 2, origin.y + size.y / 2);
  draw->AddRectFilled(origin, ImVec2(origin.x + size.x, origin.y + size.y), IM_COL32(20, 22, 28, 255));
  const StepBatch& b = *sim.batch;
  const int topics = sim.scenario.env.num_topics;
  if (!sim.map.pca())
    for (int k = 0; k < topics; ++k) {  // topic anchors with labels
      const ImVec2 p(centre.x + scale * sim.map.axis(0)[size_t(k)], centre.y - scale * sim.map.axis(1)[size_t(k)]);
      draw->AddCircleFilled(p, 6.0f, TopicColor(k, topics));
      char label[32];
      std::snprintf(label, sizeof label, "topic %d", k);
      draw->AddText(ImVec2(p.x + 8, p.y - 7), IM_COL32(220, 220, 220, 255), label);
    }
  for (int64_t row : sim.drawn) {
    const float* u = &b.interests[size_t(row) * size_t(b.dim)];
    const auto xy = sim.map.Project(u);
    const ImVec2 p(centre.x + scale * xy[0], centre.y - scale * xy[1]);
    int best = 0;  // colour: the user's strongest interest
    for (int k = 1; k < b.dim; ++k)
      if (u[k] > u[best]) best = k;
    const bool active = b.active[size_t(row)] != 0;
    draw->AddCircleFilled(p, row == selected ? 6.0f : 2.5f, TopicColor(best, b.dim, active ? 0.9f : 0.25f));
    if (ImGui::IsMouseHoveringRect(ImVec2(p.x - 4, p.y - 4), ImVec2(p.x + 4, p.y + 4)) &&
        ImGui::IsWindowHovered()) {
      ImGui::SetTooltip("user slot %lld (user %lld)\nepisode step %lld\nlast reward %.3f",
                        (long long)row, (long long)b.user_id[size_t(row)], (long long)b.episode_step[size_t(row)],
                        b.reward[size_t(row)]);
      if (ImGui::IsMouseClicked(0)) selected = int(row);
    }
  }
  if (selected >= 0 && selected < b.rows) {  // the selected user's slate: lines to its topics
    const auto xy = sim.map.Project(&b.interests[size_t(selected) * size_t(b.dim)]);
    const ImVec2 p(centre.x + scale * xy[0], centre.y - scale * xy[1]);
    draw->AddCircle(p, 9.0f, IM_COL32(255, 255, 255, 255), 0, 2.0f);
    if (!sim.map.pca())
      for (int j = 0; j < sim.slates.slate_size; ++j) {
        const int c = sim.slates.Row(selected)[j];
        const int t = b.topic[size_t(selected) * size_t(b.num_candidates) + size_t(c)];
        const ImVec2 q(centre.x + scale * sim.map.axis(0)[size_t(t)], centre.y - scale * sim.map.axis(1)[size_t(t)]);
        const bool clicked = b.clicked[size_t(selected) * size_t(sim.slates.slate_size) + size_t(j)] != 0;
        draw->AddLine(p, q, clicked ? IM_COL32(255, 255, 80, 255) : IM_COL32(160, 160, 160, 160), clicked ? 3.0f : 1.0f);
      }
  }
  ImGui::Dummy(size);
}

void Heatmap(const SlateHeatmap& h) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float cell_w = 42.0f, cell_h = 16.0f, label_w = 60.0f;
  double top = 1e-12;  // colours scale to the most frequent cell, so 20 topics are not all dark
  for (int t = 0; t < h.num_topics(); ++t)
    for (int j = 0; j < h.slate_size(); ++j) top = std::max(top, h.Frequency(t, j));
  for (int j = 0; j < h.slate_size(); ++j) {
    char label[32];
    std::snprintf(label, sizeof label, "pos %d", j);
    draw->AddText(ImVec2(origin.x + label_w + j * cell_w, origin.y), IM_COL32(220, 220, 220, 255), label);
  }
  for (int t = 0; t < h.num_topics(); ++t) {
    const float y = origin.y + 18.0f + t * cell_h;
    char label[32];
    std::snprintf(label, sizeof label, "topic %d", t);
    draw->AddText(ImVec2(origin.x, y), IM_COL32(220, 220, 220, 255), label);
    for (int j = 0; j < h.slate_size(); ++j) {
      const double f = h.Frequency(t, j), c = f / top;
      const ImVec2 a(origin.x + label_w + j * cell_w, y), z(a.x + cell_w - 2, a.y + cell_h - 2);
      draw->AddRectFilled(a, z, IM_COL32(int(40 + 215 * c), int(60 + 120 * c), int(120 - 100 * c), 255));
      if (ImGui::IsMouseHoveringRect(a, z))
        ImGui::SetTooltip("topic %d at position %d: %.4f of the items shown there (%lld)", t, j, f,
                          (long long)h.count(t, j));
    }
  }
  ImGui::Dummy(ImVec2(label_w + h.slate_size() * cell_w, 18.0f + h.num_topics() * cell_h));
  ImGui::Text("brightest cell: %.3f of its position's items", top);
  ImGui::Text("topic entropy %.3f nats (max %.3f), coverage %.2f", h.TopicEntropy(), std::log(double(h.num_topics())),
              h.Coverage());
}

bool WritePng(const std::string& path, int width, int height) {
  std::vector<unsigned char> pixels(size_t(width) * size_t(height) * 4);
  glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
  std::vector<unsigned char> flipped(pixels.size());  // GL rows start at the bottom
  const size_t row = size_t(width) * 4;
  for (int y = 0; y < height; ++y)
    std::copy_n(&pixels[size_t(height - 1 - y) * row], row, &flipped[size_t(y) * row]);
  const std::string tmp = path + ".partial";  // atomic: no half-written PNG
  if (!stbi_write_png(tmp.c_str(), width, height, 4, flipped.data(), int(row))) return false;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int RunViz(const VizOptions& o) {
  Sim sim;
  sim.Load(o);
  const uint64_t seed = sim.scenario.seed;
  sim.Start(o, seed);
  if (o.headless) setenv("SDL_VIDEODRIVER", "offscreen", 1);
  if (SDL_Init(SDL_INIT_VIDEO) != 0) {
    std::fprintf(stderr, "error: cannot start SDL video: %s\n", SDL_GetError());
    return 1;
  }
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
  SDL_Window* window = SDL_CreateWindow("Cohort", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, o.width, o.height,
                                        SDL_WINDOW_OPENGL | (o.headless ? SDL_WINDOW_HIDDEN : SDL_WINDOW_RESIZABLE));
  SDL_GLContext gl = window ? SDL_GL_CreateContext(window) : nullptr;
  if (gl == nullptr) {
    std::fprintf(stderr, "error: cannot open an OpenGL 3 window: %s\n", SDL_GetError());
    SDL_Quit();
    return 1;
  }
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini next to the user's files
  ImGui::StyleColorsDark();
  ImGui_ImplSDL2_InitForOpenGL(window, gl);
  ImGui_ImplOpenGL3_Init("#version 130");

  bool playing = o.headless, quit = false;
  int steps_per_frame = o.steps_per_frame, selected = sim.drawn.empty() ? -1 : int(sim.drawn.front());
  int seed_input = int(seed);
  double steps_per_second = 0.0;
  int exit_code = 0;
  for (int frame = 0; !quit; ++frame) {
    SDL_Event event;
    while (SDL_PollEvent(&event)) {
      ImGui_ImplSDL2_ProcessEvent(&event);
      if (event.type == SDL_QUIT) quit = true;
    }
    const auto start = std::chrono::steady_clock::now();
    if (playing)
      for (int i = 0; i < steps_per_frame; ++i) sim.Step();
    if (playing)
      steps_per_second = double(steps_per_frame) * sim.batch->rows /
                         std::max(1e-9, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplSDL2_NewFrame();
    ImGui::NewFrame();
    const float w = float(o.width), h = float(o.height);
    ImGui::SetNextWindowPos(ImVec2(0, 0), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(w * 0.3f, h * 0.62f), ImGuiCond_FirstUseEver);
    ImGui::Begin("Controls");
    ImGui::Text("%s  (agent %s)", sim.scenario.resolved.value("name", "").c_str(),
                sim.scenario.agent["type"].get<std::string>().c_str());
    ImGui::Text("step %lld, %d user slots", (long long)sim.steps, sim.batch->rows);
    if (ImGui::Button(playing ? "Pause" : "Play")) playing = !playing;
    ImGui::SameLine();
    if (ImGui::Button("Step")) sim.Step();
    ImGui::SliderInt("steps / frame", &steps_per_frame, 1, 100);
    ImGui::InputInt("seed", &seed_input);
    if (ImGui::Button("Restart with this seed")) sim.Start(o, uint64_t(std::max(0, seed_input))), selected = -1;
    ImGui::Text("simulation + policy: %.3g user-steps/s", steps_per_second);
    ImGui::Separator();
    Heatmap(*sim.heatmap);
    ImGui::End();
    ImGui::SetNextWindowPos(ImVec2(w * 0.3f, 0), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(w * 0.7f, h * 0.62f), ImGuiCond_FirstUseEver);
    ImGui::Begin("Population map");
    ImGui::Text("%zu of %d users drawn (observed interests%s); click a user to select",
                sim.drawn.size(), sim.batch->rows, sim.map.pca() ? ", PCA" : " on a topic circle");
    PopulationMap(sim, selected);
    ImGui::End();
    ImGui::SetNextWindowPos(ImVec2(0, h * 0.62f), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(w, h * 0.38f), ImGuiCond_FirstUseEver);
    ImGui::Begin("Curves");
    {
      const ImVec2 avail = ImGui::GetContentRegionAvail();
      const ImVec2 half((avail.x - ImGui::GetStyle().ItemSpacing.x) / 2, avail.y);
      Curve("reward / user-step", sim.reward, PlotColor(0), false, half);
      ImGui::SameLine();
      Curve("CTR", sim.ctr, PlotColor(1), true, half);
    }
    ImGui::End();
    ImGui::Render();
    glViewport(0, 0, o.width, o.height);
    glClearColor(0.08f, 0.08f, 0.1f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    if (o.headless && frame + 1 >= o.frames) {
      if (!o.screenshot.empty() && !WritePng(o.screenshot, o.width, o.height)) {
        std::fprintf(stderr, "error: cannot write %s\n", o.screenshot.c_str());
        exit_code = 1;
      }
      quit = true;
    }
    SDL_GL_SwapWindow(window);
  }
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplSDL2_Shutdown();
  ImGui::DestroyContext();
  SDL_GL_DeleteContext(gl);
  SDL_DestroyWindow(window);
  SDL_Quit();
  return exit_code;
}

}  // namespace cohort::viz
