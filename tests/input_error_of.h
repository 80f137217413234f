// Test helper: the message of the InputError a callable throws.
#pragma once

#include <string>

#include "core/schema.h"

namespace cohort::testing {

// The message of the InputError thrown by `fn`, or "" when none is thrown.
template <typename Fn>
std::string InputErrorOf(Fn fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace cohort::testing
