// Pieces of `cohort report`'s charts and sections (apps/report.cc), exposed so
// the tests can check how an axis or a title is chosen without parsing SVG.
#pragma once

#include <string>
#include <vector>

#include "env/scenario.h"

namespace cohort {

struct ValueAxis {
  double lo = 0.0, hi = 1.0;
  bool HoldsZero() const { return lo <= 0.0 && hi >= 0.0; }
};

// The value axis of a bar chart of `values` (group means and interval ends;
// non-finite ones are ignored): the data's range with a 5% margin. It holds 0
// only when the data differ in sign or lie near 0 (the value nearest 0 is at
// most one data span from it), and is not padded past 0 then; otherwise 163
// against 154 would be drawn as two bars of nearly one length. One distinct
// value gets +-10% of its magnitude (+-0.5 around 0); no value gives [0, 1].
ValueAxis BarValueAxis(const std::vector<double>& values);

// Labels for the ticks of one axis (core/ticks.h NiceTicks): FormatTick's,
// except that ticks reaching 10^4 print with a k, M or G suffix when the
// step needs at most two decimals of it ("10k", "12.5k", "2.5M"), never in
// exponent form ("1e+04").
std::vector<std::string> AxisTickLabels(const std::vector<double>& ticks);

// Whether the agent of a resolved scenario learns during a plain run (its
// Update changes the policy, as a bandit's does), so that the return per
// episode is a learning curve; false for privileged agents (the oracle reads
// ground truth and never learns) and for agents that cannot be built.
bool AgentLearnsOnline(const Scenario& scenario);

// The title of the report's per-episode return section: "Learning curves"
// when some plotted cell's agent learns online, else "Return per episode".
std::string ReturnSectionTitle(bool any_learner);

}  // namespace cohort
