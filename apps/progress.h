// Progress on stderr: a live line with rate and ETA on a terminal, a plain
// line every few seconds otherwise (logs, CI).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace cohort {

class Progress {
 public:
  Progress(std::string label, bool enabled, std::string unit = "episodes")
      : label_(std::move(label)),
        unit_(std::move(unit)),
        enabled_(enabled),
        tty_(isatty(STDERR_FILENO)),
        start_(std::chrono::steady_clock::now()),
        last_(start_) {}

  void Update(int64_t steps, int64_t done, int64_t total) {
    if (!enabled_) return;
    // A new pass restarts its step count: bank the previous pass's steps.
    if (steps < last_steps_) steps_base_ += last_steps_;
    last_steps_ = steps;
    const auto now = std::chrono::steady_clock::now();
    const bool finished = done >= total;
    if (!tty_ && !finished && now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? double(steps_base_ + steps) / elapsed : 0.0;
    const double frac = total > 0 ? double(done) / double(total) : 1.0;
    const double eta = frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
    std::fprintf(stderr, "%s[%s] %5.1f%%  %lld/%lld %s  %s user-steps/s  elapsed %.1fs  ETA %.1fs%s", tty_ ? "\r" : "",
                 label_.c_str(), 100.0 * frac, (long long)done, (long long)total, unit_.c_str(), Human(rate).c_str(),
                 elapsed, eta, tty_ ? "   " : "\n");
    if (tty_ && finished) std::fputc('\n', stderr);
    std::fflush(stderr);
  }
  static std::string Human(double x) {
    char buf[32];
    if (x >= 1e6)
      std::snprintf(buf, sizeof buf, "%.2fM", x / 1e6);
    else if (x >= 1e3)
      std::snprintf(buf, sizeof buf, "%.1fk", x / 1e3);
    else
      std::snprintf(buf, sizeof buf, "%.0f", x);
    return buf;
  }

 private:
  std::string label_, unit_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_;
  int64_t steps_base_ = 0, last_steps_ = 0;
};

}  // namespace cohort
