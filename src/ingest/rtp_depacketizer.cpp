#include "ingest/rtp_depacketizer.h"

#include <sodium.h>

#include <algorithm>

#include "ingest/rtsp_message.h"

namespace vigil {
namespace {

constexpr uint8_t kStartCode[] = {0, 0, 0, 1};
constexpr int64_t kAacSamplesPerFrame = 1024;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Reads big-endian bit fields (AU headers).
class BitReader {
 public:
  BitReader(const uint8_t* p, size_t bits) : p_(p), bits_(bits) {}
  bool read(int n, uint32_t& v) {
    if (pos_ + static_cast<size_t>(n) > bits_) return false;
    v = 0;
    for (int i = 0; i < n; ++i, ++pos_) v = (v << 1) | ((p_[pos_ / 8] >> (7 - pos_ % 8)) & 1);
    return true;
  }

 private:
  const uint8_t* p_;
  size_t bits_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<RtpPacket> parse_rtp(std::span<const uint8_t> d) {
  if (d.size() < 12 || (d[0] >> 6) != 2) return std::nullopt;
  size_t header = 12 + 4 * size_t{d[0] & 0x0fu};
  if (d[0] & 0x10) {  // header extension
    if (d.size() < header + 4) return std::nullopt;
    header += 4 + 4 * size_t{be16(&d[header + 2])};
  }
  // CSRCs or an extension longer than the packet: checked before the padding, whose bound
  // `end - header` would otherwise underflow and let the payload run past the buffer.
  if (header > d.size()) return std::nullopt;
  size_t end = d.size();
  if (d[0] & 0x20) {  // padding: the last byte counts it
    const size_t pad = d.back();
    if (pad == 0 || pad > end - header) return std::nullopt;
    end -= pad;
  }
  RtpPacket p;
  p.marker = (d[1] & 0x80) != 0;
  p.payload_type = d[1] & 0x7f;
  p.sequence = be16(&d[2]);
  p.timestamp = (uint32_t{d[4]} << 24) | (uint32_t{d[5]} << 16) | (uint32_t{d[6]} << 8) | d[7];
  p.payload = d.subspan(header, end - header);
  return p;
}

void Depacketizer::push(const RtpPacket& p, std::vector<CodecFrame>& out) {
  if (!failure_.empty()) return;
  bool loss = false;
  if (!started_) {
    started_ = true;
    unwrapped_ = p.timestamp;
  } else {
    const auto gap = static_cast<int16_t>(p.sequence - next_sequence_);
    if (gap < 0) return;  // a repeat of a packet already seen (TCP does not reorder)
    if (gap > 0) {
      loss = true;
      lost_ += static_cast<uint64_t>(gap);
    }
    unwrapped_ += static_cast<int32_t>(p.timestamp - last_timestamp_);
  }
  last_timestamp_ = p.timestamp;
  next_sequence_ = static_cast<uint16_t>(p.sequence + 1);
  on_packet(p, unwrapped_, loss, out);
}

H26xDepacketizer::H26xDepacketizer(Codec codec, std::vector<std::vector<uint8_t>> sets)
    : codec_(codec) {
  for (auto& nal : sets) {
    const size_t start = data_.size();
    data_.insert(data_.end(), std::begin(kStartCode), std::end(kStartCode));
    data_.insert(data_.end(), nal.begin(), nal.end());
    nal_done(start);
  }
  data_.clear();
  key_ = false;
}

std::vector<uint8_t> H26xDepacketizer::extradata() const {
  std::vector<uint8_t> out;
  for (const auto* nal : {&vps_, &sps_, &pps_}) {
    if (nal->empty()) continue;
    out.insert(out.end(), std::begin(kStartCode), std::end(kStartCode));
    out.insert(out.end(), nal->begin(), nal->end());
  }
  return out;
}

void H26xDepacketizer::nal_done(size_t start) {
  if (data_.size() <= start + 4) return;
  std::vector<uint8_t>* param = nullptr;
  const uint8_t b = data_[start + 4];
  if (codec_ == Codec::kH264) {
    const int type = b & 0x1f;
    if (type == 5) key_ = true;
    if (type == 7) param = &sps_;
    if (type == 8) param = &pps_;
  } else {
    const int type = (b >> 1) & 0x3f;
    if (type >= 16 && type <= 21) key_ = true;
    if (type == 32) param = &vps_;
    if (type == 33) param = &sps_;
    if (type == 34) param = &pps_;
  }
  if (!param) return;
  const std::span<const uint8_t> nal(data_.data() + start + 4, data_.size() - start - 4);
  if (param->size() == nal.size() && std::equal(nal.begin(), nal.end(), param->begin())) return;
  // The first keyframe's own parameter sets may correct a stale SDP; later changes mean the
  // camera now sends another stream than the one it described.
  if (seen_key_ && (param == &sps_ || param == &vps_)) parameters_changed_ = true;
  param->assign(nal.begin(), nal.end());
}

bool H26xDepacketizer::room_for(size_t bytes, bool nal) {
  if (!failure().empty()) return false;
  if (data_.size() + bytes > kMaxVideoFrameBytes) {
    fail("video frame larger than " + std::to_string(kMaxVideoFrameBytes >> 20) + " MiB");
  } else if (nal && nal_units_ + 1 > kMaxNalUnitsPerFrame) {
    fail("video frame of more than " + std::to_string(kMaxNalUnitsPerFrame) + " NAL units");
  } else {
    nal_units_ += nal ? 1 : 0;
    // Doubling as a vector does, but never past the cap: a frame near it then holds 16 MiB,
    // not the 32 MiB the vector's own doubling would reserve.
    const size_t need = data_.size() + bytes + kFramePadding;
    if (need > data_.capacity()) {
      data_.reserve(
          std::min(std::max(need, 2 * data_.capacity()), kMaxVideoFrameBytes + kFramePadding));
    }
    return true;
  }
  // What was assembled is of no use any more; free it now rather than at the reconnect.
  data_ = {};
  active_ = false;
  fragment_start_.reset();
  return false;
}

void H26xDepacketizer::add_nal(std::span<const uint8_t> nal) {
  if (nal.empty() || !room_for(sizeof kStartCode + nal.size(), true)) return;
  const size_t start = data_.size();
  data_.insert(data_.end(), std::begin(kStartCode), std::end(kStartCode));
  data_.insert(data_.end(), nal.begin(), nal.end());
  nal_done(start);
}

void H26xDepacketizer::on_packet(const RtpPacket& p, int64_t timestamp, bool loss_before,
                                 std::vector<CodecFrame>& out) {
  // Lost packets may have been the end of the frame being assembled as well as the start of
  // a new one: neither can be trusted.
  if (loss_before && active_) broken_ = true;
  // A frame without its marker packet ends where the next timestamp begins.
  if (active_ && timestamp != timestamp_) finish(out);
  if (!active_) {
    active_ = true;
    broken_ = false;
    key_ = false;
    timestamp_ = timestamp;
    data_.clear();
    nal_units_ = 0;
    fragment_start_.reset();
  }
  if (loss_before) broken_ = true;

  const uint8_t* d = p.payload.data();
  const size_t n = p.payload.size();
  const bool h264 = codec_ == Codec::kH264;
  const size_t header = h264 ? 1 : 2;
  if (n <= header) {
    if (p.marker) finish(out);
    return;
  }
  const int type = h264 ? (d[0] & 0x1f) : ((d[0] >> 1) & 0x3f);
  const int aggregate = h264 ? 24 : 48;
  const int fragment = h264 ? 28 : 49;
  if (type == aggregate) {
    size_t i = header;
    while (i + 2 <= n) {
      const size_t len = be16(d + i);
      i += 2;
      if (len == 0 || i + len > n) {
        broken_ = true;
        break;
      }
      add_nal({d + i, len});
      if (!failure().empty()) return;
      i += len;
    }
  } else if (type == fragment) {
    const size_t fu_at = header;
    const uint8_t fu = d[fu_at];
    const bool first = (fu & 0x80) != 0;
    const bool last = (fu & 0x40) != 0;
    if (first) {
      if (fragment_start_) broken_ = true;  // the previous fragmented NAL never ended
      if (!room_for(sizeof kStartCode + header + n - fu_at - 1, true)) return;
      fragment_start_ = data_.size();
      data_.insert(data_.end(), std::begin(kStartCode), std::end(kStartCode));
      if (h264) {
        data_.push_back(static_cast<uint8_t>((d[0] & 0xe0) | (fu & 0x1f)));
      } else {
        data_.push_back(static_cast<uint8_t>((d[0] & 0x81) | ((fu & 0x3f) << 1)));
        data_.push_back(d[1]);
      }
    } else if (!fragment_start_) {
      broken_ = true;  // a middle or end without its start
    }
    if (fragment_start_) {
      if (!first && !room_for(n - fu_at - 1, false)) return;
      data_.insert(data_.end(), d + fu_at + 1, d + n);
    }
    if (last && fragment_start_) {
      nal_done(*fragment_start_);
      fragment_start_.reset();
    }
  } else if ((h264 && type >= 1 && type <= 23) || (!h264 && type < 48)) {
    add_nal(p.payload);
    if (!failure().empty()) return;
  } else {
    // STAP-B, MTAP, FU-B (interleaved packetization) and H.265 PACI are not supported: the
    // frame is incomplete without them.
    broken_ = true;
  }
  if (p.marker) finish(out);
}

void H26xDepacketizer::finish(std::vector<CodecFrame>& out) {
  active_ = false;
  if (fragment_start_) broken_ = true;
  fragment_start_.reset();
  if (data_.empty()) return;
  if (broken_ || (waiting_for_key_ && !key_)) {
    // Later frames refer to this one: nothing is decodable until the next keyframe.
    if (broken_) waiting_for_key_ = true;
    if (seen_key_) count_dropped();
    data_.clear();
    return;
  }
  waiting_for_key_ = false;
  if (key_) seen_key_ = true;
  const size_t size = data_.size();
  out.push_back(CodecFrame{timestamp_, key_, std::move(data_)});
  // The buffer leaves with the frame (it becomes the AVPacket's). The next frame starts with
  // room for a frame like this one and a quarter more, so that it is assembled in place rather
  // than through a chain of reallocations, each a malloc and a copy of what came so far
  // (bench/record: copies and malloc were a tenth of the reader's CPU). A keyframe after small
  // frames still grows, once per GOP.
  data_ = {};
  data_.reserve(std::min(size + size / 4, kMaxVideoFrameBytes) + kFramePadding);
}

AacDepacketizer::AacDepacketizer(int size_length, int index_length, int index_delta_length)
    // Fields wider than the 32 bits BitReader returns are no AAC stream; a zero sizelength
    // would make the AU-header loop below read nothing forever.
    : size_length_(std::clamp(size_length, 1, 32)),
      index_length_(std::clamp(index_length, 0, 32)),
      index_delta_length_(std::clamp(index_delta_length, 0, 32)) {}

void G711Depacketizer::on_packet(const RtpPacket& p, int64_t timestamp, bool,
                                 std::vector<CodecFrame>& out) {
  // A lost packet loses only its own samples: the next one starts at its own timestamp.
  if (p.payload.empty()) return;
  CodecFrame f;
  f.timestamp = timestamp;
  f.key = true;
  f.data.reserve(p.payload.size() + kFramePadding);
  f.data.assign(p.payload.begin(), p.payload.end());
  out.push_back(std::move(f));
}

void AacDepacketizer::on_packet(const RtpPacket& p, int64_t timestamp, bool loss_before,
                                std::vector<CodecFrame>& out) {
  if (loss_before && !fragment_.empty()) {
    fragment_.clear();
    count_dropped();
  }
  const uint8_t* d = p.payload.data();
  const size_t n = p.payload.size();
  if (n < 2) return;
  const size_t header_bits = be16(d);
  const size_t header_bytes = (header_bits + 7) / 8;
  if (2 + header_bytes > n) {
    count_dropped();
    return;
  }
  std::vector<uint32_t> sizes;
  BitReader bits(d + 2, header_bits);
  for (bool first = true;; first = false) {
    uint32_t size = 0, index = 0;
    if (!bits.read(size_length_, size)) break;
    if (!bits.read(first ? index_length_ : index_delta_length_, index)) break;
    sizes.push_back(size);
  }
  size_t at = 2 + header_bytes;
  if (sizes.size() == 1 && at + sizes[0] > n) {
    // One access unit split over several packets; each carries the whole unit's size.
    if (sizes[0] > kMaxAudioAccessUnitBytes) {
      fragment_ = {};
      fail("audio access unit larger than " + std::to_string(kMaxAudioAccessUnitBytes >> 10) +
           " KiB");
      return;
    }
    if (fragment_.empty()) {
      fragment_timestamp_ = timestamp;
      fragment_size_ = sizes[0];
    } else if (fragment_size_ != sizes[0] || fragment_timestamp_ != timestamp) {
      fragment_.clear();
      count_dropped();
      return;
    }
    fragment_.insert(fragment_.end(), d + at, d + n);
    if (fragment_.size() >= fragment_size_ || p.marker) {
      if (fragment_.size() == fragment_size_) {
        out.push_back(CodecFrame{fragment_timestamp_, true, std::move(fragment_)});
      } else {
        count_dropped();
      }
      fragment_ = {};
    }
    return;
  }
  if (!fragment_.empty()) {  // a fragmented unit whose end never came
    fragment_.clear();
    count_dropped();
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (at + sizes[i] > n) {
      count_dropped();
      return;
    }
    out.push_back(CodecFrame{timestamp + static_cast<int64_t>(i) * kAacSamplesPerFrame, true,
                             std::vector<uint8_t>(d + at, d + at + sizes[i])});
    at += sizes[i];
  }
}

std::vector<std::vector<uint8_t>> decode_sprop(const std::string& value) {
  std::vector<std::vector<uint8_t>> out;
  size_t pos = 0;
  while (pos <= value.size()) {
    const size_t comma = value.find(',', pos);
    std::string b64 = trim(std::string_view(value).substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos));
    pos = comma == std::string::npos ? value.size() + 1 : comma + 1;
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    if (b64.empty()) continue;
    std::vector<uint8_t> bin(b64.size());
    size_t len = 0;
    if (sodium_base642bin(bin.data(), bin.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
      continue;
    }
    bin.resize(len);
    // Some cameras append a start code (00 00 00 01) or zero bytes after the NAL unit.
    if (bin.size() >= 4 && bin[bin.size() - 1] == 1 && bin[bin.size() - 2] == 0 &&
        bin[bin.size() - 3] == 0) {
      bin.resize(bin.size() - 3);
    }
    while (!bin.empty() && bin.back() == 0) bin.pop_back();
    if (!bin.empty()) out.push_back(std::move(bin));
  }
  return out;
}

}  // namespace vigil
