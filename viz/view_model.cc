#include "viz/view_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>
#include <stdexcept>

#include "core/rng.h"

namespace cohort::viz {

void TimeSeries::Push(double x) {
  values_.push_back(x);
  ++pushed_;
  while (values_.size() > capacity_) values_.pop_front();
}

double TimeSeries::min() const {
  double m = std::numeric_limits<double>::infinity();
  for (double v : values_)
    if (std::isfinite(v)) m = std::min(m, v);
  return std::isfinite(m) ? m : 0.0;
}

double TimeSeries::max() const {
  double m = -std::numeric_limits<double>::infinity();
  for (double v : values_)
    if (std::isfinite(v)) m = std::max(m, v);
  return std::isfinite(m) ? m : 0.0;
}

std::vector<float> TimeSeries::Bucketed(size_t buckets) const {
  const std::vector<double> means = BucketedSteps(buckets).mean;
  return std::vector<float>(means.begin(), means.end());
}

TimeSeries::Steps TimeSeries::BucketedSteps(size_t buckets) const {
  Steps out;
  if (buckets == 0 || values_.empty()) return out;
  const size_t per = (values_.size() + buckets - 1) / buckets;
  const double first_step = double(pushed_) - double(values_.size());
  for (size_t start = 0; start < values_.size(); start += per) {
    const size_t end = std::min(values_.size(), start + per);
    double sum = 0.0;
    int n = 0;
    for (size_t i = start; i < end; ++i)
      if (std::isfinite(values_[i])) sum += values_[i], ++n;
    out.step.push_back(first_step + 0.5 * double(start + end - 1));
    out.mean.push_back(n > 0 ? sum / n : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

SlateHeatmap::SlateHeatmap(int num_topics, int slate_size)
    : topics_(num_topics),
      slots_(slate_size),
      counts_(size_t(std::max(0, num_topics)) * size_t(std::max(0, slate_size)), 0),
      per_position_(size_t(std::max(0, slate_size)), 0) {
  if (num_topics < 1 || slate_size < 1) throw std::invalid_argument("SlateHeatmap: needs topics and positions >= 1");
}

void SlateHeatmap::Add(int topic, int position) {
  if (topic < 0 || topic >= topics_ || position < 0 || position >= slots_) return;  // unknown topic: not drawn
  ++counts_[size_t(topic) * size_t(slots_) + size_t(position)];
  ++per_position_[size_t(position)];
  ++total_;
}

void SlateHeatmap::AddBatch(const StepBatch& b, const SlateBatch& slates) {
  const int k = std::min(slots_, slates.slate_size);
  for (int r = 0; r < b.rows && r < slates.rows; ++r) {
    if (!b.active[size_t(r)]) continue;
    const int32_t* row = slates.Row(r);
    for (int j = 0; j < k; ++j) {
      const int c = row[j];
      if (c < 0 || c >= b.num_candidates) continue;
      Add(b.topic[size_t(r) * size_t(b.num_candidates) + size_t(c)], j);
    }
  }
}

void SlateHeatmap::Add(const SlateHeatmap& other) {
  if (other.topics_ != topics_ || other.slots_ != slots_)
    throw std::invalid_argument("SlateHeatmap::Add: shapes differ");
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  for (size_t j = 0; j < per_position_.size(); ++j) per_position_[j] += other.per_position_[j];
  total_ += other.total_;
}

void SlateHeatmap::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  std::fill(per_position_.begin(), per_position_.end(), 0);
  total_ = 0;
}

double SlateHeatmap::Frequency(int topic, int position) const {
  const int64_t n = per_position_[size_t(position)];
  return n > 0 ? double(count(topic, position)) / double(n) : 0.0;
}

int64_t SlateHeatmap::TopicCount(int topic) const {
  int64_t n = 0;
  for (int j = 0; j < slots_; ++j) n += count(topic, j);
  return n;
}

double SlateHeatmap::TopicEntropy() const {
  if (total_ == 0) return 0.0;
  double h = 0.0;
  for (int t = 0; t < topics_; ++t) {
    const int64_t n = TopicCount(t);
    if (n > 0) {
      const double p = double(n) / double(total_);
      h -= p * std::log(p);
    }
  }
  return h;
}

double SlateHeatmap::Coverage() const {
  int shown = 0;
  for (int t = 0; t < topics_; ++t) shown += TopicCount(t) > 0;
  return double(shown) / double(topics_);
}

Projection2D Projection2D::Pca(const std::vector<float>& data, int rows, int dim) {
  if (rows < 1 || dim < 1 || data.size() < size_t(rows) * size_t(dim))
    throw std::invalid_argument("Projection2D::Pca: needs rows x dim values");
  Projection2D p;
  p.dim_ = dim;
  p.pca_ = true;
  std::vector<double> mean(size_t(dim), 0.0), cov(size_t(dim) * size_t(dim), 0.0);
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < dim; ++i) mean[size_t(i)] += data[size_t(r) * size_t(dim) + size_t(i)];
  for (double& m : mean) m /= rows;
  for (int r = 0; r < rows; ++r) {
    const float* x = &data[size_t(r) * size_t(dim)];
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < dim; ++j)
        cov[size_t(i) * size_t(dim) + size_t(j)] += (x[i] - mean[size_t(i)]) * (x[j] - mean[size_t(j)]);
  }
  for (double& c : cov) c /= rows;
  p.mean_.assign(mean.begin(), mean.end());
  for (int a = 0; a < 2; ++a) {
    std::vector<double> v(static_cast<size_t>(dim)), next(static_cast<size_t>(dim));
    for (int i = 0; i < dim; ++i) v[size_t(i)] = 1.0 + 0.1 * i;  // fixed start: deterministic
    double lambda = 0.0;
    for (int it = 0; it < 300; ++it) {
      double norm = 0.0;
      for (int i = 0; i < dim; ++i) {
        double s = 0.0;
        for (int j = 0; j < dim; ++j) s += cov[size_t(i) * size_t(dim) + size_t(j)] * v[size_t(j)];
        next[size_t(i)] = s;
        norm += s * s;
      }
      norm = std::sqrt(norm);
      if (norm < 1e-300) break;  // no variance left: the axis stays the start direction
      lambda = norm;
      for (int i = 0; i < dim; ++i) v[size_t(i)] = next[size_t(i)] / norm;
    }
    double vn = 0.0;
    for (double x : v) vn += x * x;
    vn = std::sqrt(vn);
    size_t largest = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      v[i] /= vn;
      if (std::abs(v[i]) > std::abs(v[largest])) largest = i;
    }
    if (v[largest] < 0)
      for (double& x : v) x = -x;
    p.axes_[size_t(a)].assign(v.begin(), v.end());
    for (int i = 0; i < dim; ++i)  // deflate
      for (int j = 0; j < dim; ++j) cov[size_t(i) * size_t(dim) + size_t(j)] -= lambda * v[size_t(i)] * v[size_t(j)];
  }
  return p;
}

Projection2D Projection2D::TopicCircle(int dim) {
  if (dim < 1) throw std::invalid_argument("Projection2D::TopicCircle: needs dim >= 1");
  Projection2D p;
  p.dim_ = dim;
  p.mean_.assign(size_t(dim), 0.0f);
  for (int k = 0; k < dim; ++k) {
    const double angle = 2.0 * std::numbers::pi * k / dim;
    p.axes_[0].push_back(float(std::cos(angle)));
    p.axes_[1].push_back(float(std::sin(angle)));
  }
  return p;
}

std::array<float, 2> Projection2D::Project(const float* v) const {
  if (pca_) {
    std::array<float, 2> out{0.0f, 0.0f};
    for (int a = 0; a < 2; ++a)
      for (int i = 0; i < dim_; ++i) out[size_t(a)] += (v[i] - mean_[size_t(i)]) * axes_[size_t(a)][size_t(i)];
    return out;
  }
  double x = 0.0, y = 0.0, w = 0.0;
  for (int k = 0; k < dim_; ++k) {
    const double weight = std::max(0.0f, v[k]);
    x += weight * axes_[0][size_t(k)], y += weight * axes_[1][size_t(k)], w += weight;
  }
  return w > 0.0 ? std::array<float, 2>{float(x / w), float(y / w)} : std::array<float, 2>{0.0f, 0.0f};
}

std::array<float, 2> Projection2D::ProjectItem(int topic, const float* features) const {
  if (features != nullptr) return Project(features);
  if (!pca_) return {axes_[0][size_t(topic)], axes_[1][size_t(topic)]};  // weight 1 on one topic
  std::array<float, 2> out{0.0f, 0.0f};
  for (int a = 0; a < 2; ++a) {  // (e_topic - mean) . axis
    out[size_t(a)] = axes_[size_t(a)][size_t(topic)];
    for (int i = 0; i < dim_; ++i) out[size_t(a)] -= mean_[size_t(i)] * axes_[size_t(a)][size_t(i)];
  }
  return out;
}

std::vector<int64_t> SampleIndices(int64_t total, int64_t count, uint64_t seed) {
  std::vector<int64_t> out;
  if (total <= 0 || count <= 0) return out;
  if (count >= total) {
    for (int64_t i = 0; i < total; ++i) out.push_back(i);
    return out;
  }
  if (total > int64_t(UINT32_MAX)) throw std::invalid_argument("SampleIndices: total above 2^32");
  // Floyd's algorithm: `count` draws, each O(log count).
  Rng rng = MakeRng(seed, 0, uint64_t(1) << 43, StreamPurpose::kPolicy);
  std::set<int64_t> chosen;
  for (int64_t j = total - count; j < total; ++j) {
    const int64_t t = int64_t(rng.Below(uint32_t(j + 1)));
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  out.assign(chosen.begin(), chosen.end());
  return out;
}

}  // namespace cohort::viz
