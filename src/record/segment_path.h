// Where a segment file lives: <data>/recordings/<camera>/<YYYY>/<MM>/<DD>/<HH>/<start-ms>.mp4
// (UTC). The path alone names the camera and the start, so a file the catalog lost can be
// adopted again by `vigil check --repair`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/time.h"
#include "record/file_ops.h"

namespace vigil {

// Relative to the data directory.
std::filesystem::path segment_relative_path(const std::string& camera_id, WallTime start);

struct ParsedSegmentPath {
  std::string camera_id;
  WallTime start;
};
// Inverse of segment_relative_path; nullopt for anything else.
std::optional<ParsedSegmentPath> parse_segment_path(const std::filesystem::path& relative);

// mkdir -p that fsyncs each directory it creates, and its parent, so a new directory entry
// survives a power cut before the file in it is recorded in the catalog. Throws Error naming the
// directory (kResourceExhausted when the disk is full).
void create_directories_durably(const std::filesystem::path& dir,
                                FileOps& ops = FileOps::real());

}  // namespace vigil
