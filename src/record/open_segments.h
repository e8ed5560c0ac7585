// What the recorders have made durable of the segment files they are still writing, for readers
// on other threads: playback lists the open file's complete fragments and serves their bytes
// (docs/design/playback.md, "The file being recorded"). The catalog cannot tell them: a
// `writing` row gets its fragment index only when it closes (storage.md).
//
// One registry per `vigil serve`, owned by RecorderService and handed by reference to each
// Recorder (the only writers, each on its camera's ingest thread) and to the HTTP API (readers,
// on its pool). Thread-safe: a mutex, held only to copy an entry in or out.
//
// The promise readers rely on: a fragment is added only after SegmentWriter::flush_fragment()
// returned it, i.e. after its bytes were written and fdatasync'd; an entry is removed only after
// the catalog row it mirrors was closed (or removed), so a reader that no longer finds an entry
// finds the closed row instead.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "record/fragment_index.h"

namespace vigil {

// One segment file being written, as far as it is durable.
struct OpenSegment {
  int64_t segment_id = 0;  // the catalog row (state 'writing')
  std::string camera_id;
  std::string path;        // relative to the data directory, as in the row
  WallTime wall_start;     // of media time 0 in the file
  std::string video_codec;
  uint64_t init_bytes = 0;           // ftyp+moov, synced when the file was created
  std::vector<Fragment> fragments;   // complete and synced, in file order

  // Bytes of the file that are complete and synced: the init part and every listed fragment.
  uint64_t durable_bytes() const;
  // Wall time where the last listed fragment ends (wall_start without fragments).
  WallTime durable_end() const;
};

class OpenSegments {
 public:
  // A recorder created `s.path` and synced its init part; `s.fragments` is normally empty.
  void opened(OpenSegment s);
  // A fragment of the segment was written and synced. Ignored for an unknown segment.
  void fragment_synced(int64_t segment_id, const Fragment& f);
  // The segment is no longer being written: its row was closed, or removed with its file.
  void closed(int64_t segment_id);

  std::optional<OpenSegment> find(int64_t segment_id) const;
  // The camera's open segment (a recorder writes one file at a time), if any.
  std::optional<OpenSegment> of_camera(const std::string& camera_id) const;
  // durable_bytes() of the segment, without copying its fragments.
  std::optional<uint64_t> durable_bytes(int64_t segment_id) const;

 private:
  mutable std::mutex mu_;
  std::map<int64_t, OpenSegment> open_;  // by segment id
};

}  // namespace vigil
