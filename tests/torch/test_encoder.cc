// Tests of agents/torch/encoder.cc, the sequence encoder over interaction
// histories (see tests/torch/main.cc: DOCTEST_ macros only).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/torch/common.h"
#include "agents/torch/encoder.h"

namespace cohort::torch_agents {
namespace {

const std::vector<std::string> kSequenceTypes = {"gru", "transformer"};

EncoderOptions Options(const std::string& type, int input_dim, int max_length, int hidden = 8, int layers = 2,
                       int heads = 2, int feedforward = 16, double dropout = 0.0) {
  EncoderOptions o;
  o.type = type;
  o.input_dim = input_dim;
  o.max_length = max_length;
  o.hidden = hidden;
  o.layers = layers;
  o.heads = heads;
  o.feedforward = feedforward;
  o.dropout = dropout;
  return o;
}

SequenceEncoder Make(const EncoderOptions& o, uint64_t seed = 7) {
  Rng init(seed);
  SequenceEncoder enc(o, init);
  enc->eval();
  return enc;
}

// Standard normal values from `rng`, in memory order.
torch::Tensor Random(torch::IntArrayRef shape, Rng& rng, torch::ScalarType dtype = torch::kFloat32) {
  torch::Tensor t = torch::empty(shape, torch::kFloat64);
  double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.Normal();
  return t.to(dtype);
}

torch::Tensor Lengths(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); }

double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

bool AllZero(const torch::Tensor& t) { return t.numel() == 0 || (t == 0).all().item<bool>(); }

// Overwrites entries [length, L) of every row with large values, NaN and Inf.
void FillPadding(torch::Tensor& steps, const torch::Tensor& lengths, Rng& rng) {
  const int64_t N = steps.size(0), L = steps.size(1), F = steps.size(2);
  float* p = steps.data_ptr<float>();
  for (int64_t r = 0; r < N; ++r)
    for (int64_t j = lengths[r].item<int64_t>(); j < L; ++j)
      for (int64_t f = 0; f < F; ++f) {
        const uint32_t kind = rng.Below(8);
        float v = float(rng.Normal(0.0, 1e6));
        if (kind == 0) v = std::numeric_limits<float>::quiet_NaN();
        if (kind == 1) v = std::numeric_limits<float>::infinity();
        if (kind == 2) v = -std::numeric_limits<float>::infinity();
        p[(r * L + j) * F + f] = v;
      }
}

DOCTEST_TEST_CASE("encoder: output shapes, mlp, and invalid options or inputs") {
  Rng data(1);
  const torch::Tensor steps = Random({5, 7, 6}, data);
  const torch::Tensor lengths = Lengths({7, 0, 3, 1, 5});
  for (const std::string& type : kSequenceTypes) {
    DOCTEST_CAPTURE(type);
    auto enc = Make(Options(type, 6, 9, 8));
    DOCTEST_CHECK(enc->output_dim() == 8);
    DOCTEST_CHECK(enc->forward(steps, lengths).sizes() == torch::IntArrayRef({5, 8}));
    DOCTEST_CHECK(enc->PerPosition(steps, lengths).sizes() == torch::IntArrayRef({5, 7, 8}));
    // Any L' <= max_length, L' = 0 included.
    const torch::Tensor short_steps = steps.narrow(1, 0, 2).contiguous();
    DOCTEST_CHECK(enc->PerPosition(short_steps, Lengths({2, 0, 1, 1, 2})).sizes() == torch::IntArrayRef({5, 2, 8}));
    const torch::Tensor none = torch::zeros({5, 0, 6});
    DOCTEST_CHECK(AllZero(enc->forward(none, torch::zeros({5}, torch::kInt64))));
    DOCTEST_CHECK(enc->forward(none, torch::zeros({5}, torch::kInt64)).sizes() == torch::IntArrayRef({5, 8}));
    // Bad inputs.
    DOCTEST_CHECK_THROWS_AS(enc->forward(Random({5, 10, 6}, data), Lengths({1, 1, 1, 1, 1})), std::invalid_argument);
    DOCTEST_CHECK_THROWS_AS(enc->forward(Random({5, 7, 5}, data), lengths), std::invalid_argument);
    DOCTEST_CHECK_THROWS_AS(enc->forward(steps, Lengths({8, 0, 3, 1, 5})), std::invalid_argument);
    DOCTEST_CHECK_THROWS_AS(enc->forward(steps, Lengths({-1, 0, 3, 1, 5})), std::invalid_argument);
    DOCTEST_CHECK_THROWS_AS(enc->forward(steps, Lengths({1, 0, 3, 1})), std::invalid_argument);
    DOCTEST_CHECK_THROWS_AS(enc->forward(steps.to(torch::kFloat64), lengths), std::invalid_argument);
    DOCTEST_CHECK_THROWS_AS(Make(Options(type, 0, 9)), std::invalid_argument);
    DOCTEST_CHECK_THROWS_AS(Make(Options(type, 6, 0)), std::invalid_argument);
  }
  auto mlp = Make(Options("mlp", 6, 9));
  DOCTEST_CHECK(mlp->output_dim() == 0);
  DOCTEST_CHECK(mlp->parameters().empty());
  DOCTEST_CHECK(mlp->forward(steps, lengths).sizes() == torch::IntArrayRef({5, 0}));
  DOCTEST_CHECK(mlp->PerPosition(steps, lengths).sizes() == torch::IntArrayRef({5, 7, 0}));
  DOCTEST_CHECK_THROWS_AS(Make(Options("lstm", 6, 9)), std::invalid_argument);
  DOCTEST_CHECK_THROWS_AS(Make(Options("transformer", 6, 9, 6, 2, 4)), std::invalid_argument);  // 6 % 4 != 0
  DOCTEST_CHECK_THROWS_AS(Make(Options("transformer", 6, 9, 8, 2, 2, 16, 1.0)), std::invalid_argument);
  // Dropout in training mode needs an Rng; evaluation does not.
  auto drop = Make(Options("transformer", 6, 9, 8, 2, 2, 16, 0.1));
  DOCTEST_CHECK_NOTHROW(drop->forward(steps, lengths));
  drop->train();
  DOCTEST_CHECK_THROWS_AS(drop->forward(steps, lengths), std::invalid_argument);
  DOCTEST_CHECK_THROWS_AS(drop->PerPosition(steps, lengths), std::invalid_argument);
  Rng dropout_rng(3);
  DOCTEST_CHECK_NOTHROW(drop->forward(steps, lengths, &dropout_rng));
}

DOCTEST_TEST_CASE("encoder: output j depends only on entries j and older (causality)") {
  const int64_t N = 3, L = 6, F = 4;
  const torch::Tensor lengths = Lengths({6, 4, 2});
  for (const std::string& type : kSequenceTypes) {
    for (double dropout : {0.0, 0.2}) {
      if (type == "gru" && dropout > 0.0) continue;
      DOCTEST_CAPTURE(type);
      DOCTEST_CAPTURE(dropout);
      auto enc = Make(Options(type, int(F), int(L), 8, 2, 2, 16, dropout));
      if (dropout > 0.0) enc->train();  // the same masks for every call: a fresh Rng of the same seed
      auto per_position = [&](const torch::Tensor& s) {
        Rng d(99);
        return enc->PerPosition(s, lengths, &d);
      };
      Rng data(2);
      const torch::Tensor base = Random({N, L, F}, data);
      const torch::Tensor out = per_position(base);
      for (int64_t j = 0; j < L; ++j) {
        DOCTEST_CAPTURE(j);
        if (j > 0) {
          // Newer entries (i < j) changed: outputs j, j+1, ... unchanged, bit for bit.
          torch::Tensor newer = base.clone();
          newer.narrow(1, 0, j).copy_(Random({N, j, F}, data));
          const torch::Tensor changed = per_position(newer);
          DOCTEST_CHECK(torch::equal(changed.narrow(1, j, L - j), out.narrow(1, j, L - j)));
          DOCTEST_CHECK(MaxAbsDiff(changed.narrow(1, 0, j), out.narrow(1, 0, j)) > 1e-4);
        }
        // Entry j changed: output j changes in the rows where j is valid, and stays zero elsewhere.
        torch::Tensor own = base.clone();
        own.select(1, j).copy_(Random({N, F}, data));
        const torch::Tensor changed = per_position(own);
        for (int64_t r = 0; r < N; ++r) {
          DOCTEST_CAPTURE(r);
          if (j < lengths[r].item<int64_t>()) {
            DOCTEST_CHECK(MaxAbsDiff(changed[r][j], out[r][j]) > 1e-4);
          } else {
            DOCTEST_CHECK(AllZero(changed[r][j]));
            DOCTEST_CHECK(AllZero(out[r][j]));
          }
        }
      }
    }
  }
}

DOCTEST_TEST_CASE("encoder: padding is ignored (garbage, NaN and Inf included); length 0 gives zeros") {
  const int64_t L = 20, F = 5;
  const torch::Tensor lengths = Lengths({3, 0, 20, 7});
  for (const std::string& type : kSequenceTypes) {
    DOCTEST_CAPTURE(type);
    auto enc = Make(Options(type, int(F), int(L)));
    Rng data(3);
    torch::Tensor steps = Random({4, L, F}, data);
    FillPadding(steps, lengths, data);
    const torch::Tensor out = enc->PerPosition(steps, lengths);
    const torch::Tensor last = enc->forward(steps, lengths);
    DOCTEST_CHECK(torch::isfinite(out).all().item<bool>());
    // The 3 entries of row 0 alone, unpadded (L' = 3): the same outputs.
    const torch::Tensor alone = steps.narrow(0, 0, 1).narrow(1, 0, 3).contiguous();
    DOCTEST_CHECK(MaxAbsDiff(enc->forward(alone, Lengths({3}))[0], last[0]) <= 1e-5);
    DOCTEST_CHECK(MaxAbsDiff(enc->PerPosition(alone, Lengths({3}))[0], out[0].narrow(0, 0, 3)) <= 1e-5);
    // Other garbage: nothing changes, bit for bit.
    torch::Tensor other = steps.clone();
    FillPadding(other, lengths, data);
    DOCTEST_CHECK(torch::equal(enc->PerPosition(other, lengths), out));
    DOCTEST_CHECK(torch::equal(enc->forward(other, lengths), last));
    // Length 0: zeros; padded positions: zeros.
    DOCTEST_CHECK(AllZero(last[1]));
    DOCTEST_CHECK(AllZero(out[1]));
    DOCTEST_CHECK(AllZero(out[0].narrow(0, 3, L - 3)));
    DOCTEST_CHECK(AllZero(out[3].narrow(0, 7, L - 7)));
    DOCTEST_CHECK(!AllZero(out[0][2]));
    DOCTEST_CHECK(!AllZero(out[2][19]));
    // All rows empty.
    DOCTEST_CHECK(AllZero(enc->forward(steps, torch::zeros({4}, torch::kInt64))));
    // No gradient reaches the padding, and the garbage poisons no parameter's gradient.
    enc->train();
    torch::Tensor s = steps.clone().requires_grad_(true);
    const torch::Tensor w = Random({4, L, enc->output_dim()}, data);
    ((enc->PerPosition(s, lengths) * w).sum() + enc->forward(s, lengths).sum()).backward();
    for (int64_t r = 0; r < 4; ++r) {
      const int64_t len = lengths[r].item<int64_t>();
      DOCTEST_CHECK(AllZero(s.grad()[r].narrow(0, len, L - len)));
      DOCTEST_CHECK(torch::isfinite(s.grad()[r]).all().item<bool>());
    }
    for (const auto& p : enc->named_parameters()) {
      DOCTEST_CAPTURE(p.key());
      DOCTEST_CHECK(p.value().grad().defined());
      DOCTEST_CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
    }
  }
}

DOCTEST_TEST_CASE("encoder: forward equals PerPosition at entry 0") {
  const int64_t N = 16, L = 10, F = 6;
  Rng data(4);
  std::vector<int64_t> len;
  for (int64_t r = 0; r < N; ++r) len.push_back(data.Between(0, L));
  len[0] = L;
  const torch::Tensor lengths = Lengths(len);
  for (const std::string& type : kSequenceTypes) {
    DOCTEST_CAPTURE(type);
    auto enc = Make(Options(type, int(F), int(L), 16, 3, 4, 32));
    const torch::Tensor steps = Random({N, L, F}, data);
    const double diff = MaxAbsDiff(enc->forward(steps, lengths), enc->PerPosition(steps, lengths).select(1, 0));
    DOCTEST_MESSAGE(type << ": max |forward - PerPosition[:, 0]| = " << diff << " (float32)");
    DOCTEST_CHECK(diff <= 1e-6);
    enc->to(torch::kFloat64);
    const torch::Tensor steps64 = steps.to(torch::kFloat64);
    DOCTEST_CHECK(MaxAbsDiff(enc->forward(steps64, lengths), enc->PerPosition(steps64, lengths).select(1, 0)) <= 1e-12);
    // Without valid entries in any row (max length < L'), and with full rows only.
    enc->to(torch::kFloat32);
    for (const torch::Tensor& l : {Lengths(std::vector<int64_t>(N, 4)), Lengths(std::vector<int64_t>(N, L))})
      DOCTEST_CHECK(MaxAbsDiff(enc->forward(steps, l), enc->PerPosition(steps, l).select(1, 0)) <= 1e-6);
  }
  // In training mode without dropout, too.
  auto enc = Make(Options("transformer", int(F), int(L), 16, 2, 2, 32, 0.0));
  enc->train();
  const torch::Tensor steps = Random({N, L, F}, data);
  DOCTEST_CHECK(MaxAbsDiff(enc->forward(steps, lengths), enc->PerPosition(steps, lengths).select(1, 0)) <= 1e-6);
}

// Central differences of loss = sum(PerPosition * w1) + sum(forward * w2) against autograd, in float64, for every
// parameter element and every input element. Returns the largest relative error.
double GradientCheck(const EncoderOptions& o, bool train) {
  Rng init(11);
  SequenceEncoder enc(o, init);
  enc->to(torch::kFloat64);
  enc->train(train);
  const int64_t N = 4, L = o.max_length, F = o.input_dim, H = o.hidden;
  Rng data(12);
  torch::Tensor steps = Random({N, L, F}, data, torch::kFloat64).requires_grad_(true);
  const torch::Tensor lengths = Lengths({L, 2, 1, 0});
  const torch::Tensor w1 = Random({N, L, H}, data, torch::kFloat64), w2 = Random({N, H}, data, torch::kFloat64);
  auto loss = [&] {
    Rng d1(21), d2(22);  // the same dropout masks at every evaluation
    return (enc->PerPosition(steps, lengths, &d1) * w1).sum() + (enc->forward(steps, lengths, &d2) * w2).sum();
  };
  loss().backward();
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {{"steps", steps}};
  for (const auto& p : enc->named_parameters()) tensors.emplace_back(p.key(), p.value());
  const double eps = 1e-6;
  double worst = 0.0;
  int64_t checked = 0;
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : tensors) {
    DOCTEST_CAPTURE(name);
    DOCTEST_REQUIRE(t.grad().defined());
    double* p = t.data_ptr<double>();
    const double* g = t.grad().data_ptr<double>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double original = p[i];
      p[i] = original + eps;
      const double up = loss().item<double>();
      p[i] = original - eps;
      const double down = loss().item<double>();
      p[i] = original;
      const double fd = (up - down) / (2 * eps);
      // Relative to the larger of the two, floored at 1e-3: a finite difference of a loss of magnitude ~10 carries
      // an absolute rounding error of ~1e-10 / eps ~ 1e-9... 1e-8 whatever the gradient.
      const double rel = std::abs(fd - g[i]) / std::max({std::abs(fd), std::abs(g[i]), 1e-3});
      DOCTEST_CAPTURE(i);
      DOCTEST_CHECK(rel < 1e-5);
      worst = std::max(worst, rel);
      ++checked;
    }
  }
  DOCTEST_CHECK(checked > 100);
  return worst;
}

DOCTEST_TEST_CASE("encoder: gradients match central differences (float64)") {
  const double gru = GradientCheck(Options("gru", 3, 4, 4), false);
  const double transformer = GradientCheck(Options("transformer", 3, 4, 4, 1, 2, 6), false);
  const double two_layers = GradientCheck(Options("transformer", 3, 4, 4, 2, 2, 6), false);
  const double dropout = GradientCheck(Options("transformer", 3, 4, 4, 2, 2, 6, 0.3), true);
  DOCTEST_MESSAGE("largest relative gradient error: gru " << gru << ", transformer " << transformer << ", 2 layers "
                                                          << two_layers << ", 2 layers with dropout " << dropout);
}

DOCTEST_TEST_CASE("encoder: determinism (initialisation from the Rng, dropout masks from the dropout Rng)") {
  const int64_t N = 6, L = 8, F = 5;
  Rng data(6);
  const torch::Tensor steps = Random({N, L, F}, data);
  const torch::Tensor lengths = Lengths({8, 3, 0, 5, 1, 8});
  for (const std::string& type : kSequenceTypes) {
    DOCTEST_CAPTURE(type);
    const EncoderOptions o = Options(type, int(F), int(L), 8, 2, 2, 16, 0.25);
    auto a = Make(o, 42), b = Make(o, 42), c = Make(o, 43);
    const auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
    DOCTEST_REQUIRE(pa.size() == pb.size());
    bool any_differs = false;
    for (size_t i = 0; i < pa.size(); ++i) {
      DOCTEST_CHECK(pa[i].key() == pb[i].key());
      DOCTEST_CHECK(torch::equal(pa[i].value(), pb[i].value()));
      any_differs = any_differs || !torch::equal(pa[i].value(), pc[i].value());
    }
    DOCTEST_CHECK(any_differs);
    DOCTEST_CHECK(torch::equal(a->PerPosition(steps, lengths), b->PerPosition(steps, lengths)));
    DOCTEST_CHECK(torch::equal(a->forward(steps, lengths), b->forward(steps, lengths)));
    if (type == "gru") continue;
    // Dropout: reproducible with the same seed, not with another, and off in evaluation.
    const torch::Tensor eval = a->PerPosition(steps, lengths);
    a->train();
    Rng d1(1), d2(1), d3(2);
    const torch::Tensor t1 = a->PerPosition(steps, lengths, &d1), t2 = a->PerPosition(steps, lengths, &d2);
    const torch::Tensor t3 = a->PerPosition(steps, lengths, &d3);
    DOCTEST_CHECK(torch::equal(t1, t2));
    DOCTEST_CHECK(MaxAbsDiff(t1, t3) > 1e-3);
    DOCTEST_CHECK(MaxAbsDiff(t1, eval) > 1e-3);
    const torch::Tensor eval_last = b->forward(steps, lengths);
    Rng d5(1), d6(1);
    const torch::Tensor f1 = a->forward(steps, lengths, &d5), f2 = a->forward(steps, lengths, &d6);
    DOCTEST_CHECK(torch::equal(f1, f2));
    DOCTEST_CHECK(MaxAbsDiff(f1, eval_last) > 1e-3);
    a->eval();
    Rng d4(1);
    const Rng before = d4;
    DOCTEST_CHECK(torch::equal(a->PerPosition(steps, lengths, &d4), eval));
    Rng copy = before;
    DOCTEST_CHECK(d4() == copy());  // evaluation draws nothing
  }
}

DOCTEST_TEST_CASE("encoder: rows do not mix (a row alone or in a batch of 5)") {
  const int64_t N = 5, L = 8, F = 6;
  const std::vector<int64_t> len = {5, 0, 3, 8, 1};
  for (const std::string& type : kSequenceTypes) {
    DOCTEST_CAPTURE(type);
    auto enc = Make(Options(type, int(F), int(L), 16));
    Rng data(8);
    torch::Tensor steps = Random({N, L, F}, data);
    FillPadding(steps, Lengths(len), data);
    const torch::Tensor batch = enc->PerPosition(steps, Lengths(len));
    const torch::Tensor last = enc->forward(steps, Lengths(len));
    double worst = 0.0;
    for (int64_t r = 0; r < N; ++r) {
      const torch::Tensor row = steps.narrow(0, r, 1);
      worst = std::max(worst, MaxAbsDiff(enc->PerPosition(row, Lengths({len[size_t(r)]})), batch.narrow(0, r, 1)));
      worst = std::max(worst, MaxAbsDiff(enc->forward(row, Lengths({len[size_t(r)]})), last.narrow(0, r, 1)));
    }
    DOCTEST_MESSAGE(type << ": max |alone - in batch| = " << worst << " (float32)");
    DOCTEST_CHECK(worst <= 1e-6);
  }
}

// Prints (never asserts) the time of forward and forward + backward at the agents' sizes, on one thread: the best
// of 8 calls (after 2), in wall-clock time and in this thread's CPU time (the lower is the one to trust on a busy
// machine).
DOCTEST_TEST_CASE("encoder: microbenchmark (N = 1024, L = 20, F = 48, hidden 32)") {
  UseOneThread();
  const int64_t N = 1024, L = 20, F = 48;
  Rng data(9);
  const torch::Tensor steps = Random({N, L, F}, data);
  std::vector<int64_t> random_len;
  for (int64_t r = 0; r < N; ++r) random_len.push_back(data.Between(0, L));
  const torch::Tensor full = Lengths(std::vector<int64_t>(N, L)), mixed = Lengths(random_len);
  auto thread_ms = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
  };
  auto time_ms = [&](auto&& fn) {
    for (int i = 0; i < 2; ++i) fn();
    double wall = 1e30, cpu = 1e30;
    for (int i = 0; i < 8; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const double cpu_start = thread_ms();
      fn();
      cpu = std::min(cpu, thread_ms() - cpu_start);
      wall =
          std::min(wall, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << wall << " ms (cpu " << cpu << ")";
    return s.str();
  };
  {
    // The machine's speed at the two kinds of products that dominate (the BLAS kernels and the CPU vary).
    c10::InferenceMode guard;
    const torch::Tensor x = Random({N, L, 32}, data), w = Random({96, 32}, data), b = Random({96}, data);
    const torch::Tensor q = Random({2 * N, L, 16}, data), k = Random({2 * N, 16, L}, data);
    DOCTEST_MESSAGE("reference: Linear(32, 96) on " << N * L << " rows " << time_ms([&] { return at::linear(x, w, b); })
                                                    << ", bmm of " << 2 * N << " (20 x 16) (16 x 20) "
                                                    << time_ms([&] { return at::bmm(q, k); }));
  }
  for (const std::string& type : kSequenceTypes) {
    for (double dropout : {0.0, 0.1}) {
      if (type == "gru" && dropout > 0.0) continue;
      auto enc = Make(Options(type, int(F), int(L), 32, 2, 2, 64, dropout));
      const torch::Tensor w = Random({N, 32}, data);
      for (const torch::Tensor& lengths : {full, mixed}) {
        const std::string which = lengths.equal(full) ? "all lengths 20" : "lengths U{0..20}";
        enc->eval();
        const std::string fwd = time_ms([&] {
          c10::InferenceMode guard;
          return enc->forward(steps, lengths);
        });
        enc->train();
        Rng d(1);
        const std::string fwd_bwd = time_ms([&] {
          enc->zero_grad();
          (enc->forward(steps, lengths, &d) * w).sum().backward();
        });
        const std::string per_position = time_ms([&] {
          enc->zero_grad();
          enc->PerPosition(steps, lengths, &d).sum().backward();
        });
        DOCTEST_MESSAGE(type << " dropout " << dropout << ", " << which << ": forward (eval) " << fwd
                             << ", forward + backward " << fwd_bwd << ", PerPosition + backward " << per_position);
      }
    }
  }
}

}  // namespace
}  // namespace cohort::torch_agents
