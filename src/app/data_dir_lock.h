// Exclusive use of a data directory: `vigil serve` and `vigil check --repair` hold an flock on
// <data>/vigil.lock, so two recorders never write the same files. The kernel drops the lock when
// the process dies (even by kill -9), so a crash never leaves a stale lock.
#pragma once

#include <filesystem>

namespace vigil {

// Creates the data directory if needed and makes it 0750 (owner and group only): it holds
// password and token hashes (vigil.db) and the footage. An existing directory made world-readable
// by an older vigil is tightened too, which also shuts others out of the files already in it.
void make_private_data_dir(const std::filesystem::path& data_dir);

class DataDirLock {
 public:
  // Non-blocking; acquired() tells whether it worked.
  explicit DataDirLock(const std::filesystem::path& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  bool acquired() const { return acquired_; }

 private:
  int fd_ = -1;
  bool acquired_ = false;
};

}  // namespace vigil
