#include "agents/slate_law.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace cohort {
namespace {

// The highest value among the candidates not taken, and how many share it.
double TopRemaining(const std::vector<double>& v, const std::vector<uint8_t>& taken, int K, int* ties) {
  double best = -INFINITY;
  *ties = 0;
  for (int c = 0; c < K; ++c) {
    if (taken[size_t(c)]) continue;
    if (v[size_t(c)] > best) best = v[size_t(c)], *ties = 1;
    else if (v[size_t(c)] == best) ++*ties;
  }
  return best;
}

// The Plackett-Luce weight of the candidates not yet taken, summed afresh
// (never the total minus the taken weights: once a softmax rounds the top
// weight to 1, that difference is 0 while the rest is still positive, and a
// drawn slate would get probability 0). When no weight is left at all (the
// weights underflowed to 0), the law's next position is uniform over the
// candidates left: the samplers (SampleSlate, reinforce's) draw it so.
double WeightLeft(const std::vector<double>& v, const std::vector<uint8_t>& taken, int K) {
  double left = 0.0;
  for (int c = 0; c < K; ++c)
    if (!taken[size_t(c)] && v[size_t(c)] > 0.0) left += v[size_t(c)];
  return left;
}

// P(the base law draws slate[0..j)) for j = 0..k into prefix[0..k].
//   kRanking: the remaining candidates are taken best first, a tie group in
//   uniformly random order, so each position is uniform over the remaining
//   candidates of the highest remaining score;
//   kPlackettLuce: weight over the weight left;
//   kFixed: 1 while the prefix agrees with the slate.
void BasePrefixes(const SlateLaw& law, int K, const int32_t* slate, int k, double* prefix) {
  prefix[0] = 1.0;
  std::vector<uint8_t> taken(static_cast<size_t>(K), 0);
  const std::vector<double>& v = law.values;
  for (int j = 0; j < k; ++j) {
    const int s = slate[j];
    double p = 0.0;
    switch (law.kind) {
      case SlateLaw::Kind::kRanking: {
        int ties = 0;
        const double best = TopRemaining(v, taken, K, &ties);
        p = v[size_t(s)] == best && ties > 0 ? 1.0 / ties : 0.0;
        break;
      }
      case SlateLaw::Kind::kPlackettLuce: {
        const double left = WeightLeft(v, taken, K);
        p = left > 0.0 ? (v[size_t(s)] > 0.0 ? v[size_t(s)] / left : 0.0) : 1.0 / double(K - j);
        break;
      }
      case SlateLaw::Kind::kFixed:
        p = int32_t(v[size_t(j)]) == s ? 1.0 : 0.0;
        break;
    }
    taken[size_t(s)] = 1;
    prefix[j + 1] = prefix[j] * p;
  }
}

void CheckLaw(const SlateLaw& law, int K, int k) {
  if (!(law.uniform >= 0.0 && law.uniform <= 1.0)) throw std::invalid_argument("SlateLaw: uniform outside [0, 1]");
  if (law.uniform >= 1.0) return;
  const size_t want = law.kind == SlateLaw::Kind::kFixed ? size_t(k) : size_t(K);
  if (law.values.size() != want)
    throw std::invalid_argument("SlateLaw: " + std::to_string(law.values.size()) + " values, expected " +
                                std::to_string(want));
}

}  // namespace

bool SlateLaw::Deterministic() const {
  if (uniform > 0.0) return false;
  if (kind == Kind::kFixed) return true;
  if (kind == Kind::kPlackettLuce) {
    int positive = 0;
    for (double w : values) positive += w > 0.0;
    return positive <= 1;
  }
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
}

std::string Describe(const SlateLaw& law) {
  if (law.uniform >= 1.0) return "uniform";
  const std::string base = law.kind == SlateLaw::Kind::kRanking        ? "ranking"
                           : law.kind == SlateLaw::Kind::kPlackettLuce ? "plackett_luce"
                                                                       : "fixed";
  return law.uniform > 0.0 ? "epsilon_mixture(uniform, " + base + ")" : base;
}

double SlateProbabilities(const SlateLaw& law, int K, const int32_t* slate, int k, double* conditional) {
  CheckLaw(law, K, k);
  // Prefix probabilities of the mixture: uniform * prod 1/(K - i) + (1 - uniform) * base.
  std::vector<double> base(static_cast<size_t>(k) + 1, 0.0);
  if (law.uniform < 1.0) BasePrefixes(law, K, slate, k, base.data());
  double uniform_prefix = 1.0, previous = 1.0;
  for (int j = 0; j < k; ++j) {
    uniform_prefix /= double(K - j);
    const double now = law.uniform * uniform_prefix + (1.0 - law.uniform) * base[size_t(j) + 1];
    conditional[j] = previous > 0.0 ? now / previous : 0.0;
    previous = now;
  }
  return previous;
}

MarginalMethod PositionMarginals(const SlateLaw& law, int K, int k, Rng& rng, double* out) {
  CheckLaw(law, K, k);
  std::fill(out, out + size_t(k) * size_t(K), 0.0);
  MarginalMethod method = MarginalMethod::kExact;
  const double w = 1.0 - law.uniform;
  if (w > 0.0) {
    switch (law.kind) {
      case SlateLaw::Kind::kFixed:
        for (int j = 0; j < k; ++j) out[size_t(j) * K + size_t(int32_t(law.values[size_t(j)]))] += w;
        break;
      case SlateLaw::Kind::kRanking: {
        // Tie groups in descending score: a group of n occupying positions
        // [a, a + n) puts each member at each of them with probability 1/n.
        std::vector<int32_t> order(static_cast<size_t>(K));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int32_t a, int32_t b) { return law.values[size_t(a)] > law.values[size_t(b)]; });
        for (int a = 0; a < k;) {
          int b = a + 1;
          while (b < K && law.values[size_t(order[size_t(b)])] == law.values[size_t(order[size_t(a)])]) ++b;
          const double share = w / double(b - a);
          for (int j = a; j < std::min(b, k); ++j)
            for (int i = a; i < b; ++i) out[size_t(j) * K + size_t(order[size_t(i)])] += share;
          a = b;
        }
        break;
      }
      case SlateLaw::Kind::kPlackettLuce: {
        double prefixes = 1.0;
        for (int j = 0; j < k; ++j) prefixes *= double(K - j);
        std::vector<int32_t> slate(static_cast<size_t>(k));
        std::vector<uint8_t> taken(static_cast<size_t>(K), 0);
        if (prefixes <= double(kExactPrefixLimit)) {
          // Depth-first over ordered prefixes, carrying the prefix's
          // probability.
          struct Frame {
            static void Walk(const SlateLaw& law, int K, int k, int j, double p, std::vector<uint8_t>& taken, double w,
                             double* out) {
              if (j == k || p == 0.0) return;
              const double left = WeightLeft(law.values, taken, K);
              for (int c = 0; c < K; ++c) {
                if (taken[size_t(c)] || (left > 0.0 && law.values[size_t(c)] <= 0.0)) continue;
                const double q = left > 0.0 ? p * law.values[size_t(c)] / left : p / double(K - j);
                out[size_t(j) * K + size_t(c)] += w * q;
                taken[size_t(c)] = 1;
                Walk(law, K, k, j + 1, q, taken, w, out);
                taken[size_t(c)] = 0;
              }
            }
          };
          Frame::Walk(law, K, k, 0, 1.0, taken, w, out);
        } else {
          method = MarginalMethod::kMonteCarlo;
          SlateLaw base = law;
          base.uniform = 0.0;
          for (int n = 0; n < kMonteCarloDraws; ++n) {
            SampleSlate(base, K, k, rng, slate.data());
            for (int j = 0; j < k; ++j) out[size_t(j) * K + size_t(slate[size_t(j)])] += w / kMonteCarloDraws;
          }
        }
        break;
      }
    }
  }
  if (law.uniform > 0.0)
    for (size_t i = 0; i < size_t(k) * size_t(K); ++i) out[i] += law.uniform / double(K);
  return method;
}

bool SlateSecondMoment(const SlateLaw& law, int K, int k, std::vector<double>* gamma) {
  CheckLaw(law, K, k);
  const double w = 1.0 - law.uniform;
  if (w > 0.0 && law.kind == SlateLaw::Kind::kPlackettLuce) return false;
  const size_t m = size_t(K) * size_t(k);
  std::vector<double>& g = *gamma;
  g.assign(m * m, 0.0);
  auto at = [&](int c, int j, int c2, int l) -> double& {
    return g[(size_t(c) * size_t(k) + size_t(j)) * m + size_t(c2) * size_t(k) + size_t(l)];
  };
  if (law.uniform > 0.0) {
    const double diagonal = law.uniform / double(K);
    const double pair = K > 1 ? law.uniform / (double(K) * double(K - 1)) : 0.0;
    for (int c = 0; c < K; ++c)
      for (int j = 0; j < k; ++j) {
        at(c, j, c, j) += diagonal;
        for (int c2 = 0; c2 < K; ++c2)
          for (int l = 0; l < k; ++l)
            if (c2 != c && l != j) at(c, j, c2, l) += pair;
      }
  }
  if (w <= 0.0) return true;
  if (law.kind == SlateLaw::Kind::kFixed) {
    for (int j = 0; j < k; ++j)
      for (int l = 0; l < k; ++l) at(int32_t(law.values[size_t(j)]), j, int32_t(law.values[size_t(l)]), l) += w;
    return true;
  }
  // kRanking: the tie group covering each position, as PositionMarginals
  // finds them (descending score, stable).
  std::vector<int32_t> order(static_cast<size_t>(K));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return law.values[size_t(a)] > law.values[size_t(b)]; });
  std::vector<int> first(static_cast<size_t>(k)), size(static_cast<size_t>(k));  // position j's group: order[first, first + size)
  for (int a = 0; a < k;) {
    int b = a + 1;
    while (b < K && law.values[size_t(order[size_t(b)])] == law.values[size_t(order[size_t(a)])]) ++b;
    for (int j = a; j < std::min(b, k); ++j) first[size_t(j)] = a, size[size_t(j)] = b - a;
    a = b;
  }
  for (int j = 0; j < k; ++j)
    for (int l = 0; l < k; ++l) {
      const int gj = size[size_t(j)], gl = size[size_t(l)];
      const bool same_group = first[size_t(j)] == first[size_t(l)];
      const double p = j == l       ? w / double(gj)
                       : same_group ? (gj > 1 ? w / (double(gj) * double(gj - 1)) : 0.0)
                                    : w / (double(gj) * double(gl));
      if (p == 0.0) continue;
      for (int x = first[size_t(j)]; x < first[size_t(j)] + gj; ++x)
        for (int y = first[size_t(l)]; y < first[size_t(l)] + gl; ++y) {
          const int c = order[size_t(x)], c2 = order[size_t(y)];
          if ((j == l) != (c == c2)) continue;  // one candidate per position, one position per candidate
          at(c, j, c2, l) += p;
        }
    }
  return true;
}

void SampleSlate(const SlateLaw& law, int K, int k, Rng& rng, int32_t* out) {
  CheckLaw(law, K, k);
  std::vector<uint8_t> taken(static_cast<size_t>(K), 0);
  const bool uniform = law.uniform >= 1.0 || (law.uniform > 0.0 && rng.Uniform() < law.uniform);
  if (uniform) {
    std::vector<int32_t> perm(static_cast<size_t>(K));
    std::iota(perm.begin(), perm.end(), 0);
    for (int j = 0; j < k; ++j) {
      const int pick = j + int(rng.Below(uint32_t(K - j)));
      std::swap(perm[size_t(j)], perm[size_t(pick)]);
      out[j] = perm[size_t(j)];
    }
    return;
  }
  const std::vector<double>& v = law.values;
  switch (law.kind) {
    case SlateLaw::Kind::kFixed:
      for (int j = 0; j < k; ++j) out[j] = int32_t(v[size_t(j)]);
      return;
    case SlateLaw::Kind::kRanking:
      for (int j = 0; j < k; ++j) {
        int ties = 0;
        const double best = TopRemaining(v, taken, K, &ties);
        int nth = int(rng.Below(uint32_t(ties)));
        for (int c = 0; c < K; ++c)
          if (!taken[size_t(c)] && v[size_t(c)] == best && nth-- == 0) {
            out[j] = c;
            taken[size_t(c)] = 1;
            break;
          }
      }
      return;
    case SlateLaw::Kind::kPlackettLuce: {
      for (int j = 0; j < k; ++j) {
        const double left = WeightLeft(v, taken, K);
        if (!(left > 0.0)) {  // no weight left: uniform over the candidates left
          int nth = int(rng.Below(uint32_t(K - j)));
          for (int c = 0; c < K; ++c)
            if (!taken[size_t(c)] && nth-- == 0) {
              taken[size_t(c)] = 1;
              out[j] = c;
              break;
            }
          continue;
        }
        const double u = rng.Uniform() * left;
        double acc = 0.0;
        int pick = -1, last = -1;
        for (int c = 0; c < K; ++c) {
          if (taken[size_t(c)] || v[size_t(c)] <= 0.0) continue;
          last = c;
          acc += v[size_t(c)];
          if (u < acc) {
            pick = c;
            break;
          }
        }
        if (pick < 0) pick = last;
        if (pick < 0) throw std::invalid_argument("SlateLaw: fewer positive weights than slate positions");
        taken[size_t(pick)] = 1;
        out[j] = pick;
      }
      return;
    }
  }
}

}  // namespace cohort
