// Slate search: choosing k of K candidates (in position order) to maximise a
// value, shared by the myopic oracle (VecEnv::OracleSlate), SlateQ's slate
// choice and anything else that searches slates.
//
// A search is exact when the slates are few enough to enumerate, and greedy
// beyond. Callers supply the pieces their own definition of "best" needs:
// - ForEachSlate visits every slate in lexicographic order, combinations
//   (increasing candidate indices) or, when order matters, permutations; a
//   caller keeping the first strict maximum therefore breaks ties toward the
//   lexicographically smallest slate.
// - Exact(...) is that: the first slate of maximal value.
// - Greedy(...) fills positions in order, each with the candidate that
//   maximises the value of the partial slate (positions 0..j).
// - TopByWeight(...) takes the k candidates of largest weight (ties: lower
//   index first), the cheap search for values that decompose per item.
// Everything is header-only and templated on the value callback, so the
// search inlines the caller's evaluation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

namespace cohort::slate_search {

inline constexpr int kMaxSlateSize = 64;

// Number of slates: C(K, k), or P(K, k) when order matters (as a double, so
// that huge counts compare against a bound without overflow).
inline double Count(int num_candidates, int slate_size, bool ordered) {
  double count = 1.0;
  for (int j = 0; j < slate_size; ++j) count *= double(num_candidates - j) / (ordered ? 1.0 : double(j + 1));
  return count;
}

// Calls visit(const int32_t* slate) for every slate, lexicographic order.
template <class Visit>
void ForEachSlate(int num_candidates, int slate_size, bool ordered, Visit&& visit) {
  int32_t cur[kMaxSlateSize];
  std::vector<uint8_t> used(size_t(num_candidates), 0);
  auto recurse = [&](auto&& self, int depth, int start) -> void {
    if (depth == slate_size) {
      visit(static_cast<const int32_t*>(cur));
      return;
    }
    for (int i = ordered ? 0 : start; i < num_candidates; ++i) {
      if (used[size_t(i)]) continue;
      used[size_t(i)] = 1;
      cur[depth] = i;
      self(self, depth + 1, i + 1);
      used[size_t(i)] = 0;
    }
  };
  recurse(recurse, 0, 0);
}

// The first slate of maximal value(const int32_t* slate) -> double, written
// to `out`; returns its value.
template <class Value>
double Exact(int num_candidates, int slate_size, bool ordered, Value&& value, int32_t* out) {
  double best = -std::numeric_limits<double>::infinity();
  ForEachSlate(num_candidates, slate_size, ordered, [&](const int32_t* slate) {
    const double v = value(slate);
    if (v > best) {
      best = v;
      std::copy_n(slate, slate_size, out);
    }
  });
  return best;
}

// Position by position: slate position j gets the unused candidate whose
// partial slate out[0..j] has the largest value(const int32_t* slate, int
// length) (ties: the lowest index). Returns nothing; the caller values the
// full slate as it needs.
template <class Value>
void Greedy(int num_candidates, int slate_size, Value&& value, int32_t* out) {
  std::vector<uint8_t> used(size_t(num_candidates), 0);
  for (int j = 0; j < slate_size; ++j) {
    double best_partial = -std::numeric_limits<double>::infinity();
    int best_item = 0;
    for (int i = 0; i < num_candidates; ++i) {
      if (used[size_t(i)]) continue;
      out[j] = i;
      const double v = value(static_cast<const int32_t*>(out), j + 1);
      // The second test replaces the initial best_item (0) when it is taken.
      if (v > best_partial || used[size_t(best_item)]) {
        best_partial = v;
        best_item = i;
      }
    }
    out[j] = best_item;
    used[size_t(best_item)] = 1;
  }
}

// The slate_size candidates of largest weight[c], heaviest first (a stable
// sort: equal weights keep index order). `scratch` is reused storage.
inline void TopByWeight(int num_candidates, int slate_size, const double* weight, int32_t* out,
                        std::vector<int32_t>& scratch) {
  scratch.resize(size_t(num_candidates));
  std::iota(scratch.begin(), scratch.end(), 0);
  std::stable_sort(scratch.begin(), scratch.end(), [&](int32_t a, int32_t b) { return weight[a] > weight[b]; });
  std::copy_n(scratch.begin(), slate_size, out);
}

}  // namespace cohort::slate_search
