// A2C (synchronous advantage actor-critic, Mnih et al. 2016) with a
// Plackett-Luce slate policy, CleanRL style. The shared policy, critic,
// rollout storage and GAE: actor_critic.h.
//
// Every rollout_steps steps of all rows: GAE advantages, then ONE update-rule
// step on all the rollout's active samples:
//   loss = -mean(A * log pi(slate)) - ent_coef * entropy + vf_coef * 0.5 * mean((V - R)^2)
// with the global gradient norm clipped to max_grad_norm before the step.
#include "agents/registry.h"
#include "agents/torch/actor_critic.h"
#include "agents/torch/common.h"

namespace cohort::torch_agents {
namespace {

const Schema& A2cSchema() {
  static const Schema schema = [] {
    Schema s{"A2C with a Plackett-Luce slate policy over CandidateFeatures and a state-value critic"};
    AcDefaults d;
    // Short rollouts: A2C takes one step per rollout (SB3 uses 5); advantages
    // normalised since watch-time returns are large (~100) and unscaled.
    d.rollout_steps = 5;
    d.lr = 1e-2;            // one step per rollout: tuned on recsim seed 0 over {1e-3, 3e-3, 1e-2, 3e-2}
    d.activation = "relu";  // as good as tanh here (193 vs 194), 2x faster
    AddActorCriticKeys(s, d);
    return s;
  }();
  return schema;
}

class A2c : public ActorCriticAgent {
 public:
  A2c(const json& config, const AgentContext& ctx) : ActorCriticAgent("a2c", config, ctx) {}

 protected:
  std::map<std::string, double> Learn() override {
    std::vector<int64_t> idx = ActiveSamples();
    if (idx.empty()) return {};
    const torch::Tensor b = torch::from_blob(idx.data(), {int64_t(idx.size())}, torch::kInt64);
    Eval e = Evaluate(b);
    torch::Tensor adv = Column(advantages_).index_select(0, b);
    if (norm_adv_) adv = Normalize(adv);
    const torch::Tensor ret = Column(returns_).index_select(0, b);
    const torch::Tensor pg_loss = -(adv * e.logp).mean();
    const torch::Tensor v_loss = 0.5 * (e.value - ret).pow(2).mean();
    const torch::Tensor entropy = e.entropy.mean();
    const double norm = Step(pg_loss - ent_coef_ * entropy + vf_coef_ * v_loss);
    double kl;
    {
      // KL(old || new) estimate on the same samples after the step.
      torch::NoGradGuard no_grad;
      const torch::Tensor log_ratio = Evaluate(b).logp - Column(logp_).index_select(0, b);
      kl = ((log_ratio.exp() - 1.0) - log_ratio).mean().item<double>();
    }
    return {{"policy_loss", pg_loss.item<double>()},
            {"value_loss", v_loss.item<double>()},
            {"entropy", entropy.item<double>()},
            {"approx_kl", kl},
            {"grad_norm", norm}};
  }
};

}  // namespace

void RegisterA2c(AgentRegistrar& r) {
  r.Add({"a2c", "A2C: one gradient step per rollout, GAE, Plackett-Luce slate policy (LibTorch)", &A2cSchema()},
        [](const json& config, const AgentContext& ctx) { return std::make_unique<A2c>(config, ctx); });
}

}  // namespace cohort::torch_agents
