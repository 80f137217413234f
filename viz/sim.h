// The visualizer's simulation (GL-free, unit-tested in tests/test_viz_sim.cc):
// the scenario's environment and agent stepping, the live parameter edits,
// what each view reads (per-step series, training statistics, the session
// log of the selected user, the population aggregate) and the loading of a
// trained agent (--agent) or a learned rule (--rule). The window (viz/app.cc)
// only draws what this records.
//
// Each Step() is one batched step of the runner's loop (agents/agent.h: Act,
// env.Step, Observe, Update). Recording the views reads the environment's
// ground truth but never draws from its random streams, so a run is the same
// with or without the window (tested against a plain loop).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/agent.h"
#include "agents/learnable.h"
#include "agents/trainer.h"
#include "core/rng.h"
#include "env/scenario.h"
#include "env/vec_env.h"
#include "viz/view_model.h"

namespace cohort::viz {

struct SimOptions {
  std::string scenario;
  std::vector<std::string> overrides;  // --set
  // --agent: a training run directory or its checkpoint.bin. The policy (its
  // agent config and state) comes from there; the environment from
  // `scenario`, whose observation shape must match the run's.
  std::string agent_checkpoint;
  // --rule: a rule file (cohort meta train's rule.json / best_rule.json) put
  // in the slot of the scenario's agent that takes it.
  std::string rule;
  int max_users = 1 << 17;  // user slots simulated (the scenario's run.num_envs, capped)
  int drawn_users = 500;    // users drawn on the map (the rest are aggregated)
  // VecEnv threads (results do not depend on it); 0: the machine's cores,
  // at most 8, and never more than one per 1000 users.
  int threads = 0;
};

// The environment parameters the window edits live (VecEnv::EditParams).
struct LiveParams {
  double drift_std = 0.0;          // dynamics.interest.drift_std
  double interest_step = 0.0;      // dynamics.interest.step
  double boredom_increment = 0.0;  // dynamics.boredom.increment
  double boredom_decay = 1.0;      // dynamics.boredom.decay
  // The choice model's live keys (ChoiceModel::LiveKeys(), env/choice.h),
  // one value per key in that order.
  std::vector<double> choice;
  static LiveParams From(const EnvParams& p);
  // Each value clamped to its key's schema range (and the choice model's
  // cross-field constraints), so an edited model is always valid.
  void ApplyTo(EnvParams& p) const;
  // The values in LiveSliders' order: the four dynamics keys, then `choice`.
  std::vector<double> Values() const;
  void SetValues(const std::vector<double>& values);
  bool operator==(const LiveParams&) const = default;
};

// One slider of the live panel. Everything about it comes from the env
// schema (core/schema.h, env/scenario.cc, env/choice.cc), where each key is
// declared once: the range [lo, hi] is the key's slider range
// (Schema::Slider) or, without one, its own (finite) range; doc the key's doc.
struct LiveSlider {
  std::string key;  // dotted below "env", as --set takes it: "dynamics.interest.drift_std"
  const Field* field = nullptr;
  double lo = 0.0, hi = 1.0;
  bool log_scale = false;
};
// The live panel's sliders for a scenario's env block, in LiveParams::Values()
// order. Throws std::logic_error for a key whose range is open-ended and has
// no slider range declared.
std::vector<LiveSlider> LiveSliders(const EnvParams& p);

// One step of the selected user, as the session inspector shows it.
struct SessionRecord {
  int64_t step = 0, user = 0;
  int32_t session = 0;
  int64_t session_step = 0;
  // The candidates the agent saw (topic, quality [privileged], length) and
  // its own score of each (name in score_name; NaN when it has none).
  std::vector<int32_t> topic;
  std::vector<float> quality, length;
  std::vector<float> features;  // candidates x dim (embedding catalogs; empty for one-hot)
  std::vector<double> agent_score;
  std::string score_name;
  std::vector<int32_t> slate;      // candidate indices
  std::vector<double> click_prob;  // the simulator's true P(click) per slate position
  double no_click_prob = 0.0;
  int32_t clicked = -1;  // slate position, -1: none
  double watch_time = 0.0, reward = 0.0;
  // User state after the step [privileged]: budget left, satisfaction, the
  // boredom of the clicked topic (or the largest; NaN without boredom).
  double budget = 0.0, satisfaction = 0.0, boredom = 0.0;
  // What happened at the end of the step.
  bool session_ended = false, terminated = false, truncated = false;
  EndReason end_reason = EndReason::kNone;
  int64_t next_user = -1;   // the slot's next user when this one is gone
  double return_gap = 0.0;  // time away before the next session (retention)
};

// A 2-D density of all users' projected interests (the aggregate behind the
// drawn sample), on a bins x bins grid over [-extent, extent]^2.
struct DensityGrid {
  int bins = 0;
  float extent = 1.0f;
  std::vector<float> count;  // bins x bins, row-major from the top-left
  int64_t users = 0;         // active users binned
  float max = 0.0f;
};

// The Gini coefficient of the topics' position-weighted exposure in a
// heatmap (the "exposure Gini" curve of the Policy view).
double TopicExposureGini(const SlateHeatmap& h);

class Sim {
 public:
  // Bad input (scenario, checkpoint, rule) throws InputError before a window opens.
  explicit Sim(const SimOptions& options);

  void Restart(uint64_t seed);
  void Step();

  // Frozen policy (SetTraining(false), no Observe/Update) or learning.
  void SetLearning(bool learning);
  bool learning() const { return learning_; }
  bool learns() const { return agent_->learns(); }

  const LiveParams& live() const { return live_; }
  // Takes effect from the next step and survives Restart().
  void SetLive(const LiveParams& p);
  const LiveParams& scenario_live() const { return scenario_live_; }

  // What Step() records beyond the run itself; the window turns off what no
  // open view reads, so hidden views cost the simulation nothing.
  struct Recording {
    bool series = true;  // the myopic normalized reward probe and training statistics (Curves)
    bool policy = true;  // the heatmap and slate statistics (Policy)
  };
  void SetRecording(const Recording& r) { recording_ = r; }

  // The user slot the session inspector follows (-1: none). Selecting
  // another slot clears the log.
  void Select(int row);
  int selected() const { return selected_; }
  const std::deque<SessionRecord>& session() const { return session_; }
  static constexpr size_t kSessionCapacity = 400;

  // All active users' interests (true or observed) projected by `map`, on
  // [-extent, extent]^2 (users outside are not counted).
  DensityGrid Density(const Projection2D& map, bool true_interests, int bins, float extent) const;

  const Scenario& scenario() const { return scenario_; }
  const VecEnv& env() const { return *env_; }
  const Agent& agent() const { return *agent_; }
  const StepBatch& batch() const { return *batch_; }
  const SlateBatch& slates() const { return slates_; }          // the last slates shown
  const std::vector<uint8_t>& acted() const { return acted_; }  // rows that acted on them
  int rows() const { return batch_->rows; }
  uint64_t seed() const { return seed_; }
  int64_t steps() const { return steps_; }
  const std::vector<int64_t>& drawn() const { return drawn_; }
  // The scenario's map: topics on a circle when observations are per topic,
  // else PCA of the first users' interests.
  const Projection2D& topic_map() const { return topic_map_; }
  // PCA of the current interests (true or observed) of up to 4096 users.
  Projection2D PcaNow(bool true_interests) const;
  const SlateHeatmap& heatmap() const { return *heatmap_; }
  void ClearHeatmap() { heatmap_->Clear(); }
  std::string agent_label() const;  // "reinforce (checkpoint step 600, frozen)" etc.

  // Per-step series: x = step index (1 = the first step). policy_entropy is
  // normalized by the agent's largest possible entropy
  // (NormalizedPolicyEntropy, agents/agent.h): in [0, 1].
  struct Series {
    TimeSeries reward{2000}, ctr{2000}, episode_return{2000}, retention{2000}, slate_diversity{2000},
        topic_entropy{2000}, coverage{2000}, policy_entropy{2000}, normalized_reward{2000},
        exposure_gini{2000};  // the running heatmap's topics, position-weighted (agents/exposure.h)
  };
  const Series& series() const { return series_; }
  // The agent's Update() statistics (loss, entropy, lr, ...) by name, one
  // point per step that updated.
  const std::map<std::string, TimeSeries>& train_stats() const { return train_stats_; }
  int64_t updates() const { return updates_; }

  // The learnable rule in the agent's config, for the meta view: its entry,
  // theta and the agent config (null rule: none).
  const LearnableRule* rule() const { return rule_; }
  const std::vector<float>& rule_theta() const { return rule_theta_; }
  const json& agent_config() const { return scenario_.agent; }
  // The training run of --agent ("" without): its metrics.jsonl is drawn too.
  const std::string& run_dir() const { return run_dir_; }

  int64_t user_steps() const { return user_steps_; }  // since Restart

 private:
  void RecordBefore();
  void RecordAfter();
  void RecordSeries();
  void RecordSlates();
  double MyopicNormalizedReward();

  SimOptions options_;
  Scenario scenario_;
  std::string run_dir_;
  // --agent: the checkpoint and its run's scenario (read once; Restart loads
  // the agent's state from it again).
  std::optional<CheckpointInfo> checkpoint_;
  Scenario checkpoint_run_;
  int users_ = 1;
  uint64_t seed_ = 0;
  LiveParams live_, scenario_live_;
  bool learning_ = true;
  Recording recording_;

  std::unique_ptr<VecEnv> env_;
  std::unique_ptr<Agent> agent_;
  SlateBatch slates_;
  const StepBatch* batch_ = nullptr;
  std::vector<uint8_t> acted_;
  int64_t steps_ = 0, updates_ = 0, user_steps_ = 0;

  Series series_;
  std::map<std::string, TimeSeries> train_stats_;
  std::unique_ptr<SlateHeatmap> heatmap_;       // since Restart or the last clear
  std::unique_ptr<SlateHeatmap> step_heatmap_;  // this step's slates
  Projection2D topic_map_ = Projection2D::TopicCircle(1);
  std::vector<int64_t> drawn_;
  std::vector<double> episode_return_;  // per row: return so far this episode

  int selected_ = -1;
  std::deque<SessionRecord> session_;
  SessionRecord pending_;

  // The myopic normalized reward (expected reward of the agent's slate between
  // a random slate's and the myopic oracle's) on a few sampled rows, from a
  // stream of its own (seed, kViz): never the environment's.
  std::vector<int64_t> probe_rows_;
  Rng probe_rng_;

  const LearnableRule* rule_ = nullptr;
  std::vector<float> rule_theta_;
};

}  // namespace cohort::viz
