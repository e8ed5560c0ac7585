#include "serve/recorded_still.h"

extern "C" {
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "ingest/media.h"

namespace vigil {
namespace {

// The init part and one fragment, read by libavformat from memory: together they are a valid
// fragmented MP4 (ISO/IEC 14496-12 8.8: a moof refers only to the moov's tracks).
struct Memory {
  std::string bytes;
  size_t pos = 0;
};

int read_cb(void* opaque, uint8_t* buf, int size) {
  auto* m = static_cast<Memory*>(opaque);
  const size_t n = std::min(static_cast<size_t>(size), m->bytes.size() - m->pos);
  if (n == 0) return AVERROR_EOF;
  std::memcpy(buf, m->bytes.data() + m->pos, n);
  m->pos += n;
  return static_cast<int>(n);
}

int64_t seek_cb(void* opaque, int64_t offset, int whence) {
  auto* m = static_cast<Memory*>(opaque);
  if (whence == AVSEEK_SIZE) return static_cast<int64_t>(m->bytes.size());
  int64_t to = offset;
  if ((whence & ~AVSEEK_FORCE) == SEEK_CUR) to += static_cast<int64_t>(m->pos);
  if ((whence & ~AVSEEK_FORCE) == SEEK_END) to += static_cast<int64_t>(m->bytes.size());
  if (to < 0 || to > static_cast<int64_t>(m->bytes.size())) return AVERROR(EINVAL);
  m->pos = static_cast<size_t>(to);
  return to;
}

struct InputDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct AvioDeleter {
  void operator()(AVIOContext* io) const {
    av_freep(&io->buffer);
    avio_context_free(&io);
  }
};

}  // namespace

std::optional<Fragment> fragment_at(const std::vector<Fragment>& fragments, WallTime wall_start,
                                    WallTime at) {
  if (at < wall_start || fragments.empty()) return std::nullopt;
  const Ticks90k t = to_ticks(at - wall_start);
  // The last fragment that starts at or before t.
  auto it = std::upper_bound(fragments.begin(), fragments.end(), t,
                             [](Ticks90k x, const Fragment& f) { return x < f.start; });
  if (it == fragments.begin()) return std::nullopt;
  --it;
  if (std::next(it) == fragments.end() && it->start + it->duration <= t) return std::nullopt;
  return *it;
}

JpegImage fragment_still(const std::filesystem::path& file, uint64_t init_bytes,
                         const Fragment& fragment) {
  const std::string where = "still of " + file.string() + " at byte " +
                            std::to_string(fragment.offset);
  std::string bytes(init_bytes + fragment.size, '\0');
  std::ifstream in(file, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(init_bytes));
  in.seekg(static_cast<std::streamoff>(fragment.offset));
  in.read(bytes.data() + init_bytes, static_cast<std::streamsize>(fragment.size));
  if (!in) throw Error(ErrorCode::kDataLoss, where + ": cannot read the file");
  return fragment_still(std::move(bytes), where);
}

JpegImage fragment_still(std::string init_and_fragment, const std::string& where) {
  Memory mem;
  mem.bytes = std::move(init_and_fragment);

  constexpr int kAvioBufferSize = 64 * 1024;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
  if (!buffer) throw Error(ErrorCode::kInternal, where + ": out of memory");
  std::unique_ptr<AVIOContext, AvioDeleter> io(
      avio_alloc_context(buffer, kAvioBufferSize, 0, &mem, &read_cb, nullptr, &seek_cb));
  if (!io) {
    av_free(buffer);
    throw Error(ErrorCode::kInternal, where + ": out of memory");
  }
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) throw Error(ErrorCode::kInternal, where + ": out of memory");
  raw->pb = io.get();
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  int err = avformat_open_input(&raw, nullptr, av_find_input_format("mp4"), nullptr);
  if (err < 0) throw Error(ErrorCode::kDataLoss, where + ": " + av_error_text(err));
  std::unique_ptr<AVFormatContext, InputDeleter> input(raw);
  const int stream = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream < 0) throw Error(ErrorCode::kDataLoss, where + ": no video track");
  StreamInfo info;
  info.video.reset(avcodec_parameters_alloc());
  if (!info.video) throw Error(ErrorCode::kInternal, where + ": out of memory");
  avcodec_parameters_copy(info.video.get(), input->streams[stream]->codecpar);
  info.video_time_base = input->streams[stream]->time_base;
  PacketPtr pkt = make_packet();
  while ((err = av_read_frame(input.get(), pkt.get())) >= 0) {
    // A fragment is one GOP (segment_writer.h): its keyframe comes first, unless the file
    // began mid-GOP; frames before a keyframe cannot be decoded alone.
    if (pkt->stream_index == stream && (pkt->flags & AV_PKT_FLAG_KEY)) {
      try {
        return keyframe_to_jpeg_image(info, *pkt);
      } catch (const Error& e) {
        throw Error(ErrorCode::kDataLoss, where + ": " + e.what());
      }
    }
    av_packet_unref(pkt.get());
  }
  throw Error(ErrorCode::kDataLoss, where + ": no keyframe in the fragment");
}

}  // namespace vigil
