// Tests of agents/bandits.cc: hand-computed UCB1 / Sherman-Morrison / LinUCB
// cases, checkpoints, evaluation mode, and learning on
// scenarios/linear_bandit.json (cumulative regret against the myopic oracle).
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "agent_harness.h"
#include "agents/bandits.h"
#include "agents/features.h"
#include "agents/learnable.h"
#include "agents/registry.h"
#include "core/io.h"

namespace cohort {
namespace {

const std::string kLinearBandit = std::string(COHORT_SOURCE_DIR) + "/scenarios/linear_bandit.json";

constexpr auto Bandits = &testing::Family<RegisterBanditAgents>;

Scenario LinearBanditScenario(const std::vector<std::string>& sets = {}) {
  return LoadScenario(kLinearBandit, sets, AgentRegistry());
}

// Plain Gauss-Jordan inverse (with partial pivoting) of a row-major n x n matrix.
std::vector<double> DirectInverse(std::vector<double> m, int n) {
  std::vector<double> inv(size_t(n) * n, 0.0);
  for (int i = 0; i < n; ++i) inv[size_t(i) * n + i] = 1.0;
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r)
      if (std::abs(m[size_t(r) * n + c]) > std::abs(m[size_t(p) * n + c])) p = r;
    for (int j = 0; j < n; ++j) {
      std::swap(m[size_t(c) * n + j], m[size_t(p) * n + j]);
      std::swap(inv[size_t(c) * n + j], inv[size_t(p) * n + j]);
    }
    const double d = m[size_t(c) * n + c];
    for (int j = 0; j < n; ++j) {
      m[size_t(c) * n + j] /= d;
      inv[size_t(c) * n + j] /= d;
    }
    for (int r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = m[size_t(r) * n + c];
      for (int j = 0; j < n; ++j) {
        m[size_t(r) * n + j] -= f * m[size_t(c) * n + j];
        inv[size_t(r) * n + j] -= f * inv[size_t(c) * n + j];
      }
    }
  }
  return inv;
}

// What one training run records: every slate, every step's summed regret.
struct Trace {
  std::vector<int32_t> slates;
  std::vector<double> regret;  // per step, summed over active rows
  std::string checkpoint;      // Save() at the end
};

// Drives `agent` for `steps` steps on `env` (already Reset, current batch `b`),
// appending to `trace`. Regret: oracle value minus the chosen slate's
// expected reward, both for the observation the slate answers. With
// `inspect`, CandidateScores on every row before and after each Act.
const StepBatch* Drive(Agent& agent, VecEnv& env, const StepBatch* b, int steps, Trace& trace, bool inspect = false) {
  SlateBatch s;
  s.Resize(env.num_envs(), b->slate_size);
  std::vector<int32_t> oracle(size_t(b->slate_size));
  for (int t = 0; t < steps; ++t) {
    if (inspect) testing::InspectAllRows(agent, *b);
    agent.Act(*b, s);
    if (inspect) testing::InspectAllRows(agent, *b);
    double regret = 0.0;
    for (int r = 0; r < b->rows; ++r) {
      if (!b->active[size_t(r)]) continue;
      regret += env.OracleSlate(r, oracle.data()) - env.ExpectedReward(r, s.Row(r));
    }
    trace.regret.push_back(regret);
    trace.slates.insert(trace.slates.end(), s.index.begin(), s.index.end());
    b = &env.Step(s);
    agent.Observe(*b);
    agent.Update();
  }
  return b;
}

AgentContext Context(const Scenario& sc, const VecEnv& env, uint64_t seed, int B, int64_t total_steps) {
  return AgentContext{MakeEnvSpec(sc.env), GroundTruth(env), seed, 0, B, total_steps};
}

Trace Train(const Scenario& sc, const json& config, uint64_t seed, int B, int steps, bool inspect = false) {
  VecEnv::Options o;
  o.num_envs = B;
  VecEnv env(sc.env, seed, 0, o);
  auto agent = Bandits().Make(config, Context(sc, env, seed, B, steps));
  Trace trace;
  Drive(*agent, env, &env.Reset(), steps, trace, inspect);
  BinaryWriter w;
  agent->Save(w);
  trace.checkpoint = w.data();
  return trace;
}

double Sum(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0.0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s;
}

const std::vector<json>& AllBandits() {
  static const std::vector<json> configs = {
      json{{"type", "epsilon_greedy"}, {"epsilon", 0.2}, {"schedule", "linear"}},
      json{{"type", "ucb1"}},
      json{{"type", "linucb"}},
      json{{"type", "linear_ts"}, {"refresh", 3}},
  };
  return configs;
}

TEST_CASE("bandit registry: every bandit type is registered and learns") {
  const Scenario sc = LinearBanditScenario();
  VecEnv::Options o;
  o.num_envs = 4;
  VecEnv env(sc.env, 1, 0, o);
  for (const char* type : {"epsilon_greedy", "ucb1", "linucb", "linear_ts"}) {
    INFO(type);
    REQUIRE(Bandits().Has(type));
    CHECK(AgentRegistry().Find(type) != nullptr);
    auto agent = Bandits().Make(json{{"type", type}}, Context(sc, env, 1, 4, 0));
    CHECK(agent->learns());
    CHECK(agent->type() == type);
  }
  CHECK(sc.agent["type"] == "linucb");
}

TEST_CASE("bandit ucb1 score on known counts") {
  using bandits::Ucb1Score;
  // Arm with 3 clicks in 4 pulls, 10 pulls in all, c = 1: 0.75 + sqrt(2 ln 10 / 4).
  CHECK(Ucb1Score(3, 4, 10, 1.0) == doctest::Approx(0.75 + std::sqrt(2.0 * std::log(10.0) / 4.0)));
  CHECK(Ucb1Score(3, 4, 10, 1.0) == doctest::Approx(1.822983).epsilon(1e-6));
  CHECK(Ucb1Score(1, 2, 10, 0.5) == doctest::Approx(0.5 + 0.5 * std::sqrt(std::log(10.0))));
  CHECK(Ucb1Score(0, 0, 10, 1.0) == std::numeric_limits<double>::infinity());
  // c = 0: the plain mean.
  CHECK(Ucb1Score(2, 8, 100, 0.0) == doctest::Approx(0.25));
  // Fewer pulls, same mean: larger bonus.
  CHECK(Ucb1Score(1, 2, 50, 1.0) > Ucb1Score(10, 20, 50, 1.0));
}

TEST_CASE("bandit ucb1 agent tries unseen arms first") {
  // Resampled catalog: arms are the 10 topics. After one step on 8 rows x 2
  // positions, every topic the first step offered has been pulled; a row
  // whose candidates include an unseen topic must show it.
  const Scenario sc = LinearBanditScenario();
  const int B = 8;
  VecEnv::Options o;
  o.num_envs = B;
  VecEnv env(sc.env, 3, 0, o);
  auto agent = Bandits().Make(json{{"type", "ucb1"}}, Context(sc, env, 3, B, 0));
  const StepBatch* b = &env.Reset();
  SlateBatch s;
  s.Resize(B, b->slate_size);
  std::vector<int> seen(10, 0);
  for (int t = 0; t < 5; ++t) {
    agent->Act(*b, s);
    // Within one step all rows score with the same counts: each row's slate
    // holds its unseen topics first (up to the slate size).
    for (int r = 0; r < B; ++r) {
      int unseen_offered = 0;  // candidates of a topic never shown (several may share one)
      for (int c = 0; c < b->num_candidates; ++c)
        unseen_offered += !seen[size_t(b->topic[size_t(r) * b->num_candidates + c])];
      int unseen_shown = 0;
      for (int j = 0; j < b->slate_size; ++j)
        unseen_shown += !seen[size_t(b->topic[size_t(r) * b->num_candidates + size_t(s.Row(r)[j])])];
      CHECK(unseen_shown == std::min(unseen_offered, b->slate_size));
    }
    for (int r = 0; r < B; ++r)
      for (int j = 0; j < b->slate_size; ++j)
        seen[size_t(b->topic[size_t(r) * b->num_candidates + size_t(s.Row(r)[j])])] = 1;
    b = &env.Step(s);
    agent->Observe(*b);
    agent->Update();
  }
}

TEST_CASE("bandit sherman-morrison inverse equals the direct inverse") {
  SUBCASE("1-d by hand") {
    bandits::RidgeStats st(1, 2.0, 0);
    const double x = 3.0;
    st.Add(&x, 1.0);  // A = 2 + 9 = 11, b = 3
    CHECK(st.a()[0] == doctest::Approx(11.0));
    CHECK(st.a_inv()[0] == doctest::Approx(1.0 / 11.0));
    std::vector<double> theta;
    st.Mean(theta);
    CHECK(theta[0] == doctest::Approx(3.0 / 11.0));
    CHECK(st.Quadratic(&x) == doctest::Approx(9.0 / 11.0));
  }
  SUBCASE("4-d, several updates") {
    const int d = 4;
    const double lambda = 0.5;
    const std::vector<std::vector<double>> xs = {{1.0, 0.0, 2.0, -1.0},
                                                 {0.5, -1.5, 0.0, 1.0},
                                                 {2.0, 1.0, 1.0, 0.0},
                                                 {-1.0, 0.3, 0.7, 2.0},
                                                 {0.0, 0.0, 1.0, 1.0}};
    bandits::RidgeStats st(d, lambda, 0);
    std::vector<double> a(size_t(d) * d, 0.0);
    for (int i = 0; i < d; ++i) a[size_t(i) * d + i] = lambda;
    for (const auto& x : xs) {
      st.Add(x.data(), 1.0);
      for (int i = 0; i < d; ++i)
        for (int j = 0; j < d; ++j) a[size_t(i) * d + j] += x[size_t(i)] * x[size_t(j)];
    }
    const std::vector<double> direct = DirectInverse(a, d);
    for (size_t i = 0; i < direct.size(); ++i) {
      CHECK(st.a()[i] == doctest::Approx(a[i]));
      CHECK(st.a_inv()[i] == doctest::Approx(direct[i]).epsilon(1e-12));
    }
    // The exact re-inversion agrees with the rank-1 updates.
    bandits::RidgeStats again = st;
    again.Reinvert();
    for (size_t i = 0; i < direct.size(); ++i) CHECK(again.a_inv()[i] == doctest::Approx(direct[i]).epsilon(1e-12));
  }
  SUBCASE("Cholesky factor") {
    const std::vector<double> m = {4, 2, 2, 3};  // L = [[2, 0], [1, sqrt 2]]
    std::vector<double> l;
    REQUIRE(bandits::CholeskyLower(m, 2, l));
    CHECK(l[0] == doctest::Approx(2.0));
    CHECK(l[1] == 0.0);
    CHECK(l[2] == doctest::Approx(1.0));
    CHECK(l[3] == doctest::Approx(std::sqrt(2.0)));
    CHECK_FALSE(bandits::CholeskyLower({1, 2, 2, 1}, 2, l));
  }
}

// Candidate rows shaped like CandidateFeatures on recsim_interest_evolution
// (t topics): [u (t) | one-hot topic (t) | u * one-hot (t) | match | length |
// budget | 1], u and budget shared by the row's K candidates.
std::vector<double> RecsimLikeRow(std::mt19937_64& gen, int t, int K) {
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_int_distribution<int> topic(0, t - 1);
  const int d = 3 * t + 4;
  std::vector<double> u(static_cast<size_t>(t));
  for (double& v : u) v = unit(gen);
  const double budget = 0.5 + 0.5 * unit(gen);
  std::vector<double> x(size_t(K) * size_t(d), 0.0);
  for (int c = 0; c < K; ++c) {
    double* xc = &x[size_t(c) * size_t(d)];
    const int j = topic(gen);
    for (int i = 0; i < t; ++i) xc[i] = u[size_t(i)];
    xc[t + j] = 1.0;
    xc[2 * t + j] = u[size_t(j)];
    xc[3 * t] = unit(gen) > 0.0 ? 0.5 : 0.0;
    xc[3 * t + 1] = 1.0;
    xc[3 * t + 2] = budget;
    xc[3 * t + 3] = 1.0;
  }
  return x;
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0.0;
  for (const double x : v) m = std::max(m, std::abs(x));
  return m;
}

TEST_CASE("bandit batched ridge statistics equal the sequential ones") {
  const int t = 20, d = 3 * t + 4, K = 10, k = 2;
  std::mt19937_64 gen(7);
  std::bernoulli_distribution click(0.3);
  // reinvert_every 0: the sequential statistics are pure Sherman-Morrison,
  // the hardest reference for the batched re-inversion to agree with.
  bandits::RidgeStats sequential(d, 1.0, 0), batched(d, 1.0, 0);
  std::vector<double> xs, ys;
  double worst = 0.0;
  for (int step = 0; step < 300; ++step) {
    // A batch of 16 rows x k shown items (at least the re-inversion threshold).
    xs.clear();
    ys.clear();
    for (int r = 0; r < 16; ++r) {
      const std::vector<double> row = RecsimLikeRow(gen, t, K);
      for (int j = 0; j < k; ++j) {
        xs.insert(xs.end(), row.begin() + ptrdiff_t(j) * d, row.begin() + ptrdiff_t(j + 1) * d);
        ys.push_back(click(gen) ? 1.0 : 0.0);
      }
    }
    const int64_t n = int64_t(ys.size());
    REQUIRE(n >= bandits::RidgeStats::BatchReinvertThreshold(d));
    for (int64_t i = 0; i < n; ++i) sequential.Add(&xs[size_t(i) * d], ys[size_t(i)]);
    batched.AddBatch(xs.data(), ys.data(), n);
    // A and b: the same additions in the same order, bit for bit.
    REQUIRE(batched.count() == sequential.count());
    REQUIRE(batched.a() == sequential.a());
    REQUIRE(batched.b() == sequential.b());
    // A^-1: equal within 1e-9 of its largest entry at every step.
    std::vector<double> diff(sequential.a_inv().size());
    for (size_t i = 0; i < diff.size(); ++i) diff[i] = batched.a_inv()[i] - sequential.a_inv()[i];
    worst = std::max(worst, MaxAbs(diff) / MaxAbs(sequential.a_inv()));
  }
  MESSAGE("largest relative A^-1 difference batched vs sequential: " << worst);
  CHECK(worst < 1e-9);
  // The batched inverse is the exact inverse of A up to round-off.
  const std::vector<double> direct = DirectInverse(batched.a(), d);
  std::vector<double> diff(direct.size());
  for (size_t i = 0; i < diff.size(); ++i) diff[i] = batched.a_inv()[i] - direct[i];
  CHECK(MaxAbs(diff) / MaxAbs(direct) < 1e-12);

  SUBCASE("a batch below the threshold is the sequential updates bit for bit") {
    const int64_t n = bandits::RidgeStats::BatchReinvertThreshold(d) - 1;
    bandits::RidgeStats one(d, 1.0, 5), all(d, 1.0, 5);  // with re-inversions inside the batch
    for (int64_t i = 0; i < n; ++i) one.Add(&xs[size_t(i) * d], ys[size_t(i)]);
    all.AddBatch(xs.data(), ys.data(), n);
    CHECK(all.a() == one.a());
    CHECK(all.a_inv() == one.a_inv());
    CHECK(all.b() == one.b());
  }
}

TEST_CASE("bandit RowSplit dots and widths equal the dense ones") {
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  const auto check_row = [&](const std::vector<double>& x, int K, int d, const bandits::RidgeStats& st) {
    std::vector<double> theta(static_cast<size_t>(d));
    for (double& v : theta) v = unit(gen);
    bandits::RowSplit split;
    split.Split(x.data(), K, d);
    std::vector<double> dots(static_cast<size_t>(K));
    split.Dots(theta.data(), dots.data());
    const std::vector<double>& q = split.Quadratics(st.a_inv().data());
    REQUIRE(q.size() == size_t(K));
    for (int c = 0; c < K; ++c) {
      const double* xc = &x[size_t(c) * size_t(d)];
      double dot = 0.0, scale = 0.0;
      for (int i = 0; i < d; ++i) {
        dot += theta[size_t(i)] * xc[i];
        scale += std::abs(theta[size_t(i)] * xc[i]);
      }
      CHECK(std::abs(dots[size_t(c)] - dot) <= 1e-12 * scale);
      const double dense = st.Quadratic(xc);
      CHECK(std::abs(q[size_t(c)] - dense) <= 1e-9 * dense);
    }
  };
  SUBCASE("recsim-like rows, along a run of updates") {
    const int t = 20, d = 3 * t + 4, K = 10;
    bandits::RidgeStats st(d, 1.0, 0);
    for (int step = 0; step < 200; ++step) {
      const std::vector<double> x = RecsimLikeRow(gen, t, K);
      check_row(x, K, d, st);
      for (int c = 0; c < 2; ++c) st.Add(&x[size_t(c) * d], 1.0);
    }
  }
  SUBCASE("dense random rows, one candidate, all shared, all varying") {
    const int d = 9;
    bandits::RidgeStats st(d, 0.5, 0);
    std::vector<double> x(size_t(5) * d);
    for (int i = 0; i < 50; ++i) {
      for (double& v : x) v = unit(gen);
      st.Add(x.data(), 0.0);
    }
    check_row(x, 5, d, st);                                              // every column varies
    check_row(std::vector<double>(x.begin(), x.begin() + d), 1, d, st);  // K = 1: all shared
    std::vector<double> same(size_t(4) * d);
    for (int c = 0; c < 4; ++c) std::copy_n(x.begin(), d, same.begin() + ptrdiff_t(c) * d);
    check_row(same, 4, d, st);  // identical candidates
    std::vector<double> zeros(size_t(3) * d, 0.0);
    zeros[4] = 2.0;  // one varying nonzero, the rest zero
    check_row(zeros, 3, d, st);
  }
}

TEST_CASE("bandit linear Observe learns each shown item once, in slate order") {
  // recsim_interest_evolution: episode lengths vary, so with a user cap some
  // slots run out of users before slots after them do, and inactive rows sit
  // between active ones. The agents' batched statistics must equal
  // sequential Sherman-Morrison updates with the shown items' features.
  const Scenario sc =
      LoadScenario(std::string(COHORT_SOURCE_DIR) + "/scenarios/recsim_interest_evolution.json", {}, AgentRegistry());
  const int B = 32;
  for (const std::string type : {"linucb", "linear_ts"}) {
    INFO(type);
    VecEnv::Options o;
    o.num_envs = B;
    o.max_users = B + B / 2;
    VecEnv env(sc.env, 5, 0, o);
    auto agent = Bandits().Make(json{{"type", type}}, Context(sc, env, 5, B, 0));
    const CandidateFeatures features(env.spec());
    const int d = features.dim();
    bandits::RidgeStats reference(d, 1.0, 0);
    const StepBatch* b = &env.Reset();
    const int k = b->slate_size;
    SlateBatch s;
    s.Resize(B, k);
    std::vector<float> f(static_cast<size_t>(d));
    std::vector<double> shown;
    int gaps = 0;  // steps with an inactive row before an active one
    for (int t = 0; t < 120; ++t) {
      agent->Act(*b, s);
      shown.clear();
      bool inactive_seen = false, gap = false;
      for (int r = 0; r < B; ++r) {
        if (!b->active[size_t(r)]) {
          inactive_seen = true;
          continue;
        }
        gap = gap || inactive_seen;
        for (int j = 0; j < k; ++j) {
          features.Fill(*b, r, s.Row(r)[j], f.data());
          shown.insert(shown.end(), f.begin(), f.end());
        }
      }
      gaps += gap;
      std::vector<int> rows;
      for (int r = 0; r < B; ++r)
        if (b->active[size_t(r)]) rows.push_back(r);
      b = &env.Step(s);
      for (size_t i = 0; i < rows.size(); ++i)
        for (int j = 0; j < k; ++j)
          reference.Add(&shown[(i * size_t(k) + size_t(j)) * size_t(d)],
                        b->clicked[size_t(rows[i]) * size_t(k) + size_t(j)] ? 1.0 : 0.0);
      agent->Observe(*b);
      agent->Update();
    }
    CHECK(gaps > 0);
    // Compare through the posterior mean x.theta the evaluation scores show.
    agent->SetTraining(false);
    std::vector<double> theta, scores(static_cast<size_t>(b->num_candidates));
    reference.Mean(theta);
    int compared = 0;
    for (int r = 0; r < B; ++r) {
      if (!b->active[size_t(r)]) continue;
      REQUIRE(agent->CandidateScores(*b, r, scores.data()) == "posterior mean");
      for (int c = 0; c < b->num_candidates; ++c) {
        features.Fill(*b, r, c, f.data());
        double dot = 0.0, scale = 0.0;
        for (int i = 0; i < d; ++i) {
          dot += theta[size_t(i)] * double(f[size_t(i)]);
          scale += std::abs(theta[size_t(i)] * double(f[size_t(i)]));
        }
        CHECK(std::abs(scores[size_t(c)] - dot) <= 1e-9 * scale);
        ++compared;
      }
    }
    CHECK(compared > 0);
  }
}

// One row, three candidates with 1-d embeddings: CandidateFeatures gives
// f_c = [u, x_c, u x_c, history 0, length/mean 1, budget 0, bias 1].
struct TinyBatch {
  StepBatch b;
  TinyBatch(double u, const std::vector<float>& x) {
    const int K = int(x.size());
    b.rows = 1;
    b.num_candidates = K;
    b.slate_size = 1;
    b.dim = 1;
    b.candidate_features = true;
    b.active = {1};
    b.user_id = {0};
    b.reward = {0.0f};
    b.clicked = {0};
    b.interests = {float(u)};
    b.budget = {std::numeric_limits<float>::quiet_NaN()};
    b.item_id.assign(size_t(K), -1);
    b.topic.assign(size_t(K), 0);
    b.length.assign(size_t(K), 4.0f);
    b.features = x;
  }
};

std::vector<double> TinyFeatures(double u, double x) { return {u, x, u * x, 0.0, 1.0, 0.0, 1.0}; }

TEST_CASE("bandit linucb picks the arm a hand computation predicts") {
  const Scenario sc = LinearBanditScenario({"env.catalog.embedding_dim=1", "env.users.segments.0.center=[]",
                                            "env.candidates=3", "env.slate_size=1", "env.catalog.length_mean=4"});
  const double alpha = 1.0, lambda = 1.0, u = 0.5;
  const std::vector<float> x = {0.2f, -0.9f, 0.6f};
  AgentContext ctx{MakeEnvSpec(sc.env), std::nullopt, 7, 0, 1, 0};
  auto agent = Bandits().Make(json{{"type", "linucb"}, {"alpha", alpha}, {"lambda", lambda}}, ctx);
  TinyBatch tb(u, x);
  SlateBatch s;
  s.Resize(1, 1);

  // Step 1: theta = 0, A^-1 = I / lambda: the widest |f_c| wins, the
  // candidate with the largest |x| (|f|^2 = u^2 + x^2 + u^2 x^2 + 2).
  agent->Act(tb.b, s);
  CHECK(s.Row(0)[0] == 1);

  // Clicked: A = I + f1 f1^T, b = f1, so theta = f1 / (1 + |f1|^2) and
  // A^-1 = I - f1 f1^T / (1 + |f1|^2).
  tb.b.clicked = {1};
  agent->Observe(tb.b);
  const std::vector<double> f1 = TinyFeatures(u, x[1]);
  double n1 = 0.0;
  for (double v : f1) n1 += v * v;
  std::vector<double> score(3);
  for (int c = 0; c < 3; ++c) {
    const std::vector<double> f = TinyFeatures(u, x[size_t(c)]);
    double ff = 0.0, f1f = 0.0;
    for (size_t i = 0; i < f.size(); ++i) {
      ff += f[i] * f[i];
      f1f += f1[i] * f[i];
    }
    score[size_t(c)] = f1f / (1.0 + n1) + alpha * std::sqrt(ff - f1f * f1f / (1.0 + n1));
  }
  // By hand: |f_c|^2 = 2.25 + 1.25 x_c^2 (|f1|^2 = 3.2625), f1.f_c = 2.25 - 1.125 x_c;
  // scores 1.6318, 1.6403, 1.8248: the less explored candidate 2 wins.
  CHECK(score[0] == doctest::Approx(1.6318).epsilon(1e-3));
  CHECK(score[1] == doctest::Approx(1.6403).epsilon(1e-3));
  CHECK(score[2] == doctest::Approx(1.8248).epsilon(1e-3));
  tb.b.clicked = {0};
  agent->Act(tb.b, s);
  CHECK(s.Row(0)[0] == 2);

  // Evaluation mode ranks by theta.f alone: candidate 1 (the clicked one).
  agent->SetTraining(false);
  agent->Act(tb.b, s);
  CHECK(s.Row(0)[0] == 1);
}

TEST_CASE("bandit evaluation mode is greedy and deterministic") {
  // Epsilon-greedy with epsilon = 1 explores on every training step; in
  // evaluation it must rank by the estimates, the same slates twice.
  const Scenario sc = LinearBanditScenario();
  const int B = 64;
  VecEnv::Options o;
  o.num_envs = B;
  VecEnv env(sc.env, 2, 0, o);
  auto agent = Bandits().Make(json{{"type", "epsilon_greedy"}, {"epsilon", 1.0}}, Context(sc, env, 2, B, 0));
  Trace trace;
  Drive(*agent, env, &env.Reset(), 300, trace);
  agent->SetTraining(false);
  // The same seed: topic geometry derives from the environment seed.
  VecEnv e1(sc.env, 2, 0, o), e2(sc.env, 2, 0, o);
  Trace t1, t2;
  Drive(*agent, e1, &e1.Reset(), 20, t1);
  agent->SetTraining(false);  // each evaluation restarts the evaluation streams
  Drive(*agent, e2, &e2.Reset(), 20, t2);
  CHECK(t1.slates == t2.slates);
  // Greedy on topic means beats the training policy's uniform ranking.
  MESSAGE("greedy " << Sum(t1.regret, 0, t1.regret.size()) << " random " << Sum(trace.regret, 280, 300));
  CHECK(Sum(t1.regret, 0, t1.regret.size()) < Sum(trace.regret, 280, 300));
}

// The scores of every active row of `b` (empty vectors for inactive rows),
// checking each is named `name`.
std::vector<std::vector<double>> RowScores(const Agent& agent, const StepBatch& b, const std::string& name) {
  std::vector<std::vector<double>> out(size_t(b.rows));
  for (int r = 0; r < b.rows; ++r) {
    if (!b.active[size_t(r)]) continue;
    out[size_t(r)].resize(size_t(b.num_candidates));
    CHECK(agent.CandidateScores(b, r, out[size_t(r)].data()) == name);
  }
  return out;
}

TEST_CASE("bandit CandidateScores are what Act ranks by") {
  struct Case {
    json config;
    std::string train_name, eval_name;  // train_name "": training ranks by samples or at random
  };
  const std::vector<Case> cases = {
      {{{"type", "epsilon_greedy"}, {"epsilon", 0.0}}, "mean estimate", "mean estimate"},
      {{{"type", "epsilon_greedy"}, {"epsilon", 0.2}}, "", "mean estimate"},
      {{{"type", "ucb1"}}, "UCB index", "mean estimate"},
      {{{"type", "linucb"}}, "UCB index", "posterior mean"},
      {{{"type", "linear_ts"}}, "", "posterior mean"},
  };
  const Scenario sc = LinearBanditScenario();
  const int B = 16;
  for (const Case& c : cases) {
    INFO(c.config.dump());
    VecEnv::Options o;
    o.num_envs = B;
    VecEnv env(sc.env, 9, 0, o), eval_env(sc.env, 10, 0, o);
    auto agent = Bandits().Make(c.config, Context(sc, env, 9, B, 0));
    SlateBatch s;
    s.Resize(B, sc.env.slate_size);
    const StepBatch* b = &env.Reset();
    for (int t = 0; t < 40; ++t) {
      if (!c.train_name.empty()) {
        const auto scores = RowScores(*agent, *b, c.train_name);
        agent->Act(*b, s);
        for (int r = 0; r < B; ++r)
          if (b->active[size_t(r)]) CHECK(testing::TopKMismatch(scores[size_t(r)], s.Row(r), b->slate_size) == "");
      } else {
        agent->Act(*b, s);
      }
      b = &env.Step(s);
      agent->Observe(*b);
      agent->Update();
    }
    agent->SetTraining(false);
    const StepBatch* e = &eval_env.Reset();
    int distinct = 0;  // rows whose scores are not all equal: the check has teeth
    for (int t = 0; t < 10; ++t) {
      const auto scores = RowScores(*agent, *e, c.eval_name);
      agent->Act(*e, s);
      for (int r = 0; r < B; ++r) {
        if (!e->active[size_t(r)]) continue;
        const std::vector<double>& v = scores[size_t(r)];
        CHECK(testing::TopKMismatch(v, s.Row(r), e->slate_size) == "");
        distinct += *std::max_element(v.begin(), v.end()) != *std::min_element(v.begin(), v.end());
      }
      e = &eval_env.Step(s);
    }
    CHECK(distinct > 10 * B / 2);
    StepBatch inactive = *e;
    inactive.active[0] = 0;
    std::vector<double> none(size_t(e->num_candidates));
    CHECK(agent->CandidateScores(inactive, 0, none.data()) == "");
  }
}

TEST_CASE("bandit linear_ts shows the posterior mean in both modes; linucb adds its width in training") {
  const Scenario sc = LinearBanditScenario();
  const int B = 8;
  for (const char* type : {"linear_ts", "linucb"}) {
    INFO(type);
    VecEnv::Options o;
    o.num_envs = B;
    VecEnv env(sc.env, 12, 0, o);
    auto agent = Bandits().Make(json{{"type", type}}, Context(sc, env, 12, B, 0));
    Trace trace;
    const StepBatch* b = Drive(*agent, env, &env.Reset(), 25, trace);
    const auto training = RowScores(*agent, *b, type == std::string("linucb") ? "UCB index" : "posterior mean");
    agent->SetTraining(false);
    const auto eval = RowScores(*agent, *b, "posterior mean");
    int wider = 0;
    for (int r = 0; r < B; ++r) {
      for (size_t c = 0; c < training[size_t(r)].size(); ++c) {
        if (type == std::string("linear_ts")) {
          CHECK(training[size_t(r)][c] == eval[size_t(r)][c]);
        } else {
          CHECK(training[size_t(r)][c] >= eval[size_t(r)][c]);
          wider += training[size_t(r)][c] > eval[size_t(r)][c];
        }
      }
    }
    if (type == std::string("linucb")) CHECK(wider > 0);
  }
}

TEST_CASE("bandit learning: linear bandits have sublinear regret below epsilon-greedy") {
  // scenarios/linear_bandit.json, B = 64 rows for 2000 steps (6400 users of
  // 20 steps), seed 1. Regret per step summed over rows.
  const Scenario sc = LinearBanditScenario();
  const int B = 64, steps = 2000;
  const uint64_t seed = 1;
  const Trace eps = Train(sc, json{{"type", "epsilon_greedy"}, {"epsilon", 0.1}}, seed, B, steps);
  const Trace random_eps = Train(sc, json{{"type", "epsilon_greedy"}, {"epsilon", 1.0}}, seed, B, steps);
  const Trace linucb = Train(sc, json{{"type", "linucb"}}, seed, B, steps);
  const Trace ts = Train(sc, json{{"type", "linear_ts"}}, seed, B, steps);
  const size_t h = size_t(steps / 2), n = size_t(steps);
  auto report = [&](const char* name, const Trace& t) {
    MESSAGE(std::string(name) << ": cumulative regret " << Sum(t.regret, 0, n) << " (first half " << Sum(t.regret, 0, h)
                              << ", second half " << Sum(t.regret, h, n) << ", last 10% "
                              << Sum(t.regret, n - n / 10, n) << ")");
  };
  report("random ranking", random_eps);
  report("epsilon_greedy(0.1)", eps);
  report("linucb", linucb);
  report("linear_ts", ts);
  for (const Trace* t : {&linucb, &ts}) {
    const double first = Sum(t->regret, 0, h), second = Sum(t->regret, h, n);
    CHECK(second < 0.5 * first);  // sublinear: the second half adds far less than the first
    CHECK(Sum(t->regret, 0, n) < 0.5 * Sum(eps.regret, 0, n));
  }
  // Epsilon-greedy over topics learns something (below random) but stays linear.
  CHECK(Sum(eps.regret, 0, n) < Sum(random_eps.regret, 0, n));
}

// ---- Exploration component ("fixed" / learnable "meta_schedule") -----------

json WithExploration(json config, const json& exploration) {
  config["exploration"] = exploration;
  return config;
}

std::vector<float> ExplorationTheta(std::vector<float> schedule, float log_precision, std::vector<float> prior) {
  std::vector<float> t = std::move(schedule);
  t.push_back(log_precision);
  t.insert(t.end(), prior.begin(), prior.end());
  return t;
}

TEST_CASE("bandit exploration: meta_schedule at theta = 0 and at InitialTheta equals fixed bit for bit") {
  const Scenario sc = LinearBanditScenario();
  const int B = 16, steps = 60;
  const uint64_t seed = 3;
  const std::vector<float> initial = InitialTheta(bandits::ExplorationRule(), 5);
  REQUIRE(initial.size() == size_t(bandits::kExplorationThetaSize));
  for (const json& config : AllBandits()) {
    INFO(config.dump());
    const Trace fixed = Train(sc, WithExploration(config, {{"type", "fixed"}}), seed, B, steps);
    const Trace plain = Train(sc, config, seed, B, steps);  // "fixed" is the default
    const Trace zeros = Train(sc, WithExploration(config, {{"type", "meta_schedule"}}), seed, B, steps);
    const Trace init =
        Train(sc, WithExploration(config, {{"type", "meta_schedule"}, {"theta", initial}}), seed, B, steps);
    CHECK(plain.slates == fixed.slates);
    CHECK(plain.checkpoint == fixed.checkpoint);
    CHECK(zeros.slates == fixed.slates);
    CHECK(zeros.checkpoint == fixed.checkpoint);
    CHECK(init.slates == fixed.slates);
    CHECK(init.checkpoint == fixed.checkpoint);
    // A nonzero schedule does change what the agent does (the slot is live).
    const Trace more =
        Train(sc,
              WithExploration(config, {{"type", "meta_schedule"},
                                       {"theta", ExplorationTheta({1.5f, 0, 0, 0}, 0, {0, 0, 0, 0, 0, 0, 0})}}),
              seed, B, steps);
    CHECK(more.slates != fixed.slates);
  }
}

TEST_CASE("bandit exploration schedule by hand at a few t/T") {
  // theta . [1, p, p^2, log(T)/10] with theta = [0.5, -1, 2, 0.3], T = 100:
  // log(100)/10 = 0.46052, so z(p) = 0.63816 - p + 2 p^2.
  const json config = {{"type", "meta_schedule"},
                       {"file", ""},
                       {"theta", ExplorationTheta({0.5f, -1.0f, 2.0f, 0.3f}, 0, {0, 0, 0, 0, 0, 0, 0})}};
  const bandits::Exploration e(config, "exploration");
  CHECK(e.Scale(0, 100) == doctest::Approx(1.8929853).epsilon(1e-6));    // exp(0.63816)
  CHECK(e.Scale(25, 100) == doctest::Approx(1.6705537).epsilon(1e-6));   // exp(0.51316)
  CHECK(e.Scale(100, 100) == doctest::Approx(5.1456675).epsilon(1e-6));  // exp(1.63816)
  CHECK(e.Scale(500, 100) == e.Scale(100, 100));                         // p is capped at 1
  CHECK(e.Scale(7, 0) == doctest::Approx(std::exp(0.5)).epsilon(1e-6));  // T unknown: p = 0, log T = 0
  CHECK(e.PrecisionScale() == 1.0);
  // The log-scale is clipped at +-5.
  const bandits::Exploration big({{"type", "meta_schedule"},
                                  {"file", ""},
                                  {"theta", ExplorationTheta({40.0f, 0, 0, 0}, -40.0f, {0, 0, 0, 0, 0, 0, 0})}},
                                 "exploration");
  CHECK(big.Scale(3, 10) == doctest::Approx(std::exp(5.0)));
  CHECK(big.PrecisionScale() == doctest::Approx(std::exp(-5.0)));
  // "fixed": the agent's own parameters.
  const bandits::Exploration fixed({{"type", "fixed"}}, "exploration");
  CHECK(fixed.Scale(3, 10) == 1.0);
  CHECK(fixed.PriorMean(2) == std::vector<double>(10, 0.0));
}

TEST_CASE("bandit exploration prior enters the ridge posterior mean") {
  SUBCASE("2-d by hand") {
    // lambda = 2, prior mean m = (1, -0.5); one observation x = (1, 1), y = 0:
    // A = [[3, 1], [1, 3]], b = lambda m = (2, -1), A^-1 = [[3, -1], [-1, 3]] / 8,
    // mean = (6 + 1, -2 - 3) / 8 = (0.875, -0.625).
    bandits::RidgeStats st(2, 2.0, 0, {1.0, -0.5});
    std::vector<double> mean;
    st.Mean(mean);
    CHECK(mean[0] == doctest::Approx(1.0));  // no data: the prior mean
    CHECK(mean[1] == doctest::Approx(-0.5));
    const double x[2] = {1.0, 1.0};
    st.Add(x, 0.0);
    st.Mean(mean);
    CHECK(mean[0] == doctest::Approx(0.875));
    CHECK(mean[1] == doctest::Approx(-0.625));
  }
  SUBCASE("block layout and precision") {
    // d = 2: [u u | x x | ux ux | match | length | budget | bias].
    const bandits::Exploration e(
        {{"type", "meta_schedule"},
         {"file", ""},
         {"theta", ExplorationTheta({0, 0, 0, 0}, float(std::log(2.0)), {1, 2, 3, 4, 5, 6, 7})}},
        "exploration");
    CHECK(e.PriorMean(2) == std::vector<double>{1, 1, 2, 2, 3, 3, 4, 5, 6, 7});
    CHECK(e.PrecisionScale() == doctest::Approx(2.0));
  }
  SUBCASE("an untrained linear bandit ranks by the prior mean") {
    // f_c = [u, x_c, u x_c, 0, 1, 0, 1] with u = 0.5, x = (0.2, -0.9, 0.6):
    // a prior weight +1 on the u*x block scores u x_c (candidate 2 best),
    // -1 scores -u x_c (candidate 1 best); greedy evaluation, no data.
    const Scenario sc = LinearBanditScenario({"env.catalog.embedding_dim=1", "env.users.segments.0.center=[]",
                                              "env.candidates=3", "env.slate_size=1", "env.catalog.length_mean=4"});
    TinyBatch tb(0.5, {0.2f, -0.9f, 0.6f});
    SlateBatch s;
    s.Resize(1, 1);
    for (const char* type : {"linucb", "linear_ts"}) {
      for (float w : {1.0f, -1.0f}) {
        INFO(type << " weight " << w);
        AgentContext ctx{MakeEnvSpec(sc.env), std::nullopt, 7, 0, 1, 10};
        const json theta = ExplorationTheta({0, 0, 0, 0}, 0, {0, 0, w, 0, 0, 0, 0});
        auto agent =
            Bandits().Make(json{{"type", type}, {"exploration", {{"type", "meta_schedule"}, {"theta", theta}}}}, ctx);
        agent->SetTraining(false);
        agent->Act(tb.b, s);
        CHECK(s.Row(0)[0] == (w > 0 ? 2 : 1));
      }
    }
  }
}

TEST_CASE("bandit exploration rule file round trip") {
  namespace fs = std::filesystem;
  const LearnableRule& rule = bandits::ExplorationRule();
  CHECK(rule.slot == "exploration");
  CHECK(rule.theta_size == bandits::kExplorationThetaSize);
  REQUIRE(Bandits().learnables().size() == 1);
  CHECK(Bandits().learnables()[0].type == "meta_schedule");
  const fs::path dir = fs::temp_directory_path() / ("cohort_test_bandit_rule_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "rule.json").string();
  const std::vector<float> theta =
      ExplorationTheta({0.25f, -0.5f, 0.125f, 1.0f}, 0.3f, {0, 0.1f, 0.7f, 0, 0, 0, -0.2f});
  WriteRuleFile(path, rule, theta, {{"note", "test"}});
  CHECK(ReadRuleFile(path, rule) == theta);
  // The agent reads the file exactly as the inline theta.
  const Scenario sc = LinearBanditScenario();
  const json base = {{"type", "linear_ts"}};
  const Trace from_file = Train(sc, WithExploration(base, {{"type", "meta_schedule"}, {"file", path}}), 2, 8, 30);
  const Trace inline_theta = Train(sc, WithExploration(base, {{"type", "meta_schedule"}, {"theta", theta}}), 2, 8, 30);
  CHECK(from_file.slates == inline_theta.slates);
  CHECK(from_file.checkpoint == inline_theta.checkpoint);
  // Another rule's file is refused, naming the file and its kind.
  json doc = ReadJsonFile(path);
  doc["kind"] = "cohort_learned_optimizer";
  WriteFileAtomic(path, doc.dump());
  try {
    ReadRuleFile(path, rule);
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("/kind") != std::string::npos);
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("bandit exploration theta of the wrong size is an InputError naming the key") {
  const Scenario sc = LinearBanditScenario();
  AgentContext ctx{MakeEnvSpec(sc.env), std::nullopt, 1, 0, 1, 10};
  try {
    Bandits().Make(json{{"type", "linucb"}, {"exploration", {{"type", "meta_schedule"}, {"theta", {0.1, 0.2, 0.3}}}}},
                   ctx);
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    const std::string what = e.what();
    CHECK(what.find("exploration") != std::string::npos);
    CHECK(what.find("/theta") != std::string::npos);
    CHECK(what.find("expected 12 numbers, got 3") != std::string::npos);
  }
  // Both a file and an inline theta: refused too.
  CHECK_THROWS_AS(Bandits().Make(json{{"type", "linucb"},
                                      {"exploration",
                                       {{"type", "meta_schedule"}, {"file", "x.json"}, {"theta", json::array({0.1})}}}},
                                 ctx),
                  InputError);
}

}  // namespace
}  // namespace cohort
