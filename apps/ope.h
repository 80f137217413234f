// `cohort ope LOG_DIR --target AGENT`: off-policy estimates of a target
// policy's value on a log written by `cohort log`, next to the exact truth.
//
// The value is the contextual-bandit one (core/ope.h): the expected reward
// per logged step had the target chosen the slate in each logged state. The
// estimators read the log's columns (rewards, the logging propensities) and
// the target's probabilities of the logged slates. Those, and the truth, need
// the logged states themselves, so the log's scenario (recorded in the file)
// is replayed: the simulator and the logging policy rerun deterministically
// and every replayed slate and user is checked against the file, step by step
// ("the log does not replay" otherwise). At each logged state the frozen
// target (evaluation mode) gives its slate law (agents/slate_law.h): its
// conditionals and position marginals on the logged slate for the
// estimators, and the truth E_{s ~ target} E[r | state, s], exact over every
// ordered slate of positive probability (at most 20,000; else a Monte Carlo
// mean of 1,024 draws, labelled).
//
// The direct method's reward model is a ridge regression of each position's
// reward (the step's reward at the clicked position, 0 elsewhere) on
// [u * x_c, x_c, onehot(position)], u the observed interests and x_c the
// candidate's features (one-hot topic or embedding), fitted on the log in a
// first replay; the second replay computes every column.
#pragma once

#include <string>
#include <vector>

#include "core/ope.h"
#include "env/scenario.h"

namespace cohort {

struct OpeRequest {
  std::string log_dir;
  std::string target;                   // agent JSON, an agent type, or a scenario file (its agent)
  std::vector<std::string> estimators;  // empty: all (OpeEstimatorNames)
  OpeOptions options;
  std::string terms;  // also write the per-step terms to this HDF5 file (apps/ope_terms.h); "": none
};

// {"log", "target", "steps", "truth": {"value", "method"}, "logging": {"value"},
//  "estimators": {name: {"estimate", "ci95": [lo, hi], "error"}}, "skipped": {name: reason}}.
// InputError for a directory without a log, a target that cannot be
// evaluated (no closed-form law, another slate size), an unknown estimator,
// a `terms` path whose directory does not exist.
json EvaluateOffPolicy(const OpeRequest& request);

// The same on several logs (seeds of one logging run, say): {"logs": [each
// log's result], "over_logs": {name: {"bias", "stddev", "rmse", "logs"}}},
// each estimator's error against each log's own truth (core/ope.h
// ErrorOverLogs). An estimator skipped on any log is left out of over_logs.
// A request with `terms` is refused (the file holds one log's terms).
json EvaluateOverLogs(const std::vector<std::string>& log_dirs, const OpeRequest& request);

// One log's result (EvaluateOffPolicy) as flat numbers, for a sweep cell's
// summary.json and so `cohort report`: `log_summary` (log.json's: slates,
// episodes, ...) plus "truth", "logged_reward" and per estimator E
// "E_estimate", "E_error" (estimate - truth), "E_squared_error",
// "E_abs_error" and "E_covered" (1 when the truth lies in its 95% interval,
// so the mean over cells is the interval's coverage); with episodes, the same
// for "pdis" against the true return.
json OpeSummary(const json& result, const json& log_summary);
// Every key an OpeSummary may have (for checking a sweep's report block
// before any cell has run).
const std::vector<std::string>& OpeSummaryKeys();

// The readable table `cohort ope` prints (one log, or several).
std::string OpeTable(const json& result);

}  // namespace cohort
