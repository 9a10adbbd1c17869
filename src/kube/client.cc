#include "kube/client.h"

#include <thread>

#include "base/log.h"
#include "http/curl_client.h"
#include "http/line_framer.h"

namespace wva::kube {
namespace {
const log::Logger& Log() {
  static const log::Logger logger("kube.client");
  return logger;
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string q;
  for (const auto& [k, v] : kv) {
    if (v.empty()) {
      continue;
    }
    q += q.empty() ? "?" : "&";
    q += k + "=" + http::UrlEncode(v);
  }
  return q;
}

}  // namespace

namespace resources {
const Resource kVariantAutoscalings{"llmd.ai", "v1alpha1", "variantautoscalings", true};
const Resource kDeployments{"apps", "v1", "deployments", true};
const Resource kReplicaSets{"apps", "v1", "replicasets", true};
const Resource kPods{"", "v1", "pods", true};
const Resource kConfigMaps{"", "v1", "configmaps", true};
const Resource kLeases{"coordination.k8s.io", "v1", "leases", true};
const Resource kEvents{"", "v1", "events", true};
const Resource kNamespaces{"", "v1", "namespaces", false};
const Resource kNodes{"", "v1", "nodes", false};
const Resource kHorizontalPodAutoscalers{"autoscaling", "v2", "horizontalpodautoscalers", true};
const Resource kScaledObjects{"keda.sh", "v1alpha1", "scaledobjects", true};
}  // namespace resources

std::string Resource::Path(std::string_view ns, std::string_view name,
                           std::string_view subresource) const {
  // Appends piecewise: GCC 12 -O3 reports a false -Wrestrict on "/" + std::string(...).
  std::string p;
  p.reserve(64);
  p.append(group.empty() ? "/api/" : "/apis/");
  if (!group.empty()) {
    p.append(group).append("/");
  }
  p.append(version);
  if (namespaced && !ns.empty()) {
    p.append("/namespaces/").append(ns);
  }
  p.append("/").append(plural);
  if (!name.empty()) {
    p.append("/").append(name);
  }
  if (!subresource.empty()) {
    p.append("/").append(subresource);
  }
  return p;
}

std::string_view EventTypeName(EventType t) {
  switch (t) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
    case EventType::kBookmark:
      return "BOOKMARK";
    case EventType::kError:
      return "ERROR";
  }
  return "?";
}

StatusOr<WatchEvent> DecodeWatchEvent(std::string_view line) {
  Object j = Object::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Err(DataLossError("watch event is not a JSON object"));
  }
  auto t = j.find("type");
  auto o = j.find("object");
  if (t == j.end() || !t->is_string() || o == j.end() || !o->is_object()) {
    return Err(DataLossError("watch event lacks type or object"));
  }
  const std::string& ts = t->get_ref<const std::string&>();
  WatchEvent ev;
  if (ts == "ADDED") {
    ev.type = EventType::kAdded;
  } else if (ts == "MODIFIED") {
    ev.type = EventType::kModified;
  } else if (ts == "DELETED") {
    ev.type = EventType::kDeleted;
  } else if (ts == "BOOKMARK") {
    ev.type = EventType::kBookmark;
  } else if (ts == "ERROR") {
    ev.type = EventType::kError;
  } else {
    return Err(DataLossError("unknown watch event type " + ts.substr(0, 32)));
  }
  if (ev.type != EventType::kError) {
    auto md = o->find("metadata");
    if (md == o->end() || !md->is_object()) {
      return Err(DataLossError("watch event object has no metadata"));
    }
  }
  ev.object = std::make_shared<const Object>(std::move(*o));
  return ev;
}

namespace {
// The Status code for an HTTP status; `reason` is the metav1.Status reason.
Status StatusOfHttpCode(int code, const std::string& reason, std::string text) {
  switch (code) {
    case 400:
    case 415:
    case 422:
      return InvalidArgumentError(std::move(text));
    case 401:
      return UnauthenticatedError(std::move(text));
    case 403:
      return PermissionDeniedError(std::move(text));
    case 404:
      return NotFoundError(std::move(text));
    case 405:
    case 501:
      return UnimplementedError(std::move(text));
    case 409:
      return reason == "AlreadyExists" ? AlreadyExistsError(std::move(text))
                                       : AbortedError(std::move(text));
    case 410:
      return AbortedError(std::move(text));
    case 429:
      return ResourceExhaustedError(std::move(text));
    case 500:
      return InternalError(std::move(text));
    case 504:
      return DeadlineExceededError(std::move(text));
    default:
      if (code >= 500 || code == 0) {
        return UnavailableError(std::move(text));
      }
      return InvalidArgumentError(std::move(text));
  }
}
}  // namespace

Status StatusFromHttp(int code, std::string_view body) {
  std::string reason, message;
  Object j = Object::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (auto r = j.find("reason"); r != j.end() && r->is_string()) {
      reason = *r;
    }
    if (auto m = j.find("message"); m != j.end() && m->is_string()) {
      message = *m;
    }
    if (auto c = j.find("code"); c != j.end() && c->is_number_integer() && code == 200) {
      code = c->get<int>();  // an ERROR watch event carries its code in the Status
    }
  }
  if (message.empty()) {
    message = std::string(body.substr(0, 256));
  }
  std::string text =
      std::to_string(code) + " " + (reason.empty() ? "Error" : reason) + ": " + message;
  // The HTTP status travels as the typed detail: callers may add context to the message.
  return StatusOfHttpCode(code, reason, std::move(text)).WithDetail(code);
}

bool IsNotFound(const Status& s) { return s.code() == StatusCode::kNotFound; }
bool IsAlreadyExists(const Status& s) { return s.code() == StatusCode::kAlreadyExists; }
bool IsConflict(const Status& s) {
  return s.code() == StatusCode::kAborted && HttpCodeOf(s) == kHttpConflict;
}
bool IsGone(const Status& s) {
  return s.code() == StatusCode::kAborted && HttpCodeOf(s) == kHttpGone;
}

int HttpCodeOf(const Status& s) { return s.detail() >= 100 && s.detail() <= 599 ? s.detail() : 0; }

bool IsServerUnreachable(const Status& s) {
  if (s.ok() || HttpCodeOf(s) != 0) {
    return false;
  }
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
}

namespace {
// Never throws, whatever the types on the wire: non-strings read as "".
std::string MetaString(const Object& obj, const char* key) {
  if (!obj.is_object()) {
    return "";
  }
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) {
    return "";
  }
  auto v = md->find(key);
  return (v != md->end() && v->is_string()) ? v->get<std::string>() : std::string();
}
}  // namespace

std::string ObjectKey(std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  if (!ns.empty()) {
    key.append(ns).push_back('/');
  }
  key.append(name);
  return key;
}

std::string KeyOf(const Object& obj) {
  return ObjectKey(MetaString(obj, "namespace"), MetaString(obj, "name"));
}

std::string ResourceVersionOf(const Object& obj) { return MetaString(obj, "resourceVersion"); }

Client::Client(std::string server, std::shared_ptr<http::HttpClient> transport,
               ClientOptions options)
    : server_(std::move(server)), http_(std::move(transport)), options_(std::move(options)) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
}

StatusOr<std::unique_ptr<Client>> Client::Create(const RestConfig& config, const Clock* clock,
                                                 ClientOptions options) {
  std::shared_ptr<TokenSource> tokens;
  if (!config.bearer_token.empty() || !config.bearer_token_file.empty()) {
    tokens = std::make_shared<TokenSource>(config.bearer_token, config.bearer_token_file, clock);
  }
  WVA_ASSIGN_OR_RETURN(auto transport,
                       http::CurlHttpClient::Create(config.ToClientOptions(tokens)));
  return std::make_unique<Client>(
      config.server, std::shared_ptr<http::HttpClient>(std::move(transport)), std::move(options));
}

StatusOr<http::Response> Client::Send(http::Request req) {
  req.headers.emplace_back("Accept", "application/json");
  for (int attempt = 0;; ++attempt) {
    ++requests_;
    WVA_ASSIGN_OR_RETURN(http::Response resp, http_->Do(req));
    if (resp.status != 429 || attempt >= options_.max_429_retries) {
      return resp;
    }
    // Throttled: wait as told (Retry-After seconds; default 1 s), capped.
    auto wait = std::chrono::seconds(1);
    if (auto ra = resp.Header("retry-after")) {
      try {
        wait = std::chrono::seconds(std::max(0, std::stoi(*ra)));
      } catch (...) {
      }
    }
    wait = std::min(wait, options_.max_retry_after);
    ++throttled_;
    Log().Info("throttled by API server, retrying", {{"method", req.method},
                                                     {"url", req.url},
                                                     {"retry_after_s", wait.count()},
                                                     {"attempt", attempt + 1}});
    options_.sleep(wait);
  }
}

StatusOr<ObjectPtr> Client::SendForObject(http::Request req) {
  WVA_ASSIGN_OR_RETURN(http::Response resp, Send(std::move(req)));
  if (resp.status < 200 || resp.status >= 300) {
    return Err(StatusFromHttp(resp.status, resp.body));
  }
  Object j = Object::parse(resp.body, nullptr, false);
  if (j.is_discarded()) {
    return Err(DataLossError("response is not JSON"));
  }
  return std::make_shared<const Object>(std::move(j));
}

StatusOr<ObjectPtr> Client::Get(const Resource& r, std::string_view ns, std::string_view name,
                                std::string_view subresource) {
  return SendForObject(http::Request::Get(server_ + r.Path(ns, name, subresource)));
}

StatusOr<ListResult> Client::List(const Resource& r, std::string_view ns, const ListOptions& o) {
  std::string url = server_ + r.Path(ns) +
                    Query({{"labelSelector", o.label_selector},
                           {"fieldSelector", o.field_selector},
                           {"resourceVersion", o.resource_version},
                           {"limit", o.limit > 0 ? std::to_string(o.limit) : ""},
                           {"continue", o.continue_token}});
  auto req = http::Request::Get(url);
  req.timeout = std::chrono::seconds(60);
  WVA_ASSIGN_OR_RETURN(http::Response resp, Send(std::move(req)));
  if (resp.status < 200 || resp.status >= 300) {
    return Err(StatusFromHttp(resp.status, resp.body));
  }
  Object j = Object::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Err(DataLossError("list response is not JSON"));
  }
  ListResult out;
  out.resource_version = MetaString(j, "resourceVersion");
  out.continue_token = MetaString(j, "continue");
  auto items = j.find("items");
  if (items != j.end() && items->is_array()) {
    out.items.reserve(items->size());
    for (auto& it : *items) {
      out.items.push_back(
          std::make_shared<const Object>(o.transform ? o.transform(std::move(it)) : std::move(it)));
    }
  }
  return out;
}

StatusOr<ListResult> Client::ListAll(const Resource& r, std::string_view ns, ListOptions o) {
  ListResult all;
  while (true) {
    auto page = List(r, ns, o);
    if (!page.has_value()) {
      // An expired continue token (410) means the snapshot is gone: start over, once more.
      if (IsGone(page.error()) && !o.continue_token.empty()) {
        o.continue_token.clear();
        all.items.clear();
        continue;
      }
      return Err(page.error());
    }
    for (auto& it : page->items) {
      all.items.push_back(std::move(it));
    }
    all.resource_version = page->resource_version;
    if (page->continue_token.empty()) {
      break;
    }
    o.continue_token = page->continue_token;
    o.resource_version.clear();  // continue implies the snapshot
  }
  return all;
}

Status Client::Watch(const Resource& r, std::string_view ns, const WatchOptions& o,
                     const std::function<bool(const WatchEvent&)>& on_event,
                     const http::CancelToken* cancel) {
  std::string url =
      server_ + r.Path(ns) +
      Query({{"watch", "1"},
             {"resourceVersion", o.resource_version},
             {"labelSelector", o.label_selector},
             {"fieldSelector", o.field_selector},
             {"allowWatchBookmarks", o.allow_bookmarks ? "true" : ""},
             {"timeoutSeconds", o.timeout_seconds > 0 ? std::to_string(o.timeout_seconds) : ""}});
  auto req = http::Request::Get(url);
  req.headers.emplace_back("Accept", "application/json");
  // The server ends the watch at timeoutSeconds; the client-side limit is only a backstop.
  req.timeout = o.timeout_seconds > 0 ? std::chrono::seconds(o.timeout_seconds + 30)
                                      : std::chrono::milliseconds(0);
  ++requests_;
  http::LineFramer framer;
  Status stream_error;  // set when we stop the stream ourselves
  auto on_chunk = [&](std::string_view chunk) {
    Status fs = framer.Feed(chunk, [&](std::string_view line) {
      auto ev = DecodeWatchEvent(line);
      if (!ev.has_value()) {
        ++dropped_lines_;
        Log().Warn("malformed watch event; restarting watch",
                   {{"resource", r.plural}, {"error", ev.error().message()}});
        stream_error = ev.error();
        return false;
      }
      if (ev->type == EventType::kError) {
        stream_error = StatusFromHttp(200, ev->object->dump());
        return false;
      }
      if (!on_event(*ev)) {
        stream_error = CancelledError("watch stopped by handler");
        return false;
      }
      return true;
    });
    if (!fs.ok()) {
      stream_error = DataLossError(fs.message());
      return false;
    }
    return stream_error.ok();
  };
  auto resp = http_->Stream(req, on_chunk, cancel);
  if (!stream_error.ok()) {
    return stream_error.WithPrefix("watch " + r.plural);
  }
  if (framer.pending() > 0) {
    ++dropped_lines_;
    Log().Warn("watch stream ended inside an event line; it is dropped",
               {{"resource", r.plural}, {"bytes", framer.pending()}});
  }
  if (!resp.has_value()) {
    if (resp.error().code() == StatusCode::kDeadlineExceeded) {
      return OkStatus();
    }
    return resp.error();
  }
  if (resp->status < 200 || resp->status >= 300) {
    return StatusFromHttp(resp->status, resp->body).WithPrefix("watch " + r.plural);
  }
  return OkStatus();
}

StatusOr<ObjectPtr> Client::Create(const Resource& r, std::string_view ns, const Object& obj) {
  auto req = http::Request::With("POST", server_ + r.Path(ns), obj.dump());
  req.headers.emplace_back("Content-Type", "application/json");
  return SendForObject(std::move(req));
}

StatusOr<ObjectPtr> Client::Update(const Resource& r, std::string_view ns, const Object& obj,
                                   std::string_view subresource) {
  std::string name = MetaString(obj, "name");
  if (name.empty()) {
    return Err(InvalidArgumentError("update: object has no metadata.name"));
  }
  auto req = http::Request::With("PUT", server_ + r.Path(ns, name, subresource), obj.dump());
  req.headers.emplace_back("Content-Type", "application/json");
  return SendForObject(std::move(req));
}

StatusOr<ObjectPtr> Client::MergePatch(const Resource& r, std::string_view ns,
                                       std::string_view name, const Object& patch,
                                       std::string_view subresource) {
  auto req = http::Request::With("PATCH", server_ + r.Path(ns, name, subresource), patch.dump());
  req.headers.emplace_back("Content-Type", "application/merge-patch+json");
  return SendForObject(std::move(req));
}

Status Client::Delete(const Resource& r, std::string_view ns, std::string_view name) {
  auto req = http::Request::With("DELETE", server_ + r.Path(ns, name), "");
  WVA_ASSIGN_OR_RETURN(http::Response resp, Send(std::move(req)));
  if (resp.status < 200 || resp.status >= 300) {
    return StatusFromHttp(resp.status, resp.body);
  }
  return OkStatus();
}

StatusOr<ObjectPtr> Client::Raw(std::string method, std::string path, std::string body) {
  auto req = http::Request::With(std::move(method), server_ + path, std::move(body));
  if (!req.body.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
  }
  return SendForObject(std::move(req));
}

}  // namespace wva::kube
