// PopulationModel: the immutable description of a population and its catalog
// (MuJoCo's mjModel). Built once from EnvParams; per-user mutable data lives in
// VecEnv's struct-of-arrays. Scheduled events change a VecEnv's own copy of
// the model between steps, never during one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "core/serialize.h"
#include "env/params.h"

namespace cohort {

// One item as seen by the choice model: enough to score it and respond.
struct ItemView {
  int32_t topic;
  float quality;
  float length;
  const float* features;  // FeatureDim floats, or nullptr for one-hot items
};

// Which entry of `bots` user `user` is (env.users.bots), -1 for a person:
// one uniform draw from the user's own bots stream (seed, variant, user,
// kBots) against the entries' cumulative fractions. A pure function of its
// arguments, so that the runner can tell a finished user's kind without
// the VecEnv, and -1 without a draw when there are no bots (the streams of
// every scenario without bots are untouched).
int BotEntryOf(const std::vector<BotParams>& bots, uint64_t seed, uint64_t variant, int64_t user);

class PopulationModel {
 public:
  PopulationModel(EnvParams params, uint64_t seed, uint64_t variant);

  const EnvParams& params() const { return params_; }
  // Live edits (visualizer): call Refresh() afterwards to update derived tables.
  EnvParams& mutable_params() { return params_; }
  void Refresh();
  int dim() const { return dim_; }
  int num_topics() const { return params_.num_topics; }
  uint64_t seed() const { return seed_; }
  uint64_t variant() const { return variant_; }

  // Embedding mode: topic centres, num_topics x dim (unit-norm rows).
  const float* TopicCenter(int topic) const { return &topic_centers_[size_t(topic) * dim_]; }

  // Draws one item's attributes (topic, quality, length, features). Inline:
  // it is about half of a RecSim step (10 items per user-step).
  void SampleItem(Rng& rng, int32_t* topic, float* quality, float* length, float* features) const {
    const int t =
        uniform_topics_ ? static_cast<int>(rng.Below(uint32_t(params_.num_topics))) : SampleTopicByWeight(rng);
    *topic = t;
    const CatalogParams& c = params_.catalog;
    const double qmean = topic_quality_mean_[size_t(t)];
    *quality = static_cast<float>(c.quality_std > 0 ? rng.Normal(qmean, c.quality_std) : qmean);
    *length = static_cast<float>(c.length_std > 0 ? SampleLength(rng) : c.length_mean);
    if (features != nullptr) SampleFeatures(rng, t, features);
  }

  // Draws n items into column arrays, exactly as n SampleItem calls would
  // (same draws in the same order, same values). With uniform topics, noisy
  // quality and no features (RecSim's catalog) the loop runs with the run's
  // constants hoisted out of it and no per-item branch on an option; every
  // other case calls SampleItem.
  void SampleItems(Rng& rng, int n, int32_t* topic, float* quality, float* length) const {
    const CatalogParams& c = params_.catalog;
    if (!uniform_topics_ || !(c.quality_std > 0)) {
      for (int i = 0; i < n; ++i) SampleItem(rng, &topic[i], &quality[i], &length[i], nullptr);
      return;
    }
    if (c.length_std > 0)
      SampleUniformTopicItems<true>(rng, n, topic, quality, length);
    else
      SampleUniformTopicItems<false>(rng, n, topic, quality, length);
  }

  // The choice model bound to this population's parameters and slate size.
  const ChoiceModel& choice() const { return choice_; }

  // User utility of an item: affinity (+quality) (-boredom), the score every
  // choice model turns into probabilities.
  double Affinity(const float* interests, const ItemView& item) const {
    if (item.features == nullptr) return interests[item.topic];
    double a = 0.0;
    for (int i = 0; i < dim_; ++i) a += double(interests[i]) * item.features[i];
    return a;
  }

  // Expected immediate reward given a click on this item (exact; averages
  // over like/dislike and the completion rule).
  double ExpectedRewardGivenClick(const ItemView& item, double affinity, double budget) const;

  // Segment to draw new users from, cumulative weights.
  int SampleSegment(Rng& rng) const;
  void ApplyPreferenceShift(int segment, int topic, double amount);
  void ShiftTopicQuality(int topic, double amount);

 private:
  template <bool kNoisyLength>
  void SampleUniformTopicItems(Rng& rng, int n, int32_t* topic, float* quality, float* length) const {
    const CatalogParams& c = params_.catalog;
    const uint32_t topics = uint32_t(params_.num_topics);
    const double* quality_mean = topic_quality_mean_.data();
    const double quality_std = c.quality_std, length_mean = c.length_mean, length_std = c.length_std,
                 length_min = c.length_min;
    const float fixed_length = static_cast<float>(length_mean);
    for (int i = 0; i < n; ++i) {
      const uint32_t t = rng.Below(topics);
      topic[i] = int32_t(t);
      quality[i] = static_cast<float>(rng.Normal(quality_mean[t], quality_std));
      length[i] = kNoisyLength ? static_cast<float>(std::max(length_min, rng.Normal(length_mean, length_std)))
                               : fixed_length;
    }
  }
  int SampleTopicByWeight(Rng& rng) const;
  double SampleLength(Rng& rng) const;
  void SampleFeatures(Rng& rng, int topic, float* features) const;

  EnvParams params_;
  uint64_t seed_;
  uint64_t variant_;
  int dim_;
  std::vector<float> topic_centers_;
  bool uniform_topics_ = true;
  std::vector<double> topic_quality_mean_;
  std::vector<double> topic_cdf_;
  std::vector<double> segment_cdf_;
  ChoiceModel choice_;
};

// Live catalog: items that exist across steps, with creation time; new items
// arrive and old ones retire between steps (single-threaded, deterministic).
class Catalog {
 public:
  Catalog() = default;
  void Reset(const PopulationModel& model);
  // Advances to `tick`: retires items older than max_age, adds arrivals.
  void Advance(const PopulationModel& model, int64_t tick);
  void AddItems(const PopulationModel& model, int count, int topic, int64_t tick);
  void ShiftQuality(int topic, double amount);

  int64_t alive_count() const { return static_cast<int64_t>(alive_.size()); }
  int64_t total_items() const { return static_cast<int64_t>(topic_.size()); }
  // k-th alive item (dense index into alive list) -> item id.
  int64_t AliveItem(int64_t k) const { return alive_[size_t(k)]; }
  ItemView Item(int64_t id) const {
    return {topic_[size_t(id)], quality_[size_t(id)], length_[size_t(id)],
            features_.empty() ? nullptr : &features_[size_t(id) * dim_]};
  }
  int64_t created(int64_t id) const { return created_[size_t(id)]; }
  void Save(BinaryWriter& out) const;
  // Checks every length and index against `model`'s configuration.
  void Load(BinaryReader& in, const PopulationModel& model);

 private:
  int dim_ = 0;
  Rng rng_;
  std::vector<int32_t> topic_;
  std::vector<float> quality_, length_, features_;
  std::vector<int64_t> created_;
  std::vector<int64_t> alive_;  // ids of live items, in creation order
};

}  // namespace cohort
