#include "viz/sim.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <thread>

#include "agents/exposure.h"
#include "agents/registry.h"
#include "env/ground_truth.h"

namespace fs = std::filesystem;

namespace cohort::viz {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint64_t kProbeEntity = uint64_t(1) << 43;  // the viz's own stream (normalized reward)
constexpr int kProbeRows = 32;                        // its cost: an exact oracle slate per row and step
constexpr int kRandomSlates = 4;

// The learnable rule whose rule file this is (its "kind").
const LearnableRule& RuleOfFile(const std::string& path) {
  const json doc = ReadJsonFile(path);
  if (!doc.is_object() || !doc.contains("kind") || !doc["kind"].is_string())
    throw InputError(path, "/kind", "expected a rule file (cohort meta train's rule.json) with a \"kind\"");
  std::vector<std::string> kinds;
  for (const LearnableRule& r : LearnableRules()) {
    if (r.file_kind == doc["kind"]) return r;
    kinds.push_back(r.file_kind);
  }
  throw InputError(path, "/kind",
                   "unknown rule kind \"" + doc["kind"].get<std::string>() + "\" (known: " + Join(kinds) + ")");
}

// The observation shape a trained policy depends on.
void CheckSameShape(const Scenario& shown, const Scenario& run, const std::string& checkpoint) {
  const std::string path = ObservationShapeDifference(shown.env, run.env);
  if (!path.empty())
    throw InputError(shown.file, path,
                     "differs from the trained agent's scenario (" + checkpoint +
                         "): the policy needs the observation shape it was trained on");
}

}  // namespace

namespace {

// The dynamics keys of LiveParams, in its order (below "env").
const char* const kLiveDynamicsKeys[] = {"dynamics.interest.drift_std", "dynamics.interest.step",
                                         "dynamics.boredom.increment", "dynamics.boredom.decay"};

const Field& LiveField(const std::string& key, const EnvParams& p) {
  // The choice component's schema is the one of the scenario's model.
  const json doc = {{"choice", {{"type", ChoiceKindName(p.choice.kind)}}}};
  const Field* f = FindField(EnvSchema(), key, doc);
  if (f == nullptr) throw std::logic_error("viz: live key env." + key + " is not in the env schema");
  return *f;
}

double ClampTo(const Field& f, double value) {
  const double lo = f.min_exclusive ? std::nextafter(f.min, 1e300) : f.min;
  return std::clamp(value, lo, f.max);
}

}  // namespace

std::vector<LiveSlider> LiveSliders(const EnvParams& p) {
  std::vector<std::string> keys(std::begin(kLiveDynamicsKeys), std::end(kLiveDynamicsKeys));
  for (const ChoiceLiveKey& key : ChoiceModel(p.choice, p.slate_size).LiveKeys()) keys.push_back("choice." + key.key);
  std::vector<LiveSlider> out;
  for (const std::string& key : keys) {
    const Field& f = LiveField(key, p);
    LiveSlider s{key, &f, f.min, f.max, false};
    if (f.HasSlider()) s.lo = f.slider_min, s.hi = f.slider_max, s.log_scale = f.slider_log;
    if (!(std::abs(s.lo) < 1e100 && std::abs(s.hi) < 1e100))
      throw std::logic_error("viz: env." + key + " has an open-ended range and no slider range (Schema::Slider)");
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<double> LiveParams::Values() const {
  std::vector<double> v = {drift_std, interest_step, boredom_increment, boredom_decay};
  v.insert(v.end(), choice.begin(), choice.end());
  return v;
}

void LiveParams::SetValues(const std::vector<double>& v) {
  if (v.size() < 4) throw std::invalid_argument("LiveParams::SetValues: expected the four dynamics values first");
  drift_std = v[0], interest_step = v[1], boredom_increment = v[2], boredom_decay = v[3];
  choice.assign(v.begin() + 4, v.end());
}

LiveParams LiveParams::From(const EnvParams& p) {
  LiveParams l;
  l.drift_std = p.dynamics.drift_std;
  l.interest_step = p.dynamics.interest_step;
  l.boredom_increment = p.dynamics.boredom_increment;
  l.boredom_decay = p.dynamics.boredom_decay;
  for (const ChoiceLiveKey& key : ChoiceModel(p.choice, p.slate_size).LiveKeys())
    l.choice.push_back(p.choice.*key.member);
  return l;
}

void LiveParams::ApplyTo(EnvParams& p) const {
  double* dynamics[] = {&p.dynamics.drift_std, &p.dynamics.interest_step, &p.dynamics.boredom_increment,
                        &p.dynamics.boredom_decay};
  const double values[] = {drift_std, interest_step, boredom_increment, boredom_decay};
  for (size_t i = 0; i < 4; ++i) *dynamics[i] = ClampTo(LiveField(kLiveDynamicsKeys[i], p), values[i]);
  const std::vector<ChoiceLiveKey>& keys = ChoiceModel(p.choice, p.slate_size).LiveKeys();
  for (size_t i = 0; i < keys.size() && i < choice.size(); ++i) ApplyLiveEdit(p.choice, keys[i], choice[i]);
}

Sim::Sim(const SimOptions& o) : options_(o) {
  std::vector<std::string> overrides = o.overrides;
  if (!o.agent_checkpoint.empty() && !o.rule.empty())
    throw InputError("cohort viz", "--rule",
                     "--agent's checkpoint already holds its agent's rules: give --agent or --rule, not both");
  if (!o.rule.empty()) {
    // The rule goes into the slot of the scenario's agent that takes it; the
    // scenario decides the rest (its lr, schedule, clip_eps, ...).
    const LearnableRule& rule = RuleOfFile(o.rule);
    const Scenario plain = LoadScenario(o.scenario, o.overrides, AgentRegistry());
    const std::string type = plain.agent["type"].get<std::string>();
    const ComponentInfo* agent = AgentRegistry().Find(type);
    if (agent == nullptr || LearnableSlot(*agent, rule) == nullptr)
      throw InputError(o.rule, "/kind",
                       "is a \"" + rule.type + "\" rule for the \"" + rule.slot +
                           "\" slot, which the scenario's agent \"" + type + "\" does not have");
    overrides.push_back("agent." + rule.slot + ".type=" + rule.type);
    overrides.push_back("agent." + rule.slot + ".file=" + fs::absolute(o.rule).string());
  }
  scenario_ = LoadScenario(o.scenario, overrides, AgentRegistry());
  users_ = std::max(1, std::min(o.max_users, scenario_.run.num_envs));
  if (!o.agent_checkpoint.empty()) {
    checkpoint_ = ReadCheckpointInfo(o.agent_checkpoint);
    checkpoint_run_ = ParseScenario(checkpoint_->scenario, checkpoint_->file, AgentRegistry());
    CheckSameShape(scenario_, checkpoint_run_, checkpoint_->file);
    run_dir_ = fs::path(checkpoint_->file).parent_path().string();
    scenario_.agent = checkpoint_run_.agent;
    users_ = checkpoint_run_.run.num_envs;  // the agent's per-slot state has the run's shape
    learning_ = false;                      // show the trained policy; the window can resume learning
  }
  for (const LearnableRule& r : LearnableRules())
    if (scenario_.agent.contains(r.slot) && scenario_.agent[r.slot].is_object() &&
        scenario_.agent[r.slot].value("type", "") == r.type) {
      rule_ = &r;
      rule_theta_ = ThetaFromConfig(scenario_.agent[r.slot], r, "agent." + r.slot);
    }
  live_ = scenario_live_ = LiveParams::From(scenario_.env);
  Restart(scenario_.seed);
}

std::string Sim::agent_label() const {
  std::string s = scenario_.agent["type"].get<std::string>();
  if (rule_ != nullptr) s += " + " + rule_->type + " " + rule_->slot;
  if (checkpoint_) s += " (checkpoint at step " + std::to_string(checkpoint_->step) + ")";
  if (agent_->learns()) s += learning_ ? ", learning" : ", frozen";
  return s;
}

void Sim::Restart(uint64_t seed) {
  seed_ = seed;
  EnvParams params = scenario_.env;
  live_.ApplyTo(params);
  const int threads = options_.threads > 0
                          ? options_.threads
                          : std::clamp(std::min(int(std::thread::hardware_concurrency()), users_ / 1000), 1, 8);
  env_ = std::make_unique<VecEnv>(params, seed, scenario_.variant, VecEnv::Options{users_, threads, -1});
  const int64_t total = (checkpoint_ ? checkpoint_run_ : scenario_).run.train_steps;
  AgentContext ctx{MakeEnvSpec(scenario_.env), GroundTruth(*env_), seed, scenario_.variant, users_, total};
  agent_ = MakeAgent(scenario_.agent, ctx, checkpoint_ ? checkpoint_->file : scenario_.file);
  if (checkpoint_) LoadCheckpointAgent(*checkpoint_, checkpoint_run_, *agent_);
  agent_->SetTraining(learning_);
  slates_.Resize(users_, scenario_.env.slate_size);
  batch_ = &env_->Reset();
  acted_.assign(size_t(users_), 0);
  steps_ = updates_ = user_steps_ = 0;
  series_ = Series();
  train_stats_.clear();
  heatmap_ = std::make_unique<SlateHeatmap>(scenario_.env.num_topics, scenario_.env.slate_size);
  step_heatmap_ = std::make_unique<SlateHeatmap>(scenario_.env.num_topics, scenario_.env.slate_size);
  topic_map_ = batch_->dim == scenario_.env.num_topics
                   ? Projection2D::TopicCircle(batch_->dim)
                   : Projection2D::Pca(std::vector<float>(
                                           batch_->interests.begin(),
                                           batch_->interests.begin() + ptrdiff_t(std::min(users_, 4096)) * batch_->dim),
                                       std::min(users_, 4096), batch_->dim);
  drawn_ = SampleIndices(users_, options_.drawn_users, seed);
  probe_rows_ = SampleIndices(users_, kProbeRows, seed ^ 0x5eed);
  probe_rng_ = MakeRng(seed, scenario_.variant, kProbeEntity, StreamPurpose::kPolicy);
  episode_return_.assign(size_t(users_), 0.0);
  session_.clear();
  if (selected_ >= users_) selected_ = -1;
}

void Sim::SetLearning(bool learning) {
  learning_ = learning;
  agent_->SetTraining(learning);
}

void Sim::SetLive(const LiveParams& p) {
  live_ = p;
  env_->EditParams([&](EnvParams& params) { p.ApplyTo(params); });
}

void Sim::Select(int row) {
  if (row == selected_) return;
  selected_ = row >= 0 && row < users_ ? row : -1;
  session_.clear();
}

void Sim::Step() {
  RecordBefore();
  agent_->Act(*batch_, slates_);
  acted_ = batch_->active;  // Step overwrites the batch
  if (recording_.policy) RecordSlates();
  // The probe needs the observation the slates answer, so it runs before the step.
  const double normalized_reward = recording_.series ? MyopicNormalizedReward() : kNaN;
  if (selected_ >= 0 && acted_[size_t(selected_)]) {
    pending_.slate.assign(slates_.Row(selected_), slates_.Row(selected_) + slates_.slate_size);
    pending_.click_prob.assign(size_t(slates_.slate_size), 0.0);
    pending_.no_click_prob = env_->ChoiceProbabilities(selected_, slates_.Row(selected_), pending_.click_prob.data());
  }
  batch_ = &env_->Step(slates_);
  if (learning_) {
    agent_->Observe(*batch_);
    const std::map<std::string, double> stats = agent_->Update();
    if (!stats.empty()) {
      ++updates_;
      if (recording_.series)
        for (const auto& [name, value] : stats) train_stats_.try_emplace(name, 2000).first->second.Push(value);
    }
  }
  ++steps_;
  RecordAfter();
  RecordSeries();
  if (recording_.series) series_.normalized_reward.Push(normalized_reward);
}

// (E[reward | the agent's slate] - E[reward | a random slate]) / (myopic oracle
// - random) over the probe rows that acted, from exact expectations; NaN when
// none acted or the oracle is no better than random.
double Sim::MyopicNormalizedReward() {
  double agent_er = 0.0, random_er = 0.0, oracle_er = 0.0;
  int probed = 0;
  std::vector<int32_t> slate(size_t(slates_.slate_size)), perm(size_t(batch_->num_candidates));
  for (int64_t row : probe_rows_) {
    const int r = int(row);
    if (!acted_[size_t(r)]) continue;
    agent_er += env_->ExpectedReward(r, slates_.Row(r));
    oracle_er += env_->OracleSlate(r, slate.data());
    for (int s = 0; s < kRandomSlates; ++s) {  // partial Fisher-Yates from the viz's own stream
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = int32_t(i);
      for (int j = 0; j < slates_.slate_size; ++j) {
        const int pick = j + int(probe_rng_.Below(uint32_t(perm.size() - size_t(j))));
        std::swap(perm[size_t(j)], perm[size_t(pick)]);
      }
      random_er += env_->ExpectedReward(r, perm.data()) / kRandomSlates;
    }
    ++probed;
  }
  const double gap = oracle_er - random_er;
  return probed > 0 && std::abs(gap) > 1e-12 ? (agent_er - random_er) / gap : kNaN;
}

void Sim::RecordBefore() {
  if (selected_ < 0 || !batch_->active[size_t(selected_)]) return;
  const StepBatch& b = *batch_;
  const int r = selected_, K = b.num_candidates;
  SessionRecord& rec = pending_;
  rec = SessionRecord();
  rec.step = steps_ + 1;
  rec.user = b.user_id[size_t(r)];
  rec.session = b.session_index[size_t(r)];
  rec.session_step = b.session_step[size_t(r)];
  const size_t base = size_t(r) * size_t(K);
  rec.topic.assign(&b.topic[base], &b.topic[base] + K);
  const float* quality = GroundTruth(*env_).CandidateQualities(r);  // the visualizer may show ground truth
  rec.quality.assign(quality, quality + K);
  rec.length.assign(&b.length[base], &b.length[base] + K);
  if (b.candidate_features)
    rec.features.assign(&b.features[base * size_t(b.dim)], &b.features[(base + size_t(K)) * size_t(b.dim)]);
  rec.agent_score.assign(size_t(K), kNaN);
  rec.score_name = agent_->CandidateScores(b, r, rec.agent_score.data());
}

void Sim::RecordAfter() {
  if (selected_ < 0 || !acted_[size_t(selected_)] || pending_.slate.empty()) return;
  const StepBatch& b = *batch_;
  const int r = selected_, k = b.slate_size;
  SessionRecord rec = std::move(pending_);
  pending_ = SessionRecord();
  rec.clicked = b.click_position[size_t(r)];
  if (rec.clicked >= 0) rec.watch_time = b.watch_time[size_t(r) * size_t(k) + size_t(rec.clicked)];
  rec.reward = b.reward[size_t(r)];
  rec.session_ended = b.session_ended[size_t(r)];
  rec.terminated = b.terminated[size_t(r)];
  rec.truncated = b.truncated[size_t(r)];
  rec.end_reason = EndReason(b.end_reason[size_t(r)]);
  const bool gone = rec.terminated || rec.truncated;
  if (gone) rec.next_user = b.user_id[size_t(r)];
  if (rec.session_ended && !gone) rec.return_gap = b.gap[size_t(r)];
  // State after the step; when the user is gone the slot already holds the
  // next user, whose state is not this user's.
  rec.budget = gone ? 0.0 : env_->Budget(r);
  rec.satisfaction = gone ? kNaN : env_->Satisfaction(r);
  rec.boredom = kNaN;
  if (!gone && env_->Boredom(r) != nullptr) {
    const float* bored = env_->Boredom(r);
    rec.boredom = rec.clicked >= 0 ? bored[rec.topic[size_t(rec.slate[size_t(rec.clicked)])]]
                                   : *std::max_element(bored, bored + scenario_.env.num_topics);
  }
  session_.push_back(std::move(rec));
  while (session_.size() > kSessionCapacity) session_.pop_front();
}

void Sim::RecordSeries() {
  const StepBatch& b = *batch_;
  double reward = 0.0, clicks = 0.0, ret_sum = 0.0;
  int n = 0, finished = 0, sessions_ended = 0, returned = 0;
  for (int r = 0; r < b.rows; ++r) {
    if (!acted_[size_t(r)]) continue;
    ++n;
    reward += b.reward[size_t(r)];
    clicks += b.click_position[size_t(r)] >= 0 ? 1.0 : 0.0;
    episode_return_[size_t(r)] += b.reward[size_t(r)];
    if (b.session_ended[size_t(r)]) {
      ++sessions_ended;
      const bool gone = b.terminated[size_t(r)] || b.truncated[size_t(r)];
      if (!gone) ++returned;
    }
    if (b.terminated[size_t(r)] || b.truncated[size_t(r)]) {
      ret_sum += episode_return_[size_t(r)];
      ++finished;
      episode_return_[size_t(r)] = 0.0;
    }
  }
  series_.reward.Push(n > 0 ? reward / n : kNaN);
  series_.ctr.Push(n > 0 ? clicks / n : kNaN);
  series_.episode_return.Push(finished > 0 ? ret_sum / finished : kNaN);
  series_.retention.Push(sessions_ended > 0 ? double(returned) / sessions_ended : kNaN);
  series_.policy_entropy.Push(NormalizedPolicyEntropy(*agent_));
  user_steps_ += n;
}

// What the policy showed this step (the candidates' topics are overwritten by
// the step): the heatmap of this step's slates, which also gives the entropy
// of all shown items' topics and the topics' coverage, added to the running
// heatmap; and slate diversity (distinct topics per slate / the most a slate
// can have).
void Sim::RecordSlates() {
  const StepBatch& b = *batch_;
  step_heatmap_->Clear();
  step_heatmap_->AddBatch(b, slates_);
  heatmap_->Add(*step_heatmap_);
  const int k = slates_.slate_size, topics = scenario_.env.num_topics;
  double diversity = 0.0;
  int64_t rows = 0;
  int32_t slate_topics[64];  // VecEnv caps slates at 64 items
  for (int r = 0; r < b.rows; ++r) {
    if (!acted_[size_t(r)]) continue;
    int distinct = 0;
    for (int j = 0; j < k; ++j) {
      const int32_t t = b.topic[size_t(r) * size_t(b.num_candidates) + size_t(slates_.Row(r)[j])];
      slate_topics[j] = t;
      distinct += std::find(slate_topics, slate_topics + j, t) == slate_topics + j;
    }
    diversity += double(distinct) / double(std::min(k, topics));
    ++rows;
  }
  series_.slate_diversity.Push(rows > 0 ? diversity / double(rows) : kNaN);
  series_.topic_entropy.Push(rows > 0 ? step_heatmap_->TopicEntropy() : kNaN);
  series_.coverage.Push(rows > 0 ? step_heatmap_->Coverage() : kNaN);
  series_.exposure_gini.Push(heatmap_->total() > 0 ? TopicExposureGini(*heatmap_) : kNaN);
}

// The Gini coefficient of the topics' position-weighted exposure
// (1/log2(j + 2) at position j) in `h`, as the exposure metrics weigh it.
double TopicExposureGini(const SlateHeatmap& h) {
  std::vector<double> exposure(size_t(h.num_topics()), 0.0);
  for (int t = 0; t < h.num_topics(); ++t)
    for (int j = 0; j < h.slate_size(); ++j) exposure[size_t(t)] += double(h.count(t, j)) * ExposureWeight(j);
  return Gini(exposure);
}

Projection2D Sim::PcaNow(bool true_interests) const {
  const int n = std::min(users_, 4096), dim = batch_->dim;
  std::vector<float> data(size_t(n) * size_t(dim));
  for (int r = 0; r < n; ++r)
    std::copy_n(true_interests ? env_->TrueInterests(r) : batch_->Interests(r), dim, &data[size_t(r) * size_t(dim)]);
  return Projection2D::Pca(data, n, dim);
}

DensityGrid Sim::Density(const Projection2D& map, bool true_interests, int bins, float extent) const {
  DensityGrid g;
  g.bins = bins;
  g.extent = extent;
  g.count.assign(size_t(bins) * size_t(bins), 0.0f);
  const StepBatch& b = *batch_;
  for (int r = 0; r < b.rows; ++r) {
    if (!b.active[size_t(r)]) continue;
    const auto xy = map.Project(true_interests ? env_->TrueInterests(r) : b.Interests(r));
    const int i = int(std::floor((xy[0] + g.extent) / (2 * g.extent) * bins));
    const int j = int(std::floor((g.extent - xy[1]) / (2 * g.extent) * bins));  // row 0 at the top
    if (i < 0 || i >= bins || j < 0 || j >= bins) continue;
    g.count[size_t(j) * size_t(bins) + size_t(i)] += 1.0f;
    ++g.users;
  }
  for (float c : g.count) g.max = std::max(g.max, c);
  return g;
}

}  // namespace cohort::viz
