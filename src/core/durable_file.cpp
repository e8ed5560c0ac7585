#include "core/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace vigil {
namespace {

ErrorCode code_for(int err) {
  return (err == ENOSPC || err == EDQUOT) ? ErrorCode::kResourceExhausted : ErrorCode::kDataLoss;
}

}  // namespace

void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kDataLoss, dir.string() + ": open dir: " + errno_string(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw Error(ErrorCode::kDataLoss, dir.string() + ": fsync dir: " + errno_string(err));
}

void write_file_durably(const std::filesystem::path& file, std::string_view contents,
                        mode_t mode) {
  const std::filesystem::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw Error(code_for(errno), tmp.string() + ": create: " + errno_string(errno));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(code_for(err), tmp.string() + ": " + what + ": " + errno_string(err));
  };
  // O_CREAT's mode is filtered by the umask; the caller's mode is what the file must have.
  if (::fchmod(fd, mode) != 0) fail("chmod");
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(code_for(err), tmp.string() + ": close: " + errno_string(err));
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(code_for(err), file.string() + ": rename: " + errno_string(err));
  }
  fsync_dir(file.has_parent_path() ? file.parent_path() : std::filesystem::path("."));
}

void remove_empty_parents(const std::filesystem::path& file, const std::filesystem::path& stop_at) {
  const size_t floor = stop_at.string().size();
  for (auto dir = file.parent_path(); dir != stop_at && dir.string().size() > floor;
       dir = dir.parent_path()) {
    if (::rmdir(dir.c_str()) != 0) break;
  }
}

}  // namespace vigil
