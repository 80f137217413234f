// Ground truth [privileged]: exact quantities computed from the hidden user
// state, for tests, the regret metric, the visualizer and the privileged
// baselines. Nothing here draws random numbers or changes the state.
//
// The expected immediate reward of a slate is exact for every choice model
// because a click's reward depends only on the clicked item and the user's
// state when the slate arrived (env/dynamics.cc caps each click's watch by
// that budget): E[reward] = sum_j P(click at j) * E[reward | click on item j].
#include <algorithm>
#include <vector>

#include "env/slate_search.h"
#include "env/vec_env.h"
#include "env/vec_env_inl.h"

namespace cohort {

double VecEnv::ChoiceProbabilities(int r, const int32_t* slate, double* probs) const {
  double scores[slate_search::kMaxSlateSize], affinity;
  for (int j = 0; j < slate_size_; ++j) scores[j] = Score(r, Candidate(r, slate[j]), &affinity);
  return model_.choice().Probabilities(scores, slate_size_, click_propensity_[size_t(r)], probs);
}

double VecEnv::ExpectedReward(int r, const int32_t* slate) const {
  double scores[slate_search::kMaxSlateSize], affinity[slate_search::kMaxSlateSize], probs[slate_search::kMaxSlateSize];
  for (int j = 0; j < slate_size_; ++j) scores[j] = Score(r, Candidate(r, slate[j]), &affinity[j]);
  model_.choice().Probabilities(scores, slate_size_, click_propensity_[size_t(r)], probs);
  double total = 0.0;
  for (int j = 0; j < slate_size_; ++j)
    total += probs[j] * model_.ExpectedRewardGivenClick(Candidate(r, slate[j]), affinity[j], budget_[size_t(r)]);
  return total;
}

void VecEnv::CandidateExpectedRewards(int r, double* out) const {
  for (int c = 0; c < num_candidates_; ++c) {
    double affinity, prob;
    const ItemView item = Candidate(r, c);
    const double score = Score(r, item, &affinity);
    model_.choice().Probabilities(&score, 1, click_propensity_[size_t(r)], &prob);
    out[c] = prob * model_.ExpectedRewardGivenClick(item, affinity, budget_[size_t(r)]);
  }
}

// Each candidate's score and value given a click are computed once; a
// slate's value is then sum_j P_j(its scores) * value_j. The search
// enumerates permutations when the choice model makes order matter
// (position bias, or the cascade's stop at the first click), combinations
// otherwise, and falls back to greedy when there are too many.
double VecEnv::OracleSlate(int r, int32_t* slate) const {
  std::vector<double> score(static_cast<size_t>(num_candidates_)), value(static_cast<size_t>(num_candidates_));
  for (int c = 0; c < num_candidates_; ++c) {
    double affinity;
    const ItemView item = Candidate(r, c);
    score[size_t(c)] = Score(r, item, &affinity);
    value[size_t(c)] = model_.ExpectedRewardGivenClick(item, affinity, budget_[size_t(r)]);
  }
  const double cp = click_propensity_[size_t(r)];
  const ChoiceModel& choice = model_.choice();
  auto evaluate = [&](const int32_t* s, int len) {
    double sc[slate_search::kMaxSlateSize] = {}, pr[slate_search::kMaxSlateSize], v = 0.0;
    for (int j = 0; j < len; ++j) sc[j] = score[size_t(s[j])];
    choice.Probabilities(sc, len, cp, pr);
    for (int j = 0; j < len; ++j) v += pr[j] * value[size_t(s[j])];
    return v;
  };
  const bool ordered = choice.order_matters();
  if (slate_search::Count(num_candidates_, slate_size_, ordered) <= double(kMaxEnumeratedSlates))
    return slate_search::Exact(
        num_candidates_, slate_size_, ordered, [&](const int32_t* s) { return evaluate(s, slate_size_); }, slate);
  slate_search::Greedy(num_candidates_, slate_size_, evaluate, slate);
  return evaluate(slate, slate_size_);
}

}  // namespace cohort
