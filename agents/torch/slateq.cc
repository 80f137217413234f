// SlateQ (Ie et al. 2019, "SlateQ: A Tractable Decomposition for
// Reinforcement Learning with Recommendation Sets").
//
//   Q(s, i)  item-wise long-term value: an MLP on CandidateFeatures(s, i)
//   Q(s, A) = sum_{i in A} P(i | s, A) Q(s, i) + P(null | s, A) Q(s, null)
//
// The null item (no click) has its own learned value Q(s, null), the same
// network on FillNull features (the state part, item part zero), as in the
// paper where the null item is always in the slate. With null_item = false a
// no-click is worth 0 and only steps with a click are learned from; with
// gamma > 0 that undervalues slates users may pass over (the session goes on
// after a no-click), which pushes the agent toward myopic click-maximising.
//
// Choice model estimate. The agent never reads hidden state: P(i | s, A) is
// the scenario's choice model (its *form and public parameters*, from
// ctx.spec.choice, as written in the scenario file; the formulas are the
// env's own, env/choice.h) applied to the OBSERVED affinity score v =
// affinity_weight * (observed interests . item features). Terms the user
// cannot see are left out: hidden quality (quality_weight), boredom, the
// user's click propensity (taken as 1). With hidden interests the affinity
// is 0 and P is uniform over the slate. P(null | s, A) is the model's
// P(no click); for a multi-click model (pbm) the decomposition weighs each
// item by its marginal click probability.
// Position order inside a slate: items sorted by Q (highest first), which is
// exact when position_decay = 1 (proportional/mnl) and a heuristic otherwise.
//
// Slate choice (acting and the TD target): exact enumeration of all C(K, k)
// slates when there are at most max_enumerated of them, else the paper's
// top-k: the k candidates with the highest w(s, i) * (Q(s, i) - Q(s, null)).
//
// Learning (Q-learning form): a step updates the clicked item i, or the null
// item when nothing was clicked (skipped with null_item = false):
//   y = r + gamma * max_{A'} [sum_{j in A'} P(j | s', A') Q_target(s', j)
//                             + P(null | s', A') Q_target(s', null)]
// with the target network fed the NEXT state s'. With double_q the next slate
// is chosen with the online network and valued with the target network.
// End of episode: terminated => no bootstrap. Truncated episodes would
// bootstrap, but the VecEnv resets in the same step (the next observation of
// an ended row belongs to the next user), so every ended row is stored
// without a next state and treated as terminal.
//
// Exploration: epsilon-greedy over slates (a uniformly random slate with
// probability epsilon, decaying linearly over epsilon_fraction of the planned
// steps), drawn from per-user training streams. Evaluation (SetTraining(false))
// is greedy with deterministic tie breaking (lowest index first), stores
// nothing and touches no random stream.
#include <algorithm>
#include <cmath>
#include <limits>

#include "agents/baselines.h"
#include "agents/registry.h"
#include "agents/torch/common.h"
#include "agents/torch/replay.h"
#include "env/choice.h"
#include "env/slate_search.h"

namespace cohort::torch_agents {
namespace {

const std::string kType = "slateq";
constexpr uint64_t kInitEntity = uint64_t(1) << 40;
constexpr uint64_t kReplayEntity = (uint64_t(1) << 40) + 1;

const Schema& SlateQSchema() {
  static const Schema s = [] {
    Schema s("SlateQ: item-wise Q with the slate value decomposed by an estimated choice model");
    AddNetworkKeys(s, {64, 64}, /*lr=*/1e-3, "tanh");
    AddValueLearningKeys(
        s, {50000, 256, false, "replay capacity (transitions: one per row-step, or per click without null_item)",
            "transitions per gradient step", "stored transitions before the first update",
            "choose the next slate with the online net, value it with the target net"});
    s.Integer("max_enumerated", 2000, 1, 10000000, "enumerate every slate up to this many, else top-k")
        .Bool("null_item", true,
              "learn Q(s, null) for the no-click outcome (false: a no-click is worth 0 and only clicks are stored)");
    return s;
  }();
  return s;
}

int64_t Binomial(int n, int k) {
  double c = 1.0;
  for (int i = 1; i <= k; ++i) c = c * double(n - k + i) / double(i);
  return c > 9e18 ? std::numeric_limits<int64_t>::max() : int64_t(std::llround(c));
}

// The choice model estimate and the slate search (see the top comment).
class SlateChooser {
 public:
  SlateChooser(const EnvSpec& p, int64_t max_enumerated)
      : choice_(p.choice, p.slate_size),
        affinity_weight_(p.affinity_weight),
        K_(p.num_candidates),
        k_(p.slate_size),
        ordered_(choice_.order_matters()),
        enumerates_(Binomial(K_, k_) <= max_enumerated) {}
  bool enumerates() const { return enumerates_; }

  // Observed utility of candidate c of row r.
  float Score(const StepBatch& obs, int r, int c) const {
    const float* u = obs.Interests(r);
    const size_t rc = size_t(r) * size_t(obs.num_candidates) + size_t(c);
    if (!obs.candidate_features) return float(affinity_weight_ * u[obs.topic[rc]]);
    const float* x = &obs.features[rc * size_t(obs.dim)];
    double a = 0.0;
    for (int i = 0; i < obs.dim; ++i) a += double(u[i]) * x[i];
    return float(affinity_weight_ * a);
  }

  // Q(s, A) for the slate `slate` (position order) given per-candidate q, v
  // and the null item's value: the env's choice model (env/choice.h) on the
  // observed utilities, with a click propensity of 1.
  double Value(const int32_t* slate, const float* q, const float* v, float q_null) const {
    double vs[kMaxK], p[kMaxK];
    for (int j = 0; j < k_; ++j) vs[j] = v[slate[j]];
    const double none = choice_.Probabilities(vs, k_, 1.0, p);
    double total = 0.0;
    for (int j = 0; j < k_; ++j) total += p[j] * q[slate[j]];
    return total + none * q_null;
  }

  // The slate maximising Q(s, A) (ties: the first found); returns its value.
  // `select_q` picks the slate, `value_q` values it (double Q); usually equal.
  // Exact: every combination, in Q order when order matters (the first
  // combination of maximal value wins). Beyond: top-k by the choice model's
  // attraction weight times (Q(s, i) - Q(s, null)), in Q order.
  double Best(const float* select_q, const float* value_q, const float* v, int32_t* out, float select_null = 0.0f,
              float value_null = 0.0f) const {
    double best = -std::numeric_limits<double>::infinity();
    if (enumerates()) {
      int32_t cand[kMaxK];
      best = slate_search::Exact(
          K_, k_, /*ordered=*/false,
          [&](const int32_t* combo) {
            std::copy_n(combo, k_, cand);
            if (ordered_) SortByQ(cand, select_q);
            return Value(cand, select_q, v, select_null);
          },
          out);
      if (ordered_) SortByQ(out, select_q);
    } else {
      weight_.resize(size_t(K_));
      for (int c = 0; c < K_; ++c) weight_[size_t(c)] = choice_.Attraction(v[c]) * (select_q[c] - select_null);
      slate_search::TopByWeight(K_, k_, weight_.data(), out, scratch_);
      if (ordered_) SortByQ(out, select_q);
    }
    return value_q == select_q && select_null == value_null && enumerates() ? best : Value(out, value_q, v, value_null);
  }

  static constexpr int kMaxK = slate_search::kMaxSlateSize;

 private:
  void SortByQ(int32_t* slate, const float* q) const {
    std::stable_sort(slate, slate + k_, [&](int32_t a, int32_t b) { return q[a] > q[b]; });
  }

  ChoiceModel choice_;
  double affinity_weight_;
  int K_, k_;
  bool ordered_;
  bool enumerates_;
  mutable std::vector<int32_t> scratch_;
  mutable std::vector<double> weight_;
};

class SlateQAgent : public Agent {
 public:
  SlateQAgent(const json& config, const AgentContext& ctx)
      : ctx_(ctx),
        features_(ctx.spec),
        chooser_(ctx.spec, config["max_enumerated"].get<int64_t>()),
        K_(ctx.spec.num_candidates),
        k_(ctx.spec.slate_size),
        F_(features_.dim()),
        null_item_(config["null_item"].get<bool>()),
        Kq_(K_ + (null_item_ ? 1 : 0)),
        vl_(config, ctx.total_steps),
        // [clicked (or null) item features F | reward | done | next features Kq*F | next scores K]
        replay_(config["buffer_size"].get<int64_t>(), F_ + 2 + int64_t(Kq_) * F_ + K_),
        replay_rng_(MakeRng(ctx.seed, ctx.variant, kReplayEntity, StreamPurpose::kPolicy)),
        explore_(ctx.seed, ctx.variant, ctx.num_envs) {
    UseOneThread();
    if (k_ > SlateChooser::kMaxK) throw std::invalid_argument("slateq: slate_size above 64");
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

  // The online item-wise Q(s, i) (not Q(s, null)). The slate is chosen by the
  // slate value Q(s, A) above, so it is not simply the top-k of these.
  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override {
    if (!obs.active[size_t(row)]) return "";
    CandidateForward(q_, features_, obs, row, scores);
    return "item Q-value";
  }

  // The K candidates' features of row r, then the null item's (Kq * F).
  void FillRowQ(const StepBatch& obs, int r, float* out) const {
    features_.FillRow(obs, r, out);
    if (null_item_) features_.FillNull(obs, r, out + size_t(K_) * size_t(F_));
  }

  // Item-wise Q of every candidate (and the null item) of every active row of
  // `obs`, one forward pass: rows -> active row list, feat -> [n*Kq, F],
  // q -> [n*Kq].
  void CandidateQ(const StepBatch& obs, std::vector<int>& rows, std::vector<float>& feat, std::vector<float>& q) {
    rows.clear();
    for (int r = 0; r < obs.rows; ++r)
      if (obs.active[size_t(r)]) rows.push_back(r);
    const size_t per_row = size_t(Kq_) * size_t(F_);
    feat.resize(rows.size() * per_row);
    for (size_t i = 0; i < rows.size(); ++i) FillRowQ(obs, rows[i], &feat[i * per_row]);
    q.resize(rows.size() * size_t(Kq_));
    if (rows.empty()) return;
    c10::InferenceMode guard;
    const torch::Tensor out = q_->forward(View(feat, {int64_t(rows.size()) * Kq_, F_})).reshape({-1}).contiguous();
    std::copy_n(out.data_ptr<float>(), q.size(), q.data());
  }
  float NullQ(const float* q_row) const { return null_item_ ? q_row[K_] : 0.0f; }

  void Act(const StepBatch& obs, SlateBatch& slates) override {
    CandidateQ(obs, act_rows_, act_feat_, act_q_);
    const double eps = Epsilon();
    score_.resize(size_t(K_));
    for (size_t i = 0; i < act_rows_.size(); ++i) {
      const int r = act_rows_[i];
      int32_t* out = slates.Row(r);
      const float* q = &act_q_[i * size_t(Kq_)];
      if (laws_.on()) {
        // Epsilon-greedy over the chooser's best slate (deterministic).
        std::vector<int32_t> best(static_cast<size_t>(k_));
        for (int c = 0; c < K_; ++c) score_[size_t(c)] = chooser_.Score(obs, r, c);
        chooser_.Best(q, q, score_.data(), best.data(), NullQ(q), NullQ(q));
        laws_.At(r) = SlateLaw{training_ ? std::min(1.0, eps) : 0.0, SlateLaw::Kind::kFixed,
                               std::vector<double>(best.begin(), best.end())};
      }
      if (training_) {
        Rng& rng = explore_.For(r, obs.user_id[size_t(r)]);
        if (rng.Uniform() < eps) {
          RandomSlate(K_, k_, rng, perm_, out);
          continue;
        }
      }
      for (int c = 0; c < K_; ++c) score_[size_t(c)] = chooser_.Score(obs, r, c);
      chooser_.Best(q, q, score_.data(), out, NullQ(q), NullQ(q));
    }
    if (training_) {
      pending_rows_ = act_rows_;
      pending_feat_.swap(act_feat_);
      pending_slates_ = slates.index;
    } else {
      pending_rows_.clear();
    }
  }

  // Stores one transition per row: the clicked item, or the null item
  // (without it: clicked rows only). Training only.
  void Observe(const StepBatch& result) override {
    if (!training_) return;
    ++steps_;
    const size_t per_row = size_t(Kq_) * size_t(F_);
    for (size_t i = 0; i < pending_rows_.size(); ++i) {
      const int r = pending_rows_[i];
      const int pos = result.click_position[size_t(r)];
      if (pos < 0 && !null_item_) continue;
      const int c = pos < 0 ? K_ : pending_slates_[size_t(r) * size_t(k_) + size_t(pos)];
      const bool done = result.terminated[size_t(r)] || result.truncated[size_t(r)] || !result.active[size_t(r)];
      float* rec = replay_.Push();
      std::copy_n(&pending_feat_[i * per_row + size_t(c) * size_t(F_)], F_, rec);
      rec[F_] = result.reward[size_t(r)];
      rec[F_ + 1] = done ? 1.0f : 0.0f;
      float* next = rec + F_ + 2;
      float* next_score = next + per_row;
      if (done) {  // the next observation belongs to the next user
        std::fill_n(next, per_row + size_t(K_), 0.0f);
      } else {
        FillRowQ(result, r, next);
        for (int j = 0; j < K_; ++j) next_score[j] = chooser_.Score(result, r, j);
      }
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
    const size_t per_row = size_t(Kq_) * size_t(F_);
    replay_.SampleIndices(n, replay_rng_, idx_);
    b_feat_.resize(size_t(n) * size_t(F_));
    b_next_.resize(size_t(n) * per_row);
    b_score_.resize(size_t(n) * size_t(K_));
    std::vector<float> reward(static_cast<size_t>(n)), done(static_cast<size_t>(n));
    for (int b = 0; b < n; ++b) {
      const float* rec = replay_.Record(idx_[size_t(b)]);
      std::copy_n(rec, F_, &b_feat_[size_t(b) * size_t(F_)]);
      reward[size_t(b)] = rec[F_];
      done[size_t(b)] = rec[F_ + 1];
      std::copy_n(rec + F_ + 2, per_row, &b_next_[size_t(b) * per_row]);
      std::copy_n(rec + F_ + 2 + per_row, K_, &b_score_[size_t(b) * size_t(K_)]);
    }
    std::vector<float> y;
    Targets(reward, done, y);
    params_.ZeroGrad();
    const torch::Tensor q = q_->forward(View(b_feat_, {n, F_})).reshape({-1});
    const torch::Tensor loss = HuberLoss(q, View(y, {n}));
    CheckFiniteLoss(loss, kType, "td_loss");
    loss.backward();
    ++updates_;
    params_.Step(Info());
    vl_.SyncTarget(*target_, updates_);
    return {loss.item<double>(), q.mean().item<double>()};
  }

  // TD targets y_b = r_b + gamma * (1 - done_b) * max_A' sum P * Q_target on
  // the next states held in b_next_ / b_score_ (one target forward pass).
  void Targets(const std::vector<float>& reward, const std::vector<float>& done, std::vector<float>& y) {
    const int n = int(reward.size());
    y.resize(size_t(n));
    torch::NoGradGuard no_grad;
    const torch::Tensor next = View(b_next_, {int64_t(n) * Kq_, F_});
    const torch::Tensor qt = target_->Forward(next).reshape({-1}).contiguous();
    torch::Tensor qo = qt;
    if (vl_.double_q) qo = q_->forward(next).reshape({-1}).contiguous();
    const float* pt = qt.data_ptr<float>();
    const float* po = qo.data_ptr<float>();
    std::vector<int32_t> slate(static_cast<size_t>(k_));
    for (int b = 0; b < n; ++b) {
      const size_t o = size_t(b) * size_t(Kq_);
      double v_next = 0.0;
      if (done[size_t(b)] == 0.0f)
        v_next = chooser_.Best(po + o, pt + o, &b_score_[size_t(b) * size_t(K_)], slate.data(), NullQ(po + o),
                               NullQ(pt + o));
      y[size_t(b)] = float(reward[size_t(b)] + vl_.gamma * v_next);
    }
  }

  // Test seam: targets for every row of `next` as next state.
  std::vector<float> TargetsFor(const StepBatch& next, const std::vector<float>& reward,
                                const std::vector<float>& done) {
    const size_t per_row = size_t(Kq_) * size_t(F_);
    b_next_.resize(size_t(next.rows) * per_row);
    b_score_.resize(size_t(next.rows) * size_t(K_));
    for (int r = 0; r < next.rows; ++r) {
      FillRowQ(next, r, &b_next_[size_t(r) * per_row]);
      for (int c = 0; c < K_; ++c) b_score_[size_t(r) * K_ + size_t(c)] = chooser_.Score(next, r, c);
    }
    std::vector<float> y;
    Targets(reward, done, y);
    return y;
  }
  // Test seam: Q of every candidate (then the null item, if used) of every
  // row, online or target network.
  std::vector<float> QFor(const StepBatch& obs, bool target) {
    const size_t per_row = size_t(Kq_) * size_t(F_);
    std::vector<float> feat(size_t(obs.rows) * per_row);
    for (int r = 0; r < obs.rows; ++r) FillRowQ(obs, r, &feat[size_t(r) * per_row]);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = View(feat, {int64_t(obs.rows) * Kq_, F_});
    const torch::Tensor q = (target ? target_->Forward(x) : q_->forward(x)).reshape({-1}).contiguous();
    return std::vector<float>(q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
  }
  std::vector<float> ScoresFor(const StepBatch& obs) const {
    std::vector<float> v(size_t(obs.rows) * size_t(K_));
    for (int r = 0; r < obs.rows; ++r)
      for (int c = 0; c < K_; ++c) v[size_t(r) * K_ + size_t(c)] = chooser_.Score(obs, r, c);
    return v;
  }
  // Test seam: shifts the online network's output bias (online != target).
  void ShiftOnline(float delta) {
    torch::NoGradGuard no_grad;
    auto params = q_->parameters();
    params.back().add_(delta);
  }

  void Save(BinaryWriter& out) const override {
    out.Tag("slateq");
    params_.Save(out);
    target_->Save(out);
    replay_.Save(out);
    out.Pod(replay_rng_);
    explore_.Save(out);
    out.Pod(steps_);
    out.Pod(updates_);
  }
  void Load(BinaryReader& in) override {
    in.Tag("slateq");
    params_.Load(in);
    target_->Load(in);
    replay_.Load(in);
    in.Pod(replay_rng_);
    explore_.Load(in);
    in.Pod(steps_);
    in.Pod(updates_);
  }

  void SyncTarget() { target_->Sync(1.0); }

 private:
  StepInfo Info() const {
    return {updates_, vl_.planned_updates > 0 ? std::min(1.0, double(updates_) / double(vl_.planned_updates)) : 0.0};
  }

  const AgentContext ctx_;
  CandidateFeatures features_;
  SlateChooser chooser_;
  const int K_, k_, F_;
  const bool null_item_;
  const int Kq_;  // Q rows per user: K candidates (+ the null item)
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
  std::vector<float> act_feat_, act_q_, pending_feat_, score_;
  std::vector<int32_t> pending_slates_, perm_;
  std::vector<int64_t> idx_;
  std::vector<float> b_feat_, b_next_, b_score_;
};

}  // namespace

// Test seam (declared in tests/torch/test_slateq.cc; not part of the Agent
// interface): the slate search and the TD target of a SlateQ agent.
namespace slateq_testing {
double BestSlate(const EnvParams& p, int64_t max_enumerated, const float* q, const float* v, int32_t* out,
                 float q_null) {
  return SlateChooser(MakeEnvSpec(p), max_enumerated).Best(q, q, v, out, q_null, q_null);
}
double SlateValue(const EnvParams& p, const int32_t* slate, const float* q, const float* v, float q_null) {
  return SlateChooser(MakeEnvSpec(p), 1).Value(slate, q, v, q_null);
}
std::vector<float> TdTargets(Agent& a, const StepBatch& next, const std::vector<float>& reward,
                             const std::vector<float>& done) {
  return dynamic_cast<SlateQAgent&>(a).TargetsFor(next, reward, done);
}
std::vector<float> CandidateQ(Agent& a, const StepBatch& obs, bool target) {
  return dynamic_cast<SlateQAgent&>(a).QFor(obs, target);
}
std::vector<float> ObservedScores(Agent& a, const StepBatch& obs) {
  return dynamic_cast<SlateQAgent&>(a).ScoresFor(obs);
}
void ShiftOnline(Agent& a, float delta) { dynamic_cast<SlateQAgent&>(a).ShiftOnline(delta); }
void SyncTarget(Agent& a) { dynamic_cast<SlateQAgent&>(a).SyncTarget(); }
}  // namespace slateq_testing

void RegisterSlateQ(AgentRegistrar& r) {
  r.Add({kType,
         "SlateQ: item-wise Q-learning with the slate value decomposed by the scenario's choice model "
         "applied to observed affinity (replay, target network, epsilon-greedy slates)",
         &SlateQSchema()},
        [](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
          return std::make_unique<SlateQAgent>(config, ctx);
        });
}

}  // namespace cohort::torch_agents
