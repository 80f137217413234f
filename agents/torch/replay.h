// Replay buffer and small helpers shared by the value-based LibTorch agents
// (slateq.cc, dqn.cc). Header-only: each algorithm is its own static library.
//
// A ring of fixed-width float records: each agent defines its own layout
// (features, reward, done flag, ...). The oldest record is overwritten when
// full. Sampling draws indices uniformly with replacement from a cohort::Rng
// the caller owns (so checkpoints capture it with the agent's other streams).
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <utility>
#include <vector>

#include "agents/torch/common.h"
#include "env/rng.h"
#include "env/serialize.h"

namespace cohort::torch_agents {

class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int64_t width) : capacity_(capacity), width_(width) {
    if (capacity <= 0 || width <= 0) throw std::invalid_argument("ReplayBuffer: capacity and width must be > 0");
  }

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int64_t width() const { return width_; }

  // A slot to write the next record into (overwrites the oldest when full).
  float* Push() {
    // Storage grows with the contents, up to capacity records.
    if (size_ < capacity_) data_.resize(size_t((size_ + 1) * width_));
    float* p = &data_[size_t(next_ * width_)];
    next_ = (next_ + 1) % capacity_;
    if (size_ < capacity_) ++size_;
    return p;
  }
  const float* Record(int64_t i) const { return &data_[size_t(i * width_)]; }

  // `n` indices uniform over the stored records, with replacement.
  void SampleIndices(int n, Rng& rng, std::vector<int64_t>& out) const {
    if (size_ == 0) throw std::logic_error("ReplayBuffer: sampling an empty buffer");
    out.resize(size_t(n));
    for (auto& i : out) i = int64_t(rng.Below(uint32_t(size_)));
  }

  // Only the filled part is written, so a checkpoint grows with the contents.
  void Save(BinaryWriter& out) const {
    out.Tag("replay");
    out.Pod(capacity_);
    out.Pod(width_);
    out.Pod(size_);
    out.Pod(next_);
    out.Bytes(data_.data(), size_t(size_ * width_) * sizeof(float));
  }
  void Load(BinaryReader& in) {
    in.Tag("replay");
    int64_t capacity = 0, width = 0;
    in.Pod(capacity);
    in.Pod(width);
    if (capacity != capacity_ || width != width_)
      throw std::runtime_error("checkpoint replay buffer has a different capacity or record layout");
    in.Pod(size_);
    in.Pod(next_);
    if (size_ < 0 || size_ > capacity_ || next_ < 0 || next_ >= capacity_)
      throw std::runtime_error("checkpoint replay buffer is corrupt");
    data_.assign(size_t(size_ * width_), 0.0f);
    in.BytesInto(data_.data(), size_t(size_ * width_) * sizeof(float));
  }

 private:
  int64_t capacity_, width_;
  int64_t size_ = 0, next_ = 0;
  std::vector<float> data_;
};

// A frozen copy of an online network: hard copy (tau = 1) or Polyak averaging
// target <- (1 - tau) target + tau online.
class TargetNet {
 public:
  TargetNet(torch::nn::Sequential net, const torch::nn::Sequential& online) : net_(std::move(net)) {
    for (auto& p : net_->parameters()) {
      p.set_requires_grad(false);
      params_.push_back(p);
    }
    for (auto& p : online->parameters()) online_.push_back(p);
    Sync(1.0);
  }
  torch::Tensor Forward(const torch::Tensor& x) { return net_->forward(x); }
  void Sync(double tau) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (tau >= 1.0) params_[i].copy_(online_[i]);
      else params_[i].mul_(1.0 - tau).add_(online_[i], tau);
    }
  }
  void Save(BinaryWriter& out) const {
    out.Tag("target");
    for (const auto& p : params_) out.Bytes(p.data_ptr<float>(), size_t(p.numel()) * sizeof(float));
  }
  void Load(BinaryReader& in) {
    in.Tag("target");
    torch::NoGradGuard no_grad;
    for (auto& p : params_) in.BytesInto(p.data_ptr<float>(), size_t(p.numel()) * sizeof(float));
  }

 private:
  torch::nn::Sequential net_;
  std::vector<torch::Tensor> params_, online_;
};

// Linear decay from `start` to `end` over `decay_steps` steps, then `end`.
inline double LinearEpsilon(double start, double end, int64_t step, double decay_steps) {
  if (decay_steps <= 0) return end;
  const double f = std::min(1.0, double(step) / decay_steps);
  return start + (end - start) * f;
}

// Mean Huber loss (delta 1) of pred - target.
inline torch::Tensor HuberLoss(const torch::Tensor& pred, const torch::Tensor& target) {
  const torch::Tensor d = pred - target;
  const torch::Tensor a = d.abs();
  return torch::where(a < 1.0, 0.5 * d * d, a - 0.5).mean();
}

// Uniformly random slate of k distinct candidates out of K (partial
// Fisher-Yates, as RandomAgent draws it).
inline void RandomSlate(int K, int k, Rng& rng, std::vector<int32_t>& perm, int32_t* out) {
  perm.resize(size_t(K));
  std::iota(perm.begin(), perm.end(), 0);
  for (int j = 0; j < k; ++j) {
    const int pick = j + int(rng.Below(uint32_t(K - j)));
    std::swap(perm[size_t(j)], perm[size_t(pick)]);
    out[j] = perm[size_t(j)];
  }
}

}  // namespace cohort::torch_agents
