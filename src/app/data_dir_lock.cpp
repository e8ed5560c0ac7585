#include "app/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace vigil {

DataDirLock::DataDirLock(const std::filesystem::path& data_dir) {
  fd_ = ::open((data_dir / "vigil.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  acquired_ = fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace vigil
