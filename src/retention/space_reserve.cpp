#include "retention/space_reserve.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace vigil {

bool SpaceReserve::present() const {
  std::error_code ec;
  return std::filesystem::file_size(file_, ec) == bytes_ && !ec;
}

bool SpaceReserve::ensure() const {
  if (present()) return true;
  const auto tmp = file_.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  // posix_fallocate really reserves the blocks (a sparse file would free nothing).
  const bool ok = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_)) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool SpaceReserve::release() const { return ::unlink(file_.c_str()) == 0; }

}  // namespace vigil
