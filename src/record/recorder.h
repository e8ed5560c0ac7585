// The recorder of one camera: a PacketSink that turns the camera's packets into segment files
// and catalog rows.
//
// Two threads, so that the disk never stalls the camera's reader (Moonfire NVR's syncer, in
// server/db/writer.rs, does the same): the PacketSink calls, on the camera's ingest thread, only
// take a reference to the packet and queue it; the recorder's own writer thread (`wr:<camera>`)
// muxes, writes, fsyncs and commits the catalog rows. The queue is bounded (bytes): when the
// disk falls that far behind, the reader drops packets (counted in the status) until a keyframe
// finds room again, and the writer ends the segment there and records the lost stretch as a gap.
// The reader never waits for the writer.
// The writer thread is a SupervisedThread (component `writer`, core/supervision.h): a disk error
// (a vigil::Error from the file system or the catalog) is the recorder's own business, reported
// as "disk error" and retried at later keyframes; anything else that escapes it (a bug,
// std::bad_alloc) fails the component, which ends the segment at its last synced fragment,
// records the gap and restarts the writer after the supervisor's backoff, with the queue kept:
// the packet being handled is counted as dropped, the rest are written.
//
//  - A fragment ends at every video keyframe (one GOP per fragment).
//  - A segment (file) ends at the first keyframe after `segment_duration` of media time, when the
//    stream ends, when the camera's timestamps jump, or when media time and the host clock
//    disagree by more than `max_wall_drift` (host clock stepped, camera clock drifted).
//  - Wall time of footage: a run (continuous media timeline) is anchored to the host clock at its
//    first keyframe; segments of a run follow each other without gaps. See docs/design/time.md.
//  - A failed write (disk full, I/O error, read-only file system) keeps everything synced so
//    far, asks retention for space when the disk is full, and resumes at a later keyframe, after
//    a delay that doubles with each consecutive failure; the lost stretch is recorded as a gap.
//    Every file system call on this path goes through a FileOps (record/file_ops.h) and every
//    failure becomes an Error with the path: nothing thrown reaches the camera's thread.
//  - Every fragment, once synced, extends the camera's hash chain (one row: its SHA-256 from the
//    bytes written, and the link over it; docs/design/integrity.md); a gap in the footage is a
//    chain entry too. With a signer, a signed checkpoint of the chain's head is stored every
//    `period` while recording and at every segment close.
//  - The open file and each fragment once synced are published to an OpenSegments registry (when
//    given), so that playback can serve the file being written (record/open_segments.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/supervision.h"
#include "ingest/media.h"
#include "integrity/key_store.h"
#include "record/file_ops.h"
#include "record/fragment_index.h"
#include "record/open_segments.h"
#include "record/segment_writer.h"

namespace vigil {

struct RecorderOptions {
  Ticks90k segment_duration = std::chrono::duration_cast<Ticks90k>(std::chrono::minutes(2));
  WallDuration max_wall_drift = std::chrono::seconds(5);
  // Timestamps moving backwards, or forwards by more than this between two frames, are a jump.
  Ticks90k max_frame_gap = std::chrono::duration_cast<Ticks90k>(std::chrono::seconds(10));
  // After a failed write, wait at least this long before opening a new file; the wait doubles
  // with each consecutive failure (a read-only disk is retried, not hammered) up to the max.
  std::chrono::milliseconds retry_after_failure{1000};
  std::chrono::milliseconds max_retry_after_failure{30000};
  // Packets read but not yet written, in bytes (payload plus a fixed overhead per packet): the
  // disk may fall this far behind before the reader drops. 64 MiB is two minutes of a 4 Mbit/s
  // camera.
  size_t queue_bytes = 64u << 20;
  // True while the disk is below min_free_space with nothing left to delete but footage under
  // an evidence hold (Retention::held_full): no new file is opened then, so that what space is
  // left (retention's reserve among it) stays for the catalog, which must still take an admin's
  // login and the release of a hold. Empty: always open. Called on the writer thread.
  std::function<bool()> disk_held_full;
  // The file system; null for the real one (FileOps::real()). Must outlive the recorder.
  FileOps* file_ops = nullptr;
  // Where the writer thread's failures are reported (component `writer`); null: logged only.
  // Must outlive the recorder.
  ComponentRegistry* components = nullptr;
  // The writer's restarts after a failure that is not a disk error.
  RestartPolicy writer_restart;
  // Signs checkpoints of the hash chain; null: the chain is kept but not signed (tests).
  std::shared_ptr<const CheckpointSigner> signer;
};

struct RecorderStatus {
  std::string current_file;  // relative path, empty when not recording
  int64_t segments_closed = 0;
  uint64_t bytes_written = 0;
  int64_t packets_dropped = 0;  // not recordable: before the first keyframe, bad timestamps
  std::string last_error;
  // The last failure was a full disk (ENOSPC/EDQUOT) and no segment has opened since.
  bool disk_full = false;
  // Recording failed on the disk (any write, sync or catalog failure: read-only file system,
  // I/O error, full disk) and no segment has opened since; retrying with backoff.
  bool disk_error = false;
  // The writer's queue: times it overflowed, packets dropped for it, bytes held now.
  int64_t queue_overflows = 0;
  int64_t queue_dropped = 0;
  uint64_t queue_bytes = 0;
};

class Recorder final : public PacketSink {
 public:
  using DiskFullHandler = std::function<void()>;

  // `open_segments`, when not null, must outlive the Recorder. `catalog`, `on_disk_full` and
  // `open_segments` are used on the writer thread, which starts here.
  Recorder(std::string camera_id, std::filesystem::path data_dir, Catalog& catalog,
           const Clock& clock, RecorderOptions options, DiskFullHandler on_disk_full,
           OpenSegments* open_segments = nullptr);
  // Writes what is queued, closes the open segment ("vigil stopped") and joins the writer.
  ~Recorder() override;

  // The PacketSink calls: queue and return, never waiting for the disk. Called by one thread
  // at a time (the camera's ingest thread).
  void on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime now) override;
  void on_packet(const MediaPacket& p) override;
  void on_stream_end(const std::string& reason, WallTime now) override;

  // Returns once the writer has handled everything queued so far (tests, orderly stops).
  void wait_idle();

  RecorderStatus status() const;

 private:
  // What the reader hands the writer.
  struct Item {
    // kOverflow: the reader dropped packets (queue full); kStop: the recorder is destroyed.
    enum class Kind { kStart, kPacket, kEnd, kOverflow, kStop };
    Kind kind = Kind::kPacket;
    PacketPtr pkt;  // kPacket: a reference to the camera's packet
    TrackKind track = TrackKind::kVideo;
    WallTime received;                       // kPacket: host wall clock when read
    SteadyTime steady;                       // host steady clock when queued
    std::shared_ptr<const StreamInfo> info;  // kStart
    std::string reason;                      // kEnd
    size_t bytes = 0;                        // what it counts against options_.queue_bytes
  };
  void enqueue(Item item, bool wake);
  // The writer thread's body: takes items in order until stopped and drained.
  void run();
  // One item. A vigil::Error ends the segment as a failed write; anything else is repaired the
  // same way, then rethrown to the supervisor.
  void handle(Item& item);
  // handle_failure(), and when that fails too, forgets the open segment (recovery closes it at
  // the next start). On the writer thread, before a restart.
  void repair(const Error& failure);

  // Everything below runs on the writer thread only (status fields excepted).
  void start_stream(std::shared_ptr<const StreamInfo> info);
  void end_stream(const std::string& close_reason, const std::string& gap_reason);
  void write_packet(const MediaPacket& p);
  struct Run {
    bool active = false;
    WallTime wall_origin;
    Ticks90k media_origin{0};
  };
  struct Open {
    std::unique_ptr<SegmentWriter> writer;
    int64_t row_id = 0;
    std::string relative_path;
    WallTime wall_start;
    Ticks90k origin{0};        // media time of the first frame
    int64_t audio_origin = 0;  // the same instant in the audio time base
    int64_t last_audio_pts = INT64_MIN;
    std::vector<Fragment> fragments;
  };

  void on_video(const MediaPacket& p);
  void on_audio(const MediaPacket& p);
  // Writes queued audio that starts before `until` (media time) into the open segment.
  void write_audio_until(Ticks90k until);
  void write_pending_video(Ticks90k duration);
  void drop_pending();
  void open_segment(Ticks90k dts);
  // Ends the open segment (if any), writing the pending frame first.
  void close_segment(const std::string& reason);
  void handle_failure(const Error& e);
  // A segment whose end the catalog refused after a failed write (a full disk can refuse the
  // retry too): its row stays 'writing' until a later try gets through, before the next segment
  // opens and when vigil stops, rather than until recovery at the next start.
  struct Unclosed {
    int64_t row_id = 0;
    std::string relative_path;
    std::optional<ClosedSegment> closed;  // nullopt: nothing was durable; the file and row go
  };
  // Ends `u` in the catalog; throws what the catalog or the disk refused.
  void end_unclosed(const Unclosed& u);
  // Tries each of unclosed_ once; those refused again stay for the next try.
  void retry_unclosed();
  // Drops open_, after its row was closed or removed, and tells open_segments_.
  void forget_open();
  // Flushes the open file's buffered GOP as a fragment; published once synced.
  void flush_fragment();
  // Adds a synced fragment of the open file to its index and to the hash chain.
  void add_fragment(const Fragment& f);
  // Appends `e` to the camera's chain (the head is read from the catalog once).
  void extend_chain(ChainEntry e, int64_t segment_id = 0, int64_t fragment_position = -1);
  // Signs and stores a checkpoint of the chain's head, unless one covers it already. Logs
  // failures: a checkpoint that could not be stored never stops recording.
  void checkpoint();
  void set_error(const std::string& e);
  void drop() { ++dropped_; }

  const std::string camera_id_;
  const std::filesystem::path data_dir_;
  Catalog& catalog_;
  const Clock& clock_;
  const RecorderOptions options_;
  FileOps& ops_;
  DiskFullHandler on_disk_full_;
  OpenSegments* const open_segments_;

  // The queue between the reader and the writer thread.
  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;  // the writer waits for work
  std::condition_variable idle_cv_;   // wait_idle() waits for the writer
  std::deque<Item> queue_;            // guarded by queue_mu_
  size_t queued_bytes_ = 0;           // guarded by queue_mu_; includes the item being handled
  bool wake_ = false;                 // guarded by queue_mu_: the writer has work worth waking for
  bool busy_ = false;                 // guarded by queue_mu_: the writer is handling items
  bool stopping_ = false;             // guarded by queue_mu_
  int64_t queue_overflows_ = 0;       // guarded by queue_mu_
  int64_t queue_dropped_ = 0;         // guarded by queue_mu_
  // Reader side only: after an overflow, packets are dropped until a keyframe finds room.
  bool overflowed_ = false;

  // Writer side.
  std::deque<Item> batch_;  // taken from queue_, being handled; kept across a restart
  SteadyTime now_;  // steady time the item being handled was queued: time as the reader saw it
  int consecutive_failures_ = 0;

  std::shared_ptr<const StreamInfo> info_;
  Run run_;
  std::optional<Open> open_;
  std::vector<Unclosed> unclosed_;
  bool waiting_for_keyframe_ = true;
  std::optional<SteadyTime> suspended_until_;
  PacketPtr pending_ = make_packet();  // the last video frame, until the next gives its duration
  bool has_pending_ = false;
  Ticks90k pending_dts_{0};
  Ticks90k pending_pts_{0};
  Ticks90k last_frame_duration_{3600};  // 25 fps until measured
  // Audio waits here until the video has been written up to its time, so that the muxer sees
  // the tracks interleaved and every fragment holds the audio of its own GOP. Timestamps are
  // the camera's, in the audio time base; bounded by one video frame's worth in practice.
  std::deque<PacketPtr> audio_queue_;
  std::string gap_reason_ = "vigil was not recording";
  // The chain's last row, once read from the catalog (chain_loaded_).
  bool chain_loaded_ = false;
  std::optional<ChainRow> chain_head_;
  std::optional<SteadyTime> last_checkpoint_;
  std::optional<uint64_t> last_checkpoint_sequence_;

  mutable std::mutex status_mu_;
  int64_t segments_closed_ = 0;
  uint64_t bytes_written_ = 0;
  std::atomic<int64_t> dropped_{0};
  std::string last_error_;
  bool disk_full_ = false;  // guarded by status_mu_
  std::string current_file_;
  bool disk_error_ = false;  // guarded by status_mu_

  SupervisedThread thread_;  // last: started once everything above exists
};

}  // namespace vigil
