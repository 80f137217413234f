#include "agents/learned_optimizer.h"

#include <algorithm>
#include <cmath>

#include "agents/rule_schedule.h"
#include "core/io.h"
#include "core/rng.h"

namespace cohort {
namespace {

const std::string kLearned = "learned";
const std::string kRuleKind = "cohort_learned_optimizer";
constexpr int kIn = kLearnedInputs, kH = kLearnedHidden;
constexpr uint64_t kThetaInitEntity = uint64_t(1) << 41;

// Views of theta's blocks (layout in the header).
struct Net {
  const float *w1, *b1, *w2, *b2, *w3, *b3;
  explicit Net(const std::vector<float>& t)
      : w1(t.data()), b1(w1 + kIn * kH), w2(b1 + kH), b2(w2 + kH * kH), w3(b2 + kH), b3(w3 + kH * 2) {}
};

// The rule's MLP on one element's inputs x[kIn].
void Forward(const Net& n, const float* x, float* h1, float* h2, float* o0, float* o1) {
  for (int j = 0; j < kH; ++j) h1[j] = n.b1[j];
  for (int i = 0; i < kIn; ++i)
    for (int j = 0; j < kH; ++j) h1[j] += x[i] * n.w1[i * kH + j];
  for (int j = 0; j < kH; ++j) h1[j] = std::tanh(h1[j]);
  for (int j = 0; j < kH; ++j) h2[j] = n.b2[j];
  for (int i = 0; i < kH; ++i)
    for (int j = 0; j < kH; ++j) h2[j] += h1[i] * n.w2[i * kH + j];
  for (int j = 0; j < kH; ++j) h2[j] = std::tanh(h2[j]);
  float a = n.b3[0], b = n.b3[1];
  for (int i = 0; i < kH; ++i) a += h2[i] * n.w3[i * 2], b += h2[i] * n.w3[i * 2 + 1];
  *o0 = a;
  *o1 = b;
}

class LearnedOptimizer : public UpdateRule {
 public:
  LearnedOptimizer(const json& c, std::vector<float> theta)
      : schedule_(c),
        beta1_(c["beta1"].get<double>()),
        beta2_(c["beta2"].get<double>()),
        eps_(c["eps"].get<double>()),
        weight_decay_(c["weight_decay"].get<double>()),
        decoupled_(c["decoupled"].get<bool>()),
        theta_(std::move(theta)) {
    output_zero_ = std::all_of(theta_.begin() + kLearnedOutputOffset, theta_.end(), [](float v) { return v == 0.0f; });
  }
  const std::string& type() const override { return kLearned; }
  void Init(const std::vector<ParamRef>& params) override {
    m_.clear(), v_.clear(), slow_.clear();
    for (const ParamRef& p : params) {
      m_.emplace_back(size_t(p.size), 0.0f);
      v_.emplace_back(size_t(p.size), 0.0f);
      slow_.emplace_back(size_t(p.size), 0.0f);
    }
  }
  double LearningRate(const StepInfo& info) const override { return schedule_.At(info); }

  void Step(const std::vector<ParamRef>& params, const StepInfo& info) override {
    if (params.size() != m_.size()) throw std::logic_error("learned: Step() got another tensor list than Init()");
    CheckFinite(params, "gradient");
    ++t_;
    const double lr = LearningRate(info);
    const double bc1 = 1.0 - std::pow(beta1_, double(t_)), bc2 = 1.0 - std::pow(beta2_, double(t_));
    const double bc_slow = 1.0 - std::pow(kSlowBeta, double(t_));
    // Planned lifetime T from progress = t / T (1 when unknown).
    const double progress = std::clamp(info.progress, 0.0, 1.0);
    const double planned = progress > 0.0 ? std::max(1.0, double(info.step) / progress) : 1.0;
    const float b1 = float(beta1_), b2 = float(beta2_), eps = float(eps_), wd = float(weight_decay_);
    const float decay = decoupled_ ? float(1.0 - lr * weight_decay_) : 1.0f;
    const float step_size = float(lr / bc1);  // as in "adam", so zero outputs give Adam bit for bit
    const float inv_bc1 = float(1.0 / bc1), inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2)),
                inv_bc_slow = float(1.0 / bc_slow), sb = float(kSlowBeta);
    const Net net(theta_);
    float x[kIn], h1[kH], h2[kH];
    x[4] = float(progress);
    x[5] = float(1.0 - progress);
    x[6] = float(std::log(planned) / 10.0);
    for (size_t t = 0; t < params.size(); ++t) {
      const ParamRef& p = params[t];
      float *m = m_[t].data(), *v = v_[t].data(), *slow = slow_[t].data();
      double sq = 0.0;
      for (int64_t i = 0; i < p.size; ++i) sq += double(p.value[i]) * p.value[i];
      const float inv_rms = float(1.0 / (std::sqrt(sq / double(std::max<int64_t>(1, p.size))) + 1e-8));
      x[7] = float(p.role);
      next_.resize(size_t(p.size));
      for (int64_t i = 0; i < p.size; ++i) {
        const float g = decoupled_ ? p.grad[i] : p.grad[i] + wd * p.value[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        slow[i] = sb * slow[i] + (1.0f - sb) * g;
        const float denom = std::sqrt(v[i]) * inv_sqrt_bc2 + eps;
        const float adam_dir = m[i] * inv_bc1 / denom;
        float o0 = 0.0f, o1 = 0.0f;
        if (!output_zero_) {  // zero output layer: o = 0 exactly, skip the MLP
          x[0] = adam_dir;
          x[1] = g / denom;
          x[2] = slow[i] * inv_bc_slow / denom;
          x[3] = p.value[i] * inv_rms;
          Forward(net, x, h1, h2, &o0, &o1);
        }
        const float scale = std::exp(std::clamp(o1, -3.0f, 3.0f));
        next_[size_t(i)] = p.value[i] * decay - scale * (step_size * m[i] / denom) - float(lr) * scale * o0;
      }
      for (float nv : next_)
        if (!std::isfinite(nv)) throw TrainingDiverged("parameter " + p.name + " would become NaN/Inf");
      std::copy(next_.begin(), next_.end(), p.value);
    }
  }

  void Save(BinaryWriter& out) const override {
    out.Tag("learned");
    out.Pod(t_);
    out.Vector(theta_);
    for (const auto* block : {&m_, &v_, &slow_}) {
      out.Pod<uint64_t>(block->size());
      for (const auto& x : *block) out.Vector(x);
    }
  }
  void Load(BinaryReader& in) override {
    in.Tag("learned");
    in.Pod(t_);
    std::vector<float> theta;
    in.Vector(theta);
    if (theta != theta_)
      throw std::runtime_error("learned: the checkpoint holds other meta-parameters than the config");
    for (auto* block : {&m_, &v_, &slow_}) in.VectorsLike(*block, "learned.moments");
  }

 private:
  static constexpr double kSlowBeta = 0.99;

  rule_detail::Schedule schedule_;
  double beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
  std::vector<float> theta_;
  bool output_zero_ = true;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_, slow_;
  std::vector<float> next_;
};

// Meta view: inputs in the order of RuleProbe::inputs below.
double ProbeUpdate(const std::vector<float>& theta, const std::vector<double>& at, const json&) {
  const double adam_dir = at[0];
  float x[kIn];
  x[0] = float(adam_dir);
  x[1] = float(at[1] * adam_dir);
  x[2] = float(at[2] * adam_dir);
  x[3] = float(at[3]);
  x[4] = float(at[4]);
  x[5] = float(1.0 - at[4]);
  x[6] = float(std::log(std::max(1.0, at[5])) / 10.0);
  x[7] = float(at[6]);
  return LearnedUpdatePerLr(theta, x);
}

RuleProbe LearnedOptimizerProbe() {
  return {.output = "update / lr",
          .baseline = "Adam",
          .inputs = {{"Adam direction m/sqrt(v)", -3.0, 3.0, 0.0},
                     {"gradient / Adam direction", -2.0, 3.0, 1.0},
                     {"slow momentum / Adam direction", -2.0, 3.0, 1.0},
                     {"parameter / rms", -3.0, 3.0, 1.0},
                     {"progress t/T", 0.0, 1.0, 0.5},
                     {"lifetime T (updates)", 2.0, 1e5, 60.0, true},
                     {"role (0 actor, 1 critic)", 0.0, 1.0, 0.0}},
          .evaluate = ProbeUpdate};
}

}  // namespace

double LearnedUpdatePerLr(const std::vector<float>& theta, const float* x) {
  if (theta.size() != size_t(kLearnedThetaSize))
    throw std::invalid_argument("LearnedUpdatePerLr: theta has " + std::to_string(theta.size()) + " numbers");
  float h1[kH], h2[kH], o0 = 0.0f, o1 = 0.0f;
  Forward(Net(theta), x, h1, h2, &o0, &o1);
  return std::exp(std::clamp(double(o1), -3.0, 3.0)) * (double(x[0]) + double(o0));
}

const LearnableRule& LearnedOptimizerRule() {
  static const LearnableRule rule{.type = kLearned,
                                  .slot = "optimizer",
                                  .file_kind = kRuleKind,
                                  .theta_size = kLearnedThetaSize,
                                  .shape = {{"inputs", kIn}, {"hidden", {kH, kH}}},
                                  .initial = InitialLearnedTheta,
                                  .probe = LearnedOptimizerProbe()};
  return rule;
}

void AddLearnedOptimizerKeys(Schema& s) {
  rule_detail::AddScheduleKeys(s, 1e-3);  // Adam's lr and schedule, which the rule scales and corrects
  rule_detail::AddAdamKeys(s);
  AddThetaKeys(s, LearnedOptimizerRule());
}

std::unique_ptr<UpdateRule> MakeLearnedOptimizer(const json& config) {
  return std::make_unique<LearnedOptimizer>(config, ThetaFromConfig(config, LearnedOptimizerRule(), "optimizer"));
}

std::vector<float> InitialLearnedTheta(uint64_t seed) {
  std::vector<float> theta(size_t(kLearnedThetaSize), 0.0f);
  Rng rng = MakeRng(seed, 0, kThetaInitEntity, StreamPurpose::kPolicy);
  const int w1 = kIn * kH, w2_begin = w1 + kH, w2_end = w2_begin + kH * kH;
  for (int i = 0; i < w1; ++i) theta[size_t(i)] = float(rng.Normal(0.0, 1.0 / std::sqrt(double(kIn))));
  for (int i = w2_begin; i < w2_end; ++i) theta[size_t(i)] = float(rng.Normal(0.0, 1.0 / std::sqrt(double(kH))));
  return theta;  // biases and the output layer zero
}

void WriteLearnedRule(const std::string& path, const std::vector<float>& theta, const json& meta) {
  WriteRuleFile(path, LearnedOptimizerRule(), theta, meta);
}

std::vector<float> ReadLearnedRule(const std::string& path) { return ReadRuleFile(path, LearnedOptimizerRule()); }

}  // namespace cohort
