#include "agents/torch/encoder_config.h"

#include <string>

#include "core/registry.h"

namespace cohort::torch_agents {
namespace {

const Schema& MlpSchema() {
  static const Schema s{"no sequence model: the agent's network on the current candidate features"};
  return s;
}
const Schema& GruSchema() {
  static const Schema s = [] {
    Schema d{"a GRU over the user's last env.observation.sequence.length interactions, oldest to newest"};
    d.Integer("hidden", 32, 1, 4096, "hidden size = the state's width");
    return d;
  }();
  return s;
}
const Schema& TransformerSchema() {
  static const Schema s = [] {
    Schema d{"causal self-attention (SASRec) over the user's last interactions, learned recency embeddings"};
    d.Integer("hidden", 32, 1, 4096, "d_model = the state's width (a multiple of heads)")
        .Integer("layers", 2, 1, 64, "pre-LayerNorm attention + feed-forward blocks")
        .Integer("heads", 2, 1, 64, "attention heads")
        .Integer("feedforward", 64, 1, 65536, "feed-forward width")
        .Number("dropout", 0.0, 0.0, 0.95, "dropout on attention weights and residual branches (updates only)");
    return d;
  }();
  return s;
}

using EncoderFactory = int;  // the options come from EncoderOptionsFrom; the entry holds name, doc, schema
const Registry<EncoderFactory>& Encoders() {
  static const Registry<EncoderFactory> r = [] {
    Registry<EncoderFactory> c("encoder");
    c.Add({"mlp", "the agent's own network on the current observation (default)", &MlpSchema()}, 0)
        .Add({"gru", "GRU over the user's interaction sequence (GRU4Rec, Chen et al. 2019)", &GruSchema()}, 1)
        .Add({"transformer", "causal self-attention over the interaction sequence (SASRec)", &TransformerSchema()}, 2);
    return c;
  }();
  return r;
}

}  // namespace

const ComponentRegistry& EncoderRegistry() { return Encoders(); }

void AddEncoderKey(Schema& s) {
  s.Component("encoder", &EncoderRegistry(), "mlp",
              "state encoder over the user's history: mlp (none), gru, transformer (agents/torch/encoder_config.h)");
}

EncoderOptions EncoderOptionsFrom(const json& config, const EnvSpec& spec) {
  EncoderOptions o;
  o.type = config.at("type").get<std::string>();
  if (o.type == "mlp") return o;
  if (spec.sequence <= 0)
    throw InputError("", "/agent/encoder/type",
                     "\"" + o.type +
                         "\" reads the user's interaction sequence, which this scenario does not observe (set "
                         "env.observation.sequence.length, e.g. 20)");
  o.input_dim = SequenceFeatures::Dim(spec.feature_dim);
  o.max_length = spec.sequence;
  o.hidden = config.at("hidden").get<int>();
  if (o.type == "transformer") {
    o.layers = config.at("layers").get<int>();
    o.heads = config.at("heads").get<int>();
    o.feedforward = config.at("feedforward").get<int>();
    o.dropout = config.at("dropout").get<double>();
    if (o.hidden % o.heads != 0)
      throw InputError("", "/agent/encoder/heads",
                       "hidden " + std::to_string(o.hidden) + " is not a multiple of heads " + std::to_string(o.heads));
  }
  return o;
}

torch::Tensor EncodeRows(SequenceEncoder encoder, const SequenceFeatures& sequence, float* seq, int64_t* lengths,
                         int64_t n, Rng* dropout_rng) {
  return encoder->forward(torch::from_blob(seq, {n, sequence.length(), sequence.dim()}, torch::kFloat32),
                          torch::from_blob(lengths, {n}, torch::kInt64), dropout_rng);
}

torch::Tensor WithState(const torch::Tensor& x, const torch::Tensor& state) {
  const int64_t n = x.size(0), K = x.size(1), F = x.size(2), E = state.size(1);
  return torch::cat({x, state.unsqueeze(1).expand({n, K, E})}, 2).view({n * K, F + E});
}

void CandidateForwardWithState(torch::nn::Sequential net, SequenceEncoder encoder, const CandidateFeatures& features,
                               const SequenceFeatures& sequence, const StepBatch& obs, int row, double* out) {
  c10::InferenceMode guard;
  const int K = obs.num_candidates, F = features.dim();
  std::vector<float> x(size_t(K) * size_t(F));
  std::vector<float> seq(size_t(sequence.length()) * size_t(sequence.dim()));
  std::vector<int64_t> length = {obs.sequence_length[size_t(row)]};
  features.FillRow(obs, row, x.data());
  sequence.FillRow(obs, row, seq.data());
  const torch::Tensor state = EncodeRows(encoder, sequence, seq.data(), length.data(), 1);
  const torch::Tensor logits =
      net->forward(WithState(torch::from_blob(x.data(), {1, K, F}, torch::kFloat32), state)).contiguous();
  const float* p = logits.data_ptr<float>();
  for (int c = 0; c < K; ++c) out[c] = p[c];
}

std::string Architecture(const std::string& activation, const EncoderOptions& encoder) {
  std::string out = "activation " + activation + ", encoder " + encoder.type;
  if (encoder.type == "transformer") out += " with " + std::to_string(encoder.heads) + " heads";
  return out;
}

void WarmStart(const Agent& trained, const std::string& architecture, ParamSet& target,
               const std::vector<std::pair<std::string, std::string>>& groups, const std::string& needs) {
  const auto* source = dynamic_cast<const WarmStartSource*>(&trained);
  if (source == nullptr) throw InputError("", "/agent/init", "holds a \"" + trained.type() + "\" agent, " + needs);
  std::string difference;
  if (source->Architecture() != architecture)
    difference = architecture + " here, " + source->Architecture() + " in the checkpoint";
  else
    difference =
        groups.empty() ? target.CopyValuesFrom(source->Networks()) : target.CopyGroupsFrom(source->Networks(), groups);
  if (!difference.empty())
    throw InputError("", "/agent/init", "holds other networks than this agent's: " + difference + " (" + needs + ")");
}

}  // namespace cohort::torch_agents
