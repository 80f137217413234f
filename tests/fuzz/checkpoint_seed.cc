// Writes a mid-run checkpoint for fuzz_checkpoint's seed corpus:
//   checkpoint_seed SCENARIO.json STEP OUT_DIR
// trains SCENARIO as `cohort run` does and stops before step STEP, as an
// interrupted run does (OUT_DIR/checkpoint.bin). `cohort run` itself writes
// only the final checkpoint, in which no step is left to resume.
#include <cstdio>
#include <exception>
#include <string>

#include "agents/registry.h"
#include "agents/trainer.h"
#include "env/scenario.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: checkpoint_seed SCENARIO.json STEP OUT_DIR\n");
    return 2;
  }
  try {
    const cohort::Scenario s = cohort::LoadScenario(argv[1], {}, cohort::AgentRegistry());
    cohort::TrainOptions o;
    o.out_dir = argv[3];
    o.stop_at_step = std::stoll(argv[2]);
    if (!cohort::TrainScenario(s, o).interrupted) {
      std::fprintf(stderr, "checkpoint_seed: %s finished before step %s\n", argv[1], argv[2]);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "checkpoint_seed: %s\n", e.what());
    return 1;
  }
  return 0;
}
