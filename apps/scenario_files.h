// Scenario files by name: the shipped scenarios (scenarios/NAME.json, found
// in the working directory's scenarios/ or the source tree's) and the loading
// that `cohort run`/`validate` and the Python package share, so that a
// scenario named the same way gives the same Scenario and the same errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "env/scenario.h"

namespace cohort {

// Names of the shipped scenarios (scenarios/*.json), sorted.
std::vector<std::string> ShippedScenarioNames();

// A path, or the name of a shipped scenario (scenarios/NAME.json). A name
// that is neither is refused (InputError) with the shipped names listed and
// a suggestion.
std::string ResolveScenario(const std::string& name);

// The scenario `name` (ResolveScenario) with `sets` applied ("path=value"),
// then `seed` and `threads` when given, checked against the memory available
// (CheckRunMemory), and instantiated as `variant` ("split:index") when given.
Scenario LoadNamedScenario(const std::string& name, std::vector<std::string> sets, std::optional<int64_t> seed,
                           std::optional<int> threads, const std::optional<std::string>& variant);
// Same for a document given in memory (the Python package's dict); `file`
// names it in errors.
Scenario LoadScenarioDocument(const json& doc, const std::string& file, std::vector<std::string> sets,
                              std::optional<int64_t> seed, std::optional<int> threads,
                              const std::optional<std::string>& variant);

}  // namespace cohort
