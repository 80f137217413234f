// libFuzzer: the bytes as the checkpoint.bin of a small torch-free run, read
// as `cohort run --resume` reads it (LoadCheckpointBytes: environment,
// catalog, agent and runner state into a fresh trainer; nothing runs). A
// checkpoint it accepts is then resumed for one step (TrainScenario), so a
// stored value that passed the checks but is unsafe to use (an index out of
// range) shows up as a crash too.
//
// The runs: tests/fuzz/checkpoint_*.json (live catalogs, so catalog, env and
// agent state are all in the file). A checkpoint whose header holds one of
// their resolved scenarios is read against that one, any other against the
// first. The seed corpus is written by `cohort run` at build time
// (tests/fuzz/CMakeLists.txt). The input's last 8 bytes are replaced by the
// checksum of the rest (a file damaged but resealed, which the loaders must
// refuse all the same); COHORT_FUZZ_SEALED_OUT=FILE writes that file, for
// `cohort run --resume`. Clean outcome: std::runtime_error (the
// "checkpoint ... is corrupt" error; cohort::InputError is one).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "agents/trainer.h"
#include "core/serialize.h"
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

// The checkpoint's header: magic (u64 length + bytes), version (u32), the
// resolved scenario (u64 length + JSON), then the step (i64). Empty fields
// when the bytes are too short.
struct Header {
  std::string scenario;
  int64_t step = -1;
};
Header ReadHeader(const std::string& bytes) {
  Header h;
  size_t at = 0;
  auto pod = [&](auto& v) {
    if (bytes.size() - at < sizeof v) return false;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return true;
  };
  uint64_t n = 0;
  uint32_t version = 0;
  if (!pod(n) || n > bytes.size() - at) return h;
  at += n;
  if (!pod(version) || !pod(n) || n > bytes.size() - at) return h;
  h.scenario = bytes.substr(at, n);
  at += n;
  if (!pod(h.step)) h.step = -1;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 && cohort::fuzz::ExpectLoad()) return 0;  // libFuzzer runs an empty input first
  // A mutated checkpoint fails its checksum, and nothing behind it would be
  // fuzzed: the last 8 bytes are the checksum's slot, rewritten to match.
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.size() >= 8) bytes = cohort::Seal(bytes.substr(0, bytes.size() - 8));
  if (const char* out = std::getenv("COHORT_FUZZ_SEALED_OUT")) {  // replay: the file `cohort run --resume` reads
    std::ofstream(out, std::ios::binary) << bytes;
  }
  const std::vector<CheckpointRun>& runs = Runs();
  const Header header = ReadHeader(bytes);
  const CheckpointRun* run = &runs.front();
  for (const CheckpointRun& r : runs)
    if (r.header == header.scenario) run = &r;
  bool loaded = false;
  cohort::fuzz::Run<std::runtime_error>("fuzz_checkpoint", [&] {
    cohort::LoadCheckpointBytes(bytes, run->scenario, "fuzz");
    loaded = true;
  });
  if (!loaded) return 0;
  // Accepted: then every stored value must be safe to use. Resume from it as
  // `cohort run --resume` does and run one step (a finished run computes its
  // summary instead); training may still fail cleanly (e.g. diverge).
  const std::string dir = (cohort::fuzz::WorkDir("checkpoint") / "run").string();
  std::filesystem::create_directories(dir);
  cohort::fuzz::WriteInput("checkpoint", "run/checkpoint.bin", reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
  cohort::TrainOptions options;
  options.out_dir = dir;
  options.resume = true;
  options.stop_at_step = header.step < std::numeric_limits<int64_t>::max() ? header.step + 1 : -1;
  cohort::fuzz::Run<std::runtime_error>("fuzz_checkpoint (resumed one step)",
                                        [&] { cohort::TrainScenario(run->scenario, options); });
  return 0;
}
