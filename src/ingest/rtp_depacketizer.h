// RTP payloads back into codec frames: H.264 (RFC 6184), H.265 (RFC 7798), AAC in
// mpeg4-generic (RFC 3640) and G.711 (PCMU/PCMA, RFC 3551 §4.5.14). Video frames come out in Annex B form (start codes), the form
// FFmpeg's muxers accept from an RTSP source. A frame that lost a packet is never passed on:
// video then resumes at the next keyframe, so recordings hold no half-decodable pictures.
//
// Memory per camera is bounded: a frame, an audio access unit or the NAL units of one frame
// beyond the caps below stop the depacketizer with a reason (failure()), and the source
// disconnects the camera with it. A camera that sends one frame that never ends (an FU-A start,
// then fragments with the same timestamp and no marker) otherwise took memory until the
// process was killed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vigil {

struct RtpPacket {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  std::span<const uint8_t> payload;
};

// nullopt for anything that is not an RTP version 2 packet with a sane header.
std::optional<RtpPacket> parse_rtp(std::span<const uint8_t> data);

// The largest access units a camera may send (docs/design/ingest.md, "Bounded memory").
// 16 MiB is several times the keyframes of 4K cameras at high bit rates (1-3 MiB).
inline constexpr size_t kMaxVideoFrameBytes = size_t{16} << 20;
// Capacity a frame's buffer keeps free after its bytes: FFmpeg's AV_INPUT_BUFFER_PADDING_SIZE,
// so that ingest hands the buffer itself to an AVPacket (native_rtsp_source.cpp), without a copy.
inline constexpr size_t kFramePadding = 64;
// Slices, SEI and parameter sets of one picture: encoders use one slice per row of macroblocks
// at most (68 for 1080p H.264); 4096 leaves room for the oddest camera.
inline constexpr size_t kMaxNalUnitsPerFrame = 4096;
// AAC access units are at most 6144 bits per channel (ISO/IEC 14496-3), 36 KiB for 48
// channels; RFC 3640's sizelength lets a camera announce up to 2^sizelength bytes.
inline constexpr size_t kMaxAudioAccessUnitBytes = size_t{64} << 10;

struct CodecFrame {
  int64_t timestamp = 0;  // RTP clock ticks, unwrapped (continues across 32-bit wrap-around)
  bool key = false;
  std::vector<uint8_t> data;
};

class Depacketizer {
 public:
  virtual ~Depacketizer() = default;
  // Feeds one packet; completed frames are appended to `out`.
  void push(const RtpPacket& p, std::vector<CodecFrame>& out);
  // Frames thrown away because a packet was missing or they were undecodable without one.
  uint64_t frames_dropped() const { return dropped_; }
  uint64_t packets_lost() const { return lost_; }
  // Why this stream cannot go on ("video frame larger than 16 MiB"); empty while all is well.
  // Once set, push() ignores every packet: the camera must be disconnected.
  const std::string& failure() const { return failure_; }

 protected:
  virtual void on_packet(const RtpPacket& p, int64_t timestamp, bool loss_before,
                         std::vector<CodecFrame>& out) = 0;
  void count_dropped() { ++dropped_; }
  void fail(std::string why) { failure_ = std::move(why); }

 private:
  bool started_ = false;
  uint16_t next_sequence_ = 0;
  uint32_t last_timestamp_ = 0;
  int64_t unwrapped_ = 0;
  uint64_t dropped_ = 0;
  uint64_t lost_ = 0;
  std::string failure_;
};

class H26xDepacketizer final : public Depacketizer {
 public:
  enum class Codec { kH264, kH265 };
  // `parameter_sets`: NAL units from the SDP (sprop-*), without start codes.
  H26xDepacketizer(Codec codec, std::vector<std::vector<uint8_t>> parameter_sets);
  // VPS (H.265), SPS, PPS as last seen (SDP or in band), in Annex B; empty if none yet.
  std::vector<uint8_t> extradata() const;
  // The sequence parameter set changed in band after the first keyframe (a new resolution or
  // profile): the stream's description is no longer true.
  bool parameters_changed() const { return parameters_changed_; }

 private:
  void on_packet(const RtpPacket& p, int64_t timestamp, bool loss_before,
                 std::vector<CodecFrame>& out) override;
  void add_nal(std::span<const uint8_t> nal);
  // Room for `bytes` more and (with `nal`) one more NAL unit in the frame; false (and failed)
  // beyond the caps.
  bool room_for(size_t bytes, bool nal);
  void nal_done(size_t start);
  void finish(std::vector<CodecFrame>& out);

  Codec codec_;
  std::vector<uint8_t> vps_, sps_, pps_;
  bool parameters_changed_ = false;
  bool seen_key_ = false;
  bool waiting_for_key_ = true;  // also at start: a recording begins with a keyframe
  // The access unit being assembled.
  bool active_ = false;
  bool broken_ = false;
  bool key_ = false;
  int64_t timestamp_ = 0;
  std::vector<uint8_t> data_;
  size_t nal_units_ = 0;
  std::optional<size_t> fragment_start_;  // offset of a fragmented NAL in progress
};

class AacDepacketizer final : public Depacketizer {
 public:
  // From the fmtp: sizelength, indexlength, indexdeltalength (AAC-hbr: 13, 3, 3); each is
  // taken within 0-32 bits (sizelength at least 1).
  AacDepacketizer(int size_length, int index_length, int index_delta_length);

 private:
  void on_packet(const RtpPacket& p, int64_t timestamp, bool loss_before,
                 std::vector<CodecFrame>& out) override;
  int size_length_, index_length_, index_delta_length_;
  std::vector<uint8_t> fragment_;  // an access unit split over packets
  size_t fragment_size_ = 0;
  int64_t fragment_timestamp_ = 0;
};

// G.711 (PCMU, PCMA): one byte per sample, so every payload is a frame of its own, stamped
// with its first sample's time; sample counts need no framing (RFC 3551 §4.5.14). An empty
// payload carries nothing and is skipped.
class G711Depacketizer final : public Depacketizer {
 private:
  void on_packet(const RtpPacket& p, int64_t timestamp, bool loss_before,
                 std::vector<CodecFrame>& out) override;
};

// Decodes SDP parameter sets: base64 NAL units separated by commas (sprop-parameter-sets,
// sprop-vps/sps/pps). Tolerates missing padding and stray start codes some cameras append.
std::vector<std::vector<uint8_t>> decode_sprop(const std::string& value);

}  // namespace vigil
