// A sequence encoder over a user's interaction history, for the LibTorch
// agents: it turns the user's last L interactions into a state vector that the
// agent scores candidates from.
//
// Input (one forward pass for all rows of a step):
//   steps    (N, L', F) float: per row, up to L' <= max_length interaction
//            records, most recent first: entry 0 is the latest interaction.
//            Each record is already a feature vector of width F (input_dim).
//   lengths  (N) int64 in [0, L']: entries [0, length) of a row are valid,
//            entries [length, L') are padding whose values are ignored (any
//            values, NaN and Inf included: they are replaced by zeros first).
//
// Output:
//   forward      (N, hidden): the state after the latest valid interaction
//                (entry 0); exactly zero for a row of length 0.
//   PerPosition  (N, L', hidden): output j is computed from entries j, j+1,
//                ..., length-1 only (entry j and the older ones: causal), and
//                is exactly zero for j >= length. forward() equals
//                PerPosition()[:, 0] (to rounding: forward skips work).
//
// Types (EncoderOptions::type):
//   "mlp"          no sequence model: output_dim() 0, outputs (N, 0) and
//                  (N, L', 0); the agent uses its own features only.
//   "gru"          one GRU layer (always one: `layers` is for the transformer),
//                  PyTorch's equations and gate order (r, z, n):
//                    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//                    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//                    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//                    h' = (1 - z) * n + z * h
//                  run from the oldest entry (L'-1) to the newest (0), h0 = 0;
//                  a row updates h only at its valid entries j < length. Since
//                  the valid entries are the newest ones (processed last), the
//                  row's h is still h0 = 0 at every padded entry, and the
//                  update h = m h' + (1 - m) h reduces to h = m h' (m = 1 for
//                  j < length, else 0; h' is computed from h = 0 and a zeroed
//                  input there). PerPosition()[:, j] is h after entry j.
//                  `dropout` does not apply to the GRU.
//   "transformer"  SASRec-style causal self-attention (Kang & McAuley 2018):
//                    x_j = W_in steps_j + b_in + pos[j]
//                  with a learned positional embedding indexed by recency j
//                  (so a short history padded to any L' gives the same output
//                  as unpadded), then `layers` pre-LayerNorm blocks
//                    x = x + Drop(Attention(LN1(x)))
//                    x = x + Drop(W2 relu(W1 LN2(x) + b1) + b2)
//                  and a final LayerNorm. Attention has `heads` heads of width
//                  hidden / heads; query j attends keys i with j <= i < length
//                  (itself and the older valid entries): an additive mask of
//                  -1e9 (finite, so a query with no valid key is a uniform
//                  average instead of NaN; padded outputs are zeroed anyway).
//                  Pre-LN (the GPT-2 arrangement) trains without learning-rate
//                  warm-up, which suits the agents' constant-rate updates.
//
// Dropout (transformer, dropout > 0, training mode only, i.e. is_training()):
// on the attention weights and on both residual branches, with inverted masks
// (Bernoulli(1 - p) / (1 - p)) drawn from the cohort Rng passed as
// `dropout_rng`, never torch's generator; training with dropout > 0 and no Rng
// is an std::invalid_argument. A torch::nn::Module starts in training mode:
// call eval() before acting. Evaluation draws nothing from the Rng. forward()
// draws masks only for what it computes (the last block at entry 0 only), so
// with dropout in training it is not PerPosition()[:, 0] of the same Rng
// state, but a draw of the same distribution; each is reproducible from its
// Rng's state.
//
// Initialisation: from the cohort Rng given to the constructor (determinism:
// no torch random generator is used; equal seeds give bit-identical
// parameters), in the order of named_parameters():
//   Linear layers       U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weights and biases
//                       (PyTorch's default nn.Linear; the fused q/k/v
//                       projection is one Linear(hidden, 3 hidden))
//   GRU                 U(-1/sqrt(hidden), 1/sqrt(hidden)), all weights and
//                       biases (PyTorch's nn.GRU)
//   positional table    N(0, 0.02^2) (BERT / GPT-2): small next to the input
//                       projection (std about 0.58 per unit for unit-scale
//                       features), so the initial state is the content; the
//                       recency weighting is learned
//   LayerNorm           weight 1, bias 0 (eps 1e-5)
// Parameter names (ParamSet::Add prefixes them):
//   gru:          gru_weight_ih (3H, F), gru_weight_hh (3H, H), gru_bias_ih,
//                 gru_bias_hh (3H)
//   transformer:  input_weight (H, F), input_bias, position (max_length, H),
//                 then per layer l: l<l>_ln1_{weight,bias}, l<l>_qkv_{weight,bias}
//                 (3H, H: output rows q, then k, then v; head h owns rows
//                 [h d, (h+1) d) of each, d = H / heads), l<l>_out_{weight,bias},
//                 l<l>_ln2_{weight,bias},
//                 l<l>_ff1_{weight,bias} (feedforward, H),
//                 l<l>_ff2_{weight,bias} (H, feedforward); final_ln_{weight,bias}
//
// Works in float32 and, after ->to(torch::kFloat64), in float64 (steps must
// have the parameters' dtype). CPU only. Cost: every op is batched over the
// rows (GRU: one cell per position; transformer: a few ops per layer), and
// both types only process the first max(lengths) entries of the batch (the
// rest is padding in every row). Times at the agents' sizes: the
// microbenchmark in tests/torch/test_encoder.cc.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace cohort::torch_agents {

struct EncoderOptions {
  std::string type = "mlp";  // "mlp" (no sequence: output_dim 0), "gru", "transformer"
  int input_dim = 0;         // F, the width of one interaction record
  int max_length = 0;        // L: the longest history (size of the positional table)
  int hidden = 32;           // GRU hidden size, or the transformer's d_model; = output_dim()
  int layers = 2;            // transformer blocks (the GRU always has 1 layer)
  int heads = 2;             // transformer heads (hidden % heads == 0)
  int feedforward = 64;      // transformer feed-forward width
  double dropout = 0.0;      // transformer dropout in [0, 1) (attention weights, residual branches), training only
};

class SequenceEncoderImpl : public torch::nn::Module {
 public:
  // Throws std::invalid_argument for an unknown type or invalid sizes
  // (gru/transformer: input_dim, max_length, hidden >= 1; transformer also
  // layers, heads, feedforward >= 1, hidden % heads == 0, 0 <= dropout < 1).
  SequenceEncoderImpl(const EncoderOptions& o, Rng& init);

  // (N, L', F), (N) -> (N, output_dim()). See the comment at the top.
  torch::Tensor forward(const torch::Tensor& steps, const torch::Tensor& lengths, Rng* dropout_rng = nullptr);
  // (N, L', F), (N) -> (N, L', output_dim()), causal, zero at j >= length.
  torch::Tensor PerPosition(const torch::Tensor& steps, const torch::Tensor& lengths, Rng* dropout_rng = nullptr);

  int output_dim() const { return options_.type == "mlp" ? 0 : options_.hidden; }
  const EncoderOptions& options() const { return options_; }

 private:
  enum class Kind { kMlp, kGru, kTransformer };
  struct Layer {
    torch::Tensor ln1_weight, ln1_bias, qkv_weight, qkv_bias, out_weight, out_bias;
    torch::Tensor ln2_weight, ln2_bias, ff1_weight, ff1_bias, ff2_weight, ff2_bias;
  };

  // Checks the inputs; returns (min(lengths), max(lengths)).
  std::pair<int64_t, int64_t> Check(const torch::Tensor& steps, const torch::Tensor& lengths) const;
  // On x = the first max(lengths) >= 1 entries, padding zeroed, and valid =
  // (N, max_len) bool (j < length): (N, max_len, H), or with `last_only`
  // (N, 1, H), the output at entry 0 only. min_len = min(lengths).
  torch::Tensor Gru(const torch::Tensor& x, const torch::Tensor& valid, int64_t min_len, bool last_only);
  torch::Tensor Transformer(const torch::Tensor& x, const torch::Tensor& valid, int64_t min_len, bool last_only,
                            Rng* dropout_rng);
  torch::Tensor Run(const torch::Tensor& steps, const torch::Tensor& lengths, bool last_only, Rng* dropout_rng);

  EncoderOptions options_;
  Kind kind_ = Kind::kMlp;
  // gru
  torch::Tensor gru_weight_ih_, gru_weight_hh_, gru_bias_ih_, gru_bias_hh_;
  // transformer
  torch::Tensor input_weight_, input_bias_, position_;
  std::vector<Layer> layers_;
  torch::Tensor final_ln_weight_, final_ln_bias_;
};
TORCH_MODULE(SequenceEncoder);

}  // namespace cohort::torch_agents
