// Memory estimates (env/memory.h, agents/memory.h): close to what the
// simulator, the variant family and the agents really allocate (measured with
// mallinfo2), and a run above the limit refused with its keys named. Every
// check that refuses sets COHORT_MEMORY_LIMIT, so nothing depends on the
// memory of the machine the tests run on.
#include <doctest/doctest.h>
#include <malloc.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "agents/memory.h"
#include "agents/registry.h"
#include "env/memory.h"
#include "env/scenario.h"
#include "env/variants.h"
#include "env/vec_env.h"
#include "tests/input_error_of.h"

namespace cohort {

using testing::InputErrorOf;
namespace {

// mallinfo2 sees glibc's allocator only: under AddressSanitizer (the
// sanitizer build, docs/hardening.md) it reports nothing, so the checks
// against a measurement are left out there (the estimates are still made).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kHeapMeasured = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kHeapMeasured = false;
#else
constexpr bool kHeapMeasured = true;
#endif
#else
constexpr bool kHeapMeasured = true;
#endif
// A check against a heap measurement.
#define CHECK_MEASURED(...) \
  if (kHeapMeasured) CHECK(__VA_ARGS__)

// Bytes in use on the heap (small blocks and mmapped large ones).
double HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return double(m.uordblks) + double(m.hblkhd);
}

// Sets COHORT_MEMORY_LIMIT for the scope.
class MemoryLimit {
 public:
  explicit MemoryLimit(const char* value) { setenv("COHORT_MEMORY_LIMIT", value, 1); }
  ~MemoryLimit() { unsetenv("COHORT_MEMORY_LIMIT"); }
};

Scenario Parse(const json& doc) { return ParseScenario(doc, "test.json", AgentRegistry()); }

}  // namespace

TEST_CASE("memory: COHORT_MEMORY_LIMIT values, and sizes as text") {
  CHECK(ParseMemoryLimit("64G") == 64.0 * 1024 * 1024 * 1024);
  CHECK(ParseMemoryLimit("512m") == 512.0 * 1024 * 1024);
  CHECK(ParseMemoryLimit("1.5 GiB") == 1.5 * 1024 * 1024 * 1024);
  CHECK(ParseMemoryLimit("1000") == 1000.0);
  CHECK(ParseMemoryLimit("off") < 0);
  for (const char* bad : {"lots", "-1G", "0", "12Q", "", "nan"})
    CHECK(InputErrorOf([&] { ParseMemoryLimit(bad); }).find("COHORT_MEMORY_LIMIT: expected a size in bytes") == 0);
  {
    MemoryLimit limit("12X");
    CHECK(InputErrorOf([] { FindAvailableMemory(); }).find("COHORT_MEMORY_LIMIT") == 0);
  }
  {
    MemoryLimit limit("2G");
    const AvailableMemory m = FindAvailableMemory();
    CHECK(m.bytes == 2.0 * 1024 * 1024 * 1024);
    CHECK(m.source == "COHORT_MEMORY_LIMIT=2G");
  }
  unsetenv("COHORT_MEMORY_LIMIT");
  CHECK(FindAvailableMemory().bytes > 0);  // /proc/meminfo (or the cgroup) says something
  CHECK(FormatBytes(800) == "800 B");
  CHECK(FormatBytes(1.5 * 1024 * 1024 * 1024) == "1.5 GiB");
  CHECK(FormatBytes(49.0 * 1024 * 1024 * 1024) == "49 GiB");
}

TEST_CASE("memory: the simulator's estimate is what a VecEnv allocates") {
  // Embedding candidates dominate: 300 slots x 1000 candidates x (32 floats
  // + id, topic, length, quality).
  const Scenario s = Parse({{"env",
                             {{"num_topics", 40},
                              {"candidates", 1000},
                              {"slate_size", 4},
                              {"catalog", {{"features", "embedding"}, {"embedding_dim", 32}}},
                              {"observation", {{"history", 10}}},
                              {"dynamics", {{"boredom", {{"increment", 0.1}}}}}}},
                            {"run", {{"num_envs", 300}}}});
  MemoryEstimate estimate;
  AddVecEnvMemory(s.env, s.resolved, 300, "run.num_envs=300", estimate);
  const double before = HeapInUse();
  auto env = std::make_unique<VecEnv>(s.env, 1, 0, VecEnv::Options{300, 1, -1});
  const double used = HeapInUse() - before;
  CHECK_MEASURED(used > 30e6);
  CHECK_MEASURED(estimate.bytes() == doctest::Approx(used).epsilon(0.1));
  // The parts name the keys, with their values.
  CHECK(estimate.Describe().find("run.num_envs=300, env.candidates=1000, env.catalog.embedding_dim=32") !=
        std::string::npos);
}

TEST_CASE("memory: a live catalog and a variant family are estimated as they are held") {
  const Scenario s = Parse({{"env", {{"catalog", {{"source", "live"}, {"size", 400000}}}}}});
  MemoryEstimate catalog;
  AddCatalogMemory(s.env, s.resolved, CatalogItems(s.env, 0), 1, catalog);
  const double before = HeapInUse();
  {
    VecEnv env(s.env, 1, 0, VecEnv::Options{4, 1, -1});
    env.Reset();  // draws the catalog
    const double used = HeapInUse() - before;
    CHECK_MEASURED(catalog.bytes() == doctest::Approx(used).epsilon(0.15));
  }

  json doc = {
      {"family",
       {{"parameters",
         json::array(
             {{{"path", "env.dynamics.interest.drift_std"}, {"low", 0.0}, {"high", 0.1}},
              {{"path", "env.choice.temperature"}, {"distribution", "log_uniform"}, {"low", 0.5}, {"high", 2.0}}})},
        {"splits", {{"train", 200000}, {"validation", 10}, {"test", 10}}}}}};
  const Scenario f = Parse(doc);
  MemoryEstimate family;
  AddFamilyMemory(f.resolved, family);
  const double start = HeapInUse();
  const VariantFamily variants(f, AgentRegistry());
  const double held = HeapInUse() - start;
  CHECK_MEASURED(held > 20e6);
  // The estimate is the peak: the variants, and the set of their
  // assignments that the constructor frees when it is done.
  CHECK_MEASURED(family.bytes() >= held);
  CHECK_MEASURED(family.bytes() <= 1.5 * held);
  CHECK(family.Describe().find("split \"train\" held in memory (family.splits.train=200000)") != std::string::npos);
}

TEST_CASE("memory: agents add their large state (LinUCB's d x d matrices, popularity's tables)") {
  const Scenario s = Parse({{"env", {{"num_topics", 200}}}, {"agent", {{"type", "linucb"}}}});
  MemoryEstimate agent;
  AddAgentMemory(s.agent, s.env, s.resolved, 8, "run.num_envs=8", 0, agent);
  // d = 3 x 200 + 4 = 604: A and A^-1 held, Reinvert's two temporaries counted too.
  CHECK(agent.bytes() >= 4.0 * 604 * 604 * 8);
  VecEnv env(s.env, 1, 0, VecEnv::Options{8, 1, -1});
  const double before = HeapInUse();
  auto linucb = MakeAgent(s.agent, AgentContext{env.spec(), std::nullopt, 1, 0, 8});
  const double used = HeapInUse() - before;
  CHECK_MEASURED(used >= 2.0 * 604 * 604 * 8);
  CHECK_MEASURED(agent.bytes() >= used);
  CHECK_MEASURED(agent.bytes() <= 2.5 * used);
  CHECK(agent.Describe().find("env.num_topics=200") != std::string::npos);

  const Scenario live =
      Parse({{"env", {{"catalog", {{"source", "live"}, {"size", 1000000}}}}}, {"agent", {{"type", "popularity"}}}});
  MemoryEstimate popularity;
  AddAgentMemory(live.agent, live.env, live.resolved, 8, "run.num_envs=8", 0, popularity);
  CHECK(popularity.bytes() >= 1e6 * 16);
  CHECK(popularity.Describe().find("per item of the live catalog") != std::string::npos);
}

TEST_CASE("memory: a run above the limit is refused, naming the keys that drive it") {
  const Scenario big =
      Parse({{"env", {{"num_topics", 4096}}}, {"run", {{"num_envs", 1 << 20}, {"episodes", 1 << 20}}}});
  const MemoryEstimate e = EstimateRunMemory(big);
  CHECK(e.bytes() > 40.0 * 1024 * 1024 * 1024);  // 1M slots x 4096 dims, several arrays
  {
    MemoryLimit limit("16G");
    const std::string error = InputErrorOf([&] { CheckRunMemory(big); });
    CHECK(error.find("test.json: /run/num_envs: the run needs about ") == 0);
    CHECK(error.find("more than the 16 GiB available (COHORT_MEMORY_LIMIT=16G)") != std::string::npos);
    CHECK(error.find("run.num_envs=1048576, env.num_topics=4096") != std::string::npos);
  }
  {
    MemoryLimit limit("off");
    CHECK(InputErrorOf([&] { CheckRunMemory(big); }).empty());
  }
  {
    // The shipped defaults need little: far below any machine's memory.
    MemoryLimit limit("256M");
    CHECK(InputErrorOf([] { CheckRunMemory(Parse(json::object())); }).empty());
  }
  // A training run also holds an evaluation simulator and the checkpoint it writes.
  const Scenario train = Parse({{"env", {{"num_topics", 4096}}},
                                {"agent", {{"type", "linucb"}}},
                                {"run", {{"num_envs", 64}, {"train_steps", 10}}}});
  const std::string d = EstimateRunMemory(train).Describe(100);
  CHECK(d.find("evaluation simulator") != std::string::npos);
  CHECK(d.find("checkpoint.bin being written: agent \"linucb\": ridge matrices") != std::string::npos);
}

}  // namespace cohort
