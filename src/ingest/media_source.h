// A connection to one camera stream. LibavRtspSource is the real one (libavformat); tests and future
// inputs (files, ONVIF) implement the same interface. Methods other than interrupt() are called
// from the camera's own thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "ingest/media.h"

struct AVFormatContext;

namespace vigil {

class MediaSource {
 public:
  virtual ~MediaSource() = default;
  // Connects and learns the streams. Throws Error (kUnavailable, kUnauthenticated,
  // kInvalidArgument for "not a video stream") with a message fit for an operator.
  virtual std::shared_ptr<const StreamInfo> open() = 0;
  // Reads the next packet of a kept track into `pkt`. Returns false at end of stream.
  // Throws Error on a read error or timeout. Packets of tracks we do not keep are skipped.
  virtual bool read(AVPacket* pkt, TrackKind& track) = 0;
  // Makes a blocked open()/read() return soon; safe from any thread.
  virtual void interrupt() = 0;
  // True when read() itself sleeps between batches of packets (NativeRtspSource); otherwise
  // the camera worker does (see IngestSettings::read_batch).
  virtual bool batches_reads() const { return false; }
};

class LibavRtspSource final : public MediaSource {
 public:
  LibavRtspSource(std::string url, RtspTransport transport, std::chrono::milliseconds io_timeout,
             const Clock& clock);
  ~LibavRtspSource() override;

  std::shared_ptr<const StreamInfo> open() override;
  bool read(AVPacket* pkt, TrackKind& track) override;
  void interrupt() override { interrupted_ = true; }

 private:
  static int interrupt_cb(void* self);
  std::string describe_av_error(int err) const;

  std::string url_;
  RtspTransport transport_;
  std::chrono::milliseconds io_timeout_;
  const Clock& clock_;
  AVFormatContext* ctx_ = nullptr;
  int video_index_ = -1;
  int audio_index_ = -1;
  std::atomic<bool> interrupted_{false};
  std::atomic<int64_t> deadline_ns_{0};  // steady clock; 0 = none
  std::chrono::milliseconds deadline_span_{0};  // what the current deadline allows, for messages
  bool timed_out_ = false;
};

}  // namespace vigil
