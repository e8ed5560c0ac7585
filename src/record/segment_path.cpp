#include "record/segment_path.h"

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
      R"(^recordings/([a-z0-9][a-z0-9_-]{0,31}(?:\.sub)?)/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{1,15})\.mp4$)");
  std::smatch m;
  const std::string s = relative.generic_string();
  if (!std::regex_match(s, m, re)) return std::nullopt;
  ParsedSegmentPath p{m[1].str(), wall_from_ms(std::stoll(m[6].str()))};
  if (segment_relative_path(p.camera_id, p.start) != relative) return std::nullopt;
  return p;
}

void create_directories_durably(const std::filesystem::path& dir, FileOps& ops) {
  std::vector<std::filesystem::path> missing;
  for (auto p = dir; !p.empty(); p = p.parent_path()) {
    std::error_code ec;
    if (std::filesystem::exists(p, ec)) break;
    if (ec) throw Error(ErrorCode::kUnavailable, p.string() + ": " + ec.message());
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (ops.mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      const int err = errno;
      throw Error(err == ENOSPC || err == EDQUOT ? ErrorCode::kResourceExhausted
                                                 : ErrorCode::kUnavailable,
                  it->string() + ": mkdir: " + errno_string(err));
    }
    sync_dir(ops, it->parent_path());
  }
}

}  // namespace vigil
