#include "agents/features.h"

#include <algorithm>
#include <cmath>

namespace cohort {

CandidateFeatures::CandidateFeatures(const EnvSpec& spec)
    : d_(spec.feature_dim),
      mean_length_(std::max(1e-9, spec.mean_item_length)),
      mean_budget_(std::max(1e-9, spec.mean_time_budget)) {}

void CandidateFeatures::Fill(const StepBatch& obs, int r, int c, float* out) const {
  const float* u = obs.Interests(r);
  float* x = out + d_;
  obs.CandidateFeatures(r, c, x);
  for (int i = 0; i < d_; ++i) {
    out[i] = u[i];
    out[2 * d_ + i] = u[i] * x[i];
  }
  const size_t rc = size_t(r) * size_t(obs.num_candidates) + size_t(c);
  float match = 0.0f;
  if (obs.history > 0) {
    int n = 0;
    for (int h = 0; h < obs.history; ++h) {
      const int32_t t = obs.history_topics[size_t(r) * size_t(obs.history) + size_t(h)];
      if (t < 0) continue;
      ++n;
      match += t == obs.topic[rc] ? 1.0f : 0.0f;
    }
    if (n > 0) match /= float(n);
  }
  out[3 * d_] = match;
  out[3 * d_ + 1] = float(obs.length[rc] / mean_length_);
  const float b = obs.budget[size_t(r)];
  out[3 * d_ + 2] = std::isnan(b) ? 0.0f : float(b / mean_budget_);
  out[3 * d_ + 3] = 1.0f;
}

void CandidateFeatures::FillNull(const StepBatch& obs, int r, float* out) const {
  const float* u = obs.Interests(r);
  std::copy_n(u, d_, out);
  std::fill_n(out + d_, 2 * d_ + 2, 0.0f);
  const float b = obs.budget[size_t(r)];
  out[3 * d_ + 2] = std::isnan(b) ? 0.0f : float(b / mean_budget_);
  out[3 * d_ + 3] = 1.0f;
}

void CandidateFeatures::FillRow(const StepBatch& obs, int r, float* out) const {
  for (int c = 0; c < obs.num_candidates; ++c) Fill(obs, r, c, out + size_t(c) * size_t(dim()));
}

void CandidateFeatures::FillAll(const StepBatch& obs, std::vector<float>& out) const {
  const size_t per_row = size_t(obs.num_candidates) * size_t(dim());
  out.resize(size_t(obs.rows) * per_row);
  for (int r = 0; r < obs.rows; ++r) {
    if (obs.active[size_t(r)])
      FillRow(obs, r, &out[size_t(r) * per_row]);
    else
      std::fill_n(&out[size_t(r) * per_row], per_row, 0.0f);
  }
}

}  // namespace cohort
