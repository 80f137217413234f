// PPO (Schulman et al. 2017) with a Plackett-Luce slate policy, CleanRL style.
// The shared policy, critic, rollout storage and GAE: actor_critic.h.
//
// Every rollout_steps steps of all rows: GAE advantages, then `epochs` passes
// over the rollout's active samples in `minibatches` shuffled minibatches
// (cohort::Rng shuffle stream), each one update-rule step on
//   loss = policy loss - ent_coef * entropy + vf_coef * value loss
// where the policy loss is -mean(r A - f(r, A)) for the "drift" f (drift.h):
// PPO-clip's clipped surrogate by default, DPO's closed form, or a learned one
// with advantages normalised per minibatch and the global gradient norm
// clipped to max_grad_norm before the step.
#include "agents/registry.h"
#include "agents/torch/actor_critic.h"
#include "agents/torch/common.h"
#include "agents/torch/drift.h"

namespace cohort::torch_agents {
namespace {

const Schema& PpoSchema() {
  static const Schema schema = [] {
    Schema s{"PPO with a Plackett-Luce slate policy over CandidateFeatures and a state-value critic"};
    AcDefaults d;  // rollout_steps 16, gamma 0.99, lambda 0.95, ent 0.01, vf 0.5, clip 0.5, norm_adv
    d.lr = 3e-3;   // tuned on recsim seed 0 over {1e-3, 3e-3, 1e-2}
    AddActorCriticKeys(s, d);
    s.Integer("epochs", 4, 1, 1000, "passes over each rollout")
        .Integer("minibatches", 4, 1, 1 << 20, "minibatches per pass (shuffled)")
        .Number("clip_eps", 0.2, 0.0, 10.0, "surrogate clipping: ratio kept in [1 - clip_eps, 1 + clip_eps]")
        .Bool("clip_vloss", false, "clip the value change to clip_eps around the rollout's values")
        .Number("target_kl", 0.0, 0.0, 1e3, "stop the epochs early when approx_kl exceeds this (0: off)")
        .Component("drift", &DriftRegistry(), "clip",
                   "policy objective -mean(r A - f(r, A)): f = clip (PPO), dpo, lpo (learned; agents/torch/drift.h)");
    return s;
  }();
  return schema;
}

class Ppo : public ActorCriticAgent {
 public:
  Ppo(const json& config, const AgentContext& ctx)
      : ActorCriticAgent("ppo", config, ctx),
        epochs_(config["epochs"].get<int>()),
        minibatches_(config["minibatches"].get<int>()),
        clip_eps_(config["clip_eps"].get<double>()),
        clip_vloss_(config["clip_vloss"].get<bool>()),
        target_kl_(config["target_kl"].get<double>()),
        drift_(MakeDrift(config["drift"], clip_eps_)) {
    // Planned update-rule steps (for schedules) = rollouts x epochs x minibatches.
    steps_per_rollout_ = int64_t(epochs_) * minibatches_;
  }

 protected:
  std::map<std::string, double> Learn() override {
    std::vector<int64_t> idx = ActiveSamples();
    if (idx.empty()) return {};
    const int64_t n = int64_t(idx.size());
    const int64_t mb = (n + minibatches_ - 1) / minibatches_;
    torch::Tensor old_logp_all = Column(logp_), adv_all = Column(advantages_), ret_all = Column(returns_),
                  old_v_all = Column(values_);
    double s_pg = 0, s_v = 0, s_ent = 0, s_kl = 0, s_clip = 0, s_norm = 0;
    int count = 0;
    for (int epoch = 0; epoch < epochs_; ++epoch) {
      Shuffle(idx);
      double epoch_kl = 0;
      int epoch_count = 0;
      for (int64_t start = 0; start < n; start += mb) {
        const int64_t len = std::min(mb, n - start);
        torch::Tensor b = torch::from_blob(idx.data() + start, {len}, torch::kInt64);
        Eval e = Evaluate(b);
        torch::Tensor old_logp = old_logp_all.index_select(0, b);
        torch::Tensor adv = adv_all.index_select(0, b);
        if (norm_adv_) adv = Normalize(adv);
        const torch::Tensor log_ratio = e.logp - old_logp;
        const torch::Tensor ratio = log_ratio.exp();
        const torch::Tensor pg_loss = drift_->PolicyLoss(ratio, adv, Progress());
        const torch::Tensor ret = ret_all.index_select(0, b);
        torch::Tensor v_loss;
        if (clip_vloss_) {
          const torch::Tensor old_v = old_v_all.index_select(0, b);
          const torch::Tensor v_clipped = old_v + (e.value - old_v).clamp(-clip_eps_, clip_eps_);
          v_loss = 0.5 * torch::max((e.value - ret).pow(2), (v_clipped - ret).pow(2)).mean();
        } else {
          v_loss = 0.5 * (e.value - ret).pow(2).mean();
        }
        const torch::Tensor entropy = e.entropy.mean();
        const torch::Tensor loss = pg_loss - ent_coef_ * entropy + vf_coef_ * v_loss;
        s_norm += Step(loss);
        {
          torch::NoGradGuard no_grad;
          const double kl = ((ratio - 1.0) - log_ratio).mean().item<double>();
          s_kl += kl, epoch_kl += kl, ++epoch_count;
          s_clip += ((ratio - 1.0).abs() > clip_eps_).to(torch::kFloat32).mean().item<double>();
        }
        s_pg += pg_loss.item<double>(), s_v += v_loss.item<double>(), s_ent += entropy.item<double>();
        ++count;
      }
      if (target_kl_ > 0.0 && epoch_kl / epoch_count > target_kl_) break;
    }
    return {{"policy_loss", s_pg / count}, {"value_loss", s_v / count},       {"entropy", s_ent / count},
            {"approx_kl", s_kl / count},   {"clip_fraction", s_clip / count}, {"grad_norm", s_norm / count}};
  }

 private:
  const int epochs_, minibatches_;
  const double clip_eps_;
  const bool clip_vloss_;
  const double target_kl_;
  const std::unique_ptr<Drift> drift_;
};

}  // namespace

void RegisterPpo(AgentRegistrar& r) {
  r.AddLearnable(LpoDriftRule());
  r.Add({"ppo", "PPO: clipped surrogate, GAE, Plackett-Luce slate policy (LibTorch)", &PpoSchema()},
        [](const json& config, const AgentContext& ctx) { return std::make_unique<Ppo>(config, ctx); });
}

}  // namespace cohort::torch_agents
