// SGD (with momentum and Nesterov), Adam (bias-corrected, optional decoupled
// weight decay = AdamW), Adam with a hypergradient-tuned lr and RMSProp, each with the shared learning-rate
// schedule. Arithmetic follows PyTorch's torch.optim definitions.
#include "agents/update_rules.h"

#include <cmath>
#include <map>
#include <numbers>
#include <stdexcept>

#include "agents/learned_optimizer.h"
#include "agents/rule_schedule.h"
#include "core/registry.h"

namespace cohort {
namespace {

using rule_detail::AddAdamKeys;
using rule_detail::AddScheduleKeys;
using rule_detail::Schedule;

// Per-tensor state vectors, saved and loaded as a block.
struct Slots {
  std::vector<std::vector<float>> a, b;
  void Init(const std::vector<ParamRef>& params, bool two) {
    a.clear();
    b.clear();
    for (const ParamRef& p : params) {
      a.emplace_back(size_t(p.size), 0.0f);
      if (two) b.emplace_back(size_t(p.size), 0.0f);
    }
  }
  void Save(BinaryWriter& out) const {
    out.Pod<uint64_t>(a.size());
    for (const auto& v : a) out.Vector(v);
    out.Pod<uint64_t>(b.size());
    for (const auto& v : b) out.Vector(v);
  }
  // Init() has given the slots their shape; the checkpoint must match it.
  void Load(BinaryReader& in) {
    in.VectorsLike(a, "rule.slots");
    in.VectorsLike(b, "rule.slots");
  }
};

void CheckShapes(const std::vector<ParamRef>& params, const Slots& slots, const std::string& rule) {
  if (params.size() != slots.a.size())
    throw std::logic_error(rule + ": Step() got " + std::to_string(params.size()) + " tensors, Init() " +
                           std::to_string(slots.a.size()));
  for (size_t i = 0; i < params.size(); ++i)
    if (size_t(params[i].size) != slots.a[i].size())
      throw std::logic_error(rule + ": tensor " + params[i].name + " changed size since Init()");
}

// Rejects NaN/Inf in the candidate new values before anything is written.
void CheckNew(const ParamRef& p, const std::vector<float>& next) {
  for (float v : next)
    if (!std::isfinite(v)) throw TrainingDiverged("parameter " + p.name + " would become NaN/Inf");
}

const std::string kSgd = "sgd", kAdam = "adam", kAdamHd = "adam_hd", kRmsprop = "rmsprop";

// PyTorch SGD: b = mu*b + (g + wd*x) (b = g at the first step); x -= lr * (nesterov ? g + mu*b : b).
class Sgd : public UpdateRule {
 public:
  explicit Sgd(const json& c)
      : schedule_(c),
        momentum_(c["momentum"].get<double>()),
        nesterov_(c["nesterov"].get<bool>()),
        weight_decay_(c["weight_decay"].get<double>()) {}
  const std::string& type() const override { return kSgd; }
  void Init(const std::vector<ParamRef>& params) override { slots_.Init(params, false); }
  double LearningRate(const StepInfo& info) const override { return schedule_.At(info); }
  void Step(const std::vector<ParamRef>& params, const StepInfo& info) override {
    CheckShapes(params, slots_, kSgd);
    CheckFinite(params, "gradient");
    const float lr = float(schedule_.At(info)), mu = float(momentum_), wd = float(weight_decay_);
    for (size_t t = 0; t < params.size(); ++t) {
      const ParamRef& p = params[t];
      std::vector<float>& buf = slots_.a[t];
      next_.resize(size_t(p.size));
      for (int64_t i = 0; i < p.size; ++i) {
        const float g = p.grad[i] + wd * p.value[i];
        float d = g;
        if (mu != 0.0f) {
          buf[size_t(i)] = started_ ? mu * buf[size_t(i)] + g : g;
          d = nesterov_ ? g + mu * buf[size_t(i)] : buf[size_t(i)];
        }
        next_[size_t(i)] = p.value[i] - lr * d;
      }
      CheckNew(p, next_);
      std::copy(next_.begin(), next_.end(), p.value);
    }
    started_ = true;
  }
  void Save(BinaryWriter& out) const override {
    out.Tag("sgd");
    out.Pod(started_);
    slots_.Save(out);
  }
  void Load(BinaryReader& in) override {
    in.Tag("sgd");
    in.Pod(started_);
    slots_.Load(in);
  }

 private:
  Schedule schedule_;
  double momentum_;
  bool nesterov_;
  double weight_decay_;
  bool started_ = false;
  Slots slots_;
  std::vector<float> next_;
};

// PyTorch Adam/AdamW: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
// x -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps); weight decay is
// decoupled (x *= 1 - lr*wd) when "decoupled", else added to g.
class Adam : public UpdateRule {
 public:
  explicit Adam(const json& c)
      : schedule_(c),
        beta1_(c["beta1"].get<double>()),
        beta2_(c["beta2"].get<double>()),
        eps_(c["eps"].get<double>()),
        weight_decay_(c["weight_decay"].get<double>()),
        decoupled_(c["decoupled"].get<bool>()) {}
  const std::string& type() const override { return kAdam; }
  void Init(const std::vector<ParamRef>& params) override { slots_.Init(params, true); }
  double LearningRate(const StepInfo& info) const override { return schedule_.At(info); }
  const Schedule& schedule() const { return schedule_; }
  void Step(const std::vector<ParamRef>& params, const StepInfo& info) override {
    StepWithLr(params, schedule_.At(info), nullptr);
  }
  // One Adam step with this learning rate; `direction` (when given, one
  // vector per tensor) receives the bias-corrected direction
  // m_hat / (sqrt(v_hat) + eps) the step moved against.
  void StepWithLr(const std::vector<ParamRef>& params, double lr, std::vector<std::vector<float>>* direction) {
    CheckShapes(params, slots_, kAdam);
    CheckFinite(params, "gradient");
    ++t_;
    const double bc1 = 1.0 - std::pow(beta1_, double(t_)), bc2 = 1.0 - std::pow(beta2_, double(t_));
    const float b1 = float(beta1_), b2 = float(beta2_), eps = float(eps_), wd = float(weight_decay_);
    const float step_size = float(lr / bc1), inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2)), inv_bc1 = float(1.0 / bc1);
    const float decay = decoupled_ ? float(1.0 - lr * weight_decay_) : 1.0f;
    for (size_t t = 0; t < params.size(); ++t) {
      const ParamRef& p = params[t];
      float* m = slots_.a[t].data();
      float* v = slots_.b[t].data();
      next_.resize(size_t(p.size));
      for (int64_t i = 0; i < p.size; ++i) {
        const float g = decoupled_ ? p.grad[i] : p.grad[i] + wd * p.value[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        next_[size_t(i)] = p.value[i] * decay - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
      CheckNew(p, next_);
      if (direction != nullptr) {
        std::vector<float>& d = (*direction)[t];
        d.resize(size_t(p.size));
        for (int64_t i = 0; i < p.size; ++i) d[size_t(i)] = m[i] * inv_bc1 / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
      std::copy(next_.begin(), next_.end(), p.value);
    }
  }
  void Save(BinaryWriter& out) const override {
    out.Tag("adam");
    out.Pod(t_);
    slots_.Save(out);
  }
  void Load(BinaryReader& in) override {
    in.Tag("adam");
    in.Pod(t_);
    slots_.Load(in);
  }

 private:
  Schedule schedule_;
  double beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
  int64_t t_ = 0;
  Slots slots_;
  std::vector<float> next_;
};

// Adam with its learning rate tuned online by hypergradient descent (Baydin
// et al. 2018, "Online Learning Rate Adaptation with Hypergradient Descent"):
// the meta-gradient baseline, which needs no meta-training. The step is
//   p -= lr_t * u_t,  u_t = Adam's direction,  lr_t = schedule(t) * s_t
// and the scale s follows the derivative of the loss after the last step
// with respect to its learning rate, d f(p_t) / d lr = -g_t . u_{t-1}:
//   "multiplicative" (default): s_t = s_{t-1} * exp(hyper_lr * cos(g_t, u_{t-1}))
//                               (scale-free: the same hyper_lr for any loss scale)
//   "additive" (the paper's Adam-HD): s_t = s_{t-1} + hyper_lr * g_t . u_{t-1} / lr,
//                               floored at 0 (no gradient ascent)
// hyper_lr = 0 keeps s = 1: exactly "adam" (a unit test).
class AdamHd : public UpdateRule {
 public:
  explicit AdamHd(const json& c)
      : adam_(c),
        hyper_lr_(c["hyper_lr"].get<double>()),
        multiplicative_(c["form"].get<std::string>() == "multiplicative") {}
  const std::string& type() const override { return kAdamHd; }
  void Init(const std::vector<ParamRef>& params) override {
    adam_.Init(params);
    direction_.assign(params.size(), {});
    have_direction_ = false;
  }
  double LearningRate(const StepInfo& info) const override { return adam_.LearningRate(info) * scale_; }
  void Step(const std::vector<ParamRef>& params, const StepInfo& info) override {
    if (have_direction_ && hyper_lr_ != 0.0) {
      double dot = 0.0, gg = 0.0, uu = 0.0;
      for (size_t t = 0; t < params.size() && t < direction_.size(); ++t) {
        const float* g = params[t].grad;
        const std::vector<float>& u = direction_[t];
        for (int64_t i = 0; i < params[t].size && size_t(i) < u.size(); ++i)
          dot += double(g[i]) * u[size_t(i)], gg += double(g[i]) * g[i], uu += double(u[size_t(i)]) * u[size_t(i)];
      }
      if (!std::isfinite(dot)) throw TrainingDiverged("adam_hd: hypergradient is NaN/Inf");
      if (multiplicative_) {
        if (gg > 0.0 && uu > 0.0) scale_ *= std::exp(hyper_lr_ * dot / std::sqrt(gg * uu));
      } else {
        scale_ = std::max(0.0, scale_ + hyper_lr_ * dot / adam_.schedule().lr);
      }
    }
    adam_.StepWithLr(params, LearningRate(info), &direction_);
    have_direction_ = true;
  }
  void Save(BinaryWriter& out) const override {
    out.Tag("adam_hd");
    adam_.Save(out);
    out.Pod(scale_);
    out.Pod(have_direction_);
    out.Pod<uint64_t>(direction_.size());
    for (const auto& d : direction_) out.Vector(d);
  }
  void Load(BinaryReader& in) override {
    in.Tag("adam_hd");
    adam_.Load(in);
    in.Pod(scale_);
    in.Pod(have_direction_);
    direction_.resize(in.Count("adam_hd.direction", sizeof(uint64_t)));
    for (auto& d : direction_) in.Vector(d);
  }

 private:
  Adam adam_;  // its schedule is the base the scale multiplies
  double hyper_lr_;
  bool multiplicative_;
  double scale_ = 1.0;
  bool have_direction_ = false;
  std::vector<std::vector<float>> direction_;  // u_{t-1} per tensor
};

// PyTorch RMSprop (non-centered, optional momentum):
// v = a*v + (1-a)*g^2; d = g / (sqrt(v) + eps); b = mu*b + d; x -= lr * (mu ? b : d).
class RmsProp : public UpdateRule {
 public:
  explicit RmsProp(const json& c)
      : schedule_(c),
        alpha_(c["alpha"].get<double>()),
        eps_(c["eps"].get<double>()),
        momentum_(c["momentum"].get<double>()) {}
  const std::string& type() const override { return kRmsprop; }
  void Init(const std::vector<ParamRef>& params) override { slots_.Init(params, true); }
  double LearningRate(const StepInfo& info) const override { return schedule_.At(info); }
  void Step(const std::vector<ParamRef>& params, const StepInfo& info) override {
    CheckShapes(params, slots_, kRmsprop);
    CheckFinite(params, "gradient");
    const float lr = float(schedule_.At(info)), a = float(alpha_), eps = float(eps_), mu = float(momentum_);
    for (size_t t = 0; t < params.size(); ++t) {
      const ParamRef& p = params[t];
      float* v = slots_.a[t].data();
      float* b = slots_.b[t].data();
      next_.resize(size_t(p.size));
      for (int64_t i = 0; i < p.size; ++i) {
        const float g = p.grad[i];
        v[i] = a * v[i] + (1.0f - a) * g * g;
        float d = g / (std::sqrt(v[i]) + eps);
        if (mu != 0.0f) d = b[i] = mu * b[i] + d;
        next_[size_t(i)] = p.value[i] - lr * d;
      }
      CheckNew(p, next_);
      std::copy(next_.begin(), next_.end(), p.value);
    }
  }
  void Save(BinaryWriter& out) const override {
    out.Tag("rmsprop");
    slots_.Save(out);
  }
  void Load(BinaryReader& in) override {
    in.Tag("rmsprop");
    slots_.Load(in);
  }

 private:
  Schedule schedule_;
  double alpha_, eps_, momentum_;
  Slots slots_;
  std::vector<float> next_;
};

template <typename T>
std::unique_ptr<UpdateRule> Make(const json& config) {
  return std::make_unique<T>(config);
}

// Every update rule: name, doc, schema and factory in one entry each.
struct Rules {
  Schema sgd{"SGD with momentum"}, adam{"Adam (AdamW with decoupled weight decay)"}, rmsprop{"RMSProp"},
      adam_hd{"Adam with a hypergradient-tuned learning rate"},
      learned{"learned per-parameter optimizer, residual on Adam (agents/learned_optimizer.h)"};
  Registry<std::unique_ptr<UpdateRule> (*)(const json&)> registry{"update rule"};
  Rules() {
    AddScheduleKeys(sgd, 1e-2);
    sgd.Number("momentum", 0.0, 0.0, 0.999999, "momentum coefficient")
        .Bool("nesterov", false, "Nesterov momentum")
        .Number("weight_decay", 0.0, 0.0, 1e300, "L2 penalty added to the gradient");
    AddScheduleKeys(adam, 1e-3);
    AddAdamKeys(adam);
    AddScheduleKeys(adam_hd, 1e-3);
    AddAdamKeys(adam_hd);
    adam_hd.Number("hyper_lr", 0.01, 0.0, 1e300, "step size of the learning-rate adaptation (0: plain Adam)")
        .String("form", "multiplicative", {"multiplicative", "additive"},
                "multiplicative: lr *= exp(hyper_lr * cos(g_t, u_t-1)); additive: lr += hyper_lr * g_t . u_t-1");
    AddScheduleKeys(rmsprop, 1e-3);
    rmsprop.Number("alpha", 0.99, 0.0, 0.999999, "squared-gradient decay")
        .PositiveNumber("eps", 1e-8, "denominator constant")
        .Number("momentum", 0.0, 0.0, 0.999999, "momentum coefficient");
    AddLearnedOptimizerKeys(learned);
    registry.Add({"sgd", "SGD with momentum (PyTorch semantics)", &sgd}, Make<Sgd>)
        .Add({"adam", "Adam with bias correction (PyTorch semantics); decoupled = AdamW", &adam}, Make<Adam>)
        .Add({"adam_hd",
              "Adam whose lr adapts online by hypergradient descent (Baydin et al. 2018): the self-tuning baseline",
              &adam_hd},
             Make<AdamHd>)
        .Add({"rmsprop", "RMSProp, non-centered, optional momentum (PyTorch semantics)", &rmsprop}, Make<RmsProp>)
        .Add({"learned", "meta-learned per-parameter MLP residual on Adam; zero output layer = Adam", &learned},
             MakeLearnedOptimizer);
  }
};

const Rules& GetRules() {
  static const Rules r;
  return r;
}

}  // namespace

const ComponentRegistry& UpdateRuleRegistry() { return GetRules().registry; }

std::unique_ptr<UpdateRule> MakeUpdateRule(const json& config) { return GetRules().registry.FactoryOf(config)(config); }

void CheckFinite(const std::vector<ParamRef>& params, const char* what) {
  const bool grad = std::string(what) == "gradient";
  for (const ParamRef& p : params) {
    const float* x = grad ? p.grad : p.value;
    for (int64_t i = 0; i < p.size; ++i)
      if (!std::isfinite(x[i]))
        throw TrainingDiverged(std::string(what) + " of " + p.name + " is NaN/Inf (element " + std::to_string(i) + ")");
  }
}

}  // namespace cohort
