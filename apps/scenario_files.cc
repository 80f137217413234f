#include "apps/scenario_files.h"

#include <algorithm>
#include <filesystem>

#include "agents/memory.h"
#include "agents/registry.h"
#include "core/schema.h"
#include "env/variants.h"

namespace fs = std::filesystem;

namespace cohort {

namespace {
const fs::path kScenarioDirs[] = {fs::path("scenarios"), fs::path(COHORT_SOURCE_DIR) / "scenarios"};
}  // namespace

std::vector<std::string> ShippedScenarioNames() {
  std::vector<std::string> names;
  for (const fs::path& dir : kScenarioDirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file() && e.path().extension() == ".json") names.push_back(e.path().stem().string());
    if (!names.empty()) break;
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string ResolveScenario(const std::string& name) {
  std::error_code ec;
  if (fs::is_regular_file(name, ec)) return name;
  // A shipped name wins over a directory of the same name (a run directory
  // called like its scenario must not shadow it).
  for (const fs::path& dir : kScenarioDirs) {
    const fs::path p = dir / (name + ".json");
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  if (fs::exists(name, ec)) return name;  // a directory: ReadJsonFile says so
  const bool looks_like_path = name.find('/') != std::string::npos || name.find(".json") != std::string::npos;
  if (looks_like_path) return name;  // ReadJsonFile reports the missing file
  const std::vector<std::string> shipped = ShippedScenarioNames();
  std::string hint = Suggest(name, shipped);
  for (const std::string& s : shipped)  // a prefix of one shipped name: that one
    if (hint.empty() && s.rfind(name, 0) == 0 &&
        std::count_if(shipped.begin(), shipped.end(), [&](const std::string& t) { return t.rfind(name, 0) == 0; }) == 1)
      hint = s;
  throw InputError(name, "",
                   "no such file and no shipped scenario of that name" +
                       (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") + "; shipped: " + Join(shipped));
}

namespace {

// The seed and thread overrides, the memory check and the variant: the same
// for a named scenario and a document.
template <class LoadFn>
Scenario Load(LoadFn load, std::vector<std::string> sets, std::optional<int64_t> seed, std::optional<int> threads,
              const std::optional<std::string>& variant) {
  if (seed) sets.push_back("seed=" + std::to_string(*seed));
  if (threads) sets.push_back("run.threads=" + std::to_string(*threads));
  Scenario s = load(sets);
  // Before anything large is built (the variant family is, next): a run
  // that cannot fit in memory is refused here, by validate as by run.
  CheckRunMemory(s);
  if (variant) {
    VariantFamily family(s, AgentRegistry());
    if (family.empty())
      throw InputError("--variant", "", "needs a variant family, and " + s.file + " defines none (no /family)");
    s = family.Instantiate(family.Parse(*variant));
    CheckRunMemory(s);
  }
  return s;
}

}  // namespace

Scenario LoadNamedScenario(const std::string& name, std::vector<std::string> sets, std::optional<int64_t> seed,
                           std::optional<int> threads, const std::optional<std::string>& variant) {
  return Load([&](const std::vector<std::string>& all) { return LoadScenario(ResolveScenario(name), all, AgentRegistry()); },
              std::move(sets), seed, threads, variant);
}

Scenario LoadScenarioDocument(const json& doc, const std::string& file, std::vector<std::string> sets,
                              std::optional<int64_t> seed, std::optional<int> threads,
                              const std::optional<std::string>& variant) {
  return Load([&](const std::vector<std::string>& all) { return LoadScenario(doc, file, all, AgentRegistry()); },
              std::move(sets), seed, threads, variant);
}

}  // namespace cohort
