#include "agents/click_model.h"

#include "core/json_parse.h"

namespace cohort {
namespace {
const std::string kClickModel = "click_model";

std::vector<double> Weights(const json& model, const char* key, int d, const std::string& file) {
  const json& v = model.contains(key) ? model[key] : json();
  if (!v.is_array() || int(v.size()) != d)
    throw InputError(file, std::string("/") + key, "expected " + std::to_string(d) + " numbers (the environment's "
                                                       "feature dimension); the model was fitted on another shape");
  std::vector<double> out;
  for (const json& x : v) {
    if (!x.is_number()) throw InputError(file, std::string("/") + key, "expected numbers");
    out.push_back(x.get<double>());
  }
  return out;
}
}  // namespace

void RegisterClickModelAgent(AgentRegistrar& r) {
  static Schema schema{"click model"};
  schema.String("model", "", {}, "the model file `cohort train-offline LOG_DIR --out FILE` wrote (required)");
  r.Add({kClickModel, "rank by a click model learned offline from a log (cohort train-offline), greedily", &schema},
        [](const json& config, const AgentContext& ctx) -> std::unique_ptr<Agent> {
          return std::make_unique<ClickModelAgent>(config, ctx);
        });
}

ClickModelAgent::ClickModelAgent(const json& config, const AgentContext& ctx) : RankingAgent(ctx) {
  const std::string file = config["model"].get<std::string>();
  if (file.empty())
    throw InputError("", "/agent/model", "required: the file `cohort train-offline LOG_DIR --out FILE` wrote");
  const json model = ReadJsonFile(file);
  if (!model.is_object() || model.value("kind", "") != "cohort_click_model")
    throw InputError(file, "/kind", "is not a click model (expected \"kind\": \"cohort_click_model\")");
  const int d = ctx.spec.feature_dim;
  interaction_ = Weights(model, "interaction", d, file);
  item_ = Weights(model, "item", d, file);
}

const std::string& ClickModelAgent::type() const { return kClickModel; }

void ClickModelAgent::Score(const StepBatch& obs, int row, double* scores) const {
  const int d = obs.dim;
  features_.resize(size_t(d));
  const float* u = obs.Interests(row);
  for (int c = 0; c < obs.num_candidates; ++c) {
    obs.CandidateFeatures(row, c, features_.data());
    double s = 0.0;
    for (int m = 0; m < d; ++m)
      s += interaction_[size_t(m)] * double(u[m]) * features_[size_t(m)] + item_[size_t(m)] * features_[size_t(m)];
    scores[c] = s;
  }
}

}  // namespace cohort
