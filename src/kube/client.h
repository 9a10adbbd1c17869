// Client: a thin Kubernetes REST client with client-go's semantics (not its code). Objects are
// nlohmann::json held as shared_ptr<const json>, so informer caches and callers share snapshots
// without copies. Errors from HTTP and from the server's `Status` body map to our StatusCode:
//   400/422 -> kInvalidArgument   401 -> kUnauthenticated   403 -> kPermissionDenied
//   404 -> kNotFound   409 AlreadyExists -> kAlreadyExists, other 409 (conflict) -> kAborted
//   410 (expired resourceVersion) -> kAborted   429 -> retried honouring Retry-After, then
//   kResourceExhausted   500 -> kInternal   502/503 -> kUnavailable   504 -> kDeadlineExceeded
// The HTTP status is kept as the Status's typed detail (Status::detail()), which IsConflict(),
// IsGone() and HttpCodeOf() read: adding context with WithPrefix() never changes what they say.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "http/client.h"
#include "kube/rest_config.h"

namespace wva::kube {

using Object = nlohmann::json;
using ObjectPtr = std::shared_ptr<const Object>;

// One API resource type: where it lives in the REST tree.
struct Resource {
  std::string group;  // "" = core
  std::string version;
  std::string plural;
  bool namespaced = true;
  // "/api/v1/namespaces/ns/pods/name/status" (ns/name/subresource optional).
  std::string Path(std::string_view ns = "", std::string_view name = "",
                   std::string_view subresource = "") const;
};

namespace resources {
extern const Resource kVariantAutoscalings;
extern const Resource kDeployments;
extern const Resource kReplicaSets;
extern const Resource kPods;
extern const Resource kConfigMaps;
extern const Resource kLeases;
extern const Resource kEvents;
extern const Resource kNamespaces;
extern const Resource kNodes;
extern const Resource kHorizontalPodAutoscalers;  // autoscaling/v2
extern const Resource kScaledObjects;             // keda.sh/v1alpha1 (KEDA's CRD, may be absent)
}  // namespace resources

// Projects an object as it arrives (a list page item or a watch event) to what its consumer
// reads, so caches hold small objects: see ReflectorOptions::transform.
using Transform = std::function<Object(Object&& full)>;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;
  int64_t limit = 0;
  std::string continue_token;
  // Applied to each item as its page is parsed (null = keep whole objects): a paged list of
  // large objects never holds more than one page of them whole.
  Transform transform;
};

struct ListResult {
  std::vector<ObjectPtr> items;
  std::string resource_version;
  std::string continue_token;
};

struct WatchOptions {
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
  int timeout_seconds = 0;  // server-side timeout; 0 = server default
  bool allow_bookmarks = true;
};

enum class EventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view EventTypeName(EventType t);

struct WatchEvent {
  EventType type = EventType::kAdded;
  ObjectPtr object;  // for kError: the metav1.Status
};

// Decodes one NDJSON watch line {"type": ..., "object": {...}}. Never throws.
[[nodiscard]] StatusOr<WatchEvent> DecodeWatchEvent(std::string_view line);

inline constexpr int kHttpConflict = 409;
inline constexpr int kHttpGone = 410;

// Maps an HTTP status code and (optional) metav1.Status body to our Status (detail = the code).
Status StatusFromHttp(int http_status, std::string_view body);
bool IsNotFound(const Status& s);
bool IsAlreadyExists(const Status& s);
bool IsConflict(const Status& s);  // 409 other than AlreadyExists
bool IsGone(const Status& s);      // 410: resourceVersion too old -> re-list
// The HTTP status code an error came with (its typed detail), 0 when the server gave no answer at
// all (transport failure: connection refused or reset, timeout, TLS handshake).
int HttpCodeOf(const Status& s);
// True when the API server did not answer: a transport failure, not an HTTP error status.
bool IsServerUnreachable(const Status& s);

struct ClientOptions {
  int max_429_retries = 5;
  std::chrono::seconds max_retry_after{30};
  // Sleeps between 429 retries; injectable so tests need not wait.
  std::function<void(std::chrono::milliseconds)> sleep;
};

class Client {
 public:
  Client(std::string server, std::shared_ptr<http::HttpClient> transport,
         ClientOptions options = {});
  // A client on libcurl from a RestConfig; `clock` drives token-file reloads.
  [[nodiscard]] static StatusOr<std::unique_ptr<Client>> Create(const RestConfig& config,
                                                                const Clock* clock,
                                                                ClientOptions options = {});

  StatusOr<ObjectPtr> Get(const Resource& r, std::string_view ns, std::string_view name,
                          std::string_view subresource = "");
  // One page (honours limit/continue).
  StatusOr<ListResult> List(const Resource& r, std::string_view ns, const ListOptions& opts = {});
  // Every page, following `continue` (opts.limit = page size).
  StatusOr<ListResult> ListAll(const Resource& r, std::string_view ns, ListOptions opts = {});
  // Streams events to `on_event` (return false to stop => kCancelled). Returns OK when the server
  // ends the watch normally, kAborted/IsGone on 410 (HTTP or ERROR event), kDataLoss on a
  // malformed event line, kUnavailable when the connection drops, kCancelled on cancel.
  Status Watch(const Resource& r, std::string_view ns, const WatchOptions& opts,
               const std::function<bool(const WatchEvent&)>& on_event,
               const http::CancelToken* cancel = nullptr);
  StatusOr<ObjectPtr> Create(const Resource& r, std::string_view ns, const Object& obj);
  // PUT; name from obj.metadata.name. subresource "status" updates status only.
  StatusOr<ObjectPtr> Update(const Resource& r, std::string_view ns, const Object& obj,
                             std::string_view subresource = "");
  // application/merge-patch+json (RFC 7386).
  StatusOr<ObjectPtr> MergePatch(const Resource& r, std::string_view ns, std::string_view name,
                                 const Object& patch, std::string_view subresource = "");
  StatusOr<ObjectPtr> PatchStatus(const Resource& r, std::string_view ns, std::string_view name,
                                  const Object& status_patch) {
    return MergePatch(r, ns, name, Object{{"status", status_patch}}, "status");
  }
  Status Delete(const Resource& r, std::string_view ns, std::string_view name);
  StatusOr<ObjectPtr> GetScale(const Resource& r, std::string_view ns, std::string_view name) {
    return Get(r, ns, name, "scale");
  }
  StatusOr<ObjectPtr> SetScale(const Resource& r, std::string_view ns, std::string_view name,
                               int replicas) {
    return MergePatch(r, ns, name, Object{{"spec", {{"replicas", replicas}}}}, "scale");
  }
  // Raw request to `path` (e.g. "/version"); the body of a 2xx answer as JSON.
  StatusOr<ObjectPtr> Raw(std::string method, std::string path, std::string body = "");

  // Counters for the controller's own health metrics.
  int64_t requests() const { return requests_.load(); }
  int64_t throttled_retries() const { return throttled_.load(); }
  int64_t dropped_lines() const { return dropped_lines_.load(); }

 private:
  StatusOr<http::Response> Send(http::Request req);
  StatusOr<ObjectPtr> SendForObject(http::Request req);

  std::string server_;
  std::shared_ptr<http::HttpClient> http_;
  ClientOptions options_;
  std::atomic<int64_t> requests_{0}, throttled_{0}, dropped_lines_{0};
};

// "ns/name" (or "name" for cluster-scoped objects): the store and work-queue key.
// The cache key of an object: "namespace/name", or "name" for a cluster-scoped one. Every
// cache keys by it (typed items too), so that a re-list compares the same keys.
std::string ObjectKey(std::string_view ns, std::string_view name);
std::string KeyOf(const Object& obj);
std::string ResourceVersionOf(const Object& obj);

}  // namespace wva::kube
