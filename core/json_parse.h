// The one way Cohort parses JSON text it did not write itself in this
// process: scenario, sweep and meta files, --set values, checkpoint headers,
// cells' summary.json and metrics.jsonl read back by `cohort report`.
//
// Strict where nlohmann's parser is lenient:
// - nesting deeper than kMaxJsonDepth levels is refused (deep documents would
//   otherwise overflow the stack in the recursive code that walks them:
//   validation, comparison, dump);
// - a key defined twice in one object is refused (nlohmann keeps the last,
//   silently), naming the key's JSON pointer;
// - syntax errors say "line L, column C".
// Every refusal is an InputError(source, pointer, message).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/schema.h"

namespace cohort {

inline constexpr int kMaxJsonDepth = 256;
// Input files above this size are refused before they are read (a 200 MB
// scenario would otherwise be held several times over while it is parsed).
inline constexpr std::size_t kMaxJsonFileBytes = std::size_t(64) << 20;

json ParseJson(std::string_view text, const std::string& source);

// ParseJson, or a discarded value (json::value_t::discarded) instead of an
// error: for lines of files a crash may have cut short (metrics.jsonl).
json ParseJsonOrDiscarded(std::string_view text);

// Whether `text` is valid UTF-8 (JSON strings must be).
bool IsValidUtf8(std::string_view text);

}  // namespace cohort
