// Meta-training of a learnable rule (`cohort meta train`) and its evaluation
// (`cohort meta eval`). The meta file (scenarios/meta/*.json), its keys and
// defaults, the run directory and the rule files are documented in
// docs/sweeps.md ("The meta file"); the design (lifetimes, paired
// antithetic ES, validation, distribution over MPI ranks) in docs/meta.md.
//
// What the code guarantees: generation g, pair p draws its training variant,
// lifetime seed and (when steps_min < steps_max) lifetime length from
// (es.seed, g, p), and both members of the pair run that same lifetime, so
// results depend neither on the thread count nor on the number of ranks. A
// run directory resumes from its checkpoint.bin.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "agents/learnable.h"
#include "env/scenario.h"
#include "meta/es.h"
#include "meta/lifetime.h"

namespace cohort {

struct MetaSpec {
  std::string file;  // the meta file
  json resolved;
  Scenario base;                             // the scenario with its family
  json agent;                                // resolved agent config (its slot for the rule is replaced by the rule)
  json rule;                                 // resolved rule config without theta
  const LearnableRule* learnable = nullptr;  // the rule's type
  LifetimeSpec lifetime;
  int64_t steps_min = 0, steps_max = 0;
  EsConfig es;
  int generations = 20;
  uint64_t init_seed = 0;
  int validation_every = 10, validation_variants = 8;
  int threads = 0;
};

// Validates the meta file (InputError naming the file and JSON path).
MetaSpec LoadMetaSpec(const std::string& path, const std::vector<std::string>& overrides);
const Schema& MetaSchema();

// The agent config with the rule (theta; empty: zeros = the baseline) in its slot.
json AgentWithRule(const MetaSpec& spec, const std::vector<float>& theta);

// Lifetimes spread over processes (MPI ranks; apps/meta_mpi.cc): rank r runs
// lifetimes i with i % size == r, and `sum` adds every rank's vector in place
// (MPI_Allreduce). Only the lifetimes' scalars travel (area, final score,
// divergence, user-steps); every rank then applies the identical ES update,
// so the result equals a single process's bit for bit. Rank 0 writes files.
struct Distribution {
  int rank = 0, size = 1;
  std::function<void(std::vector<double>&)> sum;
};

struct MetaProgress {
  int64_t generation = 0, generations = 0;
  double fitness_mean = 0.0, fitness_best = 0.0, validation = 0.0;
  bool has_validation = false;
};

struct MetaTrainOptions {
  std::string out_dir;
  const std::atomic<bool>* stop = nullptr;  // checkpoint and return when set
  std::function<void(const MetaProgress&)> progress;
  int64_t stop_at_generation = -1;             // tests: behave as if interrupted there
  const Distribution* distribution = nullptr;  // null: this process runs every lifetime
};

// Returns false when interrupted (checkpoint written).
bool MetaTrain(const MetaSpec& spec, const MetaTrainOptions& options);

// Evaluation of one rule on a split: every (variant index < variants, seed <
// seeds) lifetime, in that order. theta empty: the rule's baseline (e.g. Adam).
struct MetaEvalRow {
  int64_t variant_index = 0;
  uint64_t seed = 0;
  LifetimeResult result;
};
// Under a Distribution, curves are not gathered (rows carry area, final,
// diverged and user_steps).
std::vector<MetaEvalRow> MetaEvaluate(const MetaSpec& spec, const std::vector<float>& theta, const std::string& split,
                                      int variants, int seeds, int threads, const Distribution* distribution = nullptr);

}  // namespace cohort
