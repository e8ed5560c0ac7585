// The main stream's way into a camera's analyzer: a PacketSink that the camera's connection
// feeds for as long as it lives, forwarding to whichever analyzer is current. Changing zones,
// sensitivity or the sub stream replaces the analyzer behind the tap while the connection, and
// with it recording and live view, goes on (docs/design/config.md, "Applying camera changes").
// Thread-safe: the ingest thread calls the PacketSink methods, apply() calls attach().
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "ingest/media.h"

namespace vigil {

class AnalysisTap final : public PacketSink {
 public:
  // Forwards to `target` from now on (null: to nothing). When the stream is running, `target`
  // first gets on_stream_start with the running stream's info, so it starts like after a
  // connect (waiting for the next keyframe). The previous target gets nothing more; the caller
  // stops it. `target` must stay alive until it is detached (attach(nullptr) or another one).
  void attach(PacketSink* target, WallTime now);

  void on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime now) override;
  void on_packet(const MediaPacket& p) override;
  void on_stream_end(const std::string& reason, WallTime now) override;

 private:
  std::mutex mu_;  // held while forwarding: attach() waits for a packet in flight
  PacketSink* target_ = nullptr;
  std::shared_ptr<const StreamInfo> info_;  // of the running stream; null between connections
};

}  // namespace vigil
