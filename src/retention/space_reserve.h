// A file of a fixed size in the data directory that exists only to be deleted. When the disk is
// so full that even SQLite cannot write the 'deleting' mark that must precede every deletion,
// removing it gives the catalog room, and retention can free space again. Without it a full
// disk could stop recording for good (seen on an 8 MiB test file system).
#pragma once

#include <cstdint>
#include <filesystem>

namespace vigil {

class SpaceReserve {
 public:
  SpaceReserve(std::filesystem::path file, uint64_t bytes) : file_(std::move(file)), bytes_(bytes) {}
  uint64_t bytes() const { return bytes_; }
  bool present() const;
  // Creates the file with its blocks allocated; false (and no file) if there is no room.
  bool ensure() const;
  // Deletes the file; false if there was none.
  bool release() const;

 private:
  std::filesystem::path file_;
  uint64_t bytes_;
};

}  // namespace vigil
