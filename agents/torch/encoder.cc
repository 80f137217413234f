#include "agents/torch/encoder.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cohort::torch_agents {
namespace {

constexpr double kLayerNormEps = 1e-5;
constexpr double kMaskedScore = -1e9;  // added to the scores of the keys a query may not attend
constexpr double kPositionStd = 0.02;  // N(0, 0.02^2) positional table (BERT / GPT-2)

std::invalid_argument Invalid(const std::string& what) { return std::invalid_argument("sequence encoder: " + what); }

// Fills a new float32 tensor with U(-bound, bound) draws, in memory order.
torch::Tensor Uniform(torch::IntArrayRef shape, double bound, Rng& rng) {
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = float(rng.Uniform(-bound, bound));
  return t;
}

torch::Tensor Normal(torch::IntArrayRef shape, double stddev, Rng& rng) {
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = float(rng.Normal(0.0, stddev));
  return t;
}

// An inverted-dropout mask: Bernoulli(1 - p) / (1 - p) draws from `rng`, in memory order.
template <typename T>
void FillMask(torch::Tensor& t, double p, Rng& rng) {
  const double keep = 1.0 - p;
  const T scale = T(1.0 / keep);
  T* d = t.data_ptr<T>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = rng.Bernoulli(keep) ? scale : T(0);
}

torch::Tensor DropoutMask(torch::IntArrayRef shape, double p, Rng& rng, const torch::TensorOptions& options) {
  torch::Tensor t = torch::empty(shape, options);
  if (t.scalar_type() == torch::kFloat64)
    FillMask<double>(t, p, rng);
  else
    FillMask<float>(t, p, rng);
  return t;
}

}  // namespace

SequenceEncoderImpl::SequenceEncoderImpl(const EncoderOptions& o, Rng& init) : options_(o) {
  if (o.type == "mlp") {
    kind_ = Kind::kMlp;
    return;
  }
  if (o.type == "gru")
    kind_ = Kind::kGru;
  else if (o.type == "transformer")
    kind_ = Kind::kTransformer;
  else
    throw Invalid("unknown type \"" + o.type + "\" (expected \"mlp\", \"gru\" or \"transformer\")");
  if (o.input_dim < 1) throw Invalid("input_dim must be >= 1, got " + std::to_string(o.input_dim));
  if (o.max_length < 1) throw Invalid("max_length must be >= 1, got " + std::to_string(o.max_length));
  if (o.hidden < 1) throw Invalid("hidden must be >= 1, got " + std::to_string(o.hidden));
  torch::NoGradGuard no_grad;
  const int64_t F = o.input_dim, H = o.hidden;
  if (kind_ == Kind::kGru) {
    const double bound = 1.0 / std::sqrt(double(H));
    gru_weight_ih_ = register_parameter("gru_weight_ih", Uniform({3 * H, F}, bound, init));
    gru_weight_hh_ = register_parameter("gru_weight_hh", Uniform({3 * H, H}, bound, init));
    gru_bias_ih_ = register_parameter("gru_bias_ih", Uniform({3 * H}, bound, init));
    gru_bias_hh_ = register_parameter("gru_bias_hh", Uniform({3 * H}, bound, init));
    return;
  }
  if (o.layers < 1) throw Invalid("layers must be >= 1, got " + std::to_string(o.layers));
  if (o.heads < 1 || o.hidden % o.heads != 0)
    throw Invalid("hidden (" + std::to_string(o.hidden) + ") must be a multiple of heads (" + std::to_string(o.heads) +
                  ")");
  if (o.feedforward < 1) throw Invalid("feedforward must be >= 1, got " + std::to_string(o.feedforward));
  if (!(o.dropout >= 0.0 && o.dropout < 1.0))
    throw Invalid("dropout must be in [0, 1), got " + std::to_string(o.dropout));
  const int64_t FF = o.feedforward;
  const double in_bound = 1.0 / std::sqrt(double(F)), h_bound = 1.0 / std::sqrt(double(H)),
               ff_bound = 1.0 / std::sqrt(double(FF));
  input_weight_ = register_parameter("input_weight", Uniform({H, F}, in_bound, init));
  input_bias_ = register_parameter("input_bias", Uniform({H}, in_bound, init));
  position_ = register_parameter("position", Normal({o.max_length, H}, kPositionStd, init));
  layers_.resize(size_t(o.layers));
  for (int l = 0; l < o.layers; ++l) {
    Layer& y = layers_[size_t(l)];
    // (Appended, not "l" + std::to_string(l): GCC 12 warns falsely on that, -Wrestrict.)
    std::string p = "l";
    p += std::to_string(l);
    p += '_';
    y.ln1_weight = register_parameter(p + "ln1_weight", torch::ones({H}));
    y.ln1_bias = register_parameter(p + "ln1_bias", torch::zeros({H}));
    y.qkv_weight = register_parameter(p + "qkv_weight", Uniform({3 * H, H}, h_bound, init));
    y.qkv_bias = register_parameter(p + "qkv_bias", Uniform({3 * H}, h_bound, init));
    y.out_weight = register_parameter(p + "out_weight", Uniform({H, H}, h_bound, init));
    y.out_bias = register_parameter(p + "out_bias", Uniform({H}, h_bound, init));
    y.ln2_weight = register_parameter(p + "ln2_weight", torch::ones({H}));
    y.ln2_bias = register_parameter(p + "ln2_bias", torch::zeros({H}));
    y.ff1_weight = register_parameter(p + "ff1_weight", Uniform({FF, H}, h_bound, init));
    y.ff1_bias = register_parameter(p + "ff1_bias", Uniform({FF}, h_bound, init));
    y.ff2_weight = register_parameter(p + "ff2_weight", Uniform({H, FF}, ff_bound, init));
    y.ff2_bias = register_parameter(p + "ff2_bias", Uniform({H}, ff_bound, init));
  }
  final_ln_weight_ = register_parameter("final_ln_weight", torch::ones({H}));
  final_ln_bias_ = register_parameter("final_ln_bias", torch::zeros({H}));
}

std::pair<int64_t, int64_t> SequenceEncoderImpl::Check(const torch::Tensor& steps, const torch::Tensor& lengths) const {
  if (steps.dim() != 3) throw Invalid("steps must be (N, L, F), got " + std::to_string(steps.dim()) + " dimensions");
  if (lengths.dim() != 1 || lengths.size(0) != steps.size(0))
    throw Invalid("lengths must be (N) with N = " + std::to_string(steps.size(0)) + " rows");
  if (lengths.scalar_type() != torch::kInt64) throw Invalid("lengths must be int64");
  const int64_t L = steps.size(1);
  if (kind_ != Kind::kMlp) {
    if (steps.size(2) != options_.input_dim)
      throw Invalid("steps have " + std::to_string(steps.size(2)) + " features, expected input_dim " +
                    std::to_string(options_.input_dim));
    if (L > options_.max_length)
      throw Invalid("steps hold " + std::to_string(L) + " entries, more than max_length " +
                    std::to_string(options_.max_length));
    const torch::Tensor& any_param = kind_ == Kind::kGru ? gru_weight_ih_ : input_weight_;
    if (steps.scalar_type() != any_param.scalar_type())
      throw Invalid(std::string("steps are ") + c10::toString(steps.scalar_type()) + ", the parameters " +
                    c10::toString(any_param.scalar_type()));
  }
  const torch::Tensor len = lengths.contiguous();
  const int64_t* p = len.data_ptr<int64_t>();
  int64_t min_len = L, max_len = 0;
  for (int64_t i = 0; i < len.numel(); ++i) {
    if (p[i] < 0 || p[i] > L)
      throw Invalid("lengths[" + std::to_string(i) + "] = " + std::to_string(p[i]) + " is outside [0, " +
                    std::to_string(L) + "]");
    min_len = std::min(min_len, p[i]);
    max_len = std::max(max_len, p[i]);
  }
  return {min_len, max_len};
}

torch::Tensor SequenceEncoderImpl::forward(const torch::Tensor& steps, const torch::Tensor& lengths, Rng* dropout_rng) {
  return Run(steps, lengths, true, dropout_rng).select(1, 0);
}

torch::Tensor SequenceEncoderImpl::PerPosition(const torch::Tensor& steps, const torch::Tensor& lengths,
                                               Rng* dropout_rng) {
  return Run(steps, lengths, false, dropout_rng);
}

torch::Tensor SequenceEncoderImpl::Run(const torch::Tensor& steps, const torch::Tensor& lengths, bool last_only,
                                       Rng* dropout_rng) {
  const auto [min_len, max_len] = Check(steps, lengths);
  const int64_t N = steps.size(0), L = steps.size(1);
  const int64_t out_len = last_only ? 1 : L;
  if (kind_ == Kind::kMlp) return torch::zeros({N, out_len, 0}, steps.options());
  if (kind_ == Kind::kTransformer && is_training() && options_.dropout > 0.0 && dropout_rng == nullptr)
    throw Invalid("dropout > 0 in training mode needs a dropout Rng");
  if (max_len == 0) return torch::zeros({N, out_len, options_.hidden}, steps.options());
  // Entries at or past max(lengths) are padding in every row: not processed.
  torch::Tensor x = steps.narrow(1, 0, max_len);
  const torch::Tensor valid = torch::arange(max_len, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1);
  // Padding replaced by zeros, so that no value there (even NaN or Inf) reaches a valid output or a gradient.
  if (min_len < max_len) x = x.masked_fill(valid.logical_not().unsqueeze(-1), 0.0);
  torch::Tensor out =
      kind_ == Kind::kGru ? Gru(x, valid, min_len, last_only) : Transformer(x, valid, min_len, last_only, dropout_rng);
  if (!last_only && max_len < L) out = at::constant_pad_nd(out, {0, 0, 0, L - max_len}, 0.0);
  return out;
}

torch::Tensor SequenceEncoderImpl::Gru(const torch::Tensor& x, const torch::Tensor& valid, int64_t min_len,
                                       bool last_only) {
  const int64_t N = x.size(0), T = x.size(1), H = options_.hidden;
  // The input half of every gate, for all entries at once: (N, T, 3H).
  const torch::Tensor gi = at::linear(x, gru_weight_ih_, gru_bias_ih_);
  const torch::Tensor m = valid.to(x.scalar_type());
  const torch::Tensor w_hh = gru_weight_hh_.t();
  torch::Tensor h = torch::zeros({N, H}, x.options());
  std::vector<torch::Tensor> outs(last_only ? 0 : size_t(T));
  // unbind, not select: the backward of T selects would build T zero tensors of gi's size and add them up.
  const std::vector<torch::Tensor> gis = gi.unbind(1);
  for (int64_t j = T - 1; j >= 0; --j) {
    // Splits, not narrows (same reason: one cat in the backward instead of a zero tensor per piece).
    const std::vector<torch::Tensor> g = gis[size_t(j)].split_with_sizes({2 * H, H}, 1);
    const std::vector<torch::Tensor> gh = at::addmm(gru_bias_hh_, h, w_hh).split_with_sizes({2 * H, H}, 1);
    const std::vector<torch::Tensor> rz = at::sigmoid(g[0] + gh[0]).chunk(2, 1);
    const torch::Tensor n = at::tanh(g[1] + rz[0] * gh[1]);
    torch::Tensor next = n + rz[1] * (h - n);
    // h = m h' + (1 - m) h with h = 0 wherever m = 0 (the padding is the oldest entries, processed first).
    // Entries where every row is valid (j < min_len) need no mask.
    if (j >= min_len) next = next * m.select(1, j).unsqueeze(1);
    h = next;
    if (!last_only) outs[size_t(j)] = h;
  }
  return last_only ? h.unsqueeze(1) : torch::stack(outs, 1);
}

torch::Tensor SequenceEncoderImpl::Transformer(const torch::Tensor& x, const torch::Tensor& valid, int64_t min_len,
                                               bool last_only, Rng* dropout_rng) {
  const int64_t N = x.size(0), T = x.size(1), H = options_.hidden, heads = options_.heads, dh = H / heads;
  const double scale = 1.0 / std::sqrt(double(dh));
  const bool drop = is_training() && options_.dropout > 0.0;
  const double p = options_.dropout;
  const auto opts = x.options();
  torch::Tensor h = at::linear(x, input_weight_, input_bias_) + position_.narrow(0, 0, T);
  // The scores are laid out keys-major, (N * heads, key i, query j), so that the softmax runs over dimension 1
  // (twice as fast in LibTorch 1.13 as over a last dimension of 20). Additive mask, the same layout: query j may
  // attend key i iff j <= i < length.
  const torch::Tensor idx = torch::arange(T, valid.options().dtype(torch::kInt64));
  const torch::Tensor allowed = (idx.view({T, 1}) >= idx.view({1, T})).unsqueeze(0).logical_and(valid.unsqueeze(2));
  const torch::Tensor mask = torch::zeros({N, 1, T, T}, opts)
                                 .masked_fill_(allowed.logical_not().unsqueeze(1), kMaskedScore)
                                 .expand({N, heads, T, T})
                                 .reshape({N * heads, T, T});
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& y = layers_[l];
    // The last block of forward() needs only entry 0's query, residual and feed-forward.
    const bool last = last_only && l + 1 == layers_.size();
    const int64_t Tq = last ? 1 : T;
    const torch::Tensor a = at::layer_norm(h, {H}, y.ln1_weight, y.ln1_bias, kLayerNormEps);
    // (N, T, 3H) -> (3, N, heads, T, dh); unbind, not 3 selects: one op in the backward.
    const std::vector<torch::Tensor> qkv =
        at::linear(a, y.qkv_weight, y.qkv_bias).view({N, T, 3, heads, dh}).permute({2, 0, 3, 1, 4}).unbind(0);
    const torch::Tensor q = (last ? qkv[0].narrow(2, 0, 1) : qkv[0]).reshape({N * heads, Tq, dh});
    const torch::Tensor k = qkv[1].reshape({N * heads, T, dh});
    const torch::Tensor v = qkv[2].reshape({N * heads, T, dh});
    // (N * heads, T, Tq): scale * k_i . q_j + mask, softmax over the keys i.
    torch::Tensor att =
        at::softmax(at::baddbmm(last ? mask.narrow(2, 0, 1) : mask, k, q.transpose(1, 2), 1.0, scale), 1);
    if (drop) att = att * DropoutMask(att.sizes(), p, *dropout_rng, opts);
    // (N * heads, Tq, dh) -> (N, Tq, H), the heads side by side.
    const torch::Tensor ctx =
        at::bmm(att.transpose(1, 2), v).view({N, heads, Tq, dh}).transpose(1, 2).reshape({N, Tq, H});
    torch::Tensor o = at::linear(ctx, y.out_weight, y.out_bias);
    if (drop) o = o * DropoutMask(o.sizes(), p, *dropout_rng, opts);
    if (last) h = h.narrow(1, 0, 1);
    h = h + o;
    const torch::Tensor b = at::layer_norm(h, {H}, y.ln2_weight, y.ln2_bias, kLayerNormEps);
    torch::Tensor f = at::linear(at::relu(at::linear(b, y.ff1_weight, y.ff1_bias)), y.ff2_weight, y.ff2_bias);
    if (drop) f = f * DropoutMask(f.sizes(), p, *dropout_rng, opts);
    h = h + f;
  }
  h = at::layer_norm(h, {H}, final_ln_weight_, final_ln_bias_, kLayerNormEps);
  const int64_t out_len = h.size(1);
  if (min_len >= out_len) return h;  // no padding among the outputs
  return h.masked_fill(valid.narrow(1, 0, out_len).logical_not().unsqueeze(-1), 0.0);
}

}  // namespace cohort::torch_agents
