// LineFramer: splits a byte stream into newline-terminated lines (NDJSON watch streams). Bytes
// arrive in arbitrary chunks; a line may span chunks. Handles "\r\n", skips empty lines, and
// bounds memory: a line longer than max_line is an error (kResourceExhausted), never a crash.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace wva::http {

class LineFramer {
 public:
  // Kubernetes objects are at most ~1.5 MiB in etcd; 16 MiB leaves room for big lists.
  explicit LineFramer(size_t max_line = 16 << 20) : max_line_(max_line) {}

  // Appends `data`; calls `on_line` for each complete non-empty line (without the terminator).
  // `on_line` returns false to stop early (remaining input is kept). Returns an error if a line
  // exceeds max_line (the framer is then reset).
  [[nodiscard]] Status Feed(std::string_view data,
                            const std::function<bool(std::string_view line)>& on_line);
  // Bytes of an unterminated trailing line (non-zero at end of stream = truncated line).
  size_t pending() const { return buf_.size(); }
  void Reset() { buf_.clear(); }

 private:
  size_t max_line_;
  std::string buf_;
};

}  // namespace wva::http
