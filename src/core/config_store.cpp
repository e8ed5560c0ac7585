#include "core/config_store.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "core/durable_file.h"
#include "core/error.h"

namespace vigil {

struct ConfigStore::Document {
  toml::table root;
};

namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::kNotFound, file.string() + ": cannot read the configuration file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void insert_json(toml::table& t, const std::string& key, const nlohmann::json& v);

// A JSON array as a TOML array (of tables, for [[camera.zone]]-like lists).
toml::array json_array(const std::string& key, const nlohmann::json& v) {
  toml::array a;
  for (const auto& item : v) {
    toml::table holder;
    insert_json(holder, key, item);
    if (auto* n = holder.get(key)) a.push_back(*n);
  }
  return a;
}

// Sets t[key] to the TOML value the JSON value stands for; null removes the key.
void insert_json(toml::table& t, const std::string& key, const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      t.erase(key);
      return;
    case nlohmann::json::value_t::string:
      t.insert_or_assign(key, v.get<std::string>());
      return;
    case nlohmann::json::value_t::boolean:
      t.insert_or_assign(key, v.get<bool>());
      return;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      t.insert_or_assign(key, v.get<int64_t>());
      return;
    case nlohmann::json::value_t::number_float:
      t.insert_or_assign(key, v.get<double>());
      return;
    case nlohmann::json::value_t::object: {
      // Merged into an existing table, so a PATCH of {"retention": {"max_days": 3}} keeps the
      // camera's max_bytes.
      toml::table* sub = t.get_as<toml::table>(key);
      if (!sub) {
        t.insert_or_assign(key, toml::table{});
        sub = t.get_as<toml::table>(key);
      }
      for (const auto& [k, item] : v.items()) insert_json(*sub, k, item);
      if (sub->empty()) t.erase(key);
      return;
    }
    case nlohmann::json::value_t::array:
      t.insert_or_assign(key, json_array(key, v));
      return;
    default:
      throw Error(ErrorCode::kInvalidArgument, "field \"" + key + "\" has a value TOML cannot hold");
  }
}

toml::array& camera_array(toml::table& root, const std::string& source) {
  if (!root.contains("camera")) root.insert("camera", toml::array{});
  toml::array* a = root.get_as<toml::array>("camera");
  if (!a) throw Error(ErrorCode::kInvalidArgument, source + ": camera must be [[camera]] tables");
  return *a;
}

// The index of camera `id` in the [[camera]] array, or -1.
int find_camera_table(toml::array& cams, const std::string& id) {
  for (size_t i = 0; i < cams.size(); ++i) {
    const toml::table* t = cams[i].as_table();
    if (t && t->get("id") && t->get("id")->value<std::string>() == id) return static_cast<int>(i);
  }
  return -1;
}

// The top-level keys adopt() takes from a new file; the rest applies at the next start.
constexpr const char* kRunTimeKeys[] = {"camera", "retention", "events", "mqtt", "webhook",
                                        "disk_low_space"};
// Of those, what edit_globals() may touch (cameras have their own edits).
bool global_table(const std::string& key) {
  return key == "retention" || key == "events" || key == "mqtt" || key == "webhook";
}

// Everything but what may change at run time, to tell whether a reload changed more.
std::string fixed_part(const std::string& text, const std::string& source) {
  toml::table root = toml::parse(text, source);
  for (const char* key : kRunTimeKeys) root.erase(key);
  std::ostringstream os;
  os << root;
  return os.str();
}

}  // namespace

ConfigStore::ConfigStore(const std::filesystem::path& file)
    : file_(std::filesystem::absolute(file)), text_(read_text(file_)) {
  current_ = std::make_shared<const Config>(
      parse_config(text_, file.string(), file_.parent_path()));
}

ConfigStore::ConfigStore(Config fixed) : current_(std::make_shared<const Config>(std::move(fixed))) {}

std::shared_ptr<const Config> ConfigStore::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

void ConfigStore::subscribe(Listener listener) {
  std::lock_guard lock(edit_mu_);
  listeners_.push_back(std::move(listener));
}

void ConfigStore::publish(std::shared_ptr<const Config> next) {
  std::shared_ptr<const Config> before;
  {
    std::lock_guard lock(mu_);
    before = current_;
    current_ = next;
  }
  for (const auto& l : listeners_) {
    try {
      l(*before, *next);
    } catch (const std::exception& e) {
      spdlog::error("configuration change: a subscriber failed: {}", e.what());
    }
  }
}

std::shared_ptr<const Config> ConfigStore::adopt(const Config& parsed, const std::string& what) {
  auto next = std::make_shared<Config>(*current());
  next->cameras = parsed.cameras;
  next->default_retention = parsed.default_retention;
  // [events] queue_limit is sized at start (the engine's queue); the rest follows the file.
  const size_t queue_limit = next->events.queue_limit;
  next->events = parsed.events;
  next->events.queue_limit = queue_limit;
  next->mqtt = parsed.mqtt;
  next->webhooks = parsed.webhooks;
  next->disk_low_bytes = parsed.disk_low_bytes;
  // A till's clock offset is set from the UI (set_till_clock_offset); the rest of [[till]]
  // applies at the next start.
  for (TillConfig& t : next->tills) {
    if (const TillConfig* p = parsed.find_till(t.id)) t.clock_offset = p->clock_offset;
  }
  spdlog::info("configuration: {}", what);
  return next;
}

std::shared_ptr<const Config> ConfigStore::edit(const std::string& what,
                                                const std::function<void(Document&)>& change) {
  std::lock_guard lock(edit_mu_);
  if (file_.empty()) {
    throw Error(ErrorCode::kFailedPrecondition, "this configuration is not from a file");
  }
  // Someone (an operator with an editor) may have changed the file since vigil read it; writing
  // over it would silently throw their work away.
  if (read_text(file_) != text_) {
    throw Error(ErrorCode::kFailedPrecondition,
                file_.string() + " was changed outside vigil since it was loaded; reload it "
                                 "(SIGHUP or restart) before changing settings here");
  }
  Document doc{toml::parse(text_, file_.string())};
  change(doc);
  std::ostringstream os;
  os << "# Written by vigil when " << what << ". Comments are not kept: the version before is\n"
     << "# " << file_.filename().string() << ".prev. Reference: docs/config.md.\n\n"
     << doc.root << "\n";
  const std::string text = os.str();
  const Config parsed = parse_config(text, file_.string(), file_.parent_path());

  struct stat st {};
  // The file may hold camera passwords: it keeps the permissions the operator gave it.
  const mode_t mode = ::stat(file_.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0600;
  write_file_durably(file_.string() + ".prev", text_, mode);
  write_file_durably(file_, text, mode);
  text_ = text;
  auto next = adopt(parsed, what);
  publish(next);
  return next;
}

std::shared_ptr<const Config> ConfigStore::add_camera(const nlohmann::json& fields) {
  if (!fields.is_object() || !fields.contains("id") || !fields["id"].is_string()) {
    throw Error(ErrorCode::kInvalidArgument, "a camera needs an \"id\" (a string)");
  }
  const std::string id = fields["id"].get<std::string>();
  return edit("camera " + id + " was added", [&](Document& doc) {
    toml::array& cams = camera_array(doc.root, file_.string());
    if (find_camera_table(cams, id) >= 0) {
      throw Error(ErrorCode::kAlreadyExists, "camera " + id + " exists already");
    }
    toml::table t;
    for (const auto& [k, v] : fields.items()) insert_json(t, k, v);
    cams.push_back(std::move(t));
  });
}

std::shared_ptr<const Config> ConfigStore::update_camera(const std::string& id,
                                                         const nlohmann::json& fields) {
  if (!fields.is_object()) throw Error(ErrorCode::kInvalidArgument, "the fields must be an object");
  if (fields.contains("id") && fields["id"] != id) {
    throw Error(ErrorCode::kInvalidArgument,
                "a camera's id cannot change (its recordings are filed under it); add a new "
                "camera instead");
  }
  return edit("camera " + id + " was changed", [&](Document& doc) {
    toml::array& cams = camera_array(doc.root, file_.string());
    const int i = find_camera_table(cams, id);
    if (i < 0) throw Error(ErrorCode::kNotFound, "no camera " + id);
    toml::table& t = *cams[static_cast<size_t>(i)].as_table();
    for (const auto& [k, v] : fields.items()) insert_json(t, k, v);
  });
}

std::shared_ptr<const Config> ConfigStore::remove_camera(const std::string& id) {
  return edit("camera " + id + " was removed", [&](Document& doc) {
    toml::array& cams = camera_array(doc.root, file_.string());
    const int i = find_camera_table(cams, id);
    if (i < 0) throw Error(ErrorCode::kNotFound, "no camera " + id);
    cams.erase(cams.begin() + i);
    if (cams.empty()) doc.root.erase("camera");
  });
}

std::shared_ptr<const Config> ConfigStore::set_till_clock_offset(const std::string& id,
                                                                 std::chrono::milliseconds offset) {
  return edit("till " + id + "'s clock offset was set", [&](Document& doc) {
    toml::array* tills = doc.root.get_as<toml::array>("till");
    toml::table* till = nullptr;
    for (size_t i = 0; tills && i < tills->size() && !till; ++i) {
      toml::table* t = (*tills)[i].as_table();
      if (t && t->get("id") && t->get("id")->value<std::string>() == id) till = t;
    }
    if (!till) throw Error(ErrorCode::kNotFound, "no till " + id);
    till->insert_or_assign("clock_offset_ms", static_cast<int64_t>(offset.count()));
  });
}

namespace {

// Checks an edit_globals() request and returns the change it makes to the document.
void check_globals(const nlohmann::json& replace, const nlohmann::json& merge) {
  for (const nlohmann::json* part : {&replace, &merge}) {
    if (part->is_null()) continue;
    if (!part->is_object()) throw Error(ErrorCode::kInvalidArgument, "the edit must be an object");
    for (const auto& [k, v] : part->items()) {
      if (!global_table(k)) {
        throw Error(ErrorCode::kInvalidArgument, "\"" + k + "\" cannot be changed here");
      }
      if (part == &merge && !v.is_object()) {
        throw Error(ErrorCode::kInvalidArgument, "\"" + k + "\" must be an object");
      }
    }
  }
}

void apply_globals(toml::table& root, const nlohmann::json& replace, const nlohmann::json& merge) {
  if (replace.is_object()) {
    for (const auto& [k, v] : replace.items()) {
      root.erase(k);
      if (v.is_array() && v.empty()) continue;
      insert_json(root, k, v);
    }
  }
  if (merge.is_object()) {
    for (const auto& [k, v] : merge.items()) insert_json(root, k, v);
  }
}

}  // namespace

std::shared_ptr<const Config> ConfigStore::edit_globals(const nlohmann::json& replace,
                                                        const nlohmann::json& merge,
                                                        const std::string& what) {
  check_globals(replace, merge);
  return edit(what, [&](Document& doc) { apply_globals(doc.root, replace, merge); });
}

Config ConfigStore::preview_globals(const nlohmann::json& replace,
                                    const nlohmann::json& merge) const {
  check_globals(replace, merge);
  std::lock_guard lock(edit_mu_);
  if (file_.empty()) {
    throw Error(ErrorCode::kFailedPrecondition, "this configuration is not from a file");
  }
  toml::table root = toml::parse(text_, file_.string());
  apply_globals(root, replace, merge);
  std::ostringstream os;
  os << root << "\n";
  return parse_config(os.str(), file_.string(), file_.parent_path());
}

std::shared_ptr<const Config> ConfigStore::reload() {
  std::lock_guard lock(edit_mu_);
  if (file_.empty()) return current();
  const std::string text = read_text(file_);
  const Config parsed = parse_config(text, file_.string(), file_.parent_path());
  if (fixed_part(text, file_.string()) != fixed_part(text_, file_.string())) {
    spdlog::warn("configuration: {} changed settings other than the cameras, [retention], "
                 "[events], [mqtt], [[webhook]] and disk_low_space; they take effect at the next "
                 "start",
                 file_.string());
  }
  text_ = text;
  auto next = adopt(parsed, "reloaded from " + file_.string());
  publish(next);
  return next;
}

}  // namespace vigil
