// The exact myopic slate of one user state: the slate of slate_size of the
// num_candidates candidates with the largest expected immediate reward
//   value(slate) = sum_j P(click at j | the slate's scores) * value[slate[j]]
// (env/oracle.cc; the methods and why they are exact: docs/oracle.md).
//
// The answer is always enumeration's: the first slate of maximal value in
// slate_search's lexicographic order (permutations when the choice model's
// order matters, combinations otherwise), and the returned value is that
// slate's value computed by the same expression. Where the choice model has
// an exact fast method (ClickForm kRatio: Dinkelbach over rearrangements;
// kIndependent: one rearrangement) it is used when it can prove that its
// slate beats every other by far more than rounding; near-ties (identical
// candidates, zero weights, equal position weights) fall back to
// enumeration, so the result is bit-identical to enumerating.
#pragma once

#include <cstdint>

namespace cohort {

class ChoiceModel;

// score[c] and value[c] (c < num_candidates) are candidate c's score and its
// expected reward given a click. allow_fast = false always enumerates (the
// reference the tests compare with); solved_fast, when given, tells whether
// the fast method answered. Writes the slate, returns its value.
double ExactOracleSlate(const ChoiceModel& choice, int num_candidates, int slate_size, const double* score,
                        const double* value, double click_propensity, bool allow_fast, int32_t* slate,
                        bool* solved_fast = nullptr);

}  // namespace cohort
