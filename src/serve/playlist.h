// HLS media playlists (RFC 8216) built from the catalog: every segment file's init part is an
// EXT-X-MAP and every fragment (one GOP) a media segment, both addressed by byte range in the
// file as recorded, so playback stores and transcodes nothing. Also the HTTP Range parsing
// (RFC 9110 §14) that serving those byte ranges needs.
// Pure functions of their inputs; docs/design/playback.md explains the choices.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "record/fragment_index.h"

namespace vigil {

// One segment file as the playlist needs it: a closed one, or the one being written with the
// fragments synced so far (record/open_segments.h).
struct PlaylistFile {
  int64_t segment_id = 0;
  WallTime wall_start;  // of media time 0 in the file
  uint64_t init_bytes = 0;
  std::vector<Fragment> fragments;  // decoded fragment index
};

struct Playlist {
  std::string text;   // the .m3u8
  int fragments = 0;  // media segments listed
  WallTime first;     // wall time of the first listed fragment (valid when fragments > 0)
  WallTime last_end;  // end of the last one
};

// kVod: everything the window will hold is listed (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST).
// kEvent: the window reaches past the last synced fragment of the file being written, so more
// will be appended; no EXT-X-ENDLIST, and the player reloads the playlist (RFC 8216 §4.3.3.5,
// §6.2.1: an EVENT playlist only grows at its end, as a recording does).
enum class PlaylistType { kVod, kEvent };

// The fragments of `files` (oldest first) that overlap [from, to), as an HLS playlist whose
// URIs are `uri_prefix + segment_id + uri_suffix`. Each file after the first starts with
// EXT-X-DISCONTINUITY (its timestamps restart at 0) and a new EXT-X-MAP; so does a file after a
// gap, which the player thus skips.
Playlist build_playlist(const std::vector<PlaylistFile>& files, WallTime from, WallTime to,
                        const std::string& uri_prefix, const std::string& uri_suffix,
                        PlaylistType type = PlaylistType::kVod);

// The answer to a Range header for a resource of `size` bytes.
struct ByteRange {
  enum class Kind {
    kWhole,          // no Range, another unit, or several ranges: answer 200 with everything
    kPartial,        // answer 206 with [first, last]
    kUnsatisfiable,  // answer 416 with Content-Range: bytes */size
  } kind = Kind::kWhole;
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

// Single "bytes=a-b", "bytes=a-" and "bytes=-n" ranges are served; a range starting at or past
// the end, a suffix of 0 bytes, last < first or garbage after "bytes=" is unsatisfiable (416,
// so that a client's bug shows instead of a silent full download); several ranges at once are
// answered whole (RFC 9110 §14.2 lets a server ignore Range; no player here asks for several).
ByteRange parse_byte_range(std::string_view header, uint64_t size);

}  // namespace vigil
