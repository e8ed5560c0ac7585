#include "app/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace vigil {

void make_private_data_dir(const std::filesystem::path& data_dir) {
  namespace fs = std::filesystem;
  fs::create_directories(data_dir);
  std::error_code ec;
  fs::permissions(data_dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec,
                  ec);
  // A directory vigil does not own (a mount point prepared by root) keeps the mode its owner
  // chose: that is their decision, and refusing to start over it would stop the recording.
  if (ec) {
    spdlog::warn("data directory {}: cannot make it 0750 ({}); check who may read it",
                 data_dir.string(), ec.message());
  }
}

DataDirLock::DataDirLock(const std::filesystem::path& data_dir) {
  fd_ = ::open((data_dir / "vigil.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  acquired_ = fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace vigil
