// Shared fixtures for unit tests: temporary directories, a fake clock, and real H.264 clips made
// with the ffmpeg CLI and demuxed with libavformat, so the recorder is tested on real bitstreams.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "ingest/media.h"
#include "record/file_ops.h"

namespace vigil::test {

// SQL that takes a fully migrated catalog back before a migration, for tests of the migrations
// before it and of its back-fill; run the newest undo first.
// Migration 15 (the archive tier: archive_key, usage of local footage only, the local indexes).
inline constexpr const char* kUndoArchive =
    "DROP TRIGGER segment_usage_insert; DROP TRIGGER segment_usage_delete; "
    "DROP TRIGGER segment_usage_update; DROP INDEX segment_local_start; "
    "DROP INDEX segment_camera_local; ALTER TABLE segment DROP COLUMN archive_key; "
    "CREATE INDEX segment_start ON segment (wall_start_ms) WHERE state = 'closed'; "
    "CREATE TRIGGER segment_usage_insert AFTER INSERT ON segment WHEN new.state != 'deleting' "
    "BEGIN INSERT INTO camera_usage (camera_id, bytes, segments) VALUES (new.camera_id, "
    "new.bytes, 1) ON CONFLICT (camera_id) DO UPDATE SET bytes = bytes + excluded.bytes, "
    "segments = segments + 1; END; "
    "CREATE TRIGGER segment_usage_delete AFTER DELETE ON segment WHEN old.state != 'deleting' "
    "BEGIN UPDATE camera_usage SET bytes = bytes - old.bytes, segments = segments - 1 "
    "WHERE camera_id = old.camera_id; END; "
    "CREATE TRIGGER segment_usage_update AFTER UPDATE OF camera_id, state, bytes ON segment "
    "BEGIN UPDATE camera_usage SET bytes = bytes - old.bytes, segments = segments - 1 "
    "WHERE camera_id = old.camera_id AND old.state != 'deleting'; "
    "INSERT INTO camera_usage (camera_id, bytes, segments) SELECT new.camera_id, new.bytes, 1 "
    "WHERE new.state != 'deleting' ON CONFLICT (camera_id) DO UPDATE SET "
    "bytes = bytes + excluded.bytes, segments = segments + 1; END;";
// Migration 10 (the second factor).
inline constexpr const char* kUndoSecondFactor = "DROP TABLE recovery_code; DROP TABLE user_totp;";
// Migrations 9 and 11-14 (till transactions and till tokens, the text index by moment and by
// till, the till index covering the summary, the index's words; api_token keeps its rebuilt CHECK, which allows
// more scopes than before but no row uses them).
inline constexpr const char* kUndoTransactions =
    "DROP TABLE till_text_word; DROP TABLE till_transaction_fts; DROP TABLE till_receipt_line; "
    "DROP TABLE till_transaction_item; DROP TABLE till_transaction; "
    "ALTER TABLE api_token DROP COLUMN tills;";
// Migration 8 (token scopes and expiry; the camera lists it rewrote stay "*").
inline constexpr const char* kUndoTokenScopes =
    "ALTER TABLE api_token DROP COLUMN scope; ALTER TABLE api_token DROP COLUMN expires_ms;";
// Migration 7 (holds and the audit chain).
inline constexpr const char* kUndoHoldsAndAuditChain =
    "DROP TABLE hold_camera; DROP TABLE hold; DROP TRIGGER audit_no_update; "
    "ALTER TABLE audit DROP COLUMN link; "
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, "
    "'the audit log is append-only'); END;";

// The real file system, call by call: a slow or failing disk overrides only what it changes.
class PassThroughOps : public FileOps {
 public:
  int open(const char* path, int flags, mode_t mode) override {
    return real().open(path, flags, mode);
  }
  ssize_t write(int fd, const void* buf, size_t n) override { return real().write(fd, buf, n); }
  int fdatasync(int fd) override { return real().fdatasync(fd); }
  int fsync(int fd) override { return real().fsync(fd); }
  int ftruncate(int fd, off_t length) override { return real().ftruncate(fd, length); }
  int close(int fd) override { return real().close(fd); }
  int mkdir(const char* path, mode_t mode) override { return real().mkdir(path, mode); }
  int unlink(const char* path) override { return real().unlink(path); }
};

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start) : wall_ms_(ms_since_epoch(start)) {}
  WallTime wall_now() const override { return wall_from_ms(wall_ms_.load()); }
  SteadyTime steady_now() const override {
    return SteadyTime(std::chrono::milliseconds(steady_ms_.load()));
  }
  void advance(WallDuration d) {
    wall_ms_ += d.count();
    steady_ms_ += d.count();
  }
  void jump_wall(WallDuration d) { wall_ms_ += d.count(); }

 private:
  std::atomic<int64_t> wall_ms_;
  std::atomic<int64_t> steady_ms_{1'000'000};
};

struct DemuxedClip {
  std::shared_ptr<StreamInfo> info;
  std::vector<PacketPtr> video;  // in decode order, time base info->video_time_base
};

// Makes (once per process and arguments) an H.264 or H.265 clip with a closed GOP of
// `gop_frames` and demuxes it. Throws on failure.
const DemuxedClip& test_clip(const std::string& codec = "libx264", int seconds = 10, int fps = 10,
                             int gop_frames = 20);

// MediaSource::read over test_clip()'s packets: the one at `next` (then advanced), as video;
// false after the last.
bool read_test_clip(size_t& next, AVPacket* pkt, TrackKind& track);

// Runs a shell command, returns its exit status.
int run(const std::string& cmd);

// A configuration with two cameras, "front" and "yard", for tests of the API.
Config two_camera_config(const std::filesystem::path& data_dir = {});
// The same two cameras as a configuration file <dir>/vigil.toml (data_dir = dir); its path.
std::filesystem::path write_two_camera_config(const std::filesystem::path& dir);

}  // namespace vigil::test
