// Writing files so that a crash or power cut leaves either the old or the new contents, never a
// mix: write a temporary file beside the target, fsync it, rename it over the target, fsync the
// directory (the rename is only durable once the directory is).
#pragma once

#include <filesystem>
#include <string_view>
#include <sys/types.h>

namespace vigil {

// fsync of a directory, so that entries created, renamed or removed in it survive a crash.
// Throws Error(kDataLoss) with the directory's path.
void fsync_dir(const std::filesystem::path& dir);

// Replaces `file` with `contents` atomically and durably; the new file gets `mode` (e.g. 0600
// for a file holding camera passwords). Throws Error with the path; on failure `file` is
// untouched and the temporary file removed.
void write_file_durably(const std::filesystem::path& file, std::string_view contents, mode_t mode);

// Removes the directories from `file`'s own up to `stop_at` (which stays) while they are empty,
// deepest first, so that a tree of day and hour directories does not grow forever as its files
// go. Failing to remove one (not empty) ends it harmlessly.
void remove_empty_parents(const std::filesystem::path& file, const std::filesystem::path& stop_at);

}  // namespace vigil
