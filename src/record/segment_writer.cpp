#include "record/segment_writer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

#include "core/error.h"
#include "ingest/media.h"

namespace vigil {

struct SegmentWriter::Sink {
  FileOps* ops = nullptr;
  int fd = -1;
  uint64_t written = 0;
  int error = 0;  // errno of the first failed write
  // The part being written: the init part, then each fragment in turn, from the bytes as they
  // go to the file (never a re-read). The only SHA-256 pass over the media.
  Sha256Hasher part_hash;
  // The hash list of the parts finished so far: the segment's SHA-256 (see part_list_hash).
  Sha256Hasher part_list;
};

namespace {

constexpr int kAvioBufferSize = 64 * 1024;

int write_cb(void* opaque, uint8_t* buf, int size) {
  auto* s = static_cast<SegmentWriter::Sink*>(opaque);
  if (s->error) return AVERROR(s->error);
  int done = 0;
  while (done < size) {
    const ssize_t n = s->ops->write(s->fd, buf + done, static_cast<size_t>(size - done));
    if (n < 0) {
      if (errno == EINTR) continue;
      s->error = errno;
      return AVERROR(s->error);
    }
    s->part_hash.update(buf + done, static_cast<size_t>(n));
    done += static_cast<int>(n);
    s->written += static_cast<uint64_t>(n);
  }
  return size;
}

ErrorCode code_for_errno(int err) {
  return (err == ENOSPC || err == EDQUOT) ? ErrorCode::kResourceExhausted : ErrorCode::kDataLoss;
}

}  // namespace

SegmentWriter::SegmentWriter(const std::filesystem::path& file, const StreamInfo& info,
                             FileOps& ops)
    : path_(file), ops_(ops), sink_(std::make_unique<Sink>()) {
  sink_->ops = &ops;
  sink_->fd = ops.open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (sink_->fd < 0) {
    const int err = errno;
    throw Error(err == EEXIST ? ErrorCode::kAlreadyExists : code_for_errno(err),
                file.string() + ": create: " + errno_string(err));
  }
  try {
    write_init(info);
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
}

void SegmentWriter::write_init(const StreamInfo& info) {
  int err = avformat_alloc_output_context2(&ctx_, nullptr, "mp4", nullptr);
  if (err < 0) fail("mp4 muxer", err);
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
  pb_ = avio_alloc_context(buffer, kAvioBufferSize, 1, sink_.get(), nullptr, &write_cb, nullptr);
  if (!pb_) fail("avio", AVERROR(ENOMEM));
  ctx_->pb = pb_;
  ctx_->flags |= AVFMT_FLAG_CUSTOM_IO;

  AVStream* vs = avformat_new_stream(ctx_, nullptr);
  avcodec_parameters_copy(vs->codecpar, info.video.get());
  // hvc1: parameter sets in the sample entry, the form players (and Safari) expect.
  vs->codecpar->codec_tag =
      info.video->codec_id == AV_CODEC_ID_HEVC ? MKTAG('h', 'v', 'c', '1') : 0;
  vs->time_base = AVRational{1, 90000};
  video_index_ = vs->index;
  if (info.audio) {
    AVStream* as = avformat_new_stream(ctx_, nullptr);
    avcodec_parameters_copy(as->codecpar, info.audio.get());
    as->codecpar->codec_tag = 0;
    as->time_base = info.audio_time_base;
    audio_index_ = as->index;
  }

  AVDictionary* opts = nullptr;
  // frag_custom: we cut fragments ourselves, at each keyframe, so we know where each one lies.
  // empty_moov: the init part is complete before the first sample (the file is playable, and
  // HLS can use it as EXT-X-MAP). default_base_moof: offsets inside a fragment are relative to
  // its moof, so a fragment can be served alone by byte range. skip_trailer: no mfra, the file
  // never needs rewriting.
  av_dict_set(&opts, "movflags", "frag_custom+empty_moov+default_base_moof+skip_trailer", 0);
  av_dict_set(&opts, "video_track_timescale", "90000", 0);
  err = avformat_write_header(ctx_, &opts);
  av_dict_free(&opts);
  if (err < 0) fail("write init part", err);
  avio_flush(pb_);
  if (sink_->error) fail("write init part", AVERROR(sink_->error));
  sync("init part");
  sync_dir(ops_, path_.parent_path());
  init_bytes_ = durable_bytes_ = sink_->written;
  init_hash_ = sink_->part_hash.finish();
  sink_->part_list.update(init_hash_.data(), init_hash_.size());
}

SegmentWriter::~SegmentWriter() { release(); }

void SegmentWriter::release() {
  if (pb_) {
    av_freep(&pb_->buffer);
    avio_context_free(&pb_);
  }
  if (ctx_) avformat_free_context(ctx_);
  ctx_ = nullptr;
  if (sink_->fd >= 0) ops_.close(sink_->fd);
  sink_->fd = -1;
}

void SegmentWriter::fail(const std::string& what, int averr) {
  // Without a failed write or sync, the muxer itself refused (e.g. a bad timestamp): not the
  // disk's fault.
  const int err = sink_->error ? sink_->error : (averr < 0 ? AVUNERROR(averr) : EIO);
  throw Error(sink_->error || err == ENOSPC ? code_for_errno(err) : ErrorCode::kInternal,
              path_.string() + ": " + what + ": " +
                  (sink_->error ? errno_string(sink_->error) : av_error_text(averr)));
}

void SegmentWriter::sync(const char* what) {
  if (ops_.fdatasync(sink_->fd) != 0) {
    // After a failed fsync the page cache may have dropped our data (see PostgreSQL's
    // "fsyncgate"): never retry and pretend; the caller abandons the segment.
    sink_->error = errno;
    fail(std::string("sync ") + what, AVERROR(sink_->error));
  }
}

void SegmentWriter::write(AVPacket* pkt, TrackKind track) {
  if (track == TrackKind::kAudio && audio_index_ < 0) return;
  pkt->stream_index = track == TrackKind::kVideo ? video_index_ : audio_index_;
  if (track == TrackKind::kVideo) pending_video_duration_ += Ticks90k(pkt->duration);
  // The muxer may have chosen another time base for a stream while writing the header.
  const AVRational tb = ctx_->streams[pkt->stream_index]->time_base;
  if (pkt->time_base.num != 0 && av_cmp_q(pkt->time_base, tb) != 0) {
    av_packet_rescale_ts(pkt, pkt->time_base, tb);
    pkt->time_base = tb;
  }
  const int err = av_write_frame(ctx_, pkt);
  if (err < 0) fail("write packet", err);
  pending_samples_ = true;
}

std::optional<Fragment> SegmentWriter::flush_fragment() {
  if (!pending_samples_) return std::nullopt;
  const int err = av_write_frame(ctx_, nullptr);  // frag_custom: cut the fragment here
  if (err < 0) fail("write fragment", err);
  avio_flush(pb_);
  if (sink_->error) fail("write fragment", AVERROR(sink_->error));
  sync("fragment");
  Fragment f;
  f.offset = durable_bytes_;
  f.size = sink_->written - durable_bytes_;
  f.start = durable_duration_;
  f.duration = pending_video_duration_;
  f.sha256 = sink_->part_hash.finish();
  sink_->part_list.update(f.sha256.data(), f.sha256.size());
  durable_bytes_ = sink_->written;
  durable_duration_ += pending_video_duration_;
  pending_video_duration_ = Ticks90k(0);
  pending_samples_ = false;
  return f;
}

Sha256 SegmentWriter::finish() {
  // Bytes past the last fragment would be in the file but in no part: cut a fragment first.
  if (sink_->written != durable_bytes_) {
    throw Error(ErrorCode::kInternal, path_.string() + ": finish with an unflushed fragment");
  }
  sync("final");
  ops_.close(sink_->fd);
  sink_->fd = -1;
  return sink_->part_list.finish();
}

uint64_t SegmentWriter::abandon_to_durable() {
  if (sink_->fd >= 0) {
    if (ops_.ftruncate(sink_->fd, static_cast<off_t>(durable_bytes_)) != 0 ||
        ops_.fdatasync(sink_->fd) != 0) {
      spdlog::error("{}: cannot cut back to {} bytes: {} (recovery will do it at next start)",
                    path_.string(), durable_bytes_, errno_string(errno));
    }
    ops_.close(sink_->fd);
    sink_->fd = -1;
  }
  return durable_bytes_;
}

}  // namespace vigil
