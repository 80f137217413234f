// DQN over candidate items (Mnih et al. 2015; double DQN, van Hasselt et al.
// 2016), the item-wise baseline next to SlateQ.
//
//   Q(s, i)  an MLP on CandidateFeatures(s, i), one forward pass over
//            [rows * K, F]; the slate is the top-k candidates by Q
//            (epsilon-greedy: a uniformly random slate with probability eps).
//
// Decomposition of a slate step into item transitions: every shown item i at
// position j is one transition (s, i, r_j, s') with r_j = the step's reward
// when i was clicked and 0 for shown-but-unclicked items, and the shared next
// state s'. The target is
//   y = r_j + gamma * (1 - done) * Q_target(s', argmax_i' Q_online(s', i'))
// (double DQN; with double_q = false the max of Q_target). Unlike SlateQ this
// ignores how the other slate items change the click probability.
// End of episode: terminated => no bootstrap. Truncated episodes would
// bootstrap, but the VecEnv resets in the same step (the next observation of
// an ended row belongs to the next user), so every ended row is stored
// without a next state and treated as terminal.
//
// Evaluation (SetTraining(false)) is greedy with deterministic tie breaking
// (lowest index first), stores nothing and touches no random stream.
#include <algorithm>
#include <numeric>

#include "agents/baselines.h"
#include "agents/registry.h"
#include "agents/torch/common.h"
#include "agents/torch/replay.h"

namespace cohort::torch_agents {
namespace {

const std::string kType = "dqn";
constexpr uint64_t kInitEntity = uint64_t(1) << 40;
constexpr uint64_t kReplayEntity = (uint64_t(1) << 40) + 1;

const Schema& DqnSchema() {
  static const Schema s = [] {
    Schema s("DQN over candidate items: top-k slate by Q, one transition per shown item");
    AddNetworkKeys(s, {64, 64}, /*lr=*/1e-3, "tanh");
    AddValueLearningKeys(
        s, {20000, 128, true, "replay capacity (row-steps, each holding k shown items)",
            "row-steps per gradient step (k item transitions each)", "stored row-steps before the first update",
            "double DQN: online argmax, target evaluation"});
    return s;
  }();
  return s;
}

class DqnAgent : public Agent {
 public:
  DqnAgent(const json& config, const AgentContext& ctx)
      : features_(ctx.spec),
        K_(ctx.spec.num_candidates),
        k_(ctx.spec.slate_size),
        F_(features_.dim()),
        vl_(config, ctx.total_steps),
        // [shown features k*F | per-position reward k | done | next features K*F]
        replay_(config["buffer_size"].get<int64_t>(), int64_t(k_) * F_ + k_ + 1 + int64_t(K_) * F_),
        replay_rng_(MakeRng(ctx.seed, ctx.variant, kReplayEntity, StreamPurpose::kPolicy)),
        explore_(ctx.seed, ctx.variant, ctx.num_envs) {
    UseOneThread();
    std::vector<int> hidden;
    for (const auto& h : config["hidden"]) hidden.push_back(h.get<int>());
    const std::string activation = config["activation"].get<std::string>();
    q_ = Mlp(F_, hidden, 1, activation);
    Rng init = MakeRng(ctx.seed, ctx.variant, kInitEntity, StreamPurpose::kPolicy);
    InitLinear(q_, init);
    target_ = std::make_unique<TargetNet>(Mlp(F_, hidden, 1, activation), q_);
    params_.Add("q", *q_, 1);
    params_.SetRule(config["optimizer"]);
  }

  const std::string& type() const override { return kType; }
  bool learns() const override { return true; }
  void SetTraining(bool training) override { training_ = training; }
  bool HasSlateLaw() const override { return true; }
  void RecordSlateLaws(bool on) override { laws_.SetOn(on); }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.Get(row, type()); }

  double Epsilon() const { return vl_.Epsilon(steps_); }

  // The online network's Q(s, i): the greedy slate is their top-k.
  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override {
    if (!obs.active[size_t(row)]) return "";
    CandidateForward(q_, features_, obs, row, scores);
    return "Q-value";
  }

  void Act(const StepBatch& obs, SlateBatch& slates) override {
    // Q of every candidate of every active row: one forward pass.
    act_rows_.clear();
    for (int r = 0; r < obs.rows; ++r)
      if (obs.active[size_t(r)]) act_rows_.push_back(r);
    const size_t per_row = size_t(K_) * size_t(F_);
    act_feat_.resize(act_rows_.size() * per_row);
    for (size_t i = 0; i < act_rows_.size(); ++i) features_.FillRow(obs, act_rows_[i], &act_feat_[i * per_row]);
    act_q_.resize(act_rows_.size() * size_t(K_));
    if (!act_rows_.empty()) {
      c10::InferenceMode guard;
      const torch::Tensor q =
          q_->forward(View(act_feat_, {int64_t(act_rows_.size()) * K_, F_})).reshape({-1}).contiguous();
      std::copy_n(q.data_ptr<float>(), act_q_.size(), act_q_.data());
    }
    const double eps = Epsilon();
    order_.resize(size_t(K_));
    for (size_t i = 0; i < act_rows_.size(); ++i) {
      const int r = act_rows_[i];
      int32_t* out = slates.Row(r);
      const float* q = &act_q_[i * size_t(K_)];
      auto greedy = [&](int32_t* slate) {
        std::iota(order_.begin(), order_.end(), 0);
        std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) { return q[a] > q[b]; });
        std::copy_n(order_.begin(), k_, slate);
      };
      if (laws_.on()) {
        // Epsilon-greedy: a uniform slate with probability eps (training),
        // else the top-k by Q (ties to the lower index).
        SlateLaw& law = laws_.At(r);
        std::vector<int32_t> best(static_cast<size_t>(k_));
        greedy(best.data());
        law = SlateLaw{training_ ? std::min(1.0, eps) : 0.0, SlateLaw::Kind::kFixed,
                       std::vector<double>(best.begin(), best.end())};
      }
      if (training_) {
        Rng& rng = explore_.For(r, obs.user_id[size_t(r)]);
        if (rng.Uniform() < eps) {
          RandomSlate(K_, k_, rng, perm_, out);
          continue;
        }
      }
      greedy(out);
    }
    if (training_) {
      pending_rows_ = act_rows_;
      pending_feat_.swap(act_feat_);
      pending_slates_ = slates.index;
    } else {
      pending_rows_.clear();
    }
  }

  // One record per active row-step (training only).
  void Observe(const StepBatch& result) override {
    if (!training_) return;
    ++steps_;
    const size_t per_row = size_t(K_) * size_t(F_);
    for (size_t i = 0; i < pending_rows_.size(); ++i) {
      const int r = pending_rows_[i];
      const bool done = result.terminated[size_t(r)] || result.truncated[size_t(r)] || !result.active[size_t(r)];
      const int click = result.click_position[size_t(r)];
      float* rec = replay_.Push();
      for (int j = 0; j < k_; ++j) {
        const int c = pending_slates_[size_t(r) * size_t(k_) + size_t(j)];
        std::copy_n(&pending_feat_[i * per_row + size_t(c) * size_t(F_)], F_, rec + size_t(j) * size_t(F_));
      }
      float* reward = rec + size_t(k_) * size_t(F_);
      for (int j = 0; j < k_; ++j) reward[j] = j == click ? result.reward[size_t(r)] : 0.0f;
      reward[k_] = done ? 1.0f : 0.0f;
      float* next = reward + k_ + 1;
      if (done)
        std::fill_n(next, per_row, 0.0f);  // the next observation belongs to the next user
      else
        features_.FillRow(result, r, next);
    }
    pending_rows_.clear();
  }

  std::map<std::string, double> Update() override {
    if (!training_ || !vl_.UpdateDue(steps_, replay_.size())) return {};
    double loss_sum = 0.0, q_sum = 0.0;
    for (int g = 0; g < vl_.gradient_steps; ++g) {
      const auto [loss, q_mean] = GradientStep();
      loss_sum += loss;
      q_sum += q_mean;
    }
    return {{"loss", loss_sum / vl_.gradient_steps},
            {"q_mean", q_sum / vl_.gradient_steps},
            {"epsilon", Epsilon()},
            {"lr", params_.LearningRate(Info())},
            {"updates", double(updates_)}};
  }

  std::pair<double, double> GradientStep() {
    const int n = vl_.batch_size;
    const size_t per_row = size_t(K_) * size_t(F_), shown = size_t(k_) * size_t(F_);
    replay_.SampleIndices(n, replay_rng_, idx_);
    b_feat_.resize(size_t(n) * shown);
    b_next_.resize(size_t(n) * per_row);
    std::vector<float> reward(static_cast<size_t>(n) * size_t(k_)), done(static_cast<size_t>(n));
    for (int b = 0; b < n; ++b) {
      const float* rec = replay_.Record(idx_[size_t(b)]);
      std::copy_n(rec, shown, &b_feat_[size_t(b) * shown]);
      std::copy_n(rec + shown, k_, &reward[size_t(b) * size_t(k_)]);
      done[size_t(b)] = rec[shown + size_t(k_)];
      std::copy_n(rec + shown + size_t(k_) + 1, per_row, &b_next_[size_t(b) * per_row]);
    }
    std::vector<float> y;
    Targets(reward, done, y);
    params_.ZeroGrad();
    const torch::Tensor q = q_->forward(View(b_feat_, {int64_t(n) * k_, F_})).reshape({-1});
    const torch::Tensor loss = HuberLoss(q, View(y, {int64_t(n) * k_}));
    CheckFiniteLoss(loss, kType, "td_loss");
    loss.backward();
    ++updates_;
    params_.Step(Info());
    vl_.SyncTarget(*target_, updates_);
    return {loss.item<double>(), q.mean().item<double>()};
  }

  // y[b*k + j] = reward[b*k + j] + gamma * (1 - done_b) * Q_target(s'_b, a*_b),
  // a* = argmax of the online (double_q) or target net; next states in b_next_.
  void Targets(const std::vector<float>& reward, const std::vector<float>& done, std::vector<float>& y) {
    const int n = int(done.size());
    y.resize(reward.size());
    torch::NoGradGuard no_grad;
    const torch::Tensor next = View(b_next_, {int64_t(n) * K_, F_});
    const torch::Tensor qt = target_->Forward(next).reshape({n, K_});
    const torch::Tensor select = vl_.double_q ? q_->forward(next).reshape({n, K_}) : qt;
    const torch::Tensor best = qt.gather(1, select.argmax(1, /*keepdim=*/true)).reshape({-1}).contiguous();
    const float* v = best.data_ptr<float>();
    for (int b = 0; b < n; ++b) {
      const double boot = done[size_t(b)] == 0.0f ? vl_.gamma * v[b] : 0.0;
      for (int j = 0; j < k_; ++j) {
        const size_t i = size_t(b) * size_t(k_) + size_t(j);
        y[i] = float(reward[i] + boot);
      }
    }
  }

  // Test seams (see dqn_testing below).
  std::vector<float> TargetsFor(const StepBatch& next, const std::vector<float>& reward,
                                const std::vector<float>& done) {
    const size_t per_row = size_t(K_) * size_t(F_);
    b_next_.resize(size_t(next.rows) * per_row);
    for (int r = 0; r < next.rows; ++r) features_.FillRow(next, r, &b_next_[size_t(r) * per_row]);
    std::vector<float> y;
    Targets(reward, done, y);
    return y;
  }
  std::vector<float> QFor(const StepBatch& obs, bool target) {
    const size_t per_row = size_t(K_) * size_t(F_);
    std::vector<float> feat(size_t(obs.rows) * per_row);
    for (int r = 0; r < obs.rows; ++r) features_.FillRow(obs, r, &feat[size_t(r) * per_row]);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = View(feat, {int64_t(obs.rows) * K_, F_});
    const torch::Tensor q = (target ? target_->Forward(x) : q_->forward(x)).reshape({-1}).contiguous();
    return std::vector<float>(q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
  }
  // Adds deterministic noise to every online parameter (online != target).
  void PerturbOnline(uint64_t seed, double scale) {
    torch::NoGradGuard no_grad;
    Rng rng(seed);
    for (auto& p : q_->parameters()) {
      float* d = p.data_ptr<float>();
      for (int64_t i = 0; i < p.numel(); ++i) d[i] += float(rng.Uniform(-scale, scale));
    }
  }
  void SyncTarget() { target_->Sync(1.0); }

  void Save(BinaryWriter& out) const override {
    out.Tag("dqn");
    params_.Save(out);
    target_->Save(out);
    replay_.Save(out);
    out.Pod(replay_rng_);
    explore_.Save(out);
    out.Pod(steps_);
    out.Pod(updates_);
  }
  void Load(BinaryReader& in) override {
    in.Tag("dqn");
    params_.Load(in);
    target_->Load(in);
    replay_.Load(in);
    in.Pod(replay_rng_);
    explore_.Load(in);
    in.Pod(steps_);
    in.Pod(updates_);
  }

 private:
  StepInfo Info() const {
    return {updates_, vl_.planned_updates > 0 ? std::min(1.0, double(updates_) / double(vl_.planned_updates)) : 0.0};
  }

  CandidateFeatures features_;
  const int K_, k_, F_;
  const ValueLearning vl_;

  torch::nn::Sequential q_;
  std::unique_ptr<TargetNet> target_;
  ParamSet params_;
  ReplayBuffer replay_;
  Rng replay_rng_;
  UserStreams explore_;
  bool training_ = true;
  SlateLawRecord laws_;
  int64_t steps_ = 0, updates_ = 0;

  // Scratch and the transition waiting for Observe.
  std::vector<int> act_rows_, pending_rows_;
  std::vector<float> act_feat_, act_q_, pending_feat_;
  std::vector<int32_t> pending_slates_, perm_, order_;
  std::vector<int64_t> idx_;
  std::vector<float> b_feat_, b_next_;
};

}  // namespace

// Test seam (declared in tests/torch/test_dqn.cc; not part of the Agent interface).
namespace dqn_testing {
std::vector<float> TdTargets(Agent& a, const StepBatch& next, const std::vector<float>& reward,
                             const std::vector<float>& done) {
  return dynamic_cast<DqnAgent&>(a).TargetsFor(next, reward, done);
}
std::vector<float> CandidateQ(Agent& a, const StepBatch& obs, bool target) {
  return dynamic_cast<DqnAgent&>(a).QFor(obs, target);
}
void PerturbOnline(Agent& a, uint64_t seed, double scale) { dynamic_cast<DqnAgent&>(a).PerturbOnline(seed, scale); }
void SyncTarget(Agent& a) { dynamic_cast<DqnAgent&>(a).SyncTarget(); }
}  // namespace dqn_testing

void RegisterDqn(AgentRegistrar& r) {
  r.Add({kType,
         "DQN over candidate items: top-k slate by Q, one transition per shown item (clicked: the step's "
         "reward, others 0), double DQN, replay, target network",
         &DqnSchema()},
        [](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
          return std::make_unique<DqnAgent>(config, ctx);
        });
}

}  // namespace cohort::torch_agents
