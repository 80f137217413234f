// Choice models: how a user answers a slate, given each slate item's score
// (the user's utility of it, env/vec_env.cc's Score).
//
// Every model is one entry of the table in choice.cc, and that entry is the
// only place the model is written: its name and one-line doc, its schema
// (the keys of "env.choice"), the conversion of the resolved block into
// ChoiceParams with its cross-field checks, its exact slate probabilities,
// its sampling of a response, the log-likelihood of an observed response,
// whether the order of the slate matters, the per-item attraction weight a
// greedy slate search ranks candidates by, and the keys the visualizer may
// edit live. Nothing outside choice.cc switches on ChoiceKind; adding a model
// is an enumerator here and an entry there.
//
// Conventions shared by every model
// - A slate has k items in position order; scores[j] is the utility of the
//   item at position j. click_propensity is the user's trait (1 = neutral)
//   scaling click odds; callers that cannot observe it pass 1.
// - Probabilities() fills probs[j] = P(the item at position j is clicked) and
//   returns P(no click at all). Single-click models (proportional, mnl,
//   cascade) have sum_j probs[j] + P(no click) = 1. Multi-click models (pbm)
//   click positions independently, so probs[j] are marginals and their sum
//   may exceed 1.
// - A response is per position examined[j] and clicked[j] (0/1), drawn from
//   one Rng in a fixed order, so a user's stream stays reproducible.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace cohort {

using json = nlohmann::ordered_json;
class ComponentRegistry;
class Rng;
struct Problem;

// The logistic function, which turns a score into a click probability in
// the examination models (and a behaviour's odds in env/model.cc).
inline double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

enum class ChoiceKind { kProportional, kMultinomialLogit, kCascade, kPositionBased };

// Every model's public parameters; each model reads only its own keys (the
// others keep their defaults). The initializers below are the defaults:
// each model's schema is bound to these members (core/bind.h) and takes its
// keys' defaults from them, so they are declared nowhere else.
struct ChoiceParams {
  ChoiceKind kind = ChoiceKind::kMultinomialLogit;
  double no_click_mass = 1.0;    // proportional
  double min_normalizer = -1.0;  // proportional
  double temperature = 1.0;      // mnl, cascade, pbm
  double no_click_score = 0.0;   // mnl
  double threshold = 0.0;        // cascade, pbm: score at which a click is 50% likely
  double first_attention = 1.0;  // cascade, pbm: examination probability of position 0
  double position_decay = 1.0;   // bias of position j = position_decay^j
};

// The scenario name of a kind ("proportional", "mnl", "cascade", "pbm") and
// back; one table in choice.cc serves both and the schema's registry.
const std::string& ChoiceKindName(ChoiceKind kind);
ChoiceKind ChoiceKindFromName(const std::string& name);  // throws std::invalid_argument

// A key of the choice block the visualizer edits live. Its range, slider
// range (Schema::Slider) and doc are the model's schema field of that key;
// `member` is the ChoiceParams field it sets.
struct ChoiceLiveKey {
  std::string key;  // e.g. "temperature"
  double ChoiceParams::*member = nullptr;
};

// Sets a live key to `value`, clamped to the key's schema range and to the
// model's cross-field constraints (e.g. proportional's no_click_mass stays above
// min_normalizer), so an edited model is always valid.
void ApplyLiveEdit(ChoiceParams& params, const ChoiceLiveKey& key, double value);

struct ChoiceForm;  // one model's entry of the table (choice.cc)

// The algebraic form of a model's click probabilities, which an exact slate
// search can exploit (env/oracle.cc, docs/oracle.md). With b_j =
// PositionWeight(j) and w_i = ClickWeight(score of item i, propensity):
// - kRatio (proportional, mnl): P(click at j) = b_j w_j / (w0 + sum_l b_l w_l),
//   w0 = NoClickWeight() > 0.
// - kIndependent (pbm): P(click at j) = b_j w_j, positions independent.
// - kSequential (cascade): P(click at j) = b_j w_j prod_{l<j} (1 - b_l w_l).
enum class ClickForm { kRatio, kIndependent, kSequential };

// A choice model bound to its parameters and a slate size (position weights
// are precomputed). Cheap to copy; PopulationModel holds one.
class ChoiceModel {
 public:
  ChoiceModel() : ChoiceModel(ChoiceParams{}, 0) {}
  ChoiceModel(const ChoiceParams& params, int slate_size);

  const ChoiceParams& params() const { return params_; }
  ChoiceKind kind() const { return params_.kind; }
  // Position bias of slate position j: the examination probability for the
  // cascade and pbm models, a multiplier on the item's weight otherwise.
  double PositionWeight(int j) const { return position_weight_[size_t(j)]; }
  // True when one slate can yield several clicks (pbm).
  bool multi_click() const;
  // True when permuting a slate can change its click probabilities (so an
  // exact slate search enumerates permutations, not combinations).
  bool order_matters() const;

  // Exact click probabilities (see the conventions above); returns P(no click).
  double Probabilities(const double* scores, int k, double click_propensity, double* probs) const;

  // Draws the response to a slate whose Probabilities() are `probs`: sets
  // examined[0..k) and clicked[0..k) and returns the first clicked position
  // (-1: none). The draws are the same, in number and order, for any caller.
  int Sample(const double* probs, int k, Rng& rng, uint8_t* examined, uint8_t* clicked) const;

  // log P(observed clicks | scores): clicked[j] in {0, 1} per position. For a
  // single-click model at most one position may be clicked (else -inf).
  double LogLikelihood(const double* scores, int k, double click_propensity, const uint8_t* clicked) const;

  // The weight of an item with this score in a greedy slate search, without
  // position bias or click propensity: how strongly the item draws a click
  // relative to not clicking (proportional: max(0, s - min_normalizer); mnl:
  // exp((s - no_click_score) / T); cascade and pbm: sigmoid((s - threshold) / T)).
  double Attraction(double score) const;

  // The click form and its weights (see ClickForm): equal, up to rounding,
  // to what Probabilities() computes.
  ClickForm click_form() const;
  double ClickWeight(double score, double click_propensity) const;
  double NoClickWeight() const;

  // The keys of this model the visualizer may edit live.
  const std::vector<ChoiceLiveKey>& LiveKeys() const;

 private:
  ChoiceParams params_;
  const ChoiceForm* form_;
  std::vector<double> position_weight_;
};

// The registry of "env.choice" types (name, doc, schema), for the env schema
// and `cohort list`.
const ComponentRegistry& ChoiceModelRegistry();

// ChoiceParams of a resolved (validated, defaults filled) "choice" block;
// `path` is its JSON pointer ("/env/choice"). Cross-field problems are
// appended to `problems` naming `file` and the key's pointer.
ChoiceParams ParseChoiceParams(const json& block, const std::string& file, const std::string& path,
                               std::vector<Problem>& problems);

}  // namespace cohort
