// The visualizer's UI-independent logic (viz/view_model.h, viz/layout.h), without a window.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include "viz/layout.h"
#include "viz/view_model.h"

using namespace cohort;
using namespace cohort::viz;

TEST_CASE("viz: time series keeps the newest points, min/max skip non-finite, buckets average") {
  TimeSeries s(4);
  for (double x : {1.0, 5.0, 2.0, std::nan(""), 3.0, 4.0}) s.Push(x);
  CHECK(s.size() == 4);
  CHECK(s.pushed() == 6);
  CHECK(s.at(0) == 2.0);  // 1 and 5 fell out
  CHECK(s.last() == 4.0);
  CHECK(s.min() == 2.0);
  CHECK(s.max() == 4.0);
  const std::vector<float> b = s.Bucketed(2);  // [2, NaN] -> 2, [3, 4] -> 3.5
  REQUIRE(b.size() == 2);
  CHECK(b[0] == 2.0f);
  CHECK(b[1] == 3.5f);
  CHECK(s.Bucketed(10).size() == 4);  // never more buckets than points
  CHECK(TimeSeries(8).Bucketed(3).empty());
  CHECK(TimeSeries(8).min() == 0.0);
}

TEST_CASE("viz: bucket means sit at their centre environment step, after old points fell out") {
  TimeSeries s(5);
  for (double x : {9.0, 9.0, 9.0, 1.0, 2.0, std::nan(""), 4.0, 6.0}) s.Push(x);  // steps 0..7; 3..7 held
  const TimeSeries::Steps b = s.BucketedSteps(3);                                // per 2: [1, 2] [NaN, 4] [6]
  REQUIRE(b.step.size() == 3);
  REQUIRE(b.mean.size() == 3);
  CHECK(b.step == std::vector<double>{3.5, 5.5, 7.0});
  CHECK(b.mean == std::vector<double>{1.5, 4.0, 6.0});
  const TimeSeries::Steps all = s.BucketedSteps(100);  // one point per bucket: its own step
  CHECK(all.step == std::vector<double>{3, 4, 5, 6, 7});
  CHECK(std::isnan(all.mean[2]));
  CHECK(s.Bucketed(3) == std::vector<float>{1.5f, 4.0f, 6.0f});  // the same buckets
  CHECK(TimeSeries(4).BucketedSteps(3).step.empty());
  CHECK(s.BucketedSteps(0).mean.empty());
}

TEST_CASE("viz: slate heatmap counts topics by position from a batch; entropy and coverage by hand") {
  StepBatch b;
  b.rows = 2, b.num_candidates = 3, b.slate_size = 2;
  b.active = {1, 0};  // the second row's user is gone: not counted
  b.topic = {4, 1, 2, /* row 1 */ 0, 0, 0};
  SlateBatch slates;
  slates.Resize(2, 2);
  slates.Row(0)[0] = 2, slates.Row(0)[1] = 0;  // topics 2 then 4
  slates.Row(1)[0] = 1, slates.Row(1)[1] = 2;
  SlateHeatmap h(5, 2);
  h.AddBatch(b, slates);
  h.AddBatch(b, slates);
  h.Add(4, 0);
  CHECK(h.total() == 5);
  CHECK(h.count(2, 0) == 2);
  CHECK(h.count(4, 1) == 2);
  CHECK(h.count(4, 0) == 1);
  CHECK(h.count(0, 0) == 0);
  CHECK(h.Frequency(2, 0) == doctest::Approx(2.0 / 3.0));
  CHECK(h.Frequency(4, 1) == 1.0);
  // Topic 2: 2 of 5, topic 4: 3 of 5.
  CHECK(h.TopicEntropy() == doctest::Approx(-(0.4 * std::log(0.4) + 0.6 * std::log(0.6))));
  CHECK(h.Coverage() == doctest::Approx(2.0 / 5.0));
  h.Add(7, 0);   // unknown topic: ignored
  h.Add(1, -1);  // bad position: ignored
  CHECK(h.total() == 5);
  // Adding a heatmap (the visualizer's per-step heatmap into the running one)
  // adds every count.
  SlateHeatmap sum(5, 2);
  sum.Add(4, 0);
  sum.Add(h);
  CHECK(sum.total() == 6);
  CHECK(sum.count(4, 0) == 2);
  CHECK(sum.count(2, 0) == 2);
  CHECK(sum.Frequency(4, 1) == 1.0);
  CHECK_THROWS_AS(sum.Add(SlateHeatmap(4, 2)), std::invalid_argument);
  h.Clear();
  CHECK(h.total() == 0);
  CHECK(h.TopicEntropy() == 0.0);
  CHECK(h.Frequency(2, 0) == 0.0);
}

TEST_CASE("viz: PCA finds the axes of an elongated cloud, deterministically") {
  // Points along (1, 1, 0) with spread 10, along (1, -1, 0) with spread 1, offset (5, 5, 5).
  std::vector<float> data;
  for (int i = -10; i <= 10; ++i)
    for (int j = -1; j <= 1; ++j) {
      const float a = float(i), c = float(j) * 0.1f;
      data.insert(data.end(), {5 + a + c, 5 + a - c, 5});
    }
  const int rows = int(data.size() / 3);
  const Projection2D p = Projection2D::Pca(data, rows, 3);
  const float s = float(1.0 / std::sqrt(2.0));
  CHECK(p.axis(0)[0] == doctest::Approx(s).epsilon(1e-4));
  CHECK(p.axis(0)[1] == doctest::Approx(s).epsilon(1e-4));
  CHECK(std::abs(p.axis(1)[0]) == doctest::Approx(s).epsilon(1e-3));
  CHECK(p.axis(1)[0] == doctest::Approx(-p.axis(1)[1]).epsilon(1e-3));
  CHECK(p.mean()[2] == doctest::Approx(5.0));
  const float x[3] = {7, 7, 5};  // the mean + 2 along the first axis
  const auto xy = p.Project(x);
  CHECK(xy[0] == doctest::Approx(2 * std::sqrt(2.0)).epsilon(1e-4));
  CHECK(xy[1] == doctest::Approx(0.0).epsilon(1e-3));
  const Projection2D again = Projection2D::Pca(data, rows, 3);
  CHECK(again.axis(0) == p.axis(0));
  CHECK(again.axis(1) == p.axis(1));
  // A one-hot item projects like its topic's unit vector, with or without it built.
  for (int t = 0; t < 3; ++t) {
    float unit[3] = {0, 0, 0};
    unit[t] = 1;
    const auto built = p.Project(unit), item = p.ProjectItem(t, nullptr);
    CHECK(item[0] == doctest::Approx(built[0]).epsilon(1e-5));
    CHECK(item[1] == doctest::Approx(built[1]).epsilon(1e-5));
    CHECK(p.ProjectItem(t, x) == p.Project(x));
  }
}

TEST_CASE("viz: topic circle puts pure interests on their topic's point") {
  const Projection2D p = Projection2D::TopicCircle(4);
  const float topic1[4] = {0, 1, 0, 0}, mixed[4] = {1, 1, -3, 0}, none[4] = {-1, 0, 0, -2};
  CHECK(p.ProjectItem(1, nullptr) == p.Project(topic1));
  auto a = p.Project(topic1);
  CHECK(a[0] == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(a[1] == doctest::Approx(1.0));
  a = p.Project(mixed);  // halfway between topics 0 and 1; negative weights ignored
  CHECK(a[0] == doctest::Approx(0.5));
  CHECK(a[1] == doctest::Approx(0.5));
  a = p.Project(none);
  CHECK(a[0] == 0.0f);
  CHECK(a[1] == 0.0f);
}

TEST_CASE("viz: user samples are distinct, sorted, in range and reproducible") {
  const std::vector<int64_t> s = SampleIndices(100000, 2000, 7);
  REQUIRE(s.size() == 2000);
  CHECK(std::set<int64_t>(s.begin(), s.end()).size() == 2000);
  CHECK(std::is_sorted(s.begin(), s.end()));
  CHECK(s.front() >= 0);
  CHECK(s.back() < 100000);
  CHECK(SampleIndices(100000, 2000, 7) == s);
  CHECK(SampleIndices(100000, 2000, 8) != s);
  CHECK(SampleIndices(5, 10, 1) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(SampleIndices(0, 10, 1).empty());
  // Roughly uniform: about half the sample in the lower half of the range.
  const auto lower = std::count_if(s.begin(), s.end(), [](int64_t i) { return i < 50000; });
  CHECK(lower > 900);
  CHECK(lower < 1100);
}

// ---- layout -------------------------------------------------------------------

// Every open view lies inside the frame, none overlaps another, and together
// they cover it, at frame sizes from the smallest supported up.
TEST_CASE("viz layout: views tile the frame at any size") {
  const std::pair<float, float> sizes[] = {{1024, 640}, {1280, 800}, {1600, 1000}, {2560, 1440}, {8192, 8192}};
  for (const auto& [w, h] : sizes)
    for (int mask = 0; mask < 64; ++mask) {
      viz::LayoutInput in;
      in.map = mask & 1, in.session = mask & 2, in.policy = mask & 4, in.curves = mask & 8, in.meta = mask & 16;
      in.run_curves = mask & 32;
      const viz::ViewRects r = viz::LayOutViews(w, h, in);
      std::vector<viz::Rect> open = {r.controls};
      if (in.map) open.push_back(r.map);
      if (in.session) open.push_back(r.session);
      if (in.policy) open.push_back(r.policy);
      if (in.curves) open.push_back(r.curves);
      if (in.meta) open.push_back(r.meta);
      double area = 0.0;
      for (size_t i = 0; i < open.size(); ++i) {
        const viz::Rect& a = open[i];
        CHECK(a.x >= 0);
        CHECK(a.y >= 0);
        CHECK(a.x + a.w <= w);
        CHECK(a.y + a.h <= h);
        CHECK(a.w >= 250);  // wide enough for its widgets
        CHECK(a.h >= 200);
        area += double(a.w) * a.h;
        for (size_t j = 0; j < i; ++j) {
          const viz::Rect& b = open[j];
          const bool apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
          CHECK(apart);
        }
      }
      // The views cover the frame when the right part has something open.
      if (in.map || in.session || in.curves || in.meta) CHECK(area == doctest::Approx(double(w) * h).epsilon(1e-6));
    }
}

TEST_CASE("viz layout: FitGrid shows every plot inside its room") {
  // 16 plots (a learning agent with --agent's run) in a 1600 x 1000 frame's Curves.
  const viz::Grid g = viz::FitGrid(16, 1000, 400, 8, 150, 90, 240);
  CHECK(g.fits);
  CHECK(g.columns * g.rows >= 16);
  CHECK(float(g.rows) * g.cell_h + float(g.rows - 1) * 8 <= 400.0f + 1e-3f);
  CHECK(float(g.columns) * g.cell_w + float(g.columns - 1) * 8 <= 1000.0f + 1e-3f);
  CHECK(g.cell_w >= 150);
  CHECK(g.cell_h >= 90);
  // Few plots in a wide room: at most max_h tall, in one row.
  const viz::Grid wide = viz::FitGrid(3, 1800, 800, 8, 150, 90, 240);
  CHECK(wide.rows == 1);
  CHECK(wide.cell_h == 240);
  // Too many for the minimum size: still inside, flagged.
  const viz::Grid crowded = viz::FitGrid(60, 400, 200, 8, 150, 90, 240);
  CHECK_FALSE(crowded.fits);
  CHECK(float(crowded.rows) * crowded.cell_h + float(crowded.rows - 1) * 8 <= 200.0f + 1e-3f);
  CHECK(crowded.columns * crowded.rows >= 60);
  CHECK(viz::FitGrid(0, 400, 200, 8, 150, 90, 240).rows == 0);
}

TEST_CASE("viz: the session history labels a step by session and step, not as a decimal") {
  CHECK(viz::SessionStepLabel(0, 59) == "s0 step 59");
  CHECK(viz::SessionStepLabel(12, 3) == "s12 step 3");
}
