// Memory estimates: the large allocations a run will make, added up before
// it makes them, so that a scenario too large for the machine is refused
// (InputError, exit 2) with the keys that drive the size named, instead of
// validating and then dying in std::bad_alloc or the OOM killer.
//
// An estimate is a list of parts ("user state of 1048576 slots", 13.5 GiB,
// driven by run.num_envs and env.num_topics), each counted from the shapes
// that decide it: slots x feature dimension, candidates x dimension, the
// live catalog, observation history, boredom, the variant family's splits.
// Only what grows with the input is counted (a few MB of fixed overhead are
// not), so an estimate is a lower bound of what the process will hold.
//
// This file has the simulator's parts; agents/memory.h adds the agent's state
// and the runner's records and is where `cohort validate`, `cohort run` and
// the meta commands get the estimate of a whole run (EstimateRunMemory).
//
// The estimate is compared with the memory available (AvailableMemory):
// COHORT_MEMORY_LIMIT when set, else MemAvailable in /proc/meminfo, lowered
// to what the process's cgroup still allows (a SLURM or container limit).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/schema.h"
#include "env/params.h"

namespace cohort {

struct MemoryPart {
  std::string what;               // "user state of 1048576 slots x 4096 dims"
  std::vector<std::string> keys;  // the keys that drive it, with their values: "run.num_envs=1048576"
  double bytes = 0.0;
};

class MemoryEstimate {
 public:
  // A part of `bytes` bytes (counted as a double: products of large counts
  // must not wrap). Parts of 0 bytes are dropped.
  void Add(std::string what, std::vector<std::string> keys, double bytes);
  // Every part of `other`, `copies` times (e.g. one per thread), its text
  // prefixed with `prefix`.
  void Add(const MemoryEstimate& other, double copies = 1.0, const std::string& prefix = "");
  double bytes() const;
  const std::vector<MemoryPart>& parts() const { return parts_; }
  // The largest parts first: "what (key=value, ...): 1.2 GiB; ...".
  std::string Describe(size_t max_parts = 4) const;
  // The keys of the largest part ("" when there are none).
  std::string LargestKey() const;

 private:
  std::vector<MemoryPart> parts_;
};

// "1.5 GiB", "640 MiB", "12 KiB", "800 B".
std::string FormatBytes(double bytes);

// The memory a run may use. `bytes` < 0: no limit is known or the check is
// off (COHORT_MEMORY_LIMIT=off); `source` says where the number comes from.
struct AvailableMemory {
  double bytes = -1.0;
  std::string source;
};
// COHORT_MEMORY_LIMIT (bytes, or with a K, M, G or T suffix, powers of 1024:
// "64G", "512M"; "off" disables the check; anything else is an InputError
// naming the variable), else MemAvailable of /proc/meminfo, lowered to the
// cgroup's limit less its usage when that is smaller (cgroup v2 memory.max,
// v1 memory.limit_in_bytes).
AvailableMemory FindAvailableMemory();
// Parses a COHORT_MEMORY_LIMIT value (tests); -1 for "off". Throws InputError.
double ParseMemoryLimit(const std::string& text);

// Throws InputError(file, pointer of the largest part's first key, ...) when
// `estimate` exceeds FindAvailableMemory(): the estimate and what is
// available, the largest parts with their keys, and how to proceed. `what`
// names what needs the memory ("the run", "the largest cell").
// `pointer`, when given, replaces that of the largest part's key (a sweep
// file names no scenario key).
void CheckMemory(const MemoryEstimate& estimate, const std::string& file, const std::string& what = "the run",
                 const std::string* pointer = nullptr);

// The dotted key "run.num_envs" with its value in `resolved` (a resolved
// scenario): "run.num_envs=1048576"; the key alone when it is absent.
std::string KeyWithValue(const json& resolved, const std::string& dotted);

// A VecEnv of `rows` slots (env/vec_env.h): the per-row user state
// (VecEnv::VisitState), the StepBatch (StepBatch::ForEachField), the hidden
// candidate qualities and the population model. `resolved` names the keys;
// `rows_key` is the key (with its value) that sets `rows`, e.g.
// "run.num_envs=256".
void AddVecEnvMemory(const EnvParams& env, const json& resolved, int64_t rows, const std::string& rows_key,
                     MemoryEstimate& out, const std::string& what = "simulator");
// `copies` copies of a live catalog of `items` items (env/model.h Catalog);
// nothing for resampled candidates.
void AddCatalogMemory(const EnvParams& env, const json& resolved, double items, double copies, MemoryEstimate& out);
// The live catalog's items after `ticks` steps: its initial size, the
// new_items events up to then and arrival_rate x ticks (retired items keep
// their entries). 0 for resampled candidates.
double CatalogItems(const EnvParams& env, double ticks);
// The variant family of a resolved scenario (env/variants.h): VariantFamily
// holds every variant of every split, and the set of their assignments.
void AddFamilyMemory(const json& resolved, MemoryEstimate& out);

}  // namespace cohort
