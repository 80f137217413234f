// libFuzzer: the bytes as the checkpoint.bin of a small torch-free run, read
// as `cohort run --resume` reads it (LoadCheckpointBytes: environment,
// catalog, agent and runner state into a fresh trainer; nothing runs).
//
// The runs: tests/fuzz/checkpoint_*.json (live catalogs, so catalog, env and
// agent state are all in the file). A checkpoint whose header holds one of
// their resolved scenarios is read against that one, any other against the
// first. The seed corpus is written by `cohort run` at build time
// (tests/fuzz/CMakeLists.txt). Clean outcome: std::runtime_error (the
// "checkpoint ... is corrupt" error; cohort::InputError is one).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "agents/trainer.h"
#include "env/scenario.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

namespace fs = std::filesystem;

struct CheckpointRun {
  cohort::Scenario scenario;
  std::string header;  // resolved.dump(), as SaveCheckpoint writes it
};

const std::vector<CheckpointRun>& Runs() {
  static const std::vector<CheckpointRun> runs = [] {
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(cohort::fuzz::SourceDir() / "tests" / "fuzz")) {
      const std::string leaf = e.path().filename().string();
      if (leaf.rfind("checkpoint_", 0) == 0 && e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<CheckpointRun> out;
    for (const fs::path& f : files) {
      cohort::Scenario s = cohort::LoadScenario(f.string(), {}, cohort::AgentRegistry());
      out.push_back({s, s.resolved.dump()});
    }
    if (out.empty()) {
      std::fprintf(stderr, "fuzz_checkpoint: no tests/fuzz/checkpoint_*.json\n");
      std::abort();
    }
    return out;
  }();
  return runs;
}

// The resolved scenario in the header (u64 length + magic, u32 version, u64
// length + JSON), or "" when the bytes are too short for one.
std::string HeaderScenario(const std::string& bytes) {
  size_t at = 0;
  auto u64 = [&](uint64_t& v) {
    if (bytes.size() - at < sizeof v) return false;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return true;
  };
  uint64_t n = 0;
  if (!u64(n) || n > bytes.size() - at) return "";
  at += n;
  if (bytes.size() - at < sizeof(uint32_t)) return "";
  at += sizeof(uint32_t);
  if (!u64(n) || n > bytes.size() - at) return "";
  return bytes.substr(at, n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 && cohort::fuzz::ExpectLoad()) return 0;  // libFuzzer runs an empty input first
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::vector<CheckpointRun>& runs = Runs();
  const std::string header = HeaderScenario(bytes);
  const CheckpointRun* run = &runs.front();
  for (const CheckpointRun& r : runs)
    if (r.header == header) run = &r;
  cohort::fuzz::Run<std::runtime_error>("fuzz_checkpoint",
                                        [&] { cohort::LoadCheckpointBytes(bytes, run->scenario, "fuzz"); });
  return 0;
}
