// The "encoder" component of the LibTorch agents: its registry (name, doc,
// schema per type, for validation, defaults and `cohort list`) and the step
// from a resolved "encoder" block and the environment's spec to the options
// of a SequenceEncoder (agents/torch/encoder.h).
//
//   "mlp"          the agent's own network on the current candidate features
//                  (the default; results are those of an agent without the key)
//   "gru"          a GRU over the user's last L interactions (GRU4Rec; Chen et
//                  al. 2019's state encoder)
//   "transformer"  causal self-attention over them (SASRec)
//
// gru and transformer need env.observation.sequence.length > 0: the factory
// refuses them otherwise (InputError at /agent/encoder/type).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "agents/features.h"
#include "agents/torch/common.h"
#include "agents/torch/encoder.h"
#include "core/schema.h"
#include "env/vec_env.h"

namespace cohort::torch_agents {

const ComponentRegistry& EncoderRegistry();

// Adds "encoder" (default {"type": "mlp"}) to an agent's schema.
void AddEncoderKey(Schema& s);

// The options of the encoder of a resolved "encoder" block for `spec`:
// input_dim = SequenceFeatures::Dim(feature_dim), max_length = spec.sequence.
EncoderOptions EncoderOptionsFrom(const json& config, const EnvSpec& spec);

// The width of the state the encoder adds to each candidate's input (0: mlp).
inline int EncoderOutputDim(const EncoderOptions& o) { return o.type == "mlp" ? 0 : o.hidden; }

// The encoder's states (n, E) of n rows' stored sequences: `seq` n x L x F
// floats as SequenceFeatures fills them, `lengths` n (views, no copy). The
// holder is taken by value because forward() is not const in LibTorch.
torch::Tensor EncodeRows(SequenceEncoder encoder, const SequenceFeatures& sequence, float* seq, int64_t* lengths,
                         int64_t n, Rng* dropout_rng = nullptr);

// Each candidate's network input [x (F) | state (E)]: x (n, K, F), state (n, E) -> (n*K, F+E).
torch::Tensor WithState(const torch::Tensor& x, const torch::Tensor& state);

// Agent::CandidateScores of an item-wise network on [CandidateFeatures |
// the encoder's state of the row's sequence] (agents/torch/common.h
// CandidateForward, with the state): one [K, F + E] forward under
// InferenceMode -> out[0..K). The holders are taken by value because
// forward() is not const in LibTorch.
void CandidateForwardWithState(torch::nn::Sequential net, SequenceEncoder encoder, const CandidateFeatures& features,
                               const SequenceFeatures& sequence, const StepBatch& obs, int row, double* out);

// Warm starts (Agent::InitFrom, the "init" key): what a trained LibTorch agent
// offers another one. Architecture() names what the parameters' shapes do not
// show (the activation, the encoder's type and heads); a warm start needs it
// equal.
class WarmStartSource {
 public:
  virtual ~WarmStartSource() = default;
  virtual const ParamSet& Networks() const = 0;
  virtual std::string Architecture() const = 0;
};

// "activation relu, encoder gru" / "..., encoder transformer with 2 heads".
std::string Architecture(const std::string& activation, const EncoderOptions& encoder);

// A warm start of `target` from `trained`: every parameter (groups empty) or
// the given (from, to) groups (ParamSet::CopyGroupsFrom). Throws InputError
// at /agent/init naming the first difference, and then copies nothing;
// `needs` ends that message ("warm starts need the same ...").
void WarmStart(const Agent& trained, const std::string& architecture, ParamSet& target,
               const std::vector<std::pair<std::string, std::string>>& groups, const std::string& needs);

}  // namespace cohort::torch_agents
