// A power cut, not a kill -9: kill -9 keeps the page cache, so it cannot show whether the fsync
// order of docs/design/storage.md is right. Here the real recorder (two cameras, one catalog)
// writes through a simulated disk that knows, for every file and directory entry, what has been
// synced. The recorder's files go through the FileOps seam; SQLite goes through a VFS that wraps
// the default one and reports to the same disk. A cut is placed before every single mutating
// call of a whole recording (every write, sync, truncate, mkdir, unlink of the footage and every
// write and sync of the catalog: mid-fragment, mid-segment-open, mid-catalog-commit); what the
// disk would hold after it is written out, recovered as `vigil serve` does at start, and checked:
// the catalog and the files agree (`vigil check --hash`), every file decodes with libavcodec,
// each camera's footage is contiguous from the first frame, and it lacks at most the last
// fragment (one GOP) of what the camera sent before the cut.
//
// What a cut keeps of a file: everything synced, and of the writes since the last sync a random
// prefix in issue order, the last one possibly torn at a random byte (a disk that writes in
// order but may stop anywhere); directory entries created or removed since their directory was
// last synced may or may not be there (decided per entry, at random). Seeded:
// VIGIL_POWER_CUT_SEED reproduces a run (the seed is printed).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mathematics.h>
}

#include "record/file_ops.h"
#include "record/recorder.h"
#include "record/recovery.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::seconds;

const WallTime kStart = wall_from_ms(1'790'000'000'000);

// The simulated disk. Every mutating call counts as one instant; at instant `cut_at` (before the
// call runs) the disk's surviving state is written to a snapshot directory. The live files are
// really written (the recorder and SQLite read them back), but never really synced: durability is
// what this class says it is.
class CrashDisk final : public FileOps {
 public:
  CrashDisk(std::filesystem::path root, uint64_t seed) : root_(std::move(root)), rng_(seed) {}

  // What exists under the root now counts as synced; from now on calls are counted and the
  // cut happens before call number `cut_at` (1-based; 0: never), written to `snapshot`.
  void arm(uint64_t cut_at, std::filesystem::path snapshot, std::function<void()> at_cut) {
    std::lock_guard lock(mu_);
    entries_.clear();
    for (auto& e : std::filesystem::recursive_directory_iterator(root_)) {
      Entry& en = entries_[e.path().string()];
      en.dir = e.is_directory();
      en.exists = en.durable_exists = true;
      if (!en.dir) en.durable = read_file(e.path());
    }
    cut_at_ = cut_at;
    snapshot_ = std::move(snapshot);
    at_cut_ = std::move(at_cut);
    armed_ = true;
  }
  uint64_t calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  bool cut() const {
    std::lock_guard lock(mu_);
    return cut_;
  }
  // What kind of call the cut came before ("write", "catalog sync", ...).
  std::string cut_before() const {
    std::lock_guard lock(mu_);
    return cut_before_;
  }

  // FileOps: the recorder's side.
  int open(const char* path, int flags, mode_t mode) override {
    std::unique_lock lock(mu_);
    const bool creates = (flags & O_CREAT) && !entries_.count(path);
    if (creates) tick("create", lock);
    const int fd = ::open(path, flags, mode);
    if (fd >= 0) {
      fds_[fd] = path;
      if (creates && tracking()) entries_[path] = Entry{false, true, false, {}, {}};
    }
    return fd;
  }
  ssize_t write(int fd, const void* buf, size_t n) override {
    std::unique_lock lock(mu_);
    tick("write", lock);
    const off_t at = ::lseek(fd, 0, SEEK_CUR);
    const ssize_t done = ::write(fd, buf, n);
    if (done > 0 && tracking()) {
      entries_[fds_[fd]].pending.push_back(
          Pending{false, static_cast<uint64_t>(at),
                  std::string(static_cast<const char*>(buf), static_cast<size_t>(done))});
    }
    return done;
  }
  int fdatasync(int fd) override { return fsync(fd); }
  int fsync(int fd) override {
    std::unique_lock lock(mu_);
    const std::string path = fds_[fd];
    auto it = entries_.find(path);
    const bool dir = it == entries_.end() || it->second.dir;
    tick(dir ? "directory sync" : "file sync", lock);
    if (!tracking()) return 0;
    if (dir) {
      sync_directory(path);
    } else {
      apply_pending(it->second);
    }
    return 0;
  }
  int ftruncate(int fd, off_t length) override {
    std::unique_lock lock(mu_);
    tick("truncate", lock);
    const int rc = ::ftruncate(fd, length);
    if (rc == 0 && tracking()) {
      entries_[fds_[fd]].pending.push_back(Pending{true, static_cast<uint64_t>(length), {}});
    }
    return rc;
  }
  int close(int fd) override {
    std::lock_guard lock(mu_);
    fds_.erase(fd);
    return ::close(fd);
  }
  int mkdir(const char* path, mode_t mode) override {
    std::unique_lock lock(mu_);
    tick("mkdir", lock);
    const int rc = ::mkdir(path, mode);
    if (rc == 0 && tracking()) entries_[path] = Entry{true, true, false, {}, {}};
    return rc;
  }
  int unlink(const char* path) override {
    std::unique_lock lock(mu_);
    tick("unlink", lock);
    const int rc = ::unlink(path);
    if (rc == 0 && tracking()) entries_[path].exists = false;
    return rc;
  }

  // The VFS's side (SQLite's files).
  void sqlite_opened(const std::string& path) {
    std::lock_guard lock(mu_);
    // SQLite's unix VFS syncs the directory of a journal or WAL it creates on the file's first
    // sync; a file that was there already stays.
    if (tracking() && !entries_.count(path)) entries_[path] = Entry{false, true, false, {}, {}};
  }
  void sqlite_write(const std::string& path, int64_t offset, const void* buf, int n) {
    std::unique_lock lock(mu_);
    tick("catalog write", lock);
    if (tracking()) {
      entries_[path].pending.push_back(
          Pending{false, static_cast<uint64_t>(offset),
                  std::string(static_cast<const char*>(buf), static_cast<size_t>(n))});
    }
  }
  void sqlite_truncate(const std::string& path, int64_t size) {
    std::unique_lock lock(mu_);
    tick("catalog truncate", lock);
    if (tracking())
      entries_[path].pending.push_back(Pending{true, static_cast<uint64_t>(size), {}});
  }
  void sqlite_sync(const std::string& path) {
    std::unique_lock lock(mu_);
    tick("catalog sync", lock);
    if (!tracking()) return;
    Entry& e = entries_[path];
    apply_pending(e);
    e.durable_exists = e.exists;
  }
  void sqlite_deleted(const std::string& path, bool sync_dir) {
    std::unique_lock lock(mu_);
    tick("catalog delete", lock);
    if (!tracking()) return;
    Entry& e = entries_[path];
    e.exists = false;
    if (sync_dir) e.durable_exists = false;
  }

 private:
  struct Pending {
    bool truncate = false;
    uint64_t offset = 0;  // or the new length
    std::string data;
  };
  struct Entry {
    bool dir = false;
    bool exists = false;           // in the live directory
    bool durable_exists = false;   // after a cut (its directory was synced since)
    std::string durable;           // contents after a cut
    std::vector<Pending> pending;  // since the last sync, in order
  };

  static std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  static void apply(std::string& image, const Pending& p) {
    if (p.truncate) {
      image.resize(p.offset);
      return;
    }
    if (image.size() < p.offset + p.data.size()) image.resize(p.offset + p.data.size());
    std::memcpy(image.data() + p.offset, p.data.data(), p.data.size());
  }
  static void apply_pending(Entry& e) {
    for (const Pending& p : e.pending) apply(e.durable, p);
    e.pending.clear();
  }
  bool tracking() const { return armed_ && !cut_; }
  void sync_directory(const std::string& dir) {
    for (auto& [path, e] : entries_) {
      if (std::filesystem::path(path).parent_path() == dir) e.durable_exists = e.exists;
    }
  }

  // Counts one mutating call; the cut comes before it.
  void tick(const char* what, std::unique_lock<std::mutex>& lock) {
    if (!tracking()) return;
    if (++calls_ != cut_at_) return;
    write_snapshot();
    cut_ = true;
    cut_before_ = what;
    if (at_cut_) {
      lock.unlock();
      at_cut_();
      lock.lock();
    }
  }

  // Whether an entry created or removed since its directory's last sync survives: either way.
  bool entry_survives(const Entry& e) {
    if (e.exists == e.durable_exists) return e.exists;
    return std::uniform_int_distribution<int>(0, 1)(rng_) == 1;
  }

  void write_snapshot() {
    std::map<std::string, bool> present;  // decided once per entry
    for (const auto& [path, e] : entries_) present[path] = entry_survives(e);
    auto visible = [&](const std::string& path) {
      for (std::filesystem::path p = path; p != root_ && p.has_relative_path();
           p = p.parent_path()) {
        auto it = present.find(p.string());
        if (it != present.end() && !it->second) return false;
      }
      return true;
    };
    std::filesystem::create_directories(snapshot_);
    for (auto& [path, e] : entries_) {
      if (!visible(path) || path.ends_with("-shm")) continue;  // shared memory: not kept
      const std::filesystem::path out =
          snapshot_ / std::filesystem::path(path).lexically_relative(root_);
      if (e.dir) {
        std::filesystem::create_directories(out);
        continue;
      }
      // The synced contents, then a prefix of the later writes, the last possibly torn.
      std::string image = e.durable;
      const size_t kept = std::uniform_int_distribution<size_t>(0, e.pending.size())(rng_);
      for (size_t i = 0; i < kept; ++i) {
        Pending p = e.pending[i];
        if (i + 1 == kept && !p.truncate && std::uniform_int_distribution<int>(0, 1)(rng_)) {
          p.data.resize(std::uniform_int_distribution<size_t>(0, p.data.size())(rng_));
        }
        apply(image, p);
      }
      std::filesystem::create_directories(out.parent_path());
      std::ofstream(out, std::ios::binary)
          .write(image.data(), static_cast<std::streamsize>(image.size()));
    }
  }

  const std::filesystem::path root_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::map<std::string, Entry> entries_;  // by path
  std::map<int, std::string> fds_;
  bool armed_ = false;
  bool cut_ = false;
  uint64_t calls_ = 0;
  uint64_t cut_at_ = 0;
  std::string cut_before_;
  std::filesystem::path snapshot_;
  std::function<void()> at_cut_;
};

// An SQLite VFS named `name` that wraps the default one and reports every write, truncate, sync
// and delete to a CrashDisk. Syncs are not passed on (the disk decides what is durable), which
// also keeps hundreds of catalogs fast. Registered for the object's life.
class CrashVfs {
 public:
  CrashVfs(const char* name, CrashDisk& disk) : disk_(disk) {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_.iVersion = 2;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.mxPathname = real_->mxPathname;
    vfs_.zName = name;
    vfs_.pAppData = this;
    vfs_.xOpen = &x_open;
    vfs_.xDelete = [](sqlite3_vfs* v, const char* path, int sync_dir) {
      CrashVfs* self = of(v);
      self->disk_.sqlite_deleted(path, sync_dir != 0);
      return self->real_->xDelete(self->real_, path, sync_dir);
    };
    vfs_.xAccess = [](sqlite3_vfs* v, const char* p, int f, int* out) {
      return of(v)->real_->xAccess(of(v)->real_, p, f, out);
    };
    vfs_.xFullPathname = [](sqlite3_vfs* v, const char* p, int n, char* out) {
      return of(v)->real_->xFullPathname(of(v)->real_, p, n, out);
    };
    vfs_.xRandomness = [](sqlite3_vfs* v, int n, char* out) {
      return of(v)->real_->xRandomness(of(v)->real_, n, out);
    };
    vfs_.xSleep = [](sqlite3_vfs* v, int us) { return of(v)->real_->xSleep(of(v)->real_, us); };
    vfs_.xCurrentTime = [](sqlite3_vfs* v, double* t) {
      return of(v)->real_->xCurrentTime(of(v)->real_, t);
    };
    vfs_.xGetLastError = [](sqlite3_vfs* v, int n, char* out) {
      return of(v)->real_->xGetLastError(of(v)->real_, n, out);
    };
    vfs_.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* t) {
      return of(v)->real_->xCurrentTimeInt64(of(v)->real_, t);
    };
    sqlite3_vfs_register(&vfs_, 0);
  }
  ~CrashVfs() { sqlite3_vfs_unregister(&vfs_); }
  CrashVfs(const CrashVfs&) = delete;
  CrashVfs& operator=(const CrashVfs&) = delete;

 private:
  struct File {
    sqlite3_file base;  // first: SQLite sees a File as an sqlite3_file
    CrashDisk* disk;
    char* path;          // null for temporary files, which a cut does not concern
    sqlite3_file* real;  // the default VFS's file, right after this struct
  };
  static CrashVfs* of(sqlite3_vfs* v) { return static_cast<CrashVfs*>(v->pAppData); }
  static File* file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return file(f)->real; }

  static int x_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out) {
    CrashVfs* self = of(v);
    File* me = file(f);
    me->disk = &self->disk_;
    me->real = reinterpret_cast<sqlite3_file*>(me + 1);
    me->path = nullptr;
    const int rc = self->real_->xOpen(self->real_, name, me->real, flags, out);
    if (rc != SQLITE_OK) return rc;
    if (name) {
      me->path = new char[std::strlen(name) + 1];
      std::strcpy(me->path, name);
      self->disk_.sqlite_opened(name);
    }
    f->pMethods = &kMethods;
    return SQLITE_OK;
  }

  static constexpr sqlite3_io_methods kMethods = {
      3,
      [](sqlite3_file* f) {
        const int rc = real(f)->pMethods->xClose(real(f));
        delete[] file(f)->path;
        return rc;
      },
      [](sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
        return real(f)->pMethods->xRead(real(f), buf, n, off);
      },
      [](sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
        if (file(f)->path) file(f)->disk->sqlite_write(file(f)->path, off, buf, n);
        return real(f)->pMethods->xWrite(real(f), buf, n, off);
      },
      [](sqlite3_file* f, sqlite3_int64 size) {
        if (file(f)->path) file(f)->disk->sqlite_truncate(file(f)->path, size);
        return real(f)->pMethods->xTruncate(real(f), size);
      },
      [](sqlite3_file* f, int) {
        if (file(f)->path) file(f)->disk->sqlite_sync(file(f)->path);
        return SQLITE_OK;
      },
      [](sqlite3_file* f, sqlite3_int64* size) {
        return real(f)->pMethods->xFileSize(real(f), size);
      },
      [](sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); },
      [](sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); },
      [](sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); },
      [](sqlite3_file* f, int op, void* arg) {
        return real(f)->pMethods->xFileControl(real(f), op, arg);
      },
      [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); },
      [](sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); },
      [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
        return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
      },
      [](sqlite3_file* f, int offset, int n, int flags) {
        return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
      },
      [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); },
      [](sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); },
      [](sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
        return real(f)->pMethods->xFetch(real(f), off, n, out);
      },
      [](sqlite3_file* f, sqlite3_int64 off, void* p) {
        return real(f)->pMethods->xUnfetch(real(f), off, p);
      },
  };

  CrashDisk& disk_;
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
};

// Video frames libavcodec decodes from `file`; -1 when it cannot be opened or a frame fails.
int decoded_frames(const std::filesystem::path& file) {
  AVFormatContext* fmt = nullptr;
  if (avformat_open_input(&fmt, file.c_str(), nullptr, nullptr) < 0) return -1;
  int frames = -1;
  AVCodecContext* dec = nullptr;
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  [&] {
    if (avformat_find_stream_info(fmt, nullptr) < 0) return;
    const int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (v < 0) return;
    const AVCodec* codec = avcodec_find_decoder(fmt->streams[v]->codecpar->codec_id);
    dec = avcodec_alloc_context3(codec);
    if (avcodec_parameters_to_context(dec, fmt->streams[v]->codecpar) < 0 ||
        avcodec_open2(dec, codec, nullptr) < 0) {
      return;
    }
    int n = 0;
    auto drain = [&] {
      for (;;) {
        const int rc = avcodec_receive_frame(dec, frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return true;
        if (rc < 0 || frame->decode_error_flags != 0) return false;
        ++n;
      }
    };
    while (av_read_frame(fmt, pkt) >= 0) {
      const bool ok = pkt->stream_index != v || (avcodec_send_packet(dec, pkt) >= 0 && drain());
      av_packet_unref(pkt);
      if (!ok) return;
    }
    if (avcodec_send_packet(dec, nullptr) < 0 || !drain()) return;
    frames = n;
  }();
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&dec);
  avformat_close_input(&fmt);
  return frames;
}

constexpr const char* kVfsName = "vigil-power-cut";
const std::vector<std::string> kCameras = {"front", "yard"};

struct Trial {
  uint64_t calls = 0;      // mutating calls the whole recording made (when not cut)
  std::string cut_before;  // kind of call the cut came before
};

class PowerCutTest : public ::testing::Test {
 protected:
  // Records the clip on both cameras (packets interleaved, each handled before the next is
  // given) through a CrashDisk cut before call `cut_at` (0: no cut). With a cut, recovers and
  // checks the snapshot.
  Trial run(uint64_t cut_at, uint64_t seed) {
    const auto& clip = test::test_clip("libx264", 10, 10, 20);  // 10 s, 2 s GOPs
    const AVRational tb = clip.info->video_time_base;
    test::TempDir dir;
    const std::filesystem::path live = dir.path() / "live";
    const std::filesystem::path snapshot = dir.path() / "after-cut";
    std::filesystem::create_directories(live);
    CrashDisk disk(live, seed);
    CrashVfs vfs(kVfsName, disk);
    // Where each camera's stream was (media time of the last packet given) at the cut.
    std::map<std::string, std::atomic<int64_t>> sent;
    std::map<std::string, int64_t> sent_at_cut;
    for (const auto& c : kCameras) sent[c] = -1;
    {
      Catalog catalog("file:" + (live / "vigil.db").string() + "?vfs=" + kVfsName);
      disk.arm(cut_at, snapshot, [&] {
        for (const auto& c : kCameras) sent_at_cut[c] = sent[c].load();
      });
      test::FakeClock clock(kStart);
      RecorderOptions o;
      o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(4));
      o.file_ops = &disk;
      std::vector<std::unique_ptr<Recorder>> recorders;
      for (const auto& c : kCameras) {
        recorders.push_back(std::make_unique<Recorder>(c, live, catalog, clock, o, nullptr));
        recorders.back()->on_stream_start(clip.info, clock.wall_now());
      }
      int64_t prev = -1;
      for (size_t i = 0; i < clip.video.size() && !disk.cut(); ++i) {
        const AVPacket* src = clip.video[i].get();
        if (prev >= 0) clock.advance(WallDuration(av_rescale_q(src->dts - prev, tb, {1, 1000})));
        prev = src->dts;
        for (size_t c = 0; c < kCameras.size(); ++c) {
          sent[kCameras[c]] = src->dts;
          recorders[c]->on_packet(MediaPacket{src, TrackKind::kVideo, clock.wall_now()});
          recorders[c]->wait_idle();
        }
      }
      for (auto& r : recorders) {
        r->on_stream_end("done", clock.wall_now());
        r->wait_idle();  // one camera at a time: the same calls in the same order every run
      }
      recorders.clear();  // writes and closes; after a cut nothing of it counts
    }
    Trial t{disk.calls(), disk.cut_before()};
    if (cut_at == 0) return t;
    EXPECT_TRUE(disk.cut()) << "cut " << cut_at << " never came";
    if (!disk.cut()) return t;

    // After the power comes back: `vigil serve` recovers before anything else.
    SCOPED_TRACE("cut before call " + std::to_string(cut_at) + " (" + t.cut_before + ")");
    Catalog catalog(snapshot / "vigil.db");
    recover_catalog(catalog, snapshot);
    CheckOptions opt;
    opt.verify_hashes = true;
    opt.include_open = true;
    for (const auto& issue : check_catalog(catalog, snapshot, opt).issues) {
      ADD_FAILURE() << issue.path << ": " << issue.problem;
    }
    const Ticks90k gop = std::chrono::duration_cast<Ticks90k>(seconds(2));
    const Ticks90k frame = std::chrono::duration_cast<Ticks90k>(std::chrono::milliseconds(100));
    for (const auto& cam : kCameras) {
      auto rows = catalog.segments_between(cam, kStart, kStart + std::chrono::hours(1));
      WallTime end = kStart;
      Ticks90k kept{0};
      for (const auto& r : rows) {
        EXPECT_EQ(r.state, SegmentState::kClosed) << r.path;
        EXPECT_EQ(r.wall_start, end) << r.path << ": footage must be contiguous from the start";
        end = r.wall_end;
        kept += r.media_duration;
        const int frames = decoded_frames(snapshot / r.path);
        EXPECT_EQ(frames, r.media_duration / frame) << r.path << " must decode, every frame";
      }
      // At most the last fragment: everything up to a GOP (and the frame held back to learn its
      // duration) before the last packet sent is kept.
      const int64_t s = sent_at_cut[cam];
      const Ticks90k sent_time = s < 0 ? Ticks90k(0) : Ticks90k(av_rescale_q(s, tb, {1, 90000}));
      EXPECT_GE(kept + gop + frame, sent_time)
          << cam << ": lost more than the last fragment (kept " << kept.count() << ", sent "
          << sent_time.count() << " ticks)";
      EXPECT_LE(kept, sent_time + frame) << cam << ": more footage than was sent";
    }
    return t;
  }
};

TEST_F(PowerCutTest, AtEveryInstantOfARecordingAtMostTheLastFragmentIsLost) {
  const char* env = std::getenv("VIGIL_POWER_CUT_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::printf("power cut seed: %llu (VIGIL_POWER_CUT_SEED=%llu reproduces this run)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  const uint64_t calls = run(0, seed).calls;
  ASSERT_GT(calls, 100u) << "the recording must make calls worth cutting";
  std::map<std::string, int> kinds;
  for (uint64_t cut = 1; cut <= calls; ++cut) {
    const Trial t = run(cut, seed + cut);
    ++kinds[t.cut_before];
    if (HasFailure()) {
      FAIL() << "first failure at the cut before call " << cut << " of " << calls << " ("
             << t.cut_before << "), seed " << seed;
    }
  }
  std::string summary;
  for (const auto& [kind, n] : kinds) summary += " " + kind + ": " + std::to_string(n) + ";";
  std::printf("%llu cuts, before each call of the recording:%s\n",
              static_cast<unsigned long long>(calls), summary.c_str());
  // The instants the crash procedure is about were all cut: inside a catalog commit (between
  // its writes and its sync), between a fragment's write and its sync, around a directory sync.
  for (const char* k : {"catalog write", "catalog sync", "write", "file sync", "directory sync",
                        "create", "mkdir"}) {
    EXPECT_GT(kinds[k], 0) << k;
  }
}

}  // namespace
}  // namespace vigil
