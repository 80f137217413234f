// Typed environment parameters, built from a validated scenario ("env" block).
// Each member's initializer here IS the scenario key's default: env/scenario.cc
// binds every key to its member (core/bind.h) with its range and doc, so a
// default is written once. This struct is what the hot path reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "env/choice.h"

namespace cohort {

enum class CandidateSource { kResample, kLive };
enum class FeatureKind { kOneHot, kEmbedding };
enum class InterestRule { kNone, kRecSim, kToward, kAway };
enum class Observability { kVisible, kNoisy, kHidden };
enum class EventKind { kPreferenceShift, kQualityShift, kNewItems };
enum class BotKind : uint8_t { kRandomClicker, kClickbait, kClickFarm };

// The largest magnitude a simulation parameter may have (validation bounds
// weights, means, stds, rates and budgets by it), so that every score,
// reward, budget and statistic stays finite.
inline constexpr double kMaxParameterMagnitude = 1e9;

struct Trait {  // per-user trait ~ Normal(mean, std) clipped to [lo, hi]
  double mean = 1.0;
  double std = 0.0;
  double lo = 0.0;
  double hi = kMaxParameterMagnitude;
};

struct CatalogParams {
  CandidateSource source = CandidateSource::kResample;
  FeatureKind features = FeatureKind::kOneHot;
  int embedding_dim = 8;
  double topic_spread = 0.3;          // embedding: item noise around its topic centre
  std::vector<double> topic_weights;  // empty: uniform over topics
  std::vector<double> quality_means;  // per topic; empty: all quality_mean
  double quality_mean = 0.0;
  double quality_std = 0.1;
  double length_mean = 4.0;
  double length_std = 0.0;
  double length_min = 0.5;
  int size = 1000;            // live catalog: items at reset
  double arrival_rate = 0.0;  // live catalog: new items per tick (Poisson)
  int64_t max_age = 0;        // live catalog: retire after this many ticks (0 = never)
};

struct SegmentParams {
  std::string name = "all";
  double weight = 1.0;
  bool normal = false;            // false: uniform [low, high]; true: Normal(mean, std)
  double low = -1.0, high = 1.0;  // uniform
  double mean = 0.0, std = 0.5;   // normal
  std::vector<double> center;     // optional per-dimension offset (size = feature dim)
};

// Users who are not people (env.users.bots): each entry is a share of the
// population with one documented behaviour that replaces the choice model
// (env/dynamics.cc BotTarget). A bot examines the whole slate and clicks at
// most one item, with probability click_probability:
// - random: a uniformly random position, whatever is shown;
// - clickbait: the most attractive item, the one of highest quality (the
//   part of an item's appeal that is the same for every user), first in
//   position order among equals, whatever the bot's interests;
// - click_farm: the first item of `topic` in the slate; none: no click.
// A click is consumed like a person's (Respond: watch time, like, dislike,
// so the reward formula is the same), but bots feel nothing: their
// interests, satisfaction and boredom do not change and do not drift. Their
// sessions still end by budget, leaving (at constant satisfaction) and caps.
struct BotParams {
  BotKind kind = BotKind::kRandomClicker;
  double fraction = 0.0;  // share of users of this kind
  double click_probability = 1.0;
  int topic = -1;  // click_farm: the topic it promotes (-1: none, every other kind)
};

// ChoiceKind and ChoiceParams: env/choice.h.

struct ScoreParams {  // user utility of an item, used by every choice model
  double affinity_weight = 1.0;
  double quality_weight = 0.0;
  double boredom_weight = 1.0;  // times the user's boredom_sensitivity
};

struct ResponseParams {
  double completion_base = 1.0;  // fraction of the item watched after a click
  double completion_quality = 0.0;
  bool like_enabled = false;
  double like_bias = -1.0, like_quality = 1.0, like_affinity = 0.0;
  bool dislike_enabled = false;
  double dislike_bias = -2.0, dislike_quality = -1.0;
  double dislike_completion = 0.1;  // fraction watched when disliked (skip)
};

struct RewardParams {
  double click = 0.0, watch_time = 1.0, like = 0.0, dislike = 0.0, quality = 0.0;
};

// The reward of one click: the weighted sum of what the user did with the
// clicked item (its quality, the time watched, a like, a dislike). A step's
// reward is the sum over its clicks (env/dynamics.cc Respond); `cohort log`
// credits each click's reward to its position with this same function.
inline double ClickReward(const RewardParams& w, double quality, double watch, bool liked, bool disliked) {
  return w.click + w.quality * quality + w.watch_time * watch + w.like * liked + w.dislike * disliked;
}

struct DynamicsParams {
  InterestRule interest_rule = InterestRule::kRecSim;
  double interest_step = 0.3;
  double drift_std = 0.0;
  double boredom_increment = 0.0;
  double boredom_decay = 1.0;      // per step
  double boredom_gap_decay = 1.0;  // per unit of time away between sessions
  double satisfaction_initial = 0.0;
  double satisfaction_decay = 0.9;  // EMA weight of the past
  double satisfaction_quality = 1.0;
  double satisfaction_affinity = 0.0;
  double satisfaction_boredom = 0.0;
  double satisfaction_no_click = 0.0;
  double satisfaction_gap_decay = 1.0;  // per unit of time away
  double budget_no_click_cost = 0.5;
  double budget_quality_gain = 0.0;
  double budget_affinity_gain = 0.0;
  double leave_base = 0.0;
  double leave_dissatisfaction = 0.0;
};

struct RetentionParams {
  bool enabled = false;
  int max_sessions = 1;
  double return_base = 1.0;
  double return_satisfaction = 0.0;
  double gap_mean = 24.0;
  double gap_satisfaction = 0.0;  // mean gap = gap_mean * exp(-gap_satisfaction * s)
};

// env.observation.sequence: the user's last `length` interactions in the
// observation (StepBatch's sequence_* arrays); 0: none.
struct SequenceParams {
  int length = 0;
};

struct ObservationParams {
  Observability interests = Observability::kVisible;
  double noise_std = 0.1;
  int history = 0;  // recent clicked topics in the observation
  bool budget = false;
  SequenceParams sequence;
};

struct EventParams {
  int64_t at_step = 1;
  EventKind kind = EventKind::kPreferenceShift;
  int segment = -1;  // -1: all segments
  int topic = 0;
  double amount = 0.0;
  int count = 0;  // new_items
};

struct EnvParams {
  int num_topics = 20;
  int num_candidates = 10;
  int slate_size = 2;
  CatalogParams catalog;
  std::vector<SegmentParams> segments;
  std::vector<BotParams> bots;  // [] = every user is a person
  Trait time_budget{200.0, 0.0, 1e-9, kMaxParameterMagnitude};
  Trait patience{1.0, 0.0, 1e-9, kMaxParameterMagnitude};
  Trait click_propensity{1.0, 0.0, 0.0, kMaxParameterMagnitude};
  Trait boredom_sensitivity{1.0, 0.0, 0.0, kMaxParameterMagnitude};
  Trait return_propensity{1.0, 0.0, 0.0, 1.0};
  ObservationParams observation;
  ChoiceParams choice;
  ScoreParams score;
  ResponseParams response;
  RewardParams reward;
  DynamicsParams dynamics;
  RetentionParams retention;
  int64_t max_session_steps = 0;  // 0: unlimited
  int64_t max_episode_steps = 0;  // 0: unlimited
  std::vector<EventParams> events;

  int FeatureDim() const { return catalog.features == FeatureKind::kOneHot ? num_topics : catalog.embedding_dim; }
  bool BoredomEnabled() const { return dynamics.boredom_increment != 0.0 || dynamics.boredom_decay != 1.0; }
};

}  // namespace cohort
