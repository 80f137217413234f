// Random streams. There is no global RNG: every stream is seeded from
// (seed, variant, entity, purpose) through SplitMix64, so a user's candidates,
// clicks and traits do not depend on thread count, batch size or which other
// users exist. Distributions come from Boost.Random (fixed algorithms, unlike
// std:: distributions whose output differs between standard libraries).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_01.hpp>

namespace cohort {

// What a stream is used for; part of the seed derivation so streams of the
// same entity are independent.
enum class StreamPurpose : uint64_t {
  kUserInit = 1,     // segment, interests, traits of a new user
  kCandidates = 2,   // candidate items shown to a user
  kResponse = 3,     // clicks, behaviours, interest updates, leaving, returning
  kObservation = 4,  // observation noise
  kCatalog = 5,      // live catalog: initial items, arrivals, retirements
  kVariant = 6,      // variant-family parameter sampling
  kPolicy = 7,       // stochastic policies (random slates, tie breaking)
  kTopics = 8,       // topic geometry (embedding centres)
  kReport = 9,       // bootstrap resampling in `cohort report`
  kMeta = 10,        // meta layer: ES noise (seed, generation, pair), lifetime draws
  kLogging = 11,     // the logging wrapper's exploration; Monte Carlo propensities of a log
  kBots = 12,        // whether a user is a bot, and which kind (env.users.bots)
};

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Order-sensitive hash of the stream coordinates.
inline uint64_t DeriveSeed(uint64_t seed, uint64_t variant, uint64_t entity, StreamPurpose purpose) {
  uint64_t h = SplitMix64(seed);
  h = SplitMix64(h ^ variant);
  h = SplitMix64(h ^ entity);
  return SplitMix64(h ^ static_cast<uint64_t>(purpose));
}

// xoshiro256++ (Blackman & Vigna): 32 bytes of state, ~1 ns per draw, so
// every user can own its streams. Satisfies UniformRandomBitGenerator.
class Rng {
 public:
  using result_type = uint64_t;
  Rng() : Rng(0) {}
  explicit Rng(uint64_t seed) { Seed(seed); }

  void Seed(uint64_t seed) {
    // SplitMix64 expansion never yields the all-zero state.
    for (auto& w : s_) {
      seed += 0x9E3779B97F4A7C15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      w = z ^ (z >> 31);
    }
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<uint64_t>::max(); }

  result_type operator()() {
    const uint64_t result = Rotl(s_[0] + s_[3], 23) + s_[0];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

  // Uniform integer in [0, n), n > 0. Lemire's multiply-shift; the rejection
  // step keeps it exactly uniform.
  uint32_t Below(uint32_t n) {
    uint64_t m = static_cast<uint64_t>(static_cast<uint32_t>((*this)() >> 32)) * n;
    uint32_t low = static_cast<uint32_t>(m);
    if (low < n) {
      const uint32_t threshold = static_cast<uint32_t>(-n) % n;
      while (low < threshold) {
        m = static_cast<uint64_t>(static_cast<uint32_t>((*this)() >> 32)) * n;
        low = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

  // Uniform integer in [0, n), n > 0, for ranges wider than 32 bits: the same
  // method with a 128-bit product.
  uint64_t Below64(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>((*this)()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<unsigned __int128>((*this)()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  // Integers a double holds exactly: bounds read from JSON numbers (int_uniform
  // family parameters and sweep axes) must lie within +-this.
  static constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
  // Uniform integer in [a, b], a <= b, |a|, |b| <= 2^62. Ranges that fit in
  // 32 bits draw with Below (as they always have: streams are unchanged),
  // wider ones with Below64.
  int64_t Between(int64_t a, int64_t b) {
    const uint64_t n = static_cast<uint64_t>(b - a) + 1;
    if (n <= 0xffffffffull) return a + static_cast<int64_t>(Below(static_cast<uint32_t>(n)));
    return a + static_cast<int64_t>(Below64(n));
  }

  // Boost.Random's normal_distribution<double>, bit for bit: its ziggurat
  // (128 layers, 8 bits of the draw pick the layer and the sign, the rest
  // the abscissa), written out for this 64-bit engine so that the common case
  // (about 97% of draws: inside a layer's rectangle) is one engine call, a
  // table lookup and a compare, inline. The rest (a wedge or the tail) goes on
  // exactly as Boost's loop does (UnitNormalBeyondRectangle). Same draws,
  // same values: tests/test_rng.cc compares millions of draws with Boost's.
  double Normal(double mean = 0.0, double stddev = 1.0) { return UnitNormal() * stddev + mean; }
  double UnitNormal() {
    const double* table_x = boost::random::detail::normal_table<double>::table_x;
    const uint64_t u = (*this)();
    const int layer = int(u >> 1) & 0x7f;
    // Computed, not branched on: a branch on a random bit mispredicts half
    // the time (a ternary here cost 10% of the simulator's wall time).
    const double sign = double(int(u & 1) * 2 - 1);
    // Boost's generate_int_float_pair<double, 8> for a 64-bit engine: the
    // low 8 bits are the integer part; bits 8..63, with bit 11 cleared, the
    // fraction. (u >> 8 < 2^56, so the signed conversion is exact alike.)
    const double fraction = double(int64_t((u & ~(uint64_t(1) << 11)) >> 8)) * 0x1p-56;
    const double x = fraction * table_x[layer];
    if (x < table_x[layer + 1]) [[likely]]
      return x * sign;
    return UnitNormalBeyondRectangle(x, layer, sign);
  }
  double Exponential(double mean) { return boost::random::exponential_distribution<double>(1.0 / mean)(*this); }
  bool Bernoulli(double p) { return Uniform() < p; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  // The rest of one iteration of Boost's ziggurat loop for a draw outside
  // its layer's rectangle: the tail below layer 0, or the wedge test with a
  // second uniform; a rejected draw starts a new iteration (a fresh draw).
  [[gnu::noinline]] double UnitNormalBeyondRectangle(double x, int i, double sign) {
    using boost::random::detail::normal_table;
    using boost::random::detail::unit_normal_distribution;
    const double* table_x = normal_table<double>::table_x;
    const double* table_y = normal_table<double>::table_y;
    if (i == 0) return unit_normal_distribution<double>().generate_tail(*this) * sign;
    const double y01 = boost::random::uniform_01<double>()(*this);
    const double y = table_y[i] + y01 * (table_y[i + 1] - table_y[i]);
    // Boost's bounds: the chord and the tangent at (x[i], y[i]), which
    // swap roles between the convex (x[i] >= 1) and the concave layers.
    const double chord = (table_x[i] - table_x[i + 1]) * y01 - (table_x[i] - x);
    const double tangent = y - (table_y[i] + (table_x[i] - x) * table_y[i] * table_x[i]);
    const bool convex = table_x[i] >= 1;
    const double y_above_ubound = convex ? chord : tangent;
    const double y_above_lbound = convex ? tangent : chord;
    if (y_above_ubound < 0 && (y_above_lbound < 0 || y < std::exp(-(x * x / 2)))) return x * sign;
    // Rejected: a new iteration of Boost's loop, which is what UnitNormal is.
    return UnitNormal();
  }
  uint64_t s_[4];
};

inline Rng MakeRng(uint64_t seed, uint64_t variant, uint64_t entity, StreamPurpose purpose) {
  return Rng(DeriveSeed(seed, variant, entity, purpose));
}

}  // namespace cohort
