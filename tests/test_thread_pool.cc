// core/thread_pool.h: every index is run exactly once, by chunks that do not
// depend on timing, whether the workers are still spinning from the last call
// or have gone to sleep; exceptions reach the caller.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

using namespace cohort;

namespace {

// Runs ParallelFor(n) and returns how often each index was visited.
std::vector<int> Visits(ThreadPool& pool, int n) {
  std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
  pool.ParallelFor(n, [&](int begin, int end) {
    for (int i = begin; i < end; ++i) seen[size_t(i)].fetch_add(1);
  });
  std::vector<int> out;
  for (auto& s : seen) out.push_back(s.load());
  return out;
}

}  // namespace

TEST_CASE("thread pool: back-to-back calls (workers spinning) visit every index once") {
  for (int threads : {2, 3, 5}) {
    ThreadPool pool(threads);
    for (int call = 0; call < 2000; ++call) {
      const int n = 1 + call % 37;
      const std::vector<int> v = Visits(pool, n);
      for (int i = 0; i < n; ++i) REQUIRE(v[size_t(i)] == 1);
    }
  }
}

TEST_CASE("thread pool: calls after the workers went to sleep still run") {
  ThreadPool pool(2);
  for (int call = 0; call < 5; ++call) {
    // Longer than the spin: the workers block on the condition variable.
    std::this_thread::sleep_for(std::chrono::microseconds(20 * ThreadPool::kSpinMicroseconds));
    const std::vector<int> v = Visits(pool, 1000);
    for (int x : v) REQUIRE(x == 1);
  }
}

TEST_CASE("thread pool: chunks are the same contiguous ranges every call") {
  ThreadPool pool(3);
  for (int call = 0; call < 50; ++call) {
    std::vector<int> chunk_begin(10, -1);  // index -> the begin of the chunk that ran it
    pool.ParallelFor(10, [&](int begin, int end) {
      for (int i = begin; i < end; ++i) chunk_begin[size_t(i)] = begin;
    });
    REQUIRE(chunk_begin == std::vector<int>{0, 0, 0, 3, 3, 3, 6, 6, 6, 6});
  }
}

TEST_CASE("thread pool: an exception in a worker's chunk reaches the caller, and the pool goes on") {
  ThreadPool pool(2);
  for (int call = 0; call < 20; ++call) {
    CHECK_THROWS_AS(pool.ParallelFor(100,
                                     [&](int begin, int) {
                                       if (begin > 0) throw std::runtime_error("worker chunk");
                                     }),
                    std::runtime_error);
    const std::vector<int> v = Visits(pool, 100);
    for (int x : v) REQUIRE(x == 1);
  }
}
