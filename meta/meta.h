// Meta-training of a learned update rule (`cohort meta train`) and its
// evaluation (`cohort meta eval`). A meta file (scenarios/meta/*.json):
//
//   {"name": "...", "scenario": "../drifting_family.json",   a scenario with a variant family
//    "agent": {"type": "reinforce", ...},                     trained in every lifetime
//    "rule": {"type": "learned", "lr": 0.003, ...},            a learnable rule (agents/learnable.h) with
//                                                             its baseline's settings; it fills its slot
//                                                             of the agent ("learned": "optimizer")
//    "lifetime": {"steps": 60, "steps_min": 0, "steps_max": 0, "num_envs": 32, "eval_users": 64, "evals": 3,
//                 "fitness": "eval_area"},                    or "train_score" (meta/lifetime.h)
//    "es": {"pairs": 8, "generations": 40, "sigma": 0.03, "lr": 0.02, "sigma_decay": 0.999,
//           "lr_decay": 0.999, "shaping": "zscore", "seed": 0, "init_seed": 0},
//    "validation": {"every": 10, "variants": 8},
//    "threads": 0}                                             lifetimes in parallel (0: all cores)
//
// Generation g, pair p: a training variant index, a lifetime seed and (when
// steps_min < steps_max) a lifetime length T ~ log-uniform are drawn from
// (es.seed, g, p); both members of the pair run that same (variant, seed, T).
// Results do not depend on the thread count.
//
// Run directory (resumable: rerunning continues from checkpoint.bin):
//   meta.resolved.json   every default filled in
//   progress.jsonl       {"kind": "generation", generation, fitness_mean, fitness_best, diverged,
//                         sigma, lr, lifetimes, user_steps, seconds}
//                        {"kind": "validation", generation, rule_area, baseline_area, difference}
//                        (baseline: the rule at theta = 0, e.g. Adam)
//   rule.json            the current mean as a rule file (agents/learnable.h)
//   best_rule.json       the mean with the best validation area so far
//   checkpoint.bin       ES state, the lines so far, the best validation area
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
  int generations = 10;
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
