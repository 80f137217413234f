// Hardening (issue 19): a checkpoint is data, never a way to write memory;
// JSON input is parsed strictly; numbers stay finite. The corrupt inputs are
// made here, from checkpoints this test writes, never committed binaries.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agents/registry.h"
#include "agents/runner.h"
#include "agents/trainer.h"
#include "core/json_parse.h"
#include "core/rng.h"
#include "core/serialize.h"
#include "env/vec_env.h"
#include "input_error_of.h"

namespace fs = std::filesystem;
using namespace cohort;
using cohort::testing::InputErrorOf;

namespace {

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The message of the std::runtime_error `fn` throws ("" when none).
template <typename Fn>
std::string RuntimeErrorOf(Fn fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return std::string("InputError: ") + e.what();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// A small live-catalog run: env, catalog, bandit and runner state are all in
// its checkpoint.
Scenario LiveBandit(const std::string& agent) {
  return LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/cascade_news.json",
                      {"agent=" + agent, "run.num_envs=8", "run.episodes=8", "run.train_steps=30",
                       "run.eval_every=15", "run.reference=false"},
                      AgentRegistry());
}

std::string CheckpointOf(const Scenario& s, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("cohort_test_hardening_" + name);
  fs::remove_all(dir);
  TrainOptions o;
  o.out_dir = dir.string();
  o.stop_at_step = 20;  // interrupted mid-run: buffers and last slates are full
  TrainScenario(s, o);
  return Slurp(dir / "checkpoint.bin");
}

std::string Payload(const std::string& file) { return file.substr(0, file.size() - 8); }

// Offset just after the first occurrence of a section tag ("runner", "batch").
size_t AfterTag(const std::string& payload, const std::string& tag) {
  std::string needle(8, '\0');
  const uint64_t n = tag.size();
  std::memcpy(needle.data(), &n, 8);
  needle += tag;
  const size_t at = payload.find(needle);
  REQUIRE(at != std::string::npos);
  return at + needle.size();
}

template <typename T>
void Put(std::string& s, size_t at, T v) {
  std::memcpy(s.data() + at, &v, sizeof(T));
}

}  // namespace

TEST_CASE("hardening: a checkpoint loads back only when it is intact") {
  const Scenario s = LiveBandit(R"({"type":"linucb"})");
  const std::string file = CheckpointOf(s, "intact");
  CHECK(RuntimeErrorOf([&] { LoadCheckpointBytes(file, s, "ck"); }) == "");

  SUBCASE("every single-bit flip is caught by the checksum") {
    Rng rng(7);
    for (int i = 0; i < 20; ++i) {
      std::string bad = file;
      const size_t byte = size_t(rng.Below(uint32_t(bad.size())));
      bad[byte] = char(bad[byte] ^ (1 << rng.Below(8)));
      const std::string e = RuntimeErrorOf([&] { LoadCheckpointBytes(bad, s, "ck"); });
      CHECK_MESSAGE(e.find("checkpoint ck is corrupt") != std::string::npos, "flip at byte " << byte << ": " << e);
    }
  }
  SUBCASE("a cut-short file") {
    CHECK(RuntimeErrorOf([&] { LoadCheckpointBytes(file.substr(0, 5), s, "ck"); }).find("corrupt") !=
          std::string::npos);
  }
  SUBCASE("a stored count larger than the file is refused before allocating") {
    std::string p = Payload(file);
    Put<uint64_t>(p, AfterTag(p, "runner"), uint64_t(1) << 40);
    const std::string e = RuntimeErrorOf([&] { LoadCheckpointBytes(Seal(p), s, "ck"); });
    CHECK(e.find("runner.records: a stored count of 1099511627776 is more than the data left") != std::string::npos);
  }
  SUBCASE("trailing data") {
    const std::string e = RuntimeErrorOf([&] { LoadCheckpointBytes(Seal(Payload(file) + "x"), s, "ck"); });
    CHECK(e.find("trailing data") != std::string::npos);
  }
  SUBCASE("a checkpoint of another scenario") {
    const Scenario other = LiveBandit(R"({"type":"linucb","alpha":0.5})");
    CHECK(RuntimeErrorOf([&] { LoadCheckpointBytes(file, other, "ck"); }).find("different scenario") !=
          std::string::npos);
  }
}

// The environment's state, edited where the field lists say each array is.
TEST_CASE("hardening: VecEnv::Load checks every length and index") {
  const EnvParams params = LiveBandit(R"({"type":"random"})").env;
  VecEnv env(params, 3, 0, VecEnv::Options{4, 1, -1});
  env.Reset();
  SlateBatch slates;
  slates.Resize(4, params.slate_size);
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < params.slate_size; ++j) slates.Row(r)[j] = j;
  for (int t = 0; t < 5; ++t) env.Step(slates);
  BinaryWriter w;
  env.Save(w);
  const std::string good = w.data();
  auto load = [&](const std::string& bytes) {
    return RuntimeErrorOf([&] {
      VecEnv fresh(params, 3, 0, VecEnv::Options{4, 1, -1});
      BinaryReader r(bytes, "ck");
      fresh.Load(r);
    });
  };
  CHECK(load(good) == "");

  // The batch's arrays follow its tag and tick, in ForEachField's order
  // (the candidates' quality right after "topic").
  auto batch_field = [&](const std::string& name) {
    size_t at = AfterTag(good, "batch") + sizeof(int64_t);
    size_t found = std::string::npos;
    env.batch().ForEachField([&](const char* field, const auto& v, auto...) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      if (name == field) found = at;
      at += 8 + v.size() * sizeof(T);
      if (std::string_view(field) == "topic") at += 8 + size_t(4) * size_t(params.num_candidates) * sizeof(float);
    });
    REQUIRE(found != std::string::npos);
    return found;  // at the length; the first element 8 bytes on
  };
  SUBCASE("a candidate topic far out of range (a file-controlled write before)") {
    std::string bad = good;
    Put<int32_t>(bad, batch_field("topic") + 8, 50000000);
    CHECK(load(bad).find("batch.topic[0] = 50000000 is outside [0, 29]") != std::string::npos);
  }
  SUBCASE("an item id beyond the catalog") {
    std::string bad = good;
    Put<int64_t>(bad, batch_field("item_id") + 8 + 3 * 8, int64_t(1) << 40);
    CHECK(load(bad).find("batch.item_id[3]") != std::string::npos);
  }
  SUBCASE("a click position beyond the slate") {
    std::string bad = good;
    Put<int32_t>(bad, batch_field("click_position") + 8, params.slate_size);
    CHECK(load(bad).find("batch.click_position[0]") != std::string::npos);
  }
  SUBCASE("a vector one element short") {
    // "segment" is the second user-state array, after "user" (4 x int64),
    // which follows the catalog; find it by its contents: the catalog ends
    // with alive, whose length is the catalog's live count.
    const size_t user_at = AfterTag(good, "batch");  // only to bound the search
    std::string p = good;
    // Walk the state from the catalog: tag, dim, rng, six vectors.
    size_t at = AfterTag(good, "catalog") + sizeof(int) + sizeof(Rng);
    const size_t sizes[] = {4, 4, 4, 4, 8, 8};
    for (size_t sz : sizes) {
      uint64_t n = 0;
      std::memcpy(&n, p.data() + at, 8);
      at += 8 + n * sz;
    }
    at += 8 + 4 * 8;  // user
    REQUIRE(at < user_at);
    uint64_t n = 0;
    std::memcpy(&n, p.data() + at, 8);
    REQUIRE(n == 4);
    Put<uint64_t>(p, at, 3);
    p.erase(at + 8 + 3 * 4, 4);
    CHECK(load(p).find("segment holds 3 values, the configuration expects 4") != std::string::npos);
  }
  SUBCASE("an env of another shape") {
    VecEnv other(params, 3, 0, VecEnv::Options{5, 1, -1});
    BinaryReader r(good, "ck");
    CHECK_THROWS_AS(other.Load(r), std::runtime_error);
  }
}

TEST_CASE("hardening: agents check their loaded state") {
  // Popularity's last slate holds ids that index its tables.
  const Scenario s = LiveBandit(R"({"type":"popularity"})");
  const std::string file = CheckpointOf(s, "popularity");
  CHECK(RuntimeErrorOf([&] { LoadCheckpointBytes(file, s, "ck"); }) == "");
  std::string p = Payload(file);
  // After the agent tag: the ranking base (policy streams: user ids, rngs),
  // then clicks, shows, last_ids.
  size_t at = AfterTag(p, "agent");
  auto skip_vector = [&](size_t elem) {
    uint64_t n = 0;
    std::memcpy(&n, p.data() + at, 8);
    at += 8 + n * elem;
    return n;
  };
  skip_vector(8);            // policy_streams.user
  skip_vector(sizeof(Rng));  // policy_streams.rng
  const uint64_t items = skip_vector(8);
  skip_vector(8);  // shows
  uint64_t n = 0;
  std::memcpy(&n, p.data() + at, 8);
  REQUIRE(n > 0);  // last_ids: the last slate's ids
  Put<int64_t>(p, at + 8, int64_t(items) + 1000);
  CHECK(RuntimeErrorOf([&] { LoadCheckpointBytes(Seal(p), s, "ck"); }).find("popularity.last_ids[0]") !=
        std::string::npos);
}

TEST_CASE("hardening: strict JSON") {
  SUBCASE("nesting deeper than 256 levels") {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    const std::string e = InputErrorOf([&] { ParseJson(deep, "f.json"); });
    CHECK(e.find("f.json: ") == 0);
    CHECK(e.find("nesting deeper than 256 levels") != std::string::npos);
    const std::string ok = std::string(256, '[') + std::string(256, ']');
    CHECK(InputErrorOf([&] { ParseJson(ok, "f.json"); }) == "");
    CHECK(ParseJsonOrDiscarded(deep).is_discarded());
  }
  SUBCASE("duplicate keys, named by their pointer") {
    CHECK(InputErrorOf([&] { ParseJson(R"({"env": {"a": 1}, "env": {}})", "f.json"); }) ==
          "f.json: /env: key \"env\" is defined twice in this object");
    CHECK(InputErrorOf([&] { ParseJson(R"({"x": [1, {"a": 1, "b": 2, "a": 3}]})", "f.json"); }) ==
          "f.json: /x/1/a: key \"a\" is defined twice in this object");
    CHECK(InputErrorOf([&] { ParseJson(R"({"a/b~": {"k": 0, "k": 0}})", "f.json"); }) ==
          "f.json: /a~1b~0/k: key \"k\" is defined twice in this object");
    // The same key in sibling objects is fine.
    CHECK(InputErrorOf([&] { ParseJson(R"([{"a": 1}, {"a": 2}])", "f.json"); }) == "");
  }
  SUBCASE("syntax errors keep their line and column") {
    CHECK(InputErrorOf([&] { ParseJson("{\n  \"a\": 1,\n}", "f.json"); }).find("line 3, column 1") !=
          std::string::npos);
  }
  SUBCASE("a key holding NUL is shown escaped, not cut") {
    const std::string text = std::string("{\"a\\u0000b\": 1, \"a\\u0000b\": 2}");
    const std::string e = InputErrorOf([&] { ParseJson(text, "f.json"); });
    CHECK(e == "f.json: /a\\u0000b: key \"a\\u0000b\" is defined twice in this object");
  }
  SUBCASE("UTF-8") {
    CHECK(IsValidUtf8("plain ascii"));
    CHECK(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK_FALSE(IsValidUtf8("\xff"));
    CHECK_FALSE(IsValidUtf8("\xc3"));          // cut short
    CHECK_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
    CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));  // a surrogate
  }
}

TEST_CASE("hardening: --set values are parsed strictly") {
  const std::string file = std::string(COHORT_SOURCE_DIR) + "/scenarios/linear_bandit.json";
  auto err = [&](const std::string& set) {
    return InputErrorOf([&] { LoadScenario(file, {set}, AgentRegistry()); });
  };
  CHECK(err("name=\xff\xfe") == "--set: /name: the value is not valid UTF-8");
  CHECK(err(R"(env={"num_topics": 3, "num_topics": 4})") ==
        R"(--set: /env/num_topics: key "num_topics" is defined twice in this object)");
  CHECK(err("env.choice=" + std::string(300, '[') + std::string(300, ']')).find("nesting deeper than 256 levels") !=
        std::string::npos);
}

TEST_CASE("hardening: range errors show integers exactly") {
  const std::string file = std::string(COHORT_SOURCE_DIR) + "/scenarios/linear_bandit.json";
  const std::string e = InputErrorOf([&] { LoadScenario(file, {"run.episodes=9007199254740993"}, AgentRegistry()); });
  CHECK(e.find("value 9007199254740993 ") != std::string::npos);
}

TEST_CASE("hardening: a resolved scenario is a fixed point of resolution") {
  for (const auto& entry : fs::directory_iterator(std::string(COHORT_SOURCE_DIR) + "/scenarios")) {
    if (entry.path().extension() != ".json") continue;
    const json doc = ReadJsonFile(entry.path().string());
    if (!doc.contains("env")) continue;  // not a scenario
    CAPTURE(entry.path().filename().string());
    const Scenario once = LoadScenario(entry.path().string(), {}, AgentRegistry());
    const Scenario twice = ParseScenario(once.resolved, "resolved", AgentRegistry());
    CHECK(twice.resolved.dump(2) == once.resolved.dump(2));
  }
  // A number array with an integer default (torch agents' "hidden": [64]):
  // resolved [64.0], and again [64.0].
  try {
    const Scenario ppo = LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/linear_bandit.json",
                                      {"agent={\"type\":\"ppo\"}"}, AgentRegistry());
    CHECK(ParseScenario(ppo.resolved, "r", AgentRegistry()).resolved.dump() == ppo.resolved.dump());
  } catch (const InputError& e) {
    MESSAGE("no ppo in this build: " << e.what());
  }
}

TEST_CASE("hardening: Rng::Between draws over ranges wider than 32 bits") {
  Rng a(5), b(5);
  // Narrow ranges draw exactly as Below always has (streams unchanged).
  for (int i = 0; i < 100; ++i) CHECK(a.Between(-3, 10) == -3 + int64_t(b.Below(14)));
  int64_t top = 0;
  for (int i = 0; i < 200; ++i) {
    const int64_t x = a.Between(0, 1000000000000);
    CHECK(x >= 0);
    CHECK(x <= 1000000000000);
    top = std::max(top, x);
  }
  CHECK(top > 4294967296);  // P(all 200 below 2^32) = (0.0043)^200
  CHECK(a.Between(7, 7) == 7);
}

TEST_CASE("hardening: extreme parameters are refused or stopped, never hang") {
  const std::string file = std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json";
  auto err = [&](const std::string& set) { return InputErrorOf([&] { LoadScenario(file, {set}, AgentRegistry()); }); };
  CHECK(err("env.catalog.quality_std=1e308").find("/env/catalog/quality_std: value 1e+308 is out of range [0, 1000000000]") !=
        std::string::npos);
  CHECK(err("env.reward.watch_time=1e300").find("/env/reward/watch_time") != std::string::npos);
  CHECK(err("env.users.time_budget.mean=1e308").find("/env/users/time_budget/mean") != std::string::npos);

  // Parameters beyond validation (built in code) end with an error naming
  // the likely parameters instead of looping on a NaN budget.
  EnvParams p = LoadScenario(file, {}, AgentRegistry()).env;
  p.catalog.quality_std = 1e30;
  p.dynamics.budget_quality_gain = 1e308;  // a good item's watch time refills the budget without end
  VecEnv env(p, 1, 0, VecEnv::Options{4, 1, -1});
  SlateBatch slates;
  slates.Resize(4, p.slate_size);
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < p.slate_size; ++j) slates.Row(r)[j] = j;
  const std::string e = RuntimeErrorOf([&] {
    env.Reset();
    for (int t = 0; t < 100; ++t) env.Step(slates);
  });
  CHECK_MESSAGE(e.find("became NaN or infinite") != std::string::npos, e);
}

TEST_CASE("hardening: a summary never holds a non-finite number") {
  CHECK_NOTHROW(CheckFiniteSummary(json{{"a", 1.0}, {"b", nullptr}, {"c", "x"}}));
  const std::string e = RuntimeErrorOf([] { CheckFiniteSummary(json{{"a", 1.0}, {"return_mean", std::nan("")}}); });
  CHECK(e.find("summary metric return_mean is NaN") == 0);
}

// The three fuzz_checkpoint findings of the hardening work, each on a
// resealed checkpoint (the checksum passes, the content is wrong). Before the
// fixes, the first two read a missing key through a const json operator[]
// (undefined; the sanitizer suite runs this test), the third overflowed
// `tick - created` in Catalog::Advance.
namespace {

// Replaces the stored string `from` (its 8-byte length and bytes) by `to`.
std::string ReplaceStored(const std::string& payload, const std::string& from, const std::string& to) {
  std::string needle(8, '\0'), with(8, '\0');
  const uint64_t n = from.size(), m = to.size();
  std::memcpy(needle.data(), &n, 8);
  std::memcpy(with.data(), &m, 8);
  needle += from;
  with += to;
  const size_t at = payload.find(needle);
  REQUIRE_MESSAGE(at != std::string::npos, "stored string not found: " << from);
  std::string out = payload;
  out.replace(at, needle.size(), with);
  return out;
}

// The lines of a run's metrics.jsonl, which are the checkpoint's stored lines.
std::vector<std::string> MetricLines(const fs::path& dir) {
  std::vector<std::string> lines;
  std::ifstream in(dir / "metrics.jsonl");
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The first stored line of `kind` ("eval" or "train").
std::string LineOfKind(const std::vector<std::string>& lines, const std::string& kind) {
  for (const std::string& l : lines)
    if (ParseJson(l, "line").value("kind", "") == kind) return l;
  FAIL("no " << kind << " line");
  return "";
}

}  // namespace

TEST_CASE("hardening: stored progress lines are checked before the summary pass reads them") {
  // With reference rollouts: eval lines carry a normalized score.
  const Scenario s = LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/cascade_news.json",
                                  {"agent={\"type\":\"linucb\"}", "run.num_envs=8", "run.episodes=8",
                                   "run.train_steps=30", "run.eval_every=10", "run.reference=true"},
                                  AgentRegistry());
  const fs::path dir = fs::temp_directory_path() / "cohort_test_hardening_lines";
  fs::remove_all(dir);
  TrainOptions o;
  o.out_dir = dir.string();
  TrainScenario(s, o);  // to the end: the checkpoint is at the last step
  const std::string file = Slurp(dir / "checkpoint.bin");
  const std::vector<std::string> lines = MetricLines(dir);
  const std::string summary = Slurp(dir / "summary.json");

  SUBCASE("a line without kind or episode count is refused") {
    for (const char* key : {"kind", "episodes"}) {
      json j = ParseJson(LineOfKind(lines, "train"), "line");
      j.erase(key);
      const std::string bad = Seal(ReplaceStored(Payload(file), LineOfKind(lines, "train"), j.dump()));
      const std::string e = RuntimeErrorOf([&] { LoadCheckpointBytes(bad, s, "ck"); });
      CHECK_MESSAGE(e.find("checkpoint ck is corrupt: a progress line: lacks its kind, step or episode count") !=
                        std::string::npos,
                    key << ": " << e);
    }
  }
  SUBCASE("lines without the optional metrics resume: the summary pass skips them") {
    // An eval line without normalized_score and a train line without
    // episode_return_mean are valid (undefined scores are left out); a
    // resume after the last checkpoint goes straight to the summary pass.
    const std::string eval = LineOfKind(lines, "eval"), train = LineOfKind(lines, "train");
    json e = ParseJson(eval, "line"), t = ParseJson(train, "line");
    REQUIRE(e.contains("normalized_score"));
    REQUIRE(t.contains("episode_return_mean"));
    e.erase("normalized_score");
    t.erase("episode_return_mean");
    const std::string p = ReplaceStored(ReplaceStored(Payload(file), eval, e.dump()), train, t.dump());
    CHECK(RuntimeErrorOf([&] { LoadCheckpointBytes(Seal(p), s, "ck"); }) == "");
    {
      std::ofstream out(dir / "checkpoint.bin", std::ios::binary | std::ios::trunc);
      out << Seal(p);
    }
    TrainOptions r = o;
    r.resume = true;
    CHECK(RuntimeErrorOf([&] { TrainScenario(s, r); }) == "");
    // The area is the mean over the eval lines (after step 0) that still
    // have a number: the edited one is left out.
    double area = 0;
    int evals = 0;
    for (const std::string& l : MetricLines(dir)) {
      const json j = ParseJson(l, "line");
      if (j["kind"] == "eval" && j["step"] != 0 && j.contains("normalized_score") && j["normalized_score"].is_number()) {
        area += j["normalized_score"].get<double>();
        ++evals;
      }
    }
    const json resumed = ParseJson(Slurp(dir / "summary.json"), "summary");
    CHECK(resumed["train_steps"] == s.run.train_steps);
    REQUIRE(evals > 0);
    CHECK(resumed["normalized_score_area"].get<double>() == doctest::Approx(area / evals));
  }
}

TEST_CASE("hardening: a negative catalog creation tick is refused") {
  const Scenario s = LiveBandit(R"({"type":"random"})");
  const std::string file = CheckpointOf(s, "created");
  std::string p = Payload(file);
  // After the catalog tag: dim, rng, then topic, quality, length, features
  // (4-byte elements), then created.
  size_t at = AfterTag(p, "catalog") + sizeof(int) + sizeof(Rng);
  for (int v = 0; v < 4; ++v) {
    uint64_t n = 0;
    std::memcpy(&n, p.data() + at, 8);
    at += 8 + n * 4;
  }
  uint64_t n = 0;
  std::memcpy(&n, p.data() + at, 8);
  REQUIRE(n > 0);
  Put<int64_t>(p, at + 8, -1);
  const std::string e = RuntimeErrorOf([&] { LoadCheckpointBytes(Seal(p), s, "ck"); });
  CHECK_MESSAGE(e.find("catalog.created[0] = -1 is outside") != std::string::npos, e);
}
