// What A2C (a2c.cc) and PPO (ppo.cc) share: the slate policy, the critic, the
// rollout storage and GAE. Header-only (each algorithm is its own library).
//
// Policy: a Plackett-Luce softmax over candidates. One actor MLP scores every
// (row, candidate) CandidateFeatures vector (weights shared across
// candidates); the slate's k distinct items are drawn one after another
// without replacement, each from the softmax over the candidates left:
//   log pi(slate) = sum_j [ logit(a_j) - logsumexp(logits of candidates not in a_<j) ].
// The entropy we report and reward is the sum over positions of the
// conditional entropies along the sampled prefix: by the chain rule its
// expectation is the slate entropy H(pi), and it costs one softmax per position.
//
// Critic: V(s) = MLP(state), state = [ mean over candidates of the
// CandidateFeatures vectors (F) | episode_step / step_scale ]. The mean holds
// the observed interests u, the mean item features, u * mean x, history match,
// length, budget (when observed) and the bias; episode_step is a proxy for the
// unobserved remaining time budget. step_scale = max_episode_steps when set,
// else time_budget.mean / length_mean (the episode length if every item were
// watched).
//
// End of episodes (same-step auto-reset): terminated -> no bootstrap.
// truncated -> bootstrap with V of the ended user's last state, which the
// VecEnv gives only partly (final_interests; no candidates are drawn for a
// user who is gone). We rebuild it from the state the last action was taken
// in: u and u * mean x replaced with final_interests, episode_step + 1; the
// other fields (mean item features, history match, budget) are kept as they
// were one step earlier. An approximation, documented here.
//
// Encoder ("encoder", agents/torch/encoder_config.h): with "gru" or
// "transformer" the user's last L interactions (env.observation.sequence)
// give a state e of `hidden` numbers, appended to every candidate's features
// for the actor ([CandidateFeatures | e]) and to the critic's state ([state |
// e]). It is trained by the agent's loss through Evaluate() (in training
// mode: dropout applies there only) and runs in evaluation mode everywhere
// else. The ended user's last state (truncation) keeps e of the sequence the
// last action was taken with, like the other fields kept one step old.
//
// Warm start ("init", agents/registry.cc MakeAgent): from a checkpoint of the
// same algorithm, every network; from a reinforce one, the actor takes the
// policy network (the same CandidateFeatures [| e] input, one logit per
// candidate) and the encoder its values; the critic starts fresh. This is
// how A2C and PPO start from a pretraining on logs (cohort train-offline
// fits a reinforce agent).
//
// Random streams (no torch generator): initialisation MakeRng(seed, variant,
// kInitEntity, kPolicy); training sampling one stream per row (kRowEntity + r);
// minibatch shuffling kShuffleEntity; evaluation acting draws from a stream
// made fresh for each (user, episode step) on a salted seed, so evaluation
// holds no state and never touches a training stream.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "agents/torch/common.h"
#include "agents/torch/encoder_config.h"

namespace cohort::torch_agents {

inline constexpr uint64_t kInitEntity = uint64_t(1) << 40;
inline constexpr uint64_t kShuffleEntity = (uint64_t(1) << 40) + 1;
inline constexpr uint64_t kRowEntity = uint64_t(1) << 41;
inline constexpr uint64_t kEvalSalt = 0x45564131ULL;           // "EVA1"
inline constexpr uint64_t kEncoderEntity = uint64_t(1) << 43;  // the encoder's initialisation; + 1: dropout

// GAE(gamma, lambda) over a rollout stored time-major (index t * B + r).
//   values[t*B+r]      V(s_t) (the state the action was taken in)
//   last_values[r]     V(s_T), the observation after the rollout
//   final_values[t*B+r] V(ended user's last state), read only where truncated
//   active[t*B+r]      0: the row did not act at t (skipped, advantage 0)
// terminated -> target r_t; truncated -> r_t + gamma * final_value; both
// stop the lambda-chain (the next row state belongs to another user).
inline void ComputeGae(int T, int B, const std::vector<float>& rewards, const std::vector<float>& values,
                       const std::vector<float>& last_values, const std::vector<float>& final_values,
                       const std::vector<uint8_t>& terminated, const std::vector<uint8_t>& truncated,
                       const std::vector<uint8_t>& active, double gamma, double lambda, std::vector<float>& advantages,
                       std::vector<float>& returns) {
  advantages.assign(size_t(T) * size_t(B), 0.0f);
  returns.assign(size_t(T) * size_t(B), 0.0f);
  for (int r = 0; r < B; ++r) {
    double next_adv = 0.0;  // A_{t+1} of the same user
    for (int t = T - 1; t >= 0; --t) {
      const size_t i = size_t(t) * size_t(B) + size_t(r);
      if (!active[i]) {
        next_adv = 0.0;
        continue;
      }
      double next_value, chain;
      if (terminated[i]) {
        next_value = 0.0, chain = 0.0;
      } else if (truncated[i]) {
        next_value = final_values[i], chain = 0.0;
      } else {
        next_value = t + 1 < T ? values[i + size_t(B)] : last_values[size_t(r)];
        chain = 1.0;
      }
      const double delta = rewards[i] + gamma * next_value - values[i];
      const double adv = delta + gamma * lambda * chain * next_adv;
      advantages[i] = float(adv);
      returns[i] = float(adv + values[i]);
      next_adv = adv;
    }
  }
}

// Log-probability of each slate under the Plackett-Luce policy and the sum of
// the per-position conditional entropies. logits [N, K], slates [N, k] int64.
inline std::pair<torch::Tensor, torch::Tensor> PlackettLuce(const torch::Tensor& logits, const torch::Tensor& slates) {
  const int64_t k = slates.size(1);
  // Removed candidates get a large negative offset (not -inf, so that
  // p * log p stays 0 instead of NaN).
  torch::Tensor offset = torch::zeros_like(logits);
  torch::Tensor logp = torch::zeros({logits.size(0)}, logits.options());
  torch::Tensor entropy = torch::zeros({logits.size(0)}, logits.options());
  for (int64_t j = 0; j < k; ++j) {
    const torch::Tensor lsm = torch::log_softmax(logits + offset, 1);
    entropy = entropy - (lsm.exp() * lsm).sum(1);
    const torch::Tensor a = slates.narrow(1, j, 1);
    logp = logp + lsm.gather(1, a).squeeze(1);
    if (j + 1 < k) offset = offset.scatter(1, a, -1e9);
  }
  return {logp, entropy};
}

// PPO's clipped surrogate loss: mean of max(-A * ratio, -A * clip(ratio)).
// Outside the clip range on the side the advantage favours, the gradient is 0.
inline torch::Tensor ClippedSurrogate(const torch::Tensor& ratio, const torch::Tensor& adv, double eps) {
  return torch::max(-adv * ratio, -adv * ratio.clamp(1.0 - eps, 1.0 + eps)).mean();
}

// Schema keys both algorithms have (defaults differ per algorithm).
struct AcDefaults {
  int rollout_steps = 16;
  double gamma = 0.99, gae_lambda = 0.95;
  double ent_coef = 0.01, vf_coef = 0.5, max_grad_norm = 0.5;
  bool norm_adv = true;
  std::vector<int> hidden = {32};
  double lr = 1e-3;  // Adam's, tuned per algorithm (docs/results/agents_recsim)
  std::string activation = "tanh";
};
inline void AddActorCriticKeys(Schema& s, const AcDefaults& d) {
  AddNetworkKeys(s, d.hidden, d.lr, d.activation);
  s.Integer("rollout_steps", d.rollout_steps, 1, 4096, "steps of all rows collected per rollout (update period)")
      .Number("gamma", d.gamma, 0.0, 1.0, "discount factor")
      .Number("gae_lambda", d.gae_lambda, 0.0, 1.0, "GAE lambda (1: Monte Carlo returns, 0: one-step TD)")
      .Number("ent_coef", d.ent_coef, 0.0, 1e3, "entropy bonus coefficient")
      .Number("vf_coef", d.vf_coef, 0.0, 1e3, "value loss coefficient")
      .Number("max_grad_norm", d.max_grad_norm, 0.0, 1e9, "clip the global gradient norm to this (0: off)")
      .Bool("norm_adv", d.norm_adv, "normalise advantages (per minibatch) to mean 0, std 1")
      .PositiveNumber("reward_scale", 1.0, "rewards are multiplied by this before learning")
      .Bool("eval_greedy", false, "evaluation mode takes the top-k logits instead of sampling")
      .String("init", "", {},
              "warm start: a checkpoint directory of this algorithm (every network is copied) or of a reinforce "
              "agent (cohort train-offline --out: its policy gives the actor, the critic starts fresh), with the "
              "same hidden, activation and encoder; optimizer state and streams are fresh (\"\": none)");
  AddEncoderKey(s);
}

class ActorCriticAgent : public Agent, public WarmStartSource {
 public:
  ActorCriticAgent(std::string type, const json& config, const AgentContext& ctx)
      : type_(std::move(type)),
        features_(ctx.spec),
        sequence_(ctx.spec),
        encoder_options_(EncoderOptionsFrom(config["encoder"], ctx.spec)),
        E_(EncoderOutputDim(encoder_options_)),
        B_(ctx.num_envs),
        K_(ctx.spec.num_candidates),
        k_(ctx.spec.slate_size),
        F_(features_.dim()),
        S_(features_.dim() + 1),
        d_(ctx.spec.feature_dim),
        T_(config["rollout_steps"].get<int>()),
        gamma_(config["gamma"].get<double>()),
        lambda_(config["gae_lambda"].get<double>()),
        ent_coef_(config["ent_coef"].get<double>()),
        vf_coef_(config["vf_coef"].get<double>()),
        max_grad_norm_(config["max_grad_norm"].get<double>()),
        norm_adv_(config["norm_adv"].get<bool>()),
        reward_scale_(config["reward_scale"].get<double>()),
        eval_greedy_(config["eval_greedy"].get<bool>()),
        activation_(config["activation"].get<std::string>()),
        seed_(ctx.seed),
        variant_(ctx.variant),
        shuffle_rng_(MakeRng(ctx.seed, ctx.variant, kShuffleEntity, StreamPurpose::kPolicy)) {
    UseOneThread();
    const EnvSpec& p = ctx.spec;
    step_scale_ = p.max_episode_steps > 0 ? double(p.max_episode_steps)
                                          : std::max(1.0, p.mean_time_budget / std::max(1e-9, p.mean_item_length));
    std::vector<int> hidden;
    for (const auto& h : config["hidden"]) hidden.push_back(h.get<int>());
    const std::string act = config["activation"].get<std::string>();
    actor_ = Mlp(F_ + E_, hidden, 1, act);
    critic_ = Mlp(S_ + E_, hidden, 1, act);
    Rng init = MakeRng(ctx.seed, ctx.variant, kInitEntity, StreamPurpose::kPolicy);
    InitLinear(actor_, init, 0.01);  // near-uniform initial policy
    InitLinear(critic_, init, 1.0);
    params_.Add("actor", *actor_, 0);
    params_.Add("critic", *critic_, 1);
    if (E_ > 0) {
      Rng encoder_init = MakeRng(ctx.seed, ctx.variant, kEncoderEntity, StreamPurpose::kPolicy);
      encoder_ = SequenceEncoder(encoder_options_, encoder_init);
      encoder_->eval();  // Evaluate() switches to training for its pass
      params_.Add("encoder", *encoder_, 0);
      dropout_rng_ = MakeRng(ctx.seed, ctx.variant, kEncoderEntity + 1, StreamPurpose::kPolicy);
    }
    params_.SetRule(config["optimizer"]);
    for (auto& t : actor_->parameters()) tensors_.push_back(t);
    for (auto& t : critic_->parameters()) tensors_.push_back(t);
    if (E_ > 0)
      for (auto& t : encoder_->parameters()) tensors_.push_back(t);
    row_rng_.reserve(size_t(B_));
    for (int r = 0; r < B_; ++r)
      row_rng_.push_back(MakeRng(ctx.seed, ctx.variant, kRowEntity + uint64_t(r), StreamPurpose::kPolicy));
    const size_t N = size_t(T_) * size_t(B_);
    feat_.assign(N * size_t(K_) * size_t(F_), 0.0f);
    state_.assign(N * size_t(S_), 0.0f);
    final_state_.assign(N * size_t(S_), 0.0f);
    slate_.assign(N * size_t(k_), 0);
    logp_.assign(N, 0.0f);
    reward_.assign(N, 0.0f);
    terminated_.assign(N, 0);
    truncated_.assign(N, 0);
    active_.assign(N, 0);
    last_state_.assign(size_t(B_) * size_t(S_), 0.0f);
    if (E_ > 0) {
      const size_t per_row = size_t(sequence_.length()) * size_t(sequence_.dim());
      seq_.assign(N * per_row, 0.0f);
      seq_length_.assign(N, 0);
      last_seq_.assign(size_t(B_) * per_row, 0.0f);
      last_seq_length_.assign(size_t(B_), 0);
    }
    if (ctx.total_steps > 0) planned_rollouts_ = ctx.total_steps / T_;
  }

  const std::string& type() const override { return type_; }
  bool learns() const override { return true; }
  void SetTraining(bool training) override { training_ = training; }
  bool HasSlateLaw() const override { return true; }
  void RecordSlateLaws(bool on) override { laws_.SetOn(on); }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.Get(row, type()); }
  double LastPolicyEntropy() const override { return training_ ? last_entropy_ : eval_entropy_; }
  // The slate entropy (see the top of this file) is at most that of the
  // uniform distribution over ordered slates.
  double MaxPolicyEntropy() const override { return PlackettLuceMaxEntropy(K_, k_); }
  int64_t NumParameters() const { return params_.NumParameters(); }

  // Warm start ("init"): a checkpoint of the same algorithm gives every
  // network; a reinforce one (cohort train-offline's pretraining, or a run)
  // gives the actor its policy network and the encoder its values, and the
  // critic starts fresh (reinforce's value head reads other inputs).
  void InitFrom(const Agent& trained) override {
    if (trained.type() == type_)
      WarmStart(trained, Architecture(), params_, {},
                "warm starts need the same hidden, activation and encoder, on observations of the same shape");
    else if (trained.type() == "reinforce")
      WarmStart(trained, Architecture(), params_, {{"policy", "actor"}, {"encoder", "encoder"}},
                "the actor starts from reinforce's policy: it needs the same hidden, activation and encoder, on "
                "observations of the same shape");
    else
      throw InputError("", "/agent/init", "holds a \"" + trained.type() + "\" agent, not " + type_ + " or reinforce");
  }
  const ParamSet& Networks() const override { return params_; }
  std::string Architecture() const override { return torch_agents::Architecture(activation_, encoder_options_); }

  // The actor's logits (eval_greedy takes the top-k of them).
  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override {
    if (!obs.active[size_t(row)]) return "";
    if (E_ == 0)
      CandidateForward(actor_, features_, obs, row, scores);
    else
      CandidateForwardWithState(actor_, encoder_, features_, sequence_, obs, row, scores);
    return "logit";
  }

  void Act(const StepBatch& obs, SlateBatch& slates) override {
    const size_t per_row = size_t(K_) * size_t(F_);
    // Training writes straight into rollout slot t; evaluation uses scratch.
    float* feat;
    if (training_) {
      feat = &feat_[size_t(t_) * size_t(B_) * per_row];
    } else {
      scratch_feat_.resize(size_t(B_) * per_row);
      feat = scratch_feat_.data();
    }
    for (int r = 0; r < B_; ++r) {
      if (obs.active[size_t(r)])
        features_.FillRow(obs, r, feat + size_t(r) * per_row);
      else
        std::fill_n(feat + size_t(r) * per_row, per_row, 0.0f);
    }
    {
      c10::InferenceMode guard;
      torch::Tensor x = torch::from_blob(feat, {int64_t(B_) * K_, F_}, torch::kFloat32);
      if (E_ > 0) {
        const size_t seq_row = size_t(sequence_.length()) * size_t(sequence_.dim());
        float* seq;
        int64_t* lengths;
        if (training_) {
          seq = &seq_[size_t(t_) * size_t(B_) * seq_row];
          lengths = &seq_length_[size_t(t_) * size_t(B_)];
        } else {
          scratch_seq_.resize(size_t(B_) * seq_row);
          scratch_seq_length_.resize(size_t(B_));
          seq = scratch_seq_.data();
          lengths = scratch_seq_length_.data();
        }
        sequence_.FillAll(obs, seq, lengths);
        x = WithState(x.view({B_, K_, F_}), Encode(seq, lengths, B_));
      }
      logits_ = actor_->forward(x).reshape({B_, K_}).contiguous();
    }
    const float* logits = logits_.data_ptr<float>();
    std::vector<double> p(static_cast<size_t>(K_));
    std::vector<uint8_t> taken(static_cast<size_t>(K_));
    double entropy_sum = 0.0;
    int n_active = 0;
    for (int r = 0; r < B_; ++r) {
      const size_t i = size_t(t_) * size_t(B_) + size_t(r);
      if (training_) active_[i] = obs.active[size_t(r)];
      if (!obs.active[size_t(r)]) continue;
      ++n_active;
      const float* lr = logits + size_t(r) * size_t(K_);
      int32_t* out = slates.Row(r);
      std::fill(taken.begin(), taken.end(), 0);
      double logp = 0.0;
      if (!training_ && eval_greedy_) {
        for (int j = 0; j < k_; ++j) {
          int best = -1;
          for (int c = 0; c < K_; ++c)
            if (!taken[size_t(c)] && (best < 0 || lr[c] > lr[best])) best = c;
          taken[size_t(best)] = 1;
          out[j] = best;
        }
        if (laws_.on()) laws_.At(r) = SlateLaw{0.0, SlateLaw::Kind::kFixed, std::vector<double>(out, out + k_)};
        continue;
      }
      if (laws_.on()) {
        // Plackett-Luce over exp(logit): the draws below, position by position.
        SlateLaw& law = laws_.At(r);
        law = SlateLaw{0.0, SlateLaw::Kind::kPlackettLuce, std::vector<double>(size_t(K_))};
        double top = -1e300;
        for (int c = 0; c < K_; ++c) top = std::max(top, double(lr[c]));
        for (int c = 0; c < K_; ++c) law.values[size_t(c)] = std::exp(double(lr[c]) - top);
      }
      Rng eval_rng;
      if (!training_) eval_rng = EvalRng(obs.user_id[size_t(r)], obs.episode_step[size_t(r)]);
      Rng& rng = training_ ? row_rng_[size_t(r)] : eval_rng;
      for (int j = 0; j < k_; ++j) {
        double mx = -1e300;
        for (int c = 0; c < K_; ++c)
          if (!taken[size_t(c)]) mx = std::max(mx, double(lr[c]));
        double z = 0.0;
        for (int c = 0; c < K_; ++c) {
          p[size_t(c)] = taken[size_t(c)] ? 0.0 : std::exp(double(lr[c]) - mx);
          z += p[size_t(c)];
        }
        const double log_z = std::log(z) + mx;
        const double u = rng.Uniform() * z;
        int pick = -1;
        double c_sum = 0.0;
        for (int c = 0; c < K_; ++c) {
          if (taken[size_t(c)]) continue;
          pick = c;  // the last untaken candidate absorbs rounding
          c_sum += p[size_t(c)];
          if (u < c_sum) break;
        }
        for (int c = 0; c < K_; ++c)
          if (!taken[size_t(c)]) {
            const double q = p[size_t(c)] / z;
            if (q > 0.0) entropy_sum -= q * (double(lr[c]) - log_z);
          }
        logp += double(lr[pick]) - log_z;
        taken[size_t(pick)] = 1;
        out[j] = pick;
      }
      if (training_) {
        logp_[i] = float(logp);
        for (int j = 0; j < k_; ++j) slate_[i * size_t(k_) + size_t(j)] = out[j];
        FillState(obs, r, feat + size_t(r) * per_row, &state_[i * size_t(S_)]);
      }
    }
    if (training_) {
      last_entropy_ = n_active > 0 ? entropy_sum / n_active : std::nan("");
      acted_ = true;
    } else {
      eval_entropy_ = n_active > 0 ? entropy_sum / n_active : std::nan("");
    }
  }

  void Observe(const StepBatch& result) override {
    if (!training_ || !acted_) return;
    acted_ = false;
    for (int r = 0; r < B_; ++r) {
      const size_t i = size_t(t_) * size_t(B_) + size_t(r);
      if (!active_[i]) continue;
      reward_[i] = float(result.reward[size_t(r)] * reward_scale_);
      terminated_[i] = result.terminated[size_t(r)];
      truncated_[i] = result.truncated[size_t(r)] && !terminated_[i];
      if (truncated_[i]) {
        // The ended user's last state, rebuilt (see the header comment).
        float* s = &final_state_[i * size_t(S_)];
        std::copy_n(&state_[i * size_t(S_)], S_, s);
        const float* u = &result.final_interests[size_t(r) * size_t(d_)];
        for (int e = 0; e < d_; ++e) {
          s[e] = u[e];
          s[2 * d_ + e] = u[e] * s[d_ + e];
        }
        s[F_] += float(1.0 / step_scale_);
      }
    }
    if (++t_ == T_) {
      // The bootstrap state after the rollout.
      scratch_feat_.resize(size_t(K_) * size_t(F_));
      for (int r = 0; r < B_; ++r) {
        float* s = &last_state_[size_t(r) * size_t(S_)];
        if (!result.active[size_t(r)]) {
          std::fill_n(s, S_, 0.0f);
          continue;
        }
        features_.FillRow(result, r, scratch_feat_.data());
        FillState(result, r, scratch_feat_.data(), s);
      }
      if (E_ > 0) sequence_.FillAll(result, last_seq_.data(), last_seq_length_.data());
    }
  }

  std::map<std::string, double> Update() override {
    if (!training_ || t_ < T_) return {};
    t_ = 0;
    ComputeAdvantages();
    std::map<std::string, double> stats = Learn();
    ++rollouts_;
    stats["explained_variance"] = explained_variance_;
    stats["lr"] = params_.LearningRate(StepInfo{std::max<int64_t>(1, steps_), Progress()});
    return stats;
  }

  void Save(BinaryWriter& out) const override {
    out.Tag(type_.c_str());
    params_.Save(out);
    out.Tag("rollout");
    out.Pod<int32_t>(t_);
    out.Pod<uint8_t>(acted_);
    out.Pod<int64_t>(steps_);
    out.Pod<int64_t>(rollouts_);
    out.Pod<double>(last_entropy_);
    out.Vector(feat_);
    out.Vector(state_);
    out.Vector(final_state_);
    out.Vector(slate_);
    out.Vector(logp_);
    out.Vector(reward_);
    out.Vector(terminated_);
    out.Vector(truncated_);
    out.Vector(active_);
    out.Vector(last_state_);
    out.Tag("streams");
    out.Vector(row_rng_);
    out.Pod(shuffle_rng_);
    if (E_ > 0) {  // the sequence encoder's buffers (none with the mlp encoder: its format is unchanged)
      out.Tag("encoder");
      out.Pod(dropout_rng_);
      out.Vector(seq_);
      out.Vector(seq_length_);
      out.Vector(last_seq_);
      out.Vector(last_seq_length_);
    }
  }

  void Load(BinaryReader& in) override {
    in.Tag(type_.c_str());
    params_.Load(in);
    in.Tag("rollout");
    int32_t t = 0;
    in.Pod(t);
    t_ = t;
    uint8_t acted = 0;
    in.Pod(acted);
    acted_ = acted != 0;
    in.Pod(steps_);
    in.Pod(rollouts_);
    in.Pod(last_entropy_);
    in.Check(t_ >= 0 && t_ <= T_,
             type_ + ": rollout step " + std::to_string(t_) + " is outside [0, " + std::to_string(T_) + "]");
    // The rollout buffers keep the lengths the configuration gave them.
    in.VectorLike(feat_, type_ + ".feat");
    in.VectorLike(state_, type_ + ".state");
    in.VectorLike(final_state_, type_ + ".final_state");
    in.VectorLike(slate_, type_ + ".slate");
    in.VectorLike(logp_, type_ + ".logp");
    in.VectorLike(reward_, type_ + ".reward");
    in.VectorLike(terminated_, type_ + ".terminated");
    in.VectorLike(truncated_, type_ + ".truncated");
    in.VectorLike(active_, type_ + ".active");
    in.VectorLike(last_state_, type_ + ".last_state");
    in.CheckRange(slate_, 0, K_ - 1, type_ + ".slate");
    in.CheckRange(terminated_, 0, 1, type_ + ".terminated");
    in.CheckRange(truncated_, 0, 1, type_ + ".truncated");
    in.CheckRange(active_, 0, 1, type_ + ".active");
    in.Tag("streams");
    in.Vector(row_rng_, type_ + ".row_rng", size_t(B_));
    in.Pod(shuffle_rng_);
    if (E_ > 0) {
      in.Tag("encoder");
      in.Pod(dropout_rng_);
      in.VectorLike(seq_, type_ + ".sequence");
      in.VectorLike(seq_length_, type_ + ".sequence_length");
      in.VectorLike(last_seq_, type_ + ".last_sequence");
      in.VectorLike(last_seq_length_, type_ + ".last_sequence_length");
      in.CheckRange(seq_length_, 0, sequence_.length(), type_ + ".sequence_length");
      in.CheckRange(last_seq_length_, 0, sequence_.length(), type_ + ".last_sequence_length");
    }
  }

 protected:
  // One rollout's learning step(s); advantages/returns/values are ready.
  virtual std::map<std::string, double> Learn() = 0;

  // Progress for the update rule's schedule: update-rule steps done / planned.
  double Progress() const {
    const double planned = double(planned_rollouts_) * double(steps_per_rollout_);
    return planned > 0 ? std::min(1.0, double(steps_) / planned) : 0.0;
  }

  // Indices (t * B + r) of the samples that acted in this rollout.
  std::vector<int64_t> ActiveSamples() const {
    std::vector<int64_t> idx;
    for (size_t i = 0; i < active_.size(); ++i)
      if (active_[i]) idx.push_back(int64_t(i));
    return idx;
  }

  // Policy and critic on the samples `idx`: log pi(slate), entropy, V(s).
  struct Eval {
    torch::Tensor logp, entropy, value;
  };
  Eval Evaluate(const torch::Tensor& idx) {
    const int64_t n = idx.size(0);
    torch::Tensor feat = torch::from_blob(feat_.data(), {int64_t(feat_.size()) / (K_ * F_), K_ * F_}, torch::kFloat32);
    torch::Tensor x = feat.index_select(0, idx).reshape({n * K_, F_});
    torch::Tensor s = Samples(state_, S_, torch::kFloat32).index_select(0, idx);
    if (E_ > 0) {
      const int64_t L = sequence_.length(), SF = sequence_.dim();
      const torch::Tensor seq = Samples(seq_, L * SF, torch::kFloat32).index_select(0, idx).view({n, L, SF});
      const torch::Tensor len =
          torch::from_blob(seq_length_.data(), {int64_t(seq_length_.size())}, torch::kInt64).index_select(0, idx);
      encoder_->train();
      const torch::Tensor e = encoder_->forward(seq, len, &dropout_rng_);
      encoder_->eval();
      x = WithState(x.view({n, K_, F_}), e);
      s = torch::cat({s, e}, 1);
    }
    torch::Tensor logits = actor_->forward(x).reshape({n, K_});
    torch::Tensor slates = Samples(slate_, k_, torch::kInt32).index_select(0, idx).to(torch::kInt64);
    auto [logp, entropy] = PlackettLuce(logits, slates);
    return {logp, entropy, critic_->forward(s).squeeze(1)};
  }

  // The encoder's states (evaluation mode) of n sequences (seq: n*L*F, lengths: n).
  torch::Tensor Encode(float* seq, int64_t* lengths, int64_t n) const {
    return EncodeRows(encoder_, sequence_, seq, lengths, n);
  }
  // The critic's inputs [state | e] of every stored sample (no gradient).
  torch::Tensor CriticInputs(std::vector<float>& states, std::vector<float>& seq, std::vector<int64_t>& lengths) {
    torch::Tensor s = Samples(states, S_, torch::kFloat32);
    if (E_ == 0) return s;
    return torch::cat({s, Encode(seq.data(), lengths.data(), s.size(0))}, 1);
  }

  // Per-sample rollout data [N] (or [N, width]) as tensors (views, no copy).
  template <typename V>
  torch::Tensor Samples(V& v, int64_t width, torch::ScalarType type) {
    return torch::from_blob(v.data(), {int64_t(v.size()) / width, width}, type);
  }
  torch::Tensor Column(std::vector<float>& v) {
    return torch::from_blob(v.data(), {int64_t(v.size())}, torch::kFloat32);
  }

  // Backward, global-norm clipping, one update-rule step. Returns the norm
  // before clipping.
  double Step(const torch::Tensor& loss) {
    CheckFiniteLoss(loss, type_, "loss");
    params_.ZeroGrad();
    loss.backward();
    double sq = 0.0;
    for (auto& t : tensors_) {
      const float* g = t.grad().data_ptr<float>();
      for (int64_t j = 0; j < t.numel(); ++j) sq += double(g[j]) * double(g[j]);
    }
    const double norm = std::sqrt(sq);
    if (!std::isfinite(norm)) throw TrainingDiverged(type_ + ": gradient norm is NaN/Inf");
    if (max_grad_norm_ > 0.0 && norm > max_grad_norm_) {
      const float scale = float(max_grad_norm_ / (norm + 1e-6));
      for (auto& t : tensors_) {
        float* g = t.mutable_grad().data_ptr<float>();
        for (int64_t j = 0; j < t.numel(); ++j) g[j] *= scale;
      }
    }
    params_.Step(StepInfo{++steps_, Progress()});
    return norm;
  }

  static torch::Tensor Normalize(const torch::Tensor& a) {
    if (a.size(0) < 2) return a - a.mean();
    return (a - a.mean()) / (a.std() + 1e-8);
  }

  // Filled by ComputeAdvantages (time-major, length T * B).
  std::vector<float> values_, advantages_, returns_;
  double explained_variance_ = 0.0;

  std::string type_;
  CandidateFeatures features_;
  SequenceFeatures sequence_;
  const EncoderOptions encoder_options_;
  const int E_;  // the encoder's output width (0: mlp)
  const int B_, K_, k_, F_, S_, d_, T_;
  const double gamma_, lambda_, ent_coef_, vf_coef_, max_grad_norm_;
  const bool norm_adv_;
  const double reward_scale_;
  const bool eval_greedy_;
  const std::string activation_;
  torch::nn::Sequential actor_{nullptr}, critic_{nullptr};
  SequenceEncoder encoder_{nullptr};
  Rng dropout_rng_;
  ParamSet params_;
  std::vector<torch::Tensor> tensors_;  // the same tensors, for clipping
  int64_t steps_ = 0;                   // update-rule steps taken
  int64_t rollouts_ = 0;
  int64_t planned_rollouts_ = 0;
  int64_t steps_per_rollout_ = 1;  // update-rule steps per rollout (PPO: epochs x minibatches)
  const uint64_t seed_, variant_;
  Rng shuffle_rng_;

  // Evaluation draws for (user, step): a function of its coordinates, so
  // evaluation holds no state (checkpoints and training are unaffected).
  Rng EvalRng(int64_t user, int64_t step) const {
    const uint64_t h = DeriveSeed(seed_ ^ kEvalSalt, variant_, uint64_t(user), StreamPurpose::kPolicy);
    return Rng(SplitMix64(h ^ (uint64_t(step) * 0x9E3779B97F4A7C15ULL)));
  }

  // Shuffles idx in place with the training shuffle stream (Fisher-Yates).
  void Shuffle(std::vector<int64_t>& idx) {
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[shuffle_rng_.Below(uint32_t(i))]);
  }

 protected:
  // State vector of row r: mean of its candidate features, then the step feature.
  void FillState(const StepBatch& obs, int r, const float* feat, float* s) const {
    std::fill_n(s, S_, 0.0f);
    for (int c = 0; c < K_; ++c)
      for (int e = 0; e < F_; ++e) s[e] += feat[size_t(c) * size_t(F_) + size_t(e)];
    for (int e = 0; e < F_; ++e) s[e] /= float(K_);
    s[F_] = float(double(obs.episode_step[size_t(r)]) / step_scale_);
  }

  void ComputeAdvantages() {
    torch::NoGradGuard no_grad;
    const int64_t N = int64_t(T_) * B_;
    values_.resize(size_t(N));
    std::vector<float> last(static_cast<size_t>(B_)), final_values(static_cast<size_t>(N), 0.0f);
    // The encoder's states of the stored samples, once: for V(s_t) and the ended users' V.
    const torch::Tensor with_e = CriticInputs(state_, seq_, seq_length_);
    Column(values_).copy_(critic_->forward(with_e).reshape({N}));
    Column(last).copy_(critic_->forward(CriticInputs(last_state_, last_seq_, last_seq_length_)).reshape({B_}));
    std::vector<int64_t> trunc;
    for (int64_t i = 0; i < N; ++i)
      if (active_[size_t(i)] && truncated_[size_t(i)]) trunc.push_back(i);
    if (!trunc.empty()) {
      torch::Tensor idx = torch::from_blob(trunc.data(), {int64_t(trunc.size())}, torch::kInt64);
      // The ended user's e: that of the sequence its last action was taken with.
      torch::Tensor final_in = Samples(final_state_, S_, torch::kFloat32);
      if (E_ > 0) final_in = torch::cat({final_in, with_e.narrow(1, S_, E_)}, 1);
      torch::Tensor v = critic_->forward(final_in.index_select(0, idx)).reshape({-1});
      const float* pv = v.data_ptr<float>();
      for (size_t j = 0; j < trunc.size(); ++j) final_values[size_t(trunc[j])] = pv[j];
    }
    ComputeGae(T_, B_, reward_, values_, last, final_values, terminated_, truncated_, active_, gamma_, lambda_,
               advantages_, returns_);
    // Explained variance of the values for the returns, over active samples.
    double n = 0, sr = 0, srr = 0, se = 0, see = 0;
    for (int64_t i = 0; i < N; ++i) {
      if (!active_[size_t(i)]) continue;
      const double ret = returns_[size_t(i)], err = ret - values_[size_t(i)];
      n += 1, sr += ret, srr += ret * ret, se += err, see += err * err;
    }
    const double var_r = n > 0 ? srr / n - (sr / n) * (sr / n) : 0.0;
    const double var_e = n > 0 ? see / n - (se / n) * (se / n) : 0.0;
    explained_variance_ = var_r > 1e-12 ? 1.0 - var_e / var_r : std::nan("");
  }

  int t_ = 0;           // next slot of the rollout
  bool acted_ = false;  // a training Act awaits its Observe
  bool training_ = true;
  SlateLawRecord laws_;
  double step_scale_ = 1.0;
  double last_entropy_ = std::nan("");
  double eval_entropy_ = std::nan("");
  std::vector<Rng> row_rng_;
  torch::Tensor logits_;
  std::vector<float> scratch_feat_;
  // Rollout storage, time-major: sample i = t * B + r.
  std::vector<float> feat_;         // [N, K, F]
  std::vector<float> state_;        // [N, S]
  std::vector<float> final_state_;  // [N, S], where truncated
  std::vector<int32_t> slate_;      // [N, k]
  std::vector<float> logp_;         // log pi(slate) when acting
  std::vector<float> reward_;
  std::vector<uint8_t> terminated_, truncated_, active_;
  std::vector<float> last_state_;  // [B, S], after the rollout
  // With a sequence encoder: [N, L, SequenceFeatures] and lengths [N], the
  // same after the rollout [B, ...], and evaluation acting's scratch.
  std::vector<float> seq_, last_seq_, scratch_seq_;
  std::vector<int64_t> seq_length_, last_seq_length_, scratch_seq_length_;
};

}  // namespace cohort::torch_agents
