// The running configuration as an immutable snapshot that changes while vigil runs: cameras are
// added, edited and removed through the API (or by editing the file and sending SIGHUP) and the
// recorder picks the change up without a restart. Readers take current() and keep the snapshot
// for as long as they need it; a change publishes a new one and tells the subscribers.
//
// The camera list, [retention], [events], [mqtt], [[webhook]] and disk_low_space change at run
// time. Other settings (data_dir, [http], [ingest], ...)
// take effect at the next start: a reload that changes them keeps the running values and says
// so in the log. See docs/design/config.md.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"

namespace vigil {

class ConfigStore {
 public:
  // Reads and validates `file` (throws like load_config). Edits rewrite that file.
  explicit ConfigStore(const std::filesystem::path& file);
  // A fixed configuration that is not backed by a file (tests, tools): edits are refused.
  explicit ConfigStore(Config fixed);

  std::shared_ptr<const Config> current() const;

  // Called after every change that was written and published, in order, on the thread that made
  // it, with the configuration before and after. Subscribe before the first change.
  using Listener = std::function<void(const Config& before, const Config& after)>;
  void subscribe(Listener listener);

  // Camera edits, as the API makes them. `fields` is a JSON object of [[camera]] keys
  // (docs/config.md); a null value removes a key (back to its default). The whole resulting file
  // is validated like at start; it is then written durably (the previous version is kept as
  // <file>.prev) and published. Throws Error: kInvalidArgument (the result would be invalid:
  // nothing written), kNotFound / kAlreadyExists (the camera id), kFailedPrecondition (the file
  // was changed by something else since vigil read it: reload first; or there is no file).
  std::shared_ptr<const Config> add_camera(const nlohmann::json& fields);
  std::shared_ptr<const Config> update_camera(const std::string& id, const nlohmann::json& fields);
  std::shared_ptr<const Config> remove_camera(const std::string& id);
  // Sets till `id`'s clock_offset_ms (the transactions page's "this happened here"), written and
  // published like camera edits; it applies to the transactions stored from then on. Only the
  // offset changes at run time: the rest of a [[till]] applies at the next start (its printer
  // tap listens from start). Throws the same errors (kNotFound: no such till).
  std::shared_ptr<const Config> set_till_clock_offset(const std::string& id,
                                                      std::chrono::milliseconds offset);

  // Edits of the global tables, as the settings screens make them, written as one change:
  // `replace` sets whole top-level entries ({"mqtt": {...}} or {"mqtt": null} to remove it,
  // {"webhook": [...]}; an empty list removes it), `merge` merges keys into tables
  // ({"retention": {"max_days": 30}}, {"events": {...}}; a null value removes that key). Only
  // retention, events, mqtt and webhook can be named (kInvalidArgument otherwise). Validated,
  // written and published like camera edits; throws the same errors.
  std::shared_ptr<const Config> edit_globals(const nlohmann::json& replace,
                                             const nlohmann::json& merge, const std::string& what);
  // The configuration edit_globals() would make, validated but neither written nor published
  // (to try settings before saving them, e.g. "send test").
  Config preview_globals(const nlohmann::json& replace, const nlohmann::json& merge) const;

  // Re-reads the file (SIGHUP). Throws like load_config; the current configuration stays then.
  std::shared_ptr<const Config> reload();

 private:
  struct Document;
  std::shared_ptr<const Config> edit(const std::string& what,
                                     const std::function<void(Document&)>& change);
  // The running configuration with what may change at run time taken from `parsed`.
  std::shared_ptr<const Config> adopt(const Config& parsed, const std::string& what);
  void publish(std::shared_ptr<const Config> next);

  const std::filesystem::path file_;  // empty for a fixed configuration
  mutable std::mutex edit_mu_;        // one change at a time, listeners called in order
  std::string text_;                  // the file as vigil last read or wrote it
  std::vector<Listener> listeners_;
  mutable std::mutex mu_;
  std::shared_ptr<const Config> current_;
};

}  // namespace vigil
