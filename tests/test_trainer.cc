// The training runner: learning curves in metrics.jsonl, evaluation that does
// not disturb training, interruption and bit-identical resume, bad settings.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agents/registry.h"
#include "agents/runner.h"
#include "agents/trainer.h"

namespace fs = std::filesystem;
using namespace cohort;

namespace {

Scenario Bandit(int64_t eval_every) {
  return LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json",
                      {"agent.type=epsilon_greedy", "run.num_envs=32", "run.episodes=40", "run.train_steps=60",
                       "run.eval_every=" + std::to_string(eval_every), "run.checkpoint_every=7"},
                      AgentRegistry());
}

fs::path Fresh(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("cohort_test_trainer_" + name);
  fs::remove_all(p);
  return p;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json WithoutTimings(json s) {
  for (const std::string& k : kTimingKeys) s.erase(k);
  return s;
}

std::vector<json> Lines(const fs::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
  return out;
}

}  // namespace

TEST_CASE("trainer: learning curve lines, final evaluation and checkpoint") {
  const Scenario s = Bandit(20);
  TrainOptions o;
  o.out_dir = Fresh("curve").string();
  const TrainOutput r = TrainScenario(s, o);
  CHECK_FALSE(r.interrupted);
  CHECK(r.step == 60);
  const auto lines = Lines(fs::path(o.out_dir) / "metrics.jsonl");
  // eval at 0, then (train, eval) at 20, 40, 60.
  REQUIRE(lines.size() == 7);
  CHECK(lines[0]["kind"] == "eval");
  CHECK(lines[0]["step"] == 0);
  CHECK(lines[1]["kind"] == "train");
  CHECK(lines[1]["user_steps"] == 20 * 32);
  CHECK(lines[6]["kind"] == "eval");
  CHECK(lines[6]["step"] == 60);
  for (const char* key :
       {"return_mean", "clicks_per_episode", "watch_time_per_episode", "ctr", "episode_length_mean", "return_rate",
        "regret_per_episode", "normalized_score", "coverage", "slate_diversity", "policy_entropy"})
    CHECK(lines[6].contains(key));
  CHECK(lines[6]["episodes"] == 40);  // every evaluation sees all its users
  CHECK(r.summary["train_steps"] == 60);
  CHECK(r.summary["train_user_steps"] == 60 * 32);
  CHECK(r.summary["return_mean"] == lines[6]["return_mean"]);
  // The area under the learning curve: evaluations at 20, 40 and 60 (not 0).
  CHECK(r.summary["normalized_score_area"].get<double>() ==
        doctest::Approx((lines[2]["normalized_score"].get<double>() + lines[4]["normalized_score"].get<double>() +
                         lines[6]["normalized_score"].get<double>()) /
                        3.0)
            .epsilon(1e-12));
  CHECK(fs::exists(fs::path(o.out_dir) / "checkpoint.bin"));
  CHECK(fs::exists(fs::path(o.out_dir) / "summary.json"));
}

TEST_CASE("trainer: periodic evaluation does not change training") {
  TrainOptions a, b;
  a.out_dir = Fresh("eval_often").string();
  b.out_dir = Fresh("eval_once").string();
  const TrainOutput often = TrainScenario(Bandit(3), a);
  const TrainOutput once = TrainScenario(Bandit(60), b);
  json x = WithoutTimings(often.summary), y = WithoutTimings(once.summary);
  CHECK(x["normalized_score_area"] != y["normalized_score_area"]);  // the curve has other points
  x.erase("normalized_score_area");
  y.erase("normalized_score_area");
  CHECK(x == y);  // the final policy and its evaluation are the same
}

TEST_CASE("trainer: an interrupted run resumes bit-identically") {
  const Scenario s = Bandit(20);
  TrainOptions full, part;
  full.out_dir = Fresh("full").string();
  part.out_dir = Fresh("part").string();
  const TrainOutput whole = TrainScenario(s, full);
  part.stop_at_step = 33;  // mid-interval, not on a checkpoint boundary
  const TrainOutput stopped = TrainScenario(s, part);
  CHECK(stopped.interrupted);
  CHECK(stopped.step == 33);
  CHECK_FALSE(fs::exists(fs::path(part.out_dir) / "summary.json"));
  part.stop_at_step = -1;
  part.resume = true;
  const TrainOutput resumed = TrainScenario(s, part);
  CHECK(resumed.step == 60);
  CHECK(Slurp(fs::path(full.out_dir) / "metrics.jsonl") == Slurp(fs::path(part.out_dir) / "metrics.jsonl"));
  CHECK(WithoutTimings(whole.summary) == WithoutTimings(resumed.summary));
  CHECK(Slurp(fs::path(full.out_dir) / "checkpoint.bin") == Slurp(fs::path(part.out_dir) / "checkpoint.bin"));
}

// on_eval reports every evaluation line's step, score and interval; the
// progress callback's first call is the starting point (after a resume, the
// resumed step and user-steps, so a rate counts only this process's work).
TEST_CASE("trainer: on_eval follows the evaluations; progress starts where the run starts") {
  const Scenario s = Bandit(20);
  struct Eval {
    int64_t step;
    double score, ci95;
  };
  std::vector<Eval> seen;
  std::vector<std::array<int64_t, 3>> calls;
  TrainOptions o;
  o.out_dir = Fresh("on_eval").string();
  o.on_eval = [&](int64_t step, double score, double ci95) { seen.push_back({step, score, ci95}); };
  o.progress = [&](int64_t user_steps, int64_t done, int64_t total) { calls.push_back({user_steps, done, total}); };
  o.stop_at_step = 33;
  REQUIRE(TrainScenario(s, o).interrupted);
  REQUIRE_FALSE(calls.empty());
  CHECK(calls.front() == std::array<int64_t, 3>{0, 0, 60});
  const int64_t user_steps_at_stop = calls.back()[0];
  CHECK(calls.back()[1] <= 33);
  calls.clear();
  o.stop_at_step = -1;
  o.resume = true;
  REQUIRE_FALSE(TrainScenario(s, o).interrupted);
  REQUIRE(calls.size() >= 2);
  CHECK(calls.front()[1] == 33);  // the resumed step, before any new work
  CHECK(calls.front()[0] >= user_steps_at_stop);
  CHECK(calls.back() == std::array<int64_t, 3>{calls.back()[0], 60, 60});
  std::vector<json> evals;
  for (const json& l : Lines(fs::path(o.out_dir) / "metrics.jsonl"))
    if (l["kind"] == "eval") evals.push_back(l);
  REQUIRE(evals.size() == 4);  // 0, 20, 40, 60: each reported once although the run was resumed
  REQUIRE(seen.size() == evals.size());
  for (size_t i = 0; i < evals.size(); ++i) {
    CHECK(seen[i].step == evals[i]["step"].get<int64_t>());
    CHECK(seen[i].score == evals[i]["normalized_score"].get<double>());
    CHECK(seen[i].ci95 == evals[i]["normalized_score_ci95"].get<double>());
    CHECK(seen[i].ci95 > 0.0);
  }
}

TEST_CASE("trainer: bad settings are input errors") {
  const Scenario s = Bandit(20);
  TrainOptions o;
  o.out_dir = Fresh("bad").string();
  o.resume = true;
  CHECK_THROWS_WITH_AS(TrainScenario(s, o), doctest::Contains("no checkpoint.bin"), InputError);
}

// The myopic oracle (privileged: it reads the environment it acts in) runs the
// training loop and is evaluated on the evaluation users: normalized score 1.
// In a non-stationary world the evaluations follow the training world: the
// references move with the scheduled preference shifts.
TEST_CASE("trainer: the oracle trains like any agent; evaluations follow a non-stationary world") {
  const Scenario s = LoadScenario(
      std::string(COHORT_SOURCE_DIR) + "/scenarios/preference_shift.json",
      {"run.train_steps=320", "run.eval_every=160", "run.num_envs=32", "run.episodes=64", "agent.type=oracle"},
      AgentRegistry());
  TrainOptions o;
  o.out_dir = Fresh("oracle").string();
  const TrainOutput out = TrainScenario(s, o);
  CHECK(out.summary["normalized_score"].get<double>() == 1.0);
  CHECK(out.summary["normalized_score_ci95"].get<double>() == 0.0);
  std::vector<json> evals;
  for (const json& l : Lines(fs::path(o.out_dir) / "metrics.jsonl"))
    if (l["kind"] == "eval") evals.push_back(l);
  REQUIRE(evals.size() == 3);  // steps 0, 160, 320
  for (const json& e : evals) {
    CHECK(e["normalized_score"].get<double>() == 1.0);
    CHECK(e["normalized_score_ci95"].get<double>() == 0.0);
  }
  // Shifts at 150 and 300 change the world each evaluation meets.
  CHECK(evals[0]["oracle_return_mean"] != evals[1]["oracle_return_mean"]);
  CHECK(evals[1]["oracle_return_mean"] != evals[2]["oracle_return_mean"]);
  CHECK(evals[0]["random_return_mean"] != evals[2]["random_return_mean"]);
}

// kSummaryMetricKeys lists every numeric key a summary can hold: a sweep's
// report.metrics is checked against it before any cell runs, so a key a run
// writes but the list lacks would be refused there.
TEST_CASE("runner: cold start is the reward of each user's first steps, scored against the references") {
  // The same users rolled by hand with the same agent: each user's first
  // kColdStartSteps rewards (all of them for shorter episodes).
  const Scenario s = LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json",
                                  {"agent.type=greedy", "run.episodes=24", "run.num_envs=8"}, AgentRegistry());
  auto rollout = [&](std::map<int64_t, std::vector<double>>* rewards) {
    VecEnv env(s.env, s.seed, s.variant, PlainRunEnvOptions(s.run));
    AgentContext ctx{env.spec(), GroundTruth(env), s.seed, s.variant, env.num_envs()};
    std::unique_ptr<Agent> agent = MakeAgent(s.agent, ctx);
    if (rewards == nullptr) return RollOutWith(env, *agent, false, false, {}, 0, 0, nullptr);
    SlateBatch slates;
    slates.Resize(env.num_envs(), s.env.slate_size);
    const StepBatch* b = &env.Reset();
    while (std::any_of(b->active.begin(), b->active.end(), [](uint8_t a) { return a != 0; })) {
      std::vector<int64_t> users(b->user_id.begin(), b->user_id.end());
      std::vector<uint8_t> active(b->active.begin(), b->active.end());
      agent->Act(*b, slates);
      b = &env.Step(slates);
      for (int r = 0; r < env.num_envs(); ++r)
        if (active[size_t(r)]) (*rewards)[users[size_t(r)]].push_back(b->reward[size_t(r)]);
    }
    return Rollout{};
  };
  std::map<int64_t, std::vector<double>> rewards;
  rollout(&rewards);
  const Rollout r = rollout(nullptr);
  REQUIRE(r.episodes.size() == 24);
  int short_episodes = 0;
  for (const EpisodeRecord& e : r.episodes) {
    const std::vector<double>& mine = rewards.at(e.user);
    REQUIRE(int64_t(mine.size()) == e.length);
    double first = 0.0;
    for (size_t t = 0; t < mine.size() && t < size_t(kColdStartSteps); ++t) first += mine[t];
    CHECK(e.cold_start_return == doctest::Approx(first).epsilon(1e-9));
    CHECK(e.cold_start_return != doctest::Approx(e.ret));  // RecSim's users stay longer than 5 steps
    short_episodes += e.length < kColdStartSteps;
  }
  CHECK(short_episodes == 0);
  // Scored like the whole episode: greedy by the observed affinity is the
  // myopic oracle's ranking on RecSim's first steps (score 1 exactly); half
  // of its slates replaced by uniform ones score in between.
  const json greedy = RunScenario(s, "", {}).summary;
  CHECK(greedy["cold_start_return_mean"].is_number());
  CHECK(greedy["cold_start_normalized_score"].get<double>() == doctest::Approx(1.0));
  Scenario mixed = s;
  mixed.agent = json{{"type", "logging"}, {"policy", {{"type", "greedy"}}}, {"epsilon", 0.5}};
  mixed.agent = ParseScenario(json{{"env", s.resolved["env"]}, {"agent", mixed.agent}, {"run", s.resolved["run"]}},
                              "test", AgentRegistry())
                    .agent;
  const json summary = RunScenario(mixed, "", {}).summary;
  const double score = summary["cold_start_normalized_score"].get<double>(),
               ci = summary["cold_start_normalized_score_ci95"].get<double>();
  MESSAGE("epsilon-greedy (0.5) cold start: " << score << " +/- " << ci << ", whole episode "
                                              << summary["normalized_score"]);
  CHECK(ci > 0.0);
  CHECK(score > 0.1);
  CHECK(score < 0.9);
  CHECK(summary["cold_start_return_mean"].get<double>() < greedy["cold_start_return_mean"].get<double>());
}

TEST_CASE("summary keys: every numeric key of a plain and a training run is listed") {
  const std::set<std::string> listed(kSummaryMetricKeys.begin(), kSummaryMetricKeys.end());
  auto check = [&](const json& summary) {
    int numeric = 0;
    for (auto it = summary.begin(); it != summary.end(); ++it) {
      if (!it->is_number() || it.key() == "seed") continue;
      ++numeric;
      CHECK_MESSAGE(listed.count(it.key()) == 1,
                    "summary key \"" << it.key() << "\" is missing from kSummaryMetricKeys");
    }
    CHECK(numeric >= 15);
  };
  const Scenario plain = LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json",
                                      {"run.episodes=40", "run.num_envs=32"}, AgentRegistry());
  check(RunScenario(plain, "", {}).summary);
  const Scenario with_bots = LoadScenario(
      std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json",
      {"run.episodes=40", "run.num_envs=32", R"(env.users.bots=[{"kind": "random", "fraction": 0.3}])"},
      AgentRegistry());
  const json bot_summary = RunScenario(with_bots, "", {}).summary;
  CHECK(bot_summary.contains("human_normalized_score"));
  check(bot_summary);
  TrainOptions o;
  o.out_dir = Fresh("summary_keys").string();
  check(TrainScenario(Bandit(30), o).summary);
}
