#include "env/variants.h"

#include <cmath>
#include <set>

#include "core/rng.h"

namespace cohort {
namespace {
constexpr long long kMaxSteps = 1'000'000'000'000;  // readable bound in `cohort list`
constexpr long long kMaxCount = 100'000'000;

struct FamilySchemas {
  Schema parameter{"a distribution over one numeric scenario parameter"};
  Schema splits{"sizes of the in-distribution splits"};
  Schema ood{"a named out-of-distribution split with its own distributions"};
  Schema family{"variant family"};
  FamilySchemas() {
    parameter.String("path", "", {}, "dotted path of a numeric parameter, e.g. env.dynamics.interest.drift_std")
        .Required("path")
        .String("distribution", "uniform", {"uniform", "log_uniform", "int_uniform", "choice"}, "how values are drawn")
        .Number("low", 0.0, -1e300, 1e300, "uniform/log_uniform/int_uniform: lower end")
        .Number("high", 1.0, -1e300, 1e300, "uniform/log_uniform/int_uniform: upper end")
        .NumberArray("values", json::array(), -1e300, 1e300, "choice: the values");
    splits.Integer("train", 256, 0, kMaxCount, "training variants")
        .Integer("validation", 32, 0, kMaxCount, "validation variants (model selection only)")
        .Integer("test", 64, 0, kMaxCount, "in-distribution test variants");
    ood.String("name", "", {}, "split name")
        .Required("name")
        .Integer("count", 64, 1, kMaxCount, "variants in this split")
        .ObjectArray("parameters", &parameter, "distributions replacing (or adding to) the family's");
    family.Integer("seed", 0, 0, kMaxSteps, "seed of variant sampling (independent of the run seed)")
        .ObjectArray("parameters", &parameter, "distributions over parameters")
        .Object("splits", &splits, "split sizes")
        .ObjectArray("ood", &ood, "out-of-distribution splits");
  }
};

const FamilySchemas& Schemas() {
  static const FamilySchemas s;
  return s;
}

constexpr double kMaxExactInteger = Rng::kMaxExactInteger;

double Draw(const json& p, Rng& rng) {
  const std::string dist = p["distribution"].get<std::string>();
  const double lo = p["low"].get<double>(), hi = p["high"].get<double>();
  if (dist == "uniform") return rng.Uniform(lo, hi);
  if (dist == "log_uniform") return std::exp(rng.Uniform(std::log(lo), std::log(hi)));
  if (dist == "int_uniform") {
    // Validation keeps the bounds within +-2^53 (kMaxExactInteger).
    return static_cast<double>(rng.Between(static_cast<int64_t>(std::ceil(lo)), static_cast<int64_t>(std::floor(hi))));
  }
  const auto values = p["values"].get<std::vector<double>>();
  return values[rng.Below(static_cast<uint32_t>(values.size()))];
}

// Values a distribution can take at its extremes (checked against the schema).
std::vector<std::pair<std::string, double>> Extremes(const json& p) {
  const std::string dist = p["distribution"].get<std::string>();
  if (dist == "choice") {
    std::vector<std::pair<std::string, double>> out;
    int i = 0;
    for (double v : p["values"].get<std::vector<double>>()) out.push_back({"values/" + std::to_string(i++), v});
    return out;
  }
  double lo = p["low"].get<double>(), hi = p["high"].get<double>();
  if (dist == "int_uniform") {
    lo = std::ceil(lo);
    hi = std::floor(hi);
  }
  return {{"low", lo}, {"high", hi}};
}

void SetValue(json& doc, const std::string& dotted, double v) {
  json& slot = doc[json::json_pointer(DottedToPointer(dotted))];
  if (slot.is_number_integer())
    slot = static_cast<int64_t>(std::llround(v));
  else
    slot = v;
}

void CheckParameters(const json& params, const std::string& ptr, const json& resolved, const std::string& file,
                     const Schema& root, std::vector<Problem>& problems) {
  int i = 0;
  for (const json& p : params) {
    const std::string here = ptr + "/" + std::to_string(i++);
    const std::string path = p["path"].get<std::string>();
    const std::string dist = p["distribution"].get<std::string>();
    const json::json_pointer jp(DottedToPointer(path));
    if (path.empty() || !resolved.contains(jp) || !resolved[jp].is_number()) {
      problems.push_back({file, here + "/path", "\"" + path + "\" is not a numeric parameter of the scenario"});
      continue;
    }
    if (dist == "choice" && p["values"].empty()) {
      problems.push_back({file, here + "/values", "choice needs at least one value"});
      continue;
    }
    if (dist != "choice" && p["low"].get<double>() > p["high"].get<double>()) {
      problems.push_back({file, here + "/low", "low exceeds high"});
      continue;
    }
    if (dist == "log_uniform" && p["low"].get<double>() <= 0) {
      problems.push_back({file, here + "/low", "log_uniform needs low > 0"});
      continue;
    }
    if (dist == "int_uniform" && (std::fabs(p["low"].get<double>()) > kMaxExactInteger ||
                                  std::fabs(p["high"].get<double>()) > kMaxExactInteger)) {
      problems.push_back({file, here + (std::fabs(p["low"].get<double>()) > kMaxExactInteger ? "/low" : "/high"),
                          "int_uniform bounds must lie within +-2^53 (9007199254740992)"});
      continue;
    }
    if (dist == "int_uniform" && std::ceil(p["low"].get<double>()) > std::floor(p["high"].get<double>())) {
      problems.push_back({file, here + "/low", "int_uniform range holds no integer"});
      continue;
    }
    if (resolved[jp].is_number_integer() && dist != "int_uniform" && dist != "choice") {
      problems.push_back(
          {file, here + "/distribution", "\"" + path + "\" is an integer parameter: use int_uniform or choice"});
      continue;
    }
    for (const auto& [key, v] : Extremes(p)) {
      json copy = resolved;
      SetValue(copy, path, v);
      try {
        json checked = Validate(copy, root, file);
        ParseEnvParams(checked["env"], file);
      } catch (const InputError& e) {
        std::string why;
        for (const Problem& q : e.problems()) why += (why.empty() ? "" : "; ") + q.path + ": " + q.message;
        const json shown =
            resolved[jp].is_number_integer() && std::fabs(v) <= kMaxExactInteger ? json(std::llround(v)) : json(v);
        problems.push_back(
            {file, here + "/" + key, "value " + shown.dump() + " for " + path + " is invalid (" + why + ")"});
      }
    }
  }
}

}  // namespace

const Schema& FamilySchema() { return Schemas().family; }

void CheckFamily(const json& resolved, const std::string& file, const Schema& root) {
  const json& f = resolved["family"];
  std::vector<Problem> problems;
  CheckParameters(f["parameters"], "/family/parameters", resolved, file, root, problems);
  std::set<std::string> names = {"train", "validation", "test"};
  int i = 0;
  for (const json& o : f["ood"]) {
    const std::string here = "/family/ood/" + std::to_string(i++);
    const std::string name = o["name"].get<std::string>();
    if (!names.insert(name).second)
      problems.push_back({file, here + "/name", "split name \"" + name + "\" is used twice"});
    if (o["parameters"].empty())
      problems.push_back({file, here + "/parameters", "an out-of-distribution split needs its own parameters"});
    CheckParameters(o["parameters"], here + "/parameters", resolved, file, root, problems);
  }
  if (!problems.empty()) throw InputError(std::move(problems));
}

VariantFamily::VariantFamily(const Scenario& base, const ComponentRegistry& agents) : base_(base), agents_(&agents) {
  const json& f = base_.resolved["family"];
  const uint64_t family_seed = f["seed"].get<uint64_t>();
  struct SplitDef {
    std::string name;
    int64_t count;
    json params;
  };
  std::vector<SplitDef> defs = {{"train", f["splits"]["train"].get<int64_t>(), f["parameters"]},
                                {"validation", f["splits"]["validation"].get<int64_t>(), f["parameters"]},
                                {"test", f["splits"]["test"].get<int64_t>(), f["parameters"]}};
  for (const json& o : f["ood"]) {
    // An ood split replaces the family's distribution for the paths it names.
    json params = o["parameters"];
    for (const json& p : f["parameters"]) {
      bool overridden = false;
      for (const json& q : o["parameters"]) overridden |= q["path"] == p["path"];
      if (!overridden) params.push_back(p);
    }
    defs.push_back({o["name"].get<std::string>(), o["count"].get<int64_t>(), params});
  }
  for (const SplitDef& d : defs)
    for (const json& p : d.params) {
      const std::string path = p["path"].get<std::string>();
      if (std::find(paths_.begin(), paths_.end(), path) == paths_.end()) paths_.push_back(path);
    }
  // Assignment over the union of paths (base values where a split does not
  // vary a path): the key that must be unique across all splits.
  std::vector<double> base_values;
  for (const std::string& path : paths_)
    base_values.push_back(base_.resolved[json::json_pointer(DottedToPointer(path))].get<double>());
  std::set<std::vector<double>> seen;
  for (size_t s = 0; s < defs.size(); ++s) {
    const SplitDef& d = defs[s];
    split_names_.push_back(d.name);
    std::vector<Variant>& out = variants_[d.name];
    out.reserve(size_t(d.count));
    for (int64_t index = 0; index < d.count; ++index) {
      Rng rng = MakeRng(family_seed, s + 1, uint64_t(index), StreamPurpose::kVariant);
      Variant v;
      v.split = d.name;
      v.index = index;
      v.id = (uint64_t(s + 1) << 40) | uint64_t(index);
      for (int attempt = 0;; ++attempt) {
        v.values.clear();
        std::vector<double> key = base_values;
        for (const json& p : d.params) {
          const std::string path = p["path"].get<std::string>();
          const double x = Draw(p, rng);
          v.values.push_back({path, x});
          key[size_t(std::find(paths_.begin(), paths_.end(), path) - paths_.begin())] = x;
        }
        if (paths_.empty() || seen.insert(key).second) break;
        if (attempt == 1000)
          throw InputError(base_.file, "/family",
                           "cannot draw " + std::to_string(d.count) + " distinct variants for split \"" + d.name +
                               "\": the distributions hold too few distinct assignments");
      }
      out.push_back(std::move(v));
    }
  }
}

int64_t VariantFamily::SplitSize(const std::string& split) const {
  auto it = variants_.find(split);
  return it == variants_.end() ? -1 : static_cast<int64_t>(it->second.size());
}

const Variant& VariantFamily::Sample(const std::string& split, int64_t index) const {
  auto it = variants_.find(split);
  if (it == variants_.end()) {
    const std::string hint = Suggest(split, split_names_);
    throw InputError("--variant", "",
                     "unknown split \"" + split + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
  }
  if (index < 0 || index >= static_cast<int64_t>(it->second.size()))
    throw InputError("--variant", "",
                     "index " + std::to_string(index) + " is outside split \"" + split + "\" of size " +
                         std::to_string(it->second.size()));
  return it->second[size_t(index)];
}

const Variant& VariantFamily::Parse(const std::string& text) const {
  const size_t colon = text.find(':');
  if (colon == std::string::npos)
    throw InputError("--variant", "", "expected SPLIT:INDEX (e.g. test:3), got \"" + text + "\"");
  int64_t index = 0;
  try {
    size_t used = 0;
    index = std::stoll(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw InputError("--variant", "", "index in \"" + text + "\" is not an integer");
  }
  return Sample(text.substr(0, colon), index);
}

Scenario VariantFamily::Instantiate(const Variant& variant) const {
  json doc = base_.resolved;
  for (const auto& [path, value] : variant.values) SetValue(doc, path, value);
  Scenario s = ParseScenario(doc, base_.file + " [variant " + variant.split + ":" + std::to_string(variant.index) + "]",
                             *agents_);
  s.variant = variant.id;
  s.variant_name = variant.split + ":" + std::to_string(variant.index);
  for (const auto& [path, value] : variant.values) s.variant_values[path] = value;
  return s;
}

}  // namespace cohort
