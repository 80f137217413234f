// `cohort ope --terms FILE`: the per-logged-step numbers the estimators read,
// written to an HDF5 file so that other estimator libraries can be run on
// exactly the same inputs (docs/ope.md, "The terms file").
//
// One row per logged step, in the log's order. Group `terms` holds what an
// estimator may read: the reward and its credit per position, the logging
// policy's conditionals and position marginals of the logged slate, the
// target's (on the logged slate, and its full position marginals over the K
// candidates), and the direct method's predictions (on the logged slate, and
// for every candidate at every position). Group `truth` holds the exact
// target value of each logged state, which no estimator may read. Every
// column has a `doc` attribute; the file's attributes say which log, target
// and scenario the numbers come from. Written as FILE.partial and renamed
// (apps/h5_table.h), so a reader never sees a partial file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ope.h"
#include "core/schema.h"

namespace cohort {

struct OpeTermsColumns {
  const OpeData* data = nullptr;                             // reward .. model_target_value (core/ope.h)
  int K = 0;                                                 // candidates per step
  const std::vector<int64_t>* user = nullptr;                // n
  const std::vector<int64_t>* slate = nullptr;               // n k: candidate indices in position order
  const std::vector<double>* slate_propensity = nullptr;     // n
  const std::vector<double>* pi_position_item = nullptr;     // n k K: pi(candidate c at position j)
  const std::vector<double>* model_position_item = nullptr;  // n k K: r_hat(c at position j)
  const std::vector<double>* truth_value = nullptr;          // n: E_{s ~ pi} E[r | x_i, s]
};

// Refuses (InputError naming --terms) a path whose directory does not exist
// or that is a directory; called before the replays so a bad path fails fast.
void CheckOpeTermsPath(const std::string& path);

// Writes the file; `attributes` become string attributes of the file (a JSON
// value's dump for non-strings).
void WriteOpeTerms(const std::string& path, const OpeTermsColumns& c, const json& attributes);

}  // namespace cohort
