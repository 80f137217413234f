// Sweep files: expansion (grid, random with seed, zip, seeds, variants) and
// validation errors, without running anything.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "apps/sweep.h"

namespace fs = std::filesystem;
using namespace cohort;

namespace {

json Resolve(const json& doc) { return Validate(doc, SweepSchema(), "sweep.json"); }

std::string WriteSweep(const std::string& name, const json& doc) {
  const fs::path dir = fs::temp_directory_path() / "cohort_test_sweep";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p) << doc.dump(2);
  return p.string();
}

std::string Base() { return std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json"; }

std::string ErrorsOf(const json& doc) {
  try {
    LoadSweep(WriteSweep("bad.json", doc));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("sweep: grid x seeds expands in order, last axis fastest") {
  const json s = Resolve({{"base", "x.json"},
                          {"axes",
                           {{{"path", "agent.type"}, {"values", {"random", "greedy"}}},
                            {{"path", "env.slate_size"}, {"values", {1, 2, 3}}}}},
                          {"seeds", {{"start", 10}, {"count", 2}}}});
  const auto cells = ExpandCells(s);
  REQUIRE(cells.size() == 2 * 3 * 2);
  CHECK(cells[0].axes == json{{"agent.type", "random"}, {"env.slate_size", 1}});
  CHECK(cells[0].seed == 10);
  CHECK(cells[1].seed == 11);
  CHECK(cells[2].axes["env.slate_size"] == 2);
  CHECK(cells[6].axes["agent.type"] == "greedy");
  CHECK(cells[11].id == "c000011");
  CHECK(cells[11].dir == "cells/c000011");
  CHECK(!cells[0].variant.has_value());
  // Every (axes, seed) combination appears once.
  std::set<std::string> seen;
  for (const auto& c : cells) seen.insert(c.axes.dump() + std::to_string(c.seed));
  CHECK(seen.size() == cells.size());
}

TEST_CASE("sweep: random axes are reproducible, seeded and in range") {
  json doc = {{"base", "x.json"},
              {"axes",
               {{{"path", "env.choice.temperature"},
                 {"distribution", "log_uniform"},
                 {"low", 0.1},
                 {"high", 2.0},
                 {"count", 6}},
                {{"path", "env.num_topics"}, {"distribution", "int_uniform"}, {"low", 3}, {"high", 5}, {"count", 4}}}},
              {"seed", 3}};
  const auto a = ExpandCells(Resolve(doc));
  const auto b = ExpandCells(Resolve(doc));
  REQUIRE(a.size() == 24);
  std::set<double> temps;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].axes == b[i].axes);
    const double t = a[i].axes["env.choice.temperature"].get<double>();
    CHECK(t >= 0.1);
    CHECK(t <= 2.0);
    temps.insert(t);
    CHECK(a[i].axes["env.num_topics"].is_number_integer());
    const int64_t k = a[i].axes["env.num_topics"].get<int64_t>();
    CHECK((k >= 3 && k <= 5));
  }
  CHECK(temps.size() == 6);
  doc["seed"] = 4;
  const auto c = ExpandCells(Resolve(doc));
  CHECK(c[0].axes["env.choice.temperature"] != a[0].axes["env.choice.temperature"]);
}

TEST_CASE("sweep: zipped axes advance together; seed_list and variants") {
  const json s = Resolve({{"base", "x.json"},
                          {"axes",
                           {{{"zip",
                              {{{"path", "env.candidates"}, {"values", {10, 20, 30}}},
                               {{"path", "env.slate_size"}, {"values", {2, 4, 6}}}}}}}},
                          {"seed_list", {7, 9}},
                          {"variants", {{"split", "test"}, {"start", 2}, {"count", 3}}}});
  const auto cells = ExpandCells(s);
  REQUIRE(cells.size() == 3 * 2 * 3);
  for (const auto& c : cells) CHECK(c.axes["env.slate_size"].get<int>() * 5 == c.axes["env.candidates"].get<int>());
  CHECK(cells[0].seed == 7);
  CHECK(*cells[0].variant == "test:2");
  CHECK(*cells[2].variant == "test:4");
  CHECK(cells[3].seed == 9);
  const auto args = cells[0].RunArgs("/abs/base.json", json{{"run.episodes", 5}}, "/out");
  const std::vector<std::string> want = {"run",       "/abs/base.json",
                                         "--set",     "run.episodes=5",
                                         "--set",     "env.candidates=10",
                                         "--set",     "env.slate_size=2",
                                         "--seed",    "7",
                                         "--variant", "test:2",
                                         "--threads", "1",
                                         "--out",     "/out/cells/c000000",
                                         "--quiet"};
  CHECK(args == want);
}

TEST_CASE("sweep: whole-object values carry labels into the cell and its run arguments") {
  const json s = Resolve({{"base", "x.json"},
                          {"axes",
                           {{{"path", "agent"},
                             {"values", {{{"type", "random"}}, {{"type", "greedy"}, {"score", "quality"}}}},
                             {"labels", {"random", "greedy-quality"}}}}}});
  const auto cells = ExpandCells(s);
  REQUIRE(cells.size() == 2);
  CHECK(cells[1].axes["agent"] == json{{"type", "greedy"}, {"score", "quality"}});
  CHECK(cells[1].labels["agent"] == "greedy-quality");
  CHECK(SweepCell::FromJson(cells[1].ToJson()).labels == cells[1].labels);
  const auto args = cells[1].RunArgs("/b.json", json::object(), "/out");
  CHECK(args[3] == R"(agent={"type":"greedy","score":"quality"})");
  // Scalar axes without labels keep cells.jsonl free of a "labels" key.
  CHECK_FALSE(
      ExpandCells(Resolve({{"base", "x.json"}, {"axes", {{{"path", "a"}, {"values", {1, 2}}}}}}))[0].ToJson().contains(
          "labels"));
}

TEST_CASE("sweep: LoadSweep resolves the base and rejects bad files with paths") {
  const Sweep ok =
      LoadSweep(WriteSweep("ok.json", {{"base", Base()},
                                       {"axes", {{{"path", "agent.type"}, {"values", {"random", "greedy"}}}}},
                                       {"seeds", {{"count", 3}}}}));
  CHECK(ok.cells.size() == 6);
  CHECK(fs::path(ok.base).is_absolute());

  const std::string unknown = ErrorsOf({{"base", Base()}, {"axis", json::array()}});
  CHECK(unknown.find("/axis: unknown key \"axis\" (did you mean \"axes\"?)") != std::string::npos);
  const std::string both = ErrorsOf(
      {{"base", Base()}, {"axes", {{{"path", "env.slate_size"}, {"values", {1}}, {"distribution", "uniform"}}}}});
  CHECK(both.find("/axes/0: an axis needs exactly one of") != std::string::npos);
  const std::string zip = ErrorsOf(
      {{"base", Base()},
       {"axes",
        {{{"zip",
           {{{"path", "env.candidates"}, {"values", {10, 20}}}, {{"path", "env.slate_size"}, {"values", {2}}}}}}}}});
  CHECK(zip.find("/axes/0/zip/1/values: zipped members need equal lengths") != std::string::npos);
  // A bad value is reported at its place in the sweep, with the scenario's reason.
  const std::string value =
      ErrorsOf({{"base", Base()}, {"axes", {{{"path", "env.choice.no_click_mass"}, {"values", {1.0, -5.0}}}}}});
  CHECK(value.find("/axes/0/values/1: setting /env/choice") != std::string::npos);
  CHECK(value.find("must exceed min_normalizer") != std::string::npos);
  const std::string key =
      ErrorsOf({{"base", Base()}, {"axes", {{{"path", "env.choice.temperatur"}, {"values", {1}}}}}});
  CHECK(key.find("unknown key \"temperatur\"") != std::string::npos);
  CHECK(key.find("/axes/0/values/0") != std::string::npos);
  const std::string split = ErrorsOf({{"base", Base()}, {"variants", {{"split", "test"}, {"count", 2}}}});
  CHECK(split.find("/variants/split: the base scenario defines no variant family") != std::string::npos);
  const std::string seed = ErrorsOf({{"base", Base()}, {"set", {{"seed", 3}}}});
  CHECK(seed.find("/set/seed: use \"seeds\"") != std::string::npos);
  const std::string missing = ErrorsOf({{"axes", json::array()}});
  CHECK(missing.find("missing required key \"base\"") != std::string::npos);
  const std::string overlap =
      ErrorsOf({{"base", Base()},
                {"axes",
                 {{{"path", "agent.type"}, {"values", {"random"}}},
                  {{"path", "agent"}, {"values", {{{"type", "greedy"}}}}, {"labels", {"g"}}}}}});
  CHECK(overlap.find("/axes/1/path: \"agent\" overlaps \"agent.type\"") != std::string::npos);
  const std::string unlabeled =
      ErrorsOf({{"base", Base()}, {"axes", {{{"path", "agent"}, {"values", {{{"type", "random"}}}}}}}});
  CHECK(unlabeled.find("/axes/0/labels: object and array values need \"labels\"") != std::string::npos);
  const std::string short_labels = ErrorsOf(
      {{"base", Base()}, {"axes", {{{"path", "agent.type"}, {"values", {"random", "greedy"}}, {"labels", {"r"}}}}}});
  CHECK(short_labels.find("/axes/0/labels: needs one label per value (2)") != std::string::npos);
  const std::string bad_agent = ErrorsOf(
      {{"base", Base()},
       {"axes", {{{"path", "agent"}, {"values", {{{"type", "random"}, {"score", "quality"}}}}, {"labels", {"r"}}}}}});
  CHECK(bad_agent.find("/axes/0/values/0: setting /agent/score") != std::string::npos);
  CHECK(bad_agent.find("/agent/score: unknown key \"score\"") != std::string::npos);
}

TEST_CASE("sweep progress: the ETA is unknown until a cell has finished") {
  SweepTotals t;
  t.total = 10;
  CHECK(SweepProgress::Line(t, 2, 30.0) ==
        "[sweep] 0/10 cells done (0 skipped, 0 failed, 2 running)  0.00 cells/s  ETA unknown");
  t.done = 2;
  t.skipped = 3;
  CHECK(SweepProgress::Line(t, 2, 10.0) ==
        "[sweep] 5/10 cells done (3 skipped, 0 failed, 2 running)  0.20 cells/s  ETA 25s");
}

TEST_CASE("sweep: \"job\": \"ope\" cells are cohort log with the ope block's evaluation") {
  const json target = {{"type", "logging"}, {"policy", {{"type", "greedy"}}}, {"temperature", 0.5}};
  const Sweep s = LoadSweep(WriteSweep("ope.json", {{"base", Base()},
                                                    {"job", "ope"},
                                                    {"ope", {{"target", target}, {"estimators", {"ips", "dr"}}}},
                                                    {"axes", {{{"path", "run.episodes"}, {"values", {10, 20}}}}}}));
  REQUIRE(s.cells.size() == 2);
  const std::vector<std::string> args = s.CellArgs(s.cells[1], "/out");
  const std::vector<std::string> want = {"log",       s.base,         "--set",    "run.episodes=20", "--seed",
                                         "0",         "--threads",    "1",        "--out",           "/out/cells/c000001",
                                         "--quiet",   "--force",      "--target", target.dump(),     "--estimators",
                                         "ips,dr",    "--bootstrap",  "200"};
  CHECK(args == want);
  // A plain sweep's cells stay `cohort run`.
  const Sweep run = LoadSweep(WriteSweep("run.json", {{"base", Base()}}));
  CHECK(run.CellArgs(run.cells[0], "/out").front() == "run");
  CHECK(run.OpeBlock().is_null());

  CHECK(ErrorsOf({{"base", Base()}, {"job", "ope"}}).find("/ope/target: required for \"job\": \"ope\"") !=
        std::string::npos);
  CHECK(ErrorsOf({{"base", Base()}, {"ope", {{"target", "greedy"}}}})
            .find("/ope: is read only by \"job\": \"ope\" sweeps") != std::string::npos);
  CHECK(ErrorsOf({{"base", Base()}, {"job", "ope"}, {"ope", {{"target", "greedy"}, {"estimators", {"ipss"}}}}})
            .find("/ope/estimators/0: unknown estimator \"ipss\"") != std::string::npos);
  CHECK(ErrorsOf({{"base", Base()}, {"job", "eval"}}).find("/job: \"eval\" is not one of") != std::string::npos);
}
