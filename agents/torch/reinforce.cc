// REINFORCE slate agent, "reinforce" (Chen et al. 2019, "Top-K Off-Policy
// Correction for a REINFORCE Recommender System"), on-policy: we act with our
// own policy, so the importance ratio pi / beta is 1 and only the top-K factor
// lambda_K remains.
//
// Policy: logits = MLP(CandidateFeatures(row, c)) for each of the K candidates
// (one shared MLP), pi = softmax over the K; a slate of k distinct items is
// sampled sequentially without replacement (Plackett-Luce) from per-user
// cohort::Rng streams (UserStreams); evaluation acting uses separate streams
// (or greedy top-k with "eval": "greedy").
//
// Rollout: every row steps rollout_steps times, then one gradient step.
// Returns: discounted return-to-go within each episode (user lifetime). An
// episode that ends (terminated OR truncated) is never bootstrapped: the next
// observation already belongs to the next user (same-step auto-reset) and the
// ended user's final observation is not kept. An episode cut by the rollout
// end is bootstrapped with the value head V(s_T) (baseline "value"), or simply
// truncated (baseline "batch_mean", which has no state values).
//
// Baseline: "value": a small value MLP on the mean of the row's candidate
// features (which carries the observed interests, budget and the candidate
// set), trained by squared error on the returns; advantage = G - V(s).
// "batch_mean": advantage = G - mean(G) over the rollout.
// With normalize_advantages the advantages are then scaled to unit std.
//
// Credit assignment:
//   topk_correction = true: per item. Slate item j at step t gets
//     A_tj = r_tj + gamma * G_{t+1} - b(s_t), r_tj = the step's reward when j
//     was clicked (0 for the others; split evenly when nothing was clicked),
//     and the loss is -sum_j lambda_K(s_t, a_j) A_tj log pi(a_j | s_t) with
//     lambda_K = k (1 - pi)^(k-1) (Chen et al. eq. 5; k = slate size). The
//     clicked item is pushed up, the skipped ones down, each as an
//     independent draw from pi, as in the paper's top-K objective.
//   topk_correction = false: per slate. -A_t log P(slate | s_t) with the
//     sequential slate log-likelihood: the exact policy gradient of the
//     sampling policy, unbiased but noisier.
// Loss = policy loss - entropy_coef * H(pi) + value_coef * (G - V)^2, global
// gradient norm clipped to max_grad_norm, applied by the "optimizer" rule.
//
// Learning rate: the default optimizer is Adam with lr 1e-3 (safe, slow);
// on recsim_interest_evolution lr 3e-3 learns in a few hundred updates of
// B = 128 rows, while 1e-2 collapses the entropy early (top-K mode) and ends
// worse. Scale entropy_coef with the number of candidates if the policy
// becomes deterministic too soon.
//
// Offline (`cohort train-offline LOG --agent reinforce`, Agent::FitLogged):
// the same policy network learned from a log alone. Each logged slate item a
// at state s is one action, and the loss is Chen et al.'s off-policy top-K
// REINFORCE (OffPolicyTopKLoss):
//   -sum min(pi(a|s) / beta(a|s), c) * lambda_K(s, a) * R_t * log pi(a|s),
// R_t the discounted return (gamma) from the logged step to the end of the
// user's episode, scaled by 1 / mean |R_t| (units only), or with "credit":
// "item" the item's own credit as online; with "baseline" minus a value head
// V(s) fitted to R_t beside it. beta ("behaviour"): "learned", a softmax
// head (one linear unit per candidate) on the policy's last hidden layer,
// fitted by maximum likelihood of the logged items as k draws, with its
// gradient stopped at the trunk (the paper's construction; it also serves
// logs without propensities); or "logged", the log's item_propensity / k: the
// slate marginal of the item divided by k is the logging policy's mean
// per-draw probability of it, a distribution over the K candidates like pi
// (it sums to 1) and what the learned head estimates, where the first
// position's propensity would describe only one of the k draws. The cap c
// defaults to 10 (weights above it are rare on the shipped logs; the paper
// caps for the same variance reason). Minibatches of "batch_size" logged
// steps in an order drawn from the agent's seed, "epochs" passes, the
// agent's own optimizer: deterministic for a seed. The head is discarded
// after fitting; the checkpoint holds the policy (and value) networks.
//
// Pretraining ("objective": "next_click"): the same networks learned
// supervised, as a click model of the logged slates. Item j of the shown
// slate scores logit_j = policy([x_j | s]) + b_pos(j); a no-click option
// scores a linear head on [mean candidate features | s]; the loss is the
// cross-entropy of what was clicked (position or none) over these k + 1,
// plus watch_time_weight times the squared error of a linear head on the
// clicked item's last hidden layer predicting its watch time (in units of
// the mean logged watch time), plus value_coef times the value head's error
// on the logged discounted returns R_t (its gradient stopped at the
// encoder). "weighting": "inverse_propensity" weighs each step by the mean
// over its slate of (1/K) / (item_propensity / k), capped at weight_cap and
// normalized per batch: the log reweighted toward uniform exposure. The
// position biases and the two heads are discarded; the policy's logits are
// then the click model's item scores, pi = their softmax over the K
// candidates, a warm start that the online agent fine-tunes by RL through
// "init" (its own optimizer state and streams start fresh). Both
// objectives train the encoder too: each logged step keeps its sequence
// (4 (K D + L F) bytes per step), dropout masks come from the encoder's
// stream.
//
// Encoder ("encoder", agents/torch/encoder.h): "mlp" (the default) is the
// network above on the current candidate features alone. "gru" and
// "transformer" read the user's last L interactions (env.observation.sequence,
// SequenceFeatures) and give a state s of `hidden` numbers; every candidate's
// input is then [CandidateFeatures | s] for the policy, and the value head's
// [mean candidate features | s]. The encoder is trained by the same loss (the
// gradient of s is accumulated over the policy chunks and the value head, then
// sent through the encoder once per update); acting runs it in evaluation
// mode, dropout applies in the update only, with masks from its own stream.
//
// Warm start ("init": a checkpoint directory, agents/registry.cc MakeAgent):
// the policy, value and encoder values of a reinforce checkpoint with the
// same networks (a pretraining's, or any run's), or the policy and encoder of
// an a2c or ppo checkpoint (their actor has the policy's shape when hidden,
// activation and encoder agree). a2c and ppo warm-start from reinforce the
// same way (actor_critic.h): a pretraining here seeds all three.
//
// Speed: the update recomputes the policy forward from the stored features
// (the policy is fixed within a rollout) in chunks of kChunkCandidates
// candidate rows. "activation": "relu" is about 1.3x faster than tanh
// (LibTorch's vectorised tanh costs ~2.6 ns per element).
#include "agents/torch/reinforce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "agents/baselines.h"
#include "agents/registry.h"
#include "agents/torch/common.h"
#include "agents/torch/encoder_config.h"

namespace cohort::torch_agents {

torch::Tensor PolicyGradientLoss(const torch::Tensor& logits, const torch::Tensor& slates,
                                 const torch::Tensor& advantages, const torch::Tensor& mask, bool topk_correction) {
  const int64_t k = slates.size(1);
  const torch::Tensor log_pi = torch::log_softmax(logits, 1);
  const torch::Tensor log_sel = log_pi.gather(1, slates);  // (N, k)
  const torch::Tensor count = mask.sum().clamp_min(1.0);
  if (topk_correction) {
    const torch::Tensor pi_sel = log_sel.exp().detach();
    const torch::Tensor lambda = double(k) * (1.0 - pi_sel).pow(double(k - 1));
    return -((lambda * advantages * log_sel).sum(1) * mask).sum() / count;
  }
  // log P(a_j | s, a_<j) = log pi(a_j) - log(1 - mass already taken).
  const torch::Tensor pi_sel = log_sel.exp();
  const torch::Tensor taken = pi_sel.cumsum(1) - pi_sel;
  const torch::Tensor log_slate = (log_sel - torch::log((1.0 - taken).clamp_min(1e-12))).sum(1);
  return -(advantages * log_slate * mask).sum() / count;
}

torch::Tensor OffPolicyTopKLoss(const torch::Tensor& logits, const torch::Tensor& slates, const torch::Tensor& beta,
                                const torch::Tensor& returns, double cap, torch::Tensor* weights) {
  const int64_t k = slates.size(1);
  const torch::Tensor log_sel = torch::log_softmax(logits, 1).gather(1, slates);  // (N, k)
  const torch::Tensor pi_sel = log_sel.exp().detach();
  torch::Tensor w = beta.defined() ? pi_sel / beta.detach().clamp_min(1e-12) : torch::ones_like(pi_sel);
  if (cap > 0.0) w = w.clamp_max(cap);
  const torch::Tensor lambda = double(k) * (1.0 - pi_sel).pow(double(k - 1));
  if (weights != nullptr) *weights = w;
  const int64_t n = std::max<int64_t>(1, logits.size(0));
  const torch::Tensor r = returns.dim() == 1 ? returns.detach().unsqueeze(1) : returns.detach();
  return -(w * lambda * r * log_sel).sum() / double(n);
}

namespace {

const std::string kType = "reinforce";

const Schema& OfflineReinforceSchema() {
  static Schema offline{"reinforce's options for learning from a log alone (cohort train-offline)"};
  static const bool init = [] {
    offline
        .String("objective", "off_policy", {"off_policy", "next_click"},
                "off_policy: Chen et al.'s off-policy top-K REINFORCE on the logged returns; next_click: "
                "supervised pretraining, the policy's logits as a click model of the logged slates (next-click "
                "cross-entropy with a no-click option and position biases) plus watch-time regression, for "
                "fine-tuning online from the checkpoint (\"init\")")
        .Number("watch_time_weight", 1.0, 0.0, 1e3,
                "next_click: weight of the clicked item's watch-time regression (in units of the mean logged "
                "watch time)")
        .Number("validation", 0.1, 0.0, 0.9,
                "next_click: the fraction of the log's users held out (spread evenly over the log's order) to "
                "report the click model's held-out cross-entropy and accuracy (validation_*); 0: none")
        .String("weighting", "none", {"none", "inverse_propensity"},
                "next_click: each logged step's weight: none, or the mean over its slate of (1/K) / the item's "
                "per-draw logged probability (capped at weight_cap, normalized to mean 1 per batch): the log "
                "reweighted toward uniform exposure")
        .String("behaviour", "learned", {"learned", "logged"},
                "beta of the importance weight pi/beta: learned: a softmax head on the policy's last hidden layer, "
                "fitted to the logged items (gradient stopped at the trunk); logged: the log's item_propensity / k")
        .String("credit", "slate", {"slate", "item"},
                "what weighs each logged item's log pi: slate: R_t, the step's discounted return (Chen et al.); "
                "item: the item's own reward (the step's reward to the clicked item) plus the discounted future")
        .Bool("baseline", true,
              "subtract the value head's V(s), trained on R_t beside the policy (needs \"baseline\": \"value\")")
        .NumberArray("behaviour_hidden", json::array({64}), 1, 4096,
                     "hidden layers of the learned behaviour head on the trunk ([]: one linear unit per candidate)", 0,
                     8)
        .Bool("importance_weights", true,
              "false: every weight 1 (the ablation without the off-policy correction; lambda_K stays)")
        .Number("weight_cap", 10.0, 0.0, 1e6,
                "cap c of the importance weight min(pi/beta, c), and of next_click's inverse-propensity "
                "weights (0: no cap)")
        .Integer("epochs", 10, 1, 100000, "passes over the logged steps")
        .Integer("batch_size", 256, 1, 1 << 20, "logged steps per gradient step");
    return true;
  }();
  (void)init;
  return offline;
}

std::vector<int> HiddenSizes(const json& sizes) {
  std::vector<int> out;
  for (const auto& h : sizes) out.push_back(h.get<int>());
  return out;
}
// Stream entities of this agent (users are numbered from 0 upward).
constexpr uint64_t kInitEntity = uint64_t(1) << 40;
constexpr uint64_t kEvalEntity = uint64_t(1) << 41;
// Offline learning: the behaviour head's initialisation and the batch order.
constexpr uint64_t kOfflineEntity = uint64_t(1) << 42;
// The sequence encoder's initialisation and dropout masks.
constexpr uint64_t kEncoderEntity = uint64_t(1) << 43;
// Candidate rows per forward/backward pass of the update.
constexpr int64_t kChunkCandidates = 16384;

class ReinforceAgent : public Agent, public WarmStartSource {
 public:
  ReinforceAgent(const json& config, const AgentContext& ctx)
      : features_(ctx.spec),
        sequence_(ctx.spec),
        encoder_options_(EncoderOptionsFrom(config["encoder"], ctx.spec)),
        state_dim_(EncoderOutputDim(encoder_options_)),
        rows_(ctx.num_envs),
        num_candidates_(ctx.spec.num_candidates),
        slate_size_(ctx.spec.slate_size),
        dim_(features_.dim()),
        gamma_(config["gamma"].get<double>()),
        rollout_steps_(config["rollout_steps"].get<int>()),
        topk_correction_(config["topk_correction"].get<bool>()),
        value_baseline_(config["baseline"].get<std::string>() == "value"),
        value_coef_(config["value_coef"].get<double>()),
        entropy_coef_(config["entropy_coef"].get<double>()),
        normalize_(config["normalize_advantages"].get<bool>()),
        max_grad_norm_(config["max_grad_norm"].get<double>()),
        greedy_eval_(config["eval"].get<std::string>() == "greedy"),
        hidden_(HiddenSizes(config["hidden"])),
        activation_(config["activation"].get<std::string>()),
        optimizer_(config["optimizer"]),
        seed_(ctx.seed),
        variant_(ctx.variant),
        train_streams_(ctx.seed, ctx.variant, ctx.num_envs),
        eval_streams_(DeriveSeed(ctx.seed, ctx.variant, kEvalEntity, StreamPurpose::kPolicy), ctx.variant,
                      ctx.num_envs) {
    UseOneThread();
    std::vector<int> hidden;
    for (const auto& h : config["hidden"]) hidden.push_back(h.get<int>());
    const std::string activation = config["activation"].get<std::string>();
    Rng init = MakeRng(ctx.seed, ctx.variant, kInitEntity, StreamPurpose::kPolicy);
    policy_ = Mlp(dim_ + state_dim_, hidden, 1, activation);
    InitLinear(policy_, init, /*last_scale=*/0.01);  // near-uniform first policy
    params_.Add("policy", *policy_, 0);
    if (value_baseline_) {
      value_ = Mlp(dim_ + state_dim_, hidden, 1, activation);
      InitLinear(value_, init);
      params_.Add("value", *value_, 1);
    }
    if (state_dim_ > 0) {
      Rng encoder_init = MakeRng(ctx.seed, ctx.variant, kEncoderEntity, StreamPurpose::kPolicy);
      encoder_ = SequenceEncoder(encoder_options_, encoder_init);
      encoder_->eval();  // acting; Update() switches to training for its forward pass
      params_.Add("encoder", *encoder_, 0);
      dropout_rng_ = MakeRng(ctx.seed, ctx.variant, kEncoderEntity + 1, StreamPurpose::kPolicy);
    }
    params_.SetRule(config["optimizer"]);
    if (ctx.total_steps > 0) planned_updates_ = std::max<int64_t>(1, ctx.total_steps / rollout_steps_);

    const size_t step_rows = size_t(rows_);
    feats_.assign(size_t(rollout_steps_) * step_rows * size_t(num_candidates_ * dim_), 0.0f);
    slates_.assign(size_t(rollout_steps_) * step_rows * size_t(slate_size_), 0);
    active_.assign(size_t(rollout_steps_) * step_rows, 0);
    reward_.assign(size_t(rollout_steps_) * step_rows, 0.0f);
    click_.assign(size_t(rollout_steps_) * step_rows, -1);
    done_.assign(size_t(rollout_steps_) * step_rows, 0);
    last_feats_.assign(value_baseline_ ? step_rows * size_t(num_candidates_ * dim_) : 0, 0.0f);
    last_active_.assign(step_rows, 0);
    eval_feats_.assign(step_rows * size_t(num_candidates_ * dim_), 0.0f);
    if (state_dim_ > 0) {
      const size_t per_row = size_t(sequence_.length()) * size_t(sequence_.dim());
      seq_.assign(size_t(rollout_steps_) * step_rows * per_row, 0.0f);
      seq_lengths_.assign(size_t(rollout_steps_) * step_rows, 0);
      last_seq_.assign(value_baseline_ ? step_rows * per_row : 0, 0.0f);
      last_seq_lengths_.assign(value_baseline_ ? step_rows : 0, 0);
      eval_seq_.assign(step_rows * per_row, 0.0f);
      eval_seq_lengths_.assign(step_rows, 0);
    }
  }

  const std::string& type() const override { return kType; }
  bool learns() const override { return true; }
  void SetTraining(bool training) override { training_ = training; }
  bool HasSlateLaw() const override { return true; }
  void RecordSlateLaws(bool on) override { laws_.SetOn(on); }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.Get(row, type()); }
  double LastPolicyEntropy() const override { return last_entropy_; }
  // The entropy reported is the softmax's over the K candidates (the item
  // policy pi of the top-K objective), not the slate's.
  double MaxPolicyEntropy() const override { return std::log(double(num_candidates_)); }
  // The policy logits (pi = their softmax; greedy evaluation takes the top-k).
  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override {
    if (!obs.active[size_t(row)]) return "";
    if (state_dim_ == 0)
      CandidateForward(policy_, features_, obs, row, scores);
    else
      CandidateForwardWithState(policy_, encoder_, features_, sequence_, obs, row, scores);
    return "logit";
  }

  void Act(const StepBatch& obs, SlateBatch& slates) override {
    if (training_ && t_ >= rollout_steps_)
      throw std::logic_error("reinforce: Act after a full rollout without Update()");
    const size_t per_row = size_t(num_candidates_) * size_t(dim_);
    const size_t step_off = size_t(t_) * size_t(rows_);
    float* feats = training_ ? &feats_[step_off * per_row] : eval_feats_.data();
    FillFeatures(obs, feats);

    c10::InferenceMode guard;
    torch::Tensor x = torch::from_blob(feats, {int64_t(rows_) * num_candidates_, dim_}, torch::kFloat32);
    if (state_dim_ > 0) {
      const size_t seq_row = size_t(sequence_.length()) * size_t(sequence_.dim());
      float* seq = training_ ? &seq_[step_off * seq_row] : eval_seq_.data();
      int64_t* lengths = training_ ? &seq_lengths_[step_off] : eval_seq_lengths_.data();
      sequence_.FillAll(obs, seq, lengths);
      x = WithState(x.view({rows_, num_candidates_, dim_}), State(seq, lengths, rows_));
    }
    const torch::Tensor probs = torch::softmax(policy_->forward(x).view({rows_, num_candidates_}), 1).contiguous();
    const float* p = probs.data_ptr<float>();

    double entropy = 0.0;
    int counted = 0;
    for (int r = 0; r < rows_; ++r) {
      if (training_) active_[step_off + size_t(r)] = obs.active[size_t(r)];
      if (!obs.active[size_t(r)]) continue;
      const float* pr = p + size_t(r) * size_t(num_candidates_);
      for (int c = 0; c < num_candidates_; ++c)
        if (pr[c] > 0) entropy -= double(pr[c]) * std::log(double(pr[c]));
      ++counted;
      int32_t* out = slates.Row(r);
      if (!training_ && greedy_eval_)
        TopK(pr, out);
      else
        SampleSlate(pr, (training_ ? train_streams_ : eval_streams_).For(r, obs.user_id[size_t(r)]), out);
      if (laws_.on()) {
        // Plackett-Luce over pi, or the greedy top-k (ties to the lower index).
        if (!training_ && greedy_eval_)
          laws_.At(r) = SlateLaw{0.0, SlateLaw::Kind::kFixed, std::vector<double>(out, out + slate_size_)};
        else
          laws_.At(r) = SlateLaw{0.0, SlateLaw::Kind::kPlackettLuce, std::vector<double>(pr, pr + num_candidates_)};
      }
      if (training_) std::copy_n(out, slate_size_, &slates_[(step_off + size_t(r)) * size_t(slate_size_)]);
    }
    last_entropy_ = counted > 0 ? entropy / counted : std::nan("");
    if (training_) acted_ = true;
  }

  void Observe(const StepBatch& result) override {
    if (!training_ || !acted_) return;
    acted_ = false;
    const size_t off = size_t(t_) * size_t(rows_);
    for (int r = 0; r < rows_; ++r) {
      reward_[off + size_t(r)] = result.reward[size_t(r)];
      click_[off + size_t(r)] = result.click_position[size_t(r)];
      done_[off + size_t(r)] = result.terminated[size_t(r)] || result.truncated[size_t(r)];
    }
    if (++t_ == rollout_steps_) {
      // The state after the rollout, for bootstrapping episodes it cuts.
      for (int r = 0; r < rows_; ++r) last_active_[size_t(r)] = result.active[size_t(r)];
      if (value_baseline_) FillFeatures(result, last_feats_.data());
      if (value_baseline_ && state_dim_ > 0) sequence_.FillAll(result, last_seq_.data(), last_seq_lengths_.data());
    }
  }

  std::map<std::string, double> Update() override {
    if (t_ < rollout_steps_) return {};
    const int64_t T = rollout_steps_, B = rows_, K = num_candidates_, D = dim_, k = slate_size_;
    const torch::Tensor x = torch::from_blob(feats_.data(), {T * B * K, D}, torch::kFloat32);

    // Bootstrap values of the state after the rollout.
    std::vector<float> boot(size_t(B), 0.0f);
    if (value_baseline_) {
      torch::NoGradGuard no_grad;
      const torch::Tensor xl = torch::from_blob(last_feats_.data(), {B, K, D}, torch::kFloat32);
      const torch::Tensor last_state =
          state_dim_ > 0 ? State(last_seq_.data(), last_seq_lengths_.data(), B) : torch::Tensor();
      const torch::Tensor v = value_->forward(ValueInput(xl, last_state)).view({B}).contiguous();
      std::copy_n(v.data_ptr<float>(), B, boot.data());
    }

    // Returns-to-go per slate (G) and per slate item (the item's own reward
    // plus the discounted future, used by the top-K loss).
    std::vector<float> ret(size_t(T * B), 0.0f), item_ret(size_t(T * B * k), 0.0f), mask(size_t(T * B), 0.0f);
    double ret_sum = 0.0;
    int64_t n = 0;
    for (int64_t r = 0; r < B; ++r) {
      double next = last_active_[size_t(r)] ? boot[size_t(r)] : 0.0;
      for (int64_t t = T - 1; t >= 0; --t) {
        const size_t i = size_t(t * B + r);
        if (!active_[i]) {
          next = 0.0;
          continue;
        }
        const double future = done_[i] ? 0.0 : gamma_ * next;
        const double g = reward_[i] + future;
        ret[i] = float(g);
        mask[i] = 1.0f;
        for (int64_t j = 0; j < k; ++j) {
          const double own = click_[i] == j ? reward_[i] : click_[i] < 0 ? reward_[i] / double(k) : 0.0;
          item_ret[i * size_t(k) + size_t(j)] = float(own + future);
        }
        ret_sum += g;
        ++n;
        next = g;
      }
    }

    const torch::Tensor ret_t = torch::from_blob(ret.data(), {T * B}, torch::kFloat32);
    const torch::Tensor item_ret_t = torch::from_blob(item_ret.data(), {T * B, k}, torch::kFloat32);
    const torch::Tensor mask_t = torch::from_blob(mask.data(), {T * B}, torch::kFloat32);
    const double count = double(std::max<int64_t>(n, 1));
    std::vector<int64_t> slates64(slates_.begin(), slates_.end());
    const torch::Tensor slates_t = torch::from_blob(slates64.data(), {T * B, k}, torch::kInt64);
    params_.ZeroGrad();

    // The encoder's states of every (step, row), in training mode; the losses
    // below see them as a leaf (`state`) whose gradient is sent through the
    // encoder once at the end.
    torch::Tensor encoded, state;
    if (state_dim_ > 0) {
      encoder_->train();
      encoded = State(seq_.data(), seq_lengths_.data(), T * B);
      encoder_->eval();
      state = encoded.detach().requires_grad_(true);
    }

    // Value head (inputs T*B x D: small, one pass) and the advantages.
    torch::Tensor baseline;
    double value_loss = 0.0;
    if (value_baseline_) {
      const torch::Tensor v = value_->forward(ValueInput(x.view({T * B, K, D}), state)).view({T * B});
      const torch::Tensor vl = ((ret_t - v).pow(2) * mask_t).sum() / count;
      CheckFiniteLoss(vl, kType, "value loss");
      (value_coef_ * vl).backward();
      value_loss = vl.item<double>();
      baseline = v.detach();
    } else {
      baseline = ((ret_t * mask_t).sum() / count).expand({T * B});
    }
    torch::Tensor adv = topk_correction_ ? item_ret_t - baseline.unsqueeze(1) : ret_t - baseline;
    if (normalize_) {
      // Scale only (the baseline already centres): unit std over counted rows.
      const torch::Tensor m = topk_correction_ ? mask_t.unsqueeze(1).expand_as(adv) : mask_t;
      const torch::Tensor mean = (adv * m).sum() / m.sum().clamp_min(1.0);
      const torch::Tensor var = ((adv - mean).pow(2) * m).sum() / m.sum().clamp_min(1.0);
      adv = adv / (var.sqrt() + 1e-8);
    }

    // Policy loss over the K candidates of every (step, row), a few steps at
    // a time with gradients accumulated: the gradient of one full pass,
    // without 40 MB temporaries (page faults) at B = 1024.
    const int64_t chunk_steps = std::max<int64_t>(1, kChunkCandidates / (B * K));
    double pg_loss = 0.0, entropy = 0.0;
    for (int64_t t0 = 0; t0 < T; t0 += chunk_steps) {
      const int64_t r0 = t0 * B, nr = std::min(chunk_steps, T - t0) * B;
      double chunk_count = 0.0;
      for (int64_t i = r0; i < r0 + nr; ++i) chunk_count += mask[size_t(i)];
      if (chunk_count == 0.0) continue;
      const torch::Tensor m = mask_t.narrow(0, r0, nr);
      const torch::Tensor xc = x.narrow(0, r0 * K, nr * K);
      const torch::Tensor logits =
          policy_->forward(state_dim_ > 0 ? WithState(xc.view({nr, K, D}), state.narrow(0, r0, nr)) : xc).view({nr, K});
      const torch::Tensor pg =
          PolicyGradientLoss(logits, slates_t.narrow(0, r0, nr), adv.narrow(0, r0, nr), m, topk_correction_) *
          (chunk_count / count);
      const torch::Tensor log_pi = torch::log_softmax(logits, 1);
      const torch::Tensor ent = (-(log_pi.exp() * log_pi).sum(1) * m).sum() / count;
      const torch::Tensor loss = pg - entropy_coef_ * ent;
      CheckFiniteLoss(loss, kType, "policy loss");
      loss.backward();
      pg_loss += pg.item<double>();
      entropy += ent.item<double>();
    }
    if (state_dim_ > 0 && state.grad().defined()) encoded.backward(state.grad());
    const double grad_norm = ClipGradients();

    ++updates_;
    const StepInfo info{updates_, planned_updates_ > 0 ? std::min(1.0, double(updates_ - 1) / planned_updates_) : 0.0};
    params_.Step(info);
    t_ = 0;
    return {{"loss", pg_loss - entropy_coef_ * entropy + value_coef_ * value_loss},
            {"policy_loss", pg_loss},
            {"value_loss", value_loss},
            {"entropy", entropy},
            {"mean_return", ret_sum / count},
            {"lr", params_.LearningRate(info)},
            {"grad_norm", grad_norm}};
  }

  const Schema* OfflineSchema() const override { return &OfflineReinforceSchema(); }

  // One logged user-step: its candidate features (and sequence, with an
  // encoder), slate, user, reward, click, the clicked item's watch time and
  // the logging probabilities of its slate items.
  void AddLoggedStep(const LoggedStep& step) override {
    if (step.item_propensity == nullptr) off_missing_propensity_ = true;
    const size_t per_row = size_t(num_candidates_) * size_t(dim_);
    off_feats_.resize(off_feats_.size() + per_row);
    features_.FillRow(*step.obs, step.row, &off_feats_[off_feats_.size() - per_row]);
    if (state_dim_ > 0) {
      const size_t per_seq = size_t(sequence_.length()) * size_t(sequence_.dim());
      off_seq_.resize(off_seq_.size() + per_seq);
      sequence_.FillRow(*step.obs, step.row, &off_seq_[off_seq_.size() - per_seq]);
      off_seq_lengths_.push_back(step.obs->sequence_length[size_t(step.row)]);
    }
    for (int j = 0; j < slate_size_; ++j) {
      const int32_t c = step.slate[j];
      off_slates_.push_back(c);
      // The per-draw probability that matches pi: the item's slate marginal / k.
      off_beta_.push_back(step.item_propensity != nullptr ? float(step.item_propensity[c] / slate_size_) : 0.0f);
    }
    off_user_.push_back(step.user);
    off_reward_.push_back(step.reward);
    off_click_.push_back(step.click);
    off_watch_.push_back(float(step.watch_time));
  }

  // The added steps, learned by the objective of `options` (see the file
  // comment), then freed.
  std::map<std::string, double> FitLogged(const json& options) override {
    const bool next_click = options["objective"].get<std::string>() == "next_click";
    // A key of the other objective, set to anything but its default, would
    // be ignored: refuse it.
    static const json defaults = Validate(json::object(), OfflineReinforceSchema(), "");
    for (const char* key : {"behaviour", "credit", "baseline", "behaviour_hidden", "importance_weights"})
      if (next_click && options[key] != defaults[key])
        throw InputError("--agent", std::string("/agent/offline/") + key,
                         "applies to \"objective\": \"off_policy\" only, not \"next_click\"");
    for (const char* key : {"watch_time_weight", "weighting", "validation"})
      if (!next_click && options[key] != defaults[key])
        throw InputError("--agent", std::string("/agent/offline/") + key,
                         "applies to \"objective\": \"next_click\" only, not \"off_policy\"");
    if (next_click && options["weighting"] == "none" && options["weight_cap"] != defaults["weight_cap"])
      throw InputError("--agent", "/agent/offline/weight_cap",
                       "caps importance weights, which \"objective\": \"next_click\" has only with \"weighting\": "
                       "\"inverse_propensity\"");
    if (off_user_.empty()) throw InputError("the log", "", "has no steps to learn from");
    std::map<std::string, double> stats = next_click ? FitNextClick(options) : FitOffPolicy(options);
    std::vector<float>().swap(off_feats_);
    std::vector<float>().swap(off_seq_);
    std::vector<int64_t>().swap(off_seq_lengths_);
    std::vector<int32_t>().swap(off_slates_);
    std::vector<float>().swap(off_beta_);
    std::vector<int64_t>().swap(off_user_);
    std::vector<double>().swap(off_reward_);
    std::vector<int32_t>().swap(off_click_);
    std::vector<float>().swap(off_watch_);
    off_missing_propensity_ = false;
    return stats;
  }

  // Warm start ("init"): a reinforce checkpoint gives every network (policy,
  // value, encoder); an a2c or ppo one gives the policy its actor and the
  // encoder its values (the value head starts fresh).
  void InitFrom(const Agent& trained) override {
    if (trained.type() == kType)
      WarmStart(trained, Architecture(), params_, {},
                "warm starts need the same hidden, activation, baseline and encoder, on observations of the same "
                "shape");
    else if (trained.type() == "a2c" || trained.type() == "ppo")
      WarmStart(trained, Architecture(), params_, {{"actor", "policy"}, {"encoder", "encoder"}},
                "the policy starts from the actor: it needs the same hidden, activation and encoder, on observations "
                "of the same shape");
    else
      throw InputError("", "/agent/init", "holds a \"" + trained.type() + "\" agent, not reinforce, a2c or ppo");
  }
  const ParamSet& Networks() const override { return params_; }
  std::string Architecture() const override { return torch_agents::Architecture(activation_, encoder_options_); }

  void Save(BinaryWriter& out) const override {
    out.Tag(kType.c_str());
    params_.Save(out);
    train_streams_.Save(out);
    eval_streams_.Save(out);
    out.Pod<int32_t>(t_);
    out.Pod<uint8_t>(acted_);
    out.Pod<int64_t>(updates_);
    out.Vector(feats_);
    out.Vector(slates_);
    out.Vector(active_);
    out.Vector(reward_);
    out.Vector(click_);
    out.Vector(done_);
    out.Vector(last_feats_);
    out.Vector(last_active_);
    if (state_dim_ > 0) {  // the sequence encoder's buffers (none with the mlp encoder: its format is unchanged)
      out.Pod(dropout_rng_);
      out.Vector(seq_);
      out.Vector(seq_lengths_);
      out.Vector(last_seq_);
      out.Vector(last_seq_lengths_);
    }
  }

  void Load(BinaryReader& in) override {
    in.Tag(kType.c_str());
    params_.Load(in);
    train_streams_.Load(in);
    eval_streams_.Load(in);
    in.Pod(t_);
    uint8_t acted = 0;
    in.Pod(acted);
    acted_ = acted != 0;
    in.Pod(updates_);
    in.Check(t_ >= 0 && t_ <= rollout_steps_, "reinforce: rollout step " + std::to_string(t_) + " is outside [0, " +
                                                  std::to_string(rollout_steps_) + "]");
    // The rollout buffers keep the lengths the configuration gave them.
    in.VectorLike(feats_, "reinforce.feats");
    in.VectorLike(slates_, "reinforce.slates");
    in.VectorLike(active_, "reinforce.active");
    in.VectorLike(reward_, "reinforce.reward");
    in.VectorLike(click_, "reinforce.click");
    in.VectorLike(done_, "reinforce.done");
    in.VectorLike(last_feats_, "reinforce.last_feats");
    in.VectorLike(last_active_, "reinforce.last_active");
    in.CheckRange(slates_, 0, num_candidates_ - 1, "reinforce.slates");
    in.CheckRange(click_, -1, slate_size_ - 1, "reinforce.click");
    in.CheckRange(active_, 0, 1, "reinforce.active");
    in.CheckRange(done_, 0, 1, "reinforce.done");
    in.CheckRange(last_active_, 0, 1, "reinforce.last_active");
    if (state_dim_ > 0) {
      in.Pod(dropout_rng_);
      in.VectorLike(seq_, "reinforce.sequence");
      in.VectorLike(seq_lengths_, "reinforce.sequence_lengths");
      in.VectorLike(last_seq_, "reinforce.last_sequence");
      in.VectorLike(last_seq_lengths_, "reinforce.last_sequence_lengths");
      in.CheckRange(seq_lengths_, 0, sequence_.length(), "reinforce.sequence_lengths");
      in.CheckRange(last_seq_lengths_, 0, sequence_.length(), "reinforce.last_sequence_lengths");
    }
  }

 private:
  // Offline learning. R_t: the discounted return from each logged step to
  // the end of its user's episode (a user's rows come in step order); with
  // item_ret, each slate item's own credit (the online agent's).
  void LoggedReturns(std::vector<float>& ret, std::vector<float>* item_ret, double* ret_sum) const {
    const int64_t N = int64_t(off_user_.size()), k = slate_size_;
    ret.assign(size_t(N), 0.0f);
    if (item_ret != nullptr) item_ret->assign(size_t(N * k), 0.0f);
    std::unordered_map<int64_t, double> next;
    *ret_sum = 0.0;
    for (int64_t i = N - 1; i >= 0; --i) {
      double& g = next[off_user_[size_t(i)]];
      const double future = gamma_ * g, reward = off_reward_[size_t(i)];
      const int click = off_click_[size_t(i)];
      if (item_ret != nullptr)
        for (int64_t j = 0; j < k; ++j) {
          // The step's reward to the clicked item (split evenly when nothing
          // was clicked), the future to all.
          const double own = click == j ? reward : click < 0 ? reward / double(k) : 0.0;
          (*item_ret)[size_t(i * k + j)] = float(own + future);
        }
      g = reward + future;
      ret[size_t(i)] = float(g);
      *ret_sum += g;
    }
  }

  // The encoder's states of the logged steps order[b0 .. b0 + nb), in
  // training mode (dropout from its stream) or evaluation mode; undefined
  // without an encoder.
  torch::Tensor LoggedState(const std::vector<int64_t>& order, int64_t b0, int64_t nb, bool training = true) {
    if (state_dim_ == 0) return {};
    const size_t per_seq = size_t(sequence_.length()) * size_t(sequence_.dim());
    off_batch_seq_.resize(size_t(nb) * per_seq);
    off_batch_lengths_.resize(size_t(nb));
    for (int64_t i = 0; i < nb; ++i) {
      const size_t step = size_t(order[size_t(b0 + i)]);
      std::copy_n(&off_seq_[step * per_seq], per_seq, &off_batch_seq_[size_t(i) * per_seq]);
      off_batch_lengths_[size_t(i)] = off_seq_lengths_[step];
    }
    if (!training)
      return EncodeRows(encoder_, sequence_, off_batch_seq_.data(), off_batch_lengths_.data(), nb, nullptr);
    encoder_->train();
    torch::Tensor s =
        EncodeRows(encoder_, sequence_, off_batch_seq_.data(), off_batch_lengths_.data(), nb, &dropout_rng_);
    encoder_->eval();
    return s;
  }

  // The policy network's input for candidate rows x (n, m, D) of n states:
  // x itself, or [x | state] with an encoder -> (n*m, D[+E]).
  torch::Tensor PolicyInput(const torch::Tensor& x, const torch::Tensor& state) const {
    return state.defined() ? WithState(x, state) : x.reshape({x.size(0) * x.size(1), x.size(2)});
  }

  // The value head's input: [mean candidate features | state].
  torch::Tensor ValueInput(const torch::Tensor& x, const torch::Tensor& state) const {
    return state.defined() ? torch::cat({x.mean(1), state}, 1) : x.mean(1);
  }

  // policy_ up to its last hidden layer (the trunk): h; the logits are
  // PolicyLast()(h).
  torch::Tensor Trunk(const torch::Tensor& in) {
    torch::Tensor h = in;
    auto layer = policy_->begin();
    for (size_t l = 0; l + 1 < policy_->size(); ++l, ++layer) h = layer->forward(h);
    return h;
  }
  torch::Tensor PolicyLast(const torch::Tensor& h) { return (policy_->begin() + (policy_->size() - 1))->forward(h); }
  int TrunkWidth() const { return hidden_.empty() ? dim_ + state_dim_ : hidden_.back(); }

  // A shuffled order of the N logged steps for each epoch (the offline stream).
  static void Shuffle(std::vector<int64_t>& order, Rng& rng) {
    for (int64_t i = int64_t(order.size()) - 1; i > 0; --i)
      std::swap(order[size_t(i)], order[size_t(rng.Below(uint32_t(i + 1)))]);
  }

  // Off-policy top-K REINFORCE on the added steps (reinforce.h
  // OffPolicyTopKLoss), the behaviour head beside it; see the file comment.
  std::map<std::string, double> FitOffPolicy(const json& options) {
    const bool learned_behaviour = options["behaviour"].get<std::string>() == "learned";
    const bool item_credit = options["credit"].get<std::string>() == "item";
    const bool importance_weights = options["importance_weights"].get<bool>();
    const bool use_baseline = options["baseline"].get<bool>();
    const std::vector<int> behaviour_hidden = HiddenSizes(options["behaviour_hidden"]);
    const double weight_cap = options["weight_cap"].get<double>();
    const int epochs = options["epochs"].get<int>(), batch_size = options["batch_size"].get<int>();
    if (!learned_behaviour && off_missing_propensity_)
      throw InputError("--agent", "/agent/offline/behaviour",
                       "\"logged\" weighs by the log's item_propensity column, which this log does not have "
                       "(use \"learned\")");
    const int64_t N = int64_t(off_user_.size()), K = num_candidates_, D = dim_, k = slate_size_;
    if (use_baseline && !value_baseline_)
      throw InputError("--agent", "/agent/offline/baseline",
                       "subtracts the value head's V(s), which \"baseline\": \"batch_mean\" has none of (set "
                       "\"baseline\": \"value\", or offline.baseline false)");
    // Returns scaled by the mean |R_t|, so that the learning rate does not
    // depend on the reward's units.
    std::vector<float> ret, item_ret;
    double ret_sum = 0.0;
    LoggedReturns(ret, &item_ret, &ret_sum);
    double abs_sum = 0.0;
    for (float r : ret) abs_sum += std::abs(double(r));
    const double scale = abs_sum > 0.0 ? double(N) / abs_sum : 1.0;
    for (float& r : ret) r = float(r * scale);
    for (float& r : item_ret) r = float(r * scale);

    Rng rng = MakeRng(seed_, variant_, kOfflineEntity, StreamPurpose::kPolicy);
    // The behaviour head: on the policy's last hidden layer (its input when
    // there is none), trained by maximum likelihood of the logged items with
    // its gradient stopped at the trunk.
    torch::nn::Sequential behaviour = Mlp(TrunkWidth(), behaviour_hidden, 1, activation_);
    InitLinear(behaviour, rng, /*last_scale=*/0.01);
    ParamSet behaviour_params;
    behaviour_params.Add("behaviour", *behaviour, 0);
    behaviour_params.SetRule(optimizer_);

    const torch::Tensor x_all = torch::from_blob(off_feats_.data(), {N, K, D}, torch::kFloat32);
    std::vector<int64_t> slates64(off_slates_.begin(), off_slates_.end());
    const torch::Tensor slates_all = torch::from_blob(slates64.data(), {N, k}, torch::kInt64);
    const torch::Tensor beta_all = torch::from_blob(off_beta_.data(), {N, k}, torch::kFloat32);
    const torch::Tensor ret_all = torch::from_blob(ret.data(), {N}, torch::kFloat32);
    const torch::Tensor item_ret_all = torch::from_blob(item_ret.data(), {N, k}, torch::kFloat32);

    std::vector<int64_t> order(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) order[size_t(i)] = i;
    const int64_t planned = (N + batch_size - 1) / batch_size * epochs;
    double loss_sum = 0.0, nll_sum = 0.0, weight_sum = 0.0, clipped = 0.0, beta_gap = 0.0;
    int64_t batches = 0, last_epoch_batches = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      Shuffle(order, rng);
      const bool last = epoch + 1 == epochs;
      for (int64_t b0 = 0; b0 < N; b0 += batch_size) {
        const int64_t nb = std::min<int64_t>(batch_size, N - b0);
        const torch::Tensor idx = torch::from_blob(&order[size_t(b0)], {nb}, torch::kInt64);
        const torch::Tensor x = x_all.index_select(0, idx);
        const torch::Tensor state = LoggedState(order, b0, nb);
        const torch::Tensor slates = slates_all.index_select(0, idx);
        const torch::Tensor h = Trunk(PolicyInput(x, state));
        const torch::Tensor logits = PolicyLast(h).view({nb, K});
        const torch::Tensor log_beta = torch::log_softmax(behaviour->forward(h.detach()).view({nb, K}), 1);
        const torch::Tensor log_beta_sel = log_beta.gather(1, slates);
        const torch::Tensor nll = -log_beta_sel.sum(1).mean();
        const torch::Tensor beta_logged = beta_all.index_select(0, idx);
        const torch::Tensor beta = !importance_weights ? torch::Tensor()
                                   : learned_behaviour ? log_beta_sel.exp().detach()
                                                        : beta_logged;
        // What multiplies each item's log pi: R_t, or the item's own credit,
        // less the value baseline V(s) (trained on R_t beside it).
        const torch::Tensor g = ret_all.index_select(0, idx);
        torch::Tensor target = item_credit ? item_ret_all.index_select(0, idx) : g.unsqueeze(1).expand({nb, k});
        torch::Tensor value_loss = torch::zeros({}, torch::kFloat32);
        if (use_baseline) {
          const torch::Tensor v = value_->forward(ValueInput(x, state)).view({nb});
          value_loss = value_coef_ * (g - v).pow(2).mean();
          target = target - v.detach().unsqueeze(1);
        }
        torch::Tensor w;
        const torch::Tensor pg = OffPolicyTopKLoss(logits, slates, beta, target, weight_cap, &w);
        const torch::Tensor loss = pg + nll + value_loss;
        CheckFiniteLoss(loss, kType, "offline loss");
        params_.ZeroGrad();
        behaviour_params.ZeroGrad();
        loss.backward();
        ClipGradients();
        const StepInfo info{++batches, double(batches - 1) / double(std::max<int64_t>(1, planned))};
        params_.Step(info);
        behaviour_params.Step(info);
        if (last) {
          ++last_epoch_batches;
          loss_sum += pg.item<double>();
          nll_sum += nll.item<double>();
          weight_sum += w.mean().item<double>();
          if (weight_cap > 0.0) clipped += (w >= weight_cap).to(torch::kFloat32).mean().item<double>();
          if (!learned_behaviour)
            beta_gap += (log_beta_sel.exp() - beta_logged).abs().mean().item<double>();
        }
      }
    }
    updates_ += batches;
    const double m = double(std::max<int64_t>(1, last_epoch_batches));
    std::map<std::string, double> stats = {{"steps", double(N)},
                                           {"updates", double(batches)},
                                           {"mean_return", ret_sum / double(N)},
                                           {"policy_loss", loss_sum / m},
                                           {"behaviour_nll", nll_sum / m},
                                           {"mean_weight", weight_sum / m},
                                           {"clipped_fraction", clipped / m}};
    if (!learned_behaviour) stats["behaviour_head_abs_error"] = beta_gap / m;
    return stats;
  }

  // Supervised pretraining ("objective": "next_click"; see the file comment).
  std::map<std::string, double> FitNextClick(const json& options) {
    const double watch_weight = options["watch_time_weight"].get<double>();
    const bool propensity_weighting = options["weighting"].get<std::string>() == "inverse_propensity";
    const double weight_cap = options["weight_cap"].get<double>();
    const double validation = options["validation"].get<double>();
    const int epochs = options["epochs"].get<int>(), batch_size = options["batch_size"].get<int>();
    if (propensity_weighting && off_missing_propensity_)
      throw InputError("--agent", "/agent/offline/weighting",
                       "\"inverse_propensity\" weighs by the log's item_propensity column, which this log does not "
                       "have (use \"none\")");
    const int64_t N = int64_t(off_user_.size()), K = num_candidates_, D = dim_, k = slate_size_;

    // Held out: whole users, the fraction `validation` of them spread evenly
    // over the log's order of first appearance.
    std::vector<uint8_t> held(static_cast<size_t>(N), 0);
    {
      std::unordered_map<int64_t, int64_t> rank;
      for (int64_t i = 0; i < N; ++i) {
        const int64_t r = rank.emplace(off_user_[size_t(i)], int64_t(rank.size())).first->second;
        held[size_t(i)] = std::floor(double(r + 1) * validation) > std::floor(double(r) * validation);
      }
    }
    std::vector<int64_t> train, test;
    for (int64_t i = 0; i < N; ++i) (held[size_t(i)] ? test : train).push_back(i);
    if (train.empty())
      throw InputError("--agent", "/agent/offline/validation",
                       "holds out every user of the log: none is left to learn from");

    // Targets: the clicked position, k for none; watch time in units of its
    // mean over clicked training steps; each step's weight.
    std::vector<int64_t> target(static_cast<size_t>(N));
    std::vector<float> watch(static_cast<size_t>(N), 0.0f), clicked(static_cast<size_t>(N), 0.0f),
        weight(static_cast<size_t>(N), 1.0f);
    std::vector<double> counts(size_t(k + 1), 0.0);
    double watch_sum = 0.0;
    int64_t clicks = 0;
    for (int64_t i = 0; i < N; ++i) {
      const int c = off_click_[size_t(i)];
      target[size_t(i)] = c >= 0 ? c : k;
      if (c >= 0) clicked[size_t(i)] = 1.0f;
      if (!held[size_t(i)]) {
        counts[size_t(target[size_t(i)])] += 1.0;
        if (c >= 0) watch_sum += off_watch_[size_t(i)], ++clicks;
      }
      if (propensity_weighting) {
        // The mean over the slate of uniform exposure (1/K per draw) over
        // the logged per-draw probability, capped.
        double w = 0.0;
        for (int64_t j = 0; j < k; ++j) w += (1.0 / double(K)) / std::max(double(off_beta_[size_t(i * k + j)]), 1e-12);
        w /= double(k);
        weight[size_t(i)] = float(weight_cap > 0.0 ? std::min(w, weight_cap) : w);
      }
    }
    const double watch_mean = clicks > 0 && watch_sum > 0.0 ? watch_sum / double(clicks) : 1.0;
    for (int64_t i = 0; i < N; ++i) watch[size_t(i)] = float(off_watch_[size_t(i)] / watch_mean);
    // The cross-entropy of the training steps' click-position frequencies on
    // a set of steps: what a click model that ignores every feature achieves.
    const double n_train = double(train.size());
    auto marginal_nll = [&](const std::vector<int64_t>& steps) {
      double nll = 0.0;
      for (int64_t i : steps) nll -= std::log(std::max(counts[size_t(target[size_t(i)])], 0.5) / n_train);
      return steps.empty() ? std::nan("") : nll / double(steps.size());
    };
    std::vector<float> ret;
    double ret_sum = 0.0;
    LoggedReturns(ret, nullptr, &ret_sum);

    // The heads, discarded after fitting: a no-click logit on the value
    // head's input, a bias per slate position, a watch-time regression on
    // the policy's last hidden layer.
    Rng rng = MakeRng(seed_, variant_, kOfflineEntity, StreamPurpose::kPolicy);
    torch::nn::Sequential no_click = Mlp(dim_ + state_dim_, {}, 1, activation_);
    torch::nn::Sequential watch_head = Mlp(TrunkWidth(), {}, 1, activation_);
    InitLinear(no_click, rng);
    InitLinear(watch_head, rng);
    torch::nn::Linear position_bias(torch::nn::LinearOptions(1, k).bias(false));
    {
      torch::NoGradGuard no_grad;
      position_bias->weight.zero_();
    }
    ParamSet heads;
    heads.Add("no_click", *no_click, 0);
    heads.Add("watch_time", *watch_head, 0);
    heads.Add("position", *position_bias, 0);
    heads.SetRule(optimizer_);
    const torch::Tensor one = torch::ones({1, 1}, torch::kFloat32);

    const torch::Tensor x_all = torch::from_blob(off_feats_.data(), {N, K, D}, torch::kFloat32);
    std::vector<int64_t> slates64(off_slates_.begin(), off_slates_.end());
    const torch::Tensor slates_all = torch::from_blob(slates64.data(), {N, k}, torch::kInt64);
    const torch::Tensor target_all = torch::from_blob(target.data(), {N}, torch::kInt64);
    const torch::Tensor watch_all = torch::from_blob(watch.data(), {N}, torch::kFloat32);
    const torch::Tensor clicked_all = torch::from_blob(clicked.data(), {N}, torch::kFloat32);
    const torch::Tensor weight_all = torch::from_blob(weight.data(), {N}, torch::kFloat32);
    const torch::Tensor ret_all = torch::from_blob(ret.data(), {N}, torch::kFloat32);
    const int W = TrunkWidth();

    // One minibatch, steps[b0 .. b0 + nb): the click scores (nb, k + 1), the
    // per-step cross-entropy, the watch-time error of clicked steps and the
    // value error. The encoder runs in training mode only when `training`.
    struct Batch {
      torch::Tensor scores, target, ce, watch_err, value_err, weight, clicked;
    };
    auto forward = [&](const std::vector<int64_t>& steps, int64_t b0, int64_t nb, bool training) {
      Batch out;
      const torch::Tensor idx = torch::from_blob(const_cast<int64_t*>(&steps[size_t(b0)]), {nb}, torch::kInt64);
      const torch::Tensor x = x_all.index_select(0, idx);  // (nb, K, D)
      const torch::Tensor state = LoggedState(steps, b0, nb, training);
      const torch::Tensor slates = slates_all.index_select(0, idx);
      const torch::Tensor shown = x.gather(1, slates.unsqueeze(2).expand({nb, k, D}));  // (nb, k, D)
      const torch::Tensor h = Trunk(PolicyInput(shown, state));                         // (nb * k, W)
      const torch::Tensor item_logits = PolicyLast(h).view({nb, k}) + position_bias->forward(one);
      out.scores = torch::cat({item_logits, no_click->forward(ValueInput(x, state))}, 1);
      out.target = target_all.index_select(0, idx);
      out.ce = -torch::log_softmax(out.scores, 1).gather(1, out.target.unsqueeze(1)).squeeze(1);
      // Watch time of the clicked item, regressed on its trunk activations.
      const torch::Tensor position = out.target.clamp_max(k - 1).view({nb, 1, 1}).expand({nb, 1, W});
      const torch::Tensor h_clicked = h.view({nb, k, W}).gather(1, position).squeeze(1);
      out.weight = weight_all.index_select(0, idx);
      out.clicked = clicked_all.index_select(0, idx);
      out.watch_err = (watch_head->forward(h_clicked).view({nb}) - watch_all.index_select(0, idx)).pow(2) * out.clicked;
      // The value head on the logged returns, its gradient stopped at the
      // encoder (the returns' scale would otherwise dominate it).
      if (value_baseline_)
        out.value_err = (ret_all.index_select(0, idx) -
                         value_->forward(ValueInput(x, state.defined() ? state.detach() : state)).view({nb}))
                            .pow(2);
      return out;
    };

    const int64_t n = int64_t(train.size());
    const int64_t planned = (n + batch_size - 1) / batch_size * epochs;
    double nll_sum = 0.0, correct = 0.0, watch_sq = 0.0, value_sq = 0.0;
    int64_t batches = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      Shuffle(train, rng);
      const bool last = epoch + 1 == epochs;
      for (int64_t b0 = 0; b0 < n; b0 += batch_size) {
        const int64_t nb = std::min<int64_t>(batch_size, n - b0);
        const Batch b = forward(train, b0, nb, /*training=*/true);
        const torch::Tensor w_norm = b.weight / b.weight.mean().clamp_min(1e-12);
        const torch::Tensor m = b.clicked * w_norm;
        const torch::Tensor click_loss = (b.ce * w_norm).mean();
        const torch::Tensor watch_loss = (b.watch_err * w_norm).sum() / m.sum().clamp_min(1e-12);
        const torch::Tensor value_loss = value_baseline_ ? b.value_err.mean() : torch::zeros({}, torch::kFloat32);
        const torch::Tensor loss = click_loss + watch_weight * watch_loss + value_coef_ * value_loss;
        CheckFiniteLoss(loss, kType, "offline loss");
        params_.ZeroGrad();
        heads.ZeroGrad();
        loss.backward();
        ClipGradients();
        const StepInfo info{++batches, double(batches - 1) / double(std::max<int64_t>(1, planned))};
        params_.Step(info);
        heads.Step(info);
        if (last) {
          torch::NoGradGuard no_grad;
          nll_sum += b.ce.sum().item<double>();
          correct += (b.scores.argmax(1) == b.target).to(torch::kFloat32).sum().item<double>();
          watch_sq += b.watch_err.sum().item<double>();
          if (value_baseline_) value_sq += b.value_err.sum().item<double>();
        }
      }
    }
    updates_ += batches;
    int64_t train_clicks = 0, test_clicks = 0;
    for (int64_t i : train) train_clicks += off_click_[size_t(i)] >= 0;
    for (int64_t i : test) test_clicks += off_click_[size_t(i)] >= 0;
    std::map<std::string, double> stats = {{"steps", double(N)},
                                           {"updates", double(batches)},
                                           {"mean_return", ret_sum / double(N)},
                                           {"click_nll", nll_sum / n_train},
                                           {"click_nll_marginal", marginal_nll(train)},
                                           {"click_accuracy", correct / n_train},
                                           {"click_rate", double(train_clicks) / n_train},
                                           {"watch_time_mse", train_clicks > 0 ? watch_sq / double(train_clicks) : 0.0},
                                           {"value_loss", value_sq / n_train},
                                           {"mean_weight",
                                            [&] {
                                              double s = 0.0;
                                              for (int64_t i : train) s += weight[size_t(i)];
                                              return s / n_train;
                                            }()},
                                           {"validation_steps", double(test.size())}};
    // The held-out users, every network in evaluation mode (no dropout).
    if (!test.empty()) {
      torch::NoGradGuard no_grad;
      double nll = 0.0, hits = 0.0, wsq = 0.0;
      for (int64_t b0 = 0; b0 < int64_t(test.size()); b0 += batch_size) {
        const int64_t nb = std::min<int64_t>(batch_size, int64_t(test.size()) - b0);
        const Batch b = forward(test, b0, nb, /*training=*/false);
        nll += b.ce.sum().item<double>();
        hits += (b.scores.argmax(1) == b.target).to(torch::kFloat32).sum().item<double>();
        wsq += b.watch_err.sum().item<double>();
      }
      const double m = double(test.size());
      stats["validation_click_nll"] = nll / m;
      stats["validation_click_nll_marginal"] = marginal_nll(test);
      stats["validation_click_accuracy"] = hits / m;
      stats["validation_watch_time_mse"] = test_clicks > 0 ? wsq / double(test_clicks) : 0.0;
    }
    return stats;
  }

  // The encoder's states of n rows' sequences (seq: n*L*F, lengths: n).
  torch::Tensor State(float* seq, int64_t* lengths, int64_t n) const {
    return EncodeRows(encoder_, sequence_, seq, lengths, n, encoder_->is_training() ? &dropout_rng_ : nullptr);
  }

  // Candidate features of every row (inactive rows zero) into out[rows*K*D].
  void FillFeatures(const StepBatch& obs, float* out) const {
    const size_t per_row = size_t(num_candidates_) * size_t(dim_);
    for (int r = 0; r < rows_; ++r) {
      if (obs.active[size_t(r)])
        features_.FillRow(obs, r, out + size_t(r) * per_row);
      else
        std::fill_n(out + size_t(r) * per_row, per_row, 0.0f);
    }
  }

  // k distinct items drawn one after another from pi renormalised over the
  // items not yet taken (Plackett-Luce), one uniform draw per position.
  void SampleSlate(const float* p, Rng& rng, int32_t* out) {
    taken_.assign(size_t(num_candidates_), 0);
    double mass = 1.0;
    for (int j = 0; j < slate_size_; ++j) {
      const double u = rng.Uniform() * mass;
      double c = 0.0;
      int pick = -1;
      for (int i = 0; i < num_candidates_; ++i) {
        if (taken_[size_t(i)]) continue;
        c += p[i];
        if (u < c) {
          pick = i;
          break;
        }
      }
      if (pick < 0) {
        // u fell above the summed mass: rounding (the last candidate of positive
        // probability absorbs it) or, when pi left none at all (underflow),
        // a uniform draw over the candidates left, as the recorded law says
        // (agents/slate_law.h).
        int positive = -1, left = 0;
        for (int i = 0; i < num_candidates_; ++i)
          if (!taken_[size_t(i)]) ++left, positive = p[i] > 0.0f ? i : positive;
        pick = positive;
        if (pick < 0) {
          int nth = int(rng.Below(uint32_t(left)));
          for (int i = 0; i < num_candidates_ && pick < 0; ++i)
            if (!taken_[size_t(i)] && nth-- == 0) pick = i;
        }
      }
      taken_[size_t(pick)] = 1;
      mass = std::max(0.0, mass - double(p[pick]));
      out[j] = pick;
    }
  }

  // The k most probable items, ties to the lower index.
  void TopK(const float* p, int32_t* out) {
    order_.resize(size_t(num_candidates_));
    for (int i = 0; i < num_candidates_; ++i) order_[size_t(i)] = i;
    std::partial_sort(order_.begin(), order_.begin() + slate_size_, order_.end(),
                      [p](int32_t a, int32_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    std::copy_n(order_.begin(), slate_size_, out);
  }

  // Global L2 norm of all gradients; scales them down to max_grad_norm.
  double ClipGradients() {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> grads;
    for (auto* net : {&policy_, &value_})
      if (!net->is_empty())
        for (auto& p : (*net)->parameters()) grads.push_back(p.grad());
    if (!encoder_.is_empty())
      for (auto& p : encoder_->parameters()) grads.push_back(p.grad());
    double sq = 0.0;
    for (const auto& g : grads) {
      const float* d = g.data_ptr<float>();
      for (int64_t i = 0; i < g.numel(); ++i) sq += double(d[i]) * double(d[i]);
    }
    const double norm = std::sqrt(sq);
    if (max_grad_norm_ > 0 && norm > max_grad_norm_) {
      const float scale = float(max_grad_norm_ / (norm + 1e-6));
      for (auto& g : grads) {
        float* d = g.data_ptr<float>();
        for (int64_t i = 0; i < g.numel(); ++i) d[i] *= scale;
      }
    }
    return norm;
  }

  CandidateFeatures features_;
  SequenceFeatures sequence_;
  const EncoderOptions encoder_options_;
  const int state_dim_;  // the encoder's output (0: mlp)
  const int rows_, num_candidates_, slate_size_, dim_;
  const double gamma_;
  const int rollout_steps_;
  const bool topk_correction_, value_baseline_;
  const double value_coef_, entropy_coef_;
  const bool normalize_;
  const double max_grad_norm_;
  const bool greedy_eval_;
  // Offline learning (FitLogged).
  const std::vector<int> hidden_;
  const std::string activation_;
  const json optimizer_;
  const uint64_t seed_, variant_;
  // Logged steps added and not yet fitted: features N*K*D, slates and
  // behaviour probabilities N*k, users and rewards N.
  std::vector<float> off_feats_;
  std::vector<int32_t> off_slates_;
  std::vector<float> off_beta_;
  std::vector<int64_t> off_user_;
  std::vector<double> off_reward_;
  std::vector<int32_t> off_click_;
  std::vector<float> off_watch_;
  // With an encoder: sequences N*L*F and lengths N, and one minibatch's.
  std::vector<float> off_seq_, off_batch_seq_;
  std::vector<int64_t> off_seq_lengths_, off_batch_lengths_;
  bool off_missing_propensity_ = false;

  torch::nn::Sequential policy_{nullptr}, value_{nullptr};
  SequenceEncoder encoder_{nullptr};
  mutable Rng dropout_rng_;
  ParamSet params_;
  UserStreams train_streams_, eval_streams_;
  bool training_ = true;
  SlateLawRecord laws_;
  int64_t planned_updates_ = 0, updates_ = 0;

  // Rollout buffers, [t][row]...: features T*B*K*D, slates T*B*k, and per
  // (t, row) whether it was active, its reward, click position and end flag.
  int32_t t_ = 0;
  bool acted_ = false;
  std::vector<float> feats_;
  std::vector<int32_t> slates_;
  std::vector<uint8_t> active_;
  std::vector<float> reward_;
  std::vector<int32_t> click_;
  std::vector<uint8_t> done_;
  std::vector<float> last_feats_;
  std::vector<uint8_t> last_active_;
  // With a sequence encoder: sequences T*B*L*F and lengths T*B, and those
  // after the rollout (value bootstrap) and of evaluation acting.
  std::vector<float> seq_, last_seq_, eval_seq_;
  std::vector<int64_t> seq_lengths_, last_seq_lengths_, eval_seq_lengths_;

  // Scratch.
  std::vector<float> eval_feats_;
  std::vector<uint8_t> taken_;
  std::vector<int32_t> order_;
  double last_entropy_ = std::nan("");
};

}  // namespace

void RegisterReinforce(AgentRegistrar& r) {
  static Schema s{"REINFORCE slate policy (Chen et al. 2019) with top-K correction, on-policy"};
  static const bool init = [] {
    AddNetworkKeys(s, {64}, /*lr=*/3e-3, "relu");  // tuned on recsim seed 0; relu: 2x faster
    s.Number("gamma", 0.9, 0.0, 1.0, "discount of the return-to-go within an episode")
        .Integer("rollout_steps", 8, 1, 100000, "environment steps per row between gradient steps")
        .Bool("topk_correction", true,
              "true: per-item loss weighted by lambda_K = k(1-pi)^(k-1) (Chen et al. eq. 5); false: plain "
              "sequential-slate log-likelihood times the slate's advantage")
        .String("baseline", "value", {"value", "batch_mean"},
                "value: learned V(mean candidate features), bootstraps rollout cuts; batch_mean: mean "
                "return of the rollout, cuts truncated")
        .Number("value_coef", 0.5, 0.0, 1e3, "weight of the value head's squared error")
        .Number("entropy_coef", 0.01, 0.0, 10.0, "weight of the policy entropy bonus")
        .Bool("normalize_advantages", true, "scale advantages to unit std over the rollout")
        .Number("max_grad_norm", 1.0, 0.0, 1e6, "clip the global gradient norm to this (0: no clipping)")
        .String("eval", "sample", {"sample", "greedy"},
                "evaluation acting: sample from pi (evaluation streams) or the top-k items of pi")
        .String("init", "", {},
                "warm start: a checkpoint directory (cohort train-offline --out, or a run's) of a reinforce agent "
                "with the same networks (all of them are copied) or of an a2c or ppo agent (its actor and encoder); "
                "optimizer state and streams are fresh (\"\": none)");
    AddEncoderKey(s);
    return true;
  }();
  (void)init;
  r.Add({kType, "REINFORCE over a softmax slate policy with top-K off-policy correction (on-policy)", &s},
        [](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
          return std::make_unique<ReinforceAgent>(config, ctx);
        });
}

}  // namespace cohort::torch_agents
