// `cohort report`: the interquartile mean on hand-worked cases, bootstrap
// interval coverage on known distributions, and a report of a synthetic sweep
// directory whose numbers are known.
#include <doctest/doctest.h>

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/normal_distribution.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agents/registry.h"
#include "apps/report.h"
#include "apps/sweep.h"
#include "core/rng.h"
#include "core/stats.h"

namespace fs = std::filesystem;
using namespace cohort;

TEST_CASE("report: interquartile mean, hand-worked") {
  // n divisible by 4: the mean of the middle half.
  CHECK(InterquartileMean({8, 1, 7, 2, 6, 3, 5, 4}) == doctest::Approx(4.5));
  // n = 9: 2.25 points cut at each end, edges weighted 0.75 (Wikipedia's example).
  CHECK(InterquartileMean({1, 3, 5, 7, 9, 11, 13, 15, 17}) == doctest::Approx(9.0));
  // n = 10: edges weighted 0.5; the outlier 100 has no weight.
  CHECK(InterquartileMean({1, 2, 3, 4, 5, 6, 7, 8, 9, 100}) == doctest::Approx(5.5));
  CHECK(InterquartileMean({0, 4}) == doctest::Approx(2.0));
  CHECK(InterquartileMean({3.5}) == doctest::Approx(3.5));
  CHECK(std::isnan(InterquartileMean({})));
}

TEST_CASE("report: bootstrap interval, degenerate inputs and reproducibility") {
  const ConfidenceInterval one = BootstrapMeanCI({2.5}, 1000, 0);
  CHECK(one.lo == 2.5);
  CHECK(one.hi == 2.5);
  const ConfidenceInterval flat = BootstrapMeanCI({1, 1, 1, 1}, 1000, 0);
  CHECK(flat.lo == 1.0);
  CHECK(flat.hi == 1.0);
  const std::vector<double> x = {1, 4, 2, 8, 5, 7};
  const ConfidenceInterval a = BootstrapMeanCI(x, 2000, 7), b = BootstrapMeanCI(x, 2000, 7),
                           c = BootstrapMeanCI(x, 2000, 8);
  CHECK(a.lo == b.lo);
  CHECK(a.hi == b.hi);
  CHECK((a.lo != c.lo || a.hi != c.hi));
  CHECK(a.lo < 4.5);
  CHECK(a.hi > 4.5);
  CHECK(a.lo >= 1.0);
  CHECK(a.hi <= 8.0);
}

// Coverage of the true mean over many independent samples. The percentile
// bootstrap slightly under-covers at n = 30 (0.9375 for the normal over 4000
// replications, lower for the skewed exponential); the bounds allow about 3
// binomial sds at 2000 replications (sd 0.0054) and catch a wrong quantile or
// a resampling bug (a 90% or 99% interval, or one on the wrong scale, fails).
template <typename Draw>
double Coverage(Draw draw, double true_mean, double sigma, double* mean_width) {
  const int reps = 2000, n = 30;
  int hits = 0;
  double width = 0;
  Rng rng(MakeRng(11, 0, 0, StreamPurpose::kReport));
  for (int r = 0; r < reps; ++r) {
    std::vector<double> x(n);
    for (double& v : x) v = draw(rng);
    const ConfidenceInterval ci = BootstrapMeanCI(x, 1000, uint64_t(r) + 1);
    hits += ci.lo <= true_mean && true_mean <= ci.hi;
    width += (ci.hi - ci.lo) / (2 * 1.959964 * sigma / std::sqrt(double(n)));
  }
  *mean_width = width / reps;
  return double(hits) / reps;
}

TEST_CASE("report: bootstrap 95% intervals cover a normal mean about 95% of the time") {
  boost::random::normal_distribution<double> normal(3.0, 2.0);
  double width = 0;
  const double coverage = Coverage([&](Rng& r) { return normal(r); }, 3.0, 2.0, &width);
  CHECK(coverage >= 0.92);
  CHECK(coverage <= 0.96);
  // Relative to the normal-theory width 2 * 1.96 sigma / sqrt(n).
  CHECK(width == doctest::Approx(1.0).epsilon(0.08));
}

TEST_CASE("report: bootstrap intervals on a skewed (exponential) distribution") {
  boost::random::exponential_distribution<double> expo(0.5);  // mean 2, sd 2
  double width = 0;
  const double coverage = Coverage([&](Rng& r) { return expo(r); }, 2.0, 2.0, &width);
  CHECK(coverage >= 0.90);
  CHECK(coverage <= 0.95);
  CHECK(width == doctest::Approx(1.0).epsilon(0.12));
}

namespace {

// A sweep directory by hand: agent x seed, with a failed and a pending cell.
// return_mean of (agent a, seed s) is base[a] + s, so the paired difference
// greedy - random is exactly 10 for every seed.
fs::path SyntheticSweep() {
  const fs::path dir = fs::temp_directory_path() / "cohort_test_report";
  fs::remove_all(dir);
  fs::create_directories(dir / "cells");
  std::ofstream((dir / "sweep.resolved.json").string())
      << json{{"name", "synthetic"}, {"report", {{"group_by", json::array()}}}}.dump();
  std::ofstream cells((dir / "cells.jsonl").string());
  int index = 0;
  for (const std::string agent : {"random", "greedy", "oracle"}) {
    for (int seed = 0; seed < 4; ++seed, ++index) {
      char id[16];
      std::snprintf(id, sizeof id, "c%06d", index);
      const SweepCell cell = SweepCell::FromJson({{"cell", id},
                                                  {"index", index},
                                                  {"axes", {{"agent.type", agent}}},
                                                  {"seed", seed},
                                                  {"variant", nullptr},
                                                  {"dir", std::string("cells/") + id}});
      cells << cell.ToJson().dump() << "\n";
      const fs::path cd = dir / cell.dir;
      fs::create_directories(cd);
      if (agent == "oracle" && seed == 3) continue;  // pending: never ran
      if (agent == "oracle" && seed == 2) {
        std::ofstream((cd / "error.json").string()) << json{{"exit_code", 2}, {"message", "x\nboom: bad thing\n"}};
        continue;
      }
      const double base = agent == "random" ? 100 : agent == "greedy" ? 110 : 120;
      std::ofstream((cd / "summary.json").string())
          << json{{"episodes", 3}, {"return_mean", base + seed}, {"seed", seed}, {"steps_per_second", 1e6 + index}};
      std::ofstream m((cd / "metrics.jsonl").string());
      for (int e = 0; e < 3; ++e) m << json{{"return", base + seed + e}}.dump() << "\n";
    }
  }
  return dir;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ReportError(const fs::path& dir, const ReportOptions& o) {
  try {
    WriteReport(dir.string(), o);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("report: a synthetic sweep gives the known table, pairs and files") {
  const fs::path dir = SyntheticSweep();
  ReportOptions o;
  o.group_by = {"agent.type"};
  o.baseline = {{"agent.type", "random"}};
  o.metrics = {"return_mean"};
  o.bootstrap_samples = 500;
  WriteReport(dir.string(), o);

  // results.csv: header + 12 rows; timing keys left out; seed once.
  std::istringstream csv(Slurp(dir / "results.csv"));
  std::string header, line;
  std::getline(csv, header);
  CHECK(header == "cell,status,agent.type,seed,variant,episodes,return_mean");
  std::vector<std::string> rows;
  while (std::getline(csv, line)) rows.push_back(line);
  REQUIRE(rows.size() == 12);
  CHECK(rows[0] == "c000000,done,random,0,,3,100.0");
  CHECK(rows[7] == "c000007,done,greedy,3,,3,113.0");
  CHECK(rows[10] == "c000010,failed,oracle,2,,,");
  CHECK(rows[11] == "c000011,pending,oracle,3,,,");

  const std::string md = Slurp(dir / "results.md");
  CHECK(md.find("12 cells: 10 done, 1 failed, 1 not run.") != std::string::npos);
  CHECK(md.find("| c000010 | agent.type=oracle | 2 | - | 2 | boom: bad thing |") != std::string::npos);
  // random: mean of 100..103 = 101.5, IQM of 4 values = mean of the middle two = 101.5.
  CHECK(md.find("| random | 4 | 101.5 | [") != std::string::npos);
  CHECK(md.find("| 101.5 |\n") != std::string::npos);
  CHECK(md.find("| oracle | 2 | 120.5 |") != std::string::npos);
  // Every greedy cell beats its random pair by exactly 10; the interval of a
  // constant difference is that constant.
  CHECK(md.find("| greedy | 4 | 10 | [10, 10] | 4 / 0 / 0 |") != std::string::npos);
  CHECK(md.find("| oracle | 2 | 20 | [20, 20] | 2 / 0 / 0 |") != std::string::npos);
  CHECK(fs::exists(dir / "plots" / "bar_return_mean.svg"));
  CHECK(fs::exists(dir / "plots" / "curve_return.svg"));
  CHECK(md.find("(plots/bar_return_mean.svg)") != std::string::npos);
  const std::string svg = Slurp(dir / "plots" / "bar_return_mean.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  // Means 101.5 .. 120.5 are far from 0: the axis is the data's, with dots, not bars from 0.
  CHECK(svg.find(">0</text>") == std::string::npos);
  CHECK(svg.find("<circle") != std::string::npos);
  CHECK(svg.find("<rect x=") == std::string::npos);
  // None of these agents learns (no cell has a learner's scenario.resolved.json): not "learning curves".
  CHECK(md.find("## Return per episode") != std::string::npos);
  CHECK(md.find("## Learning curves") == std::string::npos);

  // Deterministic: the same report twice is byte-identical.
  const std::string md1 = md;
  WriteReport(dir.string(), o);
  CHECK(Slurp(dir / "results.md") == md1);

  // A stale plot from an earlier report is removed.
  std::ofstream((dir / "plots" / "bar_old_metric.svg").string()) << "<svg/>";
  WriteReport(dir.string(), o);
  CHECK_FALSE(fs::exists(dir / "plots" / "bar_old_metric.svg"));
}

TEST_CASE("report: bad options name the problem and the nearest valid choice") {
  const fs::path dir = SyntheticSweep();
  ReportOptions o;
  o.group_by = {"agent.typo"};
  std::string e = ReportError(dir, o);
  CHECK(e.find("--group-by: \"agent.typo\" is not an axis") != std::string::npos);
  CHECK(e.find("did you mean \"agent.type\"") != std::string::npos);

  o = {};
  o.metrics = {"return_man"};
  e = ReportError(dir, o);
  CHECK(e.find("did you mean \"return_mean\"") != std::string::npos);

  o = {};
  o.group_by = {"agent.type"};
  o.baseline = {{"agent.type", "randon"}};
  e = ReportError(dir, o);
  CHECK(e.find("no cell has agent.type = \"randon\"") != std::string::npos);
  CHECK(e.find("did you mean \"random\"") != std::string::npos);

  o = {};
  o.group_by = {"agent.type"};
  o.baseline = {{"seed", 0}};
  e = ReportError(dir, o);
  CHECK(e.find("--baseline: \"seed\": the baseline must name a grouped key") != std::string::npos);

  const fs::path empty = fs::temp_directory_path() / "cohort_test_report_empty";
  fs::create_directories(empty);
  e = ReportError(empty, {});
  CHECK(e.find("not a sweep directory") != std::string::npos);
}

TEST_CASE("report: the bar chart's value axis holds 0 only when the data are near it") {
  // 163 against 154 (with their intervals): the axis is the data's range, 5% margin each side.
  ValueAxis a = BarValueAxis({163, 160, 166, 154, 151, 157});
  CHECK_FALSE(a.HoldsZero());
  CHECK(a.lo == doctest::Approx(151 - 0.75));
  CHECK(a.hi == doctest::Approx(166 + 0.75));
  // Near 0 (the nearest value, 2, is within the span 8 of 0): from exactly 0, not padded below it.
  a = BarValueAxis({2, 10});
  CHECK(a.lo == 0.0);
  CHECK(a.hi == doctest::Approx(10.5));
  // Mixed signs hold 0 and pad both sides; all negative and near 0 ends at exactly 0.
  a = BarValueAxis({-1, 3});
  CHECK(a.lo == doctest::Approx(-1.2));
  CHECK(a.hi == doctest::Approx(3.2));
  a = BarValueAxis({-10, -4});
  CHECK(a.lo == doctest::Approx(-10.5));
  CHECK(a.hi == 0.0);
  a = BarValueAxis({-1000, -990});
  CHECK_FALSE(a.HoldsZero());
  // One value: +-10% of it; 0 alone: +-0.5; nothing finite: [0, 1].
  a = BarValueAxis({50, NAN});
  CHECK(a.lo == doctest::Approx(45));
  CHECK(a.hi == doctest::Approx(55));
  a = BarValueAxis({0});
  CHECK(a.lo == -0.5);
  CHECK(a.hi == 0.5);
  a = BarValueAxis({NAN, INFINITY});
  CHECK(a.lo == 0.0);
  CHECK(a.hi == 1.0);
}

TEST_CASE("report: axis tick labels use k/M suffixes, never exponents, for large values") {
  using V = std::vector<std::string>;
  CHECK(AxisTickLabels({0, 5000, 10000, 15000}) == V{"0", "5k", "10k", "15k"});
  CHECK(AxisTickLabels({12000, 12500, 13000}) == V{"12.0k", "12.5k", "13.0k"});  // the decimals the step needs
  CHECK(AxisTickLabels({0, 1e6, 2e6, 3e6}) == V{"0", "1M", "2M", "3M"});
  CHECK(AxisTickLabels({1.5e6, 2e6, 2.5e6}) == V{"1.5M", "2.0M", "2.5M"});
  CHECK(AxisTickLabels({2e9, 4e9}) == V{"2G", "4G"});
  CHECK(AxisTickLabels({10000}) == V{"10k"});
  // Below 10^4, or a step finer than 0.01 of the suffix: plain digits.
  CHECK(AxisTickLabels({0, 2000, 4000, 6000}) == V{"0", "2000", "4000", "6000"});
  CHECK(AxisTickLabels({10000, 10005, 10010}) == V{"10000", "10005", "10010"});
  CHECK(AxisTickLabels({0.1, 0.2, 0.3}) == V{"0.1", "0.2", "0.3"});
  CHECK(AxisTickLabels({-20000, 0, 20000}) == V{"-20k", "0", "20k"});
}

TEST_CASE("report: the per-episode return section is titled from what its agents do") {
  CHECK(ReturnSectionTitle(true) == "Learning curves");
  CHECK(ReturnSectionTitle(false) == "Return per episode");
  const std::string recsim = std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json";
  auto learns = [&](const std::string& type) {
    return AgentLearnsOnline(LoadScenario(recsim, {"agent.type=" + type}, AgentRegistry()));
  };
  CHECK(learns("ucb1"));
  CHECK(learns("linucb"));
  CHECK_FALSE(learns("random"));
  CHECK_FALSE(learns("greedy"));
  CHECK_FALSE(learns("oracle"));
}
