#include "kube/informer.h"

#include <unordered_set>

#include "base/log.h"

namespace wva::kube {
namespace {
const log::Logger& Log() {
  static const log::Logger logger("kube.informer");
  return logger;
}
}  // namespace

// ---- Informer -------------------------------------------------------------------------------

InformerBase::InformerBase(Client* client, Resource resource, std::string ns,
                           ReflectorOptions options)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      options_(std::move(options)),
      rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {}

InformerBase::~InformerBase() { Stop(); }

void InformerBase::Start() {
  MutexLock lock(&mu_);
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void InformerBase::RequestStop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    if (cancel_ != nullptr) {
      cancel_->Cancel();
    }
  }
  cv_.NotifyAll();
}

void InformerBase::Stop() {
  RequestStop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool InformerBase::HasSynced() const {
  MutexLock lock(&mu_);
  return synced_;
}

bool InformerBase::WaitForSync(std::chrono::milliseconds timeout) const {
  // Real time on purpose: this bounds a start-up wait; no decision reads it.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (!synced_ && !stopping_) {
    if (!cv_.WaitUntil(&mu_, deadline)) {
      break;
    }
  }
  return synced_;
}

std::string InformerBase::last_resource_version() const {
  MutexLock lock(&mu_);
  return rv_;
}

bool InformerBase::WaitFor(std::chrono::milliseconds d) {
  if (options_.sleep) {
    if (!options_.sleep(d)) {
      return false;
    }
    MutexLock lock(&mu_);
    return !stopping_;
  }
  const auto deadline = std::chrono::steady_clock::now() + d;
  MutexLock lock(&mu_);
  while (!stopping_) {
    if (!cv_.WaitUntil(&mu_, deadline)) {
      break;
    }
  }
  return !stopping_;
}

bool InformerBase::BackOffAfter(const char* what, const Status& s, Backoff& answered,
                                Backoff& unreachable) {
  std::chrono::milliseconds d;
  if (IsServerUnreachable(s)) {
    // Whatever the server said before it went away says nothing about it when it is back.
    answered.Reset();
    d = unreachable.Next();
  } else {
    unreachable.Reset();
    d = answered.Next();
  }
  // One warning per failure streak; an outage would otherwise log every few seconds.
  const bool first = failure_streak_++ == 0;
  const nlohmann::json fields = {{"resource", resource_.plural},
                                 {"op", what},
                                 {"error", s.ToString()},
                                 {"backoff_ms", d.count()},
                                 {"failures", failure_streak_}};
  if (first) {
    Log().Warn("API request failed; retrying after backoff", fields);
  } else {
    Log().Debug("API request failed again; retrying after backoff", fields);
  }
  return WaitFor(d);
}

void InformerBase::Recovered() {
  if (failure_streak_ == 0) {
    return;
  }
  Log().Info("API requests work again",
             {{"resource", resource_.plural}, {"failures", failure_streak_}});
  failure_streak_ = 0;
}

Status InformerBase::ListAndReplace() {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  lo.transform = options_.transform;
  ++lists_;
  WVA_ASSIGN_OR_RETURN(ListResult list, client_->ListAll(resource_, ns_, lo));
  // Reconcile with the store: deletes for keys gone, adds/updates for the rest (an update only
  // when the resourceVersion changed, so a re-list after 410 duplicates nothing).
  std::unordered_set<std::string> seen;
  seen.reserve(list.items.size());
  for (const auto& obj : list.items) {
    seen.insert(KeyOf(*obj));
  }
  for (const auto& key : CachedKeys()) {
    if (seen.count(key) == 0) {
      Forget(key);
    }
  }
  for (auto& obj : list.items) {
    if (CachedVersion(KeyOf(*obj)) == ResourceVersionOf(*obj)) {
      continue;
    }
    Deliver(EventType::kModified, obj);
    obj.reset();  // a typed cache keeps its own item: the object can go now
  }
  {
    MutexLock lock(&mu_);
    rv_ = list.resource_version;
    synced_ = true;
  }
  cv_.NotifyAll();
  Log().Debug("listed", {{"resource", resource_.plural},
                         {"items", list.items.size()},
                         {"resourceVersion", list.resource_version}});
  return OkStatus();
}

void InformerBase::Run() {
  const uint64_t seed = options_.seed != 0 ? options_.seed : rng_();
  Backoff answered(options_.backoff_initial, options_.backoff_max, 2.0, 0.0);
  // Jittered so the informers of one process do not retry a returning server in lockstep.
  Backoff unreachable(options_.backoff_initial,
                      std::min(options_.unreachable_backoff_max, options_.backoff_max), 2.0, 0.2,
                      seed);
  bool need_list = true;
  while (true) {
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
    }
    if (need_list) {
      Status s = ListAndReplace();
      if (!s.ok()) {
        if (!BackOffAfter("list", s, answered, unreachable)) {
          return;
        }
        continue;
      }
      Recovered();
      need_list = false;
    }
    if (options_.before_watch) {
      options_.before_watch();
    }
    WatchOptions wo;
    wo.label_selector = options_.label_selector;
    wo.field_selector = options_.field_selector;
    wo.allow_bookmarks = true;
    std::uniform_int_distribution<int> dist(options_.min_watch_timeout_s,
                                            options_.max_watch_timeout_s);
    wo.timeout_seconds = dist(rng_);
    http::CancelToken cancel;
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
      wo.resource_version = rv_;
      cancel_ = &cancel;
    }
    ++watches_;
    int64_t events = 0;
    Status s = client_->Watch(
        resource_, ns_, wo,
        [&](const WatchEvent& ev) {
          if (events++ == 0) {
            Recovered();
          }
          std::string rv = ResourceVersionOf(*ev.object);
          if (ev.type != EventType::kBookmark) {
            Deliver(ev.type, options_.transform ? std::make_shared<const Object>(
                                                      options_.transform(Object(*ev.object)))
                                                : ev.object);
          }
          if (!rv.empty()) {
            MutexLock lock(&mu_);
            rv_ = rv;
          }
          return true;
        },
        &cancel);
    {
      MutexLock lock(&mu_);
      cancel_ = nullptr;
      if (stopping_) {
        return;
      }
    }
    if (s.ok()) {
      Recovered();
      answered.Reset();
      unreachable.Reset();
      continue;  // server timeout: re-watch from the last resourceVersion
    }
    if (IsGone(s)) {
      ++gone_;
      Log().Info("watch resourceVersion expired; re-listing",
                 {{"resource", resource_.plural}, {"error", s.message()}});
      need_list = true;
      answered.Reset();
      unreachable.Reset();
      continue;
    }
    // A stream that delivered events was healthy until it broke: retry from a fresh backoff.
    // (A malformed stream, kDataLoss, resumes from the last good resourceVersion the same way.)
    if (events > 0) {
      answered.Reset();
      unreachable.Reset();
    }
    if (!BackOffAfter("watch", s, answered, unreachable)) {
      return;
    }
  }
}

}  // namespace wva::kube
