// The system settings routes (settings_api.h) through Api::handle on a real configuration file
// and catalog: notification targets with masked secrets, default retention, [events], the disk
// state, "send test" failures, and the global edits of ConfigStore they rest on.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "catalog/catalog.h"
#include "serve/api.h"
#include "serve/crypto.h"
#include "serve/metrics.h"
#include "test_support.h"

namespace vigil {
namespace {

using nlohmann::json;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A port nothing listens on: bound, never listened on, so connecting is refused.
class ClosedPort {
 public:
  ClosedPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

// Argon2 costs about a second on a busy machine: both users share one hash.
const std::string& password_hash() {
  static const std::string hash = hash_password("password-1");
  return hash;
}

class SettingsApiTest : public ::testing::Test {
 protected:
  SettingsApiTest()
      : file_(test::write_two_camera_config(dir_.path())),
        config_(file_),
        catalog_(dir_.path() / "vigil.db"),
        accounts_(dir_.path() / "vigil.db"),
        clock_(kT0),
        api_(config_, accounts_, clock_, [this] { return status_; }) {
    for (auto [name, role] : {std::pair{"root", Role::kAdmin}, std::pair{"vi", Role::kViewer}}) {
      User u;
      u.name = name;
      u.role = role;
      if (role == Role::kViewer) u.cameras = std::vector<std::string>{"yard"};
      u.password_hash = password_hash();
      u.created = kT0;
      accounts_.add_user(u);
    }
    admin_ = login("root");
    viewer_ = login("vi");
  }

  http::Response call(const std::string& method, const std::string& target,
                      const std::map<std::string, std::string>& who, const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.remote_address = "192.0.2.9";
    r.headers = who;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    return api_.handle(r);
  }

  std::map<std::string, std::string> login(const std::string& name) {
    auto r = call("POST", "/api/login", {}, json{{"name", name}, {"password", "password-1"}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    std::string cookie;
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") cookie = v.substr(0, v.find(';'));
    }
    return {{"cookie", cookie}, {"x-csrf-token", json::parse(r.body)["csrf_token"]}};
  }

  std::vector<std::string> audit_actions() {
    std::vector<std::string> out;
    for (const auto& e : accounts_.audit({})) out.push_back(e.action);
    return out;
  }

  test::TempDir dir_;
  std::filesystem::path file_;
  ConfigStore config_;
  Catalog catalog_;
  AccountStore accounts_;
  test::FakeClock clock_;
  json status_ = json::object();
  Api api_;
  std::map<std::string, std::string> admin_;
  std::map<std::string, std::string> viewer_;
};

TEST_F(SettingsApiTest, NotificationTargetsAreWrittenAndTheirSecretsNeverAnswered) {
  auto r = call("GET", "/api/settings/notifications", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["mqtt"].is_null());
  EXPECT_TRUE(json::parse(r.body)["webhooks"].empty());

  const json put = {
      {"mqtt", {{"host", "broker.lan"}, {"username", "nvr"}, {"password", "mqtt-pw"}}},
      {"webhooks",
       json::array({{{"url", "https://hooks.example.com/a"}, {"secret", "hook-secret"},
                     {"types", {"motion"}}},
                    {{"url", "http://192.0.2.7/b"}}})}};
  r = call("PUT", "/api/settings/notifications", admin_, put.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json got = json::parse(r.body);
  EXPECT_EQ(got["mqtt"]["host"], "broker.lan");
  EXPECT_EQ(got["mqtt"]["port"], 1883);
  EXPECT_EQ(got["mqtt"]["password"], kSecretMask);
  EXPECT_EQ(got["webhooks"][0]["secret"], kSecretMask);
  EXPECT_EQ(got["webhooks"][1]["secret"], "");
  EXPECT_EQ(r.body.find("mqtt-pw"), std::string::npos);
  EXPECT_EQ(r.body.find("hook-secret"), std::string::npos);
  // On disk, and running.
  const std::string text = read(file_);
  EXPECT_NE(text.find("mqtt-pw"), std::string::npos) << text;
  EXPECT_NE(text.find("hook-secret"), std::string::npos) << text;
  EXPECT_EQ(config_.current()->mqtt.password, "mqtt-pw");
  ASSERT_EQ(config_.current()->webhooks.size(), 2u);

  // What GET gave, sent back with one change: the masks keep the stored secrets.
  got["mqtt"]["prefix"] = "house";
  got["webhooks"].erase(1);
  r = call("PUT", "/api/settings/notifications", admin_, got.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto now = config_.current();
  EXPECT_EQ(now->mqtt.password, "mqtt-pw");
  EXPECT_EQ(now->mqtt.prefix, "house");
  ASSERT_EQ(now->webhooks.size(), 1u);
  EXPECT_EQ(now->webhooks[0].secret, "hook-secret");
  EXPECT_EQ(now->webhooks[0].types, std::vector<std::string>{"motion"});

  // MQTT off, no webhooks: the tables leave the file.
  r = call("PUT", "/api/settings/notifications", admin_,
           json{{"mqtt", nullptr}, {"webhooks", json::array()}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(config_.current()->mqtt.host.empty());
  EXPECT_EQ(read(file_).find("[mqtt]"), std::string::npos);
  EXPECT_EQ(read(file_).find("webhook"), std::string::npos);
  const auto actions = audit_actions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "settings_notifications"), 3);
}

TEST_F(SettingsApiTest, ABadValueIsTheConfigurationsOwnErrorAndChangesNothing) {
  const std::string before = read(file_);
  auto r = call("PUT", "/api/settings/notifications", admin_,
                json{{"mqtt", {{"host", "b"}, {"port", 70000}}}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("mqtt.port = 70000: must be between 1 and 65535"), std::string::npos)
      << r.body;
  r = call("PUT", "/api/settings/notifications", admin_,
           json{{"webhooks", json::array({{{"url", "ftp://x/"}}})}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("webhook[0].url"), std::string::npos) << r.body;
  // A masked secret for a URL that has none stored cannot mean "keep".
  r = call("PUT", "/api/settings/notifications", admin_,
           json{{"webhooks", json::array({{{"url", "http://new/"}, {"secret", kSecretMask}}})}}
               .dump());
  EXPECT_EQ(r.status, 400);
  r = call("PATCH", "/api/settings/events", admin_, json{{"time_zone", "Mars/Olympus"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("events.time_zone"), std::string::npos) << r.body;
  r = call("PATCH", "/api/settings/storage", admin_,
           json{{"retention", {{"max_days", 0}}}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(read(file_), before);
}

TEST_F(SettingsApiTest, OnlyAdminsWithTheCsrfTokenChangeSettings) {
  EXPECT_EQ(call("GET", "/api/settings/notifications", viewer_).status, 403);
  EXPECT_EQ(call("GET", "/api/settings/storage", viewer_).status, 403);
  EXPECT_EQ(call("PATCH", "/api/settings/events", viewer_, "{}").status, 403);
  auto no_csrf = admin_;
  no_csrf.erase("x-csrf-token");
  EXPECT_EQ(call("PATCH", "/api/settings/events", no_csrf, "{\"merge_gap_ms\": 1000}").status, 403);
  EXPECT_EQ(call("POST", "/api/settings/notifications/test", no_csrf, "{\"mqtt\": {}}").status, 403);
  EXPECT_EQ(config_.current()->events.merge_gap, std::chrono::milliseconds(5'000));
}

TEST_F(SettingsApiTest, DefaultRetentionAndEventSettingsChangeAtRunTime) {
  auto r = call("PATCH", "/api/settings/storage", admin_,
                json{{"retention", {{"max_days", 7}, {"max_bytes", "20GiB"}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["retention"]["max_days"], 7);
  EXPECT_EQ(json::parse(r.body)["retention"]["max_bytes"], 20ull << 30);
  EXPECT_EQ(config_.current()->default_retention.max_days, 7);
  // Cameras without their own limit follow the default.
  EXPECT_EQ(config_.current()->find_camera("front")->retention.max_days, 7);
  EXPECT_NE(read(file_).find("max_days = 7"), std::string::npos) << read(file_);
  r = call("PATCH", "/api/settings/storage", admin_,
           json{{"retention", {{"max_bytes", nullptr}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(config_.current()->default_retention.max_bytes);
  EXPECT_EQ(config_.current()->default_retention.max_days, 7);

  r = call("PATCH", "/api/settings/events", admin_,
           json{{"min_duration_ms", 2500}, {"pre_roll_ms", 8000}, {"time_zone", "Europe/Berlin"}}
               .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["min_duration_ms"], 2500);
  EXPECT_EQ(config_.current()->events.pre_roll, std::chrono::milliseconds(8000));
  EXPECT_EQ(config_.current()->events.time_zone, "Europe/Berlin");
  r = call("PATCH", "/api/settings/events", admin_, json{{"time_zone", ""}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(config_.current()->events.time_zone, "");
  EXPECT_EQ(config_.current()->events.min_duration, std::chrono::milliseconds(2500));
  const auto actions = audit_actions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "settings_retention"), 2);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "settings_events"), 2);
}

TEST_F(SettingsApiTest, DiskStateAndFullCamerasForEveryUserTheirOwnCameras) {
  status_ = {{"disk_free_bytes", 300u << 20},
             {"disk_total_bytes", 10ull << 30},
             {"cameras", json::array({{{"id", "front"}, {"disk_full", true}, {"stored_bytes", 5}},
                                      {{"id", "yard"}, {"disk_full", true}}})}};
  // Default threshold: half of min_free_space (1 GiB) = 512 MiB.
  auto r = call("GET", "/api/system/status", viewer_);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_TRUE(j["disk"]["low"]);
  EXPECT_EQ(j["disk"]["low_below_bytes"], 512u << 20);
  EXPECT_EQ(j["disk_full_cameras"], json::array({"yard"}));  // the viewer's camera only
  j = json::parse(call("GET", "/api/system/status", admin_).body);
  EXPECT_EQ(j["disk_full_cameras"], json::array({"front", "yard"}));
  j = json::parse(call("GET", "/api/settings/storage", admin_).body);
  EXPECT_EQ(j["cameras"][0]["stored_bytes"], 5);
  EXPECT_EQ(j["disk"]["total_bytes"], 10ull << 30);

  // disk_low_space set below what is free: not low (a SIGHUP picks it up).
  // On top: appended after the tables, the key would belong to the last [[camera]].
  const std::string text = "disk_low_space = \"100MiB\"\n" + read(file_);
  std::ofstream(file_, std::ios::trunc) << text;
  config_.reload();
  j = json::parse(call("GET", "/api/system/status", viewer_).body);
  EXPECT_FALSE(j["disk"]["low"]);
  EXPECT_EQ(j["disk"]["low_below_bytes"], 100u << 20);
}

// A stored MQTT password goes only to the stored broker: the masked password with another
// host, port or TLS setting (a server of an attacker holding an admin session) is refused, for a
// test as for a change, and nothing is sent.
TEST_F(SettingsApiTest, AStoredMqttPasswordIsNeverSentToAnotherBroker) {
  ClosedPort closed;
  const json put = {{"mqtt", {{"host", "127.0.0.1"}, {"port", closed.port()}, {"username", "nvr"},
                              {"password", "mqtt-pw"}}}};
  ASSERT_EQ(call("PUT", "/api/settings/notifications", admin_, put.dump()).status, 200);
  for (const json& elsewhere :
       {json{{"host", "127.0.0.2"}, {"port", closed.port()}},
        json{{"host", "127.0.0.1"}, {"port", closed.port() + 1}},
        json{{"host", "127.0.0.1"}, {"port", closed.port()}, {"tls", true}}}) {
    json m = elsewhere;
    m["username"] = "nvr";
    m["password"] = kSecretMask;
    auto r = call("POST", "/api/settings/notifications/test", admin_, json{{"mqtt", m}}.dump());
    EXPECT_EQ(r.status, 400) << m << r.body;
    EXPECT_NE(r.body.find("type the password"), std::string::npos) << r.body;
    r = call("PUT", "/api/settings/notifications", admin_, json{{"mqtt", m}}.dump());
    EXPECT_EQ(r.status, 400) << m << r.body;
  }
  EXPECT_EQ(config_.current()->mqtt.host, "127.0.0.1");
  // The same broker still gets it (the test reaches the closed port: the password was filled in).
  json same = put["mqtt"];
  same["password"] = kSecretMask;
  auto r = call("POST", "/api/settings/notifications/test", admin_, json{{"mqtt", same}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(json::parse(r.body)["detail"].get<std::string>().find("Connection refused"),
            std::string::npos) << r.body;
}

TEST_F(SettingsApiTest, SendTestSaysWhyATargetFailed) {
  ClosedPort closed;
  auto r = call("POST", "/api/settings/notifications/test", admin_,
                json{{"mqtt", {{"host", "127.0.0.1"}, {"port", closed.port()}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_FALSE(j["ok"]);
  EXPECT_NE(j["detail"].get<std::string>().find("Connection refused"), std::string::npos) << j;

  r = call("POST", "/api/settings/notifications/test", admin_,
           json{{"webhook", {{"url", "http://127.0.0.1:" + std::to_string(closed.port()) + "/h"}}}}
               .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_FALSE(j["ok"]);
  EXPECT_NE(j["detail"].get<std::string>().find("Connection refused"), std::string::npos) << j;
  // An invalid target is the configuration's error, before anything is sent.
  r = call("POST", "/api/settings/notifications/test", admin_,
           json{{"mqtt", {{"host", "127.0.0.1"}, {"ca_file", "/nonexistent/ca.pem"}, {"tls", true}}}}
               .dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("mqtt.ca_file"), std::string::npos) << r.body;
  // Testing saved nothing.
  EXPECT_TRUE(config_.current()->mqtt.host.empty());
  const auto actions = audit_actions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "notification_test"), 2);
}

TEST(SettingsMetrics, DiskSizeAndDroppedNoticesOfReplacedTargets) {
  const json status = {{"cameras", json::array()},
                       {"disk_free_bytes", 5e9},
                       {"disk_total_bytes", 2e10},
                       {"notifications", {{"retired_dropped", 7}}}};
  const std::string text = prometheus_metrics(status, {});
  for (const char* line : {"vigil_disk_total_bytes 20000000000\n",
                           "# TYPE vigil_notifications_retired_dropped_total counter\n",
                           "vigil_notifications_retired_dropped_total 7\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
}

TEST(ConfigStoreGlobals, OnlyTheGlobalTablesAndAReloadAdoptsThem) {
  test::TempDir dir;
  const auto file = test::write_two_camera_config(dir.path());
  ConfigStore store(file);
  EXPECT_THROW(store.edit_globals({{"http", {{"port", 1}}}}, nullptr, "x"), Error);
  EXPECT_THROW(store.edit_globals({{"camera", json::array()}}, nullptr, "x"), Error);
  int calls = 0;
  store.subscribe([&](const Config& before, const Config& after) {
    if (++calls > 1) return;
    EXPECT_TRUE(before.mqtt.host.empty());
    EXPECT_EQ(after.mqtt.host, "b");
  });
  store.edit_globals({{"mqtt", {{"host", "b"}, {"tls", true}}}}, nullptr, "mqtt");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(store.current()->mqtt.port, 8883);  // the TLS port unless one is given
  EXPECT_EQ(store.current()->cameras.size(), 2u);
  // An operator's edit + SIGHUP reaches the running configuration too.
  std::string text = read(file);
  const auto at = text.find("host = ");  // toml++ writes 'b'
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, text.find('\n', at) - at, "host = \"c\"");
  std::ofstream(file, std::ios::trunc) << text;
  store.reload();
  EXPECT_EQ(store.current()->mqtt.host, "c");
}

}  // namespace
}  // namespace vigil
