#include "agents/learnable.h"

#include <cmath>

#include "core/io.h"

namespace cohort {

std::vector<float> InitialTheta(const LearnableRule& rule, uint64_t seed) {
  if (rule.initial) return rule.initial(seed);
  return std::vector<float>(size_t(rule.theta_size), 0.0f);
}

void AddThetaKeys(Schema& s, const LearnableRule& rule) {
  s.String("file", "", {}, "rule file (cohort meta train writes rule.json, best_rule.json); empty: use theta")
      .NumberArray("theta", json::array(), -1e30, 1e30,
                   "meta-parameters inline (" + std::to_string(rule.theta_size) +
                       " numbers); empty with no file: all zero, i.e. exactly the baseline",
                   0, size_t(rule.theta_size));
}

std::vector<float> ThetaFromConfig(const json& config, const LearnableRule& rule, const std::string& where) {
  const std::string file = config["file"].get<std::string>();
  if (!file.empty() && !config["theta"].empty())
    throw InputError(where, "/theta",
                     "give the " + rule.type + " rule's meta-parameters by \"file\" or \"theta\", not both");
  if (!file.empty()) return ReadRuleFile(file, rule);
  std::vector<float> theta;
  if (config["theta"].empty()) return std::vector<float>(size_t(rule.theta_size), 0.0f);
  if (config["theta"].size() != size_t(rule.theta_size))
    throw InputError(
        where, "/theta",
        "expected " + std::to_string(rule.theta_size) + " numbers, got " + std::to_string(config["theta"].size()));
  for (const json& v : config["theta"]) theta.push_back(v.get<float>());
  return theta;
}

void WriteRuleFile(const std::string& path, const LearnableRule& rule, const std::vector<float>& theta,
                   const json& meta) {
  if (theta.size() != size_t(rule.theta_size))
    throw std::logic_error("WriteRuleFile: theta of size " + std::to_string(theta.size()) + " for rule " + rule.type);
  json doc = {{"kind", rule.file_kind}, {"version", 1}, {"theta", theta}, {"meta", meta}};
  for (auto it = rule.shape.begin(); it != rule.shape.end(); ++it) doc[it.key()] = it.value();
  WriteFileAtomic(path, doc.dump() + "\n");
}

std::vector<float> ReadRuleFile(const std::string& path, const LearnableRule& rule) {
  const json doc = ReadJsonFile(path);
  if (!doc.is_object() || !doc.contains("kind") || doc["kind"] != rule.file_kind)
    throw InputError(path, "/kind", "is not a " + rule.type + " rule file (expected \"" + rule.file_kind + "\")");
  if (!doc.contains("version") || doc["version"] != 1)
    throw InputError(path, "/version", "unsupported version (expected 1)");
  for (auto it = rule.shape.begin(); it != rule.shape.end(); ++it)
    if (!doc.contains(it.key()) || doc[it.key()] != it.value())
      throw InputError(path, "/" + it.key(),
                       "another shape than this build's (" + it.key() + " " + it.value().dump() + ")");
  const json& t = doc.contains("theta") ? doc["theta"] : json();
  if (!t.is_array() || t.size() != size_t(rule.theta_size))
    throw InputError(path, "/theta", "expected " + std::to_string(rule.theta_size) + " numbers");
  std::vector<float> theta;
  for (size_t i = 0; i < t.size(); ++i) {
    // Finite as the float the rule computes with, not only as a double
    // (3.5e38 is a finite double and an infinite float).
    const float x = t[i].is_number() ? t[i].get<float>() : 0.0f;
    if (!t[i].is_number() || !std::isfinite(t[i].get<double>()) || !std::isfinite(x))
      throw InputError(path, "/theta/" + std::to_string(i), "expected a finite number within float range (|x| < 3.4e38)");
    theta.push_back(x);
  }
  return theta;
}

}  // namespace cohort
