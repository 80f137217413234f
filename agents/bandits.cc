// Bandit agents (torch-free): epsilon-greedy, UCB1, LinUCB, linear Thompson
// sampling. See agents/bandits.h for the shared conventions (arms, reward
// attribution, evaluation mode).
#include "agents/bandits.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "agents/baselines.h"
#include "agents/features.h"
#include "agents/registry.h"
#include "core/registry.h"

namespace cohort {
namespace bandits {

// ---- Shared pieces --------------------------------------------------------

double Ucb1Score(double sum, double count, double total, double c) {
  if (count <= 0.0) return std::numeric_limits<double>::infinity();
  return sum / count + c * std::sqrt(2.0 * std::log(std::max(total, 1.0)) / count);
}

bool CholeskyLower(const std::vector<double>& m, int d, std::vector<double>& l) {
  l.assign(size_t(d) * size_t(d), 0.0);
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = m[size_t(i) * d + size_t(j)];
      for (int p = 0; p < j; ++p) s -= l[size_t(i) * d + size_t(p)] * l[size_t(j) * d + size_t(p)];
      if (i == j) {
        if (!(s > 0.0)) return false;
        l[size_t(i) * d + size_t(i)] = std::sqrt(s);
      } else {
        l[size_t(i) * d + size_t(j)] = s / l[size_t(j) * d + size_t(j)];
      }
    }
  }
  return true;
}

RidgeStats::RidgeStats(int d, double lambda, int64_t reinvert_every)
    : d_(d), lambda_(lambda), reinvert_every_(reinvert_every) {
  a_.assign(size_t(d) * size_t(d), 0.0);
  a_inv_.assign(size_t(d) * size_t(d), 0.0);
  b_.assign(size_t(d), 0.0);
  for (int i = 0; i < d; ++i) {
    a_[size_t(i) * d + size_t(i)] = lambda;
    a_inv_[size_t(i) * d + size_t(i)] = 1.0 / lambda;
  }
}

RidgeStats::RidgeStats(int d, double lambda, int64_t reinvert_every, const std::vector<double>& prior_mean)
    : RidgeStats(d, lambda, reinvert_every) {
  if (prior_mean.size() != size_t(d)) throw std::logic_error("RidgeStats: prior mean of another dimension");
  for (int i = 0; i < d; ++i) b_[size_t(i)] = lambda * prior_mean[size_t(i)];
}

void RidgeStats::ShermanMorrison(const double* x) {
  const size_t d = size_t(d_);
  u_.resize(d);
  // u = A^-1 x (A^-1 symmetric), then A^-1 -= u u^T / (1 + x^T u).
  double xu = 0.0;
  for (size_t i = 0; i < d; ++i) {
    const double* row = &a_inv_[i * d];
    double s = 0.0;
    for (size_t j = 0; j < d; ++j) s += row[j] * x[j];
    u_[i] = s;
    xu += x[i] * s;
  }
  const double inv = 1.0 / (1.0 + xu);
  for (size_t i = 0; i < d; ++i) {
    const double ui = u_[i] * inv;
    double* row = &a_inv_[i * d];
    for (size_t j = 0; j < d; ++j) row[j] -= ui * u_[j];
  }
}

void RidgeStats::Accumulate(const double* x, double y, bool lower_only) {
  // Adding a zero product leaves a finite sum unchanged, so skipping the rows
  // of zero coordinates gives exactly the dense sums (features are sparse:
  // one-hot items, zero interests when hidden).
  const size_t d = size_t(d_);
  for (size_t i = 0; i < d; ++i) {
    const double xi = x[i];
    if (xi == 0.0) continue;
    double* __restrict arow = &a_[i * d];
    const size_t end = lower_only ? i + 1 : d;
    for (size_t j = 0; j < end; ++j) arow[j] += xi * x[j];
    b_[i] += y * xi;
  }
}

void RidgeStats::MirrorLower() {
  const size_t d = size_t(d_);
  for (size_t i = 0; i < d; ++i)
    for (size_t j = 0; j < i; ++j) a_[j * d + i] = a_[i * d + j];
}

void RidgeStats::Add(const double* x, double y) {
  ShermanMorrison(x);
  Accumulate(x, y, false);
  ++n_;
  if (reinvert_every_ > 0 && n_ % reinvert_every_ == 0) Reinvert();
}

void RidgeStats::AddBatch(const double* x, const double* y, int64_t n) {
  const size_t d = size_t(d_);
  if (n < BatchReinvertThreshold(d_)) {
    for (int64_t i = 0; i < n; ++i) Add(x + size_t(i) * d, y[i]);
    return;
  }
  // A starts symmetric and x_i x_j == x_j x_i exactly, so A[i][j] and
  // A[j][i] always receive the same additions: accumulating the lower
  // triangle and copying it up gives the full-matrix sums bit for bit.
  for (int64_t i = 0; i < n; ++i) Accumulate(x + size_t(i) * d, y[i], true);
  MirrorLower();
  n_ += n;
  if (Reinvert()) return;
  // A not numerically positive definite (A = lambda I + PSD: not expected):
  // the rank-1 updates still give its inverse.
  for (int64_t i = 0; i < n; ++i) ShermanMorrison(x + size_t(i) * d);
}

bool RidgeStats::Reinvert() {
  const int d = d_;
  std::vector<double> l;
  if (!CholeskyLower(a_, d, l)) return false;
  // L^-1 (lower triangular) by forward substitution, then A^-1 = L^-T L^-1.
  std::vector<double> li(size_t(d) * size_t(d), 0.0);
  for (int j = 0; j < d; ++j) {
    li[size_t(j) * d + size_t(j)] = 1.0 / l[size_t(j) * d + size_t(j)];
    for (int i = j + 1; i < d; ++i) {
      double s = 0.0;
      for (int p = j; p < i; ++p) s -= l[size_t(i) * d + size_t(p)] * li[size_t(p) * d + size_t(j)];
      li[size_t(i) * d + size_t(j)] = s / l[size_t(i) * d + size_t(i)];
    }
  }
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int p = i; p < d; ++p) s += li[size_t(p) * d + size_t(i)] * li[size_t(p) * d + size_t(j)];
      a_inv_[size_t(i) * d + size_t(j)] = a_inv_[size_t(j) * d + size_t(i)] = s;
    }
  }
  return true;
}

void RidgeStats::Mean(std::vector<double>& theta) const {
  const size_t d = size_t(d_);
  theta.assign(d, 0.0);
  for (size_t i = 0; i < d; ++i) {
    double s = 0.0;
    for (size_t j = 0; j < d; ++j) s += a_inv_[i * d + j] * b_[j];
    theta[i] = s;
  }
}

double RidgeStats::Quadratic(const double* x) const {
  const size_t d = size_t(d_);
  double q = 0.0;
  for (size_t i = 0; i < d; ++i) {
    const double* row = &a_inv_[i * d];
    double s = 0.0;
    for (size_t j = 0; j < d; ++j) s += row[j] * x[j];
    q += x[i] * s;
  }
  return q;
}

void RowSplit::Split(const double* x, int K, int d) {
  x_ = x;
  K_ = K;
  d_ = d;
  // Which columns differ from candidate 0's anywhere (contiguous passes).
  // (A count in doubles: the compare-and-add vectorizes.)
  varies_.assign(size_t(d), 0.0);
  double* __restrict varies = varies_.data();
  for (int c = 1; c < K; ++c) {
    const double* __restrict xc = x + size_t(c) * size_t(d);
    for (int j = 0; j < d; ++j) varies[j] += xc[j] != x[j] ? 1.0 : 0.0;
  }
  shared_.clear();
  s_.clear();
  varying_.clear();
  for (int j = 0; j < d; ++j) {
    if (varies[j] != 0.0) {
      varying_.push_back(j);
    } else if (x[j] != 0.0) {
      shared_.push_back(j);
      s_.push_back(x[j]);
    }
  }
  t_start_.resize(size_t(K) + 1);
  t_col_.resize(size_t(K) * varying_.size());
  t_val_.resize(size_t(K) * varying_.size());
  int32_t n = 0;
  t_start_[0] = 0;
  for (int c = 0; c < K; ++c) {
    const double* xc = x + size_t(c) * size_t(d);
    for (const int32_t j : varying_) {
      if (xc[j] == 0.0) continue;
      t_col_[size_t(n)] = j;
      t_val_[size_t(n)] = xc[j];
      ++n;
    }
    t_start_[size_t(c) + 1] = n;
  }
}

void RowSplit::Dots(const double* theta, double* out) const {
  double base = 0.0;
  for (size_t a = 0; a < shared_.size(); ++a) base += theta[shared_[a]] * s_[a];
  for (int c = 0; c < K_; ++c) {
    double t = 0.0;
    for (int32_t p = t_start_[size_t(c)]; p < t_start_[size_t(c) + 1]; ++p)
      t += theta[t_col_[size_t(p)]] * t_val_[size_t(p)];
    out[c] = base + t;
  }
}

const std::vector<double>& RowSplit::Quadratics(const double* m) const {
  const size_t d = size_t(d_);
  // ms = M s as a sum of the rows of M at the shared columns (M symmetric):
  // contiguous, vectorizable, |shared| * d multiply-adds.
  ms_.assign(d, 0.0);
  double* __restrict ms = ms_.data();
  for (size_t a = 0; a < shared_.size(); ++a) {
    const double* __restrict row = m + size_t(shared_[a]) * d;
    const double sa = s_[a];
    for (size_t j = 0; j < d; ++j) ms[j] += sa * row[j];
  }
  double sms = 0.0;
  for (size_t a = 0; a < shared_.size(); ++a) sms += s_[a] * ms_[size_t(shared_[a])];
  q_.resize(size_t(K_));
  for (int c = 0; c < K_; ++c) {
    const int32_t begin = t_start_[size_t(c)], end = t_start_[size_t(c) + 1];
    double cross = 0.0, tmt = 0.0;
    for (int32_t p = begin; p < end; ++p) {
      const double tp = t_val_[size_t(p)];
      const double* row = m + size_t(t_col_[size_t(p)]) * d;
      double mt = 0.0;
      for (int32_t r = begin; r < end; ++r) mt += row[t_col_[size_t(r)]] * t_val_[size_t(r)];
      cross += tp * ms_[size_t(t_col_[size_t(p)])];
      tmt += tp * mt;
    }
    q_[size_t(c)] = sms + 2.0 * cross + tmt;
  }
  return q_;
}

void RidgeStats::Save(BinaryWriter& out) const {
  out.Tag("ridge");
  out.Pod(d_);
  out.Pod(n_);
  out.Vector(a_);
  out.Vector(a_inv_);
  out.Vector(b_);
}

void RidgeStats::Load(BinaryReader& in) {
  in.Tag("ridge");
  int d = 0;
  in.Pod(d);
  if (d != d_)
    throw std::runtime_error("bandit checkpoint: feature dimension " + std::to_string(d) + " differs from " +
                             std::to_string(d_));
  in.Pod(n_);
  const size_t d2 = size_t(d_) * size_t(d_);
  in.Vector(a_, "ridge.a", d2);
  in.Vector(a_inv_, "ridge.a_inv", d2);
  in.Vector(b_, "ridge.b", size_t(d_));
  in.Check(n_ >= 0, "ridge.count is negative");
}

// ---- Exploration component -------------------------------------------------

namespace {
constexpr double kMaxLogScale = 5.0;  // scales stay in [e^-5, e^5]: no overflow for any theta
const std::string kMetaSchedule = "meta_schedule";

// Meta view: the exploration scale along t/T for a lifetime of T steps.
RuleProbe ExplorationProbe() {
  return {.output = "exploration scale (x epsilon / c / alpha / v)",
          .baseline = "fixed exploration",
          .inputs = {{"progress t/T", 0.0, 1.0, 0.0}, {"lifetime T (steps)", 2.0, 1e5, 60.0, true}},
          .evaluate = [](const std::vector<float>& theta, const std::vector<double>& at, const json&) {
            const Exploration e({{"type", kMetaSchedule}, {"file", ""}, {"theta", theta}}, "exploration");
            const int64_t total = std::max<int64_t>(1, std::llround(at[1]));
            return e.Scale(std::llround(at[0] * double(total)), total);
          }};
}
// The "exploration" component of every bandit: "fixed" or the learnable rule.
// An entry's factory gives the rule's theta (empty: fixed exploration).
using ThetaFactory = std::vector<float> (*)(const json& config, const std::string& where);
const Registry<ThetaFactory>& ExplorationRegistry() {
  static Schema fixed{"the agent's own exploration keys"}, learned{"meta-learned exploration schedule and prior"};
  static const Registry<ThetaFactory> registry = [] {
    AddThetaKeys(learned, ExplorationRule());
    Registry<ThetaFactory> r("exploration");
    r.Add({"fixed", "the agent's own epsilon / c / alpha / v and ridge prior N(0, I / lambda)", &fixed},
          [](const json&, const std::string&) { return std::vector<float>{}; })
        .Add({kMetaSchedule,
              "meta-learned: exploration scale exp(theta . [1, t/T, (t/T)^2, log(T)/10]) on epsilon / c / alpha / "
              "v, and (linear bandits) prior precision and per-block prior mean of the ridge model "
              "(agents/bandits.h); theta = 0 is \"fixed\"",
              &learned},
             [](const json& config, const std::string& where) {
               return ThetaFromConfig(config, ExplorationRule(), where);
             });
    return r;
  }();
  return registry;
}

}  // namespace

const LearnableRule& ExplorationRule() {
  static const LearnableRule rule{.type = kMetaSchedule,
                                  .slot = "exploration",
                                  .file_kind = "cohort_bandit_exploration",
                                  .theta_size = kExplorationThetaSize,
                                  .shape = {{"schedule_terms", kScheduleTerms}, {"prior_blocks", kPriorBlocks}},
                                  .initial = nullptr,  // start from zeros: exactly the agent's own exploration
                                  .probe = ExplorationProbe()};
  return rule;
}

Exploration::Exploration(const json& config, const std::string& where)
    : theta_(ExplorationRegistry().FactoryOf(config)(config, where)) {}

double Exploration::Scale(int64_t t, int64_t total) const {
  if (theta_.empty()) return 1.0;
  const double p = total > 0 ? std::min(1.0, double(t) / double(total)) : 0.0;
  const double log_t = total > 0 ? std::log(double(total)) / 10.0 : 0.0;
  const double z = double(theta_[0]) + double(theta_[1]) * p + double(theta_[2]) * p * p + double(theta_[3]) * log_t;
  return std::exp(std::clamp(z, -kMaxLogScale, kMaxLogScale));
}

double Exploration::PrecisionScale() const {
  if (theta_.empty()) return 1.0;
  return std::exp(std::clamp(double(theta_[kScheduleTerms]), -kMaxLogScale, kMaxLogScale));
}

static_assert(kPriorBlocks == CandidateFeatures::kBlocks, "one prior-mean weight per CandidateFeatures block");

std::vector<double> Exploration::PriorMean(int d) const {
  std::vector<double> m(size_t(CandidateFeatures::Dim(d)), 0.0);
  if (theta_.empty()) return m;
  const float* w = &theta_[kScheduleTerms + 1];
  for (int i = 0; i < CandidateFeatures::Dim(d); ++i) m[size_t(i)] = w[CandidateFeatures::BlockOf(i, d)];
  return m;
}

namespace {

const std::string kEpsilonGreedy = "epsilon_greedy", kUcb1 = "ucb1", kLinUcb = "linucb", kLinearTs = "linear_ts";

// Evaluation tie-breaking streams derive from a different seed than the
// training ones, so evaluating never advances (or mirrors) a training stream.
constexpr uint64_t kEvalSeedSalt = 0x65766170ULL;  // "evap"

// Base of every bandit: the training/evaluation switch, the per-user random
// streams of both modes, the reward target and top-k ranking.
class BanditBase : public Agent {
 public:
  BanditBase(const json& config, const AgentContext& ctx)
      : ctx_(ctx),
        reward_target_(config["target"].get<std::string>() == "reward"),
        exploration_(config["exploration"], "exploration"),
        train_streams_(ctx.seed, ctx.variant, ctx.num_envs),
        eval_streams_(EvalStreams(ctx)) {}

  bool learns() const override { return true; }
  // Every switch restarts the evaluation streams: an evaluation is a function
  // of the training state alone (paired across evaluation points), and a run
  // that evaluated checkpoints exactly like one that did not.
  void SetTraining(bool training) override {
    training_ = training;
    eval_streams_ = EvalStreams(ctx_);
  }
  std::map<std::string, double> Update() override {
    if (observed_ == 0) return {};
    const double n = double(observed_);
    observed_ = 0;
    return {{"updates", n}};
  }
  bool HasSlateLaw() const override { return true; }
  void RecordSlateLaws(bool on) override { laws_.SetOn(on); }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.Get(row, type()); }

 protected:
  static UserStreams EvalStreams(const AgentContext& ctx) {
    return UserStreams(SplitMix64(ctx.seed ^ kEvalSeedSalt), ctx.variant, ctx.num_envs);
  }
  Rng& Stream(const StepBatch& obs, int r) {
    return (training_ ? train_streams_ : eval_streams_).For(r, obs.user_id[size_t(r)]);
  }
  // The bandit's target for slate position j of row r in `result`.
  double Target(const StepBatch& result, int r, int j) const {
    const bool clicked = result.clicked[size_t(r) * size_t(result.slate_size) + size_t(j)] != 0;
    if (!reward_target_) return clicked ? 1.0 : 0.0;
    return clicked ? double(result.reward[size_t(r)]) : 0.0;
  }
  // Top-k of scores[0..K) into out[0..k): highest first, ties broken
  // uniformly at random (K uniforms from `rng`).
  void RankTopK(const double* scores, int K, int k, Rng& rng, int32_t* out) {
    jitter_.resize(size_t(K));
    order_.resize(size_t(K));
    for (double& j : jitter_) j = rng.Uniform();
    std::iota(order_.begin(), order_.end(), 0);
    std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), [&](int32_t a, int32_t b) {
      if (scores[a] != scores[b]) return scores[a] > scores[b];
      return jitter_[size_t(a)] < jitter_[size_t(b)];
    });
    std::copy_n(order_.begin(), k, out);
  }
  void SaveBase(BinaryWriter& out) const {
    out.Tag("bandit");
    out.Pod(training_);
    out.Pod(steps_);
    out.Pod(observed_);
    train_streams_.Save(out);
    eval_streams_.Save(out);
  }
  void LoadBase(BinaryReader& in) {
    in.Tag("bandit");
    in.Pod(training_);
    in.Pod(steps_);
    in.Pod(observed_);
    in.Check(steps_ >= 0 && observed_ >= 0, "bandit: negative step counts");
    train_streams_.Load(in);
    eval_streams_.Load(in);
  }
  // Rows x slate positions: the length of a last-slate record (or 0).
  size_t SlatePositions() const { return size_t(ctx_.num_envs) * size_t(ctx_.spec.slate_size); }

  // The exploration component's multiplier at the current training step.
  double ExplorationScale() const { return exploration_.Scale(steps_, ctx_.total_steps); }

  const AgentContext ctx_;
  const bool reward_target_;
  const Exploration exploration_;
  SlateLawRecord laws_;
  bool training_ = true;
  int64_t steps_ = 0;     // training Act calls (the schedule's t)
  int64_t observed_ = 0;  // observations absorbed since the last Update
  std::vector<double> scores_;

 private:
  UserStreams train_streams_, eval_streams_;
  std::vector<double> jitter_;
  std::vector<int32_t> order_;
};

// ---- Arm bandits: epsilon-greedy and UCB1 ----------------------------------

// Per-arm sums and counts; arms are item ids (live catalog) or topics.
class ArmBandit : public BanditBase {
 public:
  ArmBandit(const json& config, const AgentContext& ctx) : BanditBase(config, ctx), per_item_(ctx.spec.arms_are_items) {
    if (!per_item_) Grow(ctx.spec.num_topics - 1);
  }

  void Act(const StepBatch& obs, SlateBatch& slates) override {
    const int K = obs.num_candidates, k = obs.slate_size;
    scores_.resize(size_t(K));
    if (training_) last_arms_.assign(size_t(obs.rows) * size_t(k), -1);
    for (int r = 0; r < obs.rows; ++r) {
      if (!obs.active[size_t(r)]) continue;
      Rng& rng = Stream(obs, r);
      const bool explores = ExploresRow(rng);
      if (explores)
        std::fill(scores_.begin(), scores_.end(), 0.0);  // all tied: a uniform ranking
      else
        Scores(obs, r, scores_.data());
      if (laws_.on()) {
        // A uniform slate with the exploration probability, else the ranking.
        SlateLaw& law = laws_.At(r);
        law.uniform = ExploreProbability();
        law.kind = SlateLaw::Kind::kRanking;
        law.values.resize(size_t(K));
        if (explores)
          Scores(obs, r, law.values.data());
        else
          std::copy(scores_.begin(), scores_.end(), law.values.begin());
      }
      int32_t* out = slates.Row(r);
      RankTopK(scores_.data(), K, k, rng, out);
      if (!training_) continue;
      for (int j = 0; j < k; ++j) last_arms_[size_t(r) * k + size_t(j)] = Arm(obs, r, out[j]);
    }
    if (training_) ++steps_;
  }

  void Observe(const StepBatch& result) override {
    if (!training_) return;
    const int k = result.slate_size;
    for (size_t i = 0; i < last_arms_.size(); ++i) {
      const int64_t arm = last_arms_[i];
      if (arm < 0) continue;
      Grow(arm);
      counts_[size_t(arm)] += 1.0;
      sums_[size_t(arm)] += Target(result, int(i / size_t(k)), int(i % size_t(k)));
      total_ += 1.0;
      ++observed_;
    }
    last_arms_.clear();  // each slate is learned from once
  }

  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override {
    if (!obs.active[size_t(row)]) return "";
    return Scores(obs, row, scores);
  }

  void Save(BinaryWriter& out) const override {
    SaveBase(out);
    out.Tag("arms");
    out.Vector(sums_);
    out.Vector(counts_);
    out.Pod(total_);
    out.Vector(last_arms_);
  }
  void Load(BinaryReader& in) override {
    LoadBase(in);
    in.Tag("arms");
    in.Vector(sums_);
    in.Vector(counts_, "arms.counts", sums_.size());
    in.Check(per_item_ || sums_.size() == size_t(ctx_.spec.num_topics),
             "arms.sums holds " + std::to_string(sums_.size()) + " topics");
    in.Pod(total_);
    in.Vector(last_arms_);
    in.Check(last_arms_.empty() || last_arms_.size() == SlatePositions(),
             "arms.last_arms holds " + std::to_string(last_arms_.size()) + " values");
    in.CheckRange(last_arms_, -1, int64_t(counts_.size()) - 1, "arms.last_arms");
  }

 protected:
  // Whether row r ranks at random this step instead of by Scores; may draw
  // from the row's stream (before the tie-breaking draws).
  virtual bool ExploresRow(Rng& rng) { return false; }
  // The probability that ExploresRow says yes (the slate law's uniform part).
  virtual double ExploreProbability() const { return 0.0; }
  // The score of each candidate of row r (out[0..K)) that Act ranks by when
  // not exploring; returns its name. Read-only (CandidateScores).
  virtual std::string Scores(const StepBatch& obs, int r, double* out) const = 0;

  int64_t Arm(const StepBatch& obs, int r, int c) const {
    const size_t i = size_t(r) * size_t(obs.num_candidates) + size_t(c);
    return per_item_ ? obs.item_id[i] : obs.topic[i];
  }
  // Read-only lookups (acting never grows the tables: evaluation must not
  // touch the training state).
  double Count(int64_t arm) const { return arm < int64_t(counts_.size()) ? counts_[size_t(arm)] : 0.0; }
  double Sum(int64_t arm) const { return arm < int64_t(sums_.size()) ? sums_[size_t(arm)] : 0.0; }

  double total_ = 0.0;  // pulls of all arms

 private:
  void Grow(int64_t arm) {
    if (arm >= int64_t(counts_.size())) {
      counts_.resize(size_t(arm) + 1, 0.0);
      sums_.resize(size_t(arm) + 1, 0.0);
    }
  }

  const bool per_item_;
  std::vector<double> sums_, counts_;  // by arm
  std::vector<int64_t> last_arms_;     // rows x k arms shown by the last training Act (-1: none)
};

// Epsilon-greedy: rank by the mean target; with probability epsilon(t) the
// whole ranking is uniformly random instead.
class EpsilonGreedyAgent : public ArmBandit {
 public:
  EpsilonGreedyAgent(const json& config, const AgentContext& ctx)
      : ArmBandit(config, ctx),
        epsilon_(config["epsilon"].get<double>()),
        epsilon_min_(config["epsilon_min"].get<double>()),
        schedule_(config["schedule"].get<std::string>()),
        decay_steps_(config["decay_steps"].get<int64_t>()),
        decay_rate_(config["decay_rate"].get<double>()),
        initial_estimate_(config["initial_estimate"].get<double>()) {}
  const std::string& type() const override { return kEpsilonGreedy; }

  // epsilon after t training steps of T (decay_steps, else the planned run
  // length; constant when neither is known).
  double Epsilon() const {
    const int64_t horizon = decay_steps_ > 0 ? decay_steps_ : ctx_.total_steps;
    if (schedule_ == "constant" || horizon <= 0) return epsilon_;
    const double p = std::min(1.0, double(steps_) / double(horizon));
    if (schedule_ == "linear") return epsilon_ + (std::min(epsilon_min_, epsilon_) - epsilon_) * p;
    return std::max(std::min(epsilon_min_, epsilon_), epsilon_ * std::exp(-decay_rate_ * p));
  }

 protected:
  bool ExploresRow(Rng& rng) override { return training_ && rng.Uniform() < ExploreProbability(); }
  double ExploreProbability() const override {
    return training_ ? std::min(1.0, Epsilon() * ExplorationScale()) : 0.0;
  }
  std::string Scores(const StepBatch& obs, int r, double* out) const override {
    for (int c = 0; c < obs.num_candidates; ++c) {
      const int64_t arm = Arm(obs, r, c);
      const double n = Count(arm);
      out[c] = n > 0.0 ? Sum(arm) / n : initial_estimate_;
    }
    return "mean estimate";
  }

 private:
  const double epsilon_, epsilon_min_;
  const std::string schedule_;
  const int64_t decay_steps_;
  const double decay_rate_, initial_estimate_;
};

class Ucb1Agent : public ArmBandit {
 public:
  Ucb1Agent(const json& config, const AgentContext& ctx) : ArmBandit(config, ctx), c_(config["c"].get<double>()) {}
  const std::string& type() const override { return kUcb1; }

 protected:
  std::string Scores(const StepBatch& obs, int r, double* out) const override {
    const double scale = ExplorationScale();
    for (int c = 0; c < obs.num_candidates; ++c) {
      const int64_t arm = Arm(obs, r, c);
      const double n = Count(arm);
      if (training_)
        out[c] = Ucb1Score(Sum(arm), n, total_, c_ * scale);
      else
        out[c] = n > 0.0 ? Sum(arm) / n : 0.0;  // greedy on the mean
    }
    return training_ ? "UCB index" : "mean estimate";
  }

 private:
  const double c_;
};

// ---- Linear bandits: LinUCB and linear Thompson sampling --------------------

// One ridge regression of the target on CandidateFeatures(params) shared by
// all arms and rows; subclasses score a row's candidates from it.
class LinearBandit : public BanditBase {
 public:
  LinearBandit(const json& config, const AgentContext& ctx)
      : BanditBase(config, ctx),
        features_(ctx.spec),
        dim_(features_.dim()),
        stats_(dim_, config["lambda"].get<double>() * exploration_.PrecisionScale(),
               config["reinvert_every"].get<int64_t>(), exploration_.PriorMean(ctx.spec.feature_dim)) {}

  void Act(const StepBatch& obs, SlateBatch& slates) override {
    const int K = obs.num_candidates, k = obs.slate_size, d = dim_;
    if (mean_stale_) {
      stats_.Mean(theta_);
      mean_stale_ = false;
    }
    BeginAct();
    row_f_.resize(size_t(K) * size_t(d));
    row_x_.resize(size_t(K) * size_t(d));
    scores_.resize(size_t(K));
    if (training_) {
      last_x_.assign(size_t(obs.rows) * size_t(k) * size_t(d), 0.0);
      last_shown_.assign(size_t(obs.rows) * size_t(k), 0);
    }
    for (int r = 0; r < obs.rows; ++r) {
      if (!obs.active[size_t(r)]) continue;
      features_.FillRow(obs, r, row_f_.data());
      std::copy(row_f_.begin(), row_f_.end(), row_x_.begin());  // float -> double once
      split_.Split(row_x_.data(), K, d);
      Rng& rng = Stream(obs, r);
      RowScores(split_, rng);
      if (laws_.on() && HasSlateLaw()) laws_.At(r) = SlateLaw{0.0, SlateLaw::Kind::kRanking, scores_};
      int32_t* out = slates.Row(r);
      RankTopK(scores_.data(), K, k, rng, out);
      if (!training_) continue;
      for (int j = 0; j < k; ++j) {
        std::copy_n(&row_x_[size_t(out[j]) * d], d, &last_x_[(size_t(r) * k + size_t(j)) * d]);
        last_shown_[size_t(r) * k + size_t(j)] = 1;
      }
    }
    if (training_) ++steps_;
  }

  // The shown items in row-major slate order form one batch (RidgeStats::
  // AddBatch: the same statistics as adding them one by one in that order).
  void Observe(const StepBatch& result) override {
    if (!training_) return;
    const int k = result.slate_size;
    const size_t d = size_t(dim_);
    // Compact the shown items' features to the front of last_x_ (it is
    // cleared below), their targets into batch_y_.
    batch_y_.clear();
    for (size_t i = 0; i < last_shown_.size(); ++i) {
      if (!last_shown_[i]) continue;
      const size_t n = batch_y_.size();
      if (n != i) std::copy_n(&last_x_[i * d], d, &last_x_[n * d]);
      batch_y_.push_back(Target(result, int(i / size_t(k)), int(i % size_t(k))));
    }
    if (!batch_y_.empty()) {
      stats_.AddBatch(last_x_.data(), batch_y_.data(), int64_t(batch_y_.size()));
      observed_ += int64_t(batch_y_.size());
      mean_stale_ = true;
      StatsChanged();
    }
    last_shown_.clear();  // each slate is learned from once
    last_x_.clear();
  }

  std::string CandidateScores(const StepBatch& obs, int row, double* scores) const override {
    if (!obs.active[size_t(row)]) return "";
    const int K = obs.num_candidates;
    std::vector<float> f(size_t(K) * size_t(dim_));
    features_.FillRow(obs, row, f.data());
    const std::vector<double> x(f.begin(), f.end());
    RowSplit split;
    split.Split(x.data(), K, dim_);
    // theta_ is Act's cache of A^-1 b: recompute a copy rather than refresh it.
    std::vector<double> theta;
    if (mean_stale_) stats_.Mean(theta);
    return Scores(split, mean_stale_ ? theta : theta_, scores);
  }

  void Save(BinaryWriter& out) const override {
    SaveBase(out);
    stats_.Save(out);
    out.Tag("linear");
    out.Vector(last_x_);
    out.Vector(last_shown_);
  }
  void Load(BinaryReader& in) override {
    LoadBase(in);
    stats_.Load(in);
    in.Tag("linear");
    in.Vector(last_x_);
    in.Vector(last_shown_);
    in.Check((last_x_.empty() && last_shown_.empty()) ||
                 (last_shown_.size() == SlatePositions() && last_x_.size() == SlatePositions() * size_t(dim_)),
             "linear: the last slate's features hold " + std::to_string(last_x_.size()) + " values");
    in.CheckRange(last_shown_, 0, 1, "linear.last_shown");
    mean_stale_ = true;  // theta is a function of the statistics
  }

 protected:
  // Called once per Act, before the rows.
  virtual void BeginAct() {}
  // Called after an Observe added observations.
  virtual void StatsChanged() {}
  // scores_[c] for the K candidates of the row split in `row`; by default
  // Scores with the current mean.
  virtual void RowScores(const RowSplit& row, Rng& rng) { Scores(row, theta_, scores_.data()); }
  // The deterministic score out[c] of each candidate of `row` given the
  // posterior mean `theta` (read-only: CandidateScores); returns its name.
  // Default x.theta.
  virtual std::string Scores(const RowSplit& row, const std::vector<double>& theta, double* out) const {
    row.Dots(theta.data(), out);
    return "posterior mean";
  }

  const CandidateFeatures features_;
  const int dim_;
  RidgeStats stats_;
  std::vector<double> theta_;  // A^-1 b, cached
  bool mean_stale_ = true;

 private:
  std::vector<float> row_f_;
  std::vector<double> row_x_;
  RowSplit split_;                   // of row_x_
  std::vector<double> batch_y_;      // targets of Observe's batch
  std::vector<double> last_x_;       // rows x k x dim: features shown by the last training Act
  std::vector<uint8_t> last_shown_;  // rows x k
};

// LinUCB with a shared linear model: theta.x + alpha * sqrt(x^T A^-1 x).
class LinUcbAgent : public LinearBandit {
 public:
  LinUcbAgent(const json& config, const AgentContext& ctx)
      : LinearBandit(config, ctx), alpha_(config["alpha"].get<double>()) {}
  const std::string& type() const override { return kLinUcb; }

 protected:
  // All K widths of the row at once (RowSplit::Quadratics), then
  // theta.x + alpha * sqrt(x^T A^-1 x) per candidate.
  std::string Scores(const RowSplit& row, const std::vector<double>& theta, double* out) const override {
    const double alpha = alpha_ * ExplorationScale();
    row.Dots(theta.data(), out);
    if (training_ && alpha > 0.0) {
      const std::vector<double>& q = row.Quadratics(stats_.a_inv().data());
      for (size_t c = 0; c < q.size(); ++c) out[c] += alpha * std::sqrt(std::max(0.0, q[c]));
    }
    return training_ ? "UCB index" : "posterior mean";
  }

 private:
  const double alpha_;
};

// Linear Thompson sampling: theta_r = mu + v L z, z ~ N(0, I), L L^T = A^-1.
// CandidateScores shows the posterior mean x.mu (a sample would draw).
//
// Sampling choice: one theta per row (the row's user stream draws z), so rows
// explore independently; the O(d^3) Cholesky factor of A^-1 is shared by all
// rows and refreshed at the first Act after at least `refresh` steps that
// changed the statistics (1: every such step). Per row the cost is then one
// O(d^2) triangular product, the same order as LinUCB's widths, instead of an
// O(d^3) factorisation per row and step. mu = A^-1 b is always current; only
// the covariance may lag by up to `refresh` steps.
class LinearTsAgent : public LinearBandit {
 public:
  LinearTsAgent(const json& config, const AgentContext& ctx)
      : LinearBandit(config, ctx), v_(config["v"].get<double>()), refresh_(config["refresh"].get<int64_t>()) {}
  const std::string& type() const override { return kLinearTs; }
  // Its scores are a posterior draw: no closed-form slate probability.
  bool HasSlateLaw() const override { return false; }

  void Save(BinaryWriter& out) const override {
    LinearBandit::Save(out);
    out.Tag("thompson");
    out.Vector(chol_);
    out.Pod(changed_steps_);
    out.Pod(changed_this_step_);
  }
  void Load(BinaryReader& in) override {
    LinearBandit::Load(in);
    in.Tag("thompson");
    in.Vector(chol_);
    in.Check(chol_.empty() || chol_.size() == size_t(dim_) * size_t(dim_),
             "thompson.chol holds " + std::to_string(chol_.size()) + " values");
    in.Pod(changed_steps_);
    in.Pod(changed_this_step_);
    in.Check(changed_steps_ >= 0, "thompson.changed_steps is negative");
    in.Check(changed_this_step_ <= 1, "thompson.changed_this_step is not a flag");
  }

 protected:
  void StatsChanged() override { changed_this_step_ = 1; }

  void BeginAct() override {
    if (!training_) return;  // evaluation uses the posterior mean only
    if (changed_this_step_) {
      ++changed_steps_;
      changed_this_step_ = 0;
    }
    if (chol_.empty() || changed_steps_ >= refresh_) {
      // A^-1 is positive definite in exact arithmetic; on round-off failure
      // recompute it from A and retry.
      if (!CholeskyLower(stats_.a_inv(), dim_, chol_)) {
        stats_.Reinvert();
        stats_.Mean(theta_);
        if (!CholeskyLower(stats_.a_inv(), dim_, chol_))
          throw TrainingDiverged("linear_ts: A^-1 is not positive definite");
      }
      changed_steps_ = 0;
    }
  }

  void RowScores(const RowSplit& row, Rng& rng) override {
    const size_t d = size_t(dim_);
    sample_.assign(theta_.begin(), theta_.end());
    if (training_) {
      const double v = v_ * ExplorationScale();
      z_.resize(d);
      for (double& z : z_) z = rng.Normal();
      for (size_t i = 0; i < d; ++i) {
        const double* l = &chol_[i * d];
        double s = 0.0;
        for (size_t j = 0; j <= i; ++j) s += l[j] * z_[j];
        sample_[i] += v * s;
      }
    }
    row.Dots(sample_.data(), scores_.data());
  }

 private:
  const double v_;
  const int64_t refresh_;
  std::vector<double> chol_;   // L with L L^T = A^-1 (possibly up to `refresh` steps old)
  int64_t changed_steps_ = 0;  // steps with new observations since chol_ was computed
  uint8_t changed_this_step_ = 0;
  std::vector<double> sample_, z_;
};

template <typename T>
AgentFactory Factory() {
  return [](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
    return std::make_unique<T>(config, ctx);
  };
}

void AddTarget(Schema& s) {
  s.String("target", "click", {"click", "reward"},
           "what an item is credited with: click = 1 if clicked else 0; reward = the step reward if clicked "
           "else 0");
}

void AddExploration(Schema& s) {
  s.Component("exploration", &ExplorationRegistry(), "fixed",
              "exploration component: fixed (the keys above) or meta_schedule (a learnable rule)");
}

void AddRidge(Schema& s) {
  s.PositiveNumber("lambda", 1.0, "ridge regularisation: A starts at lambda * I");
  s.Integer("reinvert_every", 100000, 0, 1000000000000LL,
            "recompute A^-1 exactly from A every this many observations, bounding Sherman-Morrison round-off "
            "(0 = never); an Observe of at least max(2, dim/4) items re-inverts once instead of its rank-1 "
            "updates");
}

}  // namespace
}  // namespace bandits

void RegisterBanditAgents(AgentRegistrar& r) {
  using namespace bandits;
  static Schema epsilon{"epsilon_greedy"}, ucb1{"ucb1"}, linucb{"linucb"}, linear_ts{"linear_ts"};
  static const bool built = [] {
    epsilon.Number("epsilon", 0.1, 0, 1, "exploration probability (at the start of a decaying schedule)");
    epsilon.String("schedule", "constant", {"constant", "linear", "exponential"},
                   "epsilon over training progress p = t/T: constant; linear from epsilon to epsilon_min; "
                   "exponential epsilon * exp(-decay_rate * p), floored at epsilon_min");
    epsilon.Number("epsilon_min", 0.01, 0, 1, "floor of a decaying schedule");
    epsilon.Integer("decay_steps", 0, 0, 1000000000000LL,
                    "T of the schedule in training steps (0 = the planned run length; constant if unknown)");
    epsilon.Number("decay_rate", 5.0, 0, 1e300, "rate of the exponential schedule");
    epsilon.Number("initial_estimate", 0.0, -1e300, 1e300, "estimate of an arm never shown");
    AddTarget(epsilon);
    AddExploration(epsilon);
    ucb1.Number("c", 1.0, 0, 1e300, "exploration weight of the UCB1 bonus c * sqrt(2 ln N / n_i)");
    AddTarget(ucb1);
    AddExploration(ucb1);
    linucb.Number("alpha", 1.0, 0, 1e300, "weight of the confidence width sqrt(x^T A^-1 x)");
    AddRidge(linucb);
    AddTarget(linucb);
    AddExploration(linucb);
    linear_ts.Number("v", 0.5, 0, 1e300, "posterior scale: theta ~ N(A^-1 b, v^2 A^-1)");
    linear_ts.Integer("refresh", 1, 1, 1000000000000LL,
                      "recompute the Cholesky factor of A^-1 after this many steps with new observations");
    AddRidge(linear_ts);
    AddTarget(linear_ts);
    AddExploration(linear_ts);
    return true;
  }();
  (void)built;
  r.AddLearnable(ExplorationRule());
  r.Add({"epsilon_greedy",
         "mean target per arm (item on live catalogs, topic otherwise); a random ranking with probability epsilon",
         &epsilon},
        Factory<EpsilonGreedyAgent>());
  r.Add(
      {"ucb1", "UCB1 per arm (item on live catalogs, topic otherwise): mean + c sqrt(2 ln N / n), unseen first", &ucb1},
      Factory<Ucb1Agent>());
  r.Add({"linucb", "LinUCB: one ridge regression over candidate features, theta.x + alpha sqrt(x^T A^-1 x)", &linucb},
        Factory<LinUcbAgent>());
  r.Add({"linear_ts", "linear Thompson sampling: ridge posterior over candidate features, x.theta with sampled theta",
         &linear_ts},
        Factory<LinearTsAgent>());
}

}  // namespace cohort
