// Structured JSON-line logging: one JSON object per line with ts, level, logger, msg and any
// context fields. Fields whose key looks like a secret (token, password, authorization, key data)
// are redacted before they are written, so a careless call site cannot leak a credential.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wva::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn"/"warning", "error" (case-insensitive).
bool ParseLevel(std::string_view text, Level* out);
void SetLevel(Level level);
Level GetLevel();

// Replaces where lines go (default: stderr). Used by tests to capture logs. Thread-safe.
using Sink = std::function<void(std::string_view line)>;
void SetSink(Sink sink);
void ResetSink();

class Logger {
 public:
  explicit Logger(std::string name) : name_(std::move(name)) {}

  void Debug(std::string_view msg, nlohmann::json fields = nullptr) const {
    Log(Level::kDebug, msg, std::move(fields));
  }
  void Info(std::string_view msg, nlohmann::json fields = nullptr) const {
    Log(Level::kInfo, msg, std::move(fields));
  }
  void Warn(std::string_view msg, nlohmann::json fields = nullptr) const {
    Log(Level::kWarn, msg, std::move(fields));
  }
  void Error(std::string_view msg, nlohmann::json fields = nullptr) const {
    Log(Level::kError, msg, std::move(fields));
  }
  void Log(Level level, std::string_view msg, nlohmann::json fields) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Formats one line (without newline). Exposed for tests.
std::string FormatLine(std::string_view ts, Level level, std::string_view logger,
                       std::string_view msg, const nlohmann::json& fields);

}  // namespace wva::log
