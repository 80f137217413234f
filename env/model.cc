#include "env/model.h"

#include <algorithm>
#include <limits>
#include <cmath>

#include <boost/random/poisson_distribution.hpp>

namespace cohort {
namespace {

std::vector<double> Cumulative(const std::vector<double>& weights) {
  std::vector<double> cdf(weights.size());
  double total = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) cdf[i] = (total += weights[i]);
  for (double& c : cdf) c /= total;
  cdf.back() = 1.0;
  return cdf;
}

int SampleCdf(const std::vector<double>& cdf, double u) {
  int i = 0;
  while (i + 1 < static_cast<int>(cdf.size()) && u >= cdf[size_t(i)]) ++i;
  return i;
}

}  // namespace

PopulationModel::PopulationModel(EnvParams params, uint64_t seed, uint64_t variant)
    : params_(std::move(params)), seed_(seed), variant_(variant), dim_(params_.FeatureDim()) {
  Refresh();
}

void PopulationModel::Refresh() {
  const int topics = params_.num_topics;
  if (params_.catalog.features == FeatureKind::kEmbedding) {
    Rng rng = MakeRng(seed_, variant_, 0, StreamPurpose::kTopics);
    topic_centers_.assign(size_t(topics) * dim_, 0.0f);
    for (int t = 0; t < topics; ++t) {
      double norm = 0.0;
      float* c = &topic_centers_[size_t(t) * dim_];
      for (int i = 0; i < dim_; ++i) {
        c[i] = static_cast<float>(rng.Normal());
        norm += double(c[i]) * c[i];
      }
      const double inv = 1.0 / std::sqrt(std::max(norm, 1e-12));
      for (int i = 0; i < dim_; ++i) c[i] = static_cast<float>(c[i] * inv);
    }
  }
  const CatalogParams& cat = params_.catalog;
  topic_quality_mean_.assign(size_t(topics), cat.quality_mean);
  if (!cat.quality_means.empty()) topic_quality_mean_ = cat.quality_means;
  uniform_topics_ = cat.topic_weights.empty();
  std::vector<double> tw = params_.catalog.topic_weights;
  if (tw.empty()) tw.assign(size_t(topics), 1.0);
  topic_cdf_ = Cumulative(tw);
  std::vector<double> sw;
  for (const auto& s : params_.segments) sw.push_back(s.weight);
  if (sw.empty()) sw.push_back(1.0);
  segment_cdf_ = Cumulative(sw);
  choice_ = ChoiceModel(params_.choice, params_.slate_size);
}

int PopulationModel::SampleTopicByWeight(Rng& rng) const { return SampleCdf(topic_cdf_, rng.Uniform()); }

double PopulationModel::SampleLength(Rng& rng) const {
  const CatalogParams& c = params_.catalog;
  return std::max(c.length_min, rng.Normal(c.length_mean, c.length_std));
}

void PopulationModel::SampleFeatures(Rng& rng, int topic, float* features) const {
  const float* center = TopicCenter(topic);
  const double noise = params_.catalog.topic_spread / std::sqrt(double(dim_));
  for (int i = 0; i < dim_; ++i) features[i] = static_cast<float>(center[i] + noise * rng.Normal());
}

double PopulationModel::ExpectedRewardGivenClick(const ItemView& item, double affinity, double budget) const {
  const ResponseParams& r = params_.response;
  const RewardParams& w = params_.reward;
  const double q = item.quality;
  const double completion = std::clamp(r.completion_base + r.completion_quality * q, 0.0, 1.0);
  const double full = std::min(budget, item.length * completion);
  const double p_dislike = r.dislike_enabled ? Sigmoid(r.dislike_bias + r.dislike_quality * q) : 0.0;
  const double p_like = r.like_enabled ? Sigmoid(r.like_bias + r.like_quality * q + r.like_affinity * affinity) : 0.0;
  const double skipped = std::min(budget, item.length * r.dislike_completion);
  return w.click + w.quality * q + (1.0 - p_dislike) * (w.watch_time * full + w.like * p_like) +
         p_dislike * (w.watch_time * skipped + w.dislike);
}

int BotEntryOf(const std::vector<BotParams>& bots, uint64_t seed, uint64_t variant, int64_t user) {
  if (bots.empty()) return -1;
  const double u = MakeRng(seed, variant, uint64_t(user), StreamPurpose::kBots).Uniform();
  double cumulative = 0.0;
  for (size_t i = 0; i < bots.size(); ++i) {
    cumulative += bots[i].fraction;
    if (u < cumulative) return int(i);
  }
  return -1;
}

int PopulationModel::SampleSegment(Rng& rng) const {
  if (segment_cdf_.size() == 1) return 0;
  return SampleCdf(segment_cdf_, rng.Uniform());
}

void PopulationModel::ApplyPreferenceShift(int segment, int topic, double amount) {
  // Future users of the segment start shifted too: move the segment centre.
  for (size_t s = 0; s < params_.segments.size(); ++s) {
    if (segment >= 0 && static_cast<int>(s) != segment) continue;
    auto& center = params_.segments[s].center;
    if (center.empty()) center.assign(size_t(dim_), 0.0);
    if (params_.catalog.features == FeatureKind::kOneHot) {
      center[size_t(topic)] += amount;
    } else {
      for (int i = 0; i < dim_; ++i) center[size_t(i)] += amount * TopicCenter(topic)[i];
    }
  }
}

void PopulationModel::ShiftTopicQuality(int topic, double amount) {
  CatalogParams& c = params_.catalog;
  if (c.quality_means.empty()) c.quality_means.assign(size_t(params_.num_topics), c.quality_mean);
  c.quality_means[size_t(topic)] += amount;
  topic_quality_mean_[size_t(topic)] += amount;
}

void Catalog::Reset(const PopulationModel& model) {
  const EnvParams& p = model.params();
  dim_ = p.catalog.features == FeatureKind::kEmbedding ? model.dim() : 0;
  rng_ = MakeRng(model.seed(), model.variant(), 0, StreamPurpose::kCatalog);
  topic_.clear();
  quality_.clear();
  length_.clear();
  features_.clear();
  created_.clear();
  alive_.clear();
  AddItems(model, p.catalog.size, -1, 0);
}

void Catalog::AddItems(const PopulationModel& model, int count, int topic, int64_t tick) {
  for (int n = 0; n < count; ++n) {
    const size_t id = topic_.size();
    topic_.push_back(0);
    quality_.push_back(0);
    length_.push_back(0);
    created_.push_back(tick);
    if (dim_ > 0) features_.resize(features_.size() + size_t(dim_));
    model.SampleItem(rng_, &topic_[id], &quality_[id], &length_[id], dim_ > 0 ? &features_[id * dim_] : nullptr);
    if (topic >= 0 && topic != topic_[id]) {
      // A themed wave: keep the sampled quality/length, move the item to the
      // wave's topic (embedding items are re-centred on it).
      if (dim_ > 0) {
        const float* from = model.TopicCenter(topic_[id]);
        const float* to = model.TopicCenter(topic);
        for (int i = 0; i < dim_; ++i) features_[id * dim_ + size_t(i)] += to[i] - from[i];
      }
      topic_[id] = topic;
    }
    alive_.push_back(static_cast<int64_t>(id));
  }
}

void Catalog::Advance(const PopulationModel& model, int64_t tick) {
  const CatalogParams& c = model.params().catalog;
  if (c.max_age > 0) {
    auto expired = [&](int64_t id) { return tick - created_[size_t(id)] >= c.max_age; };
    alive_.erase(std::remove_if(alive_.begin(), alive_.end(), expired), alive_.end());
  }
  if (c.arrival_rate > 0) {
    const int arrivals = boost::random::poisson_distribution<int>(c.arrival_rate)(rng_);
    AddItems(model, arrivals, -1, tick);
  }
}

void Catalog::ShiftQuality(int topic, double amount) {
  for (size_t i = 0; i < topic_.size(); ++i)
    if (topic_[i] == topic) quality_[i] = static_cast<float>(quality_[i] + amount);
}

void Catalog::Save(BinaryWriter& out) const {
  out.Tag("catalog");
  out.Pod(dim_);
  out.Pod(rng_);
  out.Vector(topic_);
  out.Vector(quality_);
  out.Vector(length_);
  out.Vector(features_);
  out.Vector(created_);
  out.Vector(alive_);
}

void Catalog::Load(BinaryReader& in, const PopulationModel& model) {
  in.Tag("catalog");
  in.Pod(dim_);
  in.Pod(rng_);
  in.Vector(topic_);
  const size_t n = topic_.size();
  in.Vector(quality_, "catalog.quality", n);
  in.Vector(length_, "catalog.length", n);
  // A resampled catalog is never built (dim 0, no items); a live one holds
  // features only on embedding catalogs.
  const EnvParams& p = model.params();
  const bool live = p.catalog.source == CandidateSource::kLive;
  const int expected_dim = live && p.catalog.features == FeatureKind::kEmbedding ? model.dim() : 0;
  in.Check(dim_ == expected_dim, "catalog.dim is " + std::to_string(dim_) + ", the configuration has " +
                                     std::to_string(expected_dim));
  in.Vector(features_, "catalog.features", n * size_t(dim_));
  in.Vector(created_, "catalog.created", n);
  in.Vector(alive_);
  in.CheckRange(topic_, 0, p.num_topics - 1, "catalog.topic");
  in.CheckRange(created_, 0, std::numeric_limits<int64_t>::max(), "catalog.created");  // ticks: never negative
  in.CheckRange(alive_, 0, int64_t(n) - 1, "catalog.alive");
  for (size_t i = 1; i < alive_.size(); ++i)
    in.Check(alive_[i - 1] < alive_[i], "catalog.alive is not in creation order");
  in.Check(!live || alive_.size() >= size_t(p.num_candidates),
           "catalog.alive holds fewer items than candidates per step");
  in.Check(live || n == 0, "a resampled catalog holds items");
}

}  // namespace cohort
