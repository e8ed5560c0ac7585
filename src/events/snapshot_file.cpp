#include "events/snapshot_file.h"

#include <fcntl.h>
#include <unistd.h>

#include "core/error.h"

namespace vigil {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string snapshot_relative_path(const std::string& camera_id, int64_t event_id) {
  return "snapshots/" + camera_id + "/" + std::to_string(event_id) + ".jpg";
}

void write_file_atomically(const std::filesystem::path& file, const std::vector<uint8_t>& bytes) {
  const std::filesystem::path dir = file.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::kUnavailable, "create " + dir.string() + ": " + ec.message());
  const std::filesystem::path tmp = file.string() + ".tmp";
  {
    Fd f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f.fd < 0)
      throw Error(ErrorCode::kUnavailable, "create " + tmp.string() + ": " + errno_string(errno));
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(f.fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error(err == ENOSPC ? ErrorCode::kResourceExhausted : ErrorCode::kUnavailable,
                    "write " + tmp.string() + ": " + errno_string(err));
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(f.fd) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      throw Error(ErrorCode::kUnavailable, "fsync " + tmp.string() + ": " + errno_string(err));
    }
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kUnavailable, "rename " + tmp.string() + ": " + errno_string(err));
  }
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0 || ::fsync(d.fd) != 0) {
    throw Error(ErrorCode::kUnavailable, "fsync " + dir.string() + ": " + errno_string(errno));
  }
}

}  // namespace vigil
