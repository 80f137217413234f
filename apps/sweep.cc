#include "apps/sweep.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "agents/memory.h"
#include "agents/registry.h"
#include "agents/runner.h"
#include "core/json_parse.h"
#include "core/io.h"
#include "core/ope.h"
#include "core/rng.h"
#include "env/scenario.h"
#include "env/variants.h"

namespace fs = std::filesystem;

namespace cohort {
namespace {

struct SweepSchemas {
  Schema zip_member{"one member of a zipped axis"};
  Schema axis{"a sweep axis: values (grid), a distribution (random), or zip"};
  Schema seeds{"run seeds: start, start+1, ..."};
  Schema variants{"variants of the base scenario's family"};
  Schema report{"defaults for `cohort report`"};
  Schema ope{"the off-policy evaluation each cell runs (\"job\": \"ope\")"};
  Schema sweep{"a sweep over scenario parameters, seeds and variants"};
  SweepSchemas() {
    zip_member.String("path", "", {}, "dotted scenario path")
        .Required("path")
        .Any("values", json::array(), "values, one per zipped position")
        .Any("labels", json::array(), "a short name per value for reports (required for object values)");
    axis.String("path", "", {}, "dotted scenario path (grid and random axes)")
        .Any("values", json::array(), "grid axis: the values (numbers, strings, booleans, or objects)")
        .Any("labels", json::array(), "grid axis: a short name per value for reports (required for object values)")
        .String("distribution", "", {"", "uniform", "log_uniform", "int_uniform"}, "random axis: distribution")
        .Number("low", 0.0, -1e300, 1e300, "random axis: lower end")
        .Number("high", 1.0, -1e300, 1e300, "random axis: upper end")
        .Integer("count", 1, 1, 100000, "random axis: number of values drawn")
        .ObjectArray("zip", &zip_member, "zipped axis: members advance together");
    seeds.Integer("start", 0, 0, 1'000'000'000'000, "first seed").Integer("count", 1, 1, 1'000'000, "number of seeds");
    variants.String("split", "", {}, "family split (\"\" = no variants)")
        .Integer("start", 0, 0, 100'000'000, "first variant index")
        .Integer("count", 1, 1, 100'000'000, "number of variants");
    report.Any("group_by", json::array(), "axis paths (or \"seed\", \"variant\") to group by; [] = every axis")
        .Any("baseline", json::object(), "{axis path: value} naming the baseline group")
        .Any("metrics", json::array(), "summary keys to tabulate; [] = defaults");
    ope.Any("target", "", "the policy to evaluate: an agent block, an agent type, or a scenario file (its agent)")
        .Any("estimators", json::array(), "estimator names (as cohort ope --estimators); [] = all that apply")
        .Integer("bootstrap", 200, 1, 1'000'000, "bootstrap resamples of each interval");
    sweep.String("name", "", {}, "sweep name")
        .String("base", "", {}, "scenario file, relative to the sweep file")
        .Required("base")
        .Any("set", json::object(), "{dotted path: value} applied to every cell")
        .ObjectArray("axes", &axis, "axes, combined as a grid")
        .Object("seeds", &seeds, "seeds of every combination")
        .Any("seed_list", json::array(), "explicit seeds (replaces seeds when non-empty)")
        .Object("variants", &variants, "family variants of every combination")
        .Integer("seed", 0, 0, 1'000'000'000'000, "seed of the random axes")
        .Object("report", &report, "report defaults")
        .String("job", "run", {"run", "ope"},
                "what each cell runs: \"run\" (cohort run) or \"ope\" (cohort log, then the \"ope\" block's "
                "evaluation)")
        .Object("ope", &ope, "the evaluation of \"job\": \"ope\" cells");
  }
};

const SweepSchemas& Schemas() {
  static const SweepSchemas s;
  return s;
}

bool IsScalar(const json& v) { return v.is_number() || v.is_string() || v.is_boolean(); }

// One dimension of the grid: `positions` entries, each a list of settings.
using Setting = SweepSetting;
using Assignment = std::vector<Setting>;

json LabelOf(const json& member, size_t i) {
  return member.contains("labels") && i < member["labels"].size() ? member["labels"][i] : json(nullptr);
}

std::vector<Assignment> AxisPositions(const json& axis, size_t axis_index, uint64_t sweep_seed) {
  std::vector<Assignment> out;
  if (!axis["zip"].empty()) {
    const size_t n = axis["zip"][0]["values"].size();
    for (size_t i = 0; i < n; ++i) {
      Assignment a;
      for (const json& m : axis["zip"]) a.push_back({m["path"].get<std::string>(), m["values"][i], LabelOf(m, i)});
      out.push_back(std::move(a));
    }
    return out;
  }
  const std::string path = axis["path"].get<std::string>();
  if (!axis["values"].empty()) {
    for (size_t i = 0; i < axis["values"].size(); ++i) out.push_back({{path, axis["values"][i], LabelOf(axis, i)}});
    return out;
  }
  const std::string dist = axis["distribution"].get<std::string>();
  const double lo = axis["low"].get<double>(), hi = axis["high"].get<double>();
  Rng rng = MakeRng(sweep_seed, axis_index, 0, StreamPurpose::kVariant);
  for (int64_t i = 0; i < axis["count"].get<int64_t>(); ++i) {
    json v;
    if (dist == "int_uniform") {
      v = rng.Between(int64_t(std::ceil(lo)), int64_t(std::floor(hi)));  // bounds within +-2^53 (validation)
    } else if (dist == "log_uniform") {
      v = std::exp(rng.Uniform(std::log(lo), std::log(hi)));
    } else {
      v = rng.Uniform(lo, hi);
    }
    out.push_back({{path, v, nullptr}});
  }
  return out;
}

std::string SetArg(const std::string& path, const json& v) { return path + "=" + v.dump(); }

// Structural checks the schema cannot express.
void CheckSweep(const json& s, const std::string& file) {
  std::vector<Problem> problems;
  auto add = [&](const std::string& path, const std::string& msg) { problems.push_back({file, path, msg}); };
  if (!s["set"].is_object())
    add("/set", "expected an object {dotted path: value}");
  else
    for (auto it = s["set"].begin(); it != s["set"].end(); ++it)
      if (it.key() == "seed") add("/set/seed", "use \"seeds\" or \"seed_list\" to choose run seeds");
  // "job": "ope" cells evaluate the "ope" block's target; its keys mean
  // nothing to "run" cells, so setting them there is a mistake.
  const json& ope = s["ope"];
  if (s["job"] == "ope") {
    const json& t = ope["target"];
    if (t == "")
      add("/ope/target", "required for \"job\": \"ope\": the policy to evaluate (an agent block or type)");
    else if (!t.is_object() && !(t.is_string() && !t.get<std::string>().empty()))
      add("/ope/target", "expected an agent block (object) or an agent type or scenario file (string)");
    if (!ope["estimators"].is_array()) {
      add("/ope/estimators", "expected an array of estimator names");
    } else {
      for (size_t j = 0; j < ope["estimators"].size(); ++j) {
        const json& e = ope["estimators"][j];
        const auto& known = OpeEstimatorNames();
        if (!e.is_string() || std::find(known.begin(), known.end(), e.get<std::string>()) == known.end())
          add("/ope/estimators/" + std::to_string(j),
              (e.is_string() ? "unknown estimator \"" + e.get<std::string>() + "\"" : std::string("expected a string")) +
                  "; estimators: " + Join(known));
      }
    }
  } else if (std::any_of(Schemas().ope.fields().begin(), Schemas().ope.fields().end(),
                         [&](const Field& f) { return ope[f.key] != f.default_value; })) {
    add("/ope", "is read only by \"job\": \"ope\" sweeps (this one runs cohort run cells)");
  }
  int i = 0;
  std::set<std::string> paths;
  for (const json& a : s["axes"]) {
    const std::string here = "/axes/" + std::to_string(i++);
    const bool has_values = !a["values"].is_array() || !a["values"].empty();
    const bool has_dist = !a["distribution"].get<std::string>().empty();
    const bool has_zip = !a["zip"].empty();
    if (int(has_values) + int(has_dist) + int(has_zip) != 1) {
      add(here, "an axis needs exactly one of \"values\", \"distribution\" or \"zip\"");
      continue;
    }
    std::vector<std::pair<std::string, const json*>> members;
    if (has_zip) {
      int m = 0;
      for (const json& z : a["zip"]) members.push_back({here + "/zip/" + std::to_string(m++), &z});
      if (!a["path"].get<std::string>().empty()) add(here + "/path", "a zipped axis names its paths in \"zip\"");
    } else {
      members.push_back({here, &a});
      if (a["path"].get<std::string>().empty()) add(here + "/path", "missing the dotted scenario path");
    }
    size_t zip_len = 0;
    for (const auto& [where, m] : members) {
      const std::string path = (*m)["path"].get<std::string>();
      if (path == "seed") add(where + "/path", "use \"seeds\" or \"seed_list\" to vary run seeds");
      if (!path.empty() && !paths.insert(path).second) add(where + "/path", "\"" + path + "\" is swept twice");
      // "agent" and "agent.type" both swept: which one wins would depend on order.
      for (const std::string& other : paths)
        if (other != path && (other.rfind(path + ".", 0) == 0 || path.rfind(other + ".", 0) == 0))
          add(where + "/path", "\"" + path + "\" overlaps \"" + other + "\", which is also swept");
      if (has_dist) continue;
      const json& values = (*m)["values"];
      if (!values.is_array() || values.empty()) {
        add(where + "/values", "expected a non-empty array of values");
        continue;
      }
      const json& labels = (*m)["labels"];
      if (!labels.is_array()) {
        add(where + "/labels", "expected an array of strings");
      } else if (!labels.empty()) {
        std::set<std::string> seen;
        if (labels.size() != values.size())
          add(where + "/labels", "needs one label per value (" + std::to_string(values.size()) + ")");
        for (size_t j = 0; j < labels.size(); ++j)
          if (!labels[j].is_string() || labels[j].get<std::string>().empty())
            add(where + "/labels/" + std::to_string(j), "expected a non-empty string");
          else if (!seen.insert(labels[j].get<std::string>()).second)
            add(where + "/labels/" + std::to_string(j), "label \"" + labels[j].get<std::string>() + "\" is repeated");
      }
      bool need_labels = false;
      for (size_t j = 0; j < values.size(); ++j)
        if (!IsScalar(values[j]) && !values[j].is_object() && !values[j].is_array())
          add(where + "/values/" + std::to_string(j), "expected a number, string, boolean, object or array");
        else if (!IsScalar(values[j]) && labels.is_array() && labels.empty())
          need_labels = true;
      if (need_labels) add(where + "/labels", "object and array values need \"labels\" (short names for the report)");
      if (has_zip && zip_len != 0 && values.size() != zip_len)
        add(where + "/values", "zipped members need equal lengths (" + std::to_string(zip_len) + " vs " +
                                   std::to_string(values.size()) + ")");
      if (zip_len == 0) zip_len = values.size();
    }
    if (has_dist) {
      const double lo = a["low"].get<double>(), hi = a["high"].get<double>();
      if (lo > hi) add(here + "/low", "low exceeds high");
      constexpr double kMaxExactInteger = Rng::kMaxExactInteger;
      if (a["distribution"] == "int_uniform" && (std::fabs(lo) > kMaxExactInteger || std::fabs(hi) > kMaxExactInteger))
        add(here + (std::fabs(lo) > kMaxExactInteger ? "/low" : "/high"),
            "int_uniform bounds must lie within +-2^53 (9007199254740992)");
      if (a["distribution"] == "log_uniform" && lo <= 0) add(here + "/low", "log_uniform needs low > 0");
      if (a["distribution"] == "int_uniform" && std::ceil(lo) > std::floor(hi))
        add(here + "/low", "int_uniform range holds no integer");
    }
  }
  const json& seed_list = s["seed_list"];
  if (!seed_list.is_array())
    add("/seed_list", "expected an array of seeds");
  else
    for (size_t j = 0; j < seed_list.size(); ++j)
      if (!seed_list[j].is_number_unsigned()) add("/seed_list/" + std::to_string(j), "expected an integer >= 0");
  const json& r = s["report"];
  auto strings = [&](const json& v, const std::string& path) {
    if (!v.is_array()) return add(path, "expected an array of strings");
    for (size_t j = 0; j < v.size(); ++j)
      if (!v[j].is_string()) add(path + "/" + std::to_string(j), "expected a string");
  };
  strings(r["group_by"], "/report/group_by");
  strings(r["metrics"], "/report/metrics");
  if (!r["baseline"].is_object()) add("/report/baseline", "expected an object {axis path: value}");
  if (!problems.empty()) throw InputError(std::move(problems));
}

std::string LastLines(const std::string& file, int n) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > size_t(n) ? lines.size() - size_t(n) : 0; i < lines.size(); ++i)
    out += lines[i] + "\n";
  return out;
}

}  // namespace

json SweepCell::ToJson() const {
  json j = {{"cell", id},
            {"index", index},
            {"axes", axes},
            {"seed", seed},
            {"variant", variant ? json(*variant) : json(nullptr)},
            {"dir", dir}};
  if (!labels.empty()) j["labels"] = labels;
  return j;
}

SweepCell SweepCell::FromJson(const json& j) {
  SweepCell c;
  c.id = j["cell"].get<std::string>();
  c.index = j["index"].get<int64_t>();
  c.axes = j["axes"];
  c.seed = j["seed"].get<uint64_t>();
  if (!j["variant"].is_null()) c.variant = j["variant"].get<std::string>();
  c.dir = j["dir"].get<std::string>();
  if (j.contains("labels")) c.labels = j["labels"];
  return c;
}

std::vector<std::string> SweepCell::RunArgs(const std::string& base, const json& fixed_sets,
                                            const std::string& out_dir, const json& ope) const {
  std::vector<std::string> args = {ope.is_null() ? "run" : "log", base};
  for (auto it = fixed_sets.begin(); it != fixed_sets.end(); ++it) {
    args.push_back("--set");
    args.push_back(SetArg(it.key(), it.value()));
  }
  for (auto it = axes.begin(); it != axes.end(); ++it) {
    args.push_back("--set");
    args.push_back(SetArg(it.key(), it.value()));
  }
  args.insert(args.end(), {"--seed", std::to_string(seed)});
  if (variant) args.insert(args.end(), {"--variant", *variant});
  // One thread per cell: the pool provides the parallelism (results do not
  // depend on the thread count).
  args.insert(args.end(), {"--threads", "1", "--out", (fs::path(out_dir) / dir).string(), "--quiet"});
  if (!ope.is_null()) {
    const json& target = ope["target"];
    args.insert(args.end(), {"--force", "--target", target.is_string() ? target.get<std::string>() : target.dump()});
    std::string estimators;
    for (const json& e : ope["estimators"]) estimators += (estimators.empty() ? "" : ",") + e.get<std::string>();
    if (!estimators.empty()) args.insert(args.end(), {"--estimators", estimators});
    args.insert(args.end(), {"--bootstrap", std::to_string(ope["bootstrap"].get<int64_t>())});
  }
  return args;
}

const Schema& SweepSchema() { return Schemas().sweep; }

SweepCells::SweepCells(const json& s, const std::string& file) {
  const uint64_t sweep_seed = s["seed"].get<uint64_t>();
  for (size_t i = 0; i < s["axes"].size(); ++i) dims_.push_back(AxisPositions(s["axes"][i], i, sweep_seed));
  if (!s["seed_list"].empty()) {
    seed_list_ = s["seed_list"].get<std::vector<uint64_t>>();
  } else {
    seed_start_ = s["seeds"]["start"].get<uint64_t>();
    seed_count_ = s["seeds"]["count"].get<int64_t>();
  }
  split_ = s["variants"]["split"].get<std::string>();
  if (!split_.empty()) {
    variant_start_ = s["variants"]["start"].get<int64_t>();
    variant_count_ = s["variants"]["count"].get<int64_t>();
  }
  // Counted in doubles first: a product of large counts must not wrap.
  double count = double(seeds()) * double(split_.empty() ? 1 : variant_count_);
  std::string factors;
  for (size_t d = 0; d < dims_.size(); ++d) {
    count *= double(dims_[d].size());
    factors += std::to_string(dims_[d].size()) + " (axis " + std::to_string(d) + ") x ";
  }
  factors += std::to_string(seeds()) + " seeds";
  if (!split_.empty()) factors += " x " + std::to_string(variant_count_) + " variants";
  if (count > double(kMaxSweepCells)) {
    char n[64];
    std::snprintf(n, sizeof n, "%.4g", count);
    throw InputError(file, "",
                     "expands to " + std::string(n) + " cells (" + factors + "), more than the " +
                         std::to_string(kMaxSweepCells) +
                         " a sweep may have (each cell is a process and a run directory); split it into several "
                         "sweeps, or sample the space with random axes");
  }
  size_ = int64_t(count);
}

SweepCell SweepCells::operator[](int64_t index) const {
  if (index < 0 || index >= size_) throw std::out_of_range("SweepCells: cell index out of range");
  SweepCell c;
  c.index = index;
  char id[32];
  std::snprintf(id, sizeof id, "c%06lld", (long long)index);
  c.id = id;
  c.dir = "cells/" + c.id;
  const int64_t variants = split_.empty() ? 1 : variant_count_;
  const int64_t v = index % variants;
  int64_t rest = index / variants;
  const int64_t seed = rest % seeds();
  rest /= seeds();
  // Odometer over the axes, last axis fastest.
  std::vector<size_t> pos(dims_.size(), 0);
  for (size_t d = dims_.size(); d-- > 0;) {
    pos[d] = size_t(rest % int64_t(dims_[d].size()));
    rest /= int64_t(dims_[d].size());
  }
  for (size_t d = 0; d < dims_.size(); ++d)
    for (const Setting& st : dims_[d][pos[d]]) {
      c.axes[st.path] = st.value;
      if (!st.label.is_null()) c.labels[st.path] = st.label;
    }
  c.seed = Seed(seed);
  if (!split_.empty()) c.variant = split_ + ":" + std::to_string(variant_start_ + v);
  return c;
}

std::vector<std::string> SweepCells::AxisPaths() const {
  std::vector<std::string> paths;
  for (const auto& dim : dims_)
    if (!dim.empty())
      for (const Setting& st : dim[0])
        if (std::find(paths.begin(), paths.end(), st.path) == paths.end()) paths.push_back(st.path);
  return paths;
}

bool SweepCells::HasKeyValue(const std::string& key, const json& value) const {
  if (size_ == 0) return false;
  if (key == "seed") {
    if (!value.is_number_unsigned()) return false;
    const uint64_t v = value.get<uint64_t>();
    if (!seed_list_.empty()) return std::find(seed_list_.begin(), seed_list_.end(), v) != seed_list_.end();
    return v >= seed_start_ && v - seed_start_ < uint64_t(seed_count_);
  }
  // As report.cc's KeyValue: a label when the axis gives one, then the
  // variant, then the axis value; null when no axis sets the key.
  bool set = false;
  for (const auto& dim : dims_)
    for (const auto& position : dim)
      for (const Setting& st : position) {
        if (st.path != key) continue;
        set = true;
        if ((st.label.is_null() ? st.value : st.label) == value) return true;
      }
  if (set) return false;
  if (key == "variant") {
    if (split_.empty()) return value.is_null();
    if (!value.is_string()) return false;
    const std::string v = value.get<std::string>();
    if (v.rfind(split_ + ":", 0) != 0) return false;
    const std::string n = v.substr(split_.size() + 1);
    if (n.empty() || n.size() > 18 || n.find_first_not_of("0123456789") != std::string::npos) return false;
    const int64_t i = std::stoll(n);
    return i >= variant_start_ && i < variant_start_ + variant_count_;
  }
  return value.is_null();
}

std::vector<json> SweepCells::KeyValues(const std::string& key, size_t limit) const {
  std::vector<json> out;
  auto add = [&](const json& v) {
    if (out.size() < limit && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  };
  if (size_ == 0) return out;
  if (key == "seed") {
    for (int64_t i = 0; i < seeds() && out.size() < limit; ++i) add(Seed(i));
    return out;
  }
  bool set = false;
  for (const auto& dim : dims_)
    for (const auto& position : dim)
      for (const Setting& st : position)
        if (st.path == key) {
          set = true;
          add(st.label.is_null() ? st.value : st.label);
        }
  if (set) return out;
  if (key == "variant") {
    if (split_.empty()) add(nullptr);
    for (int64_t i = 0; !split_.empty() && i < variant_count_ && out.size() < limit; ++i)
      add(split_ + ":" + std::to_string(variant_start_ + i));
    return out;
  }
  add(nullptr);
  return out;
}

std::vector<SweepCell> ExpandCells(const json& s) {
  const SweepCells cells(s, "sweep");
  std::vector<SweepCell> out;
  for (const SweepCell& c : cells) out.push_back(c);
  return out;
}

// Splits a command-line --set into its dotted path and JSON value (bare words
// are strings, as for scenarios).
std::pair<std::string, json> ParseSetArg(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set", "", "expected dotted.path=value, got \"" + assignment + "\"");
  return {assignment.substr(0, eq), ParseOverrideValue(assignment.substr(0, eq), assignment.substr(eq + 1))};
}

Sweep LoadSweep(const std::string& path, const std::vector<std::string>& overrides) {
  json doc = ReadJsonFile(path);
  if (!doc.is_object()) throw InputError(path, "", "expected a JSON object at the top level");
  // An explicitly empty "values" is a mistake of its own (the schema's
  // default [] would otherwise read as "this axis has no values key").
  if (doc.contains("axes") && doc["axes"].is_array())
    for (size_t i = 0; i < doc["axes"].size(); ++i) {
      const json& a = doc["axes"][i];
      if (a.is_object() && a.contains("values") && a["values"].is_array() && a["values"].empty())
        throw InputError(path, "/axes/" + std::to_string(i) + "/values", "expected a non-empty array of values");
    }
  // Command-line overrides join the file's "set" (and are recorded with it).
  std::set<std::string> from_command_line;
  for (const std::string& o : overrides) {
    auto [key, value] = ParseSetArg(o);
    if (!doc.contains("set")) doc["set"] = json::object();
    if (doc["set"].is_object()) doc["set"][key] = value;
    from_command_line.insert(key);
  }
  Sweep sweep;
  sweep.file = path;
  sweep.resolved = Validate(doc, SweepSchema(), path);
  CheckSweep(sweep.resolved, path);
  const fs::path base = fs::absolute(fs::path(path).parent_path() / sweep.resolved["base"].get<std::string>());
  sweep.base = base.lexically_normal().string();
  sweep.resolved["base"] = sweep.base;
  std::error_code ec;
  if (!fs::is_regular_file(base, ec))
    throw InputError(path, "/base",
                     "the base scenario " + sweep.base + (fs::exists(base, ec) ? " is not a file" : " does not exist") +
                         " (\"base\" is relative to the sweep file)");
  // Counted (and refused above kMaxSweepCells) before anything is built.
  sweep.cells = SweepCells(sweep.resolved, path);

  // The base scenario with the fixed overrides, then each axis value alone:
  // a bad value is reported, with its sweep path, before anything runs.
  const ComponentRegistry& agents = AgentRegistry();
  const Schema root = ScenarioSchema(agents);
  json scenario = ReadJsonFile(sweep.base);
  std::vector<Problem> problems;
  // `where`: the sweep path (or the --set) of the settings, so an error in the
  // base scenario names the setting responsible.
  // Each check also estimates the memory of a cell with those settings
  // (agents/memory.h); returns it in bytes (0 when the settings are bad).
  auto check = [&](const std::vector<Setting>& sets, const std::string& where) -> double {
    try {
      json copy = scenario;
      for (const Setting& st : sets) ApplyOverride(copy, SetArg(st.path, st.value), root);
      return EstimateRunMemory(ParseScenario(copy, sweep.base, agents)).bytes();
    } catch (const InputError& e) {
      for (const Problem& q : e.problems()) {
        // A problem at a key the settings set is the setting's fault: name
        // the scenario key it set; anything else is in the base file.
        bool from_setting = q.file.rfind("--set", 0) == 0;
        for (const Setting& st : sets) {
          const std::string ptr = DottedToPointer(st.path);
          from_setting = from_setting || q.path == ptr || q.path.rfind(ptr + "/", 0) == 0;
        }
        const bool command_line = where.rfind("--set", 0) == 0;
        problems.push_back(
            {command_line ? where : path, command_line ? "" : where,
             (from_setting ? "setting " : "in " + q.file + ": ") + (q.path.empty() ? "" : q.path + ": ") + q.message});
      }
      return 0.0;
    }
  };
  std::vector<Setting> fixed;
  for (auto it = sweep.resolved["set"].begin(); it != sweep.resolved["set"].end(); ++it)
    fixed.push_back({it.key(), it.value(), nullptr});
  for (const Setting& st : fixed)
    check({st}, from_command_line.count(st.path) ? "--set " + st.path + "=" + st.value.dump() : "/set/" + st.path);
  if (problems.empty()) check(fixed, "/set");
  // Per axis, the position whose cell needs the most memory.
  std::vector<size_t> largest(sweep.cells.axes().size(), 0);
  if (problems.empty()) {
    const json& axes = sweep.resolved["axes"];
    for (size_t i = 0; i < axes.size(); ++i) {
      const auto& positions = sweep.cells.axes()[i];
      double most = -1.0;
      for (size_t j = 0; j < positions.size(); ++j) {
        auto sets = fixed;
        sets.insert(sets.end(), positions[j].begin(), positions[j].end());
        const double bytes = check(
            sets, "/axes/" + std::to_string(i) + (axes[i]["values"].empty() ? "" : "/values/" + std::to_string(j)));
        if (bytes > most) most = bytes, largest[i] = j;
      }
    }
  }
  // The largest cell: every axis at its most demanding position (each cell's
  // own `cohort run` checks its memory again, variants included). A
  // combination the base refuses falls back to the fixed settings alone.
  if (problems.empty()) {
    std::vector<Setting> sets = fixed;
    for (size_t i = 0; i < largest.size(); ++i) {
      const auto& position = sweep.cells.axes()[i][largest[i]];
      sets.insert(sets.end(), position.begin(), position.end());
      for (const Setting& st : position) sweep.largest_cell_settings += " --set " + SetArg(st.path, st.value);
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        json copy = scenario;
        for (const Setting& st : sets) ApplyOverride(copy, SetArg(st.path, st.value), root);
        sweep.largest_cell = EstimateRunMemory(ParseScenario(copy, sweep.base, agents));
        break;
      } catch (const InputError&) {
        sets = fixed;
        sweep.largest_cell_settings.clear();
      }
    }
    const std::string settings =
        sweep.largest_cell_settings.empty() ? "" : " (" + sweep.largest_cell_settings.substr(1) + ")";
    const std::string no_pointer;
    CheckMemory(sweep.largest_cell, path, "its largest cell" + settings, &no_pointer);
  }
  const json& v = sweep.resolved["variants"];
  if (problems.empty() && !v["split"].get<std::string>().empty()) {
    json copy = scenario;
    for (const Setting& st : fixed) ApplyOverride(copy, SetArg(st.path, st.value), root);
    const Scenario base_scenario = ParseScenario(copy, sweep.base, agents);
    const VariantFamily family(base_scenario, agents);
    const std::string split = v["split"].get<std::string>();
    const int64_t size = family.SplitSize(split);
    const int64_t last = v["start"].get<int64_t>() + v["count"].get<int64_t>();
    if (family.empty())
      problems.push_back({path, "/variants/split", "the base scenario defines no variant family"});
    else if (size < 0) {
      const std::string hint = Suggest(split, family.splits());
      problems.push_back(
          {path, "/variants/split",
           "unknown split \"" + split + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)")});
    } else if (last > size) {
      problems.push_back({path, "/variants/count",
                          "variants up to index " + std::to_string(last - 1) + " exceed split \"" + split +
                              "\" of size " + std::to_string(size)});
    }
  }
  if (!problems.empty()) throw InputError(std::move(problems));
  // The report block names axes, seeds, variants and summary keys: checked
  // now, not after every cell has run.
  CheckReportBlock(sweep.resolved["report"], sweep.cells, path);
  return sweep;
}

SweepWork EstimateSweepWork(const Sweep& sweep, double calibrate_seconds) {
  SweepWork w;
  if (sweep.cells.empty() || calibrate_seconds <= 0) return w;
  const ComponentRegistry& agents = AgentRegistry();
  const Schema root = ScenarioSchema(agents);
  const json scenario = ReadJsonFile(sweep.base);
  auto cell_scenario = [&](const SweepCell& c) {
    json copy = scenario;
    for (auto it = sweep.resolved["set"].begin(); it != sweep.resolved["set"].end(); ++it)
      ApplyOverride(copy, SetArg(it.key(), it.value()), root);
    for (auto it = c.axes.begin(); it != c.axes.end(); ++it) ApplyOverride(copy, SetArg(it.key(), it.value()), root);
    return ParseScenario(copy, sweep.base, agents);
  };
  // Calibration: the first cell's agent acting (no training, no reference
  // policies) on a few episodes gives this machine's user-steps per second
  // and the steps per episode; every cell is assumed to have that length.
  Scenario first = cell_scenario(sweep.cells[0]);
  const int64_t episodes = first.run.episodes;
  first.run.episodes = std::min<int64_t>(episodes, std::max<int64_t>(8, first.run.num_envs));
  first.run.threads = 1;
  const auto start = std::chrono::steady_clock::now();
  int64_t steps = 0, done = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < calibrate_seconds) {
    const Rollout r = RollOut(first, first.agent, false, {});
    steps += r.steps;
    done += int64_t(r.episodes.size());
    if (r.steps == 0) break;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (done == 0 || steps == 0) return w;
  const double per_episode = double(steps) / double(done), rate = double(steps) / seconds;
  // A cell's work depends on its run settings alone: the cells are counted
  // by the positions of the axes that set "run" keys (each combination
  // stands for size / combinations cells), never visited one by one.
  json base_run = cell_scenario(SweepCell{}).resolved["run"];
  std::vector<size_t> run_axes;
  double combinations = 1.0;
  for (size_t d = 0; d < sweep.cells.axes().size(); ++d) {
    bool touches = false;
    for (const auto& position : sweep.cells.axes()[d])
      for (const Setting& st : position) touches = touches || st.path == "run" || st.path.rfind("run.", 0) == 0;
    if (touches) run_axes.push_back(d), combinations *= double(sweep.cells.axes()[d].size());
  }
  const double per_combination = double(sweep.cells.size()) / combinations;
  const RunParams defaults;
  std::vector<size_t> pos(run_axes.size(), 0);
  for (;;) {
    json run = base_run;
    for (size_t a = 0; a < run_axes.size(); ++a)
      for (const Setting& st : sweep.cells.axes()[run_axes[a]][pos[a]]) {
        if (st.path == "run" && st.value.is_object())
          run = st.value;
        else if (st.path.rfind("run.", 0) == 0 && run.is_object())
          run[st.path.substr(4)] = st.value;
      }
    auto number = [&](const char* key, double fallback) {
      return run.is_object() && run.contains(key) && run[key].is_number() ? run[key].get<double>() : fallback;
    };
    const bool reference = run.is_object() && run.contains("reference") && run["reference"].is_boolean()
                               ? run["reference"].get<bool>()
                               : defaults.reference;
    w.user_steps +=
        per_combination *
        (number("episodes", double(defaults.episodes)) * per_episode * (reference ? 3.0 : 1.0) +
         number("train_steps", double(defaults.train_steps)) * number("num_envs", double(defaults.num_envs)));
    size_t a = run_axes.size();
    while (a > 0 && ++pos[a - 1] == sweep.cells.axes()[run_axes[a - 1]].size()) pos[--a] = 0;
    if (a == 0) break;
  }
  // An off-policy cell steps its users four times: the log, the replays that
  // fit the reward model and compute the estimates, and the target's rollout
  // for the episode truth (the truth's slate enumeration comes on top).
  if (!sweep.OpeBlock().is_null()) w.user_steps *= 4.0;
  w.seconds_per_core = w.user_steps / rate;
  return w;
}

CellState StateOf(const std::string& out_dir, const SweepCell& cell) {
  const fs::path dir = fs::path(out_dir) / cell.dir;
  if (fs::exists(dir / "summary.json")) return CellState::kDone;
  if (fs::exists(dir / "error.json")) return CellState::kFailed;
  return CellState::kPending;
}

void PrepareSweepDir(const Sweep& sweep, const std::string& out_dir) {
  // Shards (and `cohort report`) may be writing here at this moment, from
  // other hosts too: only temporaries that are certainly stale go
  // (DirectoryUse::kShared). Each cell's `cohort run` clears its own directory.
  RemoveStaleTemporaries(out_dir, DirectoryUse::kShared,
                         {"sweep.resolved.json", "cells.jsonl", "results.csv", "results.md"});
  RemoveStaleTemporaries((fs::path(out_dir) / "plots").string(), DirectoryUse::kShared, {"*.svg"});
  fs::create_directories(fs::path(out_dir) / "cells");
  const fs::path resolved = fs::path(out_dir) / "sweep.resolved.json";
  if (fs::exists(resolved)) {
    json previous(json::value_t::discarded);
    try {
      previous = ReadJsonFile(resolved.string());
    } catch (const InputError&) {
    }
    if (previous.is_discarded() || previous != sweep.resolved)
      throw InputError(out_dir, "", "holds a different sweep (sweep.resolved.json differs); choose another --out");
  }
  WriteFileAtomic(resolved.string(), sweep.resolved.dump(2) + "\n");
  // Streamed: a sweep of millions of cells is never one string in memory.
  AtomicLineWriter lines((fs::path(out_dir) / "cells.jsonl").string());
  for (const SweepCell& c : sweep.cells) lines.Write(c.ToJson().dump());
  lines.Commit();
}

void RecordCellResult(const std::string& out_dir, const SweepCell& cell, int exit_code) {
  const fs::path dir = fs::path(out_dir) / cell.dir;
  if (exit_code == 0 && fs::exists(dir / "summary.json")) return;
  const json error = {{"exit_code", exit_code}, {"message", LastLines((dir / "log.txt").string(), 20)}};
  WriteFileAtomic((dir / "error.json").string(), error.dump(2) + "\n");
}

pid_t LaunchCell(const Sweep& sweep, const SweepCell& cell, const SweepOptions& options) {
  const fs::path dir = fs::path(options.out_dir) / cell.dir;
  fs::create_directories(dir);
  fs::remove(dir / "error.json");  // a retry starts clean
  const std::vector<std::string> args = sweep.CellArgs(cell, options.out_dir);
  const std::string log = (dir / "log.txt").string();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Child: dies with the sweep (a killed sweep must not leave cells running
    // that a rerun would start again), one BLAS/OpenMP thread, output to the log.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(137);  // the sweep died before prctl took effect
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    // A cell is one plain process, not an MPI rank: `cohort run` refuses to
    // run under mpirun with several ranks, which it would otherwise see here.
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) unsetenv(v);
    setenv("OMP_NUM_THREADS", "1", 1);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(options.cohort_binary.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(options.cohort_binary.c_str(), argv.data());
    std::perror("execv");
    _exit(127);
  }
  return pid;
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string SweepProgress::Line(const SweepTotals& t, int running, double elapsed) {
  const int64_t finished = t.done + t.failed;
  const int64_t remaining = t.total - t.skipped - finished;
  const double rate = elapsed > 0 ? double(finished) / elapsed : 0.0;
  // No cell has finished yet: the rate, and so the ETA, is unknown.
  char eta[32] = "ETA unknown";
  if (finished > 0) std::snprintf(eta, sizeof eta, "ETA %.0fs", double(remaining) / rate);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "[sweep] %lld/%lld cells done (%lld skipped, %lld failed, %d running)  %.2f cells/s  %s",
                (long long)(t.skipped + t.done), (long long)t.total, (long long)t.skipped, (long long)t.failed, running,
                rate, eta);
  return buf;
}

void SweepProgress::Update(const SweepTotals& t, int running) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const int64_t finished = t.done + t.failed;
  const int64_t remaining = t.total - t.skipped - finished;
  if (remaining > 0 && now - last_ < std::chrono::seconds(tty_ ? 0 : 5) && finished == last_finished_) return;
  last_ = now;
  last_finished_ = finished;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "%s%s%s", tty_ ? "\r" : "", Line(t, running, elapsed).c_str(),
               tty_ && remaining > 0 ? "   " : "\n");
  std::fflush(stderr);
}

SweepLock::SweepLock(const std::string& out_dir, int64_t shard, int64_t shards, bool quiet) {
  const fs::path dir = fs::path(out_dir) / "locks";
  fs::create_directories(dir);
  path_ = (dir / ("shard-" + std::to_string(shard) + "-of-" + std::to_string(shards) + ".lock")).string();
  fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path_ + ": cannot open the sweep lock: " + std::strerror(errno));
  auto holder = [&] {
    char buf[512] = {0};
    const ssize_t n = pread(fd_, buf, sizeof buf - 1, 0);
    std::string h(buf, n > 0 ? size_t(n) : 0);
    while (!h.empty() && (h.back() == '\n' || h.back() == ' ')) h.pop_back();
    return h;
  };
  // flock is released by the kernel when its holder dies, so a lock file
  // whose flock can be taken is stale whatever it says.
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string h = holder();
    close(fd_);
    fd_ = -1;
    throw InputError(out_dir, "",
                     "another sweep is running in this directory" + std::string(shards > 1 ? " (same shard)" : "") +
                         (h.empty() ? "" : " (" + h + ")") + "; wait for it, or choose another --out");
  }
  const std::string stale = holder();
  if (!stale.empty() && !quiet)
    std::fprintf(stderr, "[sweep] took over a stale lock (%s, no longer running)\n", stale.c_str());
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const std::string me = "host " + std::string(host) + " pid " + std::to_string(getpid()) + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, me.data(), me.size(), 0) != ssize_t(me.size()))
    throw std::runtime_error(path_ + ": cannot write the sweep lock");
}

SweepLock::~SweepLock() {
  if (fd_ < 0) return;
  if (ftruncate(fd_, 0) != 0) {  // an empty lock file: nobody to name
  }
  close(fd_);  // releases the flock
}

SweepTotals RunSweepLocal(const Sweep& sweep, const SweepOptions& options) {
  PrepareSweepDir(sweep, options.out_dir);
  const SweepLock lock(options.out_dir, options.shard, options.shards, options.quiet);
  SweepTotals totals;
  std::vector<int64_t> pending;  // cell indices (cells are built when launched)
  for (const SweepCell& c : sweep.cells) {
    if (!options.InShard(c)) continue;
    ++totals.total;
    if (StateOf(options.out_dir, c) == CellState::kDone)
      ++totals.skipped;
    else
      pending.push_back(c.index);
  }
  const int jobs = options.jobs > 0 ? options.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  SweepProgress progress(options.quiet);
  std::map<pid_t, SweepCell> running;
  size_t next = 0;
  bool forwarded = false;
  while ((next < pending.size() && !options.Stopping()) || !running.empty()) {
    while (!options.Stopping() && next < pending.size() && int(running.size()) < jobs) {
      SweepCell c = sweep.cells[pending[next++]];
      const pid_t pid = LaunchCell(sweep, c, options);
      running[pid] = std::move(c);
    }
    if (options.Stopping() && !forwarded) {
      // Stop: every running cell gets SIGTERM (training cells checkpoint and
      // exit); nothing new starts.
      for (const auto& [pid, cell] : running) kill(pid, SIGTERM);
      forwarded = true;
    }
    progress.Update(totals, int(running.size()));
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;  // a signal: the loop sees options.stop
      throw std::runtime_error("waitpid failed");
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const int code = ExitCodeOf(status);
    const CellState state = StateOf(options.out_dir, it->second);
    if (forwarded && state != CellState::kDone) {
      ++totals.interrupted;  // no error.json: the rerun resumes it
    } else if (forwarded) {
      // The stop reached a cell that had already written its summary (the
      // last of its outputs): it is done, whatever exit code the signal gave.
      ++totals.done;
    } else {
      RecordCellResult(options.out_dir, it->second, code);
      (StateOf(options.out_dir, it->second) == CellState::kDone ? totals.done : totals.failed)++;
    }
    running.erase(it);
  }
  progress.Update(totals, 0);
  return totals;
}

}  // namespace cohort
