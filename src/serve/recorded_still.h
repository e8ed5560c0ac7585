// A still picture of recorded footage at a past moment, for lists that show what a camera saw
// then (the transactions page's rows): the keyframe that begins the fragment (one GOP, see
// record/fragment_index.h) holding the moment, decoded and encoded as JPEG on demand. Only the
// init part and that one fragment are read from the file, so the cost does not grow with the
// segment's length; nothing is cached (each picture is asked for once per page shown).
// Thread-safe: no shared state; a decode takes a few ms (640x360) to a few tens of ms (1080p).
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "core/time.h"
#include "record/fragment_index.h"
#include "serve/snapshot.h"

namespace vigil {

// The fragment of `fragments` (in file order, media times from the file's start at
// `wall_start`) that plays at `at`; the last one starting before it when `at` falls in a hole;
// nullopt when `at` is before the first or after the last one's end.
std::optional<Fragment> fragment_at(const std::vector<Fragment>& fragments, WallTime wall_start,
                                    WallTime at);

// The JPEG of the first video frame of `fragment` in `file` (a segment file whose init part,
// ftyp+moov, is its first `init_bytes`). Throws Error: kDataLoss naming the file when the bytes
// cannot be read or hold no decodable keyframe.
JpegImage fragment_still(const std::filesystem::path& file, uint64_t init_bytes,
                         const Fragment& fragment);
// The same from the bytes: a segment's init part followed by one fragment's (read from the
// archive); `where` names them in errors.
JpegImage fragment_still(std::string init_and_fragment, const std::string& where);

}  // namespace vigil
