#include "serve/preview.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>
}

#include <algorithm>
#include <cstring>

#include "analyze/frame_jpeg.h"

namespace vigil {

std::optional<KeyframePick> nearest_keyframe(const std::vector<PlaylistFile>& files, WallTime at,
                                             WallDuration max_distance) {
  std::optional<KeyframePick> best;
  WallDuration best_distance = max_distance;
  for (const PlaylistFile& f : files) {
    for (const Fragment& frag : f.fragments) {
      const WallTime start = f.wall_start + to_wall(frag.start);
      const WallDuration d = start > at ? start - at : at - start;
      if (d > best_distance || (best && d == best_distance && start >= best->at)) continue;
      best = KeyframePick{f.segment_id, start, f.init_bytes, frag};
      best_distance = d;
    }
  }
  return best;
}

namespace {

// The init part and the fragment, read by libavformat as one file from memory.
struct MemoryFile {
  std::string bytes;
  size_t pos = 0;
};

int read_memory(void* opaque, uint8_t* buf, int size) {
  auto* m = static_cast<MemoryFile*>(opaque);
  const size_t n = std::min(static_cast<size_t>(size), m->bytes.size() - m->pos);
  if (n == 0) return AVERROR_EOF;
  std::memcpy(buf, m->bytes.data() + m->pos, n);
  m->pos += n;
  return static_cast<int>(n);
}

int64_t seek_memory(void* opaque, int64_t offset, int whence) {
  auto* m = static_cast<MemoryFile*>(opaque);
  const auto size = static_cast<int64_t>(m->bytes.size());
  if (whence & AVSEEK_SIZE) return size;
  int64_t to = offset;
  if ((whence & ~AVSEEK_FORCE) == SEEK_CUR) to += static_cast<int64_t>(m->pos);
  if ((whence & ~AVSEEK_FORCE) == SEEK_END) to += size;
  if (to < 0 || to > size) return -1;
  m->pos = static_cast<size_t>(to);
  return to;
}

struct Demuxer {
  AVFormatContext* fmt = nullptr;
  AVIOContext* io = nullptr;
  ~Demuxer() {
    avformat_close_input(&fmt);  // does not free a custom pb
    if (io) av_freep(&io->buffer);
    avio_context_free(&io);
  }
};

struct Decoder {
  AVCodecContext* ctx = nullptr;
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  ~Decoder() {
    avcodec_free_context(&ctx);
    av_packet_free(&pkt);
    av_frame_free(&frame);
  }
};

}  // namespace

std::optional<std::string> fragment_thumbnail(std::string_view init, std::string_view fragment,
                                              int max_width) {
  MemoryFile mem;
  mem.bytes.reserve(init.size() + fragment.size());
  mem.bytes.append(init).append(fragment);
  constexpr int kBuffer = 64 * 1024;
  Demuxer d;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kBuffer));
  if (!buffer) return std::nullopt;
  d.io = avio_alloc_context(buffer, kBuffer, 0, &mem, read_memory, nullptr, seek_memory);
  if (!d.io) {
    av_free(buffer);
    return std::nullopt;
  }
  d.fmt = avformat_alloc_context();
  if (!d.fmt) return std::nullopt;
  d.fmt->pb = d.io;
  d.fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  // On failure avformat_open_input frees the context and nulls the pointer.
  if (avformat_open_input(&d.fmt, nullptr, av_find_input_format("mp4"), nullptr) < 0) {
    return std::nullopt;
  }
  const int video = av_find_best_stream(d.fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (video < 0) return std::nullopt;
  const AVCodecParameters* par = d.fmt->streams[video]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  Decoder dec;
  if (!codec || !dec.pkt || !dec.frame) return std::nullopt;
  dec.ctx = avcodec_alloc_context3(codec);
  if (!dec.ctx || avcodec_parameters_to_context(dec.ctx, par) < 0) return std::nullopt;
  dec.ctx->thread_count = 1;  // one picture: threads would only add latency
  if (avcodec_open2(dec.ctx, codec, nullptr) < 0) return std::nullopt;
  // The fragment starts with its keyframe; a decoder may want a few more packets before it
  // outputs it (reordering), then the end of input flushes it.
  bool flushed = false;
  while (true) {
    const int got = avcodec_receive_frame(dec.ctx, dec.frame);
    if (got == 0) break;
    if (got != AVERROR(EAGAIN) || flushed) return std::nullopt;
    const int r = av_read_frame(d.fmt, dec.pkt);
    if (r < 0) {
      avcodec_send_packet(dec.ctx, nullptr);
      flushed = true;
      continue;
    }
    if (dec.pkt->stream_index == video) avcodec_send_packet(dec.ctx, dec.pkt);
    av_packet_unref(dec.pkt);
  }
  const std::vector<uint8_t> jpeg = frame_to_jpeg(*dec.frame, max_width);
  if (jpeg.empty()) return std::nullopt;
  return std::string(jpeg.begin(), jpeg.end());
}

std::shared_ptr<const std::string> PreviewCache::get(const std::string& key) {
  std::lock_guard lock(mu_);
  const auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void PreviewCache::put(const std::string& key, std::shared_ptr<const std::string> jpeg) {
  std::lock_guard lock(mu_);
  if (const auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.emplace_front(key, std::move(jpeg));
  index_[key] = lru_.begin();
  while (lru_.size() > max_entries_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

}  // namespace vigil
