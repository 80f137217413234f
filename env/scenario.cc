#include "env/scenario.h"

#include <cmath>

#include "core/bind.h"
#include "env/choice.h"
#include "env/variants.h"

namespace cohort {
namespace {

// The largest magnitude of a simulation parameter (weights, means, stds,
// rates, budgets): keeps every score, reward, budget and statistic finite in
// float and double arithmetic (issue: 1e308 made budgets NaN and runs hang).
constexpr double kInf = kMaxParameterMagnitude;
constexpr long long kMaxSteps = 1'000'000'000'000;  // readable bound in `cohort list`

// The one table of each enumeration's names (schema choices and reading).
const EnumTable<CandidateSource> kCandidateSources = {{CandidateSource::kResample, "resample"},
                                                      {CandidateSource::kLive, "live"}};
const EnumTable<FeatureKind> kFeatureKinds = {{FeatureKind::kOneHot, "one_hot"},
                                              {FeatureKind::kEmbedding, "embedding"}};
const EnumTable<bool> kSegmentDistributions = {{false, "uniform"}, {true, "normal"}};
const EnumTable<Observability> kObservabilities = {
    {Observability::kVisible, "visible"}, {Observability::kNoisy, "noisy"}, {Observability::kHidden, "hidden"}};
const EnumTable<InterestRule> kInterestRules = {{InterestRule::kNone, "none"},
                                                {InterestRule::kRecSim, "recsim"},
                                                {InterestRule::kToward, "toward"},
                                                {InterestRule::kAway, "away"}};
const EnumTable<EventKind> kEventKinds = {{EventKind::kPreferenceShift, "preference_shift"},
                                          {EventKind::kQualityShift, "quality_shift"},
                                          {EventKind::kNewItems, "new_items"}};
const EnumTable<BotKind> kBotKinds = {
    {BotKind::kRandomClicker, "random"}, {BotKind::kClickbait, "clickbait"}, {BotKind::kClickFarm, "click_farm"}};

// All environment schemas live in one struct so their addresses are stable
// (fields point at sub-schemas) and they are built exactly once. Every key is
// bound to the member it fills (core/bind.h): its default is that member's
// initializer in env/params.h, and ParseEnvParams only adds the cross-field
// checks.
struct EnvSchemas {
  static inline const EnvParams kDefaults{};
  BoundSchema<CatalogParams> catalog{"items: topics, features, hidden quality, length, arrival and retirement"};
  BoundSchema<SegmentParams> segment{"one mixture component of the user population's interests"};
  BoundSchema<BotParams> bot{"a share of users who are bots, with one behaviour (docs/simulator.md, \"Bots\")"};
  BoundSchema<Trait> time_budget{"per-user session time budget ~ Normal(mean, std), clipped", kDefaults.time_budget};
  BoundSchema<Trait> patience{"per-user patience (divides the leave probability)", kDefaults.patience};
  BoundSchema<Trait> click_propensity{"per-user multiplier on click odds", kDefaults.click_propensity};
  BoundSchema<Trait> boredom_sensitivity{"per-user weight of boredom in the item score", kDefaults.boredom_sensitivity};
  BoundSchema<Trait> return_propensity{"per-user multiplier on the return probability", kDefaults.return_propensity};
  BoundSchema<EnvParams> users{"the population: interest segments and per-user traits"};
  BoundSchema<SequenceParams> sequence{"the user's last interactions in the observation"};
  BoundSchema<ObservationParams> observation{"what the agent observes about the user"};
  BoundSchema<ScoreParams> score{
      "item utility = affinity_weight*affinity + quality_weight*quality - boredom_weight*sensitivity*boredom"};
  BoundSchema<ResponseParams> response{"behaviours after a click"};
  BoundSchema<RewardParams> reward{"reward = weighted sum of behaviours"};
  BoundSchema<DynamicsParams> interest{"interest evolution after a click, and drift"};
  BoundSchema<DynamicsParams> boredom{"per-topic boredom"};
  BoundSchema<DynamicsParams> satisfaction{"satisfaction: an exponential moving average of experienced utility"};
  BoundSchema<DynamicsParams> budget{"time-budget consumption"};
  BoundSchema<DynamicsParams> leave{"leaving mid-session"};
  BoundSchema<DynamicsParams> dynamics{"user state dynamics"};
  BoundSchema<RetentionParams> retention{"returning for further sessions"};
  BoundSchema<EnvParams> horizon{"step caps (truncation)"};
  BoundSchema<EventParams> event{"a scheduled change at a global step"};
  BoundSchema<EnvParams> env{"the simulated population and catalog"};
  BoundSchema<RunParams> run{"how `cohort run` executes the scenario"};

  EnvSchemas() {
    using C = CatalogParams;
    catalog
        .Enum("source", &C::source, kCandidateSources,
              "resample: K fresh items every step (RecSim); live: K distinct items of a persistent catalog")
        .Enum("features", &C::features, kFeatureKinds,
              "item features: one-hot topic, or a topic-centred embedding in R^embedding_dim")
        .Integer("embedding_dim", &C::embedding_dim, 1, 1024, "embedding dimension (features = embedding)")
        .Number("topic_spread", &C::topic_spread, 0, kInf, "embedding: norm of item noise around its topic centre")
        .NumberArray("topic_weights", &C::topic_weights, 0, kInf, "topic sampling weights; [] = uniform")
        .NumberArray("quality_means", &C::quality_means, -kInf, kInf,
                     "per-topic mean of hidden quality; [] = quality_mean for all")
        .Number("quality_mean", &C::quality_mean, -kInf, kInf, "mean hidden quality when quality_means is []")
        .Number("quality_std", &C::quality_std, 0, kInf, "std of hidden quality around its topic mean")
        .PositiveNumber("length_mean", &C::length_mean, "item length (time units)", kInf)
        .Number("length_std", &C::length_std, 0, kInf, "std of item length (0 = constant)")
        .PositiveNumber("length_min", &C::length_min, "lower clip of item length", kInf)
        .Integer("size", &C::size, 1, 100000000, "live: items at reset")
        .Number("arrival_rate", &C::arrival_rate, 0, kInf, "live: new items per step (Poisson)")
        .Integer("max_age", &C::max_age, 0, kMaxSteps, "live: retire items older than this many steps (0 = never)");

    using S = SegmentParams;
    segment.String("name", &S::name, "segment label")
        .PositiveNumber("weight", &S::weight, "mixture weight")
        .Enum("distribution", &S::normal, kSegmentDistributions, "per-dimension interest distribution")
        .Number("low", &S::low, -1, 1, "uniform: lower bound")
        .Number("high", &S::high, -1, 1, "uniform: upper bound")
        .Number("mean", &S::mean, -1, 1, "normal: mean")
        .Number("std", &S::std, 0, kInf, "normal: std")
        .NumberArray("center", &S::center, -2, 2, "per-dimension offset added to sampled interests; [] = none");

    using Bo = BotParams;
    bot.Enum("kind", &Bo::kind, kBotKinds,
             "random: clicks a uniformly random position; clickbait: clicks the highest-quality item whatever its "
             "interests; click_farm: clicks the first item of `topic`")
        .Number("fraction", &Bo::fraction, 0, 1, "share of users of this kind (the kinds' shares sum to at most 1)")
        .Number("click_probability", &Bo::click_probability, 0, 1, "probability of clicking at all on a slate")
        .Integer("topic", &Bo::topic, -1, 4095, "click_farm only (and required): the topic it clicks; -1 = none");

    // A trait's clip bounds [lo, hi] are also the range of its mean (a
    // positive lower bound: the mean must be > 0).
    for (BoundSchema<Trait>* t :
         {&time_budget, &patience, &click_propensity, &boredom_sensitivity, &return_propensity}) {
      const Trait& d = t->defaults();
      if (d.lo > 0)
        t->PositiveNumber("mean", &Trait::mean, "mean", d.hi);
      else
        t->Number("mean", &Trait::mean, d.lo, d.hi, "mean");
      t->Number("std", &Trait::std, 0, kInf, "std (0 = every user has the mean)");
    }

    using E = EnvParams;
    users.ObjectArray("segments", &E::segments, &segment, "interest mixture; [] = one segment uniform in [-1, 1]")
        .ObjectArray("bots", &E::bots, &bot, "users who are not people, by kind; [] = none")
        .Object("time_budget", &E::time_budget, &time_budget, "session time budget")
        .Object("patience", &E::patience, &patience, "patience trait")
        .Object("click_propensity", &E::click_propensity, &click_propensity, "click propensity trait")
        .Object("boredom_sensitivity", &E::boredom_sensitivity, &boredom_sensitivity, "boredom sensitivity trait")
        .Object("return_propensity", &E::return_propensity, &return_propensity, "return propensity trait");

    using O = ObservationParams;
    observation.Enum("interests", &O::interests, kObservabilities, "user interests in the observation")
        .Number("noise_std", &O::noise_std, 0, kInf, "noisy: Gaussian noise std")
        .Integer("history", &O::history, 0, 1024, "recently clicked topics in the observation")
        .Bool("budget", &O::budget, "remaining time budget in the observation")
        .Object("sequence", &O::sequence, &sequence,
                "the user's last interactions (shown slate, clicks, watch time, likes, reward, gap, session step)");
    sequence.Integer("length", &SequenceParams::length, 0, 1024,
                     "interactions kept, most recent first (0: none; the observation is as without the block)");

    using Sc = ScoreParams;
    score
        .Number("affinity_weight", &Sc::affinity_weight, -kInf, kInf,
                "weight of user-item affinity (interests . features)")
        .Number("quality_weight", &Sc::quality_weight, -kInf, kInf, "weight of hidden quality")
        .Number("boredom_weight", &Sc::boredom_weight, -kInf, kInf,
                "weight of topic boredom (times the user's sensitivity)");

    using R = ResponseParams;
    response.Number("completion_base", &R::completion_base, 0, 1, "fraction of an item watched after a click")
        .Number("completion_quality", &R::completion_quality, -kInf, kInf,
                "completion += this * quality (clipped to [0, 1])")
        .Bool("like", &R::like_enabled, "enable likes after a (not disliked) click")
        .Number("like_bias", &R::like_bias, -kInf, kInf, "P(like) = sigmoid(bias + quality*q + affinity*a)")
        .Number("like_quality", &R::like_quality, -kInf, kInf, "like: quality weight")
        .Number("like_affinity", &R::like_affinity, -kInf, kInf, "like: affinity weight")
        .Bool("dislike", &R::dislike_enabled, "enable dislikes (skips) after a click")
        .Number("dislike_bias", &R::dislike_bias, -kInf, kInf, "P(dislike) = sigmoid(bias + quality*q)")
        .Number("dislike_quality", &R::dislike_quality, -kInf, kInf, "dislike: quality weight")
        .Number("dislike_completion", &R::dislike_completion, 0, 1, "fraction watched when disliked");

    using W = RewardParams;
    reward.Number("click", &W::click, -kInf, kInf, "per click")
        .Number("watch_time", &W::watch_time, -kInf, kInf, "per unit of watch time")
        .Number("like", &W::like, -kInf, kInf, "per like")
        .Number("dislike", &W::dislike, -kInf, kInf, "per dislike")
        .Number("quality", &W::quality, -kInf, kInf, "times the clicked item's hidden quality");

    using D = DynamicsParams;
    interest
        .Enum("rule", &D::interest_rule, kInterestRules,
              "after a click: recsim = toward the item with probability (a+1)/2 else away")
        .Number("step", &D::interest_step, 0, 1, "step size; the step is step*(1-|a|) of the distance to the item")
        .Number("drift_std", &D::drift_std, 0, kInf, "random-walk std per step and dimension")
        .Slider(0.0, 0.2);
    boredom.Number("increment", &D::boredom_increment, 0, kInf, "added to the clicked topic's boredom")
        .Slider(0.0, 2.0)
        .Number("decay", &D::boredom_decay, 0, 1, "boredom multiplier per step")
        .Number("gap_decay", &D::boredom_gap_decay, 0, 1, "boredom multiplier per unit of time away");
    satisfaction.Number("initial", &D::satisfaction_initial, -kInf, kInf, "satisfaction of a new user")
        .Number("decay", &D::satisfaction_decay, 0, 1, "EMA weight of the past")
        .Number("quality", &D::satisfaction_quality, -kInf, kInf, "weight of the clicked item's quality")
        .Number("affinity", &D::satisfaction_affinity, -kInf, kInf, "weight of the clicked item's affinity")
        .Number("boredom", &D::satisfaction_boredom, -kInf, kInf, "weight of the clicked topic's boredom (subtracted)")
        .Number("no_click", &D::satisfaction_no_click, -kInf, kInf, "experienced utility of a step without a click")
        .Number("gap_decay", &D::satisfaction_gap_decay, 0, 1, "satisfaction multiplier per unit of time away");
    budget.Number("no_click_cost", &D::budget_no_click_cost, 0, kInf, "budget spent by a step without a click")
        .Number("quality_gain", &D::budget_quality_gain, -kInf, kInf,
                "click: budget -= watch * (1 - quality_gain*q - affinity_gain*a)")
        .Number("affinity_gain", &D::budget_affinity_gain, -kInf, kInf, "see quality_gain");
    leave.Number("base", &D::leave_base, 0, 1, "P(leave) per step = (base + dissatisfaction*max(0,-s)) / patience")
        .Number("dissatisfaction", &D::leave_dissatisfaction, 0, kInf, "see base");
    dynamics.Flatten("interest", &interest, "interest evolution")
        .Flatten("boredom", &boredom, "boredom")
        .Flatten("satisfaction", &satisfaction, "satisfaction")
        .Flatten("budget", &budget, "budget")
        .Flatten("leave", &leave, "leaving");

    using Rt = RetentionParams;
    retention.Bool("enabled", &Rt::enabled, "users may return after a session ends")
        .Integer("max_sessions", &Rt::max_sessions, 1, 1000000, "sessions per episode (truncated after the last)")
        .Number("return_base", &Rt::return_base, -kInf, kInf,
                "P(return) = clip(base + satisfaction*s, 0, 1) * propensity")
        .Number("return_satisfaction", &Rt::return_satisfaction, -kInf, kInf, "see return_base")
        .PositiveNumber("gap_mean", &Rt::gap_mean,
                        "time away ~ Exponential(mean = gap_mean * exp(-gap_satisfaction*s))")
        .Number("gap_satisfaction", &Rt::gap_satisfaction, -kInf, kInf, "see gap_mean");
    horizon
        .Integer("max_session_steps", &E::max_session_steps, 0, kMaxSteps,
                 "truncate a session after this many steps (0 = none)")
        .Integer("max_episode_steps", &E::max_episode_steps, 0, kMaxSteps,
                 "truncate an episode after this many steps (0 = none)");

    using Ev = EventParams;
    event.Integer("at_step", &Ev::at_step, 1, kMaxSteps, "global step (VecEnv tick) at which it happens")
        .Enum("type", &Ev::kind, kEventKinds, "what happens")
        .Integer("segment", &Ev::segment, -1, 1000000, "preference_shift: segment index (-1 = all)")
        .Integer("topic", &Ev::topic, -1, 1000000, "topic shifted / topic of new items (-1 = sampled)")
        .Number("amount", &Ev::amount, -kInf, kInf, "shift of interest in the topic, or of the topic's quality")
        .Integer("count", &Ev::count, 0, 100000000, "new_items: number of items");
    env.Integer("num_topics", &E::num_topics, 1, 4096, "number of topics")
        .Integer("candidates", &E::num_candidates, 1, 100000, "candidates K offered per step")
        .Integer("slate_size", &E::slate_size, 1, 64, "slate size k (distinct candidates)")
        .Object("catalog", &E::catalog, &catalog, "catalog")
        .Flatten("users", &users, "population")
        .Object("observation", &E::observation, &observation, "observability")
        .Component("choice", &ChoiceModelRegistry(), "mnl", "choice model")
        .Object("score", &E::score, &score, "item utility")
        .Object("response", &E::response, &response, "behaviours")
        .Object("reward", &E::reward, &reward, "reward weights")
        .Object("dynamics", &E::dynamics, &dynamics, "dynamics")
        .Object("retention", &E::retention, &retention, "retention")
        .Flatten("horizon", &horizon, "truncation")
        .ObjectArray("events", &E::events, &event, "scheduled events");

    using Ru = RunParams;
    run.Integer("episodes", &Ru::episodes, 1, kMaxSteps,
                "episodes (users) to simulate; for a learning agent, the users of each evaluation")
        .Integer("num_envs", &Ru::num_envs, 1, 1 << 20, "user slots stepped together (B)")
        .Integer("threads", &Ru::threads, 1, 256, "threads splitting the slots (results do not depend on it)")
        .Bool("reference", &Ru::reference, "also roll out the random and myopic-oracle policies on the same users")
        .Bool("regret", &Ru::regret, "exact per-step regret against the myopic oracle")
        .Integer("train_steps", &Ru::train_steps, 0, kMaxSteps,
                 "learning agents: batched environment steps of training (each steps num_envs users); 0: no training")
        .Integer("eval_every", &Ru::eval_every, 0, kMaxSteps,
                 "learning agents: evaluate every this many steps (0: 10 times per run)")
        .Integer("checkpoint_every", &Ru::checkpoint_every, 0, kMaxSteps,
                 "learning agents: write checkpoint.bin every this many steps (0: at every evaluation)");
  }
};

const EnvSchemas& Schemas() {
  static const EnvSchemas schemas;
  return schemas;
}

void Check(std::vector<Problem>& problems, bool ok, const std::string& file, const std::string& path,
           const std::string& message) {
  if (!ok) problems.push_back({file, path, message});
}

}  // namespace

const Schema& EnvSchema() { return Schemas().env.schema(); }
const Schema& RunSchema() { return Schemas().run.schema(); }

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
  // Every key is copied by its binding (EnvSchemas); what remains here is the
  // choice model (env/choice.cc: its keys depend on its type) and the checks
  // that relate one value to another.
  EnvParams p = Schemas().env.Read(e);
  if (p.segments.empty()) p.segments.push_back(SegmentParams{});
  std::vector<Problem> problems;
  Check(problems, p.slate_size <= p.num_candidates, file, base + "/slate_size",
        "slate_size " + std::to_string(p.slate_size) + " exceeds candidates " + std::to_string(p.num_candidates));

  const CatalogParams& cp = p.catalog;
  const std::string n_topics = std::to_string(p.num_topics);
  Check(problems, cp.topic_weights.empty() || int(cp.topic_weights.size()) == p.num_topics, file,
        base + "/catalog/topic_weights", "expected " + n_topics + " weights (one per topic) or []");
  double weight_sum = 0;
  for (double w : cp.topic_weights) weight_sum += w;
  Check(problems, cp.topic_weights.empty() || weight_sum > 0, file, base + "/catalog/topic_weights",
        "weights must not all be 0");
  Check(problems, cp.quality_means.empty() || int(cp.quality_means.size()) == p.num_topics, file,
        base + "/catalog/quality_means", "expected " + n_topics + " means (one per topic) or []");
  Check(problems, cp.source != CandidateSource::kLive || cp.size >= p.num_candidates, file, base + "/catalog/size",
        "live catalog size " + std::to_string(cp.size) + " is smaller than candidates " +
            std::to_string(p.num_candidates));
  const int dim = p.FeatureDim();
  for (size_t si = 0; si < p.segments.size(); ++si) {
    const SegmentParams& sp = p.segments[si];
    const std::string path = base + "/users/segments/" + std::to_string(si);
    Check(problems, sp.low <= sp.high, file, path + "/low", "low must not exceed high");
    Check(problems, sp.center.empty() || int(sp.center.size()) == dim, file, path + "/center",
          "expected " + std::to_string(dim) + " values (the feature dimension) or []");
  }

  Check(problems, p.bots.size() <= 16, file, base + "/users/bots", "at most 16 kinds of bots");
  double bot_share = 0.0;
  for (size_t bi = 0; bi < p.bots.size(); ++bi) {
    const BotParams& bp = p.bots[bi];
    const std::string path = base + "/users/bots/" + std::to_string(bi);
    bot_share += bp.fraction;
    Check(problems, bp.kind == BotKind::kClickFarm || bp.topic == -1, file, path + "/topic",
          "only click_farm bots have a target topic");
    Check(problems, bp.kind != BotKind::kClickFarm || bp.topic >= 0, file, path + "/topic",
          "a click_farm needs the topic it clicks");
    Check(problems, bp.topic < p.num_topics, file, path + "/topic",
          "topic " + std::to_string(bp.topic) + " >= num_topics " + n_topics);
  }
  Check(problems, bot_share <= 1.0 + 1e-12, file, base + "/users/bots",
        "the bots' fractions sum to " + std::to_string(bot_share) + ", more than 1");

  p.choice = ParseChoiceParams(e["choice"], file, base + "/choice", problems);

  // A session only ends when the budget runs out, the user leaves or a cap is
  // hit; refuse configurations whose episodes could never end.
  const DynamicsParams& dp = p.dynamics;
  const bool budget_ends = dp.budget_no_click_cost > 0 || p.max_session_steps > 0 || dp.leave_base > 0;
  Check(problems, budget_ends || p.max_episode_steps > 0, file, base + "/horizon/max_episode_steps",
        "episodes may never end: set dynamics.budget.no_click_cost > 0, dynamics.leave.base > 0 or a step cap");

  for (size_t ei = 0; ei < p.events.size(); ++ei) {
    const EventParams& evp = p.events[ei];
    const std::string path = base + "/events/" + std::to_string(ei);
    Check(problems, evp.topic < p.num_topics, file, path + "/topic",
          "topic " + std::to_string(evp.topic) + " >= num_topics " + n_topics);
    Check(problems, evp.kind == EventKind::kNewItems || evp.topic >= 0, file, path + "/topic",
          "topic -1 (sampled) is only meaningful for new_items");
    Check(problems, evp.segment < int(p.segments.size()), file, path + "/segment",
          "segment " + std::to_string(evp.segment) + " does not exist (" + std::to_string(p.segments.size()) +
              " segments)");
    Check(problems, evp.kind != EventKind::kNewItems || cp.source == CandidateSource::kLive, file, path + "/type",
          "new_items needs catalog.source = \"live\"");
  }
  if (!problems.empty()) throw InputError(std::move(problems));
  return p;
}

RunParams ParseRunParams(const json& r) { return Schemas().run.Read(r); }

Scenario ParseScenario(const json& doc, const std::string& file, const ComponentRegistry& agents) {
  const Schema root = ScenarioSchema(agents);
  json resolved = Validate(doc, root, file);
  // An empty segment list means one default segment; write it out in full so
  // scenario.resolved.json shows what ran.
  json& segments = resolved["env"]["users"]["segments"];
  if (segments.empty()) segments.push_back(Validate(json::object(), Schemas().segment.schema(), file));
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
  return LoadScenario(ReadJsonFile(path), path, overrides, agents);
}

Scenario LoadScenario(json doc, const std::string& file, const std::vector<std::string>& overrides,
                      const ComponentRegistry& agents) {
  if (!doc.is_object()) throw InputError(file, "", "expected a JSON object at the top level");
  const Schema root = ScenarioSchema(agents);
  for (const std::string& o : overrides) ApplyOverride(doc, o, root);
  try {
    return ParseScenario(doc, file, agents);
  } catch (const InputError& e) {
    RethrowBlamingOverrides(e, overrides);
  }
}

}  // namespace cohort
