#include "agents/torch/drift.h"

#include <algorithm>
#include <cmath>

#include "agents/torch/actor_critic.h"
#include "core/registry.h"

namespace cohort::torch_agents {
namespace {

const std::string kLpo = "lpo";
const std::string kLpoKind = "cohort_lpo_drift";
constexpr int kIn = kLpoInputs, kH = kLpoHidden;
constexpr double kInputClip = 3.0;
// Its own stream: not a row, init or shuffle entity of any agent.
constexpr uint64_t kLpoInitEntity = (uint64_t(1) << 42) + 1;

// log r with r floored at 1e-6: an underflowed ratio (log-ratio below -88)
// must not give -inf * 0 = NaN.
torch::Tensor SafeLog(const torch::Tensor& ratio) { return ratio.clamp_min(1e-6).log(); }

class ClipDrift : public Drift {
 public:
  explicit ClipDrift(double eps) : eps_(eps) {}
  torch::Tensor Value(const torch::Tensor& ratio, const torch::Tensor& adv, double) const override {
    return torch::relu((ratio - ratio.clamp(1.0 - eps_, 1.0 + eps_)) * adv);
  }
  // Today's expression, so that "clip" is PPO bit for bit.
  torch::Tensor PolicyLoss(const torch::Tensor& ratio, const torch::Tensor& adv, double) const override {
    return ClippedSurrogate(ratio, adv, eps_);
  }

 private:
  const double eps_;
};

class DpoDrift : public Drift {
 public:
  DpoDrift(double alpha, double beta) : alpha_(alpha), beta_(beta) {}
  torch::Tensor Value(const torch::Tensor& ratio, const torch::Tensor& adv, double) const override {
    const torch::Tensor pos = (ratio - 1.0) * adv;
    const torch::Tensor neg = SafeLog(ratio) * adv;
    const torch::Tensor f_pos = torch::relu(pos - alpha_ * torch::tanh(pos / alpha_));
    const torch::Tensor f_neg = torch::relu(neg - beta_ * torch::tanh(neg / beta_));
    return torch::where(adv >= 0, f_pos, f_neg);
  }

 private:
  const double alpha_, beta_;
};

class LpoDrift : public Drift {
 public:
  LpoDrift(double eps, const std::vector<float>& theta) : clip_(eps) {
    const float* t = theta.data();
    // Copies: constants of the loss (no gradient to theta).
    w1_ = torch::from_blob(const_cast<float*>(t), {kIn, kH}, torch::kFloat32).clone();
    b1_ = torch::from_blob(const_cast<float*>(t + kIn * kH), {kH}, torch::kFloat32).clone();
    w2_ = torch::from_blob(const_cast<float*>(t + kLpoOutputOffset), {kH, 1}, torch::kFloat32).clone();
    residual_ = std::any_of(theta.begin() + kLpoOutputOffset, theta.end(), [](float v) { return v != 0.0f; });
  }
  torch::Tensor Value(const torch::Tensor& ratio, const torch::Tensor& adv, double progress) const override {
    torch::Tensor f = clip_.Value(ratio, adv, progress);
    return residual_ ? f + Residual(ratio, adv, progress) : f;
  }
  torch::Tensor PolicyLoss(const torch::Tensor& ratio, const torch::Tensor& adv, double progress) const override {
    torch::Tensor loss = clip_.PolicyLoss(ratio, adv, progress);
    // w2 = 0: g = 0, so skip it and stay PPO-clip bit for bit.
    return residual_ ? loss + Residual(ratio, adv, progress).mean() : loss;
  }

 private:
  torch::Tensor H(const torch::Tensor& x) const {
    return torch::tanh(x.clamp(-kInputClip, kInputClip).matmul(w1_) + b1_).matmul(w2_).squeeze(1);
  }
  torch::Tensor Residual(const torch::Tensor& ratio, const torch::Tensor& adv, double progress) const {
    const torch::Tensor d = ratio - 1.0, lr = SafeLog(ratio), t = torch::full_like(adv, progress);
    const torch::Tensor zero = torch::zeros_like(adv);
    const torch::Tensor x = torch::stack({d, lr, d * adv, lr * adv, adv, t}, 1);
    const torch::Tensor x1 = torch::stack({zero, zero, zero, zero, adv, t}, 1);
    return torch::relu(H(x) - H(x1)) * d * d;
  }

  ClipDrift clip_;
  torch::Tensor w1_, b1_, w2_;
  bool residual_ = false;
};

const Schema& ClipSchema() {
  static const Schema s{"PPO-clip's drift relu((r - clip(r, 1 -+ clip_eps)) A) (the agent's clip_eps)"};
  return s;
}
const Schema& DpoSchema() {
  static const Schema s = [] {
    Schema d{"DPO's closed-form drift (Lu et al. 2022)"};
    d.PositiveNumber("alpha", 2.0, "A >= 0 branch: relu((r-1)A - alpha tanh((r-1)A / alpha))")
        .PositiveNumber("beta", 0.6, "A < 0 branch: relu(log(r)A - beta tanh(log(r)A / beta))");
    return d;
  }();
  return s;
}
const Schema& LpoSchema() {
  static const Schema s = [] {
    Schema d{"learned drift residual on PPO-clip, f = f_clip + g_theta(r, A, t/T) (agents/torch/drift.h)"};
    AddThetaKeys(d, LpoDriftRule());
    return d;
  }();
  return s;
}

// Meta view: f(r, A) along the ratio r at a fixed advantage and progress.
RuleProbe LpoProbe() {
  return {.output = "drift f(r, A)",
          .baseline = "PPO-clip",
          .inputs = {{"probability ratio r", 0.2, 2.5, 1.0},
                     {"advantage A", -3.0, 3.0, 1.0},
                     {"progress t/T", 0.0, 1.0, 0.5}},
          .evaluate = [](const std::vector<float>& theta, const std::vector<double>& at, const json& agent) {
            c10::InferenceMode guard;
            const LpoDrift drift(agent.value("clip_eps", 0.2), theta);
            return drift.Value(torch::tensor({float(at[0])}), torch::tensor({float(at[1])}), at[2]).item<double>();
          }};
}

}  // namespace

namespace {

// Every drift: name, doc, schema and factory (config, PPO's clip_eps) in one entry each.
using DriftFactory = std::unique_ptr<Drift> (*)(const json& config, double clip_eps);
const Registry<DriftFactory>& Drifts() {
  static const Registry<DriftFactory> r = [] {
    Registry<DriftFactory> c("drift");
    c.Add({"clip", "PPO's clipped surrogate (default)", &ClipSchema()},
          [](const json&, double clip_eps) -> std::unique_ptr<Drift> { return std::make_unique<ClipDrift>(clip_eps); })
        .Add({"dpo", "Discovered Policy Optimisation's closed-form drift", &DpoSchema()},
             [](const json& config, double) -> std::unique_ptr<Drift> {
               return std::make_unique<DpoDrift>(config["alpha"].get<double>(), config["beta"].get<double>());
             })
        .Add({kLpo, "LPO-style learned drift: MLP residual on PPO-clip (learnable, theta)", &LpoSchema()},
             [](const json& config, double clip_eps) -> std::unique_ptr<Drift> {
               return std::make_unique<LpoDrift>(clip_eps, ThetaFromConfig(config, LpoDriftRule(), "drift"));
             });
    return c;
  }();
  return r;
}

}  // namespace

const ComponentRegistry& DriftRegistry() { return Drifts(); }

std::unique_ptr<Drift> MakeDrift(const json& config, double clip_eps) {
  return Drifts().FactoryOf(config)(config, clip_eps);
}

const LearnableRule& LpoDriftRule() {
  static const LearnableRule rule{.type = kLpo,
                                  .slot = "drift",
                                  .file_kind = kLpoKind,
                                  .theta_size = kLpoThetaSize,
                                  .shape = {{"inputs", kIn}, {"hidden", {kH}}},
                                  .initial = InitialLpoTheta,
                                  .probe = LpoProbe()};
  return rule;
}

std::vector<float> InitialLpoTheta(uint64_t seed) {
  std::vector<float> theta(size_t(kLpoThetaSize), 0.0f);
  Rng rng = MakeRng(seed, 0, kLpoInitEntity, StreamPurpose::kPolicy);
  for (int i = 0; i < kIn * kH; ++i) theta[size_t(i)] = float(rng.Normal(0.0, 1.0 / std::sqrt(double(kIn))));
  return theta;  // b1 and w2 zero
}

}  // namespace cohort::torch_agents
