#include "record/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace vigil {
namespace {

class RealFileOps final : public FileOps {
 public:
  int open(const char* path, int flags, mode_t mode) override { return ::open(path, flags, mode); }
  ssize_t write(int fd, const void* buf, size_t n) override { return ::write(fd, buf, n); }
  int fdatasync(int fd) override { return ::fdatasync(fd); }
  int fsync(int fd) override { return ::fsync(fd); }
  int ftruncate(int fd, off_t length) override { return ::ftruncate(fd, length); }
  int close(int fd) override { return ::close(fd); }
  int mkdir(const char* path, mode_t mode) override { return ::mkdir(path, mode); }
  int unlink(const char* path) override { return ::unlink(path); }
};

}  // namespace

FileOps& FileOps::real() {
  // No state: one instance serves every thread.
  static RealFileOps ops;
  return ops;
}

void sync_dir(FileOps& ops, const std::filesystem::path& dir) {
  const int fd = ops.open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0)
    throw Error(ErrorCode::kDataLoss, dir.string() + ": open dir: " + errno_string(errno));
  const int rc = ops.fsync(fd);
  const int err = errno;
  ops.close(fd);
  if (rc != 0)
    throw Error(ErrorCode::kDataLoss, dir.string() + ": fsync dir: " + errno_string(err));
}

void remove_durably(FileOps& ops, const std::filesystem::path& file) {
  if (ops.unlink(file.c_str()) != 0) {
    const int err = errno;
    if (err != ENOENT) {
      throw Error(ErrorCode::kDataLoss, file.string() + ": remove: " + errno_string(err));
    }
    // Gone already, perhaps by an unlink whose directory was never synced: sync it now, if the
    // directory is still there.
    std::error_code ec;
    if (!std::filesystem::is_directory(file.parent_path(), ec)) return;
  }
  sync_dir(ops, file.parent_path());
}

}  // namespace vigil
