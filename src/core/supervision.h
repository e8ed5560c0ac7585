// Supervision: how a failure stays inside its component. Every long-lived thread of vigil runs
// its body under a SupervisedThread, which names the thread (top -H, core dumps, gdb), catches
// whatever escapes the body — vigil::Error, std::filesystem::filesystem_error, std::bad_alloc,
// nlohmann::json's exceptions, cv::Exception, anything — logs it with the component's context
// (component, camera, target), marks the component failed in a ComponentRegistry (status.json,
// `vigil status`, the API, /metrics) and runs the body again after a capped exponential backoff.
// Without it, an exception that leaves a thread is std::terminate, and one camera's analyzer
// would stop every camera's recording. docs/design/threads.md has the list of threads.
//
// A body returns normally only when its component is stopping. Components keep their own stop
// signal (a flag and condition variable, or SupervisedThread::wait_for) and set it before calling
// stop(), which also ends a backoff wait at once and joins.
// Thread-safe. The registry must outlive every Component registered in it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/time.h"

namespace vigil {

// Names the calling thread. Linux keeps 15 bytes: longer names are cut.
void set_thread_name(std::string_view name);
// The calling thread's name ("" when it cannot be read).
std::string thread_name();

// The exception being handled, for a log line or a status field: vigil::Error's message as it
// is, other exceptions with their type ("std::bad_alloc: std::bad_alloc", "cv::Exception: ...").
// Call only inside a catch block.
std::string describe_current_exception();

// Which component, for logs, status and metric labels.
struct ComponentId {
  std::string component;  // "analyzer", "retention", "http-io", ...
  std::string camera;     // the camera it serves; "" for process-wide components
  std::string target;     // e.g. a webhook's URL (redacted); "" when none
};

struct ComponentStatus {
  ComponentId id;
  // Waiting to restart after a failure, or failed less than kFailedFor ago.
  bool failed = false;
  bool restarting = false;  // waiting out its backoff
  int64_t failures = 0;     // since vigil started
  std::string last_error;
  std::optional<WallTime> last_failure_at;
};

class ComponentRegistry {
 public:
  // How long a component reads as failed after its last failure (also when it restarted
  // meanwhile): long enough for a scrape every 15-30 s and `vigil status` every 5 s to see it.
  static constexpr std::chrono::seconds kFailedFor{60};

  explicit ComponentRegistry(const Clock& clock) : clock_(clock) {}
  ComponentRegistry(const ComponentRegistry&) = delete;
  ComponentRegistry& operator=(const ComponentRegistry&) = delete;

  // Every registered component, sorted by component, camera, target.
  std::vector<ComponentStatus> snapshot() const;

 private:
  friend class Component;
  struct Entry;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::list<std::shared_ptr<Entry>> entries_;
};

// One component's entry in a registry, from construction to destruction. Without a registry
// (tests, tools) the entry is private: failures are logged and counted all the same.
class Component {
 public:
  Component(ComponentRegistry* registry, ComponentId id);
  ~Component();
  Component(const Component&) = delete;
  Component& operator=(const Component&) = delete;

  // A failure caught at this component's boundary, logged here at error level. `restart_in`:
  // the component is down and restarts after that long (restarted() says when it did).
  void failed(const std::string& what,
              std::optional<std::chrono::milliseconds> restart_in = std::nullopt);
  void restarted();
  // "analyzer (camera front)", for log lines.
  std::string context() const;

  // Runs `fn`; whatever it throws is logged and counted as a failure of this component and
  // swallowed. Returns whether `fn` completed. For calls into a component from another
  // component's thread (e.g. the analyzer's queueing on a camera's ingest thread).
  template <typename F>
  bool contain(F&& fn) noexcept {
    try {
      fn();
      return true;
    } catch (...) {
      failed_current();
      return false;
    }
  }

 private:
  void failed_current() noexcept;
  const Clock& clock() const;
  ComponentRegistry* registry_;
  std::shared_ptr<ComponentRegistry::Entry> entry_;
};

struct RestartPolicy {
  std::chrono::milliseconds initial{1'000};
  std::chrono::milliseconds max{60'000};
  // A body that ran this long before failing was healthy: the next delay is `initial` again.
  std::chrono::milliseconds healthy_after{30'000};
};

class SupervisedThread {
 public:
  // `thread_name` is cut to 15 bytes (e.g. "ana:<camera>").
  SupervisedThread(ComponentRegistry* registry, ComponentId id, std::string thread_name,
                   RestartPolicy policy = {});
  ~SupervisedThread();  // stop()
  SupervisedThread(const SupervisedThread&) = delete;
  SupervisedThread& operator=(const SupervisedThread&) = delete;

  // Starts `threads` threads, each running `body` until it returns. When it throws, each thread
  // on its own: the failure is logged and recorded, `on_failure` runs with its description (on
  // that thread; for repairing state the body left half-done; what it throws is contained), the
  // backoff is waited out, and `body` runs again. Call once.
  void start(std::function<void()> body,
             std::function<void(const std::string& what)> on_failure = {}, int threads = 1);
  // From now on no restart; a backoff wait and wait_for() end at once; joins. The component
  // must have told its body to return first. Idempotent.
  void stop();
  // For bodies without a stop signal of their own: sleeps up to `d`; false once stop() was
  // called.
  bool wait_for(std::chrono::milliseconds d);

  Component& component() { return component_; }

 private:
  void run(const std::function<void()>& body,
           const std::function<void(const std::string&)>& on_failure, uint64_t seed);

  Component component_;
  const std::string name_;
  const RestartPolicy policy_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vigil
