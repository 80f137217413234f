// Progress on stderr: a live line with rate and ETA on a terminal, a plain
// line every few seconds otherwise (logs, CI).
//
// The rate and the ETA count only the work done in this process: the first
// Update is the starting point (the runner and the trainer make one before
// any work, a resumed training run with the counts it resumed from), so steps
// done before a resume do not inflate the rate. Until something is done the
// ETA prints "?". The line itself is built by FormatProgressLine, a pure
// function of the numbers, so its format is tested without a terminal.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace cohort {

// 0.0s .. 59.9s, then 4m05s, then 2h03m; "?" for NaN or a negative value
// (unknown).
inline std::string FormatDuration(double seconds) {
  char buf[48];
  if (!(seconds >= 0.0)) return "?";
  if (seconds < 59.95) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3599.5) {
    const long s = std::lround(seconds);
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    const long m = std::lround(seconds / 60.0);
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", m / 60, m % 60);
  }
  return buf;
}

// 12, 12.3k, 1.23M (rates); "?" for NaN.
inline std::string HumanCount(double x) {
  char buf[32];
  if (std::isnan(x)) return "?";
  if (x >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", x / 1e6);
  else if (x >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", x / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", x);
  return buf;
}

// The time left at the rate of the work done so far in this process: `done`
// units in `elapsed` seconds with `remaining` to go; NaN (unknown) while
// nothing is done.
inline double EtaSeconds(double done, double remaining, double elapsed) {
  if (!(done > 0.0) || !(elapsed >= 0.0)) return std::nan("");
  return remaining > 0.0 ? remaining * elapsed / done : 0.0;
}

struct ProgressLine {
  std::string label, unit = "episodes";
  int64_t done = 0, total = 0;                      // the work asked for (episodes or training steps)
  int64_t reference_done = 0, reference_total = 0;  // reference rollouts of a run (0/0: none)
  double rate = std::nan("");                       // user-steps per second in this process; NaN: unknown
  double elapsed = 0.0;                             // seconds since the process started the work
  double eta = std::nan("");                        // seconds left; NaN: unknown
};

// "[label]  45.0%  90/200 episodes  12.3k user-steps/s  elapsed 1.2s  ETA 1.5s"; with reference rollouts
// "[label]  83.3%  200/200 episodes + reference 300/400  ...". The percentage covers both.
inline std::string FormatProgressLine(const ProgressLine& p) {
  const int64_t all = p.total + p.reference_total, all_done = p.done + p.reference_done;
  const double frac = all > 0 ? double(all_done) / double(all) : 1.0;
  char head[96];
  std::snprintf(head, sizeof head, "] %5.1f%%  %lld/%lld ", 100.0 * frac, (long long)p.done, (long long)p.total);
  std::string s = "[" + p.label + head + p.unit;
  if (p.reference_total > 0)
    s += " + reference " + std::to_string(p.reference_done) + "/" + std::to_string(p.reference_total);
  return s + "  " + HumanCount(p.rate) + " user-steps/s  elapsed " + FormatDuration(p.elapsed) + "  ETA " +
         FormatDuration(p.eta);
}

// "[label] evaluation at step 300/1000: normalized score 0.512 +/- 0.034" (n/a when undefined): the console
// line for each evaluation of a training run (TrainOptions::on_eval).
inline std::string FormatEvalLine(const std::string& label, int64_t step, int64_t total, double score, double ci95) {
  char buf[160];
  if (std::isfinite(score))
    std::snprintf(buf, sizeof buf, "] evaluation at step %lld/%lld: normalized score %.3f +/- %.3f", (long long)step,
                  (long long)total, score, std::isfinite(ci95) ? ci95 : 0.0);
  else
    std::snprintf(buf, sizeof buf, "] evaluation at step %lld/%lld: normalized score n/a", (long long)step,
                  (long long)total);
  return "[" + label + buf;
}

class Progress {
 public:
  Progress(std::string label, bool enabled, std::string unit = "episodes")
      : label_(std::move(label)),
        unit_(std::move(unit)),
        enabled_(enabled),
        tty_(isatty(STDERR_FILENO)),
        start_(std::chrono::steady_clock::now()),
        last_(start_) {}

  // `steps`: user-steps so far (a count that restarts is taken as a new pass
  // and added to the passes before it); `done` of `total` units; with
  // reference rollouts, `reference_done` of `reference_total` episodes.
  void Update(int64_t steps, int64_t done, int64_t total, int64_t reference_done = 0, int64_t reference_total = 0) {
    if (!enabled_) return;
    if (steps < last_steps_) steps_base_ += last_steps_;
    last_steps_ = steps;
    const int64_t all_steps = steps_base_ + steps, all_done = done + reference_done;
    const auto now = std::chrono::steady_clock::now();
    if (!started_) started_ = true, first_time_ = now, first_steps_ = all_steps, first_done_ = all_done;
    const bool finished = all_done >= total + reference_total;
    if (!tty_ && !finished && now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    ProgressLine p{label_, unit_, done, total, reference_done, reference_total};
    p.elapsed = std::chrono::duration<double>(now - start_).count();
    const double measured = std::chrono::duration<double>(now - first_time_).count();
    if (measured > 0) p.rate = double(all_steps - first_steps_) / measured;
    p.eta = finished ? 0.0
                     : EtaSeconds(double(all_done - first_done_), double(total + reference_total - all_done), measured);
    Print(FormatProgressLine(p), !finished);
  }

  // A line of its own (e.g. FormatEvalLine), above the live line on a terminal.
  void Message(const std::string& line) {
    if (!enabled_) return;
    Print(line, false);
  }

  static std::string Human(double x) { return HumanCount(x); }

 private:
  // On a terminal the live line is redrawn in place (padded over a longer
  // previous one); a finished line or a message ends with a newline.
  void Print(const std::string& line, bool live) {
    if (tty_) {
      std::string out = "\r" + line;
      if (line.size() < live_width_) out += std::string(live_width_ - line.size(), ' ');
      live_width_ = live ? line.size() : 0;
      std::fprintf(stderr, "%s%s", out.c_str(), live ? "" : "\n");
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }

  std::string label_, unit_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_, first_time_;
  bool started_ = false;
  int64_t steps_base_ = 0, last_steps_ = 0, first_steps_ = 0, first_done_ = 0;
  size_t live_width_ = 0;
};

}  // namespace cohort
