#include "base/log.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "base/mutex.h"

namespace wva::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

struct SinkState {
  Mutex mu;
  Sink sink GUARDED_BY(mu);
};
SinkState& Sinks() {
  static SinkState* state = new SinkState;  // never destroyed: usable during static teardown
  return *state;
}

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool IsSecretKey(const std::string& key) {
  std::string k = key;
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  return k.find("token") != std::string::npos || k.find("password") != std::string::npos ||
         k.find("authorization") != std::string::npos || k.find("secret") != std::string::npos ||
         k == "key-data" || k == "client-key-data";
}

std::string NowTs() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms));
}

}  // namespace

bool ParseLevel(std::string_view text, Level* out) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "debug") {
    *out = Level::kDebug;
  } else if (t == "info") {
    *out = Level::kInfo;
  } else if (t == "warn" || t == "warning") {
    *out = Level::kWarn;
  } else if (t == "error") {
    *out = Level::kError;
  } else {
    return false;
  }
  return true;
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }
Level GetLevel() { return static_cast<Level>(g_level.load()); }

void SetSink(Sink sink) {
  SinkState& st = Sinks();
  MutexLock lock(&st.mu);
  st.sink = std::move(sink);
}
void ResetSink() { SetSink(nullptr); }

std::string FormatLine(std::string_view ts, Level level, std::string_view logger,
                       std::string_view msg, const nlohmann::json& fields) {
  nlohmann::ordered_json line;
  line["ts"] = ts;
  line["level"] = LevelName(level);
  line["logger"] = logger;
  line["msg"] = msg;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (it.key() == "ts" || it.key() == "level" || it.key() == "logger" || it.key() == "msg") {
        continue;
      }
      line[it.key()] = IsSecretKey(it.key()) ? nlohmann::json("[redacted]") : it.value();
    }
  }
  // Replace invalid UTF-8 rather than throwing: log content may come from the network.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Logger::Log(Level level, std::string_view msg, nlohmann::json fields) const {
  if (static_cast<int>(level) < g_level.load()) {
    return;
  }
  std::string text = FormatLine(NowTs(), level, name_, msg, fields);
  SinkState& st = Sinks();
  MutexLock lock(&st.mu);
  if (st.sink) {
    st.sink(text);
    return;
  }
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace wva::log
