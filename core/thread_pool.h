// A persistent pool that runs ParallelFor over contiguous chunks. Work is
// split by slot, and every slot owns its random streams, so the results do
// not depend on the number of threads.
//
// Waking a sleeping thread costs a futex call and a context switch, tens of
// microseconds: at B = 1024 a simulator step is only a few hundred. So both
// sides spin for a short while before they block: a worker waiting for the
// next ParallelFor, and the caller waiting for the workers to finish. The
// spin is bounded (kSpinMicroseconds), so a pool idle between calls (an
// agent's long update, a process with more threads than cores) soon sleeps.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace cohort {

class ThreadPool {
 public:
  // How long a thread spins on a condition before it blocks.
  static constexpr int kSpinMicroseconds = 50;

  explicit ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { Worker(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    start_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on [0, n) split into size() chunks; the calling
  // thread takes chunk 0. Rethrows the first exception.
  void ParallelFor(int n, const std::function<void(int, int)>& fn) {
    if (workers_.empty() || n < 2) {
      fn(0, n);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      n_ = n;
      pending_.store(static_cast<int>(workers_.size()));
      error_ = nullptr;
      generation_.fetch_add(1, std::memory_order_release);  // publishes fn_, n_ to spinning workers
    }
    start_.notify_all();
    RunChunk(0);
    if (!SpinUntil([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, [this] { return pending_.load() == 0; });
    }
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Spins until done() or kSpinMicroseconds have passed; returns done().
  template <class Done>
  static bool SpinUntil(const Done& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicroseconds);
    for (;;) {
      for (int i = 0; i < 64; ++i) {
        if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#endif
      }
      if (std::chrono::steady_clock::now() > deadline) return done();
    }
  }

  void RunChunk(int i) {
    const int chunks = size();
    const int begin = static_cast<int>(int64_t(n_) * i / chunks);
    const int end = static_cast<int>(int64_t(n_) * (i + 1) / chunks);
    try {
      if (begin < end) (*fn_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
  }
  void Worker(int i) {
    uint64_t seen = 0;
    for (;;) {
      const auto started = [&] {
        return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
      };
      if (!SpinUntil(started)) {
        std::unique_lock<std::mutex> lock(mu_);
        start_.wait(lock, started);
      }
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      RunChunk(i);
      // The caller may be spinning (it sees 0 without the lock) or asleep on
      // done_ (it checks pending_ under the lock, so the notify cannot be lost).
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(int, int)>* fn_ = nullptr;
  int n_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
};

}  // namespace cohort
