// libFuzzer: the bytes as a sweep file, read by LoadSweep (`cohort validate
// SWEEP`, `cohort sweep SWEEP`): the file, its base scenario with each axis
// value and the report block. The input lies in scenarios/sweeps/ of a mirror
// of scenarios/, so "base": "../bandit_family.json" finds the shipped file.
// Clean outcome of a bad file: cohort::InputError.
#include "apps/sweep.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cohort::fuzz::WriteInput("sweep", "scenarios/sweeps/input.json", data, size);
  cohort::fuzz::Run<cohort::InputError>("fuzz_sweep", [&] { cohort::LoadSweep(path); });
  return 0;
}
