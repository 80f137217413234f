// The command line of `cohort`: one table of options, one table of
// subcommands, and a parser that gives each subcommand only its own options.
//
// Every option is declared once (kOptions in cli.cc: flag, value name, how it
// is stored); every subcommand lists the options it takes, each with its help
// text and default. The parser refuses an option the subcommand does not take
// (exit 2, naming the option and listing the subcommand's options), a repeated
// single-valued option, and a value that does not parse; `--help` on any
// subcommand prints its usage, options and examples from the same table.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cohort::cli {

// Parsed command line of one subcommand. Fields keep the parser's defaults;
// `given` says which options appeared, for the cases where "not given" and
// "given as the default" differ.
struct Args {
  std::string command;  // "run", "meta eval", ...
  std::vector<std::string> positional;
  std::set<std::string> given;  // flags that appeared ("--seed", ...)
  bool help = false;

  std::vector<std::string> sets;                         // --set (repeatable)
  std::vector<std::string> scenarios;                    // bench --scenario (repeatable)
  std::vector<std::string> agents;                       // bench --agent (repeatable); viz --agent (one)
  std::vector<std::string> group_by, baseline, metrics;  // report (repeatable)
  bool eval = false;                                     // bench: acting only
  std::string rule, split = "test";                      // meta eval
  int variants = 64, seeds = 2;                          // meta eval
  int jobs = 0;                                          // sweep
  std::string shard;                                     // sweep: "i/N"
  bool list_cells = false;                               // sweep
  bool csv = false;                                      // log
  std::string target, estimators, terms;                 // ope
  int bootstrap = 1000;                                  // ope
  int sequence = -1;                                     // train-offline
  std::string out, variant, resume;
  long long seed = -1;
  int threads = 0, num_envs = 1024;
  // bench takes comma lists ("--threads 1,2 --num-envs 1024,16384") and
  // measures every combination; `threads` and `num_envs` hold the first.
  std::vector<int> thread_counts, num_envs_list;
  double seconds = 2.0;
  bool force = false, quiet = false;
  bool headless = false;  // viz
  int frames = 60, select = -1, steps_per_frame = 1;
  std::string views, color_by, size;  // viz
  bool tails = false;
  std::string screenshot;

  bool Given(const std::string& flag) const { return given.count(flag) > 0; }
};

// One option a subcommand takes, with the help text (default included) that
// is true for that subcommand.
struct CommandOption {
  const char* flag;
  const char* help;
  bool takes_list = false;  // a comma list of numbers (bench's --threads 1,2)
};

struct Command {
  const char* name;     // "run", "meta train", ...
  const char* summary;  // one line for `cohort --help`
  const char* usage;    // the positional part: "SCENARIO"
  int min_positional, max_positional;
  std::vector<CommandOption> options;
  std::vector<const char*> examples;
  const char* notes;  // extra paragraphs for --help ("" for none)
};

// Parses argv[first..] for `command`. Throws InputError for an unknown option,
// an option of another subcommand, a repeated single option, a missing or bad
// value, or a wrong number of positional arguments (unless --help was given).
Args Parse(const Command& command, int argc, char** argv, int first);

// `cohort CMD --help`: usage, every option with its default, examples.
std::string HelpText(const Command& command);

// The value name of a flag in usage lines ("N", "PATH=VALUE"; "" for switches).
std::string ValueName(const std::string& flag);

// "i/N" of `--shard`: 0 <= i < N. Throws InputError naming --shard.
std::pair<int64_t, int64_t> ParseShard(const std::string& text);

}  // namespace cohort::cli
