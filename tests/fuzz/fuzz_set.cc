// libFuzzer: the bytes as `--set` assignments on a shipped scenario, through
// LoadScenario(path, overrides) as `cohort validate NAME --set A --set B`.
//
// Input: one assignment per line (at most 4 lines: more lines are one more
// assignment's text). A first line "#NAME" picks the shipped scenario
// scenarios/NAME.json (default recsim_interest_evolution); a name that is not
// shipped is skipped. Clean outcome: cohort::InputError.
#include <filesystem>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "env/scenario.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string name = "recsim_interest_evolution";
  if (!text.empty() && text[0] == '#') {
    const size_t end = text.find('\n');
    name = text.substr(1, end == std::string::npos ? std::string::npos : end - 1);
    text = end == std::string::npos ? "" : text.substr(end + 1);
    // Only a plain shipped name: no path may leave scenarios/.
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      return 0;
  }
  const std::filesystem::path scenario = cohort::fuzz::SourceDir() / "scenarios" / (name + ".json");
  if (std::error_code ec; !std::filesystem::is_regular_file(scenario, ec)) return 0;
  std::vector<std::string> sets;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = sets.size() == 3 ? std::string::npos : text.find('\n', start);
    sets.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  cohort::fuzz::Run<cohort::InputError>(
      "fuzz_set", [&] { cohort::LoadScenario(scenario.string(), sets, cohort::AgentRegistry()); });
  return 0;
}
