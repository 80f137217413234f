// Offline learning from a log (`cohort train-offline`): a supervised click
// model fitted on a log of `cohort log` alone, for the "click_model" agent
// (agents/click_model.h) to act by greedily, so that `cohort run` measures the
// true online value of what was learned from the log.
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

}  // namespace cohort
