#include "core/schema.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <utility>

#include "core/json_parse.h"

namespace cohort {

// Field encoding used by the builders below. `default_value` null always
// means "required" (the key must be present). Otherwise:
//   scalars / kNumberArray: the default value itself;
//   kObject:      an object validated against `sub` when absent ({} fills
//                 every sub-default);
//   kObjectArray: the default array (usually []);
//   kComponent:   the default type name, a string (component_defaults may
//                 add the owner's values for that type's keys).

namespace {

// Bounds this large mean "unbounded": the builders default to ±1e300 and
// integer fields may pass the long long limits (about ±9.22e18).
bool NoLower(double min) { return min <= -9.2e18; }
bool NoUpper(double max) { return max >= 9.2e18; }

// JSON-quoted; invalid UTF-8 (from a --set argument) must not throw here.
std::string Quote(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

// Shortest text that reads back as the same double: 1, 0.5, 1e-06.
std::string FormatNumber(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == std::floor(x) && std::fabs(x) < 1e15) {
    return std::to_string(static_cast<long long>(x));
  }
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return buf;
}

// Compact rendering of a default value for messages and listings.
std::string FormatValue(const json& v) {
  if (v.is_number_float()) return FormatNumber(v.get<double>());
  if (v.is_array()) {
    std::vector<std::string> items;
    for (const json& e : v) items.push_back(FormatValue(e));
    return "[" + Join(items, ", ") + "]";
  }
  return v.dump();
}

// "a number", "an object", "null", ...
std::string TypeName(const json& v) {
  if (v.is_null()) return "null";
  const std::string name = v.type_name();  // "number", "object", ...
  return (std::string("aeiou").find(name[0]) != std::string::npos ? "an " : "a ") + name;
}

std::string Expected(const std::string& what, const json& found) {
  return "expected " + what + ", found " + TypeName(found);
}

// "[0, 1]", "(0, inf)" etc.; "" when unbounded on both sides.
std::string RangeText(const Field& f) {
  if (NoLower(f.min) && NoUpper(f.max)) return "";
  return std::string(f.min_exclusive ? "(" : "[") + (NoLower(f.min) ? "-inf" : FormatNumber(f.min)) + ", " +
         (NoUpper(f.max) ? "inf" : FormatNumber(f.max)) + (NoUpper(f.max) ? ")" : "]");
}

std::string LengthText(const Field& f) {
  const bool no_max = f.max_len == static_cast<size_t>(-1);
  if (f.min_len == 0 && no_max) return "";
  if (f.min_len == f.max_len) return "exactly " + std::to_string(f.min_len);
  if (no_max) return "at least " + std::to_string(f.min_len);
  if (f.min_len == 0) return "at most " + std::to_string(f.max_len);
  return "between " + std::to_string(f.min_len) + " and " + std::to_string(f.max_len);
}

std::string EscapeToken(const std::string& token) {
  std::string out;
  for (char c : token) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

std::string Child(const std::string& path, const std::string& key) { return path + "/" + EscapeToken(key); }

std::string Child(const std::string& path, size_t index) { return path + "/" + std::to_string(index); }

std::string UnknownKeyMessage(const std::string& key, std::vector<std::string> valid) {
  const std::string suggestion = Suggest(key, valid);
  if (!suggestion.empty()) {
    return "unknown key " + Quote(key) + " (did you mean " + Quote(suggestion) + "?)";
  }
  return "unknown key " + Quote(key) + " (valid keys: " + Join(valid, ", ") + ")";
}

std::string UnknownTypeMessage(const std::string& type, const ComponentRegistry& registry) {
  const std::vector<std::string> types = registry.Types();
  std::string msg = "unknown " + registry.kind() + " type " + Quote(type);
  const std::string suggestion = Suggest(type, types);
  if (!suggestion.empty()) msg += " (did you mean " + Quote(suggestion) + "?)";
  return msg + "; registered: " + Join(types, ", ");
}

// Stands in for a missing sub-schema (a component type without keys).
const Schema& EmptySchema() {
  static const Schema empty;
  return empty;
}

// Validation state shared by the recursive helpers below.
class Validator {
 public:
  explicit Validator(std::string file) : file_(std::move(file)) {}

  std::vector<Problem>& problems() { return problems_; }

  // `extra_keys` are allowed and skipped (a component's "type").
  json Object(const json& input, const Schema* schema, const std::string& path,
              const std::vector<std::string>& extra_keys = {}) {
    json out = json::object();
    if (!input.is_object()) {
      Add(path, Expected("an object", input));
      return out;
    }
    if (schema == nullptr) schema = &EmptySchema();
    for (const Field& f : schema->fields()) {
      const std::string child = Child(path, f.key);
      auto it = input.find(f.key);
      if (it != input.end()) {
        out[f.key] = Value(*it, f, child);
      } else if (f.default_value.is_null()) {
        Add(path, "missing required key " + Quote(f.key));
      } else {
        out[f.key] = Default(f, child);
      }
    }
    std::vector<std::string> valid = extra_keys;
    for (const std::string& k : schema->Keys()) valid.push_back(k);
    for (auto it = input.begin(); it != input.end(); ++it) {
      if (std::find(valid.begin(), valid.end(), it.key()) == valid.end()) {
        Add(Child(path, it.key()), UnknownKeyMessage(it.key(), valid));
      }
    }
    return out;
  }

 private:
  void Add(const std::string& path, std::string message) { problems_.push_back({file_, path, std::move(message)}); }

  // Structured defaults go through validation so nested defaults get filled.
  json Default(const Field& f, const std::string& path) {
    switch (f.kind) {
      case FieldKind::kObject:
      case FieldKind::kObjectArray:
        return Value(f.default_value, f, path);
      case FieldKind::kComponent:
        return Value(json::object(), f, path);
      case FieldKind::kNumber:
        return f.default_value.is_number() ? json(f.default_value.get<double>()) : f.default_value;
      default:
        return f.default_value;
    }
  }

  json Value(const json& v, const Field& f, const std::string& path) {
    switch (f.kind) {
      case FieldKind::kNumber:
      case FieldKind::kInteger:
        return Number(v, f, path);
      case FieldKind::kBool:
        if (!v.is_boolean()) Add(path, Expected("a boolean", v));
        return v;
      case FieldKind::kString:
        return String(v, f, path);
      case FieldKind::kNumberArray:
        return NumberArray(v, f, path);
      case FieldKind::kObject:
        return Object(v, f.sub, path);
      case FieldKind::kObjectArray:
        return ObjectArray(v, f, path);
      case FieldKind::kComponent:
        return Component(v, f, path);
      case FieldKind::kAny:
        return v;
    }
    return v;
  }

  json Number(const json& v, const Field& f, const std::string& path) {
    const bool integer = f.kind == FieldKind::kInteger;
    if (!v.is_number()) {
      Add(path, Expected(integer ? "an integer" : "a number", v));
      return v;
    }
    if (integer && v.is_number_float()) {
      Add(path, "expected an integer, found a number " + v.dump());
      return v;
    }
    const double x = v.get<double>();
    if (!std::isfinite(x)) {
      Add(path, "expected a finite number");
      return v;
    }
    // Integers are shown as written: beyond 2^53 a double would round them.
    CheckRange(x, f, path, v.is_number_float() ? FormatNumber(x) : v.dump());
    return integer ? v : json(x);
  }

  void CheckRange(double x, const Field& f, const std::string& path, const std::string& shown) {
    const bool low = !NoLower(f.min) && (f.min_exclusive ? x <= f.min : x < f.min);
    const bool high = !NoUpper(f.max) && x > f.max;
    if (!low && !high) return;
    std::string msg = "value " + shown;
    if (NoUpper(f.max)) {
      msg += std::string(f.min_exclusive ? " must be > " : " must be >= ") + FormatNumber(f.min);
    } else if (NoLower(f.min)) {
      msg += " must be <= " + FormatNumber(f.max);
    } else {
      msg += " is out of range " + RangeText(f);
    }
    Add(path, msg);
  }

  json String(const json& v, const Field& f, const std::string& path) {
    if (!v.is_string()) {
      Add(path, Expected("a string", v));
      return v;
    }
    const std::string s = v.get<std::string>();
    if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), s) == f.choices.end()) {
      std::string msg = Quote(s) + " is not one of " + Join(f.choices, ", ", true);
      const std::string suggestion = Suggest(s, f.choices);
      if (!suggestion.empty()) msg += " (did you mean " + Quote(suggestion) + "?)";
      Add(path, msg);
    }
    return v;
  }

  bool CheckArray(const json& v, const Field& f, const std::string& path) {
    if (!v.is_array()) {
      Add(path, Expected("an array", v));
      return false;
    }
    if (v.size() < f.min_len || v.size() > f.max_len) {
      Add(path, "expected " + LengthText(f) + " elements, found " + std::to_string(v.size()));
    }
    return true;
  }

  json NumberArray(const json& v, const Field& f, const std::string& path) {
    if (!CheckArray(v, f, path)) return v;
    Field element = f;
    element.kind = FieldKind::kNumber;
    json out = json::array();
    for (size_t i = 0; i < v.size(); ++i) out.push_back(Number(v[i], element, Child(path, i)));
    return out;
  }

  json ObjectArray(const json& v, const Field& f, const std::string& path) {
    if (!CheckArray(v, f, path)) return v;
    json out = json::array();
    for (size_t i = 0; i < v.size(); ++i) out.push_back(Object(v[i], f.sub, Child(path, i)));
    return out;
  }

  json Component(const json& v, const Field& f, const std::string& path) {
    if (!v.is_object()) {
      Add(path, Expected("an object", v));
      return v;
    }
    json type = v.contains("type") ? v["type"] : f.default_value;
    if (type.is_null()) {
      Add(path, "missing required key \"type\"");
      return v;
    }
    if (!type.is_string()) {
      Add(Child(path, "type"), Expected("a string", type));
      return v;
    }
    const ComponentInfo* info = f.registry != nullptr ? f.registry->Find(type.get<std::string>()) : nullptr;
    if (info == nullptr) {
      const ComponentRegistry empty("component");
      Add(Child(path, "type"), UnknownTypeMessage(type.get<std::string>(), f.registry ? *f.registry : empty));
      return v;
    }
    json given = v;
    if (f.component_defaults.is_object() && type == f.default_value)
      for (auto it = f.component_defaults.begin(); it != f.component_defaults.end(); ++it)
        if (it.key() != "type" && !given.contains(it.key())) given[it.key()] = it.value();
    json out = {{"type", type}};
    out.update(Object(given, info->schema, path, {"type"}));
    return out;
  }

  std::string file_;
  std::vector<Problem> problems_;
};

std::string JoinProblems(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) {
    if (!out.empty()) out += "\n";
    out += p.ToString();
  }
  return out;
}

[[noreturn]] void FailOverride(const std::string& path, const std::string& message) {
  throw InputError("--set", path, message);
}

bool ParseIndex(const std::string& s, size_t* index) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  *index = std::stoul(s);
  return true;
}

}  // namespace

std::string Problem::ToString() const {
  std::string raw = file;
  if (!path.empty()) raw += (raw.empty() ? "" : ": ") + path;
  if (!message.empty()) raw += (raw.empty() ? "" : ": ") + message;
  // Control characters (a key holding \u0000 would cut the printed line)
  // are shown as JSON escapes.
  std::string out;
  for (const char c : raw) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", unsigned(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

InputError::InputError(std::vector<Problem> problems)
    : std::runtime_error(JoinProblems(problems)), problems_(std::move(problems)) {}

InputError::InputError(std::string file, std::string path, std::string message)
    : InputError(std::vector<Problem>{{std::move(file), std::move(path), std::move(message)}}) {}

// ---------------------------------------------------------------- Schema

namespace {

Field& AddField(std::vector<Field>& fields, const std::string& key, FieldKind kind, json def, const std::string& doc) {
  for (const Field& existing : fields) {
    if (existing.key == key) throw std::logic_error("schema: duplicate key " + key);
  }
  Field& f = fields.emplace_back();
  f.key = key;
  f.kind = kind;
  f.default_value = std::move(def);
  f.doc = doc;
  return f;
}

}  // namespace

Schema& Schema::Number(const std::string& key, double def, double min, double max, const std::string& doc) {
  Field& f = AddField(fields_, key, FieldKind::kNumber, def, doc);
  f.min = min;
  f.max = max;
  return *this;
}

Schema& Schema::PositiveNumber(const std::string& key, double def, const std::string& doc, double max) {
  Number(key, def, 0, max, doc);
  fields_.back().min_exclusive = true;
  return *this;
}

Schema& Schema::Integer(const std::string& key, long long def, long long min, long long max, const std::string& doc) {
  Field& f = AddField(fields_, key, FieldKind::kInteger, def, doc);
  f.min = static_cast<double>(min);
  f.max = static_cast<double>(max);
  return *this;
}

Schema& Schema::Bool(const std::string& key, bool def, const std::string& doc) {
  AddField(fields_, key, FieldKind::kBool, def, doc);
  return *this;
}

Schema& Schema::String(const std::string& key, const std::string& def, std::vector<std::string> choices,
                       const std::string& doc) {
  AddField(fields_, key, FieldKind::kString, def, doc).choices = std::move(choices);
  return *this;
}

Schema& Schema::NumberArray(const std::string& key, json def, double min, double max, const std::string& doc,
                            size_t min_len, size_t max_len) {
  // Elements as validation returns them (doubles): a resolved scenario,
  // resolved again, gives the same bytes ([64.0], never [64] then [64.0]).
  for (json& e : def)
    if (e.is_number()) e = e.get<double>();
  Field& f = AddField(fields_, key, FieldKind::kNumberArray, std::move(def), doc);
  f.min = min;
  f.max = max;
  f.min_len = min_len;
  f.max_len = max_len;
  return *this;
}

Schema& Schema::Object(const std::string& key, const Schema* sub, const std::string& doc) {
  AddField(fields_, key, FieldKind::kObject, json::object(), doc).sub = sub;
  return *this;
}

Schema& Schema::ObjectArray(const std::string& key, const Schema* element, const std::string& doc) {
  AddField(fields_, key, FieldKind::kObjectArray, json::array(), doc).sub = element;
  return *this;
}

Schema& Schema::Component(const std::string& key, const ComponentRegistry* registry, const std::string& default_type,
                          const std::string& doc) {
  AddField(fields_, key, FieldKind::kComponent, default_type, doc).registry = registry;
  return *this;
}

Schema& Schema::WithDefaults(const json& values) {
  if (fields_.empty() || fields_.back().kind != FieldKind::kComponent || !values.is_object())
    throw std::logic_error("schema: WithDefaults(object) must follow a Component field");
  Field& f = fields_.back();
  f.component_defaults = json{{"type", f.default_value}};
  f.component_defaults.update(values);
  return *this;
}

Schema& Schema::Any(const std::string& key, json def, const std::string& doc) {
  AddField(fields_, key, FieldKind::kAny, std::move(def), doc);
  return *this;
}

Schema& Schema::Required(const std::string& key) {
  for (Field& f : fields_) {
    if (f.key == key) {
      f.default_value = nullptr;
      return *this;
    }
  }
  throw std::logic_error("schema: Required(\"" + key + "\") names no field");
}

Schema& Schema::Privileged() {
  if (fields_.empty()) throw std::logic_error("schema: Privileged() before any field");
  fields_.back().privileged = true;
  return *this;
}

Schema& Schema::Slider(double lo, double hi, bool log_scale) {
  if (fields_.empty()) throw std::logic_error("schema: Slider() before any field");
  Field& f = fields_.back();
  const bool numeric = f.kind == FieldKind::kNumber || f.kind == FieldKind::kInteger;
  const bool inside = lo >= f.min && hi <= f.max && !(f.min_exclusive && lo <= f.min);
  if (!numeric || !(lo < hi) || !inside || (log_scale && !(lo > 0.0)))
    throw std::logic_error("schema: Slider(" + FormatNumber(lo) + ", " + FormatNumber(hi) + ") does not fit key " +
                           f.key);
  f.slider_min = lo, f.slider_max = hi, f.slider_log = log_scale;
  return *this;
}

const Field* Schema::Find(const std::string& key) const {
  for (const Field& f : fields_) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

std::vector<std::string> Schema::Keys() const {
  std::vector<std::string> keys;
  for (const Field& f : fields_) keys.push_back(f.key);
  return keys;
}

void ComponentRegistry::Register(ComponentInfo info) {
  if (Find(info.type) != nullptr) {
    throw std::logic_error(kind_ + " registry: duplicate type " + info.type);
  }
  components_.push_back(std::move(info));
}

const ComponentInfo* ComponentRegistry::Find(const std::string& type) const {
  for (const ComponentInfo& c : components_) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

std::vector<std::string> ComponentRegistry::Types() const {
  std::vector<std::string> types;
  for (const ComponentInfo& c : components_) types.push_back(c.type);
  return types;
}

// ---------------------------------------------------------------- Validate

json Validate(const json& input, const Schema& schema, const std::string& file, const std::string& base_path) {
  Validator validator(file);
  json out = validator.Object(input, &schema, base_path);
  if (!validator.problems().empty()) throw InputError(std::move(validator.problems()));
  return out;
}

json ReadJsonFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw InputError(path, "", std::string("cannot open file: ") + std::strerror(errno));
  std::string text;
  char buf[65536];
  size_t n;
  bool too_large = false;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    if (text.size() + n > kMaxJsonFileBytes) {
      too_large = true;
      break;
    }
    text.append(buf, n);
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;  // e.g. EISDIR: fopen succeeds on a directory
  std::fclose(f);
  if (failed) throw InputError(path, "", std::string("cannot open file: ") + std::strerror(err));
  if (too_large)
    throw InputError(path, "",
                     "file is larger than " + std::to_string(kMaxJsonFileBytes >> 20) +
                         " MiB, the limit for JSON input files");

  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); })) {
    throw InputError(path, "", "file is empty (expected a JSON object)");
  }
  return ParseJson(text, path);
}

// ---------------------------------------------------------------- --set

json ParseOverrideValue(const std::string& dotted, const std::string& text) {
  const std::string pointer = DottedToPointer(dotted);
  std::string lower;
  for (char c : text) lower += char(std::tolower((unsigned char)c));
  for (const char* word : {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
    if (lower == word) FailOverride(pointer, Quote(text) + " is not a finite number");
  if (!IsValidUtf8(text)) FailOverride(pointer, "the value is not valid UTF-8");
  try {
    return ParseJson(text, "--set");
  } catch (const InputError& e) {
    const Problem& p = e.problems().front();
    // Nesting too deep or a key defined twice: the value's own pointer.
    if (!p.path.empty()) FailOverride(pointer + p.path, p.message);
    if (p.message.find("is out of range") != std::string::npos)
      FailOverride(pointer, "number " + Quote(text) + " is out of range");
    // Text that starts like JSON (an object, an array, a quoted string) was
    // meant as JSON: a syntax error in it is reported, not turned into a string.
    const size_t first = text.find_first_not_of(" \t");
    if (first != std::string::npos && (text[first] == '{' || text[first] == '[' || text[first] == '"')) {
      const size_t colon = p.message.find(": ");
      FailOverride(pointer, "malformed JSON value " + Quote(text) + ": " +
                                (colon == std::string::npos ? p.message : p.message.substr(colon + 2)));
    }
    return text;  // bare words are strings: policy=greedy
  }
}

void RethrowBlamingOverrides(const InputError& error, const std::vector<std::string>& overrides) {
  // Pointer of each override's key. Searched from the last override back: the
  // last one that covers a path is the one whose value holds there.
  std::vector<std::pair<std::string, std::string>> keys;
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    if (eq != std::string::npos && eq > 0) keys.push_back({DottedToPointer(o.substr(0, eq)), o});
  }
  std::vector<Problem> problems = error.problems();
  for (Problem& p : problems) {
    if (p.file.rfind("--set", 0) == 0) continue;
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      const std::string& ptr = it->first;
      if (p.path == ptr || p.path.rfind(ptr + "/", 0) == 0) {
        p.file = "--set " + it->second;
        break;
      }
    }
  }
  throw InputError(std::move(problems));
}

void ApplyOverride(json& doc, const std::string& assignment, const Schema& schema) {
  const size_t eq = assignment.find('=');
  std::vector<std::string> segments;
  if (eq != std::string::npos) {
    std::stringstream ss(assignment.substr(0, eq));
    for (std::string s; std::getline(ss, s, '.');) segments.push_back(s);
  }
  const bool empty_segment =
      std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); });
  if (segments.empty() || empty_segment || assignment[eq - 1] == '.') {
    FailOverride("", "expected dotted.path=value, got " + Quote(assignment));
  }
  const json value = ParseOverrideValue(assignment.substr(0, eq), assignment.substr(eq + 1));

  // Cursor: `node` is an object in `doc` whose keys are described by `current`
  // (plus "type" when `registry` is set, i.e. inside a component).
  json* node = &doc;
  const Schema* current = &schema;
  const ComponentRegistry* registry = nullptr;
  std::string path;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& key = segments[i];
    const bool last = i + 1 == segments.size();
    if (node->is_null()) *node = json::object();
    if (!node->is_object()) FailOverride(path, "cannot set a key inside " + TypeName(*node));
    path = Child(path, key);
    if (registry != nullptr && key == "type") {
      if (!last) FailOverride(path, "\"type\" is a string, not an object");
      if (!value.is_string() || registry->Find(value.get<std::string>()) == nullptr) {
        FailOverride(path, UnknownTypeMessage(value.is_string() ? value.get<std::string>() : value.dump(), *registry));
      }
      (*node)[key] = value;
      return;
    }
    const Field* f = current->Find(key);
    if (f == nullptr) {
      std::vector<std::string> valid = current->Keys();
      if (registry != nullptr) valid.insert(valid.begin(), "type");
      FailOverride(path, UnknownKeyMessage(key, valid));
    }
    if (last) {
      (*node)[key] = value;
      return;
    }
    registry = nullptr;
    switch (f->kind) {
      case FieldKind::kObject:
        node = &(*node)[key];
        current = f->sub ? f->sub : &EmptySchema();
        break;
      case FieldKind::kComponent: {
        json& child = (*node)[key];
        const json type = child.is_object() && child.contains("type") ? child["type"] : f->default_value;
        if (type.is_null()) FailOverride(Child(path, "type"), "set " + Quote(key + ".type") + " first");
        const std::string name = type.is_string() ? type.get<std::string>() : type.dump();
        const ComponentInfo* info = f->registry ? f->registry->Find(name) : nullptr;
        if (info == nullptr) {
          const ComponentRegistry none("component");
          FailOverride(Child(path, "type"), UnknownTypeMessage(name, f->registry ? *f->registry : none));
        }
        node = &child;
        current = info->schema ? info->schema : &EmptySchema();
        registry = f->registry;
        break;
      }
      case FieldKind::kObjectArray:
      case FieldKind::kNumberArray: {
        const std::string& token = segments[++i];
        size_t index = 0;
        if (!ParseIndex(token, &index)) {
          FailOverride(path, "expected an array index after " + Quote(key) + ", got " + Quote(token));
        }
        // Arrays are never created or grown here: the element must exist.
        auto it = node->find(key);
        if (it == node->end() || !it->is_array()) {
          FailOverride(path, "cannot index " + Quote(key) + ": it is not set in the document");
        }
        if (index >= it->size()) {
          FailOverride(Child(path, index), "index " + std::to_string(index) + " is out of range (" + Quote(key) +
                                               " has " + std::to_string(it->size()) + " elements)");
        }
        path = Child(path, index);
        json& element = (*it)[index];
        if (i + 1 == segments.size()) {
          element = value;
          return;
        }
        if (f->kind == FieldKind::kNumberArray) FailOverride(path, "a number has no keys");
        node = &element;
        current = f->sub ? f->sub : &EmptySchema();
        break;
      }
      default:
        FailOverride(path, Quote(key) + " is not an object");
    }
  }
}

// ---------------------------------------------------------------- helpers

const Field* FindField(const Schema& schema, const std::string& dotted, const json& doc) {
  const Schema* current = &schema;
  const json* node = &doc;
  std::stringstream ss(dotted);
  const Field* f = nullptr;
  for (std::string key; std::getline(ss, key, '.');) {
    if (current == nullptr) return nullptr;  // the previous key was not an object
    f = current->Find(key);
    if (f == nullptr) return nullptr;
    static const json kNull;
    node = node->is_object() && node->contains(key) ? &(*node)[key] : &kNull;
    current = nullptr;
    if (f->kind == FieldKind::kObject) {
      current = f->sub;
    } else if (f->kind == FieldKind::kComponent && f->registry != nullptr) {
      const json type = node->is_object() && node->contains("type") ? (*node)["type"] : f->default_value;
      const ComponentInfo* info = type.is_string() ? f->registry->Find(type.get<std::string>()) : nullptr;
      if (info != nullptr) current = info->schema;
    }
  }
  return f;
}

std::string Join(const std::vector<std::string>& items, const std::string& sep, bool quote) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += quote ? Quote(items[i]) : items[i];
  }
  return out;
}

std::string Suggest(const std::string& key, const std::vector<std::string>& candidates) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string a = lower(key);
  const size_t limit = std::max<size_t>(2, key.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const std::string b = lower(candidate);
    // Levenshtein distance with a single rolling row.
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
        diagonal = up;
      }
    }
    if (row[b.size()] < best_distance) {
      best_distance = row[b.size()];
      best = candidate;
    }
  }
  return best;
}

std::string DottedToPointer(const std::string& dotted) {
  if (dotted.empty()) return "";
  std::string out;
  std::stringstream ss(dotted);
  for (std::string s; std::getline(ss, s, '.');) out = Child(out, s);
  if (dotted.back() == '.') out += "/";  // trailing empty token
  return out;
}

// ---------------------------------------------------------------- listings

namespace {

std::string KindText(const Field& f) {
  static const char* const kNames[] = {"number", "integer",  "bool",      "string", "number[]",
                                       "object", "object[]", "component", "any"};
  std::string name = kNames[static_cast<int>(f.kind)];
  if (f.kind == FieldKind::kComponent && f.registry) name += " (" + f.registry->kind() + ")";
  return name;
}

std::string DefaultText(const Field& f) {
  if (f.default_value.is_null()) return "required";
  if (f.kind == FieldKind::kObject) return "";
  if (f.kind == FieldKind::kComponent && f.component_defaults.is_object())
    return "default " + FormatValue(f.component_defaults);
  return "default " + FormatValue(f.default_value);
}

std::string ConstraintText(const Field& f) {
  switch (f.kind) {
    case FieldKind::kNumber:
    case FieldKind::kInteger: {
      const std::string range = RangeText(f);
      return range.empty() ? "" : "range " + range;
    }
    case FieldKind::kString:
      return f.choices.empty() ? "" : "one of " + Join(f.choices, "|");
    case FieldKind::kNumberArray:
    case FieldKind::kObjectArray: {
      std::string out = f.kind == FieldKind::kNumberArray ? RangeText(f) : "";
      if (!out.empty()) out = "range " + out;
      const std::string len = LengthText(f);
      if (!len.empty()) out += (out.empty() ? "length " : ", length ") + len;
      return out;
    }
    default:
      return "";
  }
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string DescribeSchema(const Schema& schema, int indent) {
  const std::string margin(2 * std::max(indent, 0), ' ');
  // Column widths per schema so each block lines up.
  size_t widths[4] = {0, 0, 0, 0};
  for (const Field& f : schema.fields()) {
    const std::string cols[4] = {f.key, KindText(f), DefaultText(f), ConstraintText(f)};
    for (int c = 0; c < 4; ++c) widths[c] = std::max(widths[c], cols[c].size());
  }
  std::string out;
  for (const Field& f : schema.fields()) {
    const std::string cols[4] = {f.key, KindText(f), DefaultText(f), ConstraintText(f)};
    std::string line = margin;
    for (int c = 0; c < 4; ++c) {
      if (widths[c] > 0) line += Pad(cols[c], widths[c]) + "  ";
    }
    line += f.doc;
    if (f.privileged) line += " [privileged]";
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    if ((f.kind == FieldKind::kObject || f.kind == FieldKind::kObjectArray) && f.sub) {
      out += DescribeSchema(*f.sub, indent + 1);
    } else if (f.kind == FieldKind::kComponent && f.registry) {
      out += DescribeRegistry(*f.registry, indent + 1);
    }
  }
  return out;
}

namespace {
// The registries being described, outermost first: a component whose
// registry is among them (the logging wrapper's "policy" is any agent) is
// named, not expanded again.
thread_local std::vector<const ComponentRegistry*> g_describing;
}  // namespace

std::string DescribeRegistry(const ComponentRegistry& registry, int indent) {
  const std::string margin(2 * std::max(indent, 0), ' ');
  if (std::find(g_describing.begin(), g_describing.end(), &registry) != g_describing.end())
    return margin + "any " + registry.kind() + " (the types listed above)\n";
  g_describing.push_back(&registry);
  struct Pop {
    ~Pop() { g_describing.pop_back(); }
  } pop;
  std::string out;
  for (const ComponentInfo& c : registry.components()) {
    out += margin + "type " + Quote(c.type) + ": " + c.doc;
    if (c.privileged) out += " [privileged]";
    out += "\n";
    if (c.schema) out += DescribeSchema(*c.schema, indent + 1);
  }
  return out;
}

}  // namespace cohort
