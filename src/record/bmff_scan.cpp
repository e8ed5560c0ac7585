#include "record/bmff_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <optional>

namespace vigil {
namespace {

// Big-endian reads from a byte span with bounds checks; any overrun sets `bad`.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  uint64_t u(int bytes) {
    if (pos_ + static_cast<size_t>(bytes) > n_) {
      bad = true;
      pos_ = n_;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | p_[pos_++];
    return v;
  }
  void skip(size_t bytes) {
    if (pos_ + bytes > n_) bad = true;
    pos_ = pos_ + bytes > n_ ? n_ : pos_ + bytes;
  }
  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }
  const uint8_t* here() const { return p_ + pos_; }
  bool bad = false;

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

struct Box {
  uint32_t type = 0;
  uint64_t header = 0;
  uint64_t size = 0;  // whole box including header
};

constexpr uint32_t fourcc(const char (&s)[5]) {
  return (uint32_t(uint8_t(s[0])) << 24) | (uint32_t(uint8_t(s[1])) << 16) |
         (uint32_t(uint8_t(s[2])) << 8) | uint32_t(uint8_t(s[3]));
}

// Reads a box header (§4.2: 32-bit size and type, then a 64-bit size when size is 1; size 0
// runs to the end) of a box that may extend `available` bytes from its start. nullopt when the
// header or the box does not fit.
std::optional<Box> box_header(Reader& r, uint64_t available) {
  if (available < 8 || r.left() < 8) return std::nullopt;
  Box b;
  b.size = r.u(4);
  b.type = static_cast<uint32_t>(r.u(4));
  b.header = 8;
  if (b.size == 1) {
    if (available < 16 || r.left() < 8) return std::nullopt;
    b.size = r.u(8);
    b.header = 16;
  } else if (b.size == 0) {
    b.size = available;
  }
  if (b.size < b.header || b.size > available) return std::nullopt;
  return b;
}

std::optional<Box> child_box(Reader& r) { return box_header(r, r.left()); }

template <typename F>
bool for_each_child(const uint8_t* p, size_t n, F&& f) {
  Reader r(p, n);
  while (r.left() > 0) {
    auto b = child_box(r);
    if (!b) return false;
    const size_t body = static_cast<size_t>(b->size - b->header);
    if (!f(*b, r.here(), body)) return false;
    r.skip(body);
  }
  return true;
}

struct TrackInfo {
  uint32_t timescale = 0;
  bool video = false;
  uint32_t default_duration = 0;  // from trex
};

bool parse_trak(const uint8_t* p, size_t n, uint32_t& track_id, TrackInfo& info) {
  return for_each_child(p, n, [&](const Box& b, const uint8_t* q, size_t m) {
    if (b.type == fourcc("tkhd")) {
      Reader r(q, m);
      const auto version = r.u(1);
      r.skip(3);
      r.skip(version == 1 ? 16 : 8);
      track_id = static_cast<uint32_t>(r.u(4));
      return !r.bad;
    }
    if (b.type == fourcc("mdia")) {
      return for_each_child(q, m, [&](const Box& c, const uint8_t* s, size_t k) {
        Reader r(s, k);
        if (c.type == fourcc("mdhd")) {
          const auto version = r.u(1);
          r.skip(3);
          r.skip(version == 1 ? 16 : 8);
          info.timescale = static_cast<uint32_t>(r.u(4));
          return !r.bad;
        }
        if (c.type == fourcc("hdlr")) {
          r.skip(8);
          info.video = r.u(4) == fourcc("vide");
          return !r.bad;
        }
        return true;
      });
    }
    return true;
  });
}

bool parse_moov(const uint8_t* p, size_t n, std::map<uint32_t, TrackInfo>& tracks) {
  return for_each_child(p, n, [&](const Box& b, const uint8_t* q, size_t m) {
    if (b.type == fourcc("trak")) {
      uint32_t id = 0;
      TrackInfo info;
      if (!parse_trak(q, m, id, info)) return false;
      const uint32_t dflt = tracks[id].default_duration;
      tracks[id] = info;
      tracks[id].default_duration = dflt;
    } else if (b.type == fourcc("mvex")) {
      return for_each_child(q, m, [&](const Box& c, const uint8_t* s, size_t k) {
        if (c.type != fourcc("trex")) return true;
        Reader r(s, k);
        r.skip(4);
        const auto id = static_cast<uint32_t>(r.u(4));
        r.skip(4);  // default_sample_description_index
        tracks[id].default_duration = static_cast<uint32_t>(r.u(4));
        return !r.bad;
      });
    }
    return true;
  });
}

struct TrafTiming {
  uint32_t track_id = 0;
  uint64_t decode_start = 0;
  uint64_t duration = 0;
  uint32_t samples = 0;
};

bool parse_moof(const uint8_t* p, size_t n, const std::map<uint32_t, TrackInfo>& tracks,
                std::vector<TrafTiming>& out) {
  return for_each_child(p, n, [&](const Box& b, const uint8_t* q, size_t m) {
    if (b.type != fourcc("traf")) return true;
    TrafTiming t;
    uint32_t default_duration = 0;
    bool ok = for_each_child(q, m, [&](const Box& c, const uint8_t* s, size_t k) {
      Reader r(s, k);
      if (c.type == fourcc("tfhd")) {
        r.skip(1);
        const auto flags = static_cast<uint32_t>(r.u(3));
        t.track_id = static_cast<uint32_t>(r.u(4));
        if (auto it = tracks.find(t.track_id); it != tracks.end()) {
          default_duration = it->second.default_duration;
        }
        if (flags & 0x1) r.skip(8);
        if (flags & 0x2) r.skip(4);
        if (flags & 0x8) default_duration = static_cast<uint32_t>(r.u(4));
        return !r.bad;
      }
      if (c.type == fourcc("tfdt")) {
        const auto version = r.u(1);
        r.skip(3);
        t.decode_start = r.u(version == 1 ? 8 : 4);
        return !r.bad;
      }
      if (c.type == fourcc("trun")) {
        r.skip(1);
        const auto flags = static_cast<uint32_t>(r.u(3));
        const auto count = static_cast<uint32_t>(r.u(4));
        if (flags & 0x1) r.skip(4);
        if (flags & 0x4) r.skip(4);
        const size_t per_sample = ((flags & 0x100) ? 4 : 0) + ((flags & 0x200) ? 4 : 0) +
                                  ((flags & 0x400) ? 4 : 0) + ((flags & 0x800) ? 4 : 0);
        if (per_sample && r.left() / per_sample < count) return false;
        if (flags & 0x100) {
          for (uint32_t i = 0; i < count; ++i) {
            t.duration += r.u(4);
            r.skip(per_sample - 4);
          }
        } else {
          // Every sample lasts the default. Not a loop: without per-sample fields nothing
          // bounds the count by the box, and a corrupt count of 4 billion took seconds.
          t.duration += uint64_t{count} * default_duration;
        }
        t.samples += count;
        return !r.bad;
      }
      return true;
    });
    if (!ok) return false;
    out.push_back(t);
    return true;
  });
}

// Above these, a fragment's duration or decode time (in its track's timescale) is corruption.
// Both stay within int64 once in 90 kHz ticks, whatever the timescale (to_90k multiplies by
// at most 90000): 2^40 units are 138 days at 90 kHz, 2^46 are 24 years.
constexpr uint64_t kMaxDuration = 1ull << 40;
constexpr uint64_t kMaxDecodeTime = 1ull << 46;

Ticks90k to_90k(uint64_t v, uint32_t timescale) {
  if (timescale == 90000 || timescale == 0) return Ticks90k(static_cast<int64_t>(v));
  // Split to avoid overflow: whole seconds, then the remainder.
  const uint64_t secs = v / timescale;
  const uint64_t rest = v % timescale;
  return Ticks90k(static_cast<int64_t>(secs * 90000 + rest * 90000 / timescale));
}

class File {
 public:
  explicit File(const std::filesystem::path& p) : fd_(::open(p.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  uint64_t size() const {
    struct stat st {};
    return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }
  bool read(uint64_t offset, size_t n, std::vector<uint8_t>& out) const {
    out.resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, out.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }

 private:
  int fd_;
};

// Reads the top-level box header at `offset`; nullopt when it runs past `file_size`.
std::optional<Box> top_box(const File& f, uint64_t offset, uint64_t file_size) {
  const uint64_t available = file_size - offset;
  std::vector<uint8_t> h;
  if (available < 8 || !f.read(offset, available < 16 ? 8 : 16, h)) return std::nullopt;
  Reader r(h.data(), h.size());
  return box_header(r, available);
}

}  // namespace

Ticks90k BmffScan::media_duration() const {
  Ticks90k d{0};
  for (const auto& f : fragments) d += f.duration;
  return d;
}

BmffScan scan_fragmented_mp4(const std::filesystem::path& file) {
  BmffScan s;
  File f(file);
  if (!f.ok()) {
    s.problem = "cannot open";
    return s;
  }
  s.readable = true;
  s.file_bytes = f.size();
  std::map<uint32_t, TrackInfo> tracks;
  bool have_ftyp = false;
  std::optional<ScannedFragment> pending;  // a moof waiting for its mdat
  std::vector<uint8_t> buf;
  uint64_t offset = 0;
  constexpr uint64_t kMaxMetaBox = 64ull << 20;  // moov/moof larger than this are not ours

  while (offset < s.file_bytes) {
    auto box = top_box(f, offset, s.file_bytes);
    if (!box) {
      s.problem = "incomplete box at byte " + std::to_string(offset);
      break;
    }
    const uint32_t t = box->type;
    if (t == fourcc("ftyp")) {
      have_ftyp = true;
    } else if (t == fourcc("moov")) {
      // A second moov (after fragments) would move init_bytes past the fragments that the
      // index counts from it: found by tests/fuzz.
      if (!have_ftyp || s.has_init || box->size > kMaxMetaBox ||
          !f.read(offset + box->header, box->size - box->header, buf) ||
          !parse_moov(buf.data(), buf.size(), tracks)) {
        s.problem = "unexpected or unreadable moov at byte " + std::to_string(offset);
        break;
      }
      for (const auto& [id, info] : tracks) {
        if (info.video && !s.video_track_id) {
          s.video_track_id = id;
          s.video_timescale = info.timescale;
        }
      }
      if (!s.video_track_id) {
        s.problem = "no video track";
        break;
      }
      s.has_init = true;
      s.init_bytes = s.valid_bytes = offset + box->size;
    } else if (t == fourcc("moof")) {
      std::vector<TrafTiming> trafs;
      if (!s.has_init || pending || box->size > kMaxMetaBox ||
          !f.read(offset + box->header, box->size - box->header, buf) ||
          !parse_moof(buf.data(), buf.size(), tracks, trafs)) {
        s.problem = "unexpected or unreadable moof at byte " + std::to_string(offset);
        break;
      }
      ScannedFragment frag;
      frag.offset = offset;
      bool plausible = true;
      for (const auto& tr : trafs) {
        if (tr.track_id != s.video_track_id) continue;
        // Bounded before converting and summing (signed overflow otherwise); a GOP lasts
        // seconds. The fragment index refuses durations above 2^40 too.
        if (tr.duration > kMaxDuration || tr.decode_start > kMaxDecodeTime) plausible = false;
        if (!plausible) break;
        frag.decode_start = to_90k(tr.decode_start, s.video_timescale);
        frag.duration += to_90k(tr.duration, s.video_timescale);
        if (frag.duration > Ticks90k(kMaxDuration)) plausible = false;
        frag.video_samples += tr.samples;
      }
      if (!plausible) {
        s.problem = "implausible fragment duration or time at byte " + std::to_string(offset);
        break;
      }
      pending = frag;
    } else if (t == fourcc("mdat")) {
      if (!pending) {
        s.problem = "mdat without moof at byte " + std::to_string(offset);
        break;
      }
      pending->size = offset + box->size - pending->offset;
      s.fragments.push_back(*pending);
      pending.reset();
      s.valid_bytes = offset + box->size;
    } else if (t == fourcc("mfra") || t == fourcc("free") || t == fourcc("sidx") ||
               t == fourcc("styp") || t == fourcc("prft") || t == fourcc("skip")) {
      if (!pending) s.valid_bytes = offset + box->size;  // harmless boxes between fragments
    } else {
      s.problem = "unexpected box at byte " + std::to_string(offset);
      break;
    }
    offset += box->size;
  }
  if (s.problem.empty() && pending) s.problem = "moof without mdat at the end";
  if (s.problem.empty() && !s.has_init) s.problem = "no init part (ftyp+moov)";
  return s;
}

}  // namespace vigil
