// VecEnv: B user slots stepping together (EnvPool style).
//
// Words used throughout env/
// - A *row* is one of the B user slots of a batch: row r of every per-row
//   array (StepBatch, SlateBatch, VecEnv's user state) belongs to the user
//   that slot r is serving now. "Slot", "env" and "row" all name this index;
//   code says row (r).
// - K = num_candidates: items offered to a row per step; k = slate_size: the
//   candidates the agent puts in front of the user, in position order.
//
// Contract
// - Reset() starts every slot on its first user and returns the first
//   observation. Step(slates) applies one slate per row and returns, per row,
//   the response to that slate, its reward, the end flags and the NEXT
//   observation. A row whose episode ended is reset in the same call: its
//   observation already belongs to the next episode (same-step auto-reset);
//   the ended user's last observed interests are kept in final_interests.
// - An episode is one user's lifetime on the platform: one session, or several
//   when retention is enabled (session_ended marks the boundaries, gap the
//   time away). terminated = the user is gone (budget spent without
//   retention, left, churned); truncated = a step or session cap was hit.
// - Users are numbered globally; slot b serves users f+b, f+b+B, ... (f =
//   Options::first_user, usually 0) and each
//   user's randomness derives from (seed, variant, user, purpose). Results are
//   therefore the same for any thread count, and for non-learning policies on
//   a resampled catalog, for any B. With max_users set, a slot whose users are
//   exhausted becomes inactive (active = 0) and ignores its slate.
// - Time: one Step is one tick of the global clock, on which scheduled events
//   and live-catalog arrivals/retirements happen (between steps). Each user
//   also has a clock (watch time, no-click cost, gaps) used for decay.
// - Output buffers are owned by the VecEnv and reused across steps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "env/model.h"
#include "env/spec.h"

namespace cohort {

enum class EndReason : uint8_t {
  kNone = 0,
  kBudget = 1,      // time budget spent
  kLeft = 2,        // left mid-session (dissatisfaction/patience)
  kSessionCap = 3,  // max_session_steps reached
  kEpisodeCap = 4,  // max_episode_steps or max_sessions reached (truncation)
};

class GroundTruth;

// What the values of an integer field are, as the field lists below declare
// it: loading a checkpoint checks every stored value against the bound its
// domain has in this configuration (VecEnv::Load). Float fields are kAny.
enum class Domain : uint8_t {
  kAny,             // no constraint (floats, counters, random streams)
  kFlag,            // 0 or 1
  kRow,             // [0, rows)
  kNonNegative,     // [0, inf): steps and session counts
  kIdOrNone,        // [-1, inf): user ids
  kSegment,         // [0, segments)
  kTopic,           // [0, topics)
  kTopicOrNone,     // [-1, topics)
  kPositionOrNone,  // [-1, k)
  kItemOrNone,      // [-1, items in the live catalog)
  kEndReason,       // an EndReason
  kHistorySlot,     // [0, history length)
  kSequenceLength,  // [0, observation.sequence.length]
};

// The agent's answer: row r's slate is index[r*k .. r*k+k) (candidate indices).
struct SlateBatch {
  int rows = 0;
  int slate_size = 0;
  std::vector<int32_t> index;
  void Resize(int r, int k) {
    rows = r;
    slate_size = k;
    index.assign(size_t(r) * size_t(k), 0);
  }
  int32_t* Row(int r) { return &index[size_t(r) * size_t(slate_size)]; }
  const int32_t* Row(int r) const { return &index[size_t(r) * size_t(slate_size)]; }
};

struct StepBatch {
  int rows = 0, num_candidates = 0, slate_size = 0, dim = 0, history = 0;
  int sequence = 0;  // L = env.observation.sequence.length (0: no sequence_* arrays)
  bool interests_observed = true;
  bool candidate_features = false;  // embedding catalogs only; one-hot: use topic
  bool sequence_items = false;      // live catalogs: sequence_item_id holds the shown items' ids
  int64_t tick = 0;

  // Per row.
  std::vector<int32_t> env_id;
  std::vector<uint8_t> active;
  std::vector<int64_t> user_id;
  std::vector<int32_t> session_index;
  std::vector<int64_t> session_step;  // steps taken in the current session
  std::vector<int64_t> episode_step;
  std::vector<float> reward;
  std::vector<uint8_t> terminated, truncated, session_ended;
  std::vector<uint8_t> end_reason;      // EndReason of the session that ended
  std::vector<float> gap;               // time away before this session (0 if none)
  std::vector<int32_t> click_position;  // -1: no click

  // Per row x slate position: response to the slate just applied.
  std::vector<uint8_t> examined, clicked, liked, disliked;
  std::vector<float> watch_time;

  // Observation for the next action.
  std::vector<float> interests;         // rows x dim (zeros when hidden)
  std::vector<float> final_interests;   // rows x dim: last observation of an ended episode
  std::vector<float> budget;            // rows (NaN unless observation.budget)
  std::vector<int32_t> history_topics;  // rows x history, most recent first, -1 pad
  std::vector<int64_t> item_id;         // rows x K (-1 for resampled items)
  std::vector<int32_t> topic;           // rows x K
  std::vector<float> length;            // rows x K
  std::vector<float> features;          // rows x K x dim (embedding catalogs only)

  // The user's last L interactions (env.observation.sequence), most recent
  // first: entry j of row r is the (j+1)-th most recent step of the user row
  // r serves now, across the sessions of its episode; entries [0,
  // sequence_length[r]) are filled, the rest hold the padding values below.
  // The arrays are the buffer itself (a shift register: each step moves the
  // L-1 newest entries one place and writes entry 0), so there is no second
  // copy; they exist only when L > 0 (with L = 0 checkpoints, logs and
  // every other output are as they were). Per entry, of the step it records:
  std::vector<int32_t> sequence_length;          // rows: filled entries, [0, L]
  std::vector<int32_t> sequence_topic;           // rows x L x k: the shown slate's topics (-1 padding)
  std::vector<int64_t> sequence_item_id;         // rows x L x k: their item ids (live catalogs only; -1 padding)
  std::vector<float> sequence_features;          // rows x L x k x dim: their features (embedding catalogs only)
  std::vector<uint8_t> sequence_clicked;         // rows x L x k: the response, as clicked/liked/... above
  std::vector<uint8_t> sequence_liked;           // rows x L x k
  std::vector<uint8_t> sequence_disliked;        // rows x L x k
  std::vector<float> sequence_watch_time;        // rows x L x k
  std::vector<int32_t> sequence_click_position;  // rows x L: the first click's position (-1: none or padding)
  std::vector<float> sequence_reward;            // rows x L: the step's reward
  std::vector<float> sequence_gap;               // rows x L: time away before the step's session (0: the first)
  std::vector<int32_t> sequence_session_step;    // rows x L: the step's index within its session

  const float* Interests(int r) const { return &interests[size_t(r) * dim]; }
  // Dense feature vector of candidate c of row r (one-hot built on the fly).
  void CandidateFeatures(int r, int c, float* out) const;

  // The one list of the arrays above, in checkpoint order. Calls
  // f(name, vector, width, initial, step_output, domain) per array: `width`
  // elements per row (0 when this configuration has none), `initial` the
  // value the constructor fills in (-1 for "none" ids and positions, NaN
  // for an unobserved budget), `step_output` true for the response to the
  // last slate, which Reset() clears, `domain` the values it may hold. env_id
  // is filled with the row index.
  template <class F>
  void ForEachField(F&& f) {
    VisitFields(*this, f);
  }
  template <class F>
  void ForEachField(F&& f) const {
    VisitFields(*this, f);
  }
  // The sequence_* arrays after sequence_length, one call per array:
  // f(name, vector, entry_width, padding, domain), each entry of row r
  // `entry_width` elements (0 when this configuration has none); the array's
  // row width is L x entry_width.
  template <class F>
  void ForEachSequenceField(F&& f) {
    VisitSequenceFields(*this, f);
  }
  template <class F>
  void ForEachSequenceField(F&& f) const {
    VisitSequenceFields(*this, f);
  }

 private:
  template <class Self, class F>
  static void VisitSequenceFields(Self& b, F& f) {
    const int k = b.slate_size;
    f("sequence_topic", b.sequence_topic, k, -1.0, Domain::kTopicOrNone);
    f("sequence_item_id", b.sequence_item_id, b.sequence_items ? k : 0, -1.0, Domain::kItemOrNone);
    f("sequence_features", b.sequence_features, b.candidate_features ? k * b.dim : 0, 0.0, Domain::kAny);
    f("sequence_clicked", b.sequence_clicked, k, 0.0, Domain::kFlag);
    f("sequence_liked", b.sequence_liked, k, 0.0, Domain::kFlag);
    f("sequence_disliked", b.sequence_disliked, k, 0.0, Domain::kFlag);
    f("sequence_watch_time", b.sequence_watch_time, k, 0.0, Domain::kAny);
    f("sequence_click_position", b.sequence_click_position, 1, -1.0, Domain::kPositionOrNone);
    f("sequence_reward", b.sequence_reward, 1, 0.0, Domain::kAny);
    f("sequence_gap", b.sequence_gap, 1, 0.0, Domain::kAny);
    f("sequence_session_step", b.sequence_session_step, 1, 0.0, Domain::kNonNegative);
  }

  template <class Self, class F>
  static void VisitFields(Self& b, F& f) {
    const int K = b.num_candidates, k = b.slate_size;
    const double none = -1.0, nan = std::numeric_limits<double>::quiet_NaN();
    f("env_id", b.env_id, 1, 0.0, false, Domain::kRow);
    f("active", b.active, 1, 0.0, false, Domain::kFlag);
    f("user_id", b.user_id, 1, none, false, Domain::kIdOrNone);
    f("session_index", b.session_index, 1, 0.0, false, Domain::kNonNegative);
    f("session_step", b.session_step, 1, 0.0, false, Domain::kNonNegative);
    f("episode_step", b.episode_step, 1, 0.0, false, Domain::kNonNegative);
    f("reward", b.reward, 1, 0.0, true, Domain::kAny);
    f("terminated", b.terminated, 1, 0.0, true, Domain::kFlag);
    f("truncated", b.truncated, 1, 0.0, true, Domain::kFlag);
    f("session_ended", b.session_ended, 1, 0.0, true, Domain::kFlag);
    f("end_reason", b.end_reason, 1, 0.0, true, Domain::kEndReason);
    f("gap", b.gap, 1, 0.0, true, Domain::kAny);
    f("click_position", b.click_position, 1, none, true, Domain::kPositionOrNone);
    f("examined", b.examined, k, 0.0, true, Domain::kFlag);
    f("clicked", b.clicked, k, 0.0, true, Domain::kFlag);
    f("liked", b.liked, k, 0.0, true, Domain::kFlag);
    f("disliked", b.disliked, k, 0.0, true, Domain::kFlag);
    f("watch_time", b.watch_time, k, 0.0, true, Domain::kAny);
    f("interests", b.interests, b.dim, 0.0, false, Domain::kAny);
    f("final_interests", b.final_interests, b.dim, 0.0, true, Domain::kAny);
    f("budget", b.budget, 1, nan, false, Domain::kAny);
    f("history_topics", b.history_topics, b.history, none, false, Domain::kTopicOrNone);
    f("item_id", b.item_id, K, none, false, Domain::kItemOrNone);
    f("topic", b.topic, K, 0.0, false, Domain::kTopic);
    f("length", b.length, K, 0.0, false, Domain::kAny);
    f("features", b.features, b.candidate_features ? K * b.dim : 0, 0.0, false, Domain::kAny);
    if (b.sequence > 0) {  // absent, not empty, without a sequence: outputs stay as they were
      f("sequence_length", b.sequence_length, 1, 0.0, false, Domain::kSequenceLength);
      auto entries = [&](const char* name, auto& v, int width, double padding, Domain domain) {
        f(name, v, b.sequence * width, padding, false, domain);
      };
      VisitSequenceFields(b, entries);
    }
  }
};

class VecEnv {
 public:
  struct Options {
    int num_envs = 1;
    int threads = 1;
    int64_t max_users = -1;  // -1: unlimited users per run
    // Users are numbered from here: evaluation users (agents/trainer.h) come
    // from the same population and catalog as training users, but are others.
    int64_t first_user = 0;
  };
  VecEnv(const EnvParams& params, uint64_t seed, uint64_t variant, Options options);
  ~VecEnv();

  const StepBatch& Reset();
  // Makes every later Reset() start in `world`'s current world (the model with
  // the events applied so far, the live catalog with its random stream, the
  // clock) instead of the initial one at tick 0; later events and arrivals
  // then follow on from there. The trainer evaluates a frozen policy this
  // way: fresh evaluation users in the world as it is at that training step.
  // `world` must have been built from the same params, seed and variant. Not
  // part of a checkpoint.
  void StartFromWorldOf(const VecEnv& world);
  // True when every tick's world is the same: no scheduled events and no
  // live-catalog turnover (arrivals or retirements).
  bool stationary() const;
  // Throws std::invalid_argument for a malformed slate (wrong shape, index out
  // of range, repeated item), naming the row.
  const StepBatch& Step(const SlateBatch& slates);
  const StepBatch& batch() const { return batch_; }
  // What an agent may know before acting (env/spec.h), from the constructor's
  // parameters (live edits keep the shapes and are not reflected).
  const EnvSpec& spec() const { return spec_; }

  bool AnyActive() const;

  // Checkpoint of the complete mutable state (slots, random streams, live
  // catalog, clock, applied events, the current StepBatch). Load() needs a
  // VecEnv built with the same params, seed, variant and options; it rebuilds
  // the model by replaying the events already applied. Live edits made
  // through EditParams() are not part of a checkpoint.
  void Save(BinaryWriter& out) const;
  void Load(BinaryReader& in);
  int num_envs() const { return num_envs_; }
  int64_t tick() const { return tick_; }
  const PopulationModel& model() const { return model_; }
  // Live edit (the visualizer's parameter panel): applies `edit` to the
  // model's parameters between steps; it takes effect from the next step.
  // Turning boredom on in a population that had none starts every user's
  // boredom at zero. The shape of observations (topics, candidates, slate
  // size, features, catalog source, history, observability) must not change:
  // throws std::invalid_argument, leaving the model as it was. Reset()
  // returns to the constructor's parameters.
  void EditParams(const std::function<void(EnvParams&)>& edit);
  const Catalog& catalog() const { return catalog_; }

  // Ground truth for the current observation of row r [privileged]
  // (env/oracle.cc). Fills probs[0..k) with each slate item's click
  // probability (a marginal for multi-click models); returns P(no click).
  double ChoiceProbabilities(int r, const int32_t* slate, double* probs) const;
  double ExpectedReward(int r, const int32_t* slate) const;
  // Per-candidate expected reward if shown alone at position 0.
  void CandidateExpectedRewards(int r, double* out) const;
  // The myopic oracle's slate (maximum expected immediate reward): exact by
  // enumeration (env/slate_search.h) when there are at most
  // kMaxEnumeratedSlates slates, greedy position-by-position otherwise.
  // Returns its expected reward.
  double OracleSlate(int r, int32_t* slate) const;
  static constexpr int64_t kMaxEnumeratedSlates = 20000;

  // Hidden user state of row r (for tests, the visualizer and privileged baselines).
  const float* TrueInterests(int r) const { return &interests_[size_t(r) * dim_]; }
  double Satisfaction(int r) const { return satisfaction_[size_t(r)]; }
  double Budget(int r) const { return budget_[size_t(r)]; }
  double UserTime(int r) const { return time_[size_t(r)]; }
  int Segment(int r) const { return segment_[size_t(r)]; }
  // The entry of env.users.bots row r's user is, -1 for a person.
  int Bot(int r) const { return bot_.empty() ? -1 : bot_[size_t(r)]; }
  const float* Boredom(int r) const { return boredom_.empty() ? nullptr : &boredom_[size_t(r) * num_topics_]; }

 private:
  struct ShownSlate;  // one row's slate as the user sees it (env/dynamics.cc)

  void StartUser(int r, int64_t user);
  void StartSession(int r);
  void FillCandidates(int r);
  void FillObservation(int r);
  ItemView Candidate(int r, int c) const;
  double Score(int r, const ItemView& item, double* affinity) const;
  static float ClipInterest(double x) { return static_cast<float>(std::clamp(x, -1.0, 1.0)); }

  // The step of one row, as the stages of env/dynamics.cc.
  void StepRow(int r, const int32_t* slate);
  void Choose(int r, const int32_t* slate, ShownSlate& shown);
  void BotChoose(int r, const BotParams& bot, const int32_t* slate, ShownSlate& shown);
  // A bot's exact click probabilities for a slate (probs[0..k)); returns P(no click).
  double BotProbabilities(int r, const BotParams& bot, const int32_t* slate, double* probs) const;
  double BotOracleSlate(int r, const BotParams& bot, int32_t* slate) const;
  double Respond(int r, const ShownSlate& shown, int position, double budget);
  void EvolveInterests(int r, const ItemView& item, double affinity);
  void UpdateAfterClick(int r, const ItemView& item, double affinity, double watch, bool first_click, bool person);
  void UpdateAfterNoClick(int r, bool person);
  void RecordInteraction(int r, const int32_t* slate);
  void Drift(int r);
  EndReason SessionEnd(int r);
  bool EndSession(int r, EndReason reason);
  void Finish(int r, bool episode_over);
  void EndEpisodeAndReset(int r);

  // Scheduled events (between steps). ApplyEventToModel is an event's effect
  // on the model, shared by ApplyEvents and Load's replay.
  void ApplyEvents();
  static void ApplyEventToModel(PopulationModel& model, const EventParams& e);

  // The one list of the per-row user state, in checkpoint order. Calls
  // f(name, vector, width, initial, domain) per array: `width` elements per
  // row (0 when this configuration has none), `initial` the constructor's
  // value (non-numeric elements are default-constructed), `domain` the
  // values it may hold.
  template <class Self, class F>
  static void VisitState(Self& e, F&& f) {
    const int H = std::max(e.model_.params().observation.history, 1);
    f("user", e.user_, 1, -1.0, Domain::kIdOrNone);
    f("segment", e.segment_, 1, 0.0, Domain::kSegment);
    f("interests", e.interests_, e.dim_, 0.0, Domain::kAny);
    f("boredom", e.boredom_, e.model_.params().BoredomEnabled() ? e.num_topics_ : 0, 0.0, Domain::kAny);
    f("satisfaction", e.satisfaction_, 1, 0.0, Domain::kAny);
    f("budget", e.budget_, 1, 0.0, Domain::kAny);
    f("time", e.time_, 1, 0.0, Domain::kAny);
    f("budget0", e.budget0_, 1, 0.0, Domain::kAny);
    f("patience", e.patience_, 1, 1.0, Domain::kAny);
    f("click_propensity", e.click_propensity_, 1, 1.0, Domain::kAny);
    f("boredom_sensitivity", e.boredom_sensitivity_, 1, 0.0, Domain::kAny);
    f("return_propensity", e.return_propensity_, 1, 1.0, Domain::kAny);
    f("history_ring", e.history_ring_, H, -1.0, Domain::kTopicOrNone);
    f("history_head", e.history_head_, 1, 0.0, Domain::kHistorySlot);
    // Only with sequence observations (absent otherwise: checkpoints stay as they were).
    if (e.model_.params().observation.sequence.length > 0) f("session_gap", e.session_gap_, 1, 0.0, Domain::kAny);
    f("rng_candidates", e.rng_candidates_, 1, 0.0, Domain::kAny);
    f("rng_response", e.rng_response_, 1, 0.0, Domain::kAny);
    f("rng_observation", e.rng_observation_, 1, 0.0, Domain::kAny);
  }

  // Hidden quality of row r's K candidates, reachable only through the
  // privileged handle (env/ground_truth.h).
  const float* CandidateQualities(int r) const { return &quality_[size_t(r) * size_t(num_candidates_)]; }
  friend class GroundTruth;

  EnvParams initial_params_;  // Reset() restores it (events edit model_)
  EnvSpec spec_;
  PopulationModel model_;
  Catalog catalog_;
  Options options_;
  int num_envs_, dim_, num_topics_;
  int num_candidates_;  // K
  int slate_size_;      // k
  int64_t tick_ = 0;
  size_t next_event_ = 0;  // next entry of sorted_events_ to apply
  // StartFromWorldOf(): where Reset() starts (no value: the initial world).
  std::optional<PopulationModel> start_model_;
  Catalog start_catalog_;
  int64_t start_tick_ = 0;
  size_t start_event_ = 0;

  // Per-row user state (struct of arrays; VisitState lists it).
  std::vector<int64_t> user_;
  std::vector<int32_t> segment_;
  std::vector<float> interests_;  // B x dim
  std::vector<float> boredom_;    // B x topics (only when boredom is enabled)
  std::vector<double> satisfaction_, budget_, time_;
  std::vector<double> budget0_, patience_, click_propensity_, boredom_sensitivity_, return_propensity_;
  std::vector<int32_t> history_ring_;
  std::vector<int32_t> history_head_;
  std::vector<float> session_gap_;  // time away before the current session (sequence observations only)
  std::vector<Rng> rng_candidates_, rng_response_, rng_observation_;
  // Derived, not state: each row's BotEntryOf its user (empty without bots),
  // set by StartUser and recomputed from user_ by Load.
  std::vector<int8_t> bot_;

  std::vector<size_t> sorted_events_;
  StepBatch batch_;
  std::vector<float> quality_;  // rows x K: hidden quality of the current candidates
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace cohort
