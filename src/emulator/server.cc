#include "emulator/server.h"

#include <charconv>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

namespace wva::emulator {

EmulatorServer::EmulatorServer(Emulator& emulator) : emulator_(emulator) {
  server_.Route("GET", "/metrics", [this](const http::ServerRequest&, http::ServerResponse& res) {
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = emulator_.RenderMetrics();
  });
  server_.Route("GET", "/healthz",
                [](const http::ServerRequest&, http::ServerResponse& res) { res.body = "ok\n"; });
  server_.Route("*", "/control/*",
                [this](const http::ServerRequest& req, http::ServerResponse& res) {
                  ControlResponse r = emulator_.HandleControl(req.method, req.path, req.body);
                  res.status = r.status;
                  res.content_type = "application/json";
                  res.body = r.body + "\n";
                });
}

EmulatorServer::~EmulatorServer() { Stop(); }

StatusOr<int> EmulatorServer::Start(const std::string& host, int port) {
  return server_.Start(host, port);
}

void EmulatorServer::Stop() { server_.Stop(); }

namespace {

template <class T>
Status ParseNumber(std::string_view key, std::string_view v, T* out) {
  std::string s(v);
  char* end = nullptr;
  if constexpr (std::is_integral_v<T>) {
    long long x = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') {
      return InvalidArgumentError(fmt::format("{}={} is not an integer", key, v));
    }
    *out = static_cast<T>(x);
  } else {
    double x = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0') {
      return InvalidArgumentError(fmt::format("{}={} is not a number", key, v));
    }
    *out = x;
  }
  return OkStatus();
}

}  // namespace

StatusOr<VariantSpec> ParseVariantSpec(std::string_view text,
                                       const ProfileResolver& resolve_profile) {
  VariantSpec spec;
  // Keys of the pod set are read here; every other key is a replica-profile key (profile=NAME is
  // the profile's base), read by the one profile parser from a mapping built of them.
  YAML::Node profile(YAML::NodeType::Map);
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string_view::npos) {
      j = text.size();
    }
    std::string_view kv = text.substr(i, j - i);
    i = j + 1;
    if (kv.empty()) {
      continue;
    }
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) {
      return Err(
          InvalidArgumentError(fmt::format("--variant \"{}\": \"{}\" is not key=value", text, kv)));
    }
    std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
    Status s;
    if (k == "namespace") {
      spec.ns = v;
    } else if (k == "model") {
      spec.model = v;
    } else if (k == "name") {
      spec.name = v;
    } else if (k == "replicas") {
      s = ParseNumber(k, v, &spec.replicas);
    } else if (k == "kv") {
      s = ParseNumber(k, v, &spec.fixed.kv);
    } else if (k == "queue") {
      s = ParseNumber(k, v, &spec.fixed.waiting);
    } else if (k == "running") {
      s = ParseNumber(k, v, &spec.fixed.running);
    } else {
      const std::string key = k == "profile" ? "base" : std::string(k);
      if (std::as_const(profile)[key]) {
        return Err(
            InvalidArgumentError(fmt::format("--variant \"{}\": key \"{}\" given twice", text, k)));
      }
      profile[key] = std::string(v);
    }
    if (!s.ok()) {
      return Err(s.WithPrefix(fmt::format("--variant \"{}\"", text)));
    }
    if (i > text.size()) {
      break;
    }
  }
  core::PerfProfileParseOptions o;
  o.defaults = spec.profile;
  o.for_replica = true;
  if (resolve_profile) {
    o.resolve_base = resolve_profile;
  } else if (std::as_const(profile)["base"]) {
    return Err(InvalidArgumentError(
        fmt::format("--variant \"{}\": named profiles are not available", text)));
  }
  auto p = core::ParsePerfProfile(profile, o);
  if (!p) {
    return Err(p.error().WithPrefix(fmt::format("--variant \"{}\"", text)));
  }
  spec.profile = *p;
  if (spec.ns.empty() || spec.model.empty() || spec.name.empty()) {
    return Err(InvalidArgumentError(
        fmt::format("--variant \"{}\": namespace=, model= and name= are required", text)));
  }
  if (spec.replicas < 0) {
    return Err(InvalidArgumentError(fmt::format("--variant \"{}\": replicas must be >= 0", text)));
  }
  return spec;
}

}  // namespace wva::emulator
