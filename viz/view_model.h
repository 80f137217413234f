// The visualizer's UI-independent logic, torch-free and GL-free so
// it is unit-tested without a window: what the views draw is computed here,
// the ImGui layer only paints it.
//
//   TimeSeries     a bounded history of one scalar (training curves, CTR, ...)
//                  with min/max and bucket means for plots wider than the data
//   SlateHeatmap   topic x slate-position counts of what a policy shows, with
//                  per-position frequencies, topic entropy and coverage
//   Projection2D   a 2-D view of interest/item vectors: PCA (power iteration,
//                  deterministic) or a fixed topic layout (topics on a circle)
//   SampleIndices  which users to draw when the population is too large to
//                  draw them all (the rest are aggregated)
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "env/vec_env.h"

namespace cohort::viz {

class TimeSeries {
 public:
  explicit TimeSeries(size_t capacity = 4096) : capacity_(capacity) {}
  // Keeps the newest `capacity` points; non-finite points are kept (plots
  // skip them) but do not count in min/max.
  void Push(double x);
  size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  double last() const { return values_.back(); }
  double at(size_t i) const { return values_[i]; }
  // Over the finite points held (0, 0 when there are none).
  double min() const;
  double max() const;
  // At most `buckets` means of consecutive points (equal-size buckets, the
  // last one shorter), so a plot costs O(width) whatever the history.
  std::vector<float> Bucketed(size_t buckets) const;
  // The same buckets as x/y for a plot against the environment step: point i
  // held is step pushed() - size() + i, a bucket sits at its centre step.
  struct Steps {
    std::vector<double> step, mean;
  };
  Steps BucketedSteps(size_t buckets) const;
  int64_t pushed() const { return pushed_; }  // all points ever pushed

 private:
  size_t capacity_;
  std::deque<double> values_;
  int64_t pushed_ = 0;
};

class SlateHeatmap {
 public:
  SlateHeatmap(int num_topics, int slate_size);
  void Add(int topic, int position);
  // Every active row's slate: the topic of the candidate at each position.
  void AddBatch(const StepBatch& observed, const SlateBatch& slates);
  // Every count of `other`, which has the same topics and positions.
  void Add(const SlateHeatmap& other);
  void Clear();
  int num_topics() const { return topics_; }
  int slate_size() const { return slots_; }
  int64_t count(int topic, int position) const { return counts_[size_t(topic) * size_t(slots_) + size_t(position)]; }
  int64_t total() const { return total_; }
  // Items of this topic shown at any position.
  int64_t TopicCount(int topic) const;
  // count / (items shown at this position); 0 when none were.
  double Frequency(int topic, int position) const;
  // Entropy (nats) of the topic distribution over all positions.
  double TopicEntropy() const;
  // Fraction of topics shown at least once.
  double Coverage() const;

 private:
  int topics_, slots_;
  std::vector<int64_t> counts_;
  std::vector<int64_t> per_position_;
  int64_t total_ = 0;
};

class Projection2D {
 public:
  // The two leading principal axes of `rows` vectors of length `dim`
  // (row-major), centred on their mean. Deterministic: power iteration from a
  // fixed start with deflation; axes signed so their largest component is > 0.
  static Projection2D Pca(const std::vector<float>& data, int rows, int dim);
  // Topic k at angle 2 pi k / dim on the unit circle; a vector maps to the
  // weighted mean of the topic points by max(v_k, 0) (the origin if none).
  static Projection2D TopicCircle(int dim);
  std::array<float, 2> Project(const float* v) const;
  // An item: Project(features), or for a one-hot item (features null) the
  // projection of its topic's unit vector, without building it.
  std::array<float, 2> ProjectItem(int topic, const float* features) const;
  int dim() const { return dim_; }
  bool pca() const { return pca_; }
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& axis(int i) const { return axes_[size_t(i)]; }

 private:
  int dim_ = 0;
  bool pca_ = false;
  std::vector<float> mean_;
  std::array<std::vector<float>, 2> axes_;
};

// `count` distinct indices in [0, total), sorted, drawn without replacement
// from a stream of (seed, kPolicy); all of them when count >= total.
std::vector<int64_t> SampleIndices(int64_t total, int64_t count, uint64_t seed);

}  // namespace cohort::viz
