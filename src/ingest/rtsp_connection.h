// One TCP connection to an RTSP server, read in large chunks. libavformat reads interleaved
// RTP a few bytes at a time (a poll and a recv per packet); here one recv takes everything
// the kernel has collected since the last batch, and messages and frames are parsed from
// that buffer without further system calls (docs/design/ingest.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "ingest/rtsp_message.h"

namespace vigil {

class RtspConnection {
 public:
  // The receive buffer holds at most `max_buffer` bytes: RTSP messages (64 KiB of headers,
  // 1 MiB of body) and interleaved frames (64 KiB) always fit in the default.
  static constexpr size_t kMaxBufferBytes = size_t{4} << 20;
  explicit RtspConnection(const Clock& clock, size_t max_buffer = kMaxBufferBytes);
  ~RtspConnection();
  RtspConnection(const RtspConnection&) = delete;
  RtspConnection& operator=(const RtspConnection&) = delete;

  // Throws Error(kUnavailable) with "connection refused: ...", "no answer for N s", ...
  void connect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);
  void send(std::string_view data, std::chrono::milliseconds timeout);

  enum class Next { kMessage, kFrame, kClosed };
  // The next message or interleaved frame. `frame.payload` stays valid until the next call.
  // Throws Error on a timeout (nothing received for `timeout`), an interrupt or bad bytes.
  // With a `batch` > 0, a read that finds the socket empty first sleeps that long, so that the
  // next one takes everything the camera sent meanwhile at once (one wake-up per batch
  // instead of one per packet); only for media, never while waiting for an answer.
  Next next(std::chrono::milliseconds timeout, RtspMessage& msg, InterleavedFrame& frame,
            std::chrono::milliseconds batch = std::chrono::milliseconds(0));

  // Makes a blocked call return soon with an error; safe from any thread.
  void interrupt();

 private:
  // Reads whatever the socket has (at least one byte). False at end of stream.
  bool fill(std::chrono::milliseconds timeout, std::chrono::milliseconds batch);
  void wait(short events, SteadyTime deadline, std::chrono::milliseconds span);

  const Clock& clock_;
  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd written by interrupt(), polled with the socket
  size_t max_buffer_;
  std::vector<uint8_t> buf_;
  size_t begin_ = 0;  // unparsed bytes are buf_[begin_, end_)
  size_t end_ = 0;
  // The last recv returned less than it was offered: the socket was empty then, so the next
  // fill sleeps its batch first instead of asking again only to hear EAGAIN (a system call per
  // batch per camera, on virtual machines where each costs).
  bool drained_ = false;
};

}  // namespace vigil
