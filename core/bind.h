// Each parameter declared once: a Schema whose fields are bound to the
// members of a typed struct.
//
// A plain Schema (core/schema.h) declares a key's type, default, range and doc
// for validation, default filling, `--set` and `cohort list`; a separate
// function then reads every key of the validated JSON into a struct, and the
// struct's initializer repeats the default. BoundSchema<T> says it once:
//
//   struct RetentionParams { bool enabled = false; double gap_mean = 24.0; };
//   BoundSchema<RetentionParams> retention{"returning for further sessions"};
//   retention.Bool("enabled", &RetentionParams::enabled, "users may return")
//            .PositiveNumber("gap_mean", &RetentionParams::gap_mean, "mean time away");
//   ...
//   RetentionParams r = retention.Read(validated_json);
//
// The default of every key is the member's value in the struct's default
// instance (T{} unless the constructor is given another, e.g. one trait of
// several with different means); the range and doc stay beside the key.
// Enumerations map to strings through one EnumTable that serves both the
// schema's choices and reading. Nested JSON objects read either into a member
// struct (Object) or into the same struct (Flatten: "dynamics.interest.step"
// is DynamicsParams::interest_step). Cross-field checks (one value against
// another) stay with the caller: a binding only knows its own key.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/schema.h"

namespace cohort {

// The one table of an enumeration's names, in the order `cohort list` shows.
template <typename E>
struct EnumName {
  E value;
  const char* name;
};
template <typename E>
using EnumTable = std::vector<EnumName<E>>;

// Name of `value` in `table` ("" when absent: a table missing an enumerator).
template <typename E>
std::string NameOf(const EnumTable<E>& table, E value) {
  for (const EnumName<E>& e : table)
    if (e.value == value) return e.name;
  return "";
}

template <typename T>
class BoundSchema {
 public:
  explicit BoundSchema(std::string doc, T defaults = T{}) : schema_(std::move(doc)), defaults_(std::move(defaults)) {}
  BoundSchema(const BoundSchema&) = delete;  // the schema is pointed at by its parents
  BoundSchema& operator=(const BoundSchema&) = delete;

  const Schema& schema() const { return schema_; }
  const T& defaults() const { return defaults_; }

  // Reads every bound key of `resolved` (validated against schema(), so every
  // key is present and typed) into `out`; keys not bound are left alone.
  void ReadInto(const json& resolved, T& out) const {
    for (const auto& read : readers_) read(resolved, out);
  }
  T Read(const json& resolved) const {
    T out = defaults_;
    ReadInto(resolved, out);
    return out;
  }

  BoundSchema& Number(const std::string& key, double T::*member, double min, double max, const std::string& doc) {
    schema_.Number(key, defaults_.*member, min, max, doc);
    return Bind(key, member);
  }
  BoundSchema& PositiveNumber(const std::string& key, double T::*member, const std::string& doc, double max = 1e300) {
    schema_.PositiveNumber(key, defaults_.*member, doc, max);
    return Bind(key, member);
  }
  template <typename I>
  requires std::is_integral_v<I> BoundSchema& Integer(const std::string& key, I T::*member, long long min,
                                                      long long max, const std::string& doc) {
    schema_.Integer(key, static_cast<long long>(defaults_.*member), min, max, doc);
    return Bind(key, member);
  }
  BoundSchema& Bool(const std::string& key, bool T::*member, const std::string& doc) {
    schema_.Bool(key, defaults_.*member, doc);
    return Bind(key, member);
  }
  BoundSchema& String(const std::string& key, std::string T::*member, const std::string& doc) {
    schema_.String(key, defaults_.*member, {}, doc);
    return Bind(key, member);
  }
  BoundSchema& NumberArray(const std::string& key, std::vector<double> T::*member, double min, double max,
                           const std::string& doc) {
    schema_.NumberArray(key, json(defaults_.*member), min, max, doc);
    return Bind(key, member);
  }
  // The last bound number's slider range (Schema::Slider).
  BoundSchema& Slider(double lo, double hi, bool log_scale = false) {
    schema_.Slider(lo, hi, log_scale);
    return *this;
  }
  // A string restricted to the names of `table` (which must outlive this).
  template <typename E>
  BoundSchema& Enum(const std::string& key, E T::*member, const EnumTable<E>& table, const std::string& doc) {
    std::vector<std::string> names;
    for (const EnumName<E>& e : table) names.push_back(e.name);
    schema_.String(key, NameOf(table, defaults_.*member), std::move(names), doc);
    readers_.push_back([key, member, &table](const json& j, T& out) {
      const std::string name = j.at(key).template get<std::string>();
      for (const EnumName<E>& e : table)
        if (name == e.name) out.*member = e.value;
    });
    return *this;
  }
  // A nested object read into a member struct.
  template <typename S>
  BoundSchema& Object(const std::string& key, S T::*member, const BoundSchema<S>* sub, const std::string& doc) {
    schema_.Object(key, &sub->schema(), doc);
    readers_.push_back([key, member, sub](const json& j, T& out) { sub->ReadInto(j.at(key), out.*member); });
    return *this;
  }
  // A nested object whose keys are members of this same struct.
  BoundSchema& Flatten(const std::string& key, const BoundSchema<T>* sub, const std::string& doc) {
    schema_.Object(key, &sub->schema(), doc);
    readers_.push_back([key, sub](const json& j, T& out) { sub->ReadInto(j.at(key), out); });
    return *this;
  }
  // An array of objects, each read into a fresh copy of the element's defaults.
  template <typename S>
  BoundSchema& ObjectArray(const std::string& key, std::vector<S> T::*member, const BoundSchema<S>* element,
                           const std::string& doc) {
    schema_.ObjectArray(key, &element->schema(), doc);
    readers_.push_back([key, member, element](const json& j, T& out) {
      (out.*member).clear();
      for (const json& e : j.at(key)) (out.*member).push_back(element->Read(e));
    });
    return *this;
  }
  // A component field ("type" selects one of `registry`'s schemas). Declared
  // only: the caller reads it, since its keys depend on the chosen type.
  BoundSchema& Component(const std::string& key, const ComponentRegistry* registry, const std::string& default_type,
                         const std::string& doc) {
    schema_.Component(key, registry, default_type, doc);
    return *this;
  }

 private:
  template <typename M>
  BoundSchema& Bind(const std::string& key, M T::*member) {
    readers_.push_back([key, member](const json& j, T& out) { out.*member = j.at(key).template get<M>(); });
    return *this;
  }

  Schema schema_;
  T defaults_;
  std::vector<std::function<void(const json&, T&)>> readers_;
};

}  // namespace cohort
