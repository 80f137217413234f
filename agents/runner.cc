#include "agents/runner.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "agents/registry.h"
#include "core/io.h"
#include "core/stats.h"
#include "env/vec_env.h"

namespace cohort {

json EpisodeRecord::ToJson() const {
  return {{"user", user},
          {"return", ret},
          {"cold_start_return", cold_start_return},
          {"length", length},
          {"clicks", clicks},
          {"likes", likes},
          {"dislikes", dislikes},
          {"watch_time", watch_time},
          {"sessions", sessions},
          {"returns", returns},
          {"terminated", terminated},
          {"truncated", truncated},
          {"regret", regret}};
}

void EpisodeTracker::Start(const StepBatch& batch) {
  current_.assign(size_t(batch.rows), EpisodeRecord{});
  for (int r = 0; r < batch.rows; ++r)
    current_[size_t(r)].user = batch.active[size_t(r)] ? batch.user_id[size_t(r)] : -1;
}

int64_t EpisodeTracker::Record(const StepBatch& batch, std::vector<EpisodeRecord>& finished) {
  int64_t steps = 0;
  for (int r = 0; r < batch.rows; ++r) {
    EpisodeRecord& e = current_[size_t(r)];
    if (e.user < 0) continue;  // slot finished its users
    ++steps;
    ++e.length;
    e.ret += batch.reward[size_t(r)];
    if (e.length <= kColdStartSteps) e.cold_start_return += batch.reward[size_t(r)];
    const int32_t click = batch.click_position[size_t(r)];
    if (click >= 0) {
      const size_t i = size_t(r) * batch.slate_size + size_t(click);
      ++e.clicks;
      e.likes += batch.liked[i];
      e.dislikes += batch.disliked[i];
      e.watch_time += batch.watch_time[i];
    }
    const bool over = batch.terminated[size_t(r)] || batch.truncated[size_t(r)];
    if (batch.session_ended[size_t(r)] && !over) {
      ++e.sessions;
      ++e.returns;
    }
    if (over) {
      e.terminated = batch.terminated[size_t(r)];
      e.truncated = batch.truncated[size_t(r)];
      finished.push_back(e);
      e = EpisodeRecord{};
      e.user = batch.active[size_t(r)] ? batch.user_id[size_t(r)] : -1;
    }
  }
  return steps;
}

Rollout RollOutWith(VecEnv& env, Agent& agent, bool regret, bool learn, const ProgressFn& progress, int64_t done_offset,
                    int64_t total, RolloutExtras* extras) {
  Rollout out;
  out.agent = agent.type();
  const int B = env.num_envs(), k = env.model().params().slate_size;
  SlateBatch slates;
  slates.Resize(B, k);
  std::vector<int32_t> oracle(static_cast<size_t>(k));
  EpisodeTracker tracker;
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  // Coverage, diversity and entropy (evaluation extras).
  std::vector<uint8_t> seen;
  int64_t seen_count = 0, slates_shown = 0;
  double diversity = 0.0, entropy = 0.0;
  int64_t entropy_steps = 0;
  const bool per_item = env.model().params().catalog.source == CandidateSource::kLive;
  const int num_topics = env.model().params().num_topics;
  if (extras != nullptr && !per_item) seen.assign(size_t(num_topics), 0);
  std::unique_ptr<ExposureMeter> exposure;
  if (extras != nullptr) exposure = std::make_unique<ExposureMeter>(env);

  const StepBatch* batch = &env.Reset();
  tracker.Start(*batch);
  while (env.AnyActive()) {
    agent.Act(*batch, slates);
    if (extras != nullptr) {
      exposure->Record(*batch, slates);
      const double h = agent.LastPolicyEntropy();
      if (std::isfinite(h)) entropy += h, ++entropy_steps;
      for (int r = 0; r < B; ++r) {
        if (!batch->active[size_t(r)]) continue;
        const int32_t* slate = slates.Row(r);
        uint64_t topics_mask[64] = {};  // distinct topics in the slate (k <= 64)
        int distinct = 0;
        for (int j = 0; j < k; ++j) {
          const size_t rc = size_t(r) * size_t(batch->num_candidates) + size_t(slate[j]);
          const int32_t t = batch->topic[rc];
          bool dup = false;
          for (int i = 0; i < j; ++i) dup = dup || topics_mask[i] == uint64_t(t);
          topics_mask[j] = uint64_t(t);
          distinct += !dup;
          const int64_t key = per_item ? batch->item_id[rc] : t;
          if (key >= int64_t(seen.size())) seen.resize(size_t(key) + 1, 0);
          if (key >= 0 && !seen[size_t(key)]) seen[size_t(key)] = 1, ++seen_count;
        }
        diversity += double(distinct) / double(k);
        ++slates_shown;
      }
    }
    if (regret) {
      for (int r = 0; r < B; ++r) {
        if (!batch->active[size_t(r)]) continue;
        tracker.current()[size_t(r)].regret += env.OracleSlate(r, oracle.data()) - env.ExpectedReward(r, slates.Row(r));
      }
    }
    batch = &env.Step(slates);
    if (exposure) exposure->EndEpisodes(*batch);
    if (learn) {
      agent.Observe(*batch);
      if (agent.learns()) agent.Update();
    }
    out.steps += tracker.Record(*batch, out.episodes);
    if (progress) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report > std::chrono::milliseconds(200)) {
        last_report = now;
        progress(out.steps, done_offset + int64_t(out.episodes.size()), total);
      }
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(out.episodes.begin(), out.episodes.end(),
            [](const EpisodeRecord& a, const EpisodeRecord& b) { return a.user < b.user; });
  if (progress) progress(out.steps, done_offset + int64_t(out.episodes.size()), total);
  if (extras != nullptr) {
    const double universe = per_item ? double(env.catalog().total_items()) : double(num_topics);
    extras->coverage = universe > 0 ? double(seen_count) / universe : 0.0;
    extras->slate_diversity = slates_shown > 0 ? diversity / double(slates_shown) : 0.0;
    extras->policy_entropy = entropy_steps > 0 ? entropy / double(entropy_steps) : std::nan("");
    extras->exposure = exposure->Finish();
  }
  return out;
}

void AddRolloutExtras(const RolloutExtras& extras, json& summary) {
  summary["coverage"] = extras.coverage;
  summary["slate_diversity"] = extras.slate_diversity;
  summary["policy_entropy"] = std::isfinite(extras.policy_entropy) ? json(extras.policy_entropy) : json(nullptr);
  const ExposureMetrics& e = extras.exposure;
  summary["exposure_gini"] = e.exposure_gini;
  summary["long_tail_share"] = e.long_tail_share;
  summary["exposure_merit_gap"] = e.exposure_merit_gap;
  summary["calibration_kl"] = e.calibration_kl;
  json topics = json::array();
  for (size_t t = 0; t < e.by_topic.size(); ++t)
    topics.push_back({{"topic", t}, {"exposure_share", e.by_topic[t].exposure_share},
                      {"merit_share", e.by_topic[t].merit_share}});
  summary["exposure_by_topic"] = topics;
}

VecEnv::Options PlainRunEnvOptions(const RunParams& run) {
  VecEnv::Options options;
  options.num_envs = static_cast<int>(std::min<int64_t>(run.num_envs, run.episodes));
  options.threads = run.threads;
  options.max_users = run.episodes;
  return options;
}

Rollout RollOut(const Scenario& scenario, const json& agent_config, bool regret, const ProgressFn& progress,
                int64_t done_offset, int64_t total, RolloutExtras* extras) {
  const VecEnv::Options options = PlainRunEnvOptions(scenario.run);
  VecEnv env(scenario.env, scenario.seed, scenario.variant, options);
  AgentContext ctx{env.spec(), GroundTruth(env), scenario.seed, scenario.variant, options.num_envs};
  std::unique_ptr<Agent> agent = MakeAgent(agent_config, ctx, scenario.file);
  return RollOutWith(env, *agent, regret, /*learn=*/true, progress, done_offset, total, extras);
}

std::unique_ptr<VecEnv> MakeEvalEnv(const EnvParams& params, uint64_t seed, uint64_t variant, int num_envs, int threads,
                                    int64_t users, const VecEnv& world) {
  auto env = std::make_unique<VecEnv>(params, seed, variant, VecEnv::Options{num_envs, threads, users, kFirstEvalUser});
  if (!world.stationary()) env->StartFromWorldOf(world);
  return env;
}

std::vector<bool> HumanEpisodes(const Scenario& scenario, const Rollout& r) {
  std::vector<bool> human(r.episodes.size(), true);
  if (scenario.env.bots.empty()) return human;
  for (size_t i = 0; i < r.episodes.size(); ++i)
    human[i] = BotEntryOf(scenario.env.bots, scenario.seed, scenario.variant, r.episodes[i].user) < 0;
  return human;
}

json SummarizeRollout(const Scenario& scenario, const Rollout& r) {
  RunningStat ret, length, clicks, watch, sessions, regret;
  int64_t total_clicks = 0, returns = 0, session_ends = 0;
  for (const EpisodeRecord& e : r.episodes) {
    ret.Add(e.ret);
    length.Add(double(e.length));
    clicks.Add(double(e.clicks));
    watch.Add(e.watch_time);
    sessions.Add(e.sessions);
    regret.Add(e.regret);
    total_clicks += e.clicks;
    returns += e.returns;
    session_ends += e.sessions;
  }
  const double steps = double(r.steps);
  json s;
  s["scenario"] = scenario.resolved["name"];
  s["agent"] = r.agent;
  s["seed"] = scenario.seed;
  // The variant by name ("test:3", null for the base scenario) and its
  // sampled parameter values; the numeric id only seeds streams.
  s["variant"] = scenario.variant_name.empty() ? json(nullptr) : json(scenario.variant_name);
  if (!scenario.variant_name.empty()) s["variant_values"] = scenario.variant_values;
  s["episodes"] = int64_t(r.episodes.size());
  s["steps"] = r.steps;
  s["return_mean"] = ret.mean();
  s["return_std"] = ret.stddev();
  s["return_ci95"] = ret.ci95();
  s["episode_length_mean"] = length.mean();
  s["clicks_per_episode"] = clicks.mean();
  // CTR per slate (a step shows one slate); item_ctr per shown item.
  s["ctr"] = steps > 0 ? double(total_clicks) / steps : 0.0;
  s["item_ctr"] = steps > 0 ? double(total_clicks) / (steps * scenario.env.slate_size) : 0.0;
  s["watch_time_per_episode"] = watch.mean();
  s["sessions_per_episode"] = sessions.mean();
  s["return_rate"] = session_ends > 0 ? double(returns) / double(session_ends) : 0.0;
  if (!scenario.env.bots.empty()) {
    const std::vector<bool> human = HumanEpisodes(scenario, r);
    RunningStat human_ret, bot_ret;
    for (size_t i = 0; i < r.episodes.size(); ++i) (human[i] ? human_ret : bot_ret).Add(r.episodes[i].ret);
    s["human_users"] = human_ret.count();
    s["bot_users"] = bot_ret.count();
    s["human_return_mean"] = human_ret.count() > 0 ? json(human_ret.mean()) : json(nullptr);
    s["human_return_ci95"] = human_ret.count() > 1 ? json(human_ret.ci95()) : json(nullptr);
    s["bot_return_mean"] = bot_ret.count() > 0 ? json(bot_ret.mean()) : json(nullptr);
  }
  if (scenario.run.regret) {
    s["regret_per_episode"] = regret.mean();
    s["regret_per_step"] = steps > 0 ? regret.mean() * double(r.episodes.size()) / steps : 0.0;
  }
  return s;
}

void CheckFiniteSummary(const json& summary) {
  for (const auto& [key, v] : summary.items()) {
    if (!v.is_number_float() || std::isfinite(v.get<double>())) continue;
    throw std::runtime_error("summary metric " + key + " is " + (std::isnan(v.get<double>()) ? "NaN" : "infinite") +
                             ": rewards or the agent's statistics overflowed; check the scale of env.reward's "
                             "weights and of the parameters they multiply, or the agent's learning rate");
  }
}

void AddReferenceScores(const Scenario& scenario, const Rollout& main, const Rollout& random, const Rollout& oracle,
                        json& summary) {
  const size_t n = std::min({main.episodes.size(), random.episodes.size(), oracle.episodes.size()});
  RunningStat rr, ro;
  // The whole episodes, and each user's first kColdStartSteps steps alone.
  std::vector<double> m(n), r(n), o(n), cm(n), cr(n), co(n);
  RunningStat cold;
  for (size_t i = 0; i < n; ++i) {
    m[i] = main.episodes[i].ret, r[i] = random.episodes[i].ret, o[i] = oracle.episodes[i].ret;
    cm[i] = main.episodes[i].cold_start_return, cr[i] = random.episodes[i].cold_start_return;
    co[i] = oracle.episodes[i].cold_start_return;
    rr.Add(r[i]);
    ro.Add(o[i]);
    cold.Add(cm[i]);
  }
  summary["random_return_mean"] = rr.mean();
  summary["oracle_return_mean"] = ro.mean();
  // The oracle-random span is estimated from the same users as the agent's
  // gain, so the interval is that of a ratio of paired means (core/stats.h).
  const std::optional<Estimate> score = NormalizedScore(m, r, o);
  summary["normalized_score"] = score ? json(score->value) : json(nullptr);
  summary["normalized_score_ci95"] = score ? json(score->ci95) : json(nullptr);
  const std::optional<Estimate> cold_score = NormalizedScore(cm, cr, co);
  summary["cold_start_return_mean"] = n > 0 ? json(cold.mean()) : json(nullptr);
  summary["cold_start_normalized_score"] = cold_score ? json(cold_score->value) : json(nullptr);
  summary["cold_start_normalized_score_ci95"] = cold_score ? json(cold_score->ci95) : json(nullptr);
  if (scenario.env.bots.empty()) return;
  const std::vector<bool> human = HumanEpisodes(scenario, main);
  std::vector<double> hm, hr, ho;
  for (size_t i = 0; i < n; ++i) {
    if (!human[i] || main.episodes[i].user != random.episodes[i].user || main.episodes[i].user != oracle.episodes[i].user)
      continue;
    hm.push_back(m[i]), hr.push_back(r[i]), ho.push_back(o[i]);
  }
  const std::optional<Estimate> human_score = NormalizedScore(hm, hr, ho);
  summary["human_normalized_score"] = human_score ? json(human_score->value) : json(nullptr);
  summary["human_normalized_score_ci95"] = human_score ? json(human_score->ci95) : json(nullptr);
}

RunOutput RunScenario(const Scenario& scenario, const std::string& out_dir, const RunProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  namespace fs = std::filesystem;
  if (!out_dir.empty()) {
    fs::create_directories(out_dir);
    WriteFileAtomic((fs::path(out_dir) / "scenario.resolved.json").string(), scenario.resolved.dump(2) + "\n");
  }
  const int64_t n = scenario.run.episodes;
  // Each pass reports its own (steps, episodes); `report` adds the passes
  // before it, so the agent's episodes and the reference rollouts are counted
  // apart.
  RunProgress at{0, 0, n, 0, scenario.run.reference ? 2 * n : 0};
  auto pass = [&](bool reference) -> ProgressFn {
    if (!progress) return nullptr;
    const RunProgress before = at;
    return [&, before, reference](int64_t steps, int64_t done, int64_t) {
      at.steps = before.steps + steps;
      (reference ? at.reference_done : at.done) = (reference ? before.reference_done : before.done) + done;
      progress(at);
    };
  };
  if (progress) progress(at);
  RunOutput out;
  RolloutExtras extras;
  out.main = RollOut(scenario, scenario.agent, scenario.run.regret, pass(false), 0, n, &extras);
  out.summary = SummarizeRollout(scenario, out.main);
  AddRolloutExtras(extras, out.summary);
  if (scenario.run.reference) {
    // Reference policies see the same users (user streams depend on the user
    // index only), so the normalized score is a paired comparison.
    const Rollout random = RollOut(scenario, json{{"type", "random"}}, false, pass(true), 0, n);
    const Rollout oracle = RollOut(scenario, json{{"type", "oracle"}}, false, pass(true), 0, n);
    AddReferenceScores(scenario, out.main, random, oracle, out.summary);
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.summary["steps_per_second"] = out.main.seconds > 0 ? double(out.main.steps) / out.main.seconds : 0.0;
  out.summary["elapsed_seconds"] = elapsed;
  CheckFiniteSummary(out.summary);
  if (!out_dir.empty()) {
    AtomicLineWriter metrics((fs::path(out_dir) / "metrics.jsonl").string());
    for (const EpisodeRecord& e : out.main.episodes) metrics.Write(e.ToJson().dump());
    metrics.Commit();
    WriteFileAtomic((fs::path(out_dir) / "summary.json").string(), out.summary.dump(2) + "\n");
  }
  return out;
}

}  // namespace cohort
