// The record path's way to the file system: every call that creates, writes, syncs, cuts or
// removes footage goes through a FileOps, so that tests can put a slow disk (fsync taking
// seconds) or a power cut (everything not yet synced lost) under the real recorder.
// Production uses FileOps::real(), plain POSIX calls. Reads (scans, hashing) do not go through
// it: they change nothing a power cut could lose.
//
// Calls have POSIX semantics (-1 and errno on failure) so that the code using them reads like
// the system calls it makes. Implementations must be thread-safe: every camera's writer thread
// calls the same instance.
#pragma once

#include <sys/types.h>

#include <filesystem>

namespace vigil {

class FileOps {
 public:
  virtual ~FileOps() = default;
  virtual int open(const char* path, int flags, mode_t mode) = 0;
  virtual ssize_t write(int fd, const void* buf, size_t n) = 0;
  virtual int fdatasync(int fd) = 0;
  virtual int fsync(int fd) = 0;
  virtual int ftruncate(int fd, off_t length) = 0;
  virtual int close(int fd) = 0;
  virtual int mkdir(const char* path, mode_t mode) = 0;
  virtual int unlink(const char* path) = 0;

  // The system calls themselves; stateless, lives for the whole process.
  static FileOps& real();
};

// fsync of a directory through `ops`, so that entries created or removed in it survive a power
// cut. Throws Error (kDataLoss) naming the directory.
void sync_dir(FileOps& ops, const std::filesystem::path& dir);

// Removes `file` (absent is fine) and syncs its directory, so that the removal is durable before
// the caller removes the catalog row that named it. Throws Error naming the file.
void remove_durably(FileOps& ops, const std::filesystem::path& file);

}  // namespace vigil
