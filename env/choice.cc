#include "env/choice.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <stdexcept>

#include "core/bind.h"
#include "core/registry.h"
#include "core/rng.h"
#include "env/params.h"

namespace cohort {

// One model's entry: everything about the model that the rest of the
// simulator needs, as data and plain functions (the step calls through it
// once per row, so a pointer call costs nothing measurable).
struct ChoiceForm {
  ChoiceKind kind;
  std::string name;         // the scenario's "type"
  std::string schema_doc;   // the schema's one-line doc
  std::string formula_doc;  // the registry's doc: the model's formula
  // Keys of the block besides "type", in listing order, each bound to its
  // ChoiceParams member (core/bind.h: the default is the member's initializer).
  void (*bind)(BoundSchema<ChoiceParams>& schema);
  // Cross-field checks of a parsed block (one key against another).
  void (*check)(const ChoiceParams& p, const std::string& file, const std::string& path,
                std::vector<Problem>& problems);
  // Exact probabilities (choice.h's conventions); `position` holds the
  // precomputed position weights.
  double (*probabilities)(const ChoiceParams& p, const double* position, const double* scores, int k,
                          double click_propensity, double* probs);
  // Draws examined/clicked flags (already zeroed) and returns the first click.
  int (*sample)(const double* position, const double* probs, int k, Rng& rng, uint8_t* examined, uint8_t* clicked);
  double (*attraction)(const ChoiceParams& p, double score);
  bool (*order_matters)(const ChoiceParams& p);
  // The oracle's view (choice.h's ClickForm): the form, each item's click
  // weight w and the no-click weight w0 of the ratio form.
  ClickForm click_form;
  double (*click_weight)(const ChoiceParams& p, double score, double click_propensity);
  double (*no_click_weight)(const ChoiceParams& p);
  // Restores the model's cross-field constraints after a live edit.
  void (*repair)(ChoiceParams& p);
  bool multi_click;
  // Whether position 0's weight is first_attention (examination models) or 1.
  bool first_attention;
  std::vector<ChoiceLiveKey> live_keys;
};

namespace {

constexpr double kInf = kMaxParameterMagnitude;  // env/params.h
// The temperature's slider range (every model that has one): 0.02 is nearly
// deterministic for unit-scale scores, 5 nearly uniform.
constexpr double kTemperatureSlider[2] = {0.02, 5.0};

// ---- Shared pieces ---------------------------------------------------------

// Examination models click an examined item with this probability: the
// user's propensity times a sigmoid of the score, clipped to 1.
double ExaminedClick(const ChoiceParams& p, double score, double click_propensity) {
  return std::min(1.0, click_propensity * Sigmoid((score - p.threshold) / p.temperature));
}

double SigmoidAttraction(const ChoiceParams& p, double score) { return Sigmoid((score - p.threshold) / p.temperature); }

// The click weight of an examination model is its examined-click probability.
double ExaminedClickWeight(const ChoiceParams& p, double score, double click_propensity) {
  return ExaminedClick(p, score, click_propensity);
}
double NoNoClickWeight(const ChoiceParams&) { return 0.0; }

// Single-choice models: one uniform picks the clicked position (or none)
// from the categorical distribution; every position counts as examined.
int SampleCategorical(const double*, const double* probs, int k, Rng& rng, uint8_t* examined, uint8_t* clicked) {
  std::fill_n(examined, k, 1);
  double u = rng.Uniform();
  for (int j = 0; j < k; ++j) {
    if (u < probs[j]) {
      clicked[j] = 1;
      return j;
    }
    u -= probs[j];
  }
  return -1;
}

// Position weights only scale the items' weights, and a categorical choice
// over weighted items depends on the order only through those weights.
bool OrderMattersWithDecay(const ChoiceParams& p) { return p.position_decay != 1.0; }
bool AlwaysOrdered(const ChoiceParams&) { return true; }

// ---- proportional: RecSim's MultinomialProportionalChoiceModel -------------

using P = ChoiceParams;

void NoCheck(const ChoiceParams&, const std::string&, const std::string&, std::vector<Problem>&) {}

void BindProportional(BoundSchema<P>& s) {
  s.Number("no_click_mass", &P::no_click_mass, -kInf, kInf, "weight of not clicking (before the shift)")
      .Slider(0.0, 20.0)
      .Number("min_normalizer", &P::min_normalizer, -kInf, kInf, "every weight is shifted by -min_normalizer")
      .PositiveNumber("position_decay", &P::position_decay, "weight of position j = decay^j", 1.0);
}

void CheckProportional(const ChoiceParams& p, const std::string& file, const std::string& path,
                       std::vector<Problem>& problems) {
  if (!(p.no_click_mass > p.min_normalizer))
    problems.push_back({file, path + "/no_click_mass", "must exceed min_normalizer, or P(no click) would be <= 0"});
}

// Every score, the no-click mass included, is shifted by -min_normalizer
// before normalising (negative weights are cut at zero).
double ProportionalProbabilities(const ChoiceParams& c, const double* position, const double* scores, int k,
                                 double click_propensity, double* probs) {
  double total = c.no_click_mass - c.min_normalizer;
  const double no_click = total;
  for (int j = 0; j < k; ++j) {
    const double w = position[j] * click_propensity * std::max(0.0, scores[j] - c.min_normalizer);
    probs[j] = w;
    total += w;
  }
  for (int j = 0; j < k; ++j) probs[j] /= total;
  return no_click / total;
}

void RepairProportional(ChoiceParams& p) { p.no_click_mass = std::max(p.no_click_mass, p.min_normalizer + 1e-6); }
void NoRepair(ChoiceParams&) {}

double ProportionalAttraction(const ChoiceParams& c, double score) { return std::max(0.0, score - c.min_normalizer); }

// ProportionalProbabilities as a ratio: w = propensity * max(0, s - m),
// w0 = no_click_mass - m.
double ProportionalClickWeight(const ChoiceParams& c, double score, double click_propensity) {
  return click_propensity * std::max(0.0, score - c.min_normalizer);
}
double ProportionalNoClickWeight(const ChoiceParams& c) { return c.no_click_mass - c.min_normalizer; }

// ---- mnl: position-biased multinomial logit --------------------------------

void BindMnl(BoundSchema<P>& s) {
  s.PositiveNumber("temperature", &P::temperature, "softmax temperature")
      .Slider(kTemperatureSlider[0], kTemperatureSlider[1], true)
      .Number("no_click_score", &P::no_click_score, -kInf, kInf, "utility of not clicking")
      .Slider(-5.0, 5.0)
      .PositiveNumber("position_decay", &P::position_decay, "weight of position j = decay^j", 1.0);
}

// Shifted by the largest utility so that exp never overflows.
double MnlProbabilities(const ChoiceParams& c, const double* position, const double* scores, int k,
                        double click_propensity, double* probs) {
  double top = c.no_click_score;
  for (int j = 0; j < k; ++j) top = std::max(top, scores[j]);
  const double no_click = std::exp((c.no_click_score - top) / c.temperature);
  double total = no_click;
  for (int j = 0; j < k; ++j) {
    probs[j] = position[j] * click_propensity * std::exp((scores[j] - top) / c.temperature);
    total += probs[j];
  }
  for (int j = 0; j < k; ++j) probs[j] /= total;
  return no_click / total;
}

double MnlAttraction(const ChoiceParams& c, double score) {
  return std::exp((score - c.no_click_score) / c.temperature);
}

// MnlProbabilities as a ratio relative to the no-click utility (w0 = 1):
// w = propensity * exp((s - no_click_score) / T); may overflow to inf, which
// the oracle treats as "no fast answer".
double MnlClickWeight(const ChoiceParams& c, double score, double click_propensity) {
  return click_propensity * MnlAttraction(c, score);
}
double MnlNoClickWeight(const ChoiceParams&) { return 1.0; }

// ---- cascade: examine top-down, stop at the first click --------------------

void BindExamination(BoundSchema<P>& s, const std::string& decay_doc) {
  s.PositiveNumber("temperature", &P::temperature, "click = sigmoid((score - threshold) / temperature)")
      .Slider(kTemperatureSlider[0], kTemperatureSlider[1], true)
      .Number("threshold", &P::threshold, -kInf, kInf, "score with a 50% click chance when examined")
      .Number("first_attention", &P::first_attention, 0, 1, "examination probability of position 0")
      .PositiveNumber("position_decay", &P::position_decay, decay_doc, 1.0);
}

void BindCascade(BoundSchema<P>& s) { BindExamination(s, "examination of position j = first_attention * decay^j"); }

// P(click at j) = P(reach j) * e_j * c_j, where reaching j means no click
// before it; P(no click) is the probability of reaching past the end.
double CascadeProbabilities(const ChoiceParams& c, const double* position, const double* scores, int k,
                            double click_propensity, double* probs) {
  double reach = 1.0;
  for (int j = 0; j < k; ++j) {
    const double p = position[j] * ExaminedClick(c, scores[j], click_propensity);
    probs[j] = reach * p;
    reach *= 1.0 - p;
  }
  return reach;
}

// One uniform per position reached decides both flags: examined when
// u < e_j, clicked (and the scan stops) when u < e_j * c_j, recovered from
// the exact probabilities as probs[j] / P(reach j).
int SampleCascade(const double* position, const double* probs, int k, Rng& rng, uint8_t* examined, uint8_t* clicked) {
  double reach = 1.0;
  int click = -1;
  for (int j = 0; j < k && click < 0; ++j) {
    const double stop = reach > 0.0 ? probs[j] / reach : 0.0;  // = e_j * c_j
    reach -= probs[j];
    const double u = rng.Uniform();
    if (u < position[j]) examined[j] = 1;
    if (u < stop) click = j;
  }
  if (click >= 0) clicked[click] = 1;
  return click;
}

// ---- pbm: position-based model, independent clicks per position ------------

void BindPbm(BoundSchema<P>& s) {
  BindExamination(s, "examination of position j = first_attention * decay^j (independent per position)");
}

// Positions are independent: P(click at j) = e_j * c_j, P(no click) is the
// product of the misses.
double PbmProbabilities(const ChoiceParams& c, const double* position, const double* scores, int k,
                        double click_propensity, double* probs) {
  double none = 1.0;
  for (int j = 0; j < k; ++j) {
    probs[j] = position[j] * ExaminedClick(c, scores[j], click_propensity);
    none *= 1.0 - probs[j];
  }
  return none;
}

// One uniform per position, every position: examined when u < e_j, clicked
// when u < e_j * c_j (so a click is always examined).
int SamplePbm(const double* position, const double* probs, int k, Rng& rng, uint8_t* examined, uint8_t* clicked) {
  int first = -1;
  for (int j = 0; j < k; ++j) {
    const double u = rng.Uniform();
    if (u < position[j]) examined[j] = 1;
    if (u < probs[j]) {
      clicked[j] = 1;
      if (first < 0) first = j;
    }
  }
  return first;
}

// ---- The table --------------------------------------------------------------

const ChoiceLiveKey kTemperatureKey{"temperature", &ChoiceParams::temperature};

const std::vector<ChoiceForm>& Forms() {
  static const std::vector<ChoiceForm> forms = {
      {ChoiceKind::kProportional,
       "proportional",
       "RecSim's multinomial proportional model",
       "P(i) = (s_i - m) / (sum_j (s_j - m) + no_click_mass - m), m = min_normalizer",
       BindProportional,
       CheckProportional,
       ProportionalProbabilities,
       SampleCategorical,
       ProportionalAttraction,
       OrderMattersWithDecay,
       ClickForm::kRatio,
       ProportionalClickWeight,
       ProportionalNoClickWeight,
       RepairProportional,
       false,
       false,
       {{"no_click_mass", &ChoiceParams::no_click_mass}}},
      {ChoiceKind::kMultinomialLogit,
       "mnl",
       "multinomial logit",
       "P(i) = exp(s_i/T) / (sum_j exp(s_j/T) + exp(no_click_score/T))",
       BindMnl,
       NoCheck,
       MnlProbabilities,
       SampleCategorical,
       MnlAttraction,
       OrderMattersWithDecay,
       ClickForm::kRatio,
       MnlClickWeight,
       MnlNoClickWeight,
       NoRepair,
       false,
       false,
       {kTemperatureKey, {"no_click_score", &ChoiceParams::no_click_score}}},
      {ChoiceKind::kCascade,
       "cascade",
       "cascade",
       "examine top-down, click with sigmoid((s - threshold)/T), stop at the first click",
       BindCascade,
       NoCheck,
       CascadeProbabilities,
       SampleCascade,
       SigmoidAttraction,
       AlwaysOrdered,
       ClickForm::kSequential,
       ExaminedClickWeight,
       NoNoClickWeight,
       NoRepair,
       false,
       true,
       {kTemperatureKey}},
      {ChoiceKind::kPositionBased,
       "pbm",
       "position-based model",
       "examine position j with first_attention * decay^j, click an examined item with sigmoid((s - threshold)/T), "
       "positions independent (several clicks per slate)",
       BindPbm,
       NoCheck,
       PbmProbabilities,
       SamplePbm,
       SigmoidAttraction,
       OrderMattersWithDecay,
       ClickForm::kIndependent,
       ExaminedClickWeight,
       NoNoClickWeight,
       NoRepair,
       true,
       true,
       {kTemperatureKey}},
  };
  return forms;
}

const ChoiceForm& FormOf(ChoiceKind kind) {
  for (const ChoiceForm& f : Forms())
    if (f.kind == kind) return f;
  throw std::logic_error("choice model without an entry in choice.cc's table");
}

// The registry entry of a model holds its name, formula, bound schema and
// its table entry (core/registry.h). The schemas must outlive the registry
// that points at them: both are built once, from the table, in order.
struct ChoiceSchemas {
  std::deque<BoundSchema<ChoiceParams>> schemas;
  Registry<const ChoiceForm*> registry{"choice model"};
  ChoiceSchemas() {
    for (const ChoiceForm& f : Forms()) {
      f.bind(schemas.emplace_back(f.schema_doc));
      registry.Add({f.name, f.formula_doc, &schemas.back().schema()}, &f);
    }
  }
  const BoundSchema<ChoiceParams>& SchemaOf(ChoiceKind kind) const {
    for (size_t i = 0; i < schemas.size(); ++i)
      if (Forms()[i].kind == kind) return schemas[i];
    throw std::logic_error("choice model without an entry in choice.cc's table");
  }
};

const ChoiceSchemas& Schemas() {
  static const ChoiceSchemas schemas;
  return schemas;
}

}  // namespace

const std::string& ChoiceKindName(ChoiceKind kind) { return FormOf(kind).name; }

ChoiceKind ChoiceKindFromName(const std::string& name) { return Schemas().registry.FactoryOf(name)->kind; }

const ComponentRegistry& ChoiceModelRegistry() { return Schemas().registry; }

ChoiceParams ParseChoiceParams(const json& block, const std::string& file, const std::string& path,
                               std::vector<Problem>& problems) {
  ChoiceParams p;
  p.kind = ChoiceKindFromName(block["type"].get<std::string>());
  Schemas().SchemaOf(p.kind).ReadInto(block, p);
  FormOf(p.kind).check(p, file, path, problems);
  return p;
}

void ApplyLiveEdit(ChoiceParams& params, const ChoiceLiveKey& key, double value) {
  const Field* f = Schemas().SchemaOf(params.kind).schema().Find(key.key);
  if (f == nullptr) throw std::logic_error("choice: live key " + key.key + " is not in its model's schema");
  // The key's own range; an exclusive lower bound (temperature > 0) is kept
  // by the smallest normal double above it.
  const double lo =
      f->min_exclusive ? std::max(std::nextafter(f->min, 1e300), std::numeric_limits<double>::min()) : f->min;
  params.*key.member = std::clamp(value, lo, f->max);
  FormOf(params.kind).repair(params);
}

ChoiceModel::ChoiceModel(const ChoiceParams& params, int slate_size) : params_(params), form_(&FormOf(params.kind)) {
  position_weight_.resize(size_t(std::max(slate_size, 0)));
  double w = form_->first_attention ? params_.first_attention : 1.0;
  for (int j = 0; j < slate_size; ++j, w *= params_.position_decay) position_weight_[size_t(j)] = w;
}

bool ChoiceModel::multi_click() const { return form_->multi_click; }
bool ChoiceModel::order_matters() const { return form_->order_matters(params_); }

double ChoiceModel::Probabilities(const double* scores, int k, double click_propensity, double* probs) const {
  return form_->probabilities(params_, position_weight_.data(), scores, k, click_propensity, probs);
}

int ChoiceModel::Sample(const double* probs, int k, Rng& rng, uint8_t* examined, uint8_t* clicked) const {
  std::fill_n(examined, k, 0);
  std::fill_n(clicked, k, 0);
  return form_->sample(position_weight_.data(), probs, k, rng, examined, clicked);
}

// Single-click models: the probability of the one observed outcome.
// Multi-click models: positions are independent Bernoulli variables.
double ChoiceModel::LogLikelihood(const double* scores, int k, double click_propensity, const uint8_t* clicked) const {
  std::vector<double> probs(size_t(std::max(k, 0)));
  const double none = Probabilities(scores, k, click_propensity, probs.data());
  if (form_->multi_click) {
    double ll = 0.0;
    for (int j = 0; j < k; ++j) ll += std::log(clicked[j] ? probs[size_t(j)] : 1.0 - probs[size_t(j)]);
    return ll;
  }
  int click = -1;
  for (int j = 0; j < k; ++j) {
    if (!clicked[j]) continue;
    if (click >= 0) return -std::numeric_limits<double>::infinity();
    click = j;
  }
  return std::log(click < 0 ? none : probs[size_t(click)]);
}

double ChoiceModel::Attraction(double score) const { return form_->attraction(params_, score); }

ClickForm ChoiceModel::click_form() const { return form_->click_form; }
double ChoiceModel::ClickWeight(double score, double click_propensity) const {
  return form_->click_weight(params_, score, click_propensity);
}
double ChoiceModel::NoClickWeight() const { return form_->no_click_weight(params_); }

const std::vector<ChoiceLiveKey>& ChoiceModel::LiveKeys() const { return form_->live_keys; }

}  // namespace cohort
