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

SequenceFeatures::SequenceFeatures(const EnvSpec& spec)
    : d_(spec.feature_dim),
      L_(spec.sequence),
      k_(spec.slate_size),
      embedding_(spec.candidate_features),
      mean_length_(std::max(1e-9, spec.mean_item_length)) {}

void SequenceFeatures::FillRow(const StepBatch& obs, int r, float* out) const {
  const int F = dim();
  std::fill_n(out, size_t(L_) * size_t(F), 0.0f);
  const int n = obs.sequence_length[size_t(r)];
  const float inv_k = 1.0f / float(k_);
  for (int e = 0; e < n; ++e) {
    float* o = out + size_t(e) * size_t(F);
    const size_t E = size_t(r) * size_t(L_) + size_t(e);  // entry index
    bool clicked = false, liked = false, disliked = false;
    double watch = 0.0;
    for (int j = 0; j < k_; ++j) {
      const size_t s = E * size_t(k_) + size_t(j);
      const bool c = obs.sequence_clicked[s] != 0;
      clicked |= c;
      liked |= obs.sequence_liked[s] != 0;
      disliked |= obs.sequence_disliked[s] != 0;
      watch += obs.sequence_watch_time[s];
      if (embedding_) {
        const float* x = &obs.sequence_features[s * size_t(d_)];
        for (int i = 0; i < d_; ++i) {
          o[i] += x[i] * inv_k;
          if (c) o[d_ + i] += x[i];
        }
      } else {
        const int32_t t = obs.sequence_topic[s];
        if (t >= 0 && t < d_) {
          o[t] += inv_k;
          if (c) o[d_ + t] += 1.0f;
        }
      }
    }
    float* tail = o + 2 * d_;
    const int32_t position = obs.sequence_click_position[E];
    tail[0] = clicked ? 1.0f : 0.0f;
    tail[1] = position >= 0 ? float(position + 1) * inv_k : 0.0f;
    tail[2] = float(watch / mean_length_);
    tail[3] = liked ? 1.0f : 0.0f;
    tail[4] = disliked ? 1.0f : 0.0f;
    tail[5] = float(obs.sequence_reward[E] / mean_length_);
    tail[6] = float(std::log1p(std::max(0.0f, obs.sequence_gap[E])));
    tail[7] = obs.sequence_session_step[E] == 0 ? 1.0f : 0.0f;
  }
}

void SequenceFeatures::FillAll(const StepBatch& obs, float* out, int64_t* lengths) const {
  const size_t per_row = size_t(L_) * size_t(dim());
  for (int r = 0; r < obs.rows; ++r) {
    if (obs.active[size_t(r)]) {
      FillRow(obs, r, out + size_t(r) * per_row);
      lengths[r] = obs.sequence_length[size_t(r)];
    } else {
      std::fill_n(out + size_t(r) * per_row, per_row, 0.0f);
      lengths[r] = 0;
    }
  }
}

}  // namespace cohort
