// Ground truth [privileged]: exact quantities computed from the hidden user
// state, for tests, the regret metric, the visualizer and the privileged
// baselines. Nothing here draws random numbers or changes the state.
//
// The expected immediate reward of a slate is exact for every choice model
// because a click's reward depends only on the clicked item and the user's
// state when the slate arrived (env/dynamics.cc caps each click's watch by
// that budget): E[reward] = sum_j P(click at j) * E[reward | click on item j].
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "env/oracle_search.h"
#include "env/slate_search.h"
#include "env/vec_env.h"
#include "env/vec_env_inl.h"

namespace cohort {

// A bot's ground truth (env/params.h BotParams): its click rule stated
// exactly, with the same reward given a click as a person's.
double VecEnv::BotProbabilities(int r, const BotParams& bot, const int32_t* slate, double* probs) const {
  ItemView items[slate_search::kMaxSlateSize];
  for (int j = 0; j < slate_size_; ++j) items[j] = Candidate(r, slate[j]);
  std::fill_n(probs, slate_size_, 0.0);
  const int target = BotTarget(bot, items, slate_size_);
  if (target == -2)
    std::fill_n(probs, slate_size_, bot.click_probability / slate_size_);
  else if (target >= 0)
    probs[target] = bot.click_probability;
  return target == -1 ? 1.0 : 1.0 - bot.click_probability;
}

double VecEnv::ChoiceProbabilities(int r, const int32_t* slate, double* probs) const {
  if (const int b = Bot(r); b >= 0 && size_t(b) < model_.params().bots.size())
    return BotProbabilities(r, model_.params().bots[size_t(b)], slate, probs);
  double scores[slate_search::kMaxSlateSize], affinity;
  for (int j = 0; j < slate_size_; ++j) scores[j] = Score(r, Candidate(r, slate[j]), &affinity);
  return model_.choice().Probabilities(scores, slate_size_, click_propensity_[size_t(r)], probs);
}

double VecEnv::ExpectedReward(int r, const int32_t* slate) const {
  double scores[slate_search::kMaxSlateSize], affinity[slate_search::kMaxSlateSize], probs[slate_search::kMaxSlateSize];
  for (int j = 0; j < slate_size_; ++j) scores[j] = Score(r, Candidate(r, slate[j]), &affinity[j]);
  if (const int b = Bot(r); b >= 0 && size_t(b) < model_.params().bots.size())
    BotProbabilities(r, model_.params().bots[size_t(b)], slate, probs);
  else
    model_.choice().Probabilities(scores, slate_size_, click_propensity_[size_t(r)], probs);
  double total = 0.0;
  for (int j = 0; j < slate_size_; ++j)
    total += probs[j] * model_.ExpectedRewardGivenClick(Candidate(r, slate[j]), affinity[j], budget_[size_t(r)]);
  return total;
}

void VecEnv::CandidateExpectedRewards(int r, double* out) const {
  const int b = Bot(r);
  const BotParams* bot = b >= 0 && size_t(b) < model_.params().bots.size() ? &model_.params().bots[size_t(b)] : nullptr;
  for (int c = 0; c < num_candidates_; ++c) {
    double affinity, prob;
    const ItemView item = Candidate(r, c);
    const double score = Score(r, item, &affinity);
    if (bot != nullptr)  // alone at the top: clicked with p unless a farm's other topic
      prob = bot->kind == BotKind::kClickFarm && item.topic != bot->topic ? 0.0 : bot->click_probability;
    else
      model_.choice().Probabilities(&score, 1, click_propensity_[size_t(r)], &prob);
    out[c] = prob * model_.ExpectedRewardGivenClick(item, affinity, budget_[size_t(r)]);
  }
}

namespace {

// A slate's value: sum_j P_j(its scores) * value_j. The one expression every
// search below uses, so that the value returned is the same to the bit
// whichever search found the slate.
double EvaluateSlate(const ChoiceModel& choice, const double* score, const double* value, double click_propensity,
                     const int32_t* s, int len) {
  double sc[slate_search::kMaxSlateSize] = {}, pr[slate_search::kMaxSlateSize], v = 0.0;
  for (int j = 0; j < len; ++j) sc[j] = score[size_t(s[j])];
  choice.Probabilities(sc, len, click_propensity, pr);
  for (int j = 0; j < len; ++j) v += pr[j] * value[size_t(s[j])];
  return v;
}

// The fast methods accept their slate only when it beats every other slate
// by more than kTieMargin times the scale of the values: rounding in
// EvaluateSlate is below (slate_size + 4) * 2^-53 of that scale (at most
// 1.5e-14 for 64 positions), so enumeration's first strict maximum is then
// the same slate.
constexpr double kTieMargin = 1e-10;

// Scratch arrays for one row, on the stack for the usual candidate counts.
template <class T>
class RowBuffer {
 public:
  explicit RowBuffer(int n) : data_(stack_) {
    if (n > kStack) {
      heap_.resize(size_t(n));
      data_ = heap_.data();
    }
  }
  T* data() { return data_; }
  T& operator[](int i) { return data_[i]; }

 private:
  static constexpr int kStack = 256;
  T stack_[kStack];
  std::vector<T> heap_;
  T* data_;
};

// Candidates a and b are identical when their scores and values are the
// same doubles: swapping them changes no slate's value but its rounding.
bool Identical(const double* score, const double* value, int32_t a, int32_t b) {
  return std::bit_cast<uint64_t>(score[a]) == std::bit_cast<uint64_t>(score[b]) &&
         std::bit_cast<uint64_t>(value[a]) == std::bit_cast<uint64_t>(value[b]);
}

// Maximises sum_j b[j] * x[slate[j]] over slates of k distinct of the K
// candidates (b[j] > 0), by the rearrangement inequality: the k largest x,
// the largest at the position of largest b. Unordered (all b equal), the
// set is written in increasing index order, as enumeration of combinations
// visits it. Returns a lower bound on how much less every slate that is not
// a copy of this one (the same candidates up to identical ones, in the same
// positions) is worth; 0 or less: no proof (distinct candidates of equal x
// where it matters, tied or zero b). With u_0 >= ... >= u_{k-1} our x and
// t_r another slate's, sorted, t_r <= u_r for every r:
// - another set of classes has some t_r < u_r, so t_r <= the next smaller
//   x of any candidate, and loses at least min_j b_j times g, the smallest
//   gap between successive distinct x down to the one below u_{k-1};
// - another order of our classes loses at least the smallest gap of the
//   sorted b times g (sorting it by adjacent swaps gains that much each).
double Rearrange(int K, int k, const double* x, const double* b, bool ordered, const double* score, const double* value,
                 int32_t* idx, int32_t* slate) {
  const double inf = std::numeric_limits<double>::infinity();
  for (int c = 0; c < K; ++c) idx[c] = c;
  std::sort(idx, idx + K, [&](int32_t a, int32_t c) { return x[a] > x[c] || (x[a] == x[c] && a < c); });
  double b_min = inf;
  for (int j = 0; j < k; ++j) b_min = std::min(b_min, b[j]);
  double g = inf;
  for (int r = 0; r + 1 < K; ++r) {
    const double gap = x[idx[r]] - x[idx[r + 1]];
    if (gap == 0.0) {
      if (!Identical(score, value, idx[r], idx[r + 1])) return 0.0;
      continue;
    }
    g = std::min(g, gap);
    if (r + 1 >= k) break;  // x[idx[r + 1]] is the first x below u_{k-1}
  }
  if (!ordered) {
    std::copy_n(idx, k, slate);
    std::sort(slate, slate + k);
    return b_min * g;
  }
  int32_t position[slate_search::kMaxSlateSize];
  for (int j = 0; j < k; ++j) position[j] = j;
  // Insertion sort by decreasing b, stable (k is small).
  for (int j = 1; j < k; ++j)
    for (int l = j; l > 0 && b[position[l]] > b[position[l - 1]]; --l) std::swap(position[l], position[l - 1]);
  double db = inf;
  for (int r = 0; r + 1 < k; ++r) db = std::min(db, b[position[r]] - b[position[r + 1]]);
  for (int r = 0; r < k; ++r) slate[position[r]] = idx[r];
  return std::min(b_min, db) * g;
}

// The copies of `slate`: every slate whose position j holds a candidate
// identical to slate[j] (unordered: as sets, in increasing order), in
// lexicographic order. They are worth the same up to rounding, so the
// answer is enumeration's first strict maximum among them. False when there
// are more than kMaxCopies.
constexpr size_t kMaxCopies = 256;

bool Copies(int K, int k, bool ordered, const double* score, const double* value, const int32_t* slate,
            std::vector<int32_t>& copies) {
  // The usual case first, without allocating: no candidate has a copy.
  size_t product = 1;
  for (int j = 0; j < k; ++j) {
    size_t count = 0;
    for (int32_t c = 0; c < K; ++c) count += Identical(score, value, c, slate[j]);
    product *= count;
    if (product > kMaxCopies * 64) return false;
  }
  copies.clear();
  if (product == 1) {
    copies.assign(slate, slate + k);
    return true;
  }
  // members[j]: the candidates identical to slate[j], increasing.
  std::vector<std::vector<int32_t>> members(static_cast<size_t>(k));
  for (int j = 0; j < k; ++j)
    for (int32_t c = 0; c < K; ++c)
      if (Identical(score, value, c, slate[j])) members[size_t(j)].push_back(c);
  int32_t cur[slate_search::kMaxSlateSize];
  bool overflow = false;
  auto recurse = [&](auto&& self, int j) -> void {
    if (overflow) return;
    if (j == k) {
      int32_t out[slate_search::kMaxSlateSize];
      std::copy_n(cur, k, out);
      if (!ordered) std::sort(out, out + k);
      copies.insert(copies.end(), out, out + k);
      if (copies.size() > kMaxCopies * size_t(k)) overflow = true;
      return;
    }
    for (const int32_t c : members[size_t(j)]) {
      if (std::find(cur, cur + j, c) != cur + j) continue;
      // Unordered: identical candidates taken in increasing order, so each
      // set is made once.
      bool canonical = true;
      for (int l = 0; l < j && !ordered; ++l)
        if (cur[l] > c && Identical(score, value, cur[l], c)) canonical = false;
      if (!canonical) continue;
      cur[j] = c;
      self(self, j + 1);
    }
  };
  recurse(recurse, 0);
  if (overflow) return false;
  // Lexicographic order of the k-long rows.
  const size_t n = copies.size() / size_t(k);
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t p, int32_t q) {
    return std::lexicographical_compare(&copies[size_t(p) * k], &copies[size_t(p) * k] + k, &copies[size_t(q) * k],
                                        &copies[size_t(q) * k] + k);
  });
  std::vector<int32_t> sorted(copies.size());
  for (size_t i = 0; i < n; ++i) std::copy_n(&copies[size_t(order[i]) * k], k, &sorted[i * size_t(k)]);
  copies.swap(sorted);
  return true;
}

// Enumeration's answer among the copies of a proven best slate (Copies):
// the first strict maximum of EvaluateSlate in lexicographic order, written
// to `slate`. `known`, when given, is EvaluateSlate(slate) already.
bool BestCopy(const ChoiceModel& choice, int K, int k, const double* score, const double* value, double cp,
              int32_t* slate, const double* known, double* slate_value) {
  const bool ordered = choice.order_matters();
  thread_local std::vector<int32_t> copies;
  if (!Copies(K, k, ordered, score, value, slate, copies)) return false;
  if (copies.size() == size_t(k)) {
    *slate_value = known != nullptr ? *known : EvaluateSlate(choice, score, value, cp, slate, k);
    return true;
  }
  double best = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < copies.size(); i += size_t(k)) {
    const double v = EvaluateSlate(choice, score, value, cp, &copies[i], k);
    if (v > best) {
      best = v;
      std::copy_n(&copies[i], k, slate);
    }
  }
  *slate_value = best;
  return true;
}

// The fast exact search of ClickForm kIndependent and kRatio; false when it
// has no proof (the caller enumerates).
bool FastSlate(const ChoiceModel& choice, int K, int k, const double* score, const double* value, double cp,
               int32_t* slate, double* slate_value) {
  const ClickForm form = choice.click_form();
  if (form == ClickForm::kSequential) return false;
  const bool ordered = choice.order_matters();
  double b[slate_search::kMaxSlateSize], b_max = 0.0;
  for (int j = 0; j < k; ++j) {
    b[j] = choice.PositionWeight(j);
    if (!(b[j] > 0.0) || !std::isfinite(b[j])) return false;
    b_max = std::max(b_max, b[j]);
  }
  RowBuffer<double> w(K), x(K);
  RowBuffer<int32_t> idx(K);
  double w_max = 0.0, v_max = 0.0;
  for (int c = 0; c < K; ++c) {
    w[c] = choice.ClickWeight(score[c], cp);
    if (!(w[c] >= 0.0) || !std::isfinite(w[c]) || !std::isfinite(value[c])) return false;
    w_max = std::max(w_max, w[c]);
    v_max = std::max(v_max, std::abs(value[c]));
  }
  if (form == ClickForm::kIndependent) {
    // value = sum_j b_j * (w v)_{slate[j]}: one rearrangement.
    double x_max = 0.0;
    for (int c = 0; c < K; ++c) {
      x[c] = w[c] * value[c];
      x_max = std::max(x_max, std::abs(x[c]));
    }
    const double margin = Rearrange(K, k, x.data(), b, ordered, score, value, idx.data(), slate);
    if (!(margin > kTieMargin * double(k) * b_max * x_max) || !(margin > 0.0)) return false;
    return BestCopy(choice, K, k, score, value, cp, slate, nullptr, slate_value);
  }
  // kRatio: value = N/D with N = sum_j b_j w v, D = w0 + sum_j b_j w.
  // Dinkelbach: for lambda = value(S), the slate maximising
  // N - lambda D = sum_j b_j w (v - lambda) - lambda w0 is a rearrangement
  // of x = w (v - lambda); it is worth more than lambda unless S itself is
  // optimal (N(S) - lambda D(S) = 0), so lambda rises strictly until the
  // slate repeats. At the optimum lambda*, another slate T has
  // value(T) = lambda* + (N(T) - lambda* D(T)) / D(T) <= lambda* - margin / D_max.
  const double w0 = choice.NoClickWeight();
  if (!(w0 > 0.0) || !std::isfinite(w0)) return false;
  const double d_max = w0 + double(k) * b_max * w_max;
  int32_t previous[slate_search::kMaxSlateSize];
  double lambda = 0.0;
  for (int iteration = 0; iteration < 64; ++iteration) {
    for (int c = 0; c < K; ++c) x[c] = w[c] * (value[c] - lambda);
    const double margin = Rearrange(K, k, x.data(), b, ordered, score, value, idx.data(), slate);
    if (iteration > 0 && std::equal(slate, slate + k, previous)) {
      if (!(margin / d_max > kTieMargin * v_max) || !(margin > 0.0)) return false;
      return BestCopy(choice, K, k, score, value, cp, slate, &lambda, slate_value);
    }
    const double next = EvaluateSlate(choice, score, value, cp, slate, k);
    if (iteration > 0 && !(next > lambda)) return false;  // rounding: no progress
    lambda = next;
    std::copy_n(slate, k, previous);
  }
  return false;
}

}  // namespace

double ExactOracleSlate(const ChoiceModel& choice, int num_candidates, int slate_size, const double* score,
                        const double* value, double click_propensity, bool allow_fast, int32_t* slate,
                        bool* solved_fast) {
  double best = 0.0;
  const bool fast =
      allow_fast && FastSlate(choice, num_candidates, slate_size, score, value, click_propensity, slate, &best);
  if (solved_fast != nullptr) *solved_fast = fast;
  if (fast) return best;
  return slate_search::Exact(
      num_candidates, slate_size, choice.order_matters(),
      [&](const int32_t* s) { return EvaluateSlate(choice, score, value, click_propensity, s, slate_size); }, slate);
}

// The best slate for a bot, exactly, from each candidate's value given a
// click v_c: random clicker, the k largest v (the value is p/k times their
// sum); clickbait, the candidate of largest v among those with at least k-1
// others of no higher quality, at the top, above the k-1 of lowest quality
// (it is then the one clicked); click farm, its topic's candidate of largest
// v at the top, unless that v is negative and k candidates of other topics
// exist, in which case they are shown and nothing is clicked.
double VecEnv::BotOracleSlate(int r, const BotParams& bot, int32_t* slate) const {
  const int K = num_candidates_, k = slate_size_;
  RowBuffer<double> value(K);
  RowBuffer<int32_t> order(K);
  for (int c = 0; c < K; ++c) {
    double affinity;
    const ItemView item = Candidate(r, c);
    Score(r, item, &affinity);
    value[c] = model_.ExpectedRewardGivenClick(item, affinity, budget_[size_t(r)]);
    order[c] = c;
  }
  int32_t* idx = order.data();
  switch (bot.kind) {
    case BotKind::kRandomClicker:
      std::stable_sort(idx, idx + K, [&](int32_t a, int32_t b) { return value[a] > value[b]; });
      std::copy_n(idx, k, slate);
      break;
    case BotKind::kClickbait: {
      // Ascending quality: candidate idx[i] has i others of no higher quality.
      std::stable_sort(idx, idx + K, [&](int32_t a, int32_t b) {
        return Candidate(r, a).quality < Candidate(r, b).quality;
      });
      int best = k - 1;
      for (int i = k; i < K; ++i)
        if (value[idx[i]] > value[idx[best]]) best = i;
      slate[0] = idx[best];
      for (int j = 1, i = 0; j < k; ++i)
        if (i != best) slate[j++] = idx[i];
      break;
    }
    case BotKind::kClickFarm: {
      int best = -1, others = 0;
      for (int c = 0; c < K; ++c) {
        if (Candidate(r, c).topic != bot.topic)
          ++others;
        else if (best < 0 || value[c] > value[best])
          best = c;
      }
      const bool show_target = best >= 0 && (value[best] >= 0.0 || others < k);
      int j = 0;
      if (show_target) slate[j++] = best;
      for (int c = 0; c < K && j < k; ++c)
        if (c != best && (show_target || Candidate(r, c).topic != bot.topic)) slate[j++] = c;
      break;
    }
  }
  return ExpectedReward(r, slate);
}

// Each candidate's score and value given a click are computed once. The
// search is exact (ExactOracleSlate: a fast method where the choice model
// has one, else enumeration) when there are at most kMaxEnumeratedSlates
// slates, greedy beyond (unchanged, so that results stay as they were).
double VecEnv::OracleSlate(int r, int32_t* slate) const {
  if (const int b = Bot(r); b >= 0 && size_t(b) < model_.params().bots.size())
    return BotOracleSlate(r, model_.params().bots[size_t(b)], slate);
  RowBuffer<double> score(num_candidates_), value(num_candidates_);
  for (int c = 0; c < num_candidates_; ++c) {
    double affinity;
    const ItemView item = Candidate(r, c);
    score[c] = Score(r, item, &affinity);
    value[c] = model_.ExpectedRewardGivenClick(item, affinity, budget_[size_t(r)]);
  }
  const double cp = click_propensity_[size_t(r)];
  const ChoiceModel& choice = model_.choice();
  const bool ordered = choice.order_matters();
  if (slate_search::Count(num_candidates_, slate_size_, ordered) <= double(kMaxEnumeratedSlates))
    return ExactOracleSlate(choice, num_candidates_, slate_size_, score.data(), value.data(), cp, true, slate);
  auto evaluate = [&](const int32_t* s, int len) {
    return EvaluateSlate(choice, score.data(), value.data(), cp, s, len);
  };
  slate_search::Greedy(num_candidates_, slate_size_, evaluate, slate);
  return evaluate(slate, slate_size_);
}

}  // namespace cohort
