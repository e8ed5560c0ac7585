// Event snapshots on disk: <data>/snapshots/<camera>/<event-id>.jpg, written atomically (a
// temporary file, fsync, rename over the old one, fsync of the directory), so a reader or a crash
// sees the old picture or the new one, never half of one; and written before the catalog row
// names it (docs/design/storage.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vigil {

// The snapshot's path relative to the data directory.
std::string snapshot_relative_path(const std::string& camera_id, int64_t event_id);

// Writes `bytes` to `file` atomically; creates the directory. Throws Error naming the file.
void write_file_atomically(const std::filesystem::path& file, const std::vector<uint8_t>& bytes);

}  // namespace vigil
