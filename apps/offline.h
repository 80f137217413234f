// Offline learning from a log (`cohort train-offline LOG_DIR --agent AGENT
// --out OUT`), and the true online value of what was learned.
//
// Two learners:
// - "click_model" (the default): a supervised click model fitted on the log
//   (below), written to OUT as a model file for the "click_model" agent
//   (agents/click_model.h), which acts by it greedily.
// - an agent that learns offline (Agent::LearnsOffline: "reinforce", off-policy
//   top-K REINFORCE, agents/torch/reinforce.cc): built for the log's scenario,
//   it is handed every logged user-step with the observation the logging
//   policy saw (the log's scenario is replayed: the simulator and the logging
//   policy rerun deterministically and every replayed user and slate is checked
//   against the file), fits once, and is written to the directory OUT as a
//   training checkpoint (OUT/checkpoint.bin, OUT/scenario.resolved.json) that
//   `cohort viz --agent OUT` and LoadCheckpointAgent load.
//
// True online value: the frozen learned policy then acts on evaluation users
// (numbered from kFirstEvalUser, never in the log; as many as the log has
// users), next to the logging policy run as `cohort log` ran it and the random
// and myopic-oracle references, all on the same users, so the normalized
// scores and the learned-minus-logging difference are paired. The result is
// printed and written to OUT/summary.json (the click model:
// OUT_STEM.summary.json beside the model file).
//
// The model: logistic regression of "this logged position was clicked" on
// [u * x_c, x_c, onehot(position)] (u the observed interests, x_c the
// candidate's features: its one-hot topic or its embedding), with an L2
// penalty lambda, fitted by Newton's method (iteratively reweighted least
// squares) to a gradient norm below 1e-8 or 50 iterations. The agent ranks by
// the candidate part, w . [u * x_c, x_c]: the position terms shift every
// candidate of a position alike.
#pragma once

#include <string>

#include "env/scenario.h"

namespace cohort {

struct OfflineFit {
  json model;        // what MODEL.json holds (ClickModelJson)
  int64_t rows = 0;  // (step, position) pairs fitted
  int iterations = 0;
  double log_loss = 0.0;  // mean, at the fit
};

// Fits the click model on DIR/log.h5 and writes it atomically to `out`.
// InputError for a directory without a log or a file that is not one.
OfflineFit TrainOffline(const std::string& log_dir, const std::string& out, double lambda);

struct OfflineRequest {
  std::string log_dir;
  std::string agent = "click_model";  // an agent JSON or type
  std::string out;                    // click model: the model file; else the checkpoint directory
  double lambda = 1.0;                // the click model's L2 penalty
  bool evaluate = true;               // measure the true online value
  // >= 0: replay the log observing the last `sequence` interactions
  // (env.observation.sequence.length; the log's own when < 0), e.g. a log
  // written without a sequence, for a sequence encoder.
  int sequence = -1;
};

// Learns AGENT from the log, writes OUT, evaluates it online; returns what
// the summary file holds: {"log", "agent", "out", "fit": {...}, "online": {"users",
// "learned": {return_mean, return_ci95, normalized_score, normalized_score_ci95},
// "logging": {...}, "learned_minus_logging": {"return_mean", "ci95"},
// "random_return_mean", "oracle_return_mean"}}. InputError (exit 2) for an
// unknown agent, an agent that cannot learn offline, a log without what the
// agent needs.
json TrainOfflineAgent(const OfflineRequest& request);

// The lines `cohort train-offline` prints for a result of TrainOfflineAgent.
std::string OfflineReport(const json& result);

}  // namespace cohort
