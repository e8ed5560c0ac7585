#include "serve/playlist.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace vigil {
namespace {

// EXTINF takes decimal seconds (RFC 8216 §4.3.2.1); milliseconds are finer than any frame.
std::string seconds_text(Ticks90k t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(t.count()) / 90000.0);
  return buf;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Playlist build_playlist(const std::vector<PlaylistFile>& files, WallTime from, WallTime to,
                        const std::string& uri_prefix, const std::string& uri_suffix,
                        PlaylistType type) {
  Playlist out;
  std::string body;
  Ticks90k longest{0};
  bool first_file = true;
  for (const auto& f : files) {
    const std::string uri = uri_prefix + std::to_string(f.segment_id) + uri_suffix;
    bool opened = false;
    for (const auto& frag : f.fragments) {
      const WallTime start = f.wall_start + to_wall(frag.start);
      const WallTime end = f.wall_start + to_wall(frag.start + frag.duration);
      if (end <= from || start >= to) continue;
      if (!opened) {
        // Each file's media time starts at 0 again and may carry other codec parameters: a
        // discontinuity with its own init part (RFC 8216 §4.3.2.3, §4.3.2.5).
        if (!first_file) body += "#EXT-X-DISCONTINUITY\n";
        body +=
            "#EXT-X-MAP:URI=\"" + uri + "\",BYTERANGE=\"" + std::to_string(f.init_bytes) + "@0\"\n";
        body += "#EXT-X-PROGRAM-DATE-TIME:" + format_iso8601(start) + "\n";
        opened = true;
        first_file = false;
        if (out.fragments == 0) out.first = start;
      }
      body += "#EXTINF:" + seconds_text(frag.duration) + ",\n";
      body += "#EXT-X-BYTERANGE:" + std::to_string(frag.size) + "@" + std::to_string(frag.offset) +
              "\n";
      body += uri + "\n";
      longest = std::max(longest, frag.duration);
      out.last_end = end;
      ++out.fragments;
    }
  }
  // EXT-X-TARGETDURATION: every EXTINF rounded to the nearest integer must not exceed it
  // (RFC 8216 §4.3.3.1); rounding up is always safe.
  const int64_t target = std::max<int64_t>(1, (longest.count() + 89'999) / 90'000);
  const bool vod = type == PlaylistType::kVod;
  out.text = std::string("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:") +
             (vod ? "VOD" : "EVENT") +
             "\n#EXT-X-INDEPENDENT-SEGMENTS\n"
             "#EXT-X-TARGETDURATION:" +
             std::to_string(target) + "\n#EXT-X-MEDIA-SEQUENCE:0\n" + body +
             (vod ? "#EXT-X-ENDLIST\n" : "");
  return out;
}

ByteRange parse_byte_range(std::string_view header, uint64_t size) {
  ByteRange r;
  header = trim(header);
  if (header.empty()) return r;
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size()) return r;
  for (size_t i = 0; i < kUnit.size(); ++i) {
    // The unit is case-insensitive (RFC 9110 §14.1); any other unit is ignored.
    if (std::tolower(static_cast<unsigned char>(header[i])) != kUnit[i]) return r;
  }
  std::string_view spec = trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return r;  // several ranges: answer whole
  ByteRange bad;
  bad.kind = ByteRange::Kind::kUnsatisfiable;
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return bad;
  const std::string_view a = trim(spec.substr(0, dash));
  const std::string_view b = trim(spec.substr(dash + 1));
  if (a.empty()) {  // suffix: the last n bytes
    auto n = parse_u64(b);
    if (!n || *n == 0 || size == 0) return bad;
    r.kind = ByteRange::Kind::kPartial;
    r.first = size - std::min(*n, size);
    r.last = size - 1;
    return r;
  }
  auto first = parse_u64(a);
  if (!first || *first >= size) return bad;
  uint64_t last = size - 1;
  if (!b.empty()) {
    auto l = parse_u64(b);
    if (!l || *l < *first) return bad;
    last = std::min(*l, size - 1);
  }
  r.kind = ByteRange::Kind::kPartial;
  r.first = *first;
  r.last = last;
  return r;
}

}  // namespace vigil
