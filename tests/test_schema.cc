#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/schema.h"

namespace cohort {
namespace {

// A small scenario-like schema tree: root -> env -> {users, choice, events}.
struct TestSchemas {
  Schema mnl{"multinomial logit"};
  Schema cascade{"cascade clicks"};
  ComponentRegistry choice{"choice model"};
  Schema event;
  Schema users;
  Schema env;
  Schema root;

  TestSchemas() {
    mnl.PositiveNumber("temperature", 1, "softmax temperature").Number("no_click", 0.5, 0, 1, "no-click utility");
    cascade.Number("patience", 0.8, 0, 1, "continue probability").Privileged();
    choice.Register({"mnl", "multinomial logit", &mnl, false});
    choice.Register({"cascade", "cascade clicks", &cascade, true});
    event.Integer("at_step", 0, 0, 1000000, "step of the event")
        .String("kind", "shock", {"shock", "drift", "reset"}, "event kind")
        .Required("at_step");
    users.Integer("count", 100, 1, 100000, "number of users")
        .NumberArray("weights", json::array({0.5, 0.5}), 0, 1, "mixing weights", 2, 5);
    env.Object("users", &users, "user population")
        .Component("choice", &choice, "mnl", "user choice model")
        .ObjectArray("events", &event, "scheduled events")
        .Bool("log", false, "verbose logging");
    root.String("name", "demo", {}, "scenario name")
        .Integer("seed", 0, 0, 1000000, "random seed")
        .PositiveNumber("rate", 0.5, "arrival rate", 1)
        .Number("budget", 10, -1e300, 100, "compute budget")
        .Number("discount", 0.9, 0, 1e300, "discount")
        .Object("env", &env, "environment");
  }
};

const TestSchemas& S() {
  static const TestSchemas schemas;
  return schemas;
}

// The single problem message Validate reports for `input`.
std::string ErrorOf(const json& input, const Schema& schema = S().root) {
  try {
    Validate(input, schema, "s.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string OverrideError(json doc, const std::string& assignment) {
  try {
    ApplyOverride(doc, assignment, S().root);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

std::filesystem::path WriteTemp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("cohort_test_schema_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string ReadError(const std::string& path) {
  try {
    ReadJsonFile(path);
  } catch (const InputError& e) {
    REQUIRE(e.problems().size() == 1);
    CHECK(e.problems()[0].file == path);
    CHECK(e.problems()[0].path.empty());
    return e.problems()[0].message;
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("schema: Problem and InputError formatting") {
  CHECK(Problem{"a.json", "/x/y", "bad"}.ToString() == "a.json: /x/y: bad");
  CHECK(Problem{"a.json", "", "bad"}.ToString() == "a.json: bad");
  const InputError error({{"a.json", "/x", "one"}, {"b.json", "", "two"}});
  CHECK(std::string(error.what()) == "a.json: /x: one\nb.json: two");
  CHECK(error.problems().size() == 2);
  CHECK(std::string(InputError("f", "/p", "m").what()) == "f: /p: m");
}

TEST_CASE("schema: defaults are filled in schema order") {
  const json out = Validate(json::object(), S().root, "s.json");
  CHECK(out.dump() == R"({"name":"demo","seed":0,"rate":0.5,"budget":10.0,"discount":0.9,)"
                      R"("env":{"users":{"count":100,"weights":[0.5,0.5]},)"
                      R"("choice":{"type":"mnl","temperature":1.0,"no_click":0.5},)"
                      R"("events":[],"log":false}})");
  CHECK(out["seed"].is_number_integer());
  CHECK(out["budget"].is_number_float());
}

TEST_CASE("schema: nested objects are partially defaulted and reordered") {
  const json input = json::parse(R"({"env": {"log": true, "users": {"count": 5}}, "name": "x"})");
  const json out = Validate(input, S().root, "s.json");
  CHECK(out["name"] == "x");
  CHECK(out["env"]["users"].dump() == R"({"count":5,"weights":[0.5,0.5]})");
  CHECK(out["env"]["log"] == true);
  CHECK(out["env"].begin().key() == "users");  // schema order, not input order
  CHECK(out.begin().key() == "name");
}

TEST_CASE("schema: numbers keep ints for integers and become doubles for numbers") {
  const json out = Validate(json::parse(R"({"seed": 7, "budget": 3})"), S().root, "s.json");
  CHECK(out["seed"].is_number_integer());
  CHECK(out["seed"] == 7);
  CHECK(out["budget"].is_number_float());
  CHECK(out["budget"].get<double>() == 3.0);
}

TEST_CASE("schema: unknown keys") {
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": {"temperatur": 2}}})")) ==
        "s.json: /env/choice/temperatur: unknown key \"temperatur\" (did you mean "
        "\"temperature\"?)");
  CHECK(ErrorOf(json::parse(R"({"env": {"users": {"zzz": 1}}})")) ==
        "s.json: /env/users/zzz: unknown key \"zzz\" (valid keys: count, weights)");
  // Inside a component "type" is a valid key too.
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": {"type": "cascade", "qqqqqqqq": 1}}})")) ==
        "s.json: /env/choice/qqqqqqqq: unknown key \"qqqqqqqq\" (valid keys: type, patience)");
}

TEST_CASE("schema: wrong types") {
  CHECK(ErrorOf(json::parse(R"({"name": 3})")) == "s.json: /name: expected a string, found a number");
  CHECK(ErrorOf(json::parse(R"({"env": 3})")) == "s.json: /env: expected an object, found a number");
  CHECK(ErrorOf(json::parse(R"({"env": {"log": "yes"}})")) == "s.json: /env/log: expected a boolean, found a string");
  CHECK(ErrorOf(json::parse(R"({"budget": null})")) == "s.json: /budget: expected a number, found null");
  CHECK(ErrorOf(json::parse(R"({"seed": [1]})")) == "s.json: /seed: expected an integer, found an array");
  CHECK(ErrorOf(json(3)) == "s.json: expected an object, found a number");
  CHECK_THROWS_WITH_AS(Validate(json::array(), S().root, "s.json", "/base"),
                       "s.json: /base: expected an object, found an array", InputError);
}

TEST_CASE("schema: integers reject fractional and float-typed values") {
  CHECK(ErrorOf(json::parse(R"({"seed": 2.5})")) == "s.json: /seed: expected an integer, found a number 2.5");
  CHECK(ErrorOf(json::parse(R"({"seed": 3.0})")) == "s.json: /seed: expected an integer, found a number 3.0");
  CHECK(ErrorOf(json::parse(R"({"seed": -1})")) == "s.json: /seed: value -1 is out of range [0, 1000000]");
  CHECK(ErrorOf(json{{"seed", 5u}}) == "(no error)");  // unsigned JSON integers are fine
}

TEST_CASE("schema: ranges") {
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": {"no_click": 1.5}}})")) ==
        "s.json: /env/choice/no_click: value 1.5 is out of range [0, 1]");
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": {"temperature": 0}}})")) ==
        "s.json: /env/choice/temperature: value 0 must be > 0");
  CHECK(ErrorOf(json::parse(R"({"rate": 0})")) == "s.json: /rate: value 0 is out of range (0, 1]");
  CHECK(ErrorOf(json::parse(R"({"rate": 1e-06})")) == "(no error)");
  CHECK(ErrorOf(json::parse(R"({"rate": 1})")) == "(no error)");
  CHECK(ErrorOf(json::parse(R"({"budget": 100.5})")) == "s.json: /budget: value 100.5 must be <= 100");
  CHECK(ErrorOf(json::parse(R"({"discount": -0.25})")) == "s.json: /discount: value -0.25 must be >= 0");
  CHECK(ErrorOf(json{{"budget", std::nan("")}}) == "s.json: /budget: expected a finite number");
}

TEST_CASE("schema: string choices") {
  CHECK(ErrorOf(json::parse(R"({"env": {"events": [{"at_step": 1, "kind": "shok"}]}})")) ==
        "s.json: /env/events/0/kind: \"shok\" is not one of \"shock\", \"drift\", \"reset\" "
        "(did you mean \"shock\"?)");
  CHECK(ErrorOf(json::parse(R"({"env": {"events": [{"at_step": 1, "kind": "qqqqqqq"}]}})")) ==
        "s.json: /env/events/0/kind: \"qqqqqqq\" is not one of \"shock\", \"drift\", \"reset\"");
  // No choices: any string.
  CHECK(ErrorOf(json::parse(R"({"name": "anything"})")) == "(no error)");
}

TEST_CASE("schema: number arrays") {
  CHECK(ErrorOf(json::parse(R"({"env": {"users": {"weights": [1]}}})")) ==
        "s.json: /env/users/weights: expected between 2 and 5 elements, found 1");
  CHECK(ErrorOf(json::parse(R"({"env": {"users": {"weights": [0.1, 1.5, 0.2]}}})")) ==
        "s.json: /env/users/weights/1: value 1.5 is out of range [0, 1]");
  CHECK(ErrorOf(json::parse(R"({"env": {"users": {"weights": [0.1, "x"]}}})")) ==
        "s.json: /env/users/weights/1: expected a number, found a string");
  CHECK(ErrorOf(json::parse(R"({"env": {"users": {"weights": 0.5}}})")) ==
        "s.json: /env/users/weights: expected an array, found a number");
  const json out = Validate(json::parse(R"({"env": {"users": {"weights": [0, 1]}}})"), S().root, "f");
  CHECK(out["env"]["users"]["weights"].dump() == "[0.0,1.0]");

  Schema exact;
  exact.NumberArray("xy", json::array({0, 0}), -1e300, 1e300, "point", 2, 2);
  CHECK(ErrorOf(json::parse(R"({"xy": [1, 2, 3]})"), exact) == "s.json: /xy: expected exactly 2 elements, found 3");
  Schema at_least;
  at_least.NumberArray("v", json::array({0}), -1e300, 1e300, "values", 1);
  CHECK(ErrorOf(json::parse(R"({"v": []})"), at_least) == "s.json: /v: expected at least 1 elements, found 0");
}

TEST_CASE("schema: components") {
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": {"type": "mnll"}}})")) ==
        "s.json: /env/choice/type: unknown choice model type \"mnll\" (did you mean \"mnl\"?); "
        "registered: mnl, cascade");
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": {"type": "qqqqqqqqq"}}})")) ==
        "s.json: /env/choice/type: unknown choice model type \"qqqqqqqqq\"; registered: mnl, "
        "cascade");
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": {"type": 1}}})")) ==
        "s.json: /env/choice/type: expected a string, found a number");
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": "mnl"}})")) ==
        "s.json: /env/choice: expected an object, found a string");

  // Absent "type" uses the field default; other types get their own defaults.
  json out = Validate(json::parse(R"({"env": {"choice": {"temperature": 2}}})"), S().root, "f");
  CHECK(out["env"]["choice"].dump() == R"({"type":"mnl","temperature":2.0,"no_click":0.5})");
  out = Validate(json::parse(R"({"env": {"choice": {"patience": 0.25, "type": "cascade"}}})"), S().root, "f");
  CHECK(out["env"]["choice"].dump() == R"({"type":"cascade","patience":0.25})");
  CHECK(ErrorOf(json::parse(R"({"env": {"choice": {"type": "cascade", "patience": 2}}})")) ==
        "s.json: /env/choice/patience: value 2 is out of range [0, 1]");
}

TEST_CASE("schema: object arrays") {
  const json out =
      Validate(json::parse(R"({"env": {"events": [{"kind": "drift", "at_step": 5}, {"at_step": 9}]}})"), S().root, "f");
  CHECK(out["env"]["events"].dump() == R"([{"at_step":5,"kind":"drift"},{"at_step":9,"kind":"shock"}])");
  CHECK(ErrorOf(json::parse(R"({"env": {"events": [{}]}})")) ==
        "s.json: /env/events/0: missing required key \"at_step\"");
  CHECK(ErrorOf(json::parse(R"({"env": {"events": [{"at_step": 1}, 3]}})")) ==
        "s.json: /env/events/1: expected an object, found a number");
  CHECK(ErrorOf(json::parse(R"({"env": {"events": {}}})")) ==
        "s.json: /env/events: expected an array, found an object");
}

TEST_CASE("schema: required keys") {
  Schema s;
  s.Number("x", 0, 0, 1, "x").Object("o", &S().users, "o").Required("x").Required("o");
  CHECK(ErrorOf(json::object(), s) == "s.json: missing required key \"x\"\ns.json: missing required key \"o\"");
  CHECK_THROWS_AS(s.Required("nope"), std::logic_error);
  CHECK_THROWS_AS(s.Bool("x", true, "dup"), std::logic_error);
  ComponentRegistry r("thing");
  r.Register({"a", "", nullptr, false});
  CHECK_THROWS_AS(r.Register({"a", "", nullptr, false}), std::logic_error);
}

TEST_CASE("schema: all problems are collected in one throw") {
  const json input = json::parse(R"({
    "seed": 2.5, "nmae": "x",
    "env": {"choice": {"temperature": -1}, "users": {"weights": [2, 0.5]}}
  })");
  try {
    Validate(input, S().root, "s.json");
    FAIL("expected InputError");
  } catch (const InputError& e) {
    REQUIRE(e.problems().size() == 4);
    CHECK(e.problems()[0].path == "/seed");
    CHECK(e.problems()[1].path == "/env/users/weights/0");
    CHECK(e.problems()[2].path == "/env/choice/temperature");
    CHECK(e.problems()[3].path == "/nmae");
    CHECK(e.problems()[3].message == "unknown key \"nmae\" (did you mean \"name\"?)");
    for (const Problem& p : e.problems()) CHECK(p.file == "s.json");
    CHECK(std::string(e.what()) ==
          "s.json: /seed: expected an integer, found a number 2.5\n"
          "s.json: /env/users/weights/0: value 2 is out of range [0, 1]\n"
          "s.json: /env/choice/temperature: value -1 must be > 0\n"
          "s.json: /nmae: unknown key \"nmae\" (did you mean \"name\"?)");
  }
}

TEST_CASE("schema: ReadJsonFile") {
  const std::string missing =
      (std::filesystem::temp_directory_path() / "cohort_test_schema_does_not_exist.json").string();
  CHECK(ReadError(missing) == "cannot open file: No such file or directory");
  CHECK(ReadError(std::filesystem::temp_directory_path().string()) == "cannot open file: Is a directory");
  CHECK(ReadError(WriteTemp("empty.json", "").string()) == "file is empty (expected a JSON object)");
  CHECK(ReadError(WriteTemp("blank.json", " \n\t\n").string()) == "file is empty (expected a JSON object)");
  CHECK(ReadError(WriteTemp("bad.json", "{\n  \"a\": 1,\n  \"b\": ,\n}\n").string()) ==
        "malformed JSON at line 3, column 8: unexpected ','; expected '[', '{', or a literal");
  CHECK(ReadError(WriteTemp("trunc.json", "{\"a\": 1").string()) ==
        "malformed JSON at line 1, column 8: unexpected end of input; expected '}'");
  CHECK(ReadError(WriteTemp("comment.json", "{\n// no comments\n}").string())
            .rfind("malformed JSON at line 2, column 1: ", 0) == 0);

  const auto good = WriteTemp("good.json", "{\"b\": [1, 2], \"a\": {\"x\": true}}");
  const json doc = ReadJsonFile(good.string());
  CHECK(doc.dump() == R"({"b":[1,2],"a":{"x":true}})");  // file order kept
  for (const char* name : {"empty.json", "blank.json", "bad.json", "trunc.json", "comment.json", "good.json"}) {
    std::filesystem::remove(std::filesystem::temp_directory_path() / (std::string("cohort_test_schema_") + name));
  }
}

TEST_CASE("schema: ApplyOverride") {
  json doc = json::object();
  ApplyOverride(doc, "env.users.count=7", S().root);
  CHECK(doc.dump() == R"({"env":{"users":{"count":7}}})");
  ApplyOverride(doc, "env.choice.temperature=2.5", S().root);  // default type mnl
  CHECK(doc["env"]["choice"].dump() == R"({"temperature":2.5})");
  ApplyOverride(doc, "name=hello world", S().root);  // bare words are strings
  CHECK(doc["name"] == "hello world");
  ApplyOverride(doc, "name=\"42\"", S().root);
  CHECK(doc["name"] == "42");
  ApplyOverride(doc, "env.users.weights=[0.25, 0.75]", S().root);
  CHECK(doc["env"]["users"]["weights"].dump() == "[0.25,0.75]");
  ApplyOverride(doc, "seed=2.5", S().root);  // not type-checked here
  CHECK(doc["seed"] == 2.5);

  // Components are walked by their current type.
  CHECK(OverrideError(doc, "env.choice.patience=0.3") ==
        "--set: /env/choice/patience: unknown key \"patience\" (valid keys: type, temperature, "
        "no_click)");
  ApplyOverride(doc, "env.choice.type=cascade", S().root);
  CHECK(doc["env"]["choice"]["type"] == "cascade");
  ApplyOverride(doc, "env.choice.patience=0.3", S().root);
  CHECK(doc["env"]["choice"]["patience"] == 0.3);
  CHECK(OverrideError(doc, "env.choice.type=mnll") ==
        "--set: /env/choice/type: unknown choice model type \"mnll\" (did you mean \"mnl\"?); "
        "registered: mnl, cascade");

  // Arrays: existing elements only.
  json events = json::parse(R"({"env": {"events": [{"at_step": 1}], "users": {"weights": [0, 1]}}})");
  ApplyOverride(events, "env.events.0.at_step=5", S().root);
  ApplyOverride(events, "env.users.weights.1=0.5", S().root);
  CHECK(events.dump() == R"({"env":{"events":[{"at_step":5}],"users":{"weights":[0,0.5]}}})");
  CHECK(OverrideError(events, "env.events.1.at_step=5") ==
        "--set: /env/events/1: index 1 is out of range (\"events\" has 1 elements)");
  CHECK(OverrideError(events, "env.events.x.at_step=5") ==
        "--set: /env/events: expected an array index after \"events\", got \"x\"");
  CHECK(OverrideError(json::object(), "env.events.0.at_step=5") ==
        "--set: /env/events: cannot index \"events\": it is not set in the document");
  CHECK(OverrideError(events, "env.events.0.at_stp=5") ==
        "--set: /env/events/0/at_stp: unknown key \"at_stp\" (did you mean \"at_step\"?)");

  // Unknown keys and syntax.
  CHECK(OverrideError(doc, "env.chioce.temperature=1") ==
        "--set: /env/chioce: unknown key \"chioce\" (did you mean \"choice\"?)");
  CHECK(OverrideError(doc, "seed.x=1") == "--set: /seed: \"seed\" is not an object");
  CHECK(OverrideError(doc, "env.users.count") == "--set: expected dotted.path=value, got \"env.users.count\"");
  CHECK(OverrideError(doc, "=3") == "--set: expected dotted.path=value, got \"=3\"");
  CHECK(OverrideError(doc, "env..log=true") == "--set: expected dotted.path=value, got \"env..log=true\"");

  // Overrides then validate cleanly.
  json scenario = json::object();
  ApplyOverride(scenario, "env.choice.type=cascade", S().root);
  ApplyOverride(scenario, "env.log=true", S().root);
  const json out = Validate(scenario, S().root, "s.json");
  CHECK(out["env"]["choice"].dump() == R"({"type":"cascade","patience":0.8})");
  CHECK(out["env"]["log"] == true);
}

TEST_CASE("schema: Suggest") {
  CHECK(Suggest("temperatur", {"seed", "temperature"}) == "temperature");
  CHECK(Suggest("zzz", {"a", "b", "c"}) == "");
  CHECK(Suggest("ab", {"ax", "ay"}) == "ax");  // ties go to the first
  CHECK(Suggest("SEED", {"seed"}) == "seed");
  CHECK(Suggest("abcdefghijkl", {"abcdefghWXYZ"}) == "abcdefghWXYZ");  // distance 4 <= 12/3
  CHECK(Suggest("abcdefghijkl", {"abcdefgVWXYZ"}) == "");              // distance 5
  CHECK(Suggest("x", {}) == "");
}

TEST_CASE("schema: DottedToPointer") {
  CHECK(DottedToPointer("a.b.0") == "/a/b/0");
  CHECK(DottedToPointer("a~b.c/d") == "/a~0b/c~1d");
  CHECK(DottedToPointer("seed") == "/seed");
  CHECK(DottedToPointer("") == "");
}

TEST_CASE("schema: DescribeSchema") {
  Schema s;
  s.Number("alpha", 0.5, 0, 1, "learning rate")
      .Integer("steps", 10, 1, 1000000000, "number of steps")
      .PositiveNumber("eps", 1e-06, "tolerance")
      .Bool("verbose", false, "chatty")
      .Privileged();
  CHECK(DescribeSchema(s) ==
        "alpha    number   default 0.5    range [0, 1]           learning rate\n"
        "steps    integer  default 10     range [1, 1000000000]  number of steps\n"
        "eps      number   default 1e-06  range (0, inf)         tolerance\n"
        "verbose  bool     default false                         chatty [privileged]\n");

  const std::string all = DescribeSchema(S().root);
  CHECK(all.find("\n  users ") != std::string::npos);  // nested objects indented
  CHECK(all.find("\n    count ") != std::string::npos);
  CHECK(all.find("component (choice model)  default \"mnl\"") != std::string::npos);
  CHECK(all.find("    type \"mnl\": multinomial logit\n") != std::string::npos);
  CHECK(all.find("    type \"cascade\": cascade clicks [privileged]\n") != std::string::npos);
  CHECK(all.find("temperature  number  default 1    range (0, inf)  softmax temperature") != std::string::npos);
  CHECK(all.find("patience  number  default 0.8  range [0, 1]  continue probability "
                 "[privileged]") != std::string::npos);
  CHECK(all.find("at_step  integer  required") != std::string::npos);
  CHECK(all.find("one of shock|drift|reset") != std::string::npos);
  CHECK(all.find("default [0.5, 0.5]") != std::string::npos);
  CHECK(all.find("length between 2 and 5") != std::string::npos);
  CHECK(DescribeRegistry(S().choice, 1).rfind("  type \"mnl\": multinomial logit\n", 0) == 0);
}

}  // namespace cohort

namespace cohort {

TEST_CASE("schema: --set values that look like JSON must be JSON; errors blame the override") {
  CHECK(ParseOverrideValue("agent", R"({"type": "linucb"})") == json({{"type", "linucb"}}));
  CHECK(ParseOverrideValue("agent.type", "linucb") == "linucb");  // a bare word
  CHECK(ParseOverrideValue("run.episodes", "abc") == "abc");      // a string: the schema will say it is not an integer
  auto error = [](const std::string& dotted, const std::string& text) {
    try {
      ParseOverrideValue(dotted, text);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error("agent", R"({"type":"linucb")")
            .rfind("--set: /agent: malformed JSON value \"{\\\"type\\\":\\\"linucb\\\"\": ", 0) == 0);
  CHECK(error("env.users.weights", "[0.5,").rfind("--set: /env/users/weights: malformed JSON value", 0) == 0);
  CHECK(error("env.choice.temperature", "nan") == "--set: /env/choice/temperature: \"nan\" is not a finite number");
  CHECK(error("env.choice.temperature", "-Infinity") ==
        "--set: /env/choice/temperature: \"-Infinity\" is not a finite number");
  CHECK(error("x", "1e999") == "--set: /x: number \"1e999\" is out of range");

  // A problem at or below an overridden key names the override; others keep their file.
  const InputError original({{"f.json", "/run/episodes", "expected an integer, found a string"},
                             {"f.json", "/agent/alpha", "expected a number, found a string"},
                             {"f.json", "/env/num_topics", "out of range"}});
  try {
    RethrowBlamingOverrides(original, {"run.episodes=abc", R"(agent={"type":"linucb","alpha":"x"})"});
    FAIL("not rethrown");
  } catch (const InputError& e) {
    REQUIRE(e.problems().size() == 3);
    CHECK(e.problems()[0].ToString() == "--set run.episodes=abc: /run/episodes: expected an integer, found a string");
    CHECK(e.problems()[1].file == R"(--set agent={"type":"linucb","alpha":"x"})");
    CHECK(e.problems()[2].ToString() == "f.json: /env/num_topics: out of range");
  }
}

}  // namespace cohort
