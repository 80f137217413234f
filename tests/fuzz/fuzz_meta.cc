// libFuzzer: the bytes as a meta file, read by LoadMetaSpec (`cohort meta
// train META`, `cohort validate`). The input lies in scenarios/meta/ of a
// mirror of scenarios/, so "scenario": "../bandit_family.json" finds the
// shipped file. Clean outcome of a bad file: cohort::InputError.
#include "meta/meta.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cohort::fuzz::WriteInput("meta", "scenarios/meta/input.json", data, size);
  cohort::fuzz::Run<cohort::InputError>("fuzz_meta", [&] { cohort::LoadMetaSpec(path, {}); });
  return 0;
}
