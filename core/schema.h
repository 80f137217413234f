// Central validation of scenario files (OpenSpiel style): every component
// declares its keys once, with type, default, range and a one-line doc. The
// same declarations drive validation, default filling (scenario.resolved.json),
// `--set` overrides and `cohort list`.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cohort {

using json = nlohmann::ordered_json;

// One problem in one input file. what() is "FILE: /json/pointer: message"
// (or "FILE: message" when the path is empty).
struct Problem {
  std::string file;
  std::string path;  // JSON pointer, e.g. "/env/choice/temperature"
  std::string message;
  std::string ToString() const;
};

// Thrown for any bad input (unknown key, wrong type, out of range, malformed
// or empty file, bad --set). Carries every problem found, not just the first.
// The CLI prints each on its own line and exits with kInputErrorExitCode.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::vector<Problem> problems);
  InputError(std::string file, std::string path, std::string message);
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::vector<Problem> problems_;
};

inline constexpr int kInputErrorExitCode = 2;

class ComponentRegistry;

enum class FieldKind {
  kNumber,   // JSON number (int or float), checked against [min, max]
  kInteger,  // JSON integer (a float like 3.0 is rejected), [min, max]
  kBool,
  kString,       // optionally restricted to `choices`
  kNumberArray,  // array of numbers, each in [min, max], length in [min_len, max_len]
  kObject,       // nested Schema
  kObjectArray,  // array of objects, each validated by `sub`
  kComponent,    // object with a "type" key selecting a schema in `registry`
  kAny,          // any JSON value, checked by the caller (free-form maps, mixed lists)
};

struct Field {
  std::string key;
  FieldKind kind = FieldKind::kNumber;
  json default_value;  // null => required (kObject/kObjectArray: see below)
  double min = -1e300;
  double max = 1e300;
  bool min_exclusive = false;  // range is (min, ...] instead of [min, ...]
  size_t min_len = 0;
  size_t max_len = static_cast<size_t>(-1);
  std::vector<std::string> choices;             // kString only
  const class Schema* sub = nullptr;            // kObject / kObjectArray
  const ComponentRegistry* registry = nullptr;  // kComponent
  // kComponent: this owner's defaults for the default type (e.g. an agent's
  // own learning rate for "adam"); they fill keys the user leaves out when the
  // type is absent or equal to the default type.
  json component_defaults;
  std::string doc;
  bool privileged = false;  // documents access to hidden simulator state
  // The range a slider offers for this number (the visualizer's live panel),
  // inside [min, max] and finite where the key's own range is open-ended
  // (e.g. >= 0): declared beside the key so that no UI repeats it. Not part
  // of validation or of `cohort list`. HasSlider() false: none declared.
  double slider_min = 0.0, slider_max = 0.0;
  bool slider_log = false;  // a logarithmic slider (slider_min > 0)
  bool HasSlider() const { return slider_max > slider_min; }
};

// An object with a fixed set of keys. Builder methods return *this.
// Defaults: kObject fields default to the sub-schema's defaults (an absent
// object is filled in completely); kObjectArray fields default to
// `default_value` (usually []); kComponent fields default to
// {"type": default_type} filled with that component's defaults.
class Schema {
 public:
  explicit Schema(std::string doc = "") : doc_(std::move(doc)) {}

  Schema& Number(const std::string& key, double def, double min, double max, const std::string& doc);
  // Like Number but the lower bound is exclusive: value > min.
  Schema& PositiveNumber(const std::string& key, double def, const std::string& doc, double max = 1e300);
  Schema& Integer(const std::string& key, long long def, long long min, long long max, const std::string& doc);
  Schema& Bool(const std::string& key, bool def, const std::string& doc);
  Schema& String(const std::string& key, const std::string& def, std::vector<std::string> choices,
                 const std::string& doc);
  Schema& NumberArray(const std::string& key, json def, double min, double max, const std::string& doc,
                      size_t min_len = 0, size_t max_len = static_cast<size_t>(-1));
  Schema& Object(const std::string& key, const Schema* sub, const std::string& doc);
  Schema& ObjectArray(const std::string& key, const Schema* element, const std::string& doc);
  Schema& Component(const std::string& key, const ComponentRegistry* registry, const std::string& default_type,
                    const std::string& doc);
  // The last field, a kComponent: the owner's own defaults for keys of its
  // default type's schema (e.g. {"lr": 0.003} for "adam").
  Schema& WithDefaults(const json& values);
  // Any JSON value (e.g. a map of dotted paths to values); the caller checks it.
  Schema& Any(const std::string& key, json def, const std::string& doc);
  // A field with no default: absent => "missing required key".
  Schema& Required(const std::string& key);
  // Marks the last added field as privileged (reads hidden simulator state).
  Schema& Privileged();
  // Gives the last added field (a number or integer) a slider range [lo, hi]
  // inside its own range (throws std::logic_error otherwise).
  Schema& Slider(double lo, double hi, bool log_scale = false);

  const std::vector<Field>& fields() const { return fields_; }
  const Field* Find(const std::string& key) const;
  std::vector<std::string> Keys() const;
  const std::string& doc() const { return doc_; }

 private:
  std::string doc_;
  std::vector<Field> fields_;
};

// Named alternatives for a kComponent field ("type": "mnl" -> Schema).
struct ComponentInfo {
  std::string type;
  std::string doc;
  const Schema* schema = nullptr;  // keys besides "type"
  bool privileged = false;
};

class ComponentRegistry {
 public:
  explicit ComponentRegistry(std::string kind) : kind_(std::move(kind)) {}
  void Register(ComponentInfo info);  // throws std::logic_error on duplicates
  const ComponentInfo* Find(const std::string& type) const;
  std::vector<std::string> Types() const;  // registration order
  const std::vector<ComponentInfo>& components() const { return components_; }
  const std::string& kind() const { return kind_; }  // e.g. "choice model"

 private:
  std::string kind_;
  std::vector<ComponentInfo> components_;
};

// Validates `input` against `schema` and returns a copy with every default
// filled in, keys in schema order. Collects all problems and throws one
// InputError naming `file` and the JSON pointer of each. Unknown keys get a
// suggestion: `unknown key "temperatur" (did you mean "temperature"?)`.
// Wrong types say what was expected and what was found; range errors give the
// allowed range; unknown component types list the registered ones.
json Validate(const json& input, const Schema& schema, const std::string& file, const std::string& base_path = "");

// Reads and parses a JSON file. Missing file, empty (or whitespace-only) file
// and malformed JSON throw InputError with "line L, column C" for syntax errors.
json ReadJsonFile(const std::string& path);

// Applies "dotted.path=value" to `doc` (before validation). Numeric segments
// index arrays ("env.events.0.at_step=5"). The value is parsed as JSON when
// it parses (numbers, true/false, arrays, objects, quoted strings), else taken
// as a bare string. The path is checked against `schema` (walking into
// components by their current "type"): unknown keys give the same
// did-you-mean error, reported with file "--set". Missing intermediate
// objects are created.
void ApplyOverride(json& doc, const std::string& assignment, const Schema& schema);
// The value of "dotted.path=TEXT": TEXT as JSON, else a bare string. Text that
// starts like JSON ({, [ or ") must parse, and nan/inf are refused: both are
// InputError("--set", pointer, reason) rather than a string the schema would
// then reject while blaming the file.
json ParseOverrideValue(const std::string& dotted, const std::string& text);
// Rethrows `error` (from validating a document that had `overrides` applied)
// with each problem at or below an overridden key blamed on that override:
// its file becomes "--set dotted.path=value".
[[noreturn]] void RethrowBlamingOverrides(const InputError& error, const std::vector<std::string>& overrides);

// items separated by `sep` ("a, b, c"), each JSON-quoted with `quote`.
std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ", bool quote = false);

// Nearest key by edit distance, or "" when nothing is close enough
// (distance <= max(2, key.size() / 3)).
std::string Suggest(const std::string& key, const std::vector<std::string>& candidates);

// The field a dotted key names below `schema` ("dynamics.interest.step",
// "choice.temperature"), walking into objects and, at a component, into the
// schema of the type `doc` (the document at `schema`'s level, e.g. a resolved
// env block) gives it, or of the component's default type; null when no such
// key exists. Array elements are not walked.
const Field* FindField(const Schema& schema, const std::string& dotted, const json& doc = json());

// "a.b.0.c" <-> "/a/b/0/c"
std::string DottedToPointer(const std::string& dotted);

// Human-readable listing of a schema for `cohort list`: one line per key with
// type, default, range/choices and doc, nested objects indented; components
// list each registered type with its keys. `indent` is the starting depth.
std::string DescribeSchema(const Schema& schema, int indent = 0);
std::string DescribeRegistry(const ComponentRegistry& registry, int indent = 0);

}  // namespace cohort
