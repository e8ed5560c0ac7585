#include "record/recorder.h"

#include <spdlog/spdlog.h>

extern "C" {
#include <libavutil/mathematics.h>
}

#include "core/error.h"
#include "record/segment_path.h"

namespace vigil {
namespace {

constexpr AVRational k90k{1, 90000};

Ticks90k to90k(int64_t ts, AVRational tb) { return Ticks90k(av_rescale_q(ts, tb, k90k)); }

std::string seconds_text(Ticks90k t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", std::chrono::duration<double>(t).count());
  return buf;
}

}  // namespace

Recorder::Recorder(std::string camera_id, std::filesystem::path data_dir, Catalog& catalog,
                   const Clock& clock, RecorderOptions options, DiskFullHandler on_disk_full,
                   OpenSegments* open_segments)
    : camera_id_(std::move(camera_id)),
      data_dir_(std::move(data_dir)),
      catalog_(catalog),
      clock_(clock),
      options_(options),
      on_disk_full_(std::move(on_disk_full)),
      open_segments_(open_segments) {}

Recorder::~Recorder() { close_segment("vigil stopped"); }

void Recorder::on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime) {
  info_ = std::move(info);
  audio_queue_.clear();
  run_ = Run{};
  waiting_for_keyframe_ = true;
  drop_pending();
}

void Recorder::on_stream_end(const std::string& reason, WallTime) {
  close_segment("stream ended: " + reason);
  run_ = Run{};
  waiting_for_keyframe_ = true;
  gap_reason_ = reason;
}

void Recorder::on_packet(const MediaPacket& p) {
  if (!info_) return;
  if (p.track == TrackKind::kVideo) {
    on_video(p);
  } else {
    on_audio(p);
  }
}

void Recorder::on_video(const MediaPacket& p) {
  const AVPacket* pkt = p.pkt;
  const AVRational tb = info_->video_time_base;
  Ticks90k dts;
  if (pkt->dts != AV_NOPTS_VALUE) {
    dts = to90k(pkt->dts, tb);
  } else if (pkt->pts != AV_NOPTS_VALUE) {
    dts = to90k(pkt->pts, tb);
  } else if (has_pending_) {
    dts = pending_dts_ + last_frame_duration_;  // the first packet of an RTSP session may lack it
  } else {
    return drop();
  }
  const Ticks90k pts = pkt->pts != AV_NOPTS_VALUE ? to90k(pkt->pts, tb) : dts;
  const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;

  if (has_pending_) {
    const Ticks90k delta = dts - pending_dts_;
    if (delta <= Ticks90k(0) || delta > options_.max_frame_gap) {
      spdlog::warn("camera {}: timestamps jumped by {} after {}; starting a new segment",
                   camera_id_, seconds_text(delta), open_ ? open_->relative_path : "(none)");
      close_segment("timestamp jump");
      run_ = Run{};
      waiting_for_keyframe_ = true;
      gap_reason_.clear();  // time went on; only the camera's clock jumped
    } else {
      last_frame_duration_ = delta;
      write_pending_video(delta);
    }
  }
  if (waiting_for_keyframe_) {
    if (!key) return drop();
    if (suspended_until_ && clock_.steady_now() < *suspended_until_) return drop();
    suspended_until_.reset();
    waiting_for_keyframe_ = false;
  }

  if (key) {
    if (open_) {
      try {
        flush_fragment();
      } catch (const Error& e) {
        return handle_failure(e);
      }
    }
    if (run_.active) {
      const WallTime expected = run_.wall_origin + to_wall(dts - run_.media_origin);
      const WallDuration drift = p.received - expected;
      if (drift > options_.max_wall_drift || drift < -options_.max_wall_drift) {
        spdlog::warn("camera {}: media time and host clock differ by {} ms (host clock jump or "
                     "camera clock drift); re-anchoring wall time",
                     camera_id_, drift.count());
        close_segment("clock jump");
        run_ = Run{};
      } else if (open_ && dts - open_->origin >= options_.segment_duration) {
        close_segment("duration");
      }
    }
    if (!run_.active) {
      run_.active = true;
      run_.wall_origin = p.received;
      run_.media_origin = dts;
    }
    if (!open_) {
      open_segment(dts);
      if (!open_) {
        waiting_for_keyframe_ = true;
        drop_pending();
        return;
      }
    }
  }
  if (!open_) return drop();

  drop_pending();
  if (av_packet_ref(pending_.get(), pkt) < 0) return drop();
  has_pending_ = true;
  pending_dts_ = dts;
  pending_pts_ = pts < dts ? dts : pts;
}

void Recorder::drop_pending() {
  av_packet_unref(pending_.get());
  has_pending_ = false;
}

void Recorder::write_pending_video(Ticks90k duration) {
  if (!has_pending_ || !open_) return drop_pending();
  AVPacket* pkt = pending_.get();
  pkt->dts = (pending_dts_ - open_->origin).count();
  pkt->pts = (pending_pts_ - open_->origin).count();
  pkt->duration = duration.count();
  pkt->time_base = k90k;
  const Ticks90k frame_end = pending_dts_ + duration;
  try {
    open_->writer->write(pkt, TrackKind::kVideo);
  } catch (const Error& e) {
    handle_failure(e);
  }
  drop_pending();
  write_audio_until(frame_end);
}

void Recorder::on_audio(const MediaPacket& p) {
  if (!open_ || waiting_for_keyframe_ || !info_->audio) return;
  const AVPacket* in = p.pkt;
  const int64_t ts = in->pts != AV_NOPTS_VALUE ? in->pts : in->dts;
  if (ts == AV_NOPTS_VALUE) return drop();
  constexpr size_t kMaxQueued = 256;  // ~5 s of AAC: video stopped but audio goes on
  if (audio_queue_.size() >= kMaxQueued) return drop();
  PacketPtr copy = make_packet();
  if (av_packet_ref(copy.get(), in) < 0) return drop();
  copy->pts = copy->dts = ts;
  // An AAC frame is 1024 samples; RTP depayloading leaves the duration unset.
  copy->duration = in->duration > 0 ? in->duration
                                    : av_rescale_q(1024, AVRational{1, info_->audio->sample_rate},
                                                   info_->audio_time_base);
  audio_queue_.push_back(std::move(copy));
}

void Recorder::write_audio_until(Ticks90k until) {
  while (open_ && !audio_queue_.empty()) {
    AVPacket* a = audio_queue_.front().get();
    if (to90k(a->pts, info_->audio_time_base) >= until) break;
    PacketPtr pkt = std::move(audio_queue_.front());
    audio_queue_.pop_front();
    const int64_t rel = pkt->pts - open_->audio_origin;
    if (rel < 0 || rel <= open_->last_audio_pts) {
      drop();  // from before this segment's first frame, or out of order
      continue;
    }
    pkt->pts = pkt->dts = rel;
    pkt->time_base = info_->audio_time_base;
    try {
      open_->writer->write(pkt.get(), TrackKind::kAudio);
      open_->last_audio_pts = rel;
    } catch (const Error& e) {
      handle_failure(e);
    }
  }
}

void Recorder::open_segment(Ticks90k dts) {
  const WallTime start = run_.wall_origin + to_wall(dts - run_.media_origin);
  WallTime name_time = start;
  std::filesystem::path rel = segment_relative_path(camera_id_, name_time);
  // Two files may want the same millisecond (the host clock stepped back); the name only has to
  // be unique, the catalog row holds the true start.
  while (std::filesystem::exists(data_dir_ / rel)) {
    name_time += WallDuration(1);
    rel = segment_relative_path(camera_id_, name_time);
  }
  const std::optional<WallTime> previous_end = catalog_.last_wall_end(camera_id_);
  int64_t row = 0;
  try {
    create_directories_durably((data_dir_ / rel).parent_path());
    NewSegment ns;
    ns.camera_id = camera_id_;
    ns.path = rel.generic_string();
    ns.wall_start = start;
    ns.video_codec = info_->video_codec_name();
    ns.width = info_->video->width;
    ns.height = info_->video->height;
    ns.has_audio = info_->audio != nullptr;
    // The row comes first, in state 'writing': it is the intent that recovery acts on. The file
    // it names is created next; a row whose file never appeared is simply removed at start.
    row = catalog_.begin_segment(ns);
    Open o;
    o.writer = std::make_unique<SegmentWriter>(data_dir_ / rel, *info_);
    o.row_id = row;
    o.relative_path = ns.path;
    o.wall_start = start;
    o.origin = dts;
    if (info_->audio) o.audio_origin = av_rescale_q(dts.count(), k90k, info_->audio_time_base);
    open_ = std::move(o);
    if (open_segments_) {
      OpenSegment pub;
      pub.segment_id = row;
      pub.camera_id = camera_id_;
      pub.path = ns.path;
      pub.wall_start = start;
      pub.video_codec = ns.video_codec;
      pub.init_bytes = open_->writer->init_bytes();  // synced by the writer's constructor
      open_segments_->opened(std::move(pub));
    }
  } catch (const Error& e) {
    if (row) {
      try {
        catalog_.delete_segment_row(row);
      } catch (const Error& e2) {
        spdlog::error("camera {}: {}", camera_id_, e2.what());
      }
    }
    std::error_code ec;
    std::filesystem::remove(data_dir_ / rel, ec);
    handle_failure(e);
    return;
  }
  if (!gap_reason_.empty()) {
    if (previous_end && *previous_end < start) {
      try {
        catalog_.add_gap(camera_id_, *previous_end, start, gap_reason_);
      } catch (const Error& e) {
        spdlog::error("camera {}: recording a gap: {}", camera_id_, e.what());
      }
    }
    gap_reason_.clear();
  }
  std::lock_guard lock(status_mu_);
  current_file_ = open_->relative_path;
  disk_full_ = false;
}

void Recorder::close_segment(const std::string& reason) {
  if (!open_) return drop_pending();
  write_pending_video(last_frame_duration_);
  if (!open_) return;  // the write failed and handle_failure closed it
  Open& o = *open_;
  try {
    if (auto f = o.writer->flush_fragment()) o.fragments.push_back(*f);
    if (o.fragments.empty()) {
      // Nothing durable: no file worth keeping. Playback had nothing of it to list.
      if (open_segments_) open_segments_->closed(o.row_id);
      o.writer.reset();
      std::filesystem::remove(data_dir_ / o.relative_path);
      catalog_.delete_segment_row(o.row_id);
    } else {
      const Sha256 hash = o.writer->finish();
      ClosedSegment c;
      c.media_duration = o.writer->durable_duration();
      c.wall_end = o.wall_start + to_wall(c.media_duration);
      c.bytes = o.writer->durable_bytes();
      c.init_bytes = o.writer->init_bytes();
      c.fragment_index = encode_fragment_index(o.fragments);
      c.sha256.assign(hash.begin(), hash.end());
      c.close_reason = reason;
      catalog_.close_segment(o.row_id, c);
      std::lock_guard lock(status_mu_);
      ++segments_closed_;
      bytes_written_ += c.bytes;
    }
  } catch (const Error& e) {
    return handle_failure(e);
  }
  forget_open();
  std::lock_guard lock(status_mu_);
  current_file_.clear();
}

void Recorder::flush_fragment() {
  auto f = open_->writer->flush_fragment();
  if (!f) return;
  open_->fragments.push_back(*f);
  // flush_fragment() returns only after the fragment's fdatasync: what playback may now serve is
  // what a crash would keep.
  if (open_segments_) open_segments_->fragment_synced(open_->row_id, *f);
}

void Recorder::forget_open() {
  // After the row was closed (or removed), never before: a reader that misses the registry's
  // entry then finds the closed row.
  if (open_ && open_segments_) open_segments_->closed(open_->row_id);
  open_.reset();
}

void Recorder::handle_failure(const Error& e) {
  spdlog::error("camera {}: recording failed: {}", camera_id_, e.what());
  set_error(e.what());
  {
    std::lock_guard lock(status_mu_);
    disk_full_ = e.code() == ErrorCode::kResourceExhausted;
  }
  bool disk_full_handled = false;
  if (open_) {
    Open& o = *open_;
    const uint64_t kept = o.writer->abandon_to_durable();
    const Ticks90k duration = o.writer->durable_duration();
    o.writer.reset();
    auto finish = [&] {
      if (o.fragments.empty()) {
        std::filesystem::remove(data_dir_ / o.relative_path);
        catalog_.delete_segment_row(o.row_id);
        return;
      }
      ClosedSegment c;
      c.media_duration = duration;
      c.wall_end = o.wall_start + to_wall(duration);
      c.bytes = kept;
      c.init_bytes = o.fragments.front().offset;
      c.fragment_index = encode_fragment_index(o.fragments);
      const Sha256 hash = sha256_file(data_dir_ / o.relative_path, kept);
      c.sha256.assign(hash.begin(), hash.end());
      c.close_reason = std::string("write failed: ") + e.what();
      catalog_.close_segment(o.row_id, c);
      std::lock_guard lock(status_mu_);
      ++segments_closed_;
      bytes_written_ += kept;
    };
    try {
      try {
        finish();
      } catch (const Error& e2) {
        // A full disk can refuse the catalog update too: free space first, then try again.
        if (e2.code() != ErrorCode::kResourceExhausted || !on_disk_full_) throw;
        on_disk_full_();
        disk_full_handled = true;
        finish();
      }
    } catch (const Error& e2) {
      // The row stays 'writing'; recovery at the next start will cut and close it.
      spdlog::error("camera {}: closing after failure: {}", camera_id_, e2.what());
    }
    forget_open();
  }
  drop_pending();
  run_ = Run{};
  waiting_for_keyframe_ = true;
  suspended_until_ = clock_.steady_now() + options_.retry_after_failure;
  gap_reason_ = e.what();
  {
    std::lock_guard lock(status_mu_);
    current_file_.clear();
  }
  if (e.code() == ErrorCode::kResourceExhausted && on_disk_full_ && !disk_full_handled) {
    on_disk_full_();
  }
}

void Recorder::set_error(const std::string& e) {
  std::lock_guard lock(status_mu_);
  last_error_ = e;
}

RecorderStatus Recorder::status() const {
  std::lock_guard lock(status_mu_);
  RecorderStatus s;
  s.current_file = current_file_;
  s.segments_closed = segments_closed_;
  s.bytes_written = bytes_written_;
  s.packets_dropped = dropped_;
  s.last_error = last_error_;
  s.disk_full = disk_full_;
  return s;
}

}  // namespace vigil
