#include "record/recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>

extern "C" {
#include <libavutil/mathematics.h>
}

#include "core/error.h"
#include "record/segment_path.h"

namespace vigil {
namespace {

constexpr AVRational k90k{1, 90000};

Ticks90k to90k(int64_t ts, AVRational tb) { return Ticks90k(av_rescale_q(ts, tb, k90k)); }

// What a queued packet costs besides its payload (the AVPacket, its buffer reference, the
// queue's entry): bounds the queue for streams of many small packets too.
constexpr size_t kItemOverhead = 256;

constexpr const char* kQueueFull = "recorder queue full: the disk fell behind";

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
      ops_(options.file_ops ? *options.file_ops : FileOps::real()),
      on_disk_full_(std::move(on_disk_full)),
      open_segments_(open_segments),
      thread_(options.components, {"writer", camera_id_, ""}, "wr:" + camera_id_,
              options.writer_restart) {
  thread_.start([this] { run(); });
}

Recorder::~Recorder() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_one();
  thread_.stop();
  // Stopped while waiting out a restart's backoff (or failing on its way out), the writer left
  // work behind: finish it on this thread, the writer being joined. Each failure consumes the
  // item that caused it, so this ends.
  while (!thread_.component().contain([this] { run(); })) {
  }
}

// ---- Reader side: the camera's ingest thread. Queue and return. ----

void Recorder::enqueue(Item item, bool wake) {
  {
    std::lock_guard lock(queue_mu_);
    queued_bytes_ += item.bytes;
    queue_.push_back(std::move(item));
    // Also wake it when the queue fills, whatever the packet.
    wake_ = wake_ || wake || queued_bytes_ > options_.queue_bytes / 8;
    if (!wake_) return;
  }
  queue_cv_.notify_one();
}

void Recorder::on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime) {
  overflowed_ = false;
  Item item;
  item.kind = Item::Kind::kStart;
  item.info = std::move(info);
  item.steady = clock_.steady_now();
  item.bytes = kItemOverhead;
  enqueue(std::move(item), true);
}

void Recorder::on_stream_end(const std::string& reason, WallTime) {
  Item item;
  item.kind = Item::Kind::kEnd;
  item.reason = reason;
  item.steady = clock_.steady_now();
  item.bytes = kItemOverhead;
  enqueue(std::move(item), true);
}

void Recorder::on_packet(const MediaPacket& p) {
  const bool key = p.track == TrackKind::kVideo && (p.pkt->flags & AV_PKT_FLAG_KEY) != 0;
  const size_t bytes = static_cast<size_t>(std::max(p.pkt->size, 0)) + kItemOverhead;
  bool dropped = false;
  bool first_drop = false;
  {
    std::lock_guard lock(queue_mu_);
    // After an overflow, resume only at a keyframe (a GOP without its start cannot be decoded)
    // and once the writer has caught up by half the queue, so that it does not flap.
    const size_t limit = overflowed_ ? options_.queue_bytes / 2 : options_.queue_bytes;
    if ((overflowed_ && !key) || queued_bytes_ + bytes > limit) {
      dropped = true;
      ++queue_dropped_;
      if (!overflowed_) {
        overflowed_ = first_drop = true;
        ++queue_overflows_;
        // Tells the writer to end the segment where the footage stops (never refused: a
        // control item is tiny).
        Item end;
        end.kind = Item::Kind::kOverflow;
        end.steady = clock_.steady_now();
        end.bytes = kItemOverhead;
        queued_bytes_ += end.bytes;
        queue_.push_back(std::move(end));
        wake_ = true;
      }
    } else {
      overflowed_ = false;
    }
  }
  if (first_drop) queue_cv_.notify_one();
  if (dropped) return;
  Item item;
  item.pkt = make_packet();
  if (av_packet_ref(item.pkt.get(), p.pkt) < 0) return drop();
  item.track = p.track;
  item.received = p.received;
  item.steady = clock_.steady_now();
  item.bytes = bytes;
  // The writer only has durable work at a keyframe (the GOP before it becomes a fragment): wake
  // it there rather than once per packet.
  enqueue(std::move(item), key);
}

void Recorder::wait_idle() {
  std::unique_lock lock(queue_mu_);
  wake_ = true;
  queue_cv_.notify_one();
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

// ---- Writer thread ----

void Recorder::run() {
  std::unique_lock lock(queue_mu_);
  for (;;) {
    if (batch_.empty()) {  // else: restarted after a failure, with the rest of its batch
      busy_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
      // Woken at keyframes (the only point where there is durable work: a fragment ends) and
      // when the queue fills; the timeout is a safety net only. It was 1 s, which woke each
      // writer about twice per GOP for nothing: a context switch costs more than the writing.
      queue_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return wake_ || stopping_; });
      wake_ = false;
      if (queue_.empty()) {
        if (stopping_) break;
        continue;
      }
      batch_.swap(queue_);
      busy_ = true;
    }
    lock.unlock();
    while (!batch_.empty()) {
      Item item = std::move(batch_.front());
      batch_.pop_front();
      // Frees the packet before its bytes leave the count, also when handling it throws.
      struct Release {
        Recorder& r;
        Item& item;
        ~Release() {
          const size_t bytes = item.bytes;
          item = Item{};
          std::lock_guard l(r.queue_mu_);
          r.queued_bytes_ -= bytes;
        }
      } release{*this, item};
      handle(item);
    }
    lock.lock();
  }
  busy_ = false;
  lock.unlock();
  Item stop;
  stop.kind = Item::Kind::kStop;
  stop.steady = clock_.steady_now();
  handle(stop);
}

void Recorder::handle(Item& item) {
  now_ = item.steady;
  try {
    switch (item.kind) {
      case Item::Kind::kStart:
        start_stream(std::move(item.info));
        break;
      case Item::Kind::kPacket:
        write_packet(MediaPacket{item.pkt.get(), item.track, item.received});
        break;
      case Item::Kind::kEnd:
        end_stream("stream ended: " + item.reason, item.reason);
        break;
      case Item::Kind::kOverflow:
        spdlog::warn("camera {}: {}; dropping packets until a keyframe finds room", camera_id_,
                     kQueueFull);
        end_stream(kQueueFull, kQueueFull);
        break;
      case Item::Kind::kStop:
        close_segment("vigil stopped");
        retry_unclosed();
        break;
    }
  } catch (const Error& e) {
    // The disk's or the catalog's, where no write path below handled it: a failed write.
    repair(e);
  } catch (...) {
    // Not a disk error: a bug, or memory exhausted. The packet is counted as dropped, the
    // segment ends where it was synced, and the supervisor reports the failure and runs the
    // writer again after its backoff, with what is queued.
    if (item.kind == Item::Kind::kPacket) drop();
    repair(Error(ErrorCode::kInternal, describe_current_exception()));
    throw;
  }
}

void Recorder::repair(const Error& failure) {
  try {
    handle_failure(failure);
  } catch (...) {
    // The row stays 'writing': recovery cuts and closes it at the next start.
    spdlog::error("camera {}: recording failed ({}), and so did ending the segment: {}", camera_id_,
                  failure.what(), describe_current_exception());
    forget_open();
  }
}

void Recorder::start_stream(std::shared_ptr<const StreamInfo> info) {
  info_ = std::move(info);
  audio_queue_.clear();
  run_ = Run{};
  waiting_for_keyframe_ = true;
  drop_pending();
}

void Recorder::end_stream(const std::string& close_reason, const std::string& gap_reason) {
  close_segment(close_reason);
  run_ = Run{};
  waiting_for_keyframe_ = true;
  gap_reason_ = gap_reason;
}

void Recorder::write_packet(const MediaPacket& p) {
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
    if (suspended_until_ && now_ < *suspended_until_) return drop();
    if (options_.disk_held_full && options_.disk_held_full()) {
      // Asked again a second later: recording resumes soon after a hold is released.
      suspended_until_ = now_ + options_.retry_after_failure;
      return drop();
    }
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
        spdlog::warn(
            "camera {}: media time and host clock differ by {} ms (host clock jump or "
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
      retry_unclosed();
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
  int64_t row = 0;
  std::optional<WallTime> previous_end;
  try {
    // Two files may want the same millisecond (the host clock stepped back); the name only has
    // to be unique, the catalog row holds the true start.
    for (;;) {
      std::error_code ec;
      if (!std::filesystem::exists(data_dir_ / rel, ec)) {
        if (ec) {
          throw Error(ErrorCode::kUnavailable, (data_dir_ / rel).string() + ": " + ec.message());
        }
        break;
      }
      name_time += WallDuration(1);
      rel = segment_relative_path(camera_id_, name_time);
    }
    previous_end = catalog_.last_wall_end(camera_id_);
    create_directories_durably((data_dir_ / rel).parent_path(), ops_);
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
    o.writer = std::make_unique<SegmentWriter>(data_dir_ / rel, *info_, ops_);
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
      // The file first, durably, then its row: never a file without a row after a power cut.
      // A file that could not be removed keeps its row: recovery removes both at next start.
      // A file that was there already (EEXIST) is not ours to remove.
      try {
        const std::filesystem::path file = data_dir_ / rel;
        std::error_code ec;
        if (e.code() != ErrorCode::kAlreadyExists && (std::filesystem::exists(file, ec) || ec)) {
          remove_durably(ops_, file);
        }
        catalog_.delete_segment_row(row);
      } catch (const Error& e2) {
        spdlog::error("camera {}: {}", camera_id_, e2.what());
      }
    }
    handle_failure(e);
    return;
  }
  if (!gap_reason_.empty()) {
    try {
      if (previous_end && *previous_end < start) {
        catalog_.add_gap(camera_id_, *previous_end, start, gap_reason_);
      }
      if (!chain_loaded_) {
        chain_head_ = catalog_.chain_head(camera_id_);
        chain_loaded_ = true;
      }
      // "Nothing was recorded here" is part of the chain: from where the chain stopped (the
      // last fragment, or what recovery recorded as lost) to this segment.
      if (chain_head_) {
        const ChainEntry& h = chain_head_->entry;
        const WallTime chain_end = h.wall_start + to_wall(h.duration);
        if (chain_end < start) {
          ChainEntry gap;
          gap.kind = ChainKind::kGap;
          gap.wall_start = chain_end;
          gap.duration = to_ticks(start - chain_end);
          gap.note = gap_reason_;
          extend_chain(std::move(gap));
        }
      }
    } catch (const Error& e) {
      spdlog::error("camera {}: recording a gap: {}", camera_id_, e.what());
    }
    gap_reason_.clear();
  }
  consecutive_failures_ = 0;
  std::lock_guard lock(status_mu_);
  current_file_ = open_->relative_path;
  disk_full_ = false;
  disk_error_ = false;
}

void Recorder::close_segment(const std::string& reason) {
  if (!open_) return drop_pending();
  write_pending_video(last_frame_duration_);
  if (!open_) return;  // the write failed and handle_failure closed it
  Open& o = *open_;
  try {
    if (auto f = o.writer->flush_fragment()) add_fragment(*f);
    if (o.fragments.empty()) {
      // Nothing durable: no file worth keeping. Playback had nothing of it to list.
      if (open_segments_) open_segments_->closed(o.row_id);
      o.writer.reset();
      remove_durably(ops_, data_dir_ / o.relative_path);
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
      {
        std::lock_guard lock(status_mu_);
        ++segments_closed_;
        bytes_written_ += c.bytes;
      }
      checkpoint();
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
  add_fragment(*f);
  if (options_.signer &&
      (!last_checkpoint_ || now_ - *last_checkpoint_ >= options_.signer->period)) {
    checkpoint();
  }
  // flush_fragment() returns only after the fragment's fdatasync: what playback may now serve is
  // what a crash would keep.
  if (open_segments_) open_segments_->fragment_synced(open_->row_id, *f);
}

void Recorder::add_fragment(const Fragment& f) {
  Open& o = *open_;
  // Indexed first: if the chain's row cannot be stored, the file and its row still agree (check
  // then reports the fragment as missing from the chain).
  o.fragments.push_back(f);
  ChainEntry e;
  e.kind = ChainKind::kFragment;
  e.wall_start = o.wall_start + to_wall(f.start);
  e.duration = f.duration;
  e.init_hash = o.writer->init_hash();
  e.fragment_hash = f.sha256;
  extend_chain(std::move(e), o.row_id, static_cast<int64_t>(o.fragments.size() - 1));
}

void Recorder::extend_chain(ChainEntry e, int64_t segment_id, int64_t fragment_position) {
  if (!chain_loaded_) {
    chain_head_ = catalog_.chain_head(camera_id_);
    chain_loaded_ = true;
  }
  e.camera_id = camera_id_;
  ChainRow row = next_chain_row(chain_head_, std::move(e), segment_id, fragment_position);
  catalog_.append_chain(row);
  chain_head_ = std::move(row);
}

void Recorder::checkpoint() {
  if (!options_.signer || !chain_head_) return;
  if (last_checkpoint_sequence_ == chain_head_->entry.sequence) return;
  const CheckpointSigner& s = *options_.signer;
  CheckpointRow row;
  Checkpoint& c = row.checkpoint;
  c.camera_id = camera_id_;
  c.sequence = chain_head_->entry.sequence;
  c.head = chain_head_->link;
  c.wall_time = clock_.wall_now();
  try {
    if (s.audit_head) c.audit_head = s.audit_head();
    row.key_fingerprint = s.fingerprint;
    row.signature = sign(s.key, checkpoint_message(c));
    catalog_.add_checkpoint(row);
    last_checkpoint_ = now_;
    last_checkpoint_sequence_ = c.sequence;
  } catch (const std::exception& e) {
    spdlog::error("camera {}: storing a signed checkpoint at chain entry {}: {}", camera_id_,
                  c.sequence, e.what());
  }
}

void Recorder::forget_open() {
  // After the row was closed (or removed), never before: a reader that misses the registry's
  // entry then finds the closed row.
  if (open_ && open_segments_) open_segments_->closed(open_->row_id);
  open_.reset();
}

void Recorder::handle_failure(const Error& e) {
  // Everything but a muxer that refused a packet (kInternal) is the disk's or the catalog's
  // (which lives on the same disk): a "disk error" for the status, until a segment opens again.
  const bool disk = e.code() != ErrorCode::kInternal;
  spdlog::error("camera {}: recording failed{}: {}", camera_id_, disk ? " (disk error)" : "",
                e.what());
  set_error(disk ? std::string("disk error: ") + e.what() : e.what());
  {
    std::lock_guard lock(status_mu_);
    disk_full_ = e.code() == ErrorCode::kResourceExhausted;
    disk_error_ = disk;
  }
  bool disk_full_handled = false;
  if (open_) {
    Open& o = *open_;
    const uint64_t kept = o.writer->abandon_to_durable();
    const Ticks90k duration = o.writer->durable_duration();
    // The kept parts' hashes, as they were written: the segment's hash without a re-read.
    std::vector<Sha256> parts{o.writer->init_hash()};
    for (const Fragment& f : o.fragments) parts.push_back(f.sha256);
    o.writer.reset();
    Unclosed u{o.row_id, o.relative_path, std::nullopt};
    if (!o.fragments.empty()) {
      ClosedSegment c;
      c.media_duration = duration;
      c.wall_end = o.wall_start + to_wall(duration);
      c.bytes = kept;
      c.init_bytes = o.fragments.front().offset;
      c.fragment_index = encode_fragment_index(o.fragments);
      const Sha256 hash = part_list_hash(parts);
      c.sha256.assign(hash.begin(), hash.end());
      c.close_reason = std::string("write failed: ") + e.what();
      u.closed = std::move(c);
    }
    try {
      try {
        end_unclosed(u);
      } catch (const Error& e2) {
        // A full disk can refuse the catalog update too: free space first, then try again.
        if (e2.code() != ErrorCode::kResourceExhausted || !on_disk_full_) throw;
        on_disk_full_();
        disk_full_handled = true;
        end_unclosed(u);
      }
    } catch (const Error& e2) {
      spdlog::error("camera {}: closing {} after failure: {}; tried again later", camera_id_,
                    u.relative_path, e2.what());
      unclosed_.push_back(std::move(u));
    }
    forget_open();
  }
  drop_pending();
  run_ = Run{};
  waiting_for_keyframe_ = true;
  // 1 s, 2 s, 4 s ... up to the max while the failures go on: a disk that stays read-only is
  // tried a couple of times a minute, and recording resumes by itself when it comes back.
  auto delay = options_.retry_after_failure;
  for (int i = 0; i < consecutive_failures_ && delay < options_.max_retry_after_failure; ++i) {
    delay *= 2;
  }
  ++consecutive_failures_;
  suspended_until_ = now_ + std::min(delay, options_.max_retry_after_failure);
  gap_reason_ = e.what();
  {
    std::lock_guard lock(status_mu_);
    current_file_.clear();
  }
  if (e.code() == ErrorCode::kResourceExhausted && on_disk_full_ && !disk_full_handled) {
    on_disk_full_();
  }
}

void Recorder::end_unclosed(const Unclosed& u) {
  if (!u.closed) {
    remove_durably(ops_, data_dir_ / u.relative_path);
    catalog_.delete_segment_row(u.row_id);
    return;
  }
  catalog_.close_segment(u.row_id, *u.closed);
  {
    std::lock_guard lock(status_mu_);
    ++segments_closed_;
    bytes_written_ += u.closed->bytes;
  }
  checkpoint();
}

void Recorder::retry_unclosed() {
  for (auto it = unclosed_.begin(); it != unclosed_.end();) {
    try {
      end_unclosed(*it);
      spdlog::info("camera {}: closed {}, which the catalog had refused", camera_id_,
                   it->relative_path);
      it = unclosed_.erase(it);
    } catch (const Error& e) {
      // Left 'writing' if vigil stops now: recovery at the next start cuts and closes it.
      spdlog::warn("camera {}: closing {} refused again: {}", camera_id_, it->relative_path,
                   e.what());
      ++it;
    }
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
  s.disk_error = disk_error_;
  std::lock_guard qlock(queue_mu_);
  s.queue_overflows = queue_overflows_;
  s.queue_dropped = queue_dropped_;
  s.queue_bytes = queued_bytes_;
  return s;
}

}  // namespace vigil
