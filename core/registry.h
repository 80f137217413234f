// One registry template for every kind of component (agents, update rules,
// drifts, exploration rules, choice models): an entry holds the component's
// name, its info (one-line doc, parameter schema, privilege) and its factory
// together, so a component is added in exactly one place.
//
// Registration stays explicit: each family registers from a function that its
// registry calls once (static self-registration is dropped by the linker from
// static libraries). Registry<Factory> is a ComponentRegistry, so a schema's
// component field points at it for validation, defaults, `--set` and
// `cohort list`; Make-style callers look the factory up by the resolved
// config's "type".
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/schema.h"

namespace cohort {

template <typename Factory>
class Registry : public ComponentRegistry {
 public:
  explicit Registry(std::string kind) : ComponentRegistry(std::move(kind)) {}

  // Throws std::logic_error when the type is registered twice.
  Registry& Add(ComponentInfo info, Factory factory) {
    std::string type = info.type;
    Register(std::move(info));
    factories_.emplace(std::move(type), std::move(factory));
    return *this;
  }

  // The factory of `type`; std::invalid_argument naming the registered types
  // when there is none (validation normally catches this first).
  const Factory& FactoryOf(const std::string& type) const {
    const auto it = factories_.find(type);
    if (it == factories_.end())
      throw std::invalid_argument("unknown " + kind() + " type \"" + type + "\" (registered: " + Join(Types()) + ")");
    return it->second;
  }
  // The factory of a resolved component block's "type".
  const Factory& FactoryOf(const json& config) const { return FactoryOf(config.at("type").get<std::string>()); }

 private:
  std::map<std::string, Factory> factories_;
};

}  // namespace cohort
