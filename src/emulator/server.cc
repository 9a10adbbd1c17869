#include "emulator/server.h"

#include <charconv>
#include <cstdlib>

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
  // A named profile is the base; the explicit keys below override its fields.
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find(',', at);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view kv = text.substr(at, end - at);
    at = end + 1;
    if (kv.substr(0, 8) != "profile=") {
      continue;
    }
    if (!resolve_profile) {
      return Err(InvalidArgumentError(
          fmt::format("--variant \"{}\": named profiles are not available", text)));
    }
    auto p = resolve_profile(kv.substr(8));
    if (!p) {
      return Err(p.error().WithPrefix(fmt::format("--variant \"{}\"", text)));
    }
    spec.profile = *p;
  }
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
    if (k == "profile") {
      continue;  // handled above
    }
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
    } else if (k == "blocks") {
      s = ParseNumber(k, v, &spec.profile.num_gpu_blocks);
    } else if (k == "block_size") {
      s = ParseNumber(k, v, &spec.profile.block_size);
    } else if (k == "max_seqs") {
      s = ParseNumber(k, v, &spec.profile.max_num_seqs);
    } else if (k == "max_model_len") {
      s = ParseNumber(k, v, &spec.profile.max_model_len);
    } else if (k == "alpha_ms") {
      s = ParseNumber(k, v, &spec.profile.alpha_ms);
    } else if (k == "beta_ms") {
      s = ParseNumber(k, v, &spec.profile.beta_ms);
    } else if (k == "gamma_ms") {
      s = ParseNumber(k, v, &spec.profile.gamma_ms);
    } else if (k == "delta_ms") {
      s = ParseNumber(k, v, &spec.profile.delta_ms);
    } else {
      return Err(
          InvalidArgumentError(fmt::format("--variant \"{}\": unknown key \"{}\"", text, k)));
    }
    if (!s.ok()) {
      return Err(s.WithPrefix(fmt::format("--variant \"{}\"", text)));
    }
    if (i > text.size()) {
      break;
    }
  }
  if (spec.ns.empty() || spec.model.empty() || spec.name.empty()) {
    return Err(InvalidArgumentError(
        fmt::format("--variant \"{}\": namespace=, model= and name= are required", text)));
  }
  if (spec.replicas < 0) {
    return Err(InvalidArgumentError(fmt::format("--variant \"{}\": replicas must be >= 0", text)));
  }
  if (spec.profile.num_gpu_blocks <= 0 || spec.profile.block_size <= 0 ||
      spec.profile.max_num_seqs <= 0 || spec.profile.max_model_len <= 1) {
    return Err(InvalidArgumentError(fmt::format("--variant \"{}\": sizes must be positive", text)));
  }
  return spec;
}

}  // namespace wva::emulator
