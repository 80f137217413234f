// Variant families: a scenario may give distributions over any numeric
// parameter ("family.parameters") and split sizes. Every variant of every
// split is fixed by (family.seed, split, index); splits never contain the
// same parameter assignment twice (checked, resampling collisions of
// discrete families), and named out-of-distribution splits draw from their
// own distributions. This is what the meta layer trains and tests on.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "env/scenario.h"

namespace cohort {

struct Variant {
  std::string split;
  int64_t index = 0;
  uint64_t id = 0;                                     // unique over the family; seeds this variant's streams
  std::vector<std::pair<std::string, double>> values;  // dotted path -> value
};

class VariantFamily {
 public:
  // `base` must come from ParseScenario/LoadScenario (resolved document).
  VariantFamily(const Scenario& base, const ComponentRegistry& agents);

  // "train", "validation", "test", then the ood splits in file order.
  const std::vector<std::string>& splits() const { return split_names_; }
  int64_t SplitSize(const std::string& split) const;
  bool empty() const { return paths_.empty(); }

  // Throws InputError for an unknown split or an index outside [0, size).
  const Variant& Sample(const std::string& split, int64_t index) const;
  // The base scenario with the variant's values applied and re-validated.
  Scenario Instantiate(const Variant& variant) const;
  // "test:3" -> Sample("test", 3).
  const Variant& Parse(const std::string& split_colon_index) const;

 private:
  Scenario base_;
  const ComponentRegistry* agents_;
  std::vector<std::string> split_names_;
  std::vector<std::string> paths_;  // union of parameter paths
  std::map<std::string, std::vector<Variant>> variants_;
};

// Validates the "family" block of a resolved scenario: every path names an
// existing numeric parameter and the ends of every range are valid values.
void CheckFamily(const json& resolved, const std::string& file, const Schema& root);

}  // namespace cohort
