// Variant families: split layout, reproducible sampling, distinct
// assignments, out-of-distribution ranges, instantiation and the errors of
// bad families.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agents/registry.h"
#include "env/scenario.h"
#include "env/variants.h"
#include "goodness_of_fit.h"
#include "tests/input_error_of.h"

namespace cohort {

using testing::InputErrorOf;
namespace {

const char kDrift[] = "env.dynamics.interest.drift_std";
const char kTemperature[] = "env.choice.temperature";

json FamilyDoc() {
  return json{
      {"env", {{"choice", {{"type", "mnl"}}}}},
      {"family",
       {{"parameters",
         json::array({{{"path", kDrift}, {"distribution", "uniform"}, {"low", 0.0}, {"high", 0.1}},
                      {{"path", kTemperature}, {"distribution", "log_uniform"}, {"low", 0.5}, {"high", 2.0}}})},
        {"splits", {{"train", 50}, {"validation", 10}, {"test", 20}}},
        {"ood",
         json::array(
             {{{"name", "high_drift"},
               {"count", 10},
               {"parameters",
                json::array({{{"path", kDrift}, {"distribution", "uniform"}, {"low", 0.2}, {"high", 0.3}}})}}})}}}};
}

Scenario Parse(const json& doc) { return ParseScenario(doc, "test", AgentRegistry()); }

// Value of `path` in a variant (NaN when the variant does not set it).
double ValueOf(const Variant& v, const std::string& path) {
  for (const auto& [p, x] : v.values)
    if (p == path) return x;
  return std::nan("");
}

// Splits come in the documented order with their sizes; the same family
// samples the same variants when built twice; ids are unique and no two
// variants of any splits share an assignment; values stay in their ranges.
TEST_CASE("variants: splits, reproducibility, uniqueness and ranges") {
  const Scenario base = Parse(FamilyDoc());
  const VariantFamily a(base, AgentRegistry()), b(base, AgentRegistry());
  CHECK_FALSE(a.empty());
  CHECK(a.splits() == std::vector<std::string>{"train", "validation", "test", "high_drift"});
  CHECK(a.SplitSize("train") == 50);
  CHECK(a.SplitSize("validation") == 10);
  CHECK(a.SplitSize("test") == 20);
  CHECK(a.SplitSize("high_drift") == 10);

  std::set<uint64_t> ids;
  std::set<std::pair<double, double>> assignments;
  int64_t total = 0;
  for (const std::string& split : a.splits()) {
    for (int64_t i = 0; i < a.SplitSize(split); ++i) {
      CAPTURE(split);
      CAPTURE(i);
      const Variant& v = a.Sample(split, i);
      const Variant& w = b.Sample(split, i);
      CHECK(v.split == split);
      CHECK(v.index == i);
      CHECK(v.id == w.id);
      CHECK(v.values == w.values);  // bit-identical values
      REQUIRE(v.values.size() == 2);
      ids.insert(v.id);
      ++total;
      const double drift = ValueOf(v, kDrift), temperature = ValueOf(v, kTemperature);
      assignments.insert({drift, temperature});
      CHECK(temperature >= 0.5);
      CHECK(temperature <= 2.0);
      if (split == "high_drift") {
        CHECK(drift >= 0.2);
        CHECK(drift <= 0.3);
      } else {
        CHECK(drift >= 0.0);
        CHECK(drift <= 0.1);
      }
    }
  }
  CHECK(total == 90);
  CHECK(ids.size() == size_t(total));
  CHECK(assignments.size() == size_t(total));
  // The base scenario is variant 0; no family variant reuses that id.
  CHECK(ids.count(0) == 0);
}

// A different family seed gives different variants.
TEST_CASE("variants: family seed changes the draws") {
  json doc = FamilyDoc();
  doc["family"]["seed"] = 1;
  const VariantFamily a(Parse(FamilyDoc()), AgentRegistry()), b(Parse(doc), AgentRegistry());
  int same = 0;
  for (int64_t i = 0; i < 50; ++i) same += a.Sample("train", i).values == b.Sample("train", i).values;
  CHECK(same == 0);
}

// Instantiate applies the variant's values to the typed parameters, keeps
// everything else, and tags the scenario with the variant id.
TEST_CASE("variants: Instantiate applies the sampled values") {
  const Scenario base = Parse(FamilyDoc());
  const VariantFamily family(base, AgentRegistry());
  for (const std::string& split : family.splits()) {
    for (int64_t i = 0; i < family.SplitSize(split); i += 3) {
      const Variant& v = family.Sample(split, i);
      const Scenario s = family.Instantiate(v);
      CHECK(s.variant == v.id);
      CHECK(s.env.dynamics.drift_std == ValueOf(v, kDrift));
      CHECK(s.env.choice.temperature == ValueOf(v, kTemperature));
      CHECK(s.env.choice.kind == ChoiceKind::kMultinomialLogit);
      CHECK(s.env.num_topics == base.env.num_topics);
      CHECK(s.seed == base.seed);
    }
  }
}

// "split:index" names a variant; bad names, splits and indices are input errors.
TEST_CASE("variants: Parse and Sample errors") {
  const VariantFamily family(Parse(FamilyDoc()), AgentRegistry());
  CHECK(&family.Parse("test:3") == &family.Sample("test", 3));
  CHECK(&family.Parse("high_drift:9") == &family.Sample("high_drift", 9));
  CHECK_THROWS_AS(family.Sample("tset", 0), InputError);
  CHECK_THROWS_AS(family.Sample("test", 20), InputError);
  CHECK_THROWS_AS(family.Sample("test", -1), InputError);
  CHECK_THROWS_AS(family.Parse("test"), InputError);
  CHECK_THROWS_AS(family.Parse("test:x"), InputError);
  CHECK_THROWS_AS(family.Parse("test:3x"), InputError);
  CHECK_THROWS_AS(family.Parse("nope:0"), InputError);
  CHECK(InputErrorOf([&] { family.Sample("tset", 0); }).find("test") != std::string::npos);  // suggestion
}

// log_uniform draws are uniform in log space, uniform draws uniform.
TEST_CASE("variants: distributions of continuous draws") {
  json doc = FamilyDoc();
  doc["family"]["splits"] = {{"train", 3000}, {"validation", 0}, {"test", 0}};
  doc["family"]["ood"] = json::array();
  const VariantFamily family(Parse(doc), AgentRegistry());
  std::vector<double> log_t, drift;
  for (int64_t i = 0; i < 3000; ++i) {
    const Variant& v = family.Sample("train", i);
    log_t.push_back(std::log(ValueOf(v, kTemperature)));
    drift.push_back(ValueOf(v, kDrift));
  }
  const double lo = std::log(0.5), hi = std::log(2.0);
  const double d1 = KolmogorovSmirnov(log_t, [&](double x) { return std::clamp((x - lo) / (hi - lo), 0.0, 1.0); });
  const double d2 = KolmogorovSmirnov(drift, [](double x) { return std::clamp(x / 0.1, 0.0, 1.0); });
  CHECK(KolmogorovPValue(d1, 3000) > 1e-3);
  CHECK(KolmogorovPValue(d2, 3000) > 1e-3);
}

// A discrete family with fewer distinct assignments than variants is refused;
// with exactly as many it holds each assignment once.
TEST_CASE("variants: discrete families must have enough distinct assignments") {
  auto doc = [](int64_t train) {
    return json{
        {"family",
         {{"parameters",
           json::array(
               {{{"path", "env.observation.history"}, {"distribution", "int_uniform"}, {"low", 0}, {"high", 1}}})},
          {"splits", {{"train", train}, {"validation", 0}, {"test", 0}}}}}};
  };
  const Scenario too_many = Parse(doc(5));
  CHECK_THROWS_AS(VariantFamily(too_many, AgentRegistry()), InputError);
  const Scenario exact = Parse(doc(2));
  const VariantFamily family(exact, AgentRegistry());
  std::set<double> values = {ValueOf(family.Sample("train", 0), "env.observation.history"),
                             ValueOf(family.Sample("train", 1), "env.observation.history")};
  CHECK(values == std::set<double>{0.0, 1.0});
  for (int64_t i = 0; i < 2; ++i) {
    const Scenario s = family.Instantiate(family.Sample("train", i));
    CHECK(double(s.env.observation.history) == ValueOf(family.Sample("train", i), "env.observation.history"));
  }
  // Splits share the uniqueness constraint: 2 train + 1 test cannot fit.
  json more = doc(2);
  more["family"]["splits"]["test"] = 1;
  CHECK_THROWS_AS(VariantFamily(Parse(more), AgentRegistry()), InputError);
}

// Bad families are rejected by ParseScenario, naming the offending entry.
TEST_CASE("variants: invalid family parameters name their JSON pointer") {
  auto with_parameter = [](const json& parameter) {
    json doc = FamilyDoc();
    doc["family"]["parameters"] = json::array({parameter});
    return doc;
  };
  // A path that is not a parameter.
  std::string message = InputErrorOf([&] {
    Parse(with_parameter({{"path", "env.dynamics.interest.drift"}, {"low", 0.0}, {"high", 0.1}}));
  });
  INFO(message);
  CHECK(message.find("/family/parameters/0/path") != std::string::npos);
  // A range end outside the parameter's valid range (step in [0, 1]).
  message = InputErrorOf([&] {
    Parse(with_parameter({{"path", "env.dynamics.interest.step"}, {"low", 0.0}, {"high", 2.0}}));
  });
  INFO(message);
  CHECK(message.find("/family/parameters/0/high") != std::string::npos);
  // A non-numeric parameter.
  message = InputErrorOf([&] { Parse(with_parameter({{"path", "env.choice.type"}, {"low", 0.0}, {"high", 1.0}})); });
  CHECK(message.find("/family/parameters/0/path") != std::string::npos);
  // An integer parameter needs int_uniform or choice.
  message = InputErrorOf([&] {
    Parse(with_parameter({{"path", "env.observation.history"}, {"low", 0.0}, {"high", 3.0}}));
  });
  CHECK(message.find("/family/parameters/0/distribution") != std::string::npos);
  // log_uniform needs low > 0.
  message = InputErrorOf([&] {
    Parse(with_parameter({{"path", kTemperature}, {"distribution", "log_uniform"}, {"low", 0.0}, {"high", 1.0}}));
  });
  CHECK(message.find("/family/parameters/0/low") != std::string::npos);
  // Errors inside an ood split name the split's entry.
  json doc = FamilyDoc();
  doc["family"]["ood"][0]["parameters"][0]["high"] = -0.5;  // low 0.2 > high
  message = InputErrorOf([&] { Parse(doc); });
  CHECK(message.find("/family/ood/0/parameters/0/low") != std::string::npos);
  // A cross-field violation at a range end (slate larger than candidates).
  message = InputErrorOf([&] {
    Parse(with_parameter({{"path", "env.slate_size"}, {"distribution", "int_uniform"}, {"low", 1}, {"high", 20}}));
  });
  CHECK(message.find("/family/parameters/0/high") != std::string::npos);
}

}  // namespace
}  // namespace cohort
