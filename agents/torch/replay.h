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
#include "core/rng.h"
#include "core/serialize.h"

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
      if (tau >= 1.0)
        params_[i].copy_(online_[i]);
      else
        params_[i].mul_(1.0 - tau).add_(online_[i], tau);
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

// The hyperparameters the value-based agents share (replay, target network,
// update cadence, epsilon-greedy slates), with each agent's own defaults and
// wording for what a replay record holds.
struct ValueLearningDefaults {
  int64_t buffer_size;
  int batch_size;
  bool double_q;
  const char* buffer_doc;  // "replay capacity (...)"
  const char* batch_doc;   // "... per gradient step"
  const char* starts_doc;  // "stored ... before the first update"
  const char* double_q_doc;
};

inline void AddValueLearningKeys(Schema& s, const ValueLearningDefaults& d) {
  s.Number("gamma", 0.95, 0.0, 1.0, "discount factor")
      .Integer("buffer_size", d.buffer_size, 1, 100000000, d.buffer_doc)
      .Integer("batch_size", d.batch_size, 1, 65536, d.batch_doc)
      .Integer("learning_starts", 1000, 1, 100000000, d.starts_doc)
      .Integer("train_every", 1, 1, 1000000, "environment steps (batch Step calls) between updates")
      .Integer("gradient_steps", 1, 1, 1000, "gradient steps per update")
      .Integer("target_update", 100, 1, 100000000, "gradient steps between target syncs")
      .Number("tau", 1.0, 0.0, 1.0, "target sync: 1 = hard copy, < 1 = Polyak weight of the online net")
      .Bool("double_q", d.double_q, d.double_q_doc)
      .Number("epsilon_start", 1.0, 0.0, 1.0, "initial probability of a random slate")
      .Number("epsilon_end", 0.05, 0.0, 1.0, "final probability of a random slate")
      .Number("epsilon_fraction", 0.5, 0.0, 1.0, "fraction of the planned steps over which epsilon decays")
      .Integer("epsilon_steps", 1000, 0, 100000000, "decay length in steps when the planned length is unknown");
}

// Those keys read from a resolved config, and the cadence they define.
struct ValueLearning {
  ValueLearning(const json& c, int64_t total_steps)
      : gamma(c["gamma"].get<double>()),
        batch_size(c["batch_size"].get<int>()),
        learning_starts(c["learning_starts"].get<int64_t>()),
        train_every(c["train_every"].get<int64_t>()),
        gradient_steps(c["gradient_steps"].get<int>()),
        target_update(c["target_update"].get<int64_t>()),
        tau(c["tau"].get<double>()),
        double_q(c["double_q"].get<bool>()),
        eps_start(c["epsilon_start"].get<double>()),
        eps_end(c["epsilon_end"].get<double>()),
        eps_decay_steps(total_steps > 0 ? c["epsilon_fraction"].get<double>() * double(total_steps)
                                        : double(c["epsilon_steps"].get<int64_t>())),
        planned_updates(total_steps > 0 ? std::max<int64_t>(1, total_steps / train_every * gradient_steps) : 0) {}

  double Epsilon(int64_t steps) const { return LinearEpsilon(eps_start, eps_end, steps, eps_decay_steps); }
  // An Update() after `steps` environment steps with `stored` records learns.
  bool UpdateDue(int64_t steps, int64_t stored) const { return steps % train_every == 0 && stored >= learning_starts; }
  // After gradient step number `updates`: Polyak every step, or a hard copy.
  void SyncTarget(TargetNet& target, int64_t updates) const {
    if (tau < 1.0)
      target.Sync(tau);
    else if (updates % target_update == 0)
      target.Sync(1.0);
  }

  const double gamma;
  const int batch_size;
  const int64_t learning_starts, train_every;
  const int gradient_steps;
  const int64_t target_update;
  const double tau;
  const bool double_q;
  const double eps_start, eps_end, eps_decay_steps;
  const int64_t planned_updates;  // 0 when the planned length is unknown
};

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
