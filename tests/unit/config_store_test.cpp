#include "core/config_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "test_support.h"

namespace vigil {
namespace {

using nlohmann::json;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ConfigStoreTest : public ::testing::Test {
 protected:
  void write(const std::string& text) {
    std::ofstream(file_) << text;
    ::chmod(file_.c_str(), 0640);
  }
  test::TempDir dir_;
  std::filesystem::path file_ = dir_.path() / "vigil.toml";
};

constexpr const char* kTwoCameras = R"(# the operator's notes
data_dir = "data"
[retention]
max_days = 30
[[camera]]
id = "front"
url = "rtsp://admin:secret@10.0.0.5/main"
[[camera]]
id = "yard"
url = "rtsp://10.0.0.6/main"
[camera.retention]
max_bytes = "10GiB"
)";

TEST_F(ConfigStoreTest, AddedCameraIsWrittenDurablyAndPublishedToSubscribers) {
  write(kTwoCameras);
  ConfigStore store(file_);
  std::vector<std::string> seen;
  store.subscribe([&](const Config& before, const Config& after) {
    seen.push_back(std::to_string(before.cameras.size()) + "->" +
                   std::to_string(after.cameras.size()));
  });
  const auto next = store.add_camera(
      {{"id", "door"}, {"name", "Back door"}, {"url", "rtsp://10.0.0.7/s"}, {"transport", "udp"}});
  ASSERT_EQ(next->cameras.size(), 3u);
  EXPECT_EQ(next->cameras[2].name, "Back door");
  EXPECT_EQ(next->cameras[2].transport, RtspTransport::kUdp);
  EXPECT_EQ(next->cameras[2].retention.max_days, 30);  // the defaults apply to new cameras
  EXPECT_EQ(store.current(), next);
  EXPECT_EQ(seen, std::vector<std::string>{"2->3"});

  // The file now says the same to a fresh vigil, kept its permissions (it holds passwords), and
  // the version before is kept.
  const Config reread = load_config(file_);
  ASSERT_EQ(reread.cameras.size(), 3u);
  EXPECT_EQ(reread.cameras[0].url, "rtsp://admin:secret@10.0.0.5/main");
  EXPECT_EQ(reread.cameras[1].retention.max_bytes, 10ull << 30);
  EXPECT_EQ(reread.cameras[2].id, "door");
  EXPECT_EQ(reread.data_dir, dir_.path() / "data");
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(read(file_.string() + ".prev"), kTwoCameras);
  EXPECT_FALSE(std::filesystem::exists(file_.string() + ".tmp"));
}

TEST_F(ConfigStoreTest, UpdateMergesFieldsAndNullRestoresTheDefault) {
  write(kTwoCameras);
  ConfigStore store(file_);
  auto next = store.update_camera("yard", {{"name", "Yard"}, {"retention", {{"max_days", 3}}}});
  const CameraConfig* yard = next->find_camera("yard");
  ASSERT_TRUE(yard);
  EXPECT_EQ(yard->name, "Yard");
  EXPECT_EQ(yard->retention.max_days, 3);
  EXPECT_EQ(yard->retention.max_bytes, 10ull << 30);  // kept: the retention table was merged
  next = store.update_camera("yard", {{"retention", {{"max_days", nullptr}}}, {"name", nullptr}});
  yard = next->find_camera("yard");
  EXPECT_EQ(yard->retention.max_days, 30);
  EXPECT_EQ(yard->name, "yard");
  EXPECT_EQ(load_config(file_).find_camera("yard")->retention.max_days, 30);
}

TEST_F(ConfigStoreTest, InvalidChangeIsRefusedAndNothingIsWritten) {
  write(kTwoCameras);
  ConfigStore store(file_);
  int calls = 0;
  store.subscribe([&](const Config&, const Config&) { ++calls; });
  auto code_of = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::pair{e.code(), std::string(e.what())};
    }
    return std::pair{ErrorCode::kInternal, std::string("no error")};
  };
  auto [c1, m1] = code_of([&] { store.add_camera({{"id", "front"}, {"url", "rtsp://x/"}}); });
  EXPECT_EQ(c1, ErrorCode::kAlreadyExists) << m1;
  auto [c2, m2] = code_of([&] { store.add_camera({{"id", "cam"}, {"url", "http://x/"}}); });
  EXPECT_EQ(c2, ErrorCode::kInvalidArgument);
  EXPECT_NE(m2.find("url"), std::string::npos) << m2;
  auto [c3, m3] = code_of([&] { store.add_camera({{"id", "Bad Id"}, {"url", "rtsp://x/"}}); });
  EXPECT_EQ(c3, ErrorCode::kInvalidArgument) << m3;
  auto [c4, m4] = code_of([&] { store.update_camera("yard", {{"max_dayz", 3}}); });
  EXPECT_EQ(c4, ErrorCode::kInvalidArgument);
  EXPECT_NE(m4.find("unknown setting"), std::string::npos) << m4;
  auto [c5, m5] = code_of([&] { store.update_camera("yard", {{"id", "garden"}}); });
  EXPECT_EQ(c5, ErrorCode::kInvalidArgument) << m5;
  auto [c6, m6] = code_of([&] { store.remove_camera("nope"); });
  EXPECT_EQ(c6, ErrorCode::kNotFound) << m6;
  EXPECT_EQ(read(file_), kTwoCameras);
  EXPECT_EQ(store.current()->cameras.size(), 2u);
  EXPECT_EQ(calls, 0);
}

TEST_F(ConfigStoreTest, AFileChangedByHandIsNotOverwritten) {
  write(kTwoCameras);
  ConfigStore store(file_);
  const std::string by_hand = std::string(kTwoCameras) + "[[camera]]\nid = \"hand\"\nurl = \"rtsp://h/\"\n";
  write(by_hand);
  try {
    store.remove_camera("yard");
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
  EXPECT_EQ(read(file_), by_hand);
  // After a reload (SIGHUP) the hand-made camera is running and edits work again.
  EXPECT_TRUE(store.reload()->find_camera("hand"));
  const auto next = store.remove_camera("yard");
  EXPECT_FALSE(next->find_camera("yard"));
  EXPECT_TRUE(load_config(file_).find_camera("hand"));
}

TEST_F(ConfigStoreTest, ReloadChangesOnlyTheCameras) {
  write(kTwoCameras);
  ConfigStore store(file_);
  std::string text = kTwoCameras;
  text.replace(text.find("data_dir = \"data\""), 17, "data_dir = \"elsewhere\"");
  text += "[[camera]]\nid = \"new\"\nurl = \"rtsp://n/\"\n";
  write(text);
  const auto next = store.reload();
  EXPECT_TRUE(next->find_camera("new"));
  EXPECT_EQ(next->data_dir, dir_.path() / "data");  // takes effect at the next start
  write("data_dir = \"data\"\n[[camera]]\nid = \"x\"\nurl = \"ftp://no\"\n");
  EXPECT_THROW(store.reload(), Error);
  EXPECT_TRUE(store.current()->find_camera("new"));
}

TEST_F(ConfigStoreTest, RemovingTheLastCameraLeavesAValidFile) {
  write("data_dir = \"d\"\n[[camera]]\nid = \"only\"\nurl = \"rtsp://o/\"\n");
  ConfigStore store(file_);
  EXPECT_TRUE(store.remove_camera("only")->cameras.empty());
  EXPECT_TRUE(load_config(file_).cameras.empty());
  EXPECT_EQ(store.add_camera({{"id", "again"}, {"url", "rtsp://a/"}})->cameras.size(), 1u);
}

TEST_F(ConfigStoreTest, AFixedConfigurationRefusesEdits) {
  ConfigStore store(test::two_camera_config());
  EXPECT_THROW(store.add_camera({{"id", "x"}, {"url", "rtsp://x/"}}), Error);
  EXPECT_EQ(store.current()->cameras.size(), 2u);
}

}  // namespace
}  // namespace vigil
