// Determinism: results depend only on (scenario, seed, variant), never on the
// thread count, and for non-learning policies on a resampled catalog not on
// the number of slots; the runner's files are byte-identical across thread
// counts.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "agents/runner.h"
#include "env/scenario.h"
#include "env/vec_env.h"

namespace cohort {
namespace {

namespace fs = std::filesystem;

std::string RecSimPath() { return std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json"; }

// Exercises most of the simulator: embeddings, a live catalog with arrivals,
// retirement and events, noisy observations, history, cascade clicks, likes
// and dislikes, boredom, drift, leaving, retention and heterogeneous traits.
json KitchenSinkDoc() {
  return json{
      {"seed", 17},
      {"env",
       {{"num_topics", 6},
        {"candidates", 12},
        {"slate_size", 4},
        {"catalog",
         {{"source", "live"},
          {"features", "embedding"},
          {"embedding_dim", 5},
          {"size", 400},
          {"arrival_rate", 3.0},
          {"max_age", 150},
          {"length_std", 1.0},
          {"quality_std", 0.5}}},
        {"users",
         {{"segments", json::array({{{"name", "a"}, {"weight", 2.0}},
                                    {{"name", "b"}, {"distribution", "normal"}, {"mean", 0.3}, {"std", 0.2}}})},
          {"time_budget", {{"mean", 40.0}, {"std", 10.0}}},
          {"patience", {{"mean", 1.0}, {"std", 0.3}}},
          {"click_propensity", {{"mean", 1.0}, {"std", 0.2}}},
          {"return_propensity", {{"mean", 0.8}, {"std", 0.1}}},
          {"bots", json::array({{{"kind", "random"}, {"fraction", 0.1}},
                                {{"kind", "clickbait"}, {"fraction", 0.1}, {"click_probability", 0.8}},
                                {{"kind", "click_farm"}, {"fraction", 0.1}, {"topic", 2}}})}}},
        {"observation", {{"interests", "noisy"}, {"noise_std", 0.2}, {"history", 3}, {"budget", true}}},
        {"choice", {{"type", "cascade"}, {"first_attention", 0.9}, {"position_decay", 0.8}, {"temperature", 0.4}}},
        {"score", {{"quality_weight", 0.3}}},
        {"response", {{"like", true}, {"dislike", true}, {"completion_quality", 0.1}, {"completion_base", 0.8}}},
        {"reward", {{"click", 0.5}, {"like", 1.0}, {"dislike", -1.0}}},
        {"dynamics",
         {{"interest", {{"rule", "recsim"}, {"drift_std", 0.02}}},
          {"boredom", {{"increment", 0.2}, {"decay", 0.95}, {"gap_decay", 0.9}}},
          {"satisfaction", {{"affinity", 0.5}, {"no_click", -0.1}, {"gap_decay", 0.95}}},
          {"leave", {{"base", 0.02}, {"dissatisfaction", 0.1}}}}},
        {"retention",
         {{"enabled", true},
          {"max_sessions", 4},
          {"return_base", 0.7},
          {"return_satisfaction", 0.2},
          {"gap_mean", 8.0}}},
        {"horizon", {{"max_session_steps", 60}}},
        {"events",
         json::array({{{"at_step", 20}, {"type", "preference_shift"}, {"segment", 1}, {"topic", 2}, {"amount", 0.4}},
                      {{"at_step", 50}, {"type", "quality_shift"}, {"topic", 3}, {"amount", -1.0}},
                      {{"at_step", 80}, {"type", "new_items"}, {"topic", 4}, {"count", 50}}})}}}};
}

template <typename T>
bool SameBytes(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Compares every field of two StepBatches byte for byte; returns the name of
// the first field that differs, or "".
std::string FirstDifference(const StepBatch& a, const StepBatch& b) {
#define COHORT_COMPARE(field) \
  if (!SameBytes(a.field, b.field)) return #field;
  if (a.rows != b.rows || a.num_candidates != b.num_candidates || a.slate_size != b.slate_size || a.dim != b.dim ||
      a.history != b.history || a.interests_observed != b.interests_observed ||
      a.candidate_features != b.candidate_features)
    return "shape";
  if (a.tick != b.tick) return "tick";
  COHORT_COMPARE(env_id)
  COHORT_COMPARE(active)
  COHORT_COMPARE(user_id)
  COHORT_COMPARE(session_index)
  COHORT_COMPARE(session_step)
  COHORT_COMPARE(episode_step)
  COHORT_COMPARE(reward)
  COHORT_COMPARE(terminated)
  COHORT_COMPARE(truncated)
  COHORT_COMPARE(session_ended)
  COHORT_COMPARE(end_reason)
  COHORT_COMPARE(gap)
  COHORT_COMPARE(click_position)
  COHORT_COMPARE(examined)
  COHORT_COMPARE(clicked)
  COHORT_COMPARE(liked)
  COHORT_COMPARE(disliked)
  COHORT_COMPARE(watch_time)
  COHORT_COMPARE(interests)
  COHORT_COMPARE(final_interests)
  COHORT_COMPARE(budget)
  COHORT_COMPARE(history_topics)
  COHORT_COMPARE(item_id)
  COHORT_COMPARE(topic)
  COHORT_COMPARE(length)
  COHORT_COMPARE(features)
#undef COHORT_COMPARE
  return "";
}

// Hidden per-row state, byte for byte.
std::string FirstHiddenDifference(const VecEnv& a, const VecEnv& b) {
  const int dim = a.batch().dim, topics = a.model().num_topics();
  for (int r = 0; r < a.num_envs(); ++r) {
    if (std::memcmp(a.TrueInterests(r), b.TrueInterests(r), sizeof(float) * size_t(dim)) != 0) return "interests";
    if ((a.Boredom(r) == nullptr) != (b.Boredom(r) == nullptr)) return "boredom";
    if (a.Boredom(r) && std::memcmp(a.Boredom(r), b.Boredom(r), sizeof(float) * size_t(topics)) != 0) return "boredom";
    const double x[] = {a.Budget(r), a.Satisfaction(r), a.UserTime(r)};
    const double y[] = {b.Budget(r), b.Satisfaction(r), b.UserTime(r)};
    if (std::memcmp(x, y, sizeof(x)) != 0) return "budget/satisfaction/time";
    if (a.Segment(r) != b.Segment(r)) return "segment";
    if (a.Bot(r) != b.Bot(r)) return "bot";
  }
  return "";
}

// Steps VecEnvs with 1, 2 and 3 threads on the same scenario with the random
// agent for 300 steps; every StepBatch field and the hidden state agree byte
// for byte after every step.
void CheckThreadInvariance(const Scenario& s, uint64_t seed) {
  const int B = 64;
  std::vector<std::unique_ptr<VecEnv>> envs;
  std::vector<std::unique_ptr<Agent>> agents;
  std::vector<SlateBatch> slates(3);
  for (int threads = 1; threads <= 3; ++threads) {
    envs.push_back(std::make_unique<VecEnv>(s.env, seed, s.variant, VecEnv::Options{B, threads, -1}));
    AgentContext ctx{MakeEnvSpec(s.env), GroundTruth(*envs.back()), seed, s.variant, B};
    agents.push_back(MakeAgent(json{{"type", "random"}}, ctx));
    slates[size_t(threads - 1)].Resize(B, s.env.slate_size);
  }
  for (auto& env : envs) env->Reset();
  for (size_t i = 1; i < envs.size(); ++i) REQUIRE(FirstDifference(envs[0]->batch(), envs[i]->batch()) == "");
  int64_t ends = 0;
  for (int t = 1; t <= 300; ++t) {
    for (size_t i = 0; i < envs.size(); ++i) {
      agents[i]->Act(envs[i]->batch(), slates[i]);
      envs[i]->Step(slates[i]);
    }
    for (int r = 0; r < B; ++r) ends += envs[0]->batch().terminated[size_t(r)] || envs[0]->batch().truncated[size_t(r)];
    for (size_t i = 1; i < envs.size(); ++i) {
      CAPTURE(t);
      CAPTURE(i + 1);  // thread count
      REQUIRE(FirstDifference(envs[0]->batch(), envs[i]->batch()) == "");
      REQUIRE(FirstHiddenDifference(*envs[0], *envs[i]) == "");
    }
  }
  CHECK(ends > 50);  // auto-resets were part of the comparison
}

TEST_CASE("determinism: VecEnv is thread-count invariant (recsim scenario)") {
  const Scenario s = LoadScenario(RecSimPath(), {}, AgentRegistry());
  CheckThreadInvariance(s, 5);
}

TEST_CASE("determinism: VecEnv is thread-count invariant (every feature)") {
  const Scenario s = ParseScenario(KitchenSinkDoc(), "kitchen_sink", AgentRegistry());
  CheckThreadInvariance(s, s.seed);
}

// final_interests is only meaningful on rows whose episode just ended; keep
// it there and zero it elsewhere.
StepBatch MaskFinalInterests(StepBatch b) {
  for (int r = 0; r < b.rows; ++r)
    if (!b.terminated[size_t(r)] && !b.truncated[size_t(r)])
      std::fill_n(&b.final_interests[size_t(r) * b.dim], b.dim, 0.0f);
  return b;
}

// Reset() replays the same run: events, the live catalog and all user
// streams restart from the scenario as written. (final_interests is compared
// on ended rows only: Reset leaves the previous run's values elsewhere.)
TEST_CASE("determinism: Reset replays the run exactly") {
  const Scenario s = ParseScenario(KitchenSinkDoc(), "kitchen_sink", AgentRegistry());
  const int B = 32, steps = 120;
  VecEnv env(s.env, s.seed, 0, VecEnv::Options{B, 1, -1});
  std::vector<StepBatch> first;
  for (int pass = 0; pass < 2; ++pass) {
    AgentContext ctx{MakeEnvSpec(s.env), GroundTruth(env), s.seed, 0, B};
    std::unique_ptr<Agent> agent = MakeAgent(json{{"type", "random"}}, ctx);
    SlateBatch slates;
    slates.Resize(B, s.env.slate_size);
    const StepBatch* batch = &env.Reset();
    for (int t = 0; t <= steps; ++t) {
      if (pass == 0) {
        first.push_back(MaskFinalInterests(*batch));
      } else {
        CAPTURE(t);
        REQUIRE(FirstDifference(first[size_t(t)], MaskFinalInterests(*batch)) == "");
      }
      if (t == steps) break;
      agent->Act(*batch, slates);
      batch = &env.Step(slates);
    }
  }
}

// A checkpoint taken mid-run (after two events, before the third) continues
// bit-identically: slots, streams, live catalog, clock and the model edits of
// the events already applied.
TEST_CASE("determinism: a VecEnv checkpoint continues bit-identically") {
  const Scenario s = ParseScenario(KitchenSinkDoc(), "kitchen_sink", AgentRegistry());
  const int B = 24;
  auto make = [&](std::unique_ptr<VecEnv>& env, std::unique_ptr<Agent>& agent) {
    env = std::make_unique<VecEnv>(s.env, s.seed, 0, VecEnv::Options{B, 1, -1});
    AgentContext ctx{MakeEnvSpec(s.env), GroundTruth(*env), s.seed, 0, B};
    agent = MakeAgent(json{{"type", "random"}}, ctx);
  };
  std::unique_ptr<VecEnv> a, b;
  std::unique_ptr<Agent> pa, pb;
  make(a, pa);
  make(b, pb);
  SlateBatch sa, sb;
  sa.Resize(B, s.env.slate_size);
  sb.Resize(B, s.env.slate_size);
  a->Reset();
  for (int t = 0; t < 60; ++t) {
    pa->Act(a->batch(), sa);
    a->Step(sa);
  }
  BinaryWriter w;
  a->Save(w);
  pa->Save(w);
  b->Reset();  // a different state, to be overwritten
  BinaryReader r(w.data(), "test");
  b->Load(r);
  pb->Load(r);
  CHECK(r.done());
  REQUIRE(FirstDifference(a->batch(), b->batch()) == "");
  for (int t = 60; t < 140; ++t) {
    pa->Act(a->batch(), sa);
    pb->Act(b->batch(), sb);
    REQUIRE(sa.index == sb.index);
    a->Step(sa);
    b->Step(sb);
    CAPTURE(t);
    REQUIRE(FirstDifference(a->batch(), b->batch()) == "");
    REQUIRE(FirstHiddenDifference(*a, *b) == "");
  }
  CHECK(a->catalog().total_items() == b->catalog().total_items());
  // A checkpoint of another shape is refused with a message.
  VecEnv other(s.env, s.seed, 0, VecEnv::Options{B + 1, 1, -1});
  BinaryReader r2(w.data(), "test");
  CHECK_THROWS_WITH_AS(other.Load(r2), doctest::Contains("another shape"), std::runtime_error);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

json WithoutTimings(json summary) {
  for (const std::string& key : kTimingKeys) summary.erase(key);
  return summary;
}

// The full run (agent, random and oracle reference passes, regret) gives the
// same summary and byte-identical metrics.jsonl / summary.json (timings
// aside) with 1 and 2 threads.
TEST_CASE("determinism: RunScenario output is thread-count invariant") {
  const fs::path root = fs::temp_directory_path() / ("cohort_test_determinism_" + std::to_string(::getpid()));
  fs::remove_all(root);
  std::vector<RunOutput> outputs;
  for (int threads : {1, 2}) {
    const Scenario s =
        LoadScenario(RecSimPath(), {"run.episodes=200", "run.num_envs=64", "run.threads=" + std::to_string(threads)},
                     AgentRegistry());
    REQUIRE(s.run.threads == threads);
    outputs.push_back(RunScenario(s, (root / std::to_string(threads)).string(), nullptr));
  }
  const json a = WithoutTimings(outputs[0].summary), b = WithoutTimings(outputs[1].summary);
  CHECK(a.dump() == b.dump());
  CHECK(a["episodes"] == 200);
  for (const std::string& key : kTimingKeys) CHECK(outputs[0].summary.contains(key));
  CHECK(a.contains("oracle_return_mean"));
  CHECK(a.contains("regret_per_episode"));

  const std::string metrics1 = ReadFile(root / "1" / "metrics.jsonl");
  const std::string metrics2 = ReadFile(root / "2" / "metrics.jsonl");
  CHECK(!metrics1.empty());
  CHECK(std::count(metrics1.begin(), metrics1.end(), '\n') == 200);
  CHECK(metrics1 == metrics2);
  const json summary1 = WithoutTimings(json::parse(ReadFile(root / "1" / "summary.json")));
  const json summary2 = WithoutTimings(json::parse(ReadFile(root / "2" / "summary.json")));
  CHECK(summary1.dump(2) == summary2.dump(2));
  CHECK(summary1.dump() == a.dump());  // the file holds the returned summary
  fs::remove_all(root);
}

// Compares two rollouts user by user.
void CheckSameEpisodes(const Rollout& a, const Rollout& b) {
  REQUIRE(a.episodes.size() == b.episodes.size());
  CHECK(a.steps == b.steps);
  for (size_t i = 0; i < a.episodes.size(); ++i) {
    CAPTURE(i);
    const EpisodeRecord &x = a.episodes[i], &y = b.episodes[i];
    CHECK(x.user == y.user);
    CHECK(x.ret == y.ret);
    CHECK(x.length == y.length);
    CHECK(x.clicks == y.clicks);
    CHECK(x.watch_time == y.watch_time);
    CHECK(x.sessions == y.sessions);
    CHECK(x.terminated == y.terminated);
    CHECK(x.truncated == y.truncated);
  }
}

// A user's episode depends only on the user index: the random agent on a
// resampled catalog gives the same per-user episodes with 16 or 64 slots.
TEST_CASE("determinism: per-user results do not depend on num_envs") {
  const Scenario s16 = LoadScenario(RecSimPath(), {"run.episodes=128", "run.num_envs=16"}, AgentRegistry());
  const Scenario s64 = LoadScenario(RecSimPath(), {"run.episodes=128", "run.num_envs=64"}, AgentRegistry());
  const Rollout a = RollOut(s16, json{{"type", "random"}}, false, nullptr);
  const Rollout b = RollOut(s64, json{{"type", "random"}}, false, nullptr);
  REQUIRE(a.episodes.size() == 128);
  for (size_t i = 0; i < a.episodes.size(); ++i) CHECK(a.episodes[i].user == int64_t(i));
  CheckSameEpisodes(a, b);
  // Also with retention, traits and a greedy policy (resampled catalog).
  json doc = KitchenSinkDoc();
  doc["env"]["catalog"] = {{"source", "resample"}, {"length_std", 1.0}};
  doc["env"].erase("events");
  doc["run"] = {{"episodes", 96}, {"num_envs", 8}};
  const Scenario k8 = ParseScenario(doc, "k", AgentRegistry());
  doc["run"]["num_envs"] = 96;
  const Scenario k96 = ParseScenario(doc, "k", AgentRegistry());
  CheckSameEpisodes(RollOut(k8, json{{"type", "random"}}, false, nullptr),
                    RollOut(k96, json{{"type", "random"}}, false, nullptr));
  CheckSameEpisodes(RollOut(k8, json{{"type", "greedy"}, {"score", "affinity"}}, false, nullptr),
                    RollOut(k96, json{{"type", "greedy"}, {"score", "affinity"}}, false, nullptr));
}

// Different seeds (or variant ids) give different users and results.
TEST_CASE("determinism: different seeds give different results") {
  const Scenario s0 = LoadScenario(RecSimPath(), {"run.episodes=64", "run.num_envs=64"}, AgentRegistry());
  const Scenario s1 = LoadScenario(RecSimPath(), {"run.episodes=64", "run.num_envs=64", "seed=1"}, AgentRegistry());
  Scenario v1 = s0;
  v1.variant = 1;
  const Rollout a = RollOut(s0, json{{"type", "random"}}, false, nullptr);
  const Rollout b = RollOut(s1, json{{"type", "random"}}, false, nullptr);
  const Rollout c = RollOut(v1, json{{"type", "random"}}, false, nullptr);
  const Rollout again = RollOut(s0, json{{"type", "random"}}, false, nullptr);
  REQUIRE(a.episodes.size() == 64);
  int differ_seed = 0, differ_variant = 0;
  for (size_t i = 0; i < a.episodes.size(); ++i) {
    differ_seed += a.episodes[i].ret != b.episodes[i].ret;
    differ_variant += a.episodes[i].ret != c.episodes[i].ret;
  }
  CHECK(differ_seed > 48);
  CHECK(differ_variant > 48);
  CheckSameEpisodes(a, again);
  // Different seeds also start different users.
  VecEnv e0(s0.env, 0, 0, VecEnv::Options{4, 1, -1}), e1(s0.env, 1, 0, VecEnv::Options{4, 1, -1});
  e0.Reset();
  e1.Reset();
  CHECK(std::memcmp(e0.TrueInterests(0), e1.TrueInterests(0), sizeof(float) * 20) != 0);
}

}  // namespace
}  // namespace cohort
