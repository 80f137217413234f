// `cohort report`: aggregates a sweep directory into results.csv, results.md
// and self-contained SVG plots. Everything here is deterministic: the
// bootstrap is seeded, groups are sorted, and the wall-clock summary keys are
// left out, so a resumed or MPI sweep gives a byte-identical report.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "apps/report.h"

#include "agents/registry.h"
#include "agents/runner.h"
#include "apps/ope.h"
#include "apps/sweep.h"
#include "core/json_parse.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/stats.h"
#include "core/ticks.h"
#include "env/spec.h"

namespace fs = std::filesystem;

namespace cohort {

// ---- statistics -------------------------------------------------------------

namespace {

double Mean(const std::vector<double>& x) {
  double s = 0.0;
  for (double v : x) s += v;
  return x.empty() ? std::nan("") : s / double(x.size());
}

}  // namespace

// ---- chart axes and section titles (apps/report.h) ---------------------------

ValueAxis BarValueAxis(const std::vector<double>& values) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) return ValueAxis{};
  const double data_lo = lo, data_hi = hi;
  // Near 0 (or across it) the bars start at 0: they then cover at least half
  // of the axis, and their lengths compare. Far from it they would not.
  const bool zero = (lo <= 0.0 && hi >= 0.0) || std::min(std::abs(lo), std::abs(hi)) <= hi - lo;
  if (zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (lo == hi) {
    const double half = lo != 0.0 ? 0.1 * std::abs(lo) : 0.5;
    return ValueAxis{lo - half, hi + half};
  }
  const double margin = 0.05 * hi - 0.05 * lo;
  if (!(zero && data_lo >= 0.0)) lo -= margin;
  if (!(zero && data_hi <= 0.0)) hi += margin;
  return ValueAxis{lo, hi};
}

std::vector<std::string> AxisTickLabels(const std::vector<double>& ticks) {
  double top = 0.0;
  for (double t : ticks)
    if (std::isfinite(t)) top = std::max(top, std::abs(t));
  const double step = TickStep(ticks);
  double scale = 1.0;
  const char* suffix = "";
  if (top >= 1e4 && top < 1e13) {
    scale = top < 1e6 ? 1e3 : top < 1e9 ? 1e6 : 1e9;
    suffix = top < 1e6 ? "k" : top < 1e9 ? "M" : "G";
    if (step > 0.0 && step < scale / 100.0) scale = 1.0, suffix = "";  // finer than 0.01k: plain digits
  }
  std::vector<std::string> out;
  for (double t : ticks) {
    if (scale == 1.0 || !std::isfinite(t)) {
      out.push_back(FormatTick(t, step));
      continue;
    }
    std::string label = FormatTick(t / scale, step / scale);
    out.push_back(label == "0" ? label : label + suffix);
  }
  return out;
}

bool AgentLearnsOnline(const Scenario& scenario) {
  if (IsPrivileged(scenario.agent)) return false;
  try {
    AgentContext ctx{MakeEnvSpec(scenario.env), std::nullopt, scenario.seed, scenario.variant, 1};
    json agent = scenario.agent;
    if (agent.is_object()) agent.erase("init");  // a warm start's checkpoint need not exist where reports are made
    return MakeAgent(agent, ctx, scenario.file)->learns();
  } catch (const std::exception&) {
    return false;
  }
}

std::string ReturnSectionTitle(bool any_learner) { return any_learner ? "Learning curves" : "Return per episode"; }

// ---- reading a sweep directory ---------------------------------------------

namespace {

struct CellResult {
  SweepCell cell;
  CellState state = CellState::kPending;
  std::map<std::string, double> metrics;  // numeric summary keys (null omitted)
  std::map<std::string, json> raw;        // the same, as written (integers stay integers)
  std::string error;                      // first line of the error, failed cells
  int exit_code = 0;
  bool damaged = false;  // failed because a file of the cell cannot be read (DamagedSummary)
};

// Why a cell's summary.json cannot be a finished run's (empty: it can). A
// summary written by `cohort run` is an object whose "episodes" is a number
// and whose metric keys (kSummaryMetricKeys) are numbers or null (undefined,
// e.g. a normalized score when the oracle does no better than random).
std::string DamagedSummary(const json& s) {
  if (!s.is_object()) return "is not a JSON object";
  if (!s.contains("episodes") || !s["episodes"].is_number()) return "has no number \"episodes\"";
  for (const std::string& k : kSummaryMetricKeys)
    if (s.contains(k) && !s[k].is_number() && !s[k].is_null())
      return "\"" + k + "\" is " + std::string(s[k].type_name()) + ", not a number";
  if (s.contains("variant_values") && !s["variant_values"].is_object()) return "\"variant_values\" is not an object";
  return "";
}

// A cell of cells.jsonl, checked: SweepCell::FromJson reads it, and its
// directory must be the one `cohort sweep` gives it (cells/<cell>), so that a
// damaged or hand-edited line never makes the report read outside the sweep
// directory.
SweepCell CellOfLine(const json& j, const std::string& file, int64_t line_no) {
  const std::string where = "line " + std::to_string(line_no);
  auto bad = [&](const std::string& why) { return InputError(file, where, why); };
  if (!j.contains("cell") || !j["cell"].is_string()) throw bad("\"cell\" is not a string");
  const std::string id = j["cell"].get<std::string>();
  if (id.size() < 2 || id[0] != 'c' || id.find_first_not_of("0123456789", 1) != std::string::npos)
    throw bad("\"cell\" is \"" + id + "\", not a cell name (c000123)");
  if (!j.contains("index") || !j["index"].is_number_integer()) throw bad("\"index\" is not an integer");
  if (!j.contains("axes") || !j["axes"].is_object()) throw bad("\"axes\" is not an object");
  if (!j.contains("seed") || !j["seed"].is_number_unsigned()) throw bad("\"seed\" is not an integer >= 0");
  if (!j.contains("variant") || !(j["variant"].is_null() || j["variant"].is_string()))
    throw bad("\"variant\" is neither null nor a string");
  if (j.contains("labels") && !j["labels"].is_object()) throw bad("\"labels\" is not an object");
  if (!j.contains("dir") || !j["dir"].is_string()) throw bad("\"dir\" is not a string");
  if (j["dir"].get<std::string>() != "cells/" + id)
    throw bad("\"dir\" is " + j["dir"].dump() + ", expected \"cells/" + id +
              "\" (a cell's directory is cells/<cell>; the report reads nothing outside the sweep directory)");
  return SweepCell::FromJson(j);
}

std::string FirstLine(const std::string& s) {
  // The last non-empty line of a log is usually the error itself.
  std::istringstream in(s);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

std::vector<CellResult> ReadCells(const std::string& out_dir) {
  const fs::path cells_file = fs::path(out_dir) / "cells.jsonl";
  std::ifstream in(cells_file);
  if (!in) throw InputError(out_dir, "", "is not a sweep directory (no cells.jsonl); run `cohort sweep` first");
  std::vector<CellResult> out;
  std::string line;
  int64_t line_no = 0;
  // Wall-clock keys would make the report differ between identical sweeps;
  // seed and variant have their own columns (from the cell, not the summary).
  std::set<std::string> skip(kTimingKeys.begin(), kTimingKeys.end());
  skip.insert({"seed", "variant"});
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    const json j = ParseJsonOrDiscarded(line);
    if (j.is_discarded() || !j.is_object())
      throw InputError(cells_file.string(), "line " + std::to_string(line_no), "is not a JSON object");
    CellResult r;
    r.cell = CellOfLine(j, cells_file.string(), line_no);
    r.state = StateOf(out_dir, r.cell);
    const fs::path dir = fs::path(out_dir) / r.cell.dir;
    // A file that cannot be read makes its cell a failed one, listed with the
    // file and the reason (docs/sweeps.md), never a done cell with blanks.
    auto damaged = [&](const fs::path& file, const std::string& why) {
      r.state = CellState::kFailed;
      r.damaged = true;
      r.exit_code = -1;
      r.metrics.clear();
      r.raw.clear();
      r.error = file.lexically_relative(out_dir).string() + " " + why;
    };
    json s;
    if (r.state == CellState::kDone) {
      const fs::path file = dir / "summary.json";
      try {
        s = ReadJsonFile(file.string());
      } catch (const InputError& e) {
        std::string why;
        for (const Problem& p : e.problems()) why += (why.empty() ? "" : "; ") + p.message;
        damaged(file, "cannot be read: " + why);
      }
      if (!r.damaged) {
        const std::string why = DamagedSummary(s);
        if (!why.empty()) damaged(file, why);
      }
    }
    if (r.state == CellState::kDone) {
      for (auto it = s.begin(); it != s.end(); ++it)
        if (it->is_number() && !skip.count(it.key())) {
          r.metrics[it.key()] = it->get<double>();
          r.raw[it.key()] = *it;
        }
      // A variant's sampled parameters become columns "variant.<path>".
      if (s.contains("variant_values") && s["variant_values"].is_object())
        for (auto it = s["variant_values"].begin(); it != s["variant_values"].end(); ++it)
          if (it->is_number()) {
            r.metrics["variant." + it.key()] = it->get<double>();
            r.raw["variant." + it.key()] = *it;
          }
    } else if (r.state == CellState::kFailed && !r.damaged) {
      const fs::path file = dir / "error.json";
      json e;
      std::string why = "is not a JSON object";
      try {
        e = ReadJsonFile(file.string());
      } catch (const InputError& ex) {
        why = "cannot be read: ";
        for (const Problem& p : ex.problems()) why += p.message;
      }
      if (!e.is_object()) {
        r.exit_code = -1;
        r.error = file.lexically_relative(out_dir).string() + " " + why;
      } else {
        r.exit_code = e.contains("exit_code") && e["exit_code"].is_number_integer() ? e["exit_code"].get<int>() : -1;
        r.error = FirstLine(e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "");
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

// The value of a grouping key for a cell: an axis value (its label when the
// axis gives labels), the seed or the variant.
json KeyValue(const SweepCell& c, const std::string& key) {
  if (key == "seed") return c.seed;
  if (c.labels.contains(key)) return c.labels[key];
  if (key == "variant") return c.variant ? json(*c.variant) : json(nullptr);
  return c.axes.contains(key) ? c.axes[key] : json(nullptr);
}

std::string Show(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

std::string Num(double v, int digits = 4) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// "[lo, hi]", or "n/a" when a single sample gives no interval.
std::string IntervalText(const ConfidenceInterval& ci, size_t n) {
  if (n < 2) return "n/a";
  std::string s = "[";
  s += Num(ci.lo);
  s += ", ";
  s += Num(ci.hi);
  s += "]";
  return s;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string MdCell(std::string s) {
  for (size_t p = 0; (p = s.find('|', p)) != std::string::npos; p += 2) s.replace(p, 1, "\\|");
  return s;
}

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// A file name from a metric name: letters, digits, '_' and '.' only.
std::string Slug(const std::string& s) {
  std::string out;
  for (char ch : s) out += std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' ? ch : '_';
  return out;
}

// ---- options -----------------------------------------------------------------

struct Resolved {
  std::string name;
  std::vector<std::string> axes;  // every axis path, in the sweep's order
  std::vector<std::string> group_by;
  json baseline = json::object();
  std::vector<std::string> metrics;
  std::vector<std::string> all_metrics;  // every numeric summary key, sorted
};

std::string Nearest(const std::string& s, const std::vector<std::string>& options) {
  const std::string hint = Suggest(s, options);
  return hint.empty() ? "" : " (did you mean \"" + hint + "\"?)";
}

// `defaults`: the sweep's "report" block; `out_dir` names the source in
// errors (the sweep directory, or the sweep file when checked before running).
// Without metrics in `cells` (nothing has run), metric names are checked
// against every key a summary can hold.
// What the options are checked against: the axes, the metrics of finished
// cells, and the values the cells have for a key (apps/sweep.h SweepCells
// answers without building its cells; a sweep directory from its cells).
struct KeySpace {
  std::vector<std::string> axes;
  std::set<std::string> metrics;
  std::function<bool(const std::string& key, const json& value)> has;
  std::function<std::vector<json>(const std::string& key)> values;  // some of them, for hints
};

KeySpace KeysOf(const std::vector<CellResult>& cells) {
  KeySpace k;
  for (const CellResult& c : cells)
    for (auto it = c.cell.axes.begin(); it != c.cell.axes.end(); ++it)
      if (std::find(k.axes.begin(), k.axes.end(), it.key()) == k.axes.end()) k.axes.push_back(it.key());
  for (const CellResult& c : cells)
    for (const auto& [name, v] : c.metrics) k.metrics.insert(name);
  k.has = [&cells](const std::string& key, const json& value) {
    for (const CellResult& c : cells)
      if (KeyValue(c.cell, key) == value) return true;
    return false;
  };
  k.values = [&cells](const std::string& key) {
    std::vector<json> out;
    for (const CellResult& c : cells) out.push_back(KeyValue(c.cell, key));
    return out;
  };
  return k;
}

Resolved ResolveOptionsWith(const json& defaults, const std::string& out_dir, const KeySpace& space,
                            const ReportOptions& options) {
  Resolved r;
  r.axes = space.axes;
  const std::set<std::string>& metric_set = space.metrics;
  r.all_metrics.assign(metric_set.begin(), metric_set.end());

  std::vector<Problem> problems;
  // Where an option came from, for error messages: the command line or the
  // sweep file's "report" block.
  auto origin = [&](bool from_command_line, const char* flag, const char* key) {
    return from_command_line ? std::string(flag) : std::string("/report/") + key;
  };
  // Group keys: the command line, else the sweep's report block, else every axis.
  r.group_by = options.group_by;
  if (r.group_by.empty() && defaults.contains("group_by"))
    r.group_by = defaults["group_by"].get<std::vector<std::string>>();
  const std::string group_origin = origin(!options.group_by.empty(), "--group-by", "group_by");
  if (r.group_by.empty()) r.group_by = r.axes;
  std::vector<std::string> keys = r.axes;
  keys.push_back("seed");
  keys.push_back("variant");
  for (const std::string& g : r.group_by)
    if (std::find(keys.begin(), keys.end(), g) == keys.end())
      problems.push_back({out_dir, group_origin, "\"" + g + "\" is not an axis of this sweep" + Nearest(g, keys)});

  r.baseline = options.baseline.empty() ? defaults.value("baseline", json::object()) : options.baseline;
  const std::string base_origin = origin(!options.baseline.empty(), "--baseline", "baseline");
  for (auto it = r.baseline.begin(); it != r.baseline.end() && problems.empty(); ++it) {
    if (std::find(r.group_by.begin(), r.group_by.end(), it.key()) == r.group_by.end()) {
      problems.push_back(
          {out_dir, base_origin,
           "\"" + it.key() + "\": the baseline must name a grouped key" + Nearest(it.key(), r.group_by)});
      continue;
    }
    const bool seen = space.has(it.key(), *it);
    std::vector<std::string> values;
    if (!seen)
      for (const json& v : space.values(it.key())) values.push_back(Show(v));
    if (!seen)
      problems.push_back(
          {out_dir, base_origin, "no cell has " + it.key() + " = " + it->dump() + Nearest(Show(*it), values)});
  }

  r.metrics = options.metrics;
  if (r.metrics.empty() && defaults.contains("metrics"))
    r.metrics = defaults["metrics"].get<std::vector<std::string>>();
  const std::string metric_origin = origin(!options.metrics.empty(), "--metric", "metrics");
  if (r.metrics.empty()) {
    for (const char* m : {"return_mean", "normalized_score", "ctr", "episode_length_mean", "regret_per_episode"})
      if (metric_set.count(m)) r.metrics.push_back(m);
    // Cells of an off-policy sweep ("job": "ope"; apps/ope.h OpeSummary): the
    // truth, then each estimator's error and squared error.
    if (r.metrics.empty() && metric_set.count("truth")) {
      r.metrics.push_back("truth");
      auto ends = [](const std::string& m, const std::string& tail) {
        return m.size() > tail.size() && m.compare(m.size() - tail.size(), tail.size(), tail) == 0;
      };
      for (const std::string& m : r.all_metrics)
        if (ends(m, "_error") && !ends(m, "_abs_error")) r.metrics.push_back(m);
    }
  } else if (!metric_set.empty()) {
    for (const std::string& m : r.metrics)
      if (!metric_set.count(m))
        problems.push_back({out_dir, metric_origin,
                            "\"" + m + "\" is not a numeric summary key of any cell" + Nearest(m, r.all_metrics)});
  } else {
    // Before any cell has run: the keys of a run's summary, or of an
    // off-policy cell's (apps/ope.h).
    std::vector<std::string> known = kSummaryMetricKeys;
    known.insert(known.end(), OpeSummaryKeys().begin(), OpeSummaryKeys().end());
    for (const std::string& m : r.metrics)
      if (std::find(known.begin(), known.end(), m) == known.end() && m.rfind("variant.", 0) != 0)
        problems.push_back({out_dir, metric_origin, "\"" + m + "\" is not a summary key" + Nearest(m, known)});
  }
  if (!problems.empty()) throw InputError(problems);
  return r;
}

Resolved ResolveOptions(const std::string& out_dir, const std::vector<CellResult>& cells,
                        const ReportOptions& options) {
  const fs::path sweep_file = fs::path(out_dir) / "sweep.resolved.json";
  json defaults = json::object();
  std::string name;
  if (fs::exists(sweep_file)) {
    const json sweep = ReadJsonFile(sweep_file.string());
    if (!sweep.is_object()) throw InputError(sweep_file.string(), "", "expected a JSON object (the resolved sweep)");
    if (sweep.contains("name") && !sweep["name"].is_string())
      throw InputError(sweep_file.string(), "/name", "expected a string");
    name = sweep.value("name", std::string());
    if (sweep.contains("report")) defaults = sweep["report"];
    const auto strings = [&](const char* key) {
      if (!defaults.contains(key)) return;
      const json& v = defaults[key];
      bool ok = v.is_array();
      for (size_t i = 0; ok && i < v.size(); ++i) ok = v[i].is_string();
      if (!ok) throw InputError(sweep_file.string(), std::string("/report/") + key, "expected an array of strings");
    };
    if (!defaults.is_object()) throw InputError(sweep_file.string(), "/report", "expected an object");
    strings("group_by");
    strings("metrics");
    if (defaults.contains("baseline") && !defaults["baseline"].is_object())
      throw InputError(sweep_file.string(), "/report/baseline", "expected an object");
  }
  Resolved r = ResolveOptionsWith(defaults, out_dir, KeysOf(cells), options);
  r.name = name.empty() ? fs::path(out_dir).lexically_normal().filename().string() : name;
  return r;
}

// ---- grouping --------------------------------------------------------------

struct Group {
  json key;                              // array of values, one per group_by key
  std::vector<const CellResult*> cells;  // finished cells only
};

std::string GroupLabel(const Resolved& r, const json& key) {
  std::string s;
  for (size_t i = 0; i < r.group_by.size(); ++i) s += (i ? ", " : "") + Show(key[i]);
  return s.empty() ? "all" : s;
}

// Groups in the order their first cell appears (the sweep's own order).
std::vector<Group> MakeGroups(const Resolved& r, const std::vector<CellResult>& cells) {
  std::vector<Group> groups;
  std::map<std::string, size_t> index;
  for (const CellResult& c : cells) {
    json key = json::array();
    for (const std::string& g : r.group_by) key.push_back(KeyValue(c.cell, g));
    auto [it, fresh] = index.try_emplace(key.dump(), groups.size());
    if (fresh) groups.push_back({key, {}});
    if (c.state == CellState::kDone) groups[it->second].cells.push_back(&c);
  }
  return groups;
}

// Cells pair with a baseline cell when they share the seed, the variant and
// every ungrouped axis that varies within a group (an axis zipped with a
// grouped one, e.g. each agent's own learning rate, is part of the group).
std::string PairKey(const std::vector<std::string>& pair_axes, const SweepCell& c) {
  json key = json::array({c.seed, c.variant ? json(*c.variant) : json(nullptr)});
  for (const std::string& a : pair_axes) key.push_back(KeyValue(c, a));
  return key.dump();
}

std::vector<std::string> PairAxes(const Resolved& r, const std::vector<CellResult>& cells) {
  std::vector<std::string> out;
  for (const std::string& a : r.axes) {
    if (std::find(r.group_by.begin(), r.group_by.end(), a) != r.group_by.end()) continue;
    std::map<std::string, std::set<std::string>> values;  // group -> values of a
    bool varies = false;
    for (const CellResult& c : cells) {
      json g = json::array();
      for (const std::string& k : r.group_by) g.push_back(KeyValue(c.cell, k));
      auto& v = values[g.dump()];
      v.insert(KeyValue(c.cell, a).dump());
      varies = varies || v.size() > 1;
    }
    if (varies) out.push_back(a);
  }
  return out;
}

std::vector<double> Values(const Group& g, const std::string& metric) {
  std::vector<double> v;
  for (const CellResult* c : g.cells) {
    auto it = c->metrics.find(metric);
    if (it != c->metrics.end() && std::isfinite(it->second)) v.push_back(it->second);
  }
  return v;
}

struct Summary {
  size_t n = 0;
  double mean = std::nan(""), iqm = std::nan("");
  ConfidenceInterval ci{std::nan(""), std::nan("")};
};

uint64_t StreamSeed(uint64_t seed, size_t a, size_t b) { return DeriveSeed(seed, a, b, StreamPurpose::kReport); }

Summary Summarize(const std::vector<double>& v, const ReportOptions& o, size_t a, size_t b) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  s.mean = Mean(v);
  s.iqm = InterquartileMean(v);
  s.ci = BootstrapMeanCI(v, o.bootstrap_samples, StreamSeed(o.seed, a, b));
  return s;
}

// ---- SVG -------------------------------------------------------------------

// At most this many ticks per axis (core/ticks.h).
constexpr int kMaxTicks = 7;

const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string SvgHeader(int w, int h, const std::string& title) {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w
    << " " << h << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << w / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << XmlEscape(title)
    << "</text>\n";
  return s.str();
}

// Horizontal bars (labels can be long): mean per group with its CI whisker.
std::string BarChart(const std::string& metric, const std::vector<std::string>& labels,
                     const std::vector<Summary>& stats) {
  const int label_w = 200, plot_w = 440, row_h = 26, top = 36, bottom = 40;
  const int h = top + bottom + row_h * int(labels.size()), w = label_w + plot_w + 30;
  std::vector<double> values;
  for (const Summary& st : stats) values.insert(values.end(), {st.mean, st.ci.lo, st.ci.hi});
  const ValueAxis axis = BarValueAxis(values);
  const double lo = axis.lo, hi = axis.hi;
  // Bars from 0 when the axis holds it; otherwise a dot at the mean (a bar
  // from the axis's edge would have a meaningless length).
  const bool bars = axis.HoldsZero();
  auto X = [&](double v) { return label_w + (v - lo) / (hi - lo) * plot_w; };
  std::ostringstream s;
  s << SvgHeader(w, h, metric + " (mean, 95% bootstrap CI)");
  const int axis_y = top + row_h * int(labels.size());
  const std::vector<double> ticks = NiceTicks(lo, hi, kMaxTicks);
  const std::vector<std::string> tick_labels = AxisTickLabels(ticks);
  for (size_t i = 0; i < ticks.size(); ++i) {
    const double t = ticks[i];
    s << "<line x1=\"" << X(t) << "\" y1=\"" << top << "\" x2=\"" << X(t) << "\" y2=\"" << axis_y
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << X(t) << "\" y=\"" << axis_y + 16 << "\" text-anchor=\"middle\">"
      << tick_labels[i] << "</text>\n";
  }
  if (bars)
    s << "<line x1=\"" << X(0) << "\" y1=\"" << top << "\" x2=\"" << X(0) << "\" y2=\"" << axis_y
      << "\" stroke=\"#333\"/>\n";
  for (size_t i = 0; i < labels.size(); ++i) {
    const double y = top + row_h * double(i);
    const Summary& st = stats[i];
    s << "<text x=\"" << label_w - 6 << "\" y=\"" << y + row_h * 0.65 << "\" text-anchor=\"end\">"
      << XmlEscape(labels[i]) << "</text>\n";
    if (!std::isfinite(st.mean)) continue;
    const std::string tip = "<title>" + XmlEscape(labels[i]) + ": " + Num(st.mean, 6) + " [" + Num(st.ci.lo, 6) + ", " +
                            Num(st.ci.hi, 6) + "], n=" + std::to_string(st.n) + "</title>";
    if (bars) {
      const double x0 = std::min(X(0), X(st.mean)), x1 = std::max(X(0), X(st.mean));
      s << "<rect x=\"" << x0 << "\" y=\"" << y + 4 << "\" width=\"" << x1 - x0 << "\" height=\"" << row_h - 8
        << "\" fill=\"" << kPalette[i % 10] << "\">" << tip << "</rect>\n";
    } else {
      s << "<circle cx=\"" << X(st.mean) << "\" cy=\"" << y + row_h / 2.0 << "\" r=\"5\" fill=\"" << kPalette[i % 10]
        << "\">" << tip << "</circle>\n";
    }
    if (st.n > 1 && std::isfinite(st.ci.lo)) {
      const double cy = y + row_h / 2.0;
      s << "<path d=\"M" << X(st.ci.lo) << " " << cy << "H" << X(st.ci.hi) << "M" << X(st.ci.lo) << " " << cy - 5
        << "v10M" << X(st.ci.hi) << " " << cy - 5 << "v10\" stroke=\"#222\" fill=\"none\"/>\n";
    }
  }
  s << "<text x=\"" << label_w + plot_w / 2 << "\" y=\"" << h - 8 << "\" text-anchor=\"middle\">" << XmlEscape(metric)
    << "</text>\n</svg>\n";
  return s.str();
}

struct Curve {
  std::string label;
  std::vector<double> x, mean, lo, hi;  // lo/hi NaN where a band cannot be drawn
};

// Line chart with shaded bands.
std::string LineChart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                      const std::vector<Curve>& curves) {
  const int left = 70, right = 170, top = 36, bottom = 46, plot_w = 520, plot_h = 300;
  const int w = left + plot_w + right, h = top + plot_h + bottom;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Curve& c : curves)
    for (size_t i = 0; i < c.x.size(); ++i) {
      xlo = std::min(xlo, c.x[i]), xhi = std::max(xhi, c.x[i]);
      for (double v : {c.mean[i], c.lo[i], c.hi[i]})
        if (std::isfinite(v)) ylo = std::min(ylo, v), yhi = std::max(yhi, v);
    }
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1;
  if (!std::isfinite(ylo)) ylo = 0, yhi = 1;
  if (xhi == xlo) xhi = xlo + 1;
  if (yhi == ylo) yhi = ylo + 1;
  const double pad = 0.05 * (yhi - ylo);
  ylo -= pad, yhi += pad;
  auto X = [&](double v) { return left + (v - xlo) / (xhi - xlo) * plot_w; };
  auto Y = [&](double v) { return top + plot_h - (v - ylo) / (yhi - ylo) * plot_h; };
  std::ostringstream s;
  s << SvgHeader(w, h, title);
  const std::vector<double> y_ticks = NiceTicks(ylo, yhi, kMaxTicks), x_ticks = NiceTicks(xlo, xhi, kMaxTicks);
  const std::vector<std::string> y_labels = AxisTickLabels(y_ticks), x_labels = AxisTickLabels(x_ticks);
  for (size_t i = 0; i < y_ticks.size(); ++i)
    s << "<line x1=\"" << left << "\" y1=\"" << Y(y_ticks[i]) << "\" x2=\"" << left + plot_w << "\" y2=\""
      << Y(y_ticks[i]) << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << Y(y_ticks[i]) + 4
      << "\" text-anchor=\"end\">" << y_labels[i] << "</text>\n";
  for (size_t i = 0; i < x_ticks.size(); ++i)
    s << "<text x=\"" << X(x_ticks[i]) << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"middle\">" << x_labels[i]
      << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  for (size_t ci = 0; ci < curves.size(); ++ci) {
    const Curve& c = curves[ci];
    const char* color = kPalette[ci % 10];
    // Band: upper edge forward, lower edge back, over the points that have one.
    std::ostringstream band;
    std::vector<size_t> banded;
    for (size_t i = 0; i < c.x.size(); ++i)
      if (std::isfinite(c.lo[i]) && std::isfinite(c.hi[i])) banded.push_back(i);
    if (banded.size() > 1) {
      for (size_t k = 0; k < banded.size(); ++k)
        band << (k ? "L" : "M") << X(c.x[banded[k]]) << " " << Y(c.hi[banded[k]]);
      for (size_t k = banded.size(); k-- > 0;) band << "L" << X(c.x[banded[k]]) << " " << Y(c.lo[banded[k]]);
      s << "<path d=\"" << band.str() << "Z\" fill=\"" << color << "\" fill-opacity=\"0.2\" stroke=\"none\"/>\n";
    }
    std::ostringstream line;
    for (size_t i = 0; i < c.x.size(); ++i) line << (i ? "L" : "M") << X(c.x[i]) << " " << Y(c.mean[i]);
    s << "<path d=\"" << line.str() << "\" fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n";
    const int ly = top + 14 + 18 * int(ci);
    s << "<line x1=\"" << left + plot_w + 10 << "\" y1=\"" << ly - 4 << "\" x2=\"" << left + plot_w + 30 << "\" y2=\""
      << ly - 4 << "\" stroke=\"" << color << "\" stroke-width=\"3\"/>\n<text x=\"" << left + plot_w + 34 << "\" y=\""
      << ly << "\">" << XmlEscape(c.label) << "</text>\n";
  }
  s << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << h - 8 << "\" text-anchor=\"middle\">" << XmlEscape(xlabel)
    << "</text>\n<text x=\"16\" y=\"" << top + plot_h / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
    << top + plot_h / 2 << ")\">" << XmlEscape(ylabel) << "</text>\n</svg>\n";
  return s.str();
}

// Per cell, `metric` of metrics.jsonl binned into at most kBins consecutive
// bins of episodes; per group, the mean over cells and a 95% t band over cells.
constexpr int kBins = 50;

std::vector<double> CellCurve(const std::string& out_dir, const CellResult& c, const std::string& metric,
                              int64_t bins_of) {
  std::ifstream in(fs::path(out_dir) / c.cell.dir / "metrics.jsonl");
  std::vector<double> v;
  std::string line;
  while (std::getline(in, line)) {
    const json j = ParseJsonOrDiscarded(line);
    if (j.is_object() && j.contains(metric) && j[metric].is_number()) v.push_back(j[metric].get<double>());
  }
  if (v.empty() || bins_of <= 0) return {};
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); i += size_t(bins_of)) {
    const size_t e = std::min(v.size(), i + size_t(bins_of));
    out.push_back(Mean(std::vector<double>(v.begin() + long(i), v.begin() + long(e))));
  }
  return out;
}

// A training run's learning curves: per metric, (training user-steps, value)
// of every "eval" line of its metrics.jsonl (agents/trainer.h), read once;
// empty for other runs.
using Points = std::vector<std::pair<double, double>>;
constexpr const char* kCurveMetrics[] = {"return_mean", "normalized_score", "exposure_gini"};

std::map<std::string, Points> EvalCurves(const std::string& out_dir, const CellResult& c) {
  std::ifstream in(fs::path(out_dir) / c.cell.dir / "metrics.jsonl");
  std::map<std::string, Points> out;
  std::string line;
  while (std::getline(in, line)) {
    const json j = ParseJsonOrDiscarded(line);
    if (!j.is_object() || j.value("kind", "") != "eval" || !j.contains("user_steps") || !j["user_steps"].is_number())
      continue;
    for (const char* metric : kCurveMetrics)
      if (j.contains(metric) && j[metric].is_number())
        out[metric].push_back({j["user_steps"].get<double>(), j[metric].get<double>()});
  }
  return out;
}

// Whether a finished cell's agent learns online (apps/report.h), from its
// scenario.resolved.json; `cache` holds the answer per agent block.
bool CellLearnsOnline(const std::string& out_dir, const CellResult& c, std::map<std::string, bool>& cache) {
  const fs::path file = fs::path(out_dir) / c.cell.dir / "scenario.resolved.json";
  json resolved(json::value_t::discarded);
  try {
    resolved = ReadJsonFile(file.string());
  } catch (const InputError&) {
  }
  if (resolved.is_discarded() || !resolved.is_object() || !resolved.contains("agent")) return false;
  const std::string key = resolved["agent"].dump();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  bool learns = false;
  try {
    learns = AgentLearnsOnline(ParseScenario(resolved, file.string(), AgentRegistry()));
  } catch (const std::exception&) {
  }
  return cache[key] = learns;
}

int64_t EpisodesOf(const CellResult& c) {
  auto it = c.metrics.find("episodes");
  return it == c.metrics.end() ? 0 : int64_t(it->second);
}

}  // namespace

// ---- the report --------------------------------------------------------------

json WriteReport(const std::string& out_dir, const ReportOptions& options) {
  const std::vector<CellResult> cells = ReadCells(out_dir);
  const Resolved r = ResolveOptions(out_dir, cells, options);
  const fs::path out(out_dir);

  // results.csv: one row per cell, every numeric summary key; the same rows
  // as JSON objects are returned.
  json rows = json::array();
  for (const CellResult& c : cells) {
    json row = json::object();
    row["cell"] = c.cell.id;
    row["status"] = c.state == CellState::kDone ? "done" : c.state == CellState::kFailed ? "failed" : "pending";
    for (const std::string& a : r.axes) row[a] = KeyValue(c.cell, a);
    row["seed"] = c.cell.seed;
    row["variant"] = c.cell.variant ? json(*c.cell.variant) : json(nullptr);
    for (const std::string& m : r.all_metrics) {
      auto it = c.raw.find(m);
      row[m] = it == c.raw.end() ? json(nullptr) : it->second;
    }
    rows.push_back(std::move(row));
  }
  {
    std::ostringstream csv;
    csv << "cell,status";
    for (const std::string& a : r.axes) csv << "," << CsvField(a);
    csv << ",seed,variant";
    for (const std::string& m : r.all_metrics) csv << "," << CsvField(m);
    csv << "\n";
    for (const CellResult& c : cells) {
      csv << c.cell.id << ","
          << (c.state == CellState::kDone     ? "done"
              : c.state == CellState::kFailed ? "failed"
                                              : "pending");
      for (const std::string& a : r.axes) {
        const json v = KeyValue(c.cell, a);
        csv << "," << CsvField(v.is_null() ? "" : Show(v));
      }
      csv << "," << c.cell.seed << "," << CsvField(c.cell.variant.value_or(""));
      for (const std::string& m : r.all_metrics) {
        auto it = c.raw.find(m);
        csv << "," << (it == c.raw.end() ? "" : it->second.dump());
      }
      csv << "\n";
    }
    WriteFileAtomic((out / "results.csv").string(), csv.str());
  }

  size_t done = 0, failed = 0, pending = 0, damaged = 0;
  for (const CellResult& c : cells) {
    (c.state == CellState::kDone ? done : c.state == CellState::kFailed ? failed : pending)++;
    damaged += c.damaged;
  }
  if (damaged > 0) {
    std::string which;
    size_t listed = 0;
    for (const CellResult& c : cells)
      if (c.damaged && listed++ < 10) which += "\n  " + c.cell.id + ": " + c.error;
    if (damaged > 10) which += "\n  ... and " + std::to_string(damaged - 10) + " more (results.md lists them all)";
    std::fprintf(stderr, "warning: %zu cell(s) listed as failed because a file of theirs is damaged:%s\n", damaged,
                 which.c_str());
  }

  std::ostringstream md;
  md << "# Sweep report: " << r.name << "\n\n"
     << cells.size() << " cells: " << done << " done, " << failed << " failed, " << pending << " not run.\n"
     << "Grouped by ";
  for (size_t i = 0; i < r.group_by.size(); ++i) md << (i ? ", `" : "`") << r.group_by[i] << "`";
  if (r.group_by.empty()) md << "nothing (the sweep has no axes)";
  md << ". Each cell (one seed, one variant) is one sample; intervals are 95% percentile bootstrap intervals of "
        "the mean over cells ("
     << options.bootstrap_samples << " resamples, seed " << options.seed
     << "; with few cells per group they are too narrow). IQM is the interquartile mean. "
        "Every number is in `results.csv`.\n\n";
  if (failed > 0) {
    md << "## Failed cells\n\nRerun the same `cohort sweep` command to retry them; `cells/<cell>/log.txt` has the "
          "whole output.\n\n| cell | axes | seed | variant | exit code | error |\n|---|---|---|---|---|---|\n";
    for (const CellResult& c : cells) {
      if (c.state != CellState::kFailed) continue;
      std::string axes;
      for (auto it = c.cell.axes.begin(); it != c.cell.axes.end(); ++it)
        axes += (axes.empty() ? "" : ", ") + it.key() + "=" + Show(KeyValue(c.cell, it.key()));
      md << "| " << c.cell.id << " | " << MdCell(axes) << " | " << c.cell.seed << " | " << c.cell.variant.value_or("-")
         << " | " << (c.damaged ? std::string("damaged") : std::to_string(c.exit_code)) << " | " << MdCell(c.error)
         << " |\n";
    }
    md << "\n";
    if (damaged > 0)
      md << "A *damaged* cell has a summary.json that no finished run writes. `cohort sweep` counts it as done: "
            "delete its `cells/<cell>/summary.json` and rerun the sweep to redo it.\n\n";
  }

  const std::vector<Group> groups = MakeGroups(r, cells);
  std::vector<std::string> labels;
  for (const Group& g : groups) labels.push_back(GroupLabel(r, g.key));
  std::set<std::string> written_plots;
  auto write_plot = [&](const std::string& name, const std::string& svg) {
    fs::create_directories(out / "plots");
    WriteFileAtomic((out / "plots" / name).string(), svg);
    written_plots.insert(name);
  };

  if (done > 0 && !r.metrics.empty()) {
    md << "## Results\n\n";
    for (size_t mi = 0; mi < r.metrics.size(); ++mi) {
      const std::string& m = r.metrics[mi];
      std::vector<Summary> stats;
      for (size_t gi = 0; gi < groups.size(); ++gi) stats.push_back(Summarize(Values(groups[gi], m), options, gi, mi));
      md << "### " << m << "\n\n| ";
      for (const std::string& g : r.group_by) md << MdCell(g) << " | ";
      if (r.group_by.empty()) md << "group | ";
      md << "n | mean | 95% CI | IQM |\n|";
      for (size_t i = 0; i < std::max<size_t>(1, r.group_by.size()) + 4; ++i) md << "---|";
      md << "\n";
      for (size_t gi = 0; gi < groups.size(); ++gi) {
        md << "| ";
        for (const json& v : groups[gi].key) md << MdCell(Show(v)) << " | ";
        if (r.group_by.empty()) md << "all | ";
        const Summary& s = stats[gi];
        md << s.n << " | " << Num(s.mean) << " | " << IntervalText(s.ci, s.n) << " | " << Num(s.iqm) << " |\n";
      }
      const std::string plot = "bar_" + Slug(m) + ".svg";
      write_plot(plot, BarChart(m, labels, stats));
      md << "\n![" << m << "](plots/" << plot << ")\n\n";
    }
  }

  // Paired differences: each group against the group that has the baseline's
  // values on the baseline keys and its own values elsewhere.
  if (done > 0 && !r.baseline.empty()) {
    std::string base_desc;
    for (auto it = r.baseline.begin(); it != r.baseline.end(); ++it)
      base_desc += (base_desc.empty() ? "" : ", ") + it.key() + " = " + Show(*it);
    md << "## Paired differences against the baseline (" << MdCell(base_desc) << ")\n\n"
       << "A cell is paired with the baseline cell that shares its seed, variant and every ungrouped axis that "
          "varies within a group; the "
          "table shows the mean of (cell - baseline), its 95% bootstrap interval, and in how many pairs the "
          "cell was higher than, lower than or equal to the baseline (which direction is better depends on the "
          "metric).\n\n";
    std::map<std::string, size_t> group_index;
    for (size_t gi = 0; gi < groups.size(); ++gi) group_index[groups[gi].key.dump()] = gi;
    const std::vector<std::string> pair_axes = PairAxes(r, cells);
    for (size_t mi = 0; mi < r.metrics.size(); ++mi) {
      const std::string& m = r.metrics[mi];
      md << "### " << m << " minus baseline\n\n| group | pairs | mean difference | 95% CI | higher / lower / equal |\n"
         << "|---|---|---|---|---|\n";
      for (size_t gi = 0; gi < groups.size(); ++gi) {
        json base_key = groups[gi].key;
        for (size_t k = 0; k < r.group_by.size(); ++k)
          if (r.baseline.contains(r.group_by[k])) base_key[k] = r.baseline[r.group_by[k]];
        if (base_key == groups[gi].key) continue;  // the baseline itself
        auto bi = group_index.find(base_key.dump());
        if (bi == group_index.end()) continue;
        std::map<std::string, double> base_values;
        std::set<std::string> ambiguous;
        for (const CellResult* c : groups[bi->second].cells) {
          auto it = c->metrics.find(m);
          if (it == c->metrics.end() || !std::isfinite(it->second)) continue;
          const std::string k = PairKey(pair_axes, c->cell);
          if (!base_values.emplace(k, it->second).second) ambiguous.insert(k);
        }
        std::vector<double> diffs;
        int higher = 0, lower = 0, equal = 0;
        for (const CellResult* c : groups[gi].cells) {
          auto it = c->metrics.find(m);
          const std::string k = PairKey(pair_axes, c->cell);
          auto b = base_values.find(k);
          if (it == c->metrics.end() || !std::isfinite(it->second) || b == base_values.end() || ambiguous.count(k))
            continue;
          const double d = it->second - b->second;
          diffs.push_back(d);
          (d > 0 ? higher : d < 0 ? lower : equal)++;
        }
        md << "| " << MdCell(labels[gi]) << " | " << diffs.size() << " | ";
        if (diffs.empty()) {
          md << "n/a (no cells share a seed and variant with the baseline) | | |\n";
          continue;
        }
        const ConfidenceInterval ci =
            BootstrapMeanCI(diffs, options.bootstrap_samples, StreamSeed(options.seed, gi + 1000003, mi));
        md << Num(Mean(diffs)) << " | " << IntervalText(ci, diffs.size()) << " | " << higher << " / " << lower << " / "
           << equal << " |\n";
      }
      md << "\n";
    }
  }

  // Training curves: the periodic evaluations of learning agents, per group
  // the mean over cells at each evaluation with a 95% t band.
  bool any_training = false;
  if (done > 0) {
    std::map<const CellResult*, std::map<std::string, Points>> eval_curves;
    for (const Group& g : groups)
      for (const CellResult* c : g.cells) eval_curves[c] = EvalCurves(out_dir, *c);
    for (const char* metric : kCurveMetrics) {
      std::vector<Curve> curves;
      for (size_t gi = 0; gi < groups.size(); ++gi) {
        std::vector<Points> per_cell;
        for (const CellResult* c : groups[gi].cells) {
          auto it = eval_curves[c].find(metric);
          if (it != eval_curves[c].end() && !it->second.empty()) per_cell.push_back(it->second);
        }
        if (per_cell.empty()) continue;
        Curve curve;
        curve.label = labels[gi];
        for (size_t i = 0;; ++i) {
          RunningStat st;
          double x = 0;
          for (const auto& cc : per_cell)
            if (i < cc.size()) st.Add(cc[i].second), x = cc[i].first;
          if (st.count() == 0) break;
          curve.x.push_back(x);
          curve.mean.push_back(st.mean());
          const bool band = st.count() > 1;
          curve.lo.push_back(band ? st.mean() - st.ci95() : std::nan(""));
          curve.hi.push_back(band ? st.mean() + st.ci95() : std::nan(""));
        }
        curves.push_back(std::move(curve));
      }
      if (curves.empty()) continue;
      if (!any_training)
        md << "## Training curves\n\nEach point is an evaluation of the frozen policy on the run's evaluation "
              "users; the band is a 95% t interval over the group's cells.\n\n";
      any_training = true;
      const std::string name = std::string("curve_eval_") + metric + ".svg";
      write_plot(name, LineChart(std::string(metric) + " during training (evaluations, mean over cells, 95% t band)",
                                 "training user-steps", metric, curves));
      md << "![" << metric << " during training](plots/" << name << ")\n\n";
    }
  }

  // Learning curves of the per-episode return, from every finished cell.
  if (done > 0 && !any_training) {
    int64_t max_episodes = 0;
    for (const CellResult& c : cells)
      if (c.state == CellState::kDone) max_episodes = std::max(max_episodes, EpisodesOf(c));
    const int64_t bin = std::max<int64_t>(1, (max_episodes + kBins - 1) / kBins);
    std::vector<Curve> curves;
    // The section is a learning curve only if some plotted agent learns
    // online; one answer per distinct agent block.
    bool any_learner = false;
    std::map<std::string, bool> learns;
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      std::vector<std::vector<double>> per_cell;
      for (const CellResult* c : groups[gi].cells) {
        std::vector<double> cc = CellCurve(out_dir, *c, "return", bin);
        if (cc.empty()) continue;
        per_cell.push_back(std::move(cc));
        if (!any_learner) any_learner = CellLearnsOnline(out_dir, *c, learns);
      }
      if (per_cell.empty()) continue;
      Curve curve;
      curve.label = labels[gi];
      for (size_t b = 0;; ++b) {
        std::vector<double> at;
        for (const auto& cc : per_cell)
          if (b < cc.size()) at.push_back(cc[b]);
        if (at.empty()) break;
        RunningStat st;
        for (double v : at) st.Add(v);
        curve.x.push_back(double(b * size_t(bin)) + double(bin) / 2);
        curve.mean.push_back(st.mean());
        const bool band = at.size() > 1;
        curve.lo.push_back(band ? st.mean() - st.ci95() : std::nan(""));
        curve.hi.push_back(band ? st.mean() + st.ci95() : std::nan(""));
      }
      curves.push_back(std::move(curve));
    }
    if (!curves.empty()) {
      write_plot("curve_return.svg",
                 LineChart("return per episode (mean over cells, 95% t band)",
                           "episode (completion order, bins of " + std::to_string(bin) + ")", "return", curves));
      md << "## " << ReturnSectionTitle(any_learner) << "\n\nEpisode return"
         << (bin > 1 ? " in bins of " + std::to_string(bin) + " episodes" : "")
         << ", in the order episodes ended; the band is a 95% t interval over the group's cells."
         << (any_learner ? " Agents that learn online update their policy as the episodes go."
                         : " No plotted agent learns, so the curve shows the variation of the users, not learning.")
         << "\n\n![return per episode](plots/curve_return.svg)\n";
    }
  }

  // Plots of an earlier report that no longer apply would mislead: remove them.
  if (fs::exists(out / "plots"))
    for (const auto& e : fs::directory_iterator(out / "plots"))
      if (e.path().extension() == ".svg" && !written_plots.count(e.path().filename().string())) fs::remove(e.path());
  WriteFileAtomic((out / "results.md").string(), md.str());
  return rows;
}

void CheckReportBlock(const json& report, const SweepCells& cells, const std::string& file) {
  KeySpace keys;
  keys.axes = cells.AxisPaths();
  keys.has = [&cells](const std::string& key, const json& value) { return cells.HasKeyValue(key, value); };
  keys.values = [&cells](const std::string& key) { return cells.KeyValues(key, 1000); };
  ResolveOptionsWith(report, file, keys, ReportOptions{});
}

}  // namespace cohort
