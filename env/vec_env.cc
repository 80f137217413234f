#include "env/vec_env.h"
#include "env/vec_env_inl.h"

#include "env/slate_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

namespace cohort {
namespace {

double SampleTrait(Rng& rng, const Trait& t) {
  if (t.std <= 0.0) return t.mean;
  return std::clamp(rng.Normal(t.mean, t.std), t.lo, t.hi);
}

}  // namespace

void StepBatch::CandidateFeatures(int r, int c, float* out) const {
  const size_t row_item = size_t(r) * num_candidates + size_t(c);
  if (candidate_features) {
    std::copy_n(&features[row_item * dim], dim, out);
  } else {
    std::fill_n(out, dim, 0.0f);
    out[topic[row_item]] = 1.0f;
  }
}

VecEnv::VecEnv(const EnvParams& params, uint64_t seed, uint64_t variant, Options options)
    : initial_params_(params),
      spec_(MakeEnvSpec(params)),
      model_(params, seed, variant),
      options_(options),
      num_envs_(options.num_envs),
      dim_(params.FeatureDim()),
      num_topics_(params.num_topics),
      num_candidates_(params.num_candidates),
      slate_size_(params.slate_size) {
  if (num_envs_ < 1) throw std::invalid_argument("VecEnv: num_envs must be >= 1");
  if (slate_size_ > slate_search::kMaxSlateSize) throw std::invalid_argument("VecEnv: slate_size exceeds 64");
  // Every per-row array is allocated from the two field lists (VisitState,
  // StepBatch::ForEachField), so a new field is declared in one place.
  const size_t B = size_t(num_envs_);
  auto allocate = [B](const char*, auto& v, int width, double initial, auto...) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    if constexpr (std::is_arithmetic_v<T>)
      v.assign(B * size_t(width), static_cast<T>(initial));
    else
      v.assign(B * size_t(width), T{});
  };
  VisitState(*this, allocate);
  if (!params.bots.empty()) bot_.assign(B, -1);
  StepBatch& b = batch_;
  b.rows = num_envs_;
  b.num_candidates = num_candidates_;
  b.slate_size = slate_size_;
  b.dim = dim_;
  b.history = params.observation.history;
  b.sequence = params.observation.sequence.length;
  b.sequence_items = params.catalog.source == CandidateSource::kLive;
  b.interests_observed = params.observation.interests != Observability::kHidden;
  b.candidate_features = params.catalog.features == FeatureKind::kEmbedding;
  b.ForEachField(allocate);
  for (int r = 0; r < num_envs_; ++r) b.env_id[size_t(r)] = r;
  quality_.assign(size_t(num_envs_) * size_t(num_candidates_), 0.0f);  // outside the batch: privileged

  for (size_t i = 0; i < params.events.size(); ++i) sorted_events_.push_back(i);
  std::stable_sort(sorted_events_.begin(), sorted_events_.end(),
                   [&](size_t a, size_t c) { return params.events[a].at_step < params.events[c].at_step; });
  if (options_.threads > 1) pool_ = std::make_unique<ThreadPool>(options_.threads);
}

VecEnv::~VecEnv() = default;

void VecEnv::StartFromWorldOf(const VecEnv& world) {
  if (world.dim_ != dim_ || world.num_candidates_ != num_candidates_ || world.slate_size_ != slate_size_ ||
      world.model_.seed() != model_.seed() || world.model_.variant() != model_.variant())
    throw std::invalid_argument("StartFromWorldOf: the world comes from another scenario, seed or variant");
  start_model_ = world.model_;
  start_catalog_ = world.catalog_;
  start_tick_ = world.tick_;
  start_event_ = world.next_event_;
}

bool VecEnv::stationary() const {
  const CatalogParams& c = initial_params_.catalog;
  return initial_params_.events.empty() &&
         (c.source != CandidateSource::kLive || (c.arrival_rate <= 0.0 && c.max_age <= 0));
}

void VecEnv::EditParams(const std::function<void(EnvParams&)>& edit) {
  EnvParams p = model_.params();
  edit(p);
  const EnvParams& q = model_.params();
  const bool same_shape =
      p.num_topics == q.num_topics && p.num_candidates == q.num_candidates && p.slate_size == q.slate_size &&
      p.FeatureDim() == q.FeatureDim() && p.catalog.features == q.catalog.features &&
      p.catalog.source == q.catalog.source && p.observation.history == q.observation.history &&
      p.observation.interests == q.observation.interests && p.observation.budget == q.observation.budget &&
      p.observation.sequence.length == q.observation.sequence.length && p.segments.size() == q.segments.size();
  if (!same_shape) throw std::invalid_argument("VecEnv::EditParams: a live edit must not change the observation shape");
  model_.mutable_params() = std::move(p);
  model_.Refresh();
  if (boredom_.empty() && model_.params().BoredomEnabled()) boredom_.assign(size_t(num_envs_) * num_topics_, 0.0f);
  // A user's kind is a function of (seed, variant, user id, the fractions):
  // recomputed for the users being served, as Load does.
  const std::vector<BotParams>& bots = model_.params().bots;
  bot_.assign(bots.empty() ? 0 : size_t(num_envs_), -1);
  for (size_t r = 0; r < bot_.size(); ++r)
    if (user_[r] >= 0) bot_[r] = int8_t(BotEntryOf(bots, model_.seed(), model_.variant(), user_[r]));
}

const StepBatch& VecEnv::Reset() {
  if (start_model_) {
    tick_ = start_tick_;
    next_event_ = start_event_;
    model_ = *start_model_;
    catalog_ = start_catalog_;
  } else {
    tick_ = 0;
    next_event_ = 0;
    model_ = PopulationModel(initial_params_, model_.seed(), model_.variant());
  }
  if (!start_model_ && model_.params().catalog.source == CandidateSource::kLive) {
    catalog_.Reset(model_);
    if (catalog_.alive_count() < num_candidates_)
      throw std::runtime_error("live catalog holds fewer items than candidates per step");
  }
  auto reset_rows = [&](int begin, int end) {
    for (int r = begin; r < end; ++r) {
      batch_.ForEachField([r](const char*, auto& v, int width, double initial, bool step_output, Domain) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        if (step_output) std::fill_n(&v[size_t(r) * size_t(width)], width, static_cast<T>(initial));
      });
      if (options_.max_users >= 0 && r >= options_.max_users) {
        batch_.active[size_t(r)] = 0;
        continue;
      }
      StartUser(r, options_.first_user + r);
      FillCandidates(r);
      FillObservation(r);
    }
  };
  if (pool_)
    pool_->ParallelFor(num_envs_, reset_rows);
  else
    reset_rows(0, num_envs_);
  batch_.tick = tick_;
  return batch_;
}

bool VecEnv::AnyActive() const {
  return std::any_of(batch_.active.begin(), batch_.active.end(), [](uint8_t a) { return a != 0; });
}

void VecEnv::StartUser(int r, int64_t user) {
  const EnvParams& p = model_.params();
  const size_t R = size_t(r);
  user_[R] = user;
  Rng init = MakeRng(model_.seed(), model_.variant(), uint64_t(user), StreamPurpose::kUserInit);
  const int seg = model_.SampleSegment(init);
  segment_[R] = seg;
  if (!bot_.empty()) bot_[R] = int8_t(BotEntryOf(p.bots, model_.seed(), model_.variant(), user));
  float* u = &interests_[R * dim_];
  const SegmentParams* sp = p.segments.empty() ? nullptr : &p.segments[size_t(seg)];
  for (int i = 0; i < dim_; ++i) {
    double x = (sp == nullptr || !sp->normal) ? init.Uniform(sp ? sp->low : -1.0, sp ? sp->high : 1.0)
                                              : init.Normal(sp->mean, sp->std);
    if (sp != nullptr && !sp->center.empty()) x += sp->center[size_t(i)];
    u[i] = ClipInterest(x);
  }
  budget0_[R] = SampleTrait(init, p.time_budget);
  patience_[R] = SampleTrait(init, p.patience);
  click_propensity_[R] = SampleTrait(init, p.click_propensity);
  boredom_sensitivity_[R] = SampleTrait(init, p.boredom_sensitivity);
  return_propensity_[R] = SampleTrait(init, p.return_propensity);
  satisfaction_[R] = p.dynamics.satisfaction_initial;
  time_[R] = 0.0;
  if (!boredom_.empty()) std::fill_n(&boredom_[R * num_topics_], num_topics_, 0.0f);
  std::fill_n(&history_ring_[R * std::max(p.observation.history, 1)], std::max(p.observation.history, 1), -1);
  history_head_[R] = 0;
  if (batch_.sequence > 0) {  // a new user: no interactions yet
    session_gap_[R] = 0.0f;
    batch_.sequence_length[R] = 0;
    const size_t L = size_t(batch_.sequence);
    batch_.ForEachSequenceField([&](const char*, auto& v, int width, double padding, Domain) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      std::fill_n(v.data() + R * L * size_t(width), L * size_t(width), static_cast<T>(padding));  // width 0: none
    });
  }
  rng_candidates_[R] = MakeRng(model_.seed(), model_.variant(), uint64_t(user), StreamPurpose::kCandidates);
  rng_response_[R] = MakeRng(model_.seed(), model_.variant(), uint64_t(user), StreamPurpose::kResponse);
  rng_observation_[R] = MakeRng(model_.seed(), model_.variant(), uint64_t(user), StreamPurpose::kObservation);
  batch_.active[R] = 1;
  batch_.user_id[R] = user;
  batch_.session_index[R] = 0;
  batch_.episode_step[R] = 0;
  StartSession(r);
}

void VecEnv::StartSession(int r) {
  budget_[size_t(r)] = budget0_[size_t(r)];
  batch_.session_step[size_t(r)] = 0;
}

// About half of a user-step: K item draws, each with a normal quality. Flattened
// so that the normal draws inline here whatever the rest of the file calls them
// from (the inliner's choice otherwise depends on unrelated call sites).
[[gnu::flatten]] void VecEnv::FillCandidates(int r) {
  const size_t base = size_t(r) * num_candidates_;
  Rng& rng = rng_candidates_[size_t(r)];
  StepBatch& b = batch_;
  if (model_.params().catalog.source == CandidateSource::kResample) {
    std::fill_n(&b.item_id[base], num_candidates_, int64_t{-1});
    if (b.candidate_features) {
      for (int c = 0; c < num_candidates_; ++c) {
        const size_t i = base + size_t(c);
        model_.SampleItem(rng, &b.topic[i], &quality_[i], &b.length[i], &b.features[i * dim_]);
      }
    } else {
      model_.SampleItems(rng, num_candidates_, &b.topic[base], &quality_[base], &b.length[base]);
    }
    return;
  }
  // Live catalog: K distinct items, uniformly (rejection; K << catalog size).
  const uint32_t alive = static_cast<uint32_t>(catalog_.alive_count());
  for (int c = 0; c < num_candidates_; ++c) {
    int64_t id;
    bool repeated;
    do {
      id = catalog_.AliveItem(rng.Below(alive));
      repeated = false;
      for (int j = 0; j < c; ++j) repeated |= b.item_id[base + size_t(j)] == id;
    } while (repeated);
    const size_t i = base + size_t(c);
    const ItemView item = catalog_.Item(id);
    b.item_id[i] = id;
    b.topic[i] = item.topic;
    quality_[i] = item.quality;
    b.length[i] = item.length;
    if (b.candidate_features) std::copy_n(item.features, dim_, &b.features[i * dim_]);
  }
}

void VecEnv::FillObservation(int r) {
  const EnvParams& p = model_.params();
  const size_t R = size_t(r);
  float* out = &batch_.interests[R * dim_];
  const float* u = &interests_[R * dim_];
  switch (p.observation.interests) {
    case Observability::kVisible:
      std::copy_n(u, dim_, out);
      break;
    case Observability::kNoisy:
      for (int i = 0; i < dim_; ++i)
        out[i] = static_cast<float>(u[i] + rng_observation_[R].Normal(0.0, p.observation.noise_std));
      break;
    case Observability::kHidden:
      std::fill_n(out, dim_, 0.0f);
      break;
  }
  if (p.observation.budget) batch_.budget[R] = static_cast<float>(budget_[R]);
  const int H = p.observation.history;
  for (int h = 0; h < H; ++h)  // most recent first
    batch_.history_topics[R * H + size_t(h)] = history_ring_[R * H + size_t((history_head_[R] - 1 - h + 2 * H) % H)];
}

void VecEnv::Save(BinaryWriter& out) const {
  out.Tag("vec_env");
  out.Pod(num_envs_);
  out.Pod(dim_);
  out.Pod(num_candidates_);
  out.Pod(slate_size_);
  out.Pod(tick_);
  out.Pod<uint64_t>(next_event_);
  catalog_.Save(out);
  VisitState(*this, [&](const char*, const auto& v, auto...) { out.Vector(v); });
  out.Tag("batch");
  out.Pod(batch_.tick);
  // The candidates' hidden quality is kept apart from the batch (only the
  // privileged handle reads it) but saved where it stood when it was a batch
  // field, after the topics: the checkpoint format is unchanged.
  batch_.ForEachField([&](const char* name, const auto& v, auto...) {
    out.Vector(v);
    if (std::string_view(name) == "topic") out.Vector(quality_);
  });
}

void VecEnv::Load(BinaryReader& in) {
  in.Tag("vec_env");
  int shape[4];
  for (int& v : shape) in.Pod(v);
  if (shape[0] != num_envs_ || shape[1] != dim_ || shape[2] != num_candidates_ || shape[3] != slate_size_)
    throw std::runtime_error("checkpoint of a VecEnv with another shape (slots, dim, candidates, slate)");
  in.Pod(tick_);
  next_event_ = size_t(in.Get<uint64_t>());
  in.Check(tick_ >= 0, "tick " + std::to_string(tick_) + " is negative");
  in.Check(next_event_ <= sorted_events_.size(), "next_event " + std::to_string(next_event_) + " is beyond the " +
                                                     std::to_string(sorted_events_.size()) + " scheduled events");
  // The model as of this tick: the initial parameters plus the model-side
  // effects of the events already applied (they draw no random numbers); the
  // users and the catalog, which events also change, come from the checkpoint.
  model_ = PopulationModel(initial_params_, model_.seed(), model_.variant());
  for (size_t i = 0; i < next_event_; ++i) ApplyEventToModel(model_, initial_params_.events[sorted_events_[i]]);
  catalog_.Load(in, model_);

  // Every array is checked against the field lists: its length against its
  // width in this configuration, its values against its domain.
  const EnvParams& p = model_.params();
  const size_t B = size_t(num_envs_);
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  auto bounds = [&](Domain d) -> std::pair<int64_t, int64_t> {
    switch (d) {
      case Domain::kAny: break;
      case Domain::kFlag: return {0, 1};
      case Domain::kRow: return {0, num_envs_ - 1};
      case Domain::kNonNegative: return {0, kMax};
      case Domain::kIdOrNone: return {-1, kMax};
      case Domain::kSegment: return {0, std::max<int64_t>(int64_t(p.segments.size()), 1) - 1};
      case Domain::kTopic: return {0, num_topics_ - 1};
      case Domain::kTopicOrNone: return {-1, num_topics_ - 1};
      case Domain::kPositionOrNone: return {-1, slate_size_ - 1};
      case Domain::kItemOrNone: return {-1, catalog_.total_items() - 1};
      case Domain::kEndReason: return {0, int64_t(EndReason::kEpisodeCap)};
      case Domain::kHistorySlot: return {0, std::max(p.observation.history, 1) - 1};
      case Domain::kSequenceLength:
        return {0, p.observation.sequence.length};
    }
    return {std::numeric_limits<int64_t>::min(), kMax};
  };
  auto load = [&](const std::string& name, auto& v, int width, Domain domain) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    in.Vector(v);
    // Boredom may have been switched on by a live edit (EditParams).
    const bool ok = v.size() == B * size_t(width) || (name == "boredom" && v.size() == B * size_t(num_topics_));
    if (!ok)
      in.Fail(name + " holds " + std::to_string(v.size()) + " values, the configuration expects " +
              std::to_string(B * size_t(width)));
    if constexpr (std::is_integral_v<T>) {
      if (domain != Domain::kAny) {
        const auto [lo, hi] = bounds(domain);
        in.CheckRange(v, lo, hi, name);
      }
    }
  };
  VisitState(*this, [&](const char* name, auto& v, int width, double, Domain domain) { load(name, v, width, domain); });
  in.Tag("batch");
  in.Pod(batch_.tick);
  batch_.ForEachField([&](const char* name, auto& v, int width, double, bool, Domain domain) {
    load(std::string("batch.") + name, v, width, domain);
    if (std::string_view(name) == "topic") load("quality", quality_, num_candidates_, Domain::kAny);  // see Save
  });
  for (size_t r = 0; r < B; ++r) in.Check(batch_.env_id[r] == int32_t(r), "batch.env_id is not the row index");
  for (size_t r = 0; r < bot_.size(); ++r)
    bot_[r] = int8_t(user_[r] < 0 ? -1 : BotEntryOf(p.bots, model_.seed(), model_.variant(), user_[r]));
}

// What future users and items are drawn from: a preference shift moves the
// segments' interest centres, a quality shift the topic's mean quality.
void VecEnv::ApplyEventToModel(PopulationModel& model, const EventParams& e) {
  if (e.kind == EventKind::kPreferenceShift) model.ApplyPreferenceShift(e.segment, e.topic, e.amount);
  if (e.kind == EventKind::kQualityShift) model.ShiftTopicQuality(e.topic, e.amount);
}

// Each due event changes the model (ApplyEventToModel), then the world that
// already exists: the interests of the active users it targets, the quality
// of the live catalog's items, or the catalog's contents.
void VecEnv::ApplyEvents() {
  const EnvParams& p = model_.params();
  size_t& next = next_event_;
  while (next < sorted_events_.size() && p.events[sorted_events_[next]].at_step <= tick_) {
    const EventParams e = p.events[sorted_events_[next++]];
    ApplyEventToModel(model_, e);
    switch (e.kind) {
      case EventKind::kPreferenceShift: {
        for (int r = 0; r < num_envs_; ++r) {
          if (!batch_.active[size_t(r)] || (e.segment >= 0 && segment_[size_t(r)] != e.segment)) continue;
          float* u = &interests_[size_t(r) * dim_];
          if (p.catalog.features == FeatureKind::kOneHot) {
            u[e.topic] = ClipInterest(u[e.topic] + e.amount);
          } else {
            const float* c = model_.TopicCenter(e.topic);
            for (int i = 0; i < dim_; ++i) u[i] = ClipInterest(u[i] + e.amount * c[i]);
          }
        }
        break;
      }
      case EventKind::kQualityShift:
        catalog_.ShiftQuality(e.topic, e.amount);
        break;
      case EventKind::kNewItems:
        catalog_.AddItems(model_, e.count, e.topic, tick_);
        break;
    }
  }
}

const StepBatch& VecEnv::Step(const SlateBatch& slates) {
  if (slates.rows != num_envs_ || slates.slate_size != slate_size_ ||
      slates.index.size() != size_t(num_envs_) * size_t(slate_size_))
    throw std::invalid_argument("slate batch has shape " + std::to_string(slates.rows) + "x" +
                                std::to_string(slates.slate_size) + ", expected " + std::to_string(num_envs_) + "x" +
                                std::to_string(slate_size_));
  for (int r = 0; r < num_envs_; ++r) {
    if (!batch_.active[size_t(r)]) continue;
    const int32_t* s = slates.Row(r);
    for (int j = 0; j < slate_size_; ++j) {
      if (s[j] < 0 || s[j] >= num_candidates_)
        throw std::invalid_argument("slate row " + std::to_string(r) + " position " + std::to_string(j) +
                                    ": candidate index " + std::to_string(s[j]) + " is outside [0, " +
                                    std::to_string(num_candidates_) + ")");
      for (int i = 0; i < j; ++i)
        if (s[i] == s[j])
          throw std::invalid_argument("slate row " + std::to_string(r) + ": candidate " + std::to_string(s[j]) +
                                      " appears twice (slates hold distinct items)");
    }
  }
  ++tick_;
  ApplyEvents();
  if (model_.params().catalog.source == CandidateSource::kLive) {
    catalog_.Advance(model_, tick_);
    if (catalog_.alive_count() < num_candidates_)
      throw std::runtime_error("live catalog fell to " + std::to_string(catalog_.alive_count()) + " items at step " +
                               std::to_string(tick_) + ", fewer than " + std::to_string(num_candidates_) +
                               " candidates");
  }
  auto step_rows = [&](int begin, int end) {
    for (int r = begin; r < end; ++r) {
      if (batch_.active[size_t(r)]) {
        StepRow(r, slates.Row(r));
      } else {
        batch_.reward[size_t(r)] = 0.0f;
        batch_.terminated[size_t(r)] = batch_.truncated[size_t(r)] = batch_.session_ended[size_t(r)] = 0;
        batch_.click_position[size_t(r)] = -1;
      }
    }
  };
  if (pool_)
    pool_->ParallelFor(num_envs_, step_rows);
  else
    step_rows(0, num_envs_);
  batch_.tick = tick_;
  return batch_;
}

}  // namespace cohort
