#include "ingest/media.h"

#include <cstring>

namespace vigil {

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

PacketPtr make_packet() { return PacketPtr(av_packet_alloc()); }

std::string StreamInfo::video_codec_name() const {
  return video ? avcodec_get_name(video->codec_id) : "none";
}

bool StreamInfo::same_format(const StreamInfo& o) const {
  auto same_params = [](const AVCodecParameters* a, const AVCodecParameters* b) {
    if (!a || !b) return a == b;
    return a->codec_id == b->codec_id && a->width == b->width && a->height == b->height &&
           a->sample_rate == b->sample_rate && a->extradata_size == b->extradata_size &&
           (a->extradata_size == 0 ||
            std::memcmp(a->extradata, b->extradata, static_cast<size_t>(a->extradata_size)) == 0);
  };
  return same_params(video.get(), o.video.get()) && same_params(audio.get(), o.audio.get());
}

}  // namespace vigil
