// The first-run setup link kept for `vigil setup-url`: see setup_link.h.
#include "app/setup_link.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace vigil {
namespace {

std::filesystem::path link_file(const std::filesystem::path& data_dir) {
  return data_dir / "setup-url";
}

}  // namespace

std::string setup_link(const std::string& base_url, const std::string& token) {
  // The token is base64url: nothing in it needs escaping in a URL.
  return base_url + "#/setup?token=" + token;
}

void write_setup_link(const std::filesystem::path& data_dir, const std::string& link) {
  const auto file = link_file(data_dir);
  const auto tmp = data_dir / "setup-url.tmp";
  // Created 0600 rather than made so afterwards: no moment where the group may read it.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCode::kInternal, tmp.string() + ": cannot create: " + std::strerror(errno));
  }
  const std::string text = link + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  ::close(fd);
  std::error_code ec;
  if (!written) {
    std::filesystem::remove(tmp, ec);
    throw Error(ErrorCode::kInternal, tmp.string() + ": cannot write: " + std::strerror(saved));
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) throw Error(ErrorCode::kInternal, file.string() + ": cannot replace: " + ec.message());
}

void remove_setup_link(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::remove(link_file(data_dir), ec);
}

std::optional<std::string> read_setup_link(const std::filesystem::path& data_dir) {
  std::ifstream in(link_file(data_dir));
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return std::nullopt;
  return line;
}

}  // namespace vigil
