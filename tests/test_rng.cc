// core/rng.h: Rng::Normal is Boost's normal_distribution<double>, bit for
// bit and draw for draw, including the rare paths (the wedges, the tail)
// that its inline fast path hands on.
#include <doctest/doctest.h>

#include <boost/random/normal_distribution.hpp>
#include <cstring>

#include "core/rng.h"

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
  // Both rare paths were exercised: about 1.2% of draws leave the rectangle
  // and about 0.2% start in the tail layer.
  CHECK(beyond_rectangle > draws / 200);
  CHECK(tail > draws / 2000);
  MESSAGE("draws ", draws, ", beyond the rectangle ", beyond_rectangle, ", tail layer ", tail);
}
