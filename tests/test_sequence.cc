// env.observation.sequence (StepBatch's sequence_* arrays): the user's last L
// interactions, checked against a record kept by the test from the batches
// themselves (the slate shown, the response that followed), across sessions,
// auto-resets and a full buffer; an observation only (the trajectory is the
// same with and without it); checkpoints; validation.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "agents/features.h"
#include "agents/registry.h"
#include "core/rng.h"
#include "core/serialize.h"
#include "env/scenario.h"
#include "env/vec_env.h"
#include "input_error_of.h"

namespace cohort {
namespace {

std::string ScenarioPath(const std::string& name) {
  return std::string(COHORT_SOURCE_DIR) + "/scenarios/" + name + ".json";
}

// One interaction as the test records it from the batch before and after a step.
struct Interaction {
  std::vector<int32_t> topic;
  std::vector<int64_t> item;
  std::vector<float> features;
  std::vector<uint8_t> clicked, liked, disliked;
  std::vector<float> watch;
  int32_t click_position = -1;
  float reward = 0, gap = 0;
  int32_t session_step = 0;
};

// Random distinct slates for every row, from `rng`.
void RandomSlates(const StepBatch& b, Rng& rng, SlateBatch& slates) {
  slates.Resize(b.rows, b.slate_size);
  std::vector<int32_t> perm(size_t(b.num_candidates));
  for (int r = 0; r < b.rows; ++r) {
    for (int c = 0; c < b.num_candidates; ++c) perm[size_t(c)] = c;
    for (int j = 0; j < b.slate_size; ++j) {
      const int pick = j + int(rng.Below(uint32_t(b.num_candidates - j)));
      std::swap(perm[size_t(j)], perm[size_t(pick)]);
      slates.Row(r)[j] = perm[size_t(j)];
    }
  }
}

// Steps `steps` times with random slates and checks, after every step, each
// active row's sequence against the test's own record of its user's steps.
// Returns how many rows had a full sequence, a sequence across sessions, and
// an auto-reset, so the caller can check the cases were reached.
struct Coverage {
  int full = 0, across_sessions = 0, resets = 0;
};
Coverage CheckAgainstRecord(const EnvParams& params, int rows, int steps) {
  VecEnv env(params, 7, 0, VecEnv::Options{rows, 1});
  const int L = params.observation.sequence.length, k = params.slate_size;
  const int dim = params.FeatureDim();
  const bool live = params.catalog.source == CandidateSource::kLive;
  const bool embedding = params.catalog.features == FeatureKind::kEmbedding;
  std::vector<std::deque<Interaction>> record(static_cast<size_t>(rows));
  std::vector<float> session_gap(static_cast<size_t>(rows), 0.0f);
  Rng rng(11);
  SlateBatch slates;
  const StepBatch* b = &env.Reset();
  Coverage coverage;
  for (int t = 0; t < steps; ++t) {
    RandomSlates(*b, rng, slates);
    // What the slate shows, before the step replaces the candidates.
    std::vector<Interaction> shown(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      Interaction& x = shown[size_t(r)];
      x.session_step = int32_t(b->session_step[size_t(r)]);
      x.gap = session_gap[size_t(r)];
      for (int j = 0; j < k; ++j) {
        const size_t c = size_t(r) * size_t(b->num_candidates) + size_t(slates.Row(r)[j]);
        x.topic.push_back(b->topic[c]);
        if (live) x.item.push_back(b->item_id[c]);
        if (embedding) x.features.insert(x.features.end(), b->features.data() + c * dim, b->features.data() + (c + 1) * dim);
      }
    }
    b = &env.Step(slates);
    for (int r = 0; r < rows; ++r) {
      const size_t R = size_t(r);
      Interaction& x = shown[R];
      for (int j = 0; j < k; ++j) {
        const size_t s = R * size_t(k) + size_t(j);
        x.clicked.push_back(b->clicked[s]);
        x.liked.push_back(b->liked[s]);
        x.disliked.push_back(b->disliked[s]);
        x.watch.push_back(b->watch_time[s]);
      }
      x.click_position = b->click_position[R];
      x.reward = b->reward[R];
      record[R].push_front(x);
      if (record[R].size() > size_t(L)) record[R].pop_back();
      if (b->terminated[R] || b->truncated[R]) {
        record[R].clear();  // the row serves its next user now
        session_gap[R] = 0.0f;
        ++coverage.resets;
      } else if (b->session_ended[R]) {
        session_gap[R] = b->gap[R];
      }
      if (!b->active[R]) continue;
      // The batch against the record.
      const auto& want = record[R];
      REQUIRE(b->sequence_length[R] == int32_t(want.size()));
      if (want.size() == size_t(L)) ++coverage.full;
      bool sessions = false;
      for (int e = 0; e < L; ++e) {
        const size_t E = R * size_t(L) + size_t(e);
        if (size_t(e) >= want.size()) {  // padding
          for (int j = 0; j < k; ++j) CHECK(b->sequence_topic[E * size_t(k) + size_t(j)] == -1);
          CHECK(b->sequence_click_position[E] == -1);
          CHECK(b->sequence_reward[E] == 0.0f);
          continue;
        }
        const Interaction& x = want[size_t(e)];
        sessions |= x.gap > 0.0f;
        CHECK(b->sequence_click_position[E] == x.click_position);
        CHECK(b->sequence_reward[E] == x.reward);
        CHECK(b->sequence_gap[E] == x.gap);
        CHECK(b->sequence_session_step[E] == x.session_step);
        for (int j = 0; j < k; ++j) {
          const size_t s = E * size_t(k) + size_t(j);
          CHECK(b->sequence_topic[s] == x.topic[size_t(j)]);
          CHECK(b->sequence_clicked[s] == x.clicked[size_t(j)]);
          CHECK(b->sequence_liked[s] == x.liked[size_t(j)]);
          CHECK(b->sequence_disliked[s] == x.disliked[size_t(j)]);
          CHECK(b->sequence_watch_time[s] == x.watch[size_t(j)]);
          if (live) CHECK(b->sequence_item_id[s] == x.item[size_t(j)]);
          if (embedding)
            for (int i = 0; i < dim; ++i)
              CHECK(b->sequence_features[s * size_t(dim) + size_t(i)] == x.features[size_t(j * dim + i)]);
        }
      }
      coverage.across_sessions += sessions;
    }
  }
  return coverage;
}

EnvParams Params(const std::string& scenario, std::vector<std::string> overrides) {
  return LoadScenario(ScenarioPath(scenario), overrides, AgentRegistry()).env;
}

}  // namespace

TEST_CASE("sequence: the batch's sequence is the user's last L steps (RecSim's scenario)") {
  const EnvParams p = Params("recsim_interest_evolution", {"env.observation.sequence.length=6"});
  const Coverage c = CheckAgainstRecord(p, 8, 120);
  CHECK(c.full > 0);
  CHECK(c.resets > 0);
}

TEST_CASE("sequence: across sessions, on a live embedding catalog with likes (population_retention)") {
  const EnvParams p = Params("population_retention", {"env.observation.sequence.length=5"});
  REQUIRE(p.catalog.source == CandidateSource::kLive);
  REQUIRE(p.catalog.features == FeatureKind::kEmbedding);
  const Coverage c = CheckAgainstRecord(p, 6, 200);
  CHECK(c.full > 0);
  CHECK(c.across_sessions > 0);
  CHECK(c.resets > 0);
}

TEST_CASE("sequence: an observation only; absent arrays without it") {
  EnvParams with = Params("population_retention", {"env.observation.sequence.length=4"});
  EnvParams without = Params("population_retention", {});
  VecEnv a(with, 3, 0, VecEnv::Options{5, 1}), b(without, 3, 0, VecEnv::Options{5, 1});
  CHECK(b.batch().sequence == 0);
  CHECK(b.batch().sequence_length.empty());
  CHECK(b.batch().sequence_topic.empty());
  CHECK(a.spec().sequence == 4);
  Rng rng(5);
  SlateBatch slates;
  const StepBatch* x = &a.Reset();
  const StepBatch* y = &b.Reset();
  for (int t = 0; t < 150; ++t) {
    RandomSlates(*x, rng, slates);
    x = &a.Step(slates);
    y = &b.Step(slates);
    REQUIRE(x->reward == y->reward);
    REQUIRE(x->clicked == y->clicked);
    REQUIRE(x->topic == y->topic);
    REQUIRE(x->interests == y->interests);
    REQUIRE(x->user_id == y->user_id);
  }
}

TEST_CASE("sequence: a checkpoint restores the sequences; a stored length out of range is refused") {
  const EnvParams p = Params("population_retention", {"env.observation.sequence.length=3"});
  VecEnv a(p, 9, 0, VecEnv::Options{4, 1});
  Rng rng(2);
  SlateBatch slates;
  const StepBatch* b = &a.Reset();
  for (int t = 0; t < 20; ++t) {
    RandomSlates(*b, rng, slates);
    b = &a.Step(slates);
  }
  BinaryWriter w;
  a.Save(w);
  VecEnv c(p, 9, 0, VecEnv::Options{4, 1});
  c.Reset();
  BinaryReader r(w.data(), "test checkpoint");
  c.Load(r);
  CHECK(c.batch().sequence_topic == a.batch().sequence_topic);
  CHECK(c.batch().sequence_gap == a.batch().sequence_gap);
  Rng copy = rng;
  for (int t = 0; t < 30; ++t) {  // the same future, sessions and gaps included
    RandomSlates(a.batch(), rng, slates);
    a.Step(slates);
    RandomSlates(c.batch(), copy, slates);
    c.Step(slates);
    REQUIRE(a.batch().sequence_reward == c.batch().sequence_reward);
    REQUIRE(a.batch().sequence_gap == c.batch().sequence_gap);
    REQUIRE(a.batch().sequence_session_step == c.batch().sequence_session_step);
  }
  // Corrupt the first row's sequence_length (stored as int32 among the batch's
  // arrays): find the array by saving a batch whose length is a marker.
  VecEnv d(p, 9, 0, VecEnv::Options{4, 1});
  d.Reset();
  const_cast<StepBatch&>(d.batch()).sequence_length[0] = 99;  // beyond L = 3
  BinaryWriter bad;
  d.Save(bad);
  VecEnv e(p, 9, 0, VecEnv::Options{4, 1});
  BinaryReader rb(bad.data(), "corrupt checkpoint");
  CHECK_THROWS_WITH_AS(e.Load(rb), doctest::Contains("sequence_length"), std::exception);
}

TEST_CASE("sequence: validation names the key") {
  json doc = json::parse(R"({"env": {"observation": {"sequence": {"length": -1}}}})");
  CHECK(testing::InputErrorOf([&] {
          LoadScenario(doc, "s.json", {}, AgentRegistry());
        }).find("/env/observation/sequence/length") != std::string::npos);
  doc = json::parse(R"({"env": {"observation": {"sequence": {"lenght": 4}}}})");
  CHECK(testing::InputErrorOf([&] {
          LoadScenario(doc, "s.json", {}, AgentRegistry());
        }).find("did you mean \"length\"") != std::string::npos);
}

TEST_CASE("sequence: SequenceFeatures of an entry, by hand; padding is zeros") {
  const EnvParams p = Params("recsim_interest_evolution", {"env.observation.sequence.length=3"});
  VecEnv env(p, 4, 0, VecEnv::Options{2, 1});
  const SequenceFeatures f(env.spec());
  const int d = env.spec().feature_dim, k = env.spec().slate_size, F = f.dim();
  REQUIRE(F == 2 * d + 8);
  const StepBatch& b0 = env.Reset();
  std::vector<int32_t> topics(static_cast<size_t>(k));
  SlateBatch slates;
  slates.Resize(2, k);
  for (int j = 0; j < k; ++j) {
    slates.Row(0)[j] = slates.Row(1)[j] = j;
    topics[size_t(j)] = b0.topic[size_t(j)];
  }
  const StepBatch& b = env.Step(slates);
  std::vector<float> out(size_t(3 * F), -7.0f);
  f.FillRow(b, 0, out.data());
  std::vector<float> want(size_t(3 * F), 0.0f);
  for (int j = 0; j < k; ++j) {
    want[size_t(topics[size_t(j)])] += 1.0f / float(k);
    if (b.clicked[size_t(j)]) want[size_t(d + topics[size_t(j)])] += 1.0f;
  }
  const int pos = b.click_position[0];
  double watch = 0.0;
  for (int j = 0; j < k; ++j) watch += b.watch_time[size_t(j)];
  want[size_t(2 * d)] = pos >= 0 ? 1.0f : 0.0f;
  want[size_t(2 * d + 1)] = pos >= 0 ? float(pos + 1) / float(k) : 0.0f;
  want[size_t(2 * d + 2)] = float(watch / env.spec().mean_item_length);
  want[size_t(2 * d + 5)] = float(b.reward[0] / env.spec().mean_item_length);
  want[size_t(2 * d + 7)] = 1.0f;  // the session's first step
  for (size_t i = 0; i < want.size(); ++i) CHECK(out[i] == doctest::Approx(want[i]));
}

TEST_CASE("sequence: greedy by history counts the clicks on each candidate's topic") {
  const EnvParams p = Params("hidden_interests", {});
  REQUIRE(p.observation.sequence.length == 20);
  VecEnv env(p, 6, 0, VecEnv::Options{16, 1});
  AgentContext ctx{env.spec(), std::nullopt, 1, 0, 16, 0};
  auto agent = MakeAgent(json{{"type", "greedy"}, {"score", "history"}}, ctx);
  Rng rng(3);
  SlateBatch slates;
  const StepBatch* b = &env.Reset();
  int distinct = 0;
  for (int t = 0; t < 30; ++t) {
    for (int r = 0; r < b->rows; ++r) {
      std::vector<double> scores(size_t(b->num_candidates));
      REQUIRE(agent->CandidateScores(*b, r, scores.data()) == "history");
      for (int c = 0; c < b->num_candidates; ++c) {
        int n = 0;  // by hand: entries e < length, positions j clicked with the candidate's topic
        for (int e = 0; e < b->sequence_length[size_t(r)]; ++e)
          for (int j = 0; j < b->slate_size; ++j) {
            const size_t i = (size_t(r) * 20 + size_t(e)) * size_t(b->slate_size) + size_t(j);
            n += b->sequence_clicked[i] && b->sequence_topic[i] == b->topic[size_t(r * b->num_candidates + c)];
          }
        CHECK(scores[size_t(c)] == double(n));
      }
      distinct += *std::max_element(scores.begin(), scores.end()) > *std::min_element(scores.begin(), scores.end());
    }
    RandomSlates(*b, rng, slates);
    b = &env.Step(slates);
  }
  CHECK(distinct > 100);
  // With no past in the observation there is nothing to rank by: refused, naming the key.
  const EnvParams plain = Params("recsim_interest_evolution", {});
  VecEnv plain_env(plain, 6, 0, VecEnv::Options{2, 1});
  AgentContext plain_ctx{plain_env.spec(), std::nullopt, 1, 0, 2, 0};
  CHECK(testing::InputErrorOf([&] {
          MakeAgent(json{{"type", "greedy"}, {"score", "history"}}, plain_ctx);
        }).find("/agent/score") != std::string::npos);
}

}  // namespace cohort
