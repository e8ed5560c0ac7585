// The file-system seam for retention: how much space is free where footage is written.
// Tests substitute a fake to play out "disk nearly full" without filling a disk.
#pragma once

#include <cstdint>
#include <filesystem>

namespace vigil {

class DiskSpace {
 public:
  virtual ~DiskSpace() = default;
  // Bytes available to vigil (statvfs f_bavail) on the file system holding `path`.
  virtual uint64_t free_bytes(const std::filesystem::path& path) const = 0;
  // The file system's size (statvfs f_blocks); 0 when unknown (fakes).
  virtual uint64_t total_bytes(const std::filesystem::path&) const { return 0; }
};

class StatvfsDiskSpace final : public DiskSpace {
 public:
  uint64_t free_bytes(const std::filesystem::path& path) const override;
  uint64_t total_bytes(const std::filesystem::path& path) const override;
};

}  // namespace vigil
