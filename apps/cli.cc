#include "apps/cli.h"

#include <climits>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>

#include "core/schema.h"

namespace cohort::cli {
namespace {

// Integers on the command line: the whole text must be digits, and the value
// must fit the range the option allows (no wrap-around to a small number).
long long ParseInt(const std::string& flag, const std::string& v, long long lo, long long hi) {
  bool digits = !v.empty();
  for (size_t i = 0; i < v.size(); ++i)
    if (!(std::isdigit((unsigned char)v[i]) || (i == 0 && v[i] == '-' && v.size() > 1))) digits = false;
  if (digits) {
    try {
      size_t used = 0;
      const long long x = std::stoll(v, &used);
      if (used == v.size() && x >= lo && x <= hi) return x;
    } catch (const std::exception&) {  // out of range of long long: reported below
    }
  }
  throw InputError(
      flag, "", "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got \"" + v + "\"");
}

double ParseSeconds(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size() && x > 0 && x < 1e6) return x;
  } catch (const std::exception&) {
  }
  throw InputError(flag, "", "expected a number of seconds in (0, 1e6), got \"" + v + "\"");
}

// A comma-separated list of integers ("1,2"), each checked as ParseInt does.
std::vector<int> ParseIntList(const std::string& flag, const std::string& v, long long lo, long long hi) {
  std::vector<int> out;
  size_t begin = 0;
  while (true) {
    const size_t comma = v.find(',', begin);
    out.push_back(int(ParseInt(flag, v.substr(begin, comma - begin), lo, hi)));
    if (comma == std::string::npos) return out;
    begin = comma + 1;
  }
}

std::string NonEmpty(const std::string& flag, const std::string& v) {
  if (v.empty()) throw InputError(flag, "", "needs a non-empty value");
  return v;
}

constexpr long long kIntMax = INT_MAX;

// Every option, once: its value name (nullptr for a switch), whether it may
// be repeated, and where it goes.
struct OptionDef {
  const char* flag;
  const char* value;  // nullptr: a switch
  bool repeatable;
  std::function<void(Args&, const std::string& flag, const std::string& value)> store;
};

const std::vector<OptionDef>& Options() {
  static const std::vector<OptionDef> defs = {
      {"--set", "PATH=VALUE", true, [](Args& a, auto&, auto& v) { a.sets.push_back(v); }},
      {"--seed", "N", false,
       [](Args& a, auto& f, auto& v) { a.seed = ParseInt(f, v, 0, 1'000'000'000'000'000'000LL); }},
      {"--variant", "SPLIT:INDEX", false, [](Args& a, auto& f, auto& v) { a.variant = NonEmpty(f, v); }},
      {"--out", "PATH", false, [](Args& a, auto& f, auto& v) { a.out = NonEmpty(f, v); }},
      {"--threads", "N", false,
       [](Args& a, auto& f, auto& v) {
         a.thread_counts = ParseIntList(f, v, 1, 4096);
         a.threads = a.thread_counts[0];
       }},
      {"--force", nullptr, false, [](Args& a, auto&, auto&) { a.force = true; }},
      {"--quiet", nullptr, false, [](Args& a, auto&, auto&) { a.quiet = true; }},
      {"--resume", "DIR", false, [](Args& a, auto& f, auto& v) { a.resume = NonEmpty(f, v); }},
      {"--jobs", "N", false, [](Args& a, auto& f, auto& v) { a.jobs = int(ParseInt(f, v, 1, 4096)); }},
      {"--shard", "I/N", false, [](Args& a, auto&, auto& v) { a.shard = v; }},
      {"--list-cells", nullptr, false, [](Args& a, auto&, auto&) { a.list_cells = true; }},
      {"--group-by", "PATH", true, [](Args& a, auto& f, auto& v) { a.group_by.push_back(NonEmpty(f, v)); }},
      {"--baseline", "PATH=VALUE", true, [](Args& a, auto&, auto& v) { a.baseline.push_back(v); }},
      {"--metric", "KEY", true, [](Args& a, auto& f, auto& v) { a.metrics.push_back(NonEmpty(f, v)); }},
      {"--rule", "RULE", false, [](Args& a, auto& f, auto& v) { a.rule = NonEmpty(f, v); }},
      {"--split", "NAME", false, [](Args& a, auto& f, auto& v) { a.split = NonEmpty(f, v); }},
      {"--variants", "N", false, [](Args& a, auto& f, auto& v) { a.variants = int(ParseInt(f, v, 1, kIntMax)); }},
      {"--seeds", "N", false, [](Args& a, auto& f, auto& v) { a.seeds = int(ParseInt(f, v, 1, 1'000'000)); }},
      {"--scenario", "NAME", true, [](Args& a, auto& f, auto& v) { a.scenarios.push_back(NonEmpty(f, v)); }},
      {"--agent", "TYPE", true, [](Args& a, auto& f, auto& v) { a.agents.push_back(NonEmpty(f, v)); }},
      {"--eval", nullptr, false, [](Args& a, auto&, auto&) { a.eval = true; }},
      {"--num-envs", "B", false,
       [](Args& a, auto& f, auto& v) {
         a.num_envs_list = ParseIntList(f, v, 1, 1 << 20);
         a.num_envs = a.num_envs_list[0];
       }},
      {"--seconds", "S", false, [](Args& a, auto& f, auto& v) { a.seconds = ParseSeconds(f, v); }},
      {"--headless", nullptr, false, [](Args& a, auto&, auto&) { a.headless = true; }},
      {"--frames", "N", false, [](Args& a, auto& f, auto& v) { a.frames = int(ParseInt(f, v, 1, kIntMax)); }},
      {"--screenshot", "FILE.png", false, [](Args& a, auto& f, auto& v) { a.screenshot = NonEmpty(f, v); }},
      {"--size", "WxH", false, [](Args& a, auto& f, auto& v) { a.size = NonEmpty(f, v); }},
      {"--select", "SLOT", false, [](Args& a, auto& f, auto& v) { a.select = int(ParseInt(f, v, 0, kIntMax)); }},
      {"--steps-per-frame", "N", false,
       [](Args& a, auto& f, auto& v) { a.steps_per_frame = int(ParseInt(f, v, 0, 1'000'000)); }},
      {"--views", "LIST", false, [](Args& a, auto& f, auto& v) { a.views = NonEmpty(f, v); }},
      {"--color-by", "NAME", false, [](Args& a, auto& f, auto& v) { a.color_by = NonEmpty(f, v); }},
      {"--tails", nullptr, false, [](Args& a, auto&, auto&) { a.tails = true; }},
      {"--csv", nullptr, false, [](Args& a, auto&, auto&) { a.csv = true; }},
      {"--target", "AGENT", false, [](Args& a, auto& f, auto& v) { a.target = NonEmpty(f, v); }},
      {"--estimators", "LIST", false, [](Args& a, auto& f, auto& v) { a.estimators = NonEmpty(f, v); }},
      {"--terms", "FILE", false, [](Args& a, auto& f, auto& v) { a.terms = NonEmpty(f, v); }},
      {"--sequence", "L", false, [](Args& a, auto& f, auto& v) { a.sequence = int(ParseInt(f, v, 0, 1024)); }},
      {"--bootstrap", "N", false, [](Args& a, auto& f, auto& v) { a.bootstrap = int(ParseInt(f, v, 1, 1'000'000)); }},
  };
  return defs;
}

const OptionDef* FindOption(const std::string& flag) {
  for (const OptionDef& d : Options())
    if (flag == d.flag) return &d;
  return nullptr;
}

std::vector<std::string> FlagsOf(const Command& c) {
  std::vector<std::string> flags;
  for (const CommandOption& o : c.options) flags.push_back(o.flag);
  flags.push_back("--help");
  return flags;
}

const CommandOption* OptionOf(const Command& c, const std::string& flag) {
  for (const CommandOption& o : c.options)
    if (flag == o.flag) return &o;
  return nullptr;
}

bool Takes(const Command& c, const std::string& flag) { return OptionOf(c, flag) != nullptr; }

bool TakesList(const Command& c, const std::string& flag) {
  const CommandOption* o = OptionOf(c, flag);
  return o != nullptr && o->takes_list;
}

}  // namespace

std::string ValueName(const std::string& flag) {
  const OptionDef* d = FindOption(flag);
  return d && d->value ? d->value : "";
}

Args Parse(const Command& command, int argc, char** argv, int first) {
  Args a;
  a.command = command.name;
  const std::string where = std::string("cohort ") + command.name;
  bool options_done = false;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (options_done || s.size() < 2 || s[0] != '-' || s == "-") {
      a.positional.push_back(s);
      continue;
    }
    if (s == "--") {
      options_done = true;
      continue;
    }
    if (s == "--help" || s == "-h") {
      a.help = true;
      continue;
    }
    std::string flag = s, value;
    bool inline_value = false;
    if (const size_t eq = s.find('='); s.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = s.substr(0, eq);
      value = s.substr(eq + 1);
      inline_value = true;
    }
    const OptionDef* def = FindOption(flag);
    if (!Takes(command, flag)) {
      const std::vector<std::string> own = FlagsOf(command);
      const std::string list = " (" + where + " takes: " + Join(own) + ")";
      if (def != nullptr) throw InputError(flag, "", "is not an option of `" + where + "`" + list);
      const std::string hint = Suggest(flag, own);
      throw InputError(flag, "", "unknown option" + (hint.empty() ? list : " (did you mean \"" + hint + "\"?)"));
    }
    if (!def->repeatable && a.Given(flag)) throw InputError(flag, "", "given twice");
    a.given.insert(flag);
    if (def->value == nullptr) {
      if (inline_value) throw InputError(flag, "", "takes no value");
    } else if (!inline_value) {
      if (i + 1 >= argc) throw InputError(flag, "", "needs a value");
      value = argv[++i];
    }
    def->store(a, flag, value);
  }
  // A list where the subcommand takes one number is refused, not cut to its first.
  for (const auto& [flag, list] : {std::pair{"--threads", &a.thread_counts}, std::pair{"--num-envs", &a.num_envs_list}})
    if (list->size() > 1 && !TakesList(command, flag))
      throw InputError(flag, "", "takes one number here (a list is for `cohort bench`)");
  if (!a.help) {
    const int n = int(a.positional.size());
    if (n < command.min_positional || n > command.max_positional) {
      std::string expected = command.usage[0] ? command.usage : "no arguments";
      if (n > command.max_positional && command.max_positional >= 0 && n > 0)
        throw InputError(where, "",
                         "unexpected argument \"" + a.positional[size_t(command.max_positional)] +
                             "\" (usage: " + where + " " + command.usage + " [options]; see " + where + " --help)");
      throw InputError(where, "", "expected " + expected + " (see " + where + " --help)");
    }
  }
  return a;
}

std::string HelpText(const Command& c) {
  std::string out = std::string("usage: cohort ") + c.name + (c.usage[0] ? " " : "") + c.usage + " [options]\n\n";
  out += std::string(c.summary) + "\n";
  if (c.notes[0]) out += "\n" + std::string(c.notes) + "\n";
  out += "\noptions:\n";
  size_t width = 6;  // "--help"
  std::vector<std::string> heads;
  for (const CommandOption& o : c.options) {
    const std::string v = ValueName(o.flag);
    heads.push_back(std::string(o.flag) + (v.empty() ? "" : " " + v));
    width = std::max(width, heads.back().size());
  }
  for (size_t i = 0; i < c.options.size(); ++i) {
    std::string help = c.options[i].help;
    std::string line = "  " + heads[i] + std::string(width - heads[i].size() + 2, ' ');
    // Continuation lines of a help text line up under its first line.
    for (size_t nl; (nl = help.find('\n')) != std::string::npos;) {
      line += help.substr(0, nl) + "\n" + std::string(width + 4, ' ');
      help = help.substr(nl + 1);
    }
    out += line + help + "\n";
  }
  out += "  --help" + std::string(width - 6 + 2, ' ') + "print this help and exit\n";
  if (!c.examples.empty()) {
    out += "\nexamples:\n";
    for (const char* e : c.examples) out += std::string("  ") + e + "\n";
  }
  return out;
}

std::pair<int64_t, int64_t> ParseShard(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash != std::string::npos) {
    try {
      const long long i = ParseInt("--shard", text.substr(0, slash), 0, 1'000'000);
      const long long n = ParseInt("--shard", text.substr(slash + 1), 1, 1'000'000);
      if (i < n) return {i, n};
    } catch (const InputError&) {
    }
  }
  throw InputError("--shard", "",
                   "expected I/N with 0 <= I < N (e.g. 0/4 for the first of four shards), got \"" + text + "\"");
}

}  // namespace cohort::cli
