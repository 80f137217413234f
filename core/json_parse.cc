#include "core/json_parse.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace cohort {
namespace {

// A refusal found by the callback; carries the pointer out of nlohmann's
// parser, which does not catch it.
struct Refusal {
  std::string pointer, message;
};

std::string EscapePointerToken(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

// Follows the parser's events to know where it is (for messages) and which
// keys each open object already holds.
class StrictChecker {
 public:
  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        BeginElement();
        if (depth >= kMaxJsonDepth)
          throw Refusal{Pointer(frames_.size()), "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
        frames_.push_back(Frame{event == json::parse_event_t::array_start, -1, {}, {}});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          throw Refusal{Pointer(frames_.size()), "key " + Quote(f.key) + " is defined twice in this object"};
        break;
      }
      case json::parse_event_t::value:
        BeginElement();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool array;
    long long index;
    std::string key;
    std::unordered_set<std::string> keys;
  };
  void BeginElement() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }
  // Pointer to the current element of each of the first `n` open containers.
  std::string Pointer(size_t n) const {
    std::string p;
    for (size_t i = 0; i < n && i < frames_.size(); ++i)
      p += "/" + (frames_[i].array ? std::to_string(frames_[i].index) : EscapePointerToken(frames_[i].key));
    return p;
  }
  static std::string Quote(const std::string& s) {
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::vector<Frame> frames_;
};

// Keeps only the reason of nlohmann's parse_error::what():
// "[json.exception...] parse error at line 2, column 8: syntax error while
// parsing value - unexpected ','; ..." -> "unexpected ','; ...".
std::string ShortReason(const std::string& what) {
  std::string reason = what;
  const size_t at = reason.find("parse error");
  if (at != std::string::npos) {
    const size_t colon = reason.find(": ", at);
    if (colon != std::string::npos) reason = reason.substr(colon + 2);
  }
  const size_t dash = reason.find(" - ");
  if (reason.rfind("syntax error while parsing", 0) == 0 && dash != std::string::npos) reason = reason.substr(dash + 3);
  return reason;
}

}  // namespace

json ParseJson(std::string_view text, const std::string& source) {
  try {
    StrictChecker checker;
    return json::parse(text.begin(), text.end(), std::ref(checker));
  } catch (const Refusal& r) {
    throw InputError(source, r.pointer, r.message);
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the offending character (size + 1 at
    // end of input). nlohmann's own line/column is off for errors on a
    // newline, so count ourselves.
    const size_t offset = std::min(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const size_t line = 1 + std::count(text.begin(), text.begin() + offset, '\n');
    const size_t line_start = offset == 0 ? std::string_view::npos : text.rfind('\n', offset - 1);
    const size_t column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    throw InputError(source, "",
                     "malformed JSON at line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
                         ShortReason(e.what()));
  } catch (const json::out_of_range& e) {
    // A number beyond double range ("1e999"): nlohmann reports no offset, but
    // names the literal; locate it for the line number.
    const std::string what = e.what();
    const size_t q1 = what.find('\''), q2 = what.rfind('\'');
    const std::string literal = q1 != std::string::npos && q2 > q1 ? what.substr(q1 + 1, q2 - q1 - 1) : "";
    const size_t at = literal.empty() ? std::string_view::npos : text.find(literal);
    const std::string where =
        at == std::string_view::npos ? "" : " at line " + std::to_string(1 + std::count(text.begin(), text.begin() + at, '\n'));
    throw InputError(source, "",
                     "malformed JSON" + where + ": number " +
                         json(literal).dump(-1, ' ', false, json::error_handler_t::replace) + " is out of range");
  }
}

json ParseJsonOrDiscarded(std::string_view text) {
  try {
    return ParseJson(text, "");
  } catch (const InputError&) {
    return json(json::value_t::discarded);
  }
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n = 0;
    unsigned min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, min = 0x10000;
    } else {
      return false;
    }
    unsigned cp = c & (0x3F >> n);
    for (int j = 1; j <= n; ++j) {
      if (i + size_t(j) >= s.size()) return false;
      const unsigned char d = static_cast<unsigned char>(s[i + size_t(j)]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += size_t(n) + 1;
  }
  return true;
}

}  // namespace cohort
