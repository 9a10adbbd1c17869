#include "kube/rest_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/log.h"

namespace wva::kube {
namespace {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Err(FailedPreconditionError("cannot read " + path));
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') {
    ++i;
  }
  return s.substr(i);
}

StatusOr<std::string> Base64Decode(const std::string& in) {
  static const std::string kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') {
      continue;
    }
    auto pos = kChars.find(static_cast<char>(c));
    if (pos == std::string::npos) {
      return Err(InvalidArgumentError("invalid base64 data"));
    }
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || base_dir.empty()) {
    return p;
  }
  return base_dir + "/" + p;
}

YAML::Node FindNamed(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list || !list.IsSequence()) {
    return YAML::Node();
  }
  for (const auto& item : list) {
    if (item["name"] && item["name"].as<std::string>() == name) {
      return item[field];
    }
  }
  return YAML::Node();
}

std::string Str(const YAML::Node& n, const char* key) {
  return (n && n[key] && n[key].IsScalar()) ? n[key].as<std::string>() : std::string();
}

}  // namespace

TokenSource::TokenSource(std::string literal, std::string file, const Clock* clock,
                         std::chrono::seconds reload_every)
    : literal_(std::move(literal)),
      file_(std::move(file)),
      clock_(clock),
      reload_every_(reload_every) {}

std::string TokenSource::Token() {
  if (file_.empty()) {
    return literal_;
  }
  MutexLock lock(&mu_);
  auto now = clock_->Now();
  if (!have_ || now - read_at_ >= reload_every_) {
    auto content = ReadFile(file_);
    ++reads_;
    read_at_ = now;
    if (content.has_value()) {
      cached_ = Trim(*content);
      have_ = true;
    } else if (!have_) {
      static const log::Logger logger("kube.token");
      logger.Warn("cannot read token file", {{"path", file_}});
      return literal_;
    }
  }
  return cached_;
}

http::ClientOptions RestConfig::ToClientOptions(std::shared_ptr<TokenSource> tokens) const {
  http::ClientOptions o;
  o.tls = tls;
  o.user_agent = user_agent;
  if (tokens) {
    o.bearer_token = [tokens] { return tokens->Token(); };
  }
  return o;
}

StatusOr<RestConfig> ParseKubeconfig(const std::string& yaml, const std::string& base_dir,
                                     const std::string& context) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(std::string("kubeconfig: ") + e.what()));
  }
  try {
    std::string ctx_name = context.empty() ? Str(root, "current-context") : context;
    if (ctx_name.empty()) {
      return Err(InvalidArgumentError("kubeconfig: no current-context"));
    }
    YAML::Node ctx = FindNamed(root["contexts"], ctx_name, "context");
    if (!ctx) {
      return Err(InvalidArgumentError("kubeconfig: context " + ctx_name + " not found"));
    }
    std::string cluster_name = Str(ctx, "cluster"), user_name = Str(ctx, "user");
    YAML::Node cluster = FindNamed(root["clusters"], cluster_name, "cluster");
    if (!cluster) {
      return Err(InvalidArgumentError("kubeconfig: cluster " + cluster_name + " not found"));
    }
    YAML::Node user = FindNamed(root["users"], user_name, "user");
    RestConfig c;
    c.server = Str(cluster, "server");
    while (!c.server.empty() && c.server.back() == '/') {
      c.server.pop_back();
    }
    if (c.server.empty()) {
      return Err(InvalidArgumentError("kubeconfig: cluster has no server"));
    }
    c.namespace_ = Str(ctx, "namespace");
    c.tls.ca_file = Resolve(base_dir, Str(cluster, "certificate-authority"));
    if (auto d = Str(cluster, "certificate-authority-data"); !d.empty()) {
      WVA_ASSIGN_OR_RETURN(c.tls.ca_pem, Base64Decode(d));
      c.tls.ca_file.clear();
    }
    c.tls.server_name = Str(cluster, "tls-server-name");
    c.tls.insecure_skip_verify = Str(cluster, "insecure-skip-tls-verify") == "true";
    if (user) {
      c.tls.cert_file = Resolve(base_dir, Str(user, "client-certificate"));
      c.tls.key_file = Resolve(base_dir, Str(user, "client-key"));
      if (auto d = Str(user, "client-certificate-data"); !d.empty()) {
        WVA_ASSIGN_OR_RETURN(c.tls.cert_pem, Base64Decode(d));
        c.tls.cert_file.clear();
      }
      if (auto d = Str(user, "client-key-data"); !d.empty()) {
        WVA_ASSIGN_OR_RETURN(c.tls.key_pem, Base64Decode(d));
        c.tls.key_file.clear();
      }
      c.bearer_token = Str(user, "token");
      c.bearer_token_file = Resolve(base_dir, Str(user, "tokenFile"));
      if (user["exec"] || user["auth-provider"]) {
        return Err(
            UnimplementedError("kubeconfig: exec/auth-provider credentials are not supported"));
      }
    }
    return c;
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(std::string("kubeconfig: ") + e.what()));
  }
}

StatusOr<RestConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  WVA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  auto c = ParseKubeconfig(text, dir, context);
  if (!c.has_value()) {
    return Err(c.error().WithPrefix(path));
  }
  return c;
}

StatusOr<RestConfig> InClusterConfig(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0') {
    return Err(FailedPreconditionError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset"));
  }
  RestConfig c;
  std::string h = host;
  if (h.find(':') != std::string::npos) {
    h = "[" + h + "]";  // IPv6
  }
  c.server = "https://" + h + ":" + port;
  c.bearer_token_file = sa_dir + "/token";
  std::ifstream tf(c.bearer_token_file);
  if (!tf) {
    return Err(FailedPreconditionError("cannot read " + c.bearer_token_file));
  }
  c.tls.ca_file = sa_dir + "/ca.crt";
  if (auto ns = ReadFile(sa_dir + "/namespace"); ns.has_value()) {
    c.namespace_ = Trim(*ns);
  }
  return c;
}

StatusOr<RestConfig> LoadDefaultConfig(const std::string& kubeconfig_flag) {
  if (!kubeconfig_flag.empty()) {
    return LoadKubeconfig(kubeconfig_flag);
  }
  if (auto c = InClusterConfig(); c.has_value()) {
    return c;
  }
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string first = env;
    first = first.substr(0, first.find(':'));
    return LoadKubeconfig(first);
  }
  if (const char* home = std::getenv("HOME"); home != nullptr) {
    return LoadKubeconfig(std::string(home) + "/.kube/config");
  }
  return Err(FailedPreconditionError("no kubeconfig: pass --kubeconfig or set KUBECONFIG"));
}

}  // namespace wva::kube
