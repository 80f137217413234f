#include "agents/exposure.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace cohort {

double ExposureWeight(int j) { return 1.0 / std::log2(double(j) + 2.0); }

// With the values sorted ascending, x_(1) <= ... <= x_(n):
// G = sum_i (2 i - n - 1) x_(i) / (n sum_i x_(i)), the mean absolute
// difference over all pairs divided by twice the mean.
double Gini(std::vector<double> v) {
  const double total = std::accumulate(v.begin(), v.end(), 0.0);
  if (v.empty() || !(total > 0.0)) return 0.0;
  std::sort(v.begin(), v.end());
  const double n = double(v.size());
  double s = 0.0;
  for (size_t i = 0; i < v.size(); ++i) s += (2.0 * double(i + 1) - n - 1.0) * v[i];
  return s / (n * total);
}

double LongTailShare(std::vector<double> v) {
  const double total = std::accumulate(v.begin(), v.end(), 0.0);
  if (v.empty() || !(total > 0.0)) return 0.0;
  const size_t head = (v.size() + 4) / 5;
  std::partial_sort(v.begin(), v.begin() + std::ptrdiff_t(head), v.end(), std::greater<double>());
  const double top = std::accumulate(v.begin(), v.begin() + std::ptrdiff_t(head), 0.0);
  return std::max(0.0, (total - top) / total);
}

double CalibrationKl(const std::vector<double>& p, const std::vector<double>& q, double a) {
  const double sp = std::accumulate(p.begin(), p.end(), 0.0), sq = std::accumulate(q.begin(), q.end(), 0.0);
  if (!(sp > 0.0)) return 0.0;
  double kl = 0.0;
  for (size_t t = 0; t < p.size(); ++t) {
    const double pt = p[t] / sp;
    if (pt <= 0.0) continue;
    const double qt = (sq > 0.0 ? q[t] / sq : 0.0);
    kl += pt * std::log(pt / ((1.0 - a) * qt + a * pt));
  }
  return kl;
}

ExposureMeter::ExposureMeter(const VecEnv& env)
    : env_(env),
      topics_(env.model().params().num_topics),
      k_(env.model().params().slate_size),
      K_(env.spec().num_candidates),
      per_item_(env.model().params().catalog.source == CandidateSource::kLive) {
  for (int j = 0; j < k_; ++j) weight_.push_back(ExposureWeight(j));
  topic_exposure_.assign(size_t(topics_), 0.0);
  topic_merit_.assign(size_t(topics_), 0.0);
  const size_t slots = size_t(env.num_envs());
  slot_exposure_.assign(slots * size_t(topics_), 0.0);
  slot_merit_.assign(slots * size_t(topics_), 0.0);
  slot_open_.assign(slots, 0);
  relevance_.resize(size_t(K_));
}

void ExposureMeter::Record(const StepBatch& b, const SlateBatch& slates) {
  if (!started_ && per_item_) {
    const Catalog& catalog = env_.catalog();
    for (int64_t i = 0; i < catalog.alive_count(); ++i) alive_at_start_.push_back(catalog.AliveItem(i));
    first_arrival_ = catalog.total_items();
  }
  started_ = true;
  for (int r = 0; r < b.rows; ++r) {
    if (!b.active[size_t(r)]) continue;
    slot_open_[size_t(r)] = 1;
    double* exposure = &slot_exposure_[size_t(r) * size_t(topics_)];
    double* merit = &slot_merit_[size_t(r) * size_t(topics_)];
    const size_t rK = size_t(r) * size_t(K_);
    const int32_t* slate = slates.Row(r);
    for (int j = 0; j < k_; ++j) {
      const size_t c = rK + size_t(slate[j]);
      const int32_t topic = b.topic[c];
      const double w = weight_[size_t(j)];
      if (per_item_) {  // on resampled catalogs the units are the topics: topic_exposure_
        const int64_t item = b.item_id[c];
        if (item >= int64_t(unit_exposure_.size())) unit_exposure_.resize(size_t(item) + 1, 0.0);
        if (item >= 0) unit_exposure_[size_t(item)] += w;
      }
      topic_exposure_[size_t(topic)] += w;
      exposure[topic] += w;
    }
    env_.CandidateExpectedRewards(r, relevance_.data());
    for (int c = 0; c < K_; ++c) {
      const double m = std::max(0.0, relevance_[size_t(c)]);
      const int32_t topic = b.topic[rK + size_t(c)];
      topic_merit_[size_t(topic)] += m;
      merit[topic] += m;
    }
  }
}

void ExposureMeter::CloseSlot(int r) {
  const size_t o = size_t(r) * size_t(topics_);
  const std::vector<double> p(slot_merit_.begin() + std::ptrdiff_t(o), slot_merit_.begin() + std::ptrdiff_t(o + topics_));
  const std::vector<double> q(slot_exposure_.begin() + std::ptrdiff_t(o),
                              slot_exposure_.begin() + std::ptrdiff_t(o + topics_));
  if (std::accumulate(p.begin(), p.end(), 0.0) > 0.0) kl_sum_ += CalibrationKl(p, q), ++kl_users_;
  std::fill_n(slot_exposure_.begin() + std::ptrdiff_t(o), topics_, 0.0);
  std::fill_n(slot_merit_.begin() + std::ptrdiff_t(o), topics_, 0.0);
  slot_open_[size_t(r)] = 0;
}

void ExposureMeter::EndEpisodes(const StepBatch& b) {
  for (int r = 0; r < b.rows; ++r)
    if (slot_open_[size_t(r)] && (b.terminated[size_t(r)] || b.truncated[size_t(r)])) CloseSlot(r);
}

ExposureMetrics ExposureMeter::Finish() const {
  ExposureMeter rest = *this;  // users still open (a rollout stopped early) count as they are
  for (int r = 0; r < int(slot_open_.size()); ++r)
    if (rest.slot_open_[size_t(r)]) rest.CloseSlot(r);
  ExposureMetrics m;
  std::vector<double> units = per_item_ ? std::vector<double>{} : topic_exposure_;
  if (per_item_) {
    // Only the items the rollout could show: alive at its start or arrived
    // since (items that died before it are not its units).
    std::vector<double> all = unit_exposure_;
    all.resize(size_t(std::max<int64_t>(env_.catalog().total_items(), int64_t(all.size()))), 0.0);
    for (int64_t id : alive_at_start_)
      if (id < first_arrival_) units.push_back(all[size_t(id)]);
    for (int64_t id = first_arrival_; id < int64_t(all.size()); ++id) units.push_back(all[size_t(id)]);
  }
  m.units = int64_t(units.size());
  m.exposure_gini = Gini(units);
  m.long_tail_share = LongTailShare(units);
  const double se = std::accumulate(topic_exposure_.begin(), topic_exposure_.end(), 0.0);
  const double sm = std::accumulate(topic_merit_.begin(), topic_merit_.end(), 0.0);
  double gap = 0.0;
  for (int t = 0; t < topics_; ++t) {
    TopicExposure e;
    e.exposure_share = se > 0.0 ? topic_exposure_[size_t(t)] / se : 0.0;
    e.merit_share = sm > 0.0 ? topic_merit_[size_t(t)] / sm : 0.0;
    gap += std::abs(e.exposure_share - e.merit_share);
    m.by_topic.push_back(e);
  }
  m.exposure_merit_gap = gap / 2.0;
  m.calibration_kl = rest.kl_users_ > 0 ? rest.kl_sum_ / double(rest.kl_users_) : 0.0;
  return m;
}

}  // namespace cohort
