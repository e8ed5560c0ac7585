#include "core/supervision.h"

#include <cxxabi.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <tuple>
#include <typeinfo>

#include "core/backoff.h"
#include "core/error.h"

namespace vigil {
namespace {

std::string demangle(const char* name) {
  int status = 0;
  char* s = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && s ? s : name;
  std::free(s);
  return out;
}

// Where a failure is dated when a component has no registry (and so no clock of the process).
const SystemClock kSystemClock;

}  // namespace

std::string thread_name() {
  char buf[16] = {};
  if (pthread_getname_np(pthread_self(), buf, sizeof buf) != 0) return "";
  return buf;
}

std::string describe_current_exception() {
  try {
    throw;
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    std::string what = demangle(typeid(e).name()) + ": " + e.what();
    // cv::Exception's message ends with a newline; a log line should not.
    while (!what.empty() && std::isspace(static_cast<unsigned char>(what.back()))) what.pop_back();
    return what;
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return "an exception of type " + (t ? demangle(t->name()) : std::string("unknown"));
  }
}

struct ComponentRegistry::Entry {
  explicit Entry(ComponentId i) : id(std::move(i)) {}
  const ComponentId id;
  mutable std::mutex mu;  // guards what follows
  bool restarting = false;
  int64_t failures = 0;
  std::string last_error;
  std::optional<WallTime> last_failure_at;
  std::optional<SteadyTime> last_failure_steady;

  ComponentStatus status(SteadyTime now) const {
    std::lock_guard lock(mu);
    ComponentStatus s;
    s.id = id;
    s.restarting = restarting;
    s.failures = failures;
    s.last_error = last_error;
    s.last_failure_at = last_failure_at;
    s.failed = restarting ||
               (last_failure_steady && now - *last_failure_steady < ComponentRegistry::kFailedFor);
    return s;
  }
};

std::vector<ComponentStatus> ComponentRegistry::snapshot() const {
  const SteadyTime now = clock_.steady_now();
  std::vector<ComponentStatus> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) out.push_back(e->status(now));
  }
  std::sort(out.begin(), out.end(), [](const ComponentStatus& a, const ComponentStatus& b) {
    return std::tie(a.id.component, a.id.camera, a.id.target) <
           std::tie(b.id.component, b.id.camera, b.id.target);
  });
  return out;
}

Component::Component(ComponentRegistry* registry, ComponentId id)
    : registry_(registry), entry_(std::make_shared<ComponentRegistry::Entry>(std::move(id))) {
  if (!registry_) return;
  std::lock_guard lock(registry_->mu_);
  registry_->entries_.push_back(entry_);
}

Component::~Component() {
  if (!registry_) return;
  std::lock_guard lock(registry_->mu_);
  registry_->entries_.remove(entry_);
}

std::string Component::context() const {
  const ComponentId& id = entry_->id;
  std::string out = id.component;
  if (!id.camera.empty()) out += " (camera " + id.camera + ")";
  if (!id.target.empty()) out += " (" + id.target + ")";
  return out;
}

const Clock& Component::clock() const { return registry_ ? registry_->clock_ : kSystemClock; }

void Component::failed(const std::string& what,
                       std::optional<std::chrono::milliseconds> restart_in) {
  const WallTime wall = clock().wall_now();
  const SteadyTime steady = clock().steady_now();
  {
    std::lock_guard lock(entry_->mu);
    ++entry_->failures;
    entry_->last_error = what;
    entry_->last_failure_at = wall;
    entry_->last_failure_steady = steady;
    entry_->restarting = restart_in.has_value();
  }
  if (restart_in) {
    spdlog::error("{} failed: {}; restarting in {:.1f} s", context(), what,
                  static_cast<double>(restart_in->count()) / 1000.0);
  } else {
    spdlog::error("{} failed: {}", context(), what);
  }
}

void Component::restarted() {
  std::lock_guard lock(entry_->mu);
  entry_->restarting = false;
}

void Component::failed_current() noexcept {
  try {
    failed(describe_current_exception());
  } catch (...) {
    // Out of memory while recording a failure: nothing more can be said.
  }
}

SupervisedThread::SupervisedThread(ComponentRegistry* registry, ComponentId id,
                                   std::string thread_name, RestartPolicy policy)
    : component_(registry, std::move(id)), name_(std::move(thread_name)), policy_(policy) {}

SupervisedThread::~SupervisedThread() { stop(); }

void SupervisedThread::start(std::function<void()> body,
                             std::function<void(const std::string& what)> on_failure,
                             int threads) {
  const uint64_t seed = std::hash<std::string>{}(component_.context()) ^
                        static_cast<uint64_t>(
                            std::chrono::steady_clock::now().time_since_epoch().count());
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, body, on_failure, seed, i] {
      run(body, on_failure, seed + static_cast<uint64_t>(i));
    });
  }
}

void SupervisedThread::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool SupervisedThread::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void SupervisedThread::run(const std::function<void()>& body,
                           const std::function<void(const std::string&)>& on_failure,
                           uint64_t seed) {
  set_thread_name(name_);
  Backoff backoff(policy_.initial, policy_.max, seed);
  for (;;) {
    const auto began = std::chrono::steady_clock::now();
    std::string what;
    try {
      body();
      return;  // the component is stopping
    } catch (...) {
      what = describe_current_exception();
    }
    if (std::chrono::steady_clock::now() - began > policy_.healthy_after) backoff.reset();
    const auto delay = backoff.next();
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        // Failing on the way out: worth a line, not a restart.
        spdlog::warn("{} failed while stopping: {}", component_.context(), what);
        return;
      }
    }
    component_.failed(what, delay);
    if (on_failure) component_.contain([&] { on_failure(what); });
    if (!wait_for(delay)) return;
    spdlog::info("{}: restarted", component_.context());
    component_.restarted();
  }
}

}  // namespace vigil
