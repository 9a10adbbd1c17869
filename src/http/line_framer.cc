#include "http/line_framer.h"

namespace wva::http {

Status LineFramer::Feed(std::string_view data,
                        const std::function<bool(std::string_view line)>& on_line) {
  buf_.append(data);
  size_t start = 0;
  Status result;
  while (true) {
    size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) {
      break;
    }
    std::string_view line(buf_.data() + start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.size() > max_line_) {
      buf_.clear();
      return ResourceExhaustedError("line of " + std::to_string(line.size()) +
                                    " bytes exceeds limit " + std::to_string(max_line_));
    }
    if (line.empty()) {
      continue;
    }
    if (!on_line(line)) {
      break;
    }
  }
  buf_.erase(0, start);
  if (buf_.size() > max_line_) {
    size_t n = buf_.size();
    buf_.clear();
    return ResourceExhaustedError("unterminated line of " + std::to_string(n) +
                                  " bytes exceeds limit " + std::to_string(max_line_));
  }
  return result;
}

}  // namespace wva::http
