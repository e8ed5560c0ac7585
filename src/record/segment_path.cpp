#include "record/segment_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <regex>
#include <vector>

#include "core/error.h"

namespace vigil {

std::filesystem::path segment_relative_path(const std::string& camera_id, WallTime start) {
  const int64_t ms = ms_since_epoch(start);
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char dirs[32];
  std::snprintf(dirs, sizeof dirs, "%04d/%02d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour);
  return std::filesystem::path("recordings") / camera_id / dirs / (std::to_string(ms) + ".mp4");
}

std::optional<ParsedSegmentPath> parse_segment_path(const std::filesystem::path& relative) {
  static const std::regex re(
      R"(^recordings/([a-z0-9][a-z0-9_-]{0,31})/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{1,15})\.mp4$)");
  std::smatch m;
  const std::string s = relative.generic_string();
  if (!std::regex_match(s, m, re)) return std::nullopt;
  ParsedSegmentPath p{m[1].str(), wall_from_ms(std::stoll(m[6].str()))};
  if (segment_relative_path(p.camera_id, p.start) != relative) return std::nullopt;
  return p;
}

void create_directories_durably(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> missing;
  for (auto p = dir; !p.empty() && !std::filesystem::exists(p); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      const int err = errno;
      throw Error(err == ENOSPC ? ErrorCode::kResourceExhausted : ErrorCode::kUnavailable,
                  it->string() + ": mkdir: " + errno_string(err));
    }
    const int fd = ::open(it->parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
}

}  // namespace vigil
