// The console progress line (apps/progress.h): its format, the ETA while
// nothing is done, and durations.
#include <doctest/doctest.h>

#include <cmath>

#include "apps/progress.h"

using namespace cohort;

TEST_CASE("progress: a plain run's line") {
  ProgressLine p;
  p.label = "recsim";
  p.done = 90, p.total = 200;
  p.rate = 12345.0, p.elapsed = 1.23, p.eta = 1.5;
  CHECK(FormatProgressLine(p) == "[recsim]  45.0%  90/200 episodes  12.3k user-steps/s  elapsed 1.2s  ETA 1.5s");
}

TEST_CASE("progress: reference rollouts are counted apart from the asked episodes") {
  ProgressLine p;
  p.label = "long_term_value";
  p.done = 200, p.total = 200, p.reference_done = 200, p.reference_total = 400;
  p.rate = 2.5e6, p.elapsed = 75.0, p.eta = 0.0;
  CHECK(FormatProgressLine(p) ==
        "[long_term_value]  66.7%  200/200 episodes + reference 200/400  2.50M user-steps/s  elapsed 1m15s  ETA 0.0s");
}

TEST_CASE("progress: nothing measured yet prints '?' for the rate and the ETA") {
  ProgressLine p;
  p.label = "x training", p.unit = "steps";
  p.done = 33, p.total = 60;
  CHECK(FormatProgressLine(p) == "[x training]  55.0%  33/60 steps  ? user-steps/s  elapsed 0.0s  ETA ?");
}

TEST_CASE("progress: the ETA counts only work done here and is unknown before any") {
  CHECK(std::isnan(EtaSeconds(0, 10, 5.0)));   // the first sweep cell has not ended
  CHECK(EtaSeconds(2, 8, 10.0) == 40.0);       // 2 done in 10 s: 8 more take 40 s
  CHECK(EtaSeconds(2, 0, 10.0) == 0.0);        // done
  CHECK(FormatDuration(std::nan("")) == "?");  // ETA ?
  CHECK(FormatDuration(-1.0) == "?");
}

TEST_CASE("progress: durations") {
  CHECK(FormatDuration(0.0) == "0.0s");
  CHECK(FormatDuration(59.94) == "59.9s");
  CHECK(FormatDuration(59.96) == "1m00s");
  CHECK(FormatDuration(245.0) == "4m05s");
  CHECK(FormatDuration(3599.0) == "59m59s");
  CHECK(FormatDuration(7380.0) == "2h03m");
  CHECK(HumanCount(999.0) == "999");
  CHECK(HumanCount(1500.0) == "1.5k");
  CHECK(HumanCount(std::nan("")) == "?");
}

TEST_CASE("progress: the evaluation line of a training run") {
  CHECK(FormatEvalLine("bandit training", 300, 1000, 0.51234, 0.0337) ==
        "[bandit training] evaluation at step 300/1000: normalized score 0.512 +/- 0.034");
  CHECK(FormatEvalLine("bandit training", 0, 1000, std::nan(""), std::nan("")) ==
        "[bandit training] evaluation at step 0/1000: normalized score n/a");
}
