// Writes one segment file: a standalone fragmented MP4 (ISO/IEC 14496-12 §8.8): ftyp + an empty
// moov (the init part), then one moof+mdat fragment per GOP, appended and never rewritten.
// Remux only — packets go in as they came from the camera.
//
// Durability: the file is created exclusively; the init part and every fragment are fdatasync'd
// as soon as written, so after a crash the file holds every fragment that flush_fragment()
// returned. Each part (init, every fragment) is hashed (SHA-256) as it is written, for the
// integrity chain; the segment's own hash is the hash list of those (part_list_hash).
// Every create, write, sync and cut goes through a FileOps (record/file_ops.h).
// Not thread-safe; owned by one camera's recorder (on its writer thread).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "ingest/media.h"
#include "integrity/file_hash.h"
#include "record/file_ops.h"
#include "record/fragment_index.h"

struct AVFormatContext;
struct AVIOContext;

namespace vigil {

class SegmentWriter {
 public:
  // Creates `file` (must not exist), writes and syncs the init part and its directory entry.
  // Throws Error (kResourceExhausted on ENOSPC) naming the file. `ops` must outlive the writer.
  SegmentWriter(const std::filesystem::path& file, const StreamInfo& info,
                FileOps& ops = FileOps::real());
  // Without finish(), the file is left as it is on disk (recovery or the caller cuts it back).
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Adds a packet whose timestamps are relative to the segment start, in the track's time base
  // (video: 1/90000), with its duration set. Throws Error on a write failure.
  void write(AVPacket* pkt, TrackKind track);
  // Writes the buffered samples as one fragment and syncs it, with the SHA-256 of its bytes
  // (moof+mdat) in Fragment::sha256. nullopt if nothing was buffered.
  std::optional<Fragment> flush_fragment();
  // Final sync and close, after flush_fragment(). Returns the segment's SHA-256: part_list_hash
  // of the init part's and every fragment's SHA-256.
  Sha256 finish();
  // After a failed write: cuts the file back to the last synced fragment and closes it.
  // Returns the durable length. Never throws for the cut; a failure is logged and reported.
  uint64_t abandon_to_durable();

  uint64_t init_bytes() const { return init_bytes_; }
  // SHA-256 of the init part (ftyp+moov), from the bytes written.
  const Sha256& init_hash() const { return init_hash_; }
  uint64_t durable_bytes() const { return durable_bytes_; }
  Ticks90k durable_duration() const { return durable_duration_; }
  const std::filesystem::path& path() const { return path_; }

  struct Sink;  // the AVIO write target (file descriptor, position, hash); public for the callback

 private:
  // Creates the muxer and writes and syncs the init part (the constructor's second half).
  void write_init(const StreamInfo& info);
  // Frees the muxer and closes the file, as it is on disk.
  void release();
  void sync(const char* what);
  [[noreturn]] void fail(const std::string& what, int averr);

  std::filesystem::path path_;
  FileOps& ops_;
  std::unique_ptr<Sink> sink_;
  AVFormatContext* ctx_ = nullptr;
  AVIOContext* pb_ = nullptr;
  int video_index_ = 0;
  int audio_index_ = -1;
  uint64_t init_bytes_ = 0;
  Sha256 init_hash_{};
  uint64_t durable_bytes_ = 0;
  Ticks90k durable_duration_{0};
  Ticks90k pending_video_duration_{0};
  bool pending_samples_ = false;
};

}  // namespace vigil
