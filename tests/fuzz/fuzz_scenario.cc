// libFuzzer: the bytes as a scenario file, read by LoadScenario (what
// `cohort validate FILE` and `cohort run FILE` read first). Clean outcome of a
// bad file: cohort::InputError.
#include "agents/registry.h"
#include "env/scenario.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cohort::fuzz::WriteInput("scenario", "scenarios/input.json", data, size);
  cohort::fuzz::Run<cohort::InputError>("fuzz_scenario",
                                        [&] { cohort::LoadScenario(path, {}, cohort::AgentRegistry()); });
  return 0;
}
