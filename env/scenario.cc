#include "env/scenario.h"

#include <cmath>

#include "env/variants.h"

namespace cohort {
namespace {

constexpr double kInf = 1e300;
constexpr long long kMaxSteps = 1'000'000'000'000;  // readable bound in `cohort list`
constexpr long long kMaxCount = 100'000'000;

// All environment schemas live in one struct so their addresses are stable
// (fields point at sub-schemas) and they are built exactly once.
struct EnvSchemas {
  Schema catalog{"items: topics, features, hidden quality, length, arrival and retirement"};
  Schema segment{"one mixture component of the user population's interests"};
  Schema time_budget{"per-user session time budget ~ Normal(mean, std), clipped"};
  Schema patience{"per-user patience (divides the leave probability)"};
  Schema click_propensity{"per-user multiplier on click odds"};
  Schema boredom_sensitivity{"per-user weight of boredom in the item score"};
  Schema return_propensity{"per-user multiplier on the return probability"};
  Schema users{"the population: interest segments and per-user traits"};
  Schema observation{"what the agent observes about the user"};
  Schema score{"item utility = affinity_weight*affinity + quality_weight*quality - boredom_weight*sensitivity*boredom"};
  Schema response{"behaviours after a click"};
  Schema reward{"reward = weighted sum of behaviours"};
  Schema interest{"interest evolution after a click, and drift"};
  Schema boredom{"per-topic boredom"};
  Schema satisfaction{"satisfaction: an exponential moving average of experienced utility"};
  Schema budget{"time-budget consumption"};
  Schema leave{"leaving mid-session"};
  Schema dynamics{"user state dynamics"};
  Schema retention{"returning for further sessions"};
  Schema horizon{"step caps (truncation)"};
  Schema event{"a scheduled change at a global step"};
  Schema env{"the simulated population and catalog"};
  Schema run{"how `cohort run` executes the scenario"};

  EnvSchemas() {
    catalog
        .String("source", "resample", {"resample", "live"},
                "resample: K fresh items every step (RecSim); live: K distinct items of a persistent catalog")
        .String("features", "one_hot", {"one_hot", "embedding"},
                "item features: one-hot topic, or a topic-centred embedding in R^embedding_dim")
        .Integer("embedding_dim", 8, 1, 1024, "embedding dimension (features = embedding)")
        .Number("topic_spread", 0.3, 0, kInf, "embedding: norm of item noise around its topic centre")
        .NumberArray("topic_weights", json::array(), 0, kInf, "topic sampling weights; [] = uniform")
        .NumberArray("quality_means", json::array(), -kInf, kInf,
                     "per-topic mean of hidden quality; [] = quality_mean for all")
        .Number("quality_mean", 0.0, -kInf, kInf, "mean hidden quality when quality_means is []")
        .Number("quality_std", 0.1, 0, kInf, "std of hidden quality around its topic mean")
        .PositiveNumber("length_mean", 4.0, "item length (time units)")
        .Number("length_std", 0.0, 0, kInf, "std of item length (0 = constant)")
        .PositiveNumber("length_min", 0.5, "lower clip of item length")
        .Integer("size", 1000, 1, 100000000, "live: items at reset")
        .Number("arrival_rate", 0.0, 0, kInf, "live: new items per step (Poisson)")
        .Integer("max_age", 0, 0, kMaxSteps, "live: retire items older than this many steps (0 = never)");

    segment.String("name", "all", {}, "segment label")
        .PositiveNumber("weight", 1.0, "mixture weight")
        .String("distribution", "uniform", {"uniform", "normal"}, "per-dimension interest distribution")
        .Number("low", -1.0, -1, 1, "uniform: lower bound")
        .Number("high", 1.0, -1, 1, "uniform: upper bound")
        .Number("mean", 0.0, -1, 1, "normal: mean")
        .Number("std", 0.5, 0, kInf, "normal: std")
        .NumberArray("center", json::array(), -2, 2,
                     "per-dimension offset added to sampled interests; [] = none");

    auto trait = [](Schema& s, double mean, double std, double lo, double hi, bool positive) {
      if (positive) s.PositiveNumber("mean", mean, "mean", hi);
      else s.Number("mean", mean, lo, hi, "mean");
      s.Number("std", std, 0, kInf, "std (0 = every user has the mean)");
    };
    trait(time_budget, 200.0, 0.0, 0, kInf, true);
    trait(patience, 1.0, 0.0, 0, kInf, true);
    trait(click_propensity, 1.0, 0.0, 0, kInf, false);
    trait(boredom_sensitivity, 1.0, 0.0, 0, kInf, false);
    trait(return_propensity, 1.0, 0.0, 0, 1, false);

    users.ObjectArray("segments", &segment, "interest mixture; [] = one segment uniform in [-1, 1]")
        .Object("time_budget", &time_budget, "session time budget")
        .Object("patience", &patience, "patience trait")
        .Object("click_propensity", &click_propensity, "click propensity trait")
        .Object("boredom_sensitivity", &boredom_sensitivity, "boredom sensitivity trait")
        .Object("return_propensity", &return_propensity, "return propensity trait");

    observation
        .String("interests", "visible", {"visible", "noisy", "hidden"}, "user interests in the observation")
        .Number("noise_std", 0.1, 0, kInf, "noisy: Gaussian noise std")
        .Integer("history", 0, 0, 1024, "recently clicked topics in the observation")
        .Bool("budget", false, "remaining time budget in the observation");

    score.Number("affinity_weight", 1.0, -kInf, kInf, "weight of user-item affinity (interests . features)")
        .Number("quality_weight", 0.0, -kInf, kInf, "weight of hidden quality")
        .Number("boredom_weight", 1.0, -kInf, kInf, "weight of topic boredom (times the user's sensitivity)");

    response.Number("completion_base", 1.0, 0, 1, "fraction of an item watched after a click")
        .Number("completion_quality", 0.0, -kInf, kInf, "completion += this * quality (clipped to [0, 1])")
        .Bool("like", false, "enable likes after a (not disliked) click")
        .Number("like_bias", -1.0, -kInf, kInf, "P(like) = sigmoid(bias + quality*q + affinity*a)")
        .Number("like_quality", 1.0, -kInf, kInf, "like: quality weight")
        .Number("like_affinity", 0.0, -kInf, kInf, "like: affinity weight")
        .Bool("dislike", false, "enable dislikes (skips) after a click")
        .Number("dislike_bias", -2.0, -kInf, kInf, "P(dislike) = sigmoid(bias + quality*q)")
        .Number("dislike_quality", -1.0, -kInf, kInf, "dislike: quality weight")
        .Number("dislike_completion", 0.1, 0, 1, "fraction watched when disliked");

    reward.Number("click", 0.0, -kInf, kInf, "per click")
        .Number("watch_time", 1.0, -kInf, kInf, "per unit of watch time")
        .Number("like", 0.0, -kInf, kInf, "per like")
        .Number("dislike", 0.0, -kInf, kInf, "per dislike")
        .Number("quality", 0.0, -kInf, kInf, "times the clicked item's hidden quality");

    interest.String("rule", "recsim", {"none", "recsim", "toward", "away"},
                    "after a click: recsim = toward the item with probability (a+1)/2 else away")
        .Number("step", 0.3, 0, 1, "step size; the step is step*(1-|a|) of the distance to the item")
        .Number("drift_std", 0.0, 0, kInf, "random-walk std per step and dimension");
    boredom.Number("increment", 0.0, 0, kInf, "added to the clicked topic's boredom")
        .Number("decay", 1.0, 0, 1, "boredom multiplier per step")
        .Number("gap_decay", 1.0, 0, 1, "boredom multiplier per unit of time away");
    satisfaction.Number("initial", 0.0, -kInf, kInf, "satisfaction of a new user")
        .Number("decay", 0.9, 0, 1, "EMA weight of the past")
        .Number("quality", 1.0, -kInf, kInf, "weight of the clicked item's quality")
        .Number("affinity", 0.0, -kInf, kInf, "weight of the clicked item's affinity")
        .Number("boredom", 0.0, -kInf, kInf, "weight of the clicked topic's boredom (subtracted)")
        .Number("no_click", 0.0, -kInf, kInf, "experienced utility of a step without a click")
        .Number("gap_decay", 1.0, 0, 1, "satisfaction multiplier per unit of time away");
    budget.Number("no_click_cost", 0.5, 0, kInf, "budget spent by a step without a click")
        .Number("quality_gain", 0.0, -kInf, kInf, "click: budget -= watch * (1 - quality_gain*q - affinity_gain*a)")
        .Number("affinity_gain", 0.0, -kInf, kInf, "see quality_gain");
    leave.Number("base", 0.0, 0, 1, "P(leave) per step = (base + dissatisfaction*max(0,-s)) / patience")
        .Number("dissatisfaction", 0.0, 0, kInf, "see base");
    dynamics.Object("interest", &interest, "interest evolution")
        .Object("boredom", &boredom, "boredom")
        .Object("satisfaction", &satisfaction, "satisfaction")
        .Object("budget", &budget, "budget")
        .Object("leave", &leave, "leaving");
    retention.Bool("enabled", false, "users may return after a session ends")
        .Integer("max_sessions", 1, 1, 1000000, "sessions per episode (truncated after the last)")
        .Number("return_base", 1.0, -kInf, kInf, "P(return) = clip(base + satisfaction*s, 0, 1) * propensity")
        .Number("return_satisfaction", 0.0, -kInf, kInf, "see return_base")
        .PositiveNumber("gap_mean", 24.0, "time away ~ Exponential(mean = gap_mean * exp(-gap_satisfaction*s))")
        .Number("gap_satisfaction", 0.0, -kInf, kInf, "see gap_mean");
    horizon.Integer("max_session_steps", 0, 0, kMaxSteps, "truncate a session after this many steps (0 = none)")
        .Integer("max_episode_steps", 0, 0, kMaxSteps, "truncate an episode after this many steps (0 = none)");
    event.Integer("at_step", 1, 1, kMaxSteps, "global step (VecEnv tick) at which it happens")
        .String("type", "preference_shift", {"preference_shift", "quality_shift", "new_items"}, "what happens")
        .Integer("segment", -1, -1, 1000000, "preference_shift: segment index (-1 = all)")
        .Integer("topic", 0, -1, 1000000, "topic shifted / topic of new items (-1 = sampled)")
        .Number("amount", 0.0, -kInf, kInf, "shift of interest in the topic, or of the topic's quality")
        .Integer("count", 0, 0, 100000000, "new_items: number of items");
    env.Integer("num_topics", 20, 1, 4096, "number of topics")
        .Integer("candidates", 10, 1, 100000, "candidates K offered per step")
        .Integer("slate_size", 2, 1, 64, "slate size k (distinct candidates)")
        .Object("catalog", &catalog, "catalog")
        .Object("users", &users, "population")
        .Object("observation", &observation, "observability")
        .Component("choice", &ChoiceModelRegistry(), "mnl", "choice model")
        .Object("score", &score, "item utility")
        .Object("response", &response, "behaviours")
        .Object("reward", &reward, "reward weights")
        .Object("dynamics", &dynamics, "dynamics")
        .Object("retention", &retention, "retention")
        .Object("horizon", &horizon, "truncation")
        .ObjectArray("events", &event, "scheduled events");
    run.Integer("episodes", 1000, 1, kMaxSteps,
                "episodes (users) to simulate; for a learning agent, the users of each evaluation")
        .Integer("num_envs", 256, 1, 1 << 20, "user slots stepped together (B)")
        .Integer("threads", 1, 1, 256, "threads splitting the slots (results do not depend on it)")
        .Bool("reference", true, "also roll out the random and myopic-oracle policies on the same users")
        .Bool("regret", true, "exact per-step regret against the myopic oracle")
        .Integer("train_steps", 0, 0, kMaxSteps,
                 "learning agents: batched environment steps of training (each steps num_envs users); 0: no training")
        .Integer("eval_every", 0, 0, kMaxSteps, "learning agents: evaluate every this many steps (0: 10 times per run)")
        .Integer("checkpoint_every", 0, 0, kMaxSteps,
                 "learning agents: write checkpoint.bin every this many steps (0: at every evaluation)");
  }
};

const EnvSchemas& Schemas() {
  static const EnvSchemas schemas;
  return schemas;
}

Trait ParseTrait(const json& j, double lo, double hi) {
  return Trait{j["mean"].get<double>(), j["std"].get<double>(), lo, hi};
}

void Check(std::vector<Problem>& problems, bool ok, const std::string& file, const std::string& path,
           const std::string& message) {
  if (!ok) problems.push_back({file, path, message});
}

}  // namespace

const Schema& EnvSchema() { return Schemas().env; }
const Schema& RunSchema() { return Schemas().run; }

Schema ScenarioSchema(const ComponentRegistry& agents) {
  Schema root("a Cohort scenario");
  root.String("name", "", {}, "scenario name")
      .String("description", "", {}, "free text")
      .Integer("seed", 0, 0, kMaxSteps, "root seed of every random stream")
      .Object("env", &EnvSchema(), "environment")
      .Component("agent", &agents, "random", "the policy or learning agent")
      .Object("run", &RunSchema(), "run settings")
      .Object("family", &FamilySchema(), "variant family (ranges over numeric parameters, splits)");
  return root;
}

EnvParams ParseEnvParams(const json& e, const std::string& file, const std::string& base) {
  EnvParams p;
  std::vector<Problem> problems;
  p.num_topics = e["num_topics"].get<int>();
  p.num_candidates = e["candidates"].get<int>();
  p.slate_size = e["slate_size"].get<int>();
  Check(problems, p.slate_size <= p.num_candidates, file, base + "/slate_size",
        "slate_size " + std::to_string(p.slate_size) + " exceeds candidates " + std::to_string(p.num_candidates));

  const json& c = e["catalog"];
  CatalogParams& cp = p.catalog;
  cp.source = c["source"] == "live" ? CandidateSource::kLive : CandidateSource::kResample;
  cp.features = c["features"] == "embedding" ? FeatureKind::kEmbedding : FeatureKind::kOneHot;
  cp.embedding_dim = c["embedding_dim"].get<int>();
  cp.topic_spread = c["topic_spread"].get<double>();
  cp.topic_weights = c["topic_weights"].get<std::vector<double>>();
  cp.quality_means = c["quality_means"].get<std::vector<double>>();
  cp.quality_mean = c["quality_mean"].get<double>();
  cp.quality_std = c["quality_std"].get<double>();
  cp.length_mean = c["length_mean"].get<double>();
  cp.length_std = c["length_std"].get<double>();
  cp.length_min = c["length_min"].get<double>();
  cp.size = c["size"].get<int>();
  cp.arrival_rate = c["arrival_rate"].get<double>();
  cp.max_age = c["max_age"].get<int64_t>();
  const std::string n_topics = std::to_string(p.num_topics);
  Check(problems, cp.topic_weights.empty() || int(cp.topic_weights.size()) == p.num_topics, file,
        base + "/catalog/topic_weights", "expected " + n_topics + " weights (one per topic) or []");
  double weight_sum = 0;
  for (double w : cp.topic_weights) weight_sum += w;
  Check(problems, cp.topic_weights.empty() || weight_sum > 0, file, base + "/catalog/topic_weights",
        "weights must not all be 0");
  Check(problems, cp.quality_means.empty() || int(cp.quality_means.size()) == p.num_topics, file,
        base + "/catalog/quality_means", "expected " + n_topics + " means (one per topic) or []");
  Check(problems, cp.source != CandidateSource::kLive || cp.size >= p.num_candidates, file,
        base + "/catalog/size", "live catalog size " + std::to_string(cp.size) + " is smaller than candidates " +
                                    std::to_string(p.num_candidates));
  const int dim = p.FeatureDim();

  const json& u = e["users"];
  int si = 0;
  for (const json& s : u["segments"]) {
    SegmentParams sp;
    sp.name = s["name"].get<std::string>();
    sp.weight = s["weight"].get<double>();
    sp.normal = s["distribution"] == "normal";
    sp.low = s["low"].get<double>();
    sp.high = s["high"].get<double>();
    sp.mean = s["mean"].get<double>();
    sp.std = s["std"].get<double>();
    sp.center = s["center"].get<std::vector<double>>();
    const std::string path = base + "/users/segments/" + std::to_string(si++);
    Check(problems, sp.low <= sp.high, file, path + "/low", "low must not exceed high");
    Check(problems, sp.center.empty() || int(sp.center.size()) == dim, file, path + "/center",
          "expected " + std::to_string(dim) + " values (the feature dimension) or []");
    p.segments.push_back(std::move(sp));
  }
  if (p.segments.empty()) p.segments.push_back(SegmentParams{});
  p.time_budget = ParseTrait(u["time_budget"], 1e-9, 1e300);
  p.patience = ParseTrait(u["patience"], 1e-9, 1e300);
  p.click_propensity = ParseTrait(u["click_propensity"], 0, 1e300);
  p.boredom_sensitivity = ParseTrait(u["boredom_sensitivity"], 0, 1e300);
  p.return_propensity = ParseTrait(u["return_propensity"], 0, 1);

  const json& o = e["observation"];
  p.observation.interests = o["interests"] == "hidden"  ? Observability::kHidden
                            : o["interests"] == "noisy" ? Observability::kNoisy
                                                        : Observability::kVisible;
  p.observation.noise_std = o["noise_std"].get<double>();
  p.observation.history = o["history"].get<int>();
  p.observation.budget = o["budget"].get<bool>();

  p.choice = ParseChoiceParams(e["choice"], file, base + "/choice", problems);

  const json& sc = e["score"];
  p.score = {sc["affinity_weight"].get<double>(), sc["quality_weight"].get<double>(),
             sc["boredom_weight"].get<double>()};
  const json& r = e["response"];
  ResponseParams& rp = p.response;
  rp.completion_base = r["completion_base"].get<double>();
  rp.completion_quality = r["completion_quality"].get<double>();
  rp.like_enabled = r["like"].get<bool>();
  rp.like_bias = r["like_bias"].get<double>();
  rp.like_quality = r["like_quality"].get<double>();
  rp.like_affinity = r["like_affinity"].get<double>();
  rp.dislike_enabled = r["dislike"].get<bool>();
  rp.dislike_bias = r["dislike_bias"].get<double>();
  rp.dislike_quality = r["dislike_quality"].get<double>();
  rp.dislike_completion = r["dislike_completion"].get<double>();
  const json& w = e["reward"];
  p.reward = {w["click"].get<double>(), w["watch_time"].get<double>(), w["like"].get<double>(),
              w["dislike"].get<double>(), w["quality"].get<double>()};

  const json& d = e["dynamics"];
  DynamicsParams& dp = p.dynamics;
  const std::string rule = d["interest"]["rule"].get<std::string>();
  dp.interest_rule = rule == "none"     ? InterestRule::kNone
                     : rule == "toward" ? InterestRule::kToward
                     : rule == "away"   ? InterestRule::kAway
                                        : InterestRule::kRecSim;
  dp.interest_step = d["interest"]["step"].get<double>();
  dp.drift_std = d["interest"]["drift_std"].get<double>();
  dp.boredom_increment = d["boredom"]["increment"].get<double>();
  dp.boredom_decay = d["boredom"]["decay"].get<double>();
  dp.boredom_gap_decay = d["boredom"]["gap_decay"].get<double>();
  const json& sat = d["satisfaction"];
  dp.satisfaction_initial = sat["initial"].get<double>();
  dp.satisfaction_decay = sat["decay"].get<double>();
  dp.satisfaction_quality = sat["quality"].get<double>();
  dp.satisfaction_affinity = sat["affinity"].get<double>();
  dp.satisfaction_boredom = sat["boredom"].get<double>();
  dp.satisfaction_no_click = sat["no_click"].get<double>();
  dp.satisfaction_gap_decay = sat["gap_decay"].get<double>();
  dp.budget_no_click_cost = d["budget"]["no_click_cost"].get<double>();
  dp.budget_quality_gain = d["budget"]["quality_gain"].get<double>();
  dp.budget_affinity_gain = d["budget"]["affinity_gain"].get<double>();
  dp.leave_base = d["leave"]["base"].get<double>();
  dp.leave_dissatisfaction = d["leave"]["dissatisfaction"].get<double>();

  const json& rt = e["retention"];
  RetentionParams& ret = p.retention;
  ret.enabled = rt["enabled"].get<bool>();
  ret.max_sessions = rt["max_sessions"].get<int>();
  ret.return_base = rt["return_base"].get<double>();
  ret.return_satisfaction = rt["return_satisfaction"].get<double>();
  ret.gap_mean = rt["gap_mean"].get<double>();
  ret.gap_satisfaction = rt["gap_satisfaction"].get<double>();
  p.max_session_steps = e["horizon"]["max_session_steps"].get<int64_t>();
  p.max_episode_steps = e["horizon"]["max_episode_steps"].get<int64_t>();
  // A session only ends when the budget runs out, the user leaves or a cap is
  // hit; refuse configurations whose episodes could never end.
  const bool budget_ends = dp.budget_no_click_cost > 0 || p.max_session_steps > 0 || dp.leave_base > 0;
  Check(problems, budget_ends || p.max_episode_steps > 0, file, base + "/horizon/max_episode_steps",
        "episodes may never end: set dynamics.budget.no_click_cost > 0, dynamics.leave.base > 0 or a step cap");

  int ei = 0;
  for (const json& ev : e["events"]) {
    EventParams evp;
    const std::string path = base + "/events/" + std::to_string(ei++);
    evp.at_step = ev["at_step"].get<int64_t>();
    const std::string kind = ev["type"].get<std::string>();
    evp.kind = kind == "quality_shift" ? EventKind::kQualityShift
               : kind == "new_items"   ? EventKind::kNewItems
                                       : EventKind::kPreferenceShift;
    evp.segment = ev["segment"].get<int>();
    evp.topic = ev["topic"].get<int>();
    evp.amount = ev["amount"].get<double>();
    evp.count = ev["count"].get<int>();
    Check(problems, evp.topic < p.num_topics, file, path + "/topic",
          "topic " + std::to_string(evp.topic) + " >= num_topics " + n_topics);
    Check(problems, evp.kind == EventKind::kNewItems || evp.topic >= 0, file, path + "/topic",
          "topic -1 (sampled) is only meaningful for new_items");
    Check(problems, evp.segment < int(p.segments.size()), file, path + "/segment",
          "segment " + std::to_string(evp.segment) + " does not exist (" + std::to_string(p.segments.size()) +
              " segments)");
    Check(problems, evp.kind != EventKind::kNewItems || cp.source == CandidateSource::kLive, file,
          path + "/type", "new_items needs catalog.source = \"live\"");
    p.events.push_back(evp);
  }
  if (!problems.empty()) throw InputError(std::move(problems));
  return p;
}

RunParams ParseRunParams(const json& r) {
  RunParams rp;
  rp.episodes = r["episodes"].get<int64_t>();
  rp.num_envs = r["num_envs"].get<int>();
  rp.threads = r["threads"].get<int>();
  rp.reference = r["reference"].get<bool>();
  rp.regret = r["regret"].get<bool>();
  rp.train_steps = r["train_steps"].get<int64_t>();
  rp.eval_every = r["eval_every"].get<int64_t>();
  rp.checkpoint_every = r["checkpoint_every"].get<int64_t>();
  return rp;
}

Scenario ParseScenario(const json& doc, const std::string& file, const ComponentRegistry& agents) {
  const Schema root = ScenarioSchema(agents);
  json resolved = Validate(doc, root, file);
  // An empty segment list means one default segment; write it out in full so
  // scenario.resolved.json shows what ran.
  json& segments = resolved["env"]["users"]["segments"];
  if (segments.empty()) segments.push_back(Validate(json::object(), Schemas().segment, file));
  Scenario s;
  s.file = file;
  s.seed = resolved["seed"].get<uint64_t>();
  s.env = ParseEnvParams(resolved["env"], file);
  s.run = ParseRunParams(resolved["run"]);
  s.agent = resolved["agent"];
  CheckFamily(resolved, file, root);
  s.resolved = std::move(resolved);
  return s;
}

Scenario LoadScenario(const std::string& path, const std::vector<std::string>& overrides,
                      const ComponentRegistry& agents) {
  json doc = ReadJsonFile(path);
  if (!doc.is_object()) throw InputError(path, "", "expected a JSON object at the top level");
  const Schema root = ScenarioSchema(agents);
  for (const std::string& o : overrides) ApplyOverride(doc, o, root);
  return ParseScenario(doc, path, agents);
}

}  // namespace cohort
