// core/rng.h and env/model.h: Rng::Normal is Boost's normal_distribution<double>, bit for
// bit and draw for draw, including the rare paths (the wedges, the tail)
// that its inline fast path hands on.
#include <doctest/doctest.h>

#include <boost/random/normal_distribution.hpp>
#include <cstring>

#include "core/rng.h"
#include "env/model.h"

using namespace cohort;

namespace {

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("rng: Normal equals Boost's normal_distribution bit for bit, and leaves the stream where Boost does") {
  const double params[][2] = {{0.0, 1.0}, {-3.0, 0.1}, {2.5, 7.0}, {1e-3, 1e-9}, {0.0, 0.0}};
  int64_t draws = 0, beyond_rectangle = 0, tail = 0, mismatches = 0;
  const double* table_x = boost::random::detail::normal_table<double>::table_x;
  for (uint64_t stream = 0; stream < 20; ++stream) {
    Rng ours = MakeRng(7, stream, 3, StreamPurpose::kCandidates), boosts = ours;
    for (int n = 0; n < 100'000; ++n) {
      const double* p = params[size_t(n) % 5];
      // Which path this draw takes, read off the engine's next output.
      Rng peek = ours;
      const uint64_t u = peek();
      const int layer = int(u >> 1) & 0x7f;
      const double x = double((u & ~(uint64_t(1) << 11)) >> 8) * 0x1p-56 * table_x[layer];
      if (!(x < table_x[layer + 1])) {
        ++beyond_rectangle;
        tail += layer == 0;
      }
      const double a = ours.Normal(p[0], p[1]);
      const double b = boost::random::normal_distribution<double>(p[0], p[1])(boosts);
      mismatches += !SameBits(a, b);
      ++draws;
    }
    // The same number of engine calls: the next outputs agree.
    CHECK(ours() == boosts());
  }
  CHECK(mismatches == 0);
  // Both rare paths were exercised: about 2.8% of draws leave the rectangle
  // and about 0.06% of them in the tail layer.
  CHECK(beyond_rectangle > draws / 200);
  CHECK(tail > draws / 2000);
  MESSAGE("draws ", draws, ", beyond the rectangle ", beyond_rectangle, ", tail layer ", tail);
}

// env/model.h: SampleItems (one loop per row, constants hoisted) draws exactly
// what K SampleItem calls draw, in every catalog configuration it serves.
TEST_CASE("model: SampleItems equals one SampleItem per item, draw for draw") {
  for (const bool weighted_topics : {false, true})
    for (const double quality_std : {0.0, 0.3})
      for (const double length_std : {0.0, 1.5}) {
        EnvParams p;
        p.num_topics = 7;
        if (weighted_topics) p.catalog.topic_weights = {1, 2, 3, 4, 5, 6, 7};
        p.catalog.quality_std = quality_std;
        p.catalog.length_std = length_std;
        p.catalog.length_min = 3.5;  // binds for some noisy lengths
        const PopulationModel model(p, 11, 0);
        Rng batched = MakeRng(11, 0, 5, StreamPurpose::kCandidates), one_by_one = batched;
        constexpr int kItems = 10;
        for (int row = 0; row < 500; ++row) {
          int32_t topic[kItems], topic1[kItems];
          float quality[kItems], quality1[kItems], length[kItems], length1[kItems];
          model.SampleItems(batched, kItems, topic, quality, length);
          for (int i = 0; i < kItems; ++i) model.SampleItem(one_by_one, &topic1[i], &quality1[i], &length1[i], nullptr);
          for (int i = 0; i < kItems; ++i) {
            REQUIRE(topic[i] == topic1[i]);
            REQUIRE(std::memcmp(&quality[i], &quality1[i], sizeof(float)) == 0);
            REQUIRE(std::memcmp(&length[i], &length1[i], sizeof(float)) == 0);
          }
        }
        CHECK(batched() == one_by_one());
      }
}
