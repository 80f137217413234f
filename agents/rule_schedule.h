// Pieces the built-in rules (update_rules.cc) and the learned rule
// (learned_optimizer.cc) share: the learning-rate schedule and Adam's keys.
// Internal to agents/: include only from rule implementations.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "agents/update_rules.h"

namespace cohort::rule_detail {

struct Schedule {
  double lr = 1e-3;
  std::string kind = "constant";
  double final_fraction = 0.0;
  int64_t warmup_steps = 0;
  explicit Schedule(const json& c)
      : lr(c["lr"].get<double>()),
        kind(c["schedule"].get<std::string>()),
        final_fraction(c["final_fraction"].get<double>()),
        warmup_steps(c["warmup_steps"].get<int64_t>()) {}
  double At(const StepInfo& info) const {
    double f = 1.0;
    const double p = std::min(1.0, std::max(0.0, info.progress));
    if (kind == "linear")
      f = 1.0 - (1.0 - final_fraction) * p;
    else if (kind == "cosine")
      f = final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
    if (warmup_steps > 0 && info.step < warmup_steps) f *= double(info.step) / double(warmup_steps);
    return lr * f;
  }
};

inline void AddScheduleKeys(Schema& s, double lr) {
  s.PositiveNumber("lr", lr, "learning rate")
      .String("schedule", "constant", {"constant", "linear", "cosine"}, "learning-rate schedule over training progress")
      .Number("final_fraction", 0.0, 0.0, 1.0, "linear/cosine: lr at the end as a fraction of lr")
      .Integer("warmup_steps", 0, 0, 1'000'000'000, "linear warm-up over the first updates");
}

// Adam's moment and weight-decay keys (the learned rule is residual on Adam).
inline void AddAdamKeys(Schema& adam) {
  adam.Number("beta1", 0.9, 0.0, 0.999999, "first-moment decay")
      .Number("beta2", 0.999, 0.0, 0.999999999, "second-moment decay")
      .PositiveNumber("eps", 1e-8, "denominator constant")
      .Number("weight_decay", 0.0, 0.0, 1e300, "weight decay")
      .Bool("decoupled", false, "decoupled weight decay (AdamW) instead of an L2 gradient term");
}

}  // namespace cohort::rule_detail
