#include "apps/ope_target.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "agents/registry.h"
#include "core/json_parse.h"

namespace fs = std::filesystem;

namespace cohort {
namespace {

// A frozen agent built for `inner_rows` rows acting on batches of any row
// count: each batch is cut into chunks of inner_rows rows (the last one padded
// with copies of its first row, marked inactive), the agent acts on each
// chunk, and its slates and laws are copied back to the batch's rows. Only
// Act is forwarded: a frozen target is never shown an Observe (apps/ope.cc).
class ChunkedAgent : public Agent {
 public:
  ChunkedAgent(std::unique_ptr<Agent> inner, int inner_rows) : inner_(std::move(inner)), inner_rows_(inner_rows) {}

  const std::string& type() const override { return inner_->type(); }
  bool HasSlateLaw() const override { return inner_->HasSlateLaw(); }
  void RecordSlateLaws(bool on) override {
    record_ = on;
    inner_->RecordSlateLaws(on);
  }
  void SetTraining(bool training) override {
    if (training) throw std::logic_error("ChunkedAgent: a checkpoint target acts frozen only");
    inner_->SetTraining(false);
  }
  const SlateLaw& LastSlateLaw(int row) const override { return laws_.at(size_t(row)); }

  void Act(const StepBatch& obs, SlateBatch& slates) override {
    StepBatch& in = chunk_;
    in.rows = inner_rows_;
    in.num_candidates = obs.num_candidates;
    in.slate_size = obs.slate_size;
    in.dim = obs.dim;
    in.history = obs.history;
    in.interests_observed = obs.interests_observed;
    in.candidate_features = obs.candidate_features;
    in.tick = obs.tick;
    chunk_slates_.Resize(inner_rows_, obs.slate_size);
    if (record_) laws_.resize(size_t(obs.rows));
    // The batch's arrays in ForEachField order, to copy the same one of the chunk from.
    std::vector<const void*> from;
    obs.ForEachField([&](auto, const auto& v, auto...) { from.push_back(v.data()); });
    for (int start = 0; start < obs.rows; start += inner_rows_) {
      const int n = std::min(inner_rows_, obs.rows - start);
      size_t field = 0;
      in.ForEachField([&](auto, auto& v, int width, auto...) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        const T* src = static_cast<const T*>(from[field++]);
        const size_t w = size_t(width);
        v.resize(size_t(inner_rows_) * w);
        for (int i = 0; i < inner_rows_; ++i) {
          const int r = start + (i < n ? i : 0);
          std::copy_n(src + size_t(r) * w, w, v.data() + size_t(i) * w);
        }
      });
      for (int i = n; i < inner_rows_; ++i) in.active[size_t(i)] = 0;
      inner_->Act(in, chunk_slates_);
      for (int i = 0; i < n; ++i) {
        if (!obs.active[size_t(start + i)]) continue;
        std::copy_n(chunk_slates_.Row(i), obs.slate_size, slates.Row(start + i));
        if (record_) laws_[size_t(start + i)] = inner_->LastSlateLaw(i);
      }
    }
  }

 private:
  std::unique_ptr<Agent> inner_;
  const int inner_rows_;
  bool record_ = false;
  StepBatch chunk_;
  SlateBatch chunk_slates_;
  std::vector<SlateLaw> laws_;
};

bool NamesCheckpoint(const std::string& text) {
  std::error_code ec;
  if (fs::is_directory(text, ec)) return true;
  return fs::path(text).extension() == ".bin";
}

}  // namespace

OpeTarget::OpeTarget(const std::string& text, const Scenario& log) {
  if (text.empty())
    throw InputError("--target", "",
                     "required: an agent JSON, an agent type, a scenario file or a training run (its directory or "
                     "checkpoint.bin)");
  json block;
  if (text.front() == '{') {
    block = ParseJson(text, "--target");
  } else if (NamesCheckpoint(text)) {
    try {
      checkpoint_ = ReadCheckpointInfo(text);
    } catch (const InputError&) {  // a missing file
      throw;
    } catch (const std::runtime_error& e) {  // a damaged one
      throw InputError(text, "", std::string("cannot be read as a training checkpoint: ") + e.what());
    }
    run_ = ParseScenario(checkpoint_->scenario, checkpoint_->file, AgentRegistry());
    const std::string path = ObservationShapeDifference(log.env, run_->env);
    if (!path.empty())
      throw InputError(checkpoint_->file, path,
                       "differs between the trained agent's run and the log: its policy acts only on "
                       "observations of the shape it was trained on");
    agent_ = run_->agent;
    return;
  } else if (std::error_code ec;
             text.find(".json") != std::string::npos || text.find('/') != std::string::npos || fs::exists(text, ec)) {
    const Scenario other = LoadScenario(text, {}, AgentRegistry());
    if (other.env.slate_size != log.env.slate_size || other.env.num_candidates != log.env.num_candidates)
      throw InputError(text, "/env/slate_size",
                       "the target's scenario has slates of " + std::to_string(other.env.slate_size) + " out of " +
                           std::to_string(other.env.num_candidates) + " candidates; the log's are " +
                           std::to_string(log.env.slate_size) + " out of " + std::to_string(log.env.num_candidates));
    block = other.resolved["agent"];
    source_ = text;
  } else {
    block = json{{"type", text}};
  }
  // Resolved against the log's scenario (so its slate size is the log's).
  json doc = log.resolved;
  doc["agent"] = block;
  agent_ = ParseScenario(doc, "--target", AgentRegistry()).agent;
}

json OpeTarget::checkpoint() const {
  if (!checkpoint_) return nullptr;
  return {{"file", checkpoint_->file}, {"step", checkpoint_->step}};
}

std::unique_ptr<Agent> OpeTarget::Make(const AgentContext& ctx) const {
  std::unique_ptr<Agent> agent;
  if (checkpoint_) {
    // Built as the run built it (its seed, slots and planned length), on the log's environment.
    AgentContext own = ctx;
    own.seed = run_->seed;
    own.variant = run_->variant;
    own.num_envs = run_->run.num_envs;
    own.total_steps = run_->run.train_steps;
    agent = MakeAgent(agent_, own, checkpoint_->file);
    try {
      LoadCheckpointAgent(*checkpoint_, *run_, *agent);
    } catch (const InputError&) {
      throw;
    } catch (const std::runtime_error& e) {
      throw InputError(checkpoint_->file, "", std::string("cannot be loaded as a training checkpoint: ") + e.what());
    }
    if (own.num_envs != ctx.num_envs) agent = std::make_unique<ChunkedAgent>(std::move(agent), own.num_envs);
  } else {
    agent = MakeAgent(agent_, ctx, source_);
  }
  if (!agent->HasSlateLaw())
    throw InputError("--target", "/agent/type",
                     "\"" + agent->type() +
                         "\" has no closed-form slate probabilities (Thompson sampling), which the estimators need");
  agent->SetTraining(false);
  agent->RecordSlateLaws(true);
  return agent;
}

}  // namespace cohort
