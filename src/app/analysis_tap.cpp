#include "app/analysis_tap.h"

namespace vigil {

void AnalysisTap::attach(PacketSink* target, WallTime now) {
  std::lock_guard lock(mu_);
  target_ = target;
  if (target_ && info_) target_->on_stream_start(info_, now);
}

void AnalysisTap::on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime now) {
  std::lock_guard lock(mu_);
  info_ = info;
  if (target_) target_->on_stream_start(std::move(info), now);
}

void AnalysisTap::on_packet(const MediaPacket& p) {
  // Uncontended but for the rare attach(): the analyzer's own on_packet only queues.
  std::lock_guard lock(mu_);
  if (target_) target_->on_packet(p);
}

void AnalysisTap::on_stream_end(const std::string& reason, WallTime now) {
  std::lock_guard lock(mu_);
  info_.reset();
  if (target_) target_->on_stream_end(reason, now);
}

}  // namespace vigil
