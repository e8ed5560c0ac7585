#include "ingest/native_rtsp_source.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
}

#include "core/error.h"
#include "core/redact.h"
#include "ingest/sdp.h"

namespace vigil {
namespace {

constexpr auto kTeardownTimeout = std::chrono::milliseconds(200);
constexpr auto kAudioWait = std::chrono::milliseconds(1500);

bool ok_status(const RtspMessage& m) { return m.status >= 200 && m.status < 300; }

std::string status_text(const RtspMessage& m) {
  return std::to_string(m.status) + (m.reason.empty() ? "" : " " + m.reason);
}

std::vector<uint8_t> hex_bytes(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  size_t len = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0) {
    return {};
  }
  out.resize(len);
  return out;
}

int fmtp_int(const SdpMedia& m, const std::string& key, int fallback) {
  const auto it = m.fmtp.find(key);
  if (it == m.fmtp.end()) return fallback;
  int v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc() && p != it->second.data() ? v : fallback;
}

bool storable_aac(const SdpMedia& m) {
  if (m.encoding != "MPEG4-GENERIC" || m.clock_rate <= 0) return false;
  const auto mode = m.fmtp.find("mode");
  if (mode != m.fmtp.end() && !equals_nocase(mode->second.substr(0, 3), "aac")) return false;
  return fmtp_int(m, "sizelength", 0) > 0 && !hex_bytes(m.fmtp.count("config") ? m.fmtp.at("config") : "").empty();
}

bool g711(const SdpMedia& m) {
  return (m.encoding == "PCMU" || m.encoding == "PCMA") && m.clock_rate > 0 && m.channels >= 1 &&
         m.channels <= 8;
}

void set_extradata(AVCodecParameters* par, const std::vector<uint8_t>& bytes) {
  par->extradata = static_cast<uint8_t*>(av_mallocz(bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) throw Error(ErrorCode::kResourceExhausted, "out of memory");
  std::memcpy(par->extradata, bytes.data(), bytes.size());
  par->extradata_size = static_cast<int>(bytes.size());
}

// Picture size, profile and pixel format as FFmpeg's own parser reads them from the parameter
// sets and the first keyframe; the MP4 muxer needs them, and so do people.
void probe_picture(AVCodecParameters* par, const std::vector<uint8_t>& extradata,
                   const std::vector<uint8_t>& keyframe) {
  std::vector<uint8_t> data(extradata);
  data.insert(data.end(), keyframe.begin(), keyframe.end());
  data.resize(data.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  AVCodecParserContext* parser = av_parser_init(par->codec_id);
  AVCodecContext* ctx = avcodec_alloc_context3(nullptr);
  if (!parser || !ctx) {
    av_parser_close(parser);
    avcodec_free_context(&ctx);
    throw Error(ErrorCode::kResourceExhausted, "out of memory");
  }
  ctx->codec_id = par->codec_id;
  parser->flags |= PARSER_FLAG_COMPLETE_FRAMES;
  uint8_t* out = nullptr;
  int out_size = 0;
  av_parser_parse2(parser, ctx, &out, &out_size, data.data(),
                   static_cast<int>(data.size() - AV_INPUT_BUFFER_PADDING_SIZE), AV_NOPTS_VALUE,
                   AV_NOPTS_VALUE, 0);
  par->width = parser->width > 0 ? parser->width : ctx->width;
  par->height = parser->height > 0 ? parser->height : ctx->height;
  par->format = parser->format;
  par->profile = ctx->profile;
  par->level = ctx->level;
  av_parser_close(parser);
  avcodec_free_context(&ctx);
}

// The reorder depth the stream's parameter sets declare (H.264 VUI max_num_reorder_frames,
// H.265 sps_max_num_reorder_pics), which libavcodec's decoder reads while decoding a picture:
// 0 when they say nothing, and DecodeTimestamps learns it from the stream instead.
std::size_t declared_reorder_depth(const AVCodecParameters* par,
                                   const std::vector<uint8_t>& keyframe) {
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  AVCodecContext* ctx = codec ? avcodec_alloc_context3(codec) : nullptr;
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  std::size_t depth = 0;
  if (ctx && pkt && frame && avcodec_parameters_to_context(ctx, par) >= 0) {
    ctx->thread_count = 1;
    if (avcodec_open2(ctx, codec, nullptr) >= 0 &&
        av_new_packet(pkt, static_cast<int>(keyframe.size())) >= 0) {
      std::memcpy(pkt->data, keyframe.data(), keyframe.size());
      pkt->flags |= AV_PKT_FLAG_KEY;
      if (avcodec_send_packet(ctx, pkt) >= 0) {
        avcodec_send_packet(ctx, nullptr);
        while (avcodec_receive_frame(ctx, frame) >= 0) av_frame_unref(frame);
      }
      depth = static_cast<std::size_t>(std::max(ctx->has_b_frames, 0));
    }
  }
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  return depth;
}

}  // namespace

NativeRtspSource::NativeRtspSource(std::string url, std::chrono::milliseconds io_timeout,
                                   std::chrono::milliseconds read_batch, const Clock& clock,
                                   size_t max_ready_bytes, bool allow_basic, bool keep_g711)
    : url_(std::move(url)),
      io_timeout_(io_timeout),
      read_batch_(read_batch),
      clock_(clock),
      conn_(clock),
      max_ready_bytes_(max_ready_bytes),
      allow_basic_(allow_basic),
      keep_g711_(keep_g711) {}

NativeRtspSource::~NativeRtspSource() {
  if (!playing_ || interrupted_) return;
  // Polite but not waited for: the camera frees the session now instead of at its timeout.
  try {
    const int cseq = ++cseq_;
    std::string r = "TEARDOWN " + play_url_ + " RTSP/1.0\r\nCSeq: " + std::to_string(cseq) +
                    "\r\nSession: " + session_ + "\r\n\r\n";
    conn_.send(r, kTeardownTimeout);
  } catch (const Error&) {
  }
}

void NativeRtspSource::interrupt() {
  interrupted_ = true;
  conn_.interrupt();
}

void NativeRtspSource::send_request(const std::string& method, const std::string& url,
                                    const std::string& extra_headers, int cseq) {
  std::string r = method + " " + url + " RTSP/1.0\r\nCSeq: " + std::to_string(cseq) +
                  "\r\nUser-Agent: vigil\r\n";
  if (auth_) {
    r += "Authorization: " +
         authorization_header(*auth_, parsed_.user, parsed_.password, method, url,
                              ++nonce_count_, cnonce_) +
         "\r\n";
  }
  if (!session_.empty()) r += "Session: " + session_ + "\r\n";
  r += extra_headers + "\r\n";
  conn_.send(r, io_timeout_);
}

RtspMessage NativeRtspSource::request(const std::string& method, const std::string& url,
                                      const std::string& extra_headers) {
  for (int attempt = 0;; ++attempt) {
    const int cseq = ++cseq_;
    send_request(method, url, extra_headers, cseq);
    RtspMessage msg;
    InterleavedFrame frame;
    for (;;) {
      const auto next = conn_.next(io_timeout_, msg, frame);
      if (next == RtspConnection::Next::kClosed) {
        throw Error(ErrorCode::kUnavailable, "the camera closed the connection after " + method);
      }
      if (next == RtspConnection::Next::kFrame) {
        if (playing_) on_frame(frame);
        continue;
      }
      if (!msg.is_response) continue;  // a request from the server; none needs an answer
      if (msg.cseq() && *msg.cseq() != cseq) continue;  // a late answer to an earlier request
      break;
    }
    if (msg.status == 401 && attempt == 0 && parsed_.has_credentials) {
      // The first 401 carries the challenge; answering it is the normal way in. A second
      // one means the credentials are wrong.
      auth_ = choose_challenge(msg.headers_named("WWW-Authenticate"));
      nonce_count_ = 0;
      if (auth_ && auth_->scheme == AuthChallenge::Scheme::kBasic && !allow_basic_) {
        // Whoever answers on the camera's address (or in between) would read the password.
        auth_.reset();
        throw Error(ErrorCode::kUnauthenticated,
                    "the camera asks for Basic authentication, which would send the password in "
                    "clear over plain RTSP; refused (set auth = \"basic\" for this camera if it "
                    "offers nothing else)");
      }
      if (auth_) continue;
    }
    if (msg.status == 401) {
      throw Error(ErrorCode::kUnauthenticated,
                  parsed_.has_credentials
                      ? "unauthorized (401): check the user name and password in the URL"
                      : "unauthorized (401): the camera needs a user name and password in the URL");
    }
    if (msg.status == 404) {
      throw Error(ErrorCode::kUnavailable, "not found (404): check the stream path in the URL");
    }
    return msg;
  }
}

std::shared_ptr<const StreamInfo> NativeRtspSource::open() {
  try {
    return connect_and_describe();
  } catch (const Error& e) {
    if (interrupted_) throw Error(ErrorCode::kUnavailable, "stopped");
    throw e.wrap("open " + redact_url(url_));
  }
}

std::shared_ptr<const StreamInfo> NativeRtspSource::connect_and_describe() {
  parsed_ = parse_rtsp_url(url_);
  unsigned char nonce[8];
  randombytes_buf(nonce, sizeof nonce);
  char hex[sizeof nonce * 2 + 1];
  cnonce_ = sodium_bin2hex(hex, sizeof hex, nonce, sizeof nonce);

  conn_.connect(parsed_.host, parsed_.port, io_timeout_);
  const RtspMessage options = request("OPTIONS", parsed_.request_url, "");
  if (const std::string* pub = options.header("Public")) {
    get_parameter_ = pub->find("GET_PARAMETER") != std::string::npos;
  }
  const RtspMessage describe =
      request("DESCRIBE", parsed_.request_url, "Accept: application/sdp\r\n");
  if (!ok_status(describe)) {
    throw Error(ErrorCode::kUnavailable, "the camera answered DESCRIBE with " + status_text(describe));
  }
  const SdpSession sdp = parse_sdp(describe.body);
  std::string base = parsed_.request_url;
  for (const char* name : {"Content-Base", "Content-Location"}) {
    const std::string* h = describe.header(name);
    // Some cameras send a base without the scheme (moonfire-nvr#356): useless, ignored.
    if (h && h->size() > 7 && equals_nocase(h->substr(0, 7), "rtsp://")) {
      base = *h;
      break;
    }
  }

  const SdpMedia* video = nullptr;
  const SdpMedia* any_video = nullptr;
  const SdpMedia* audio = nullptr;
  for (const SdpMedia& m : sdp.media) {
    if (m.type == "video") {
      if (!any_video) any_video = &m;
      if (!video && (m.encoding == "H264" || m.encoding == "H265")) video = &m;
    } else if (m.type == "audio" && !audio) {
      audio = &m;
    }
  }
  if (!video) {
    if (!any_video) throw Error(ErrorCode::kInvalidArgument, "the stream has no video track");
    throw Error(ErrorCode::kInvalidArgument,
                "video codec " + sdp_codec_name(*any_video) +
                    " is not supported (vigil records H.264 and H.265)");
  }
  auto info = std::make_shared<StreamInfo>();
  const bool hevc = video->encoding == "H265";
  std::vector<std::vector<uint8_t>> sets;
  for (const char* key : hevc ? std::vector<const char*>{"sprop-vps", "sprop-sps", "sprop-pps"}
                              : std::vector<const char*>{"sprop-parameter-sets"}) {
    const auto it = video->fmtp.find(key);
    if (it == video->fmtp.end()) continue;
    for (auto& nal : decode_sprop(it->second)) sets.push_back(std::move(nal));
  }
  if (audio && !storable_aac(*audio) && !(keep_g711_ && g711(*audio))) {
    info->audio_skipped =
        sdp_codec_name(*audio) + " audio is not recorded (only AAC can be stored and played" +
        (g711(*audio) ? "; audio = \"aac\" converts it)" : ")");
    audio = nullptr;
  }
  const std::string audio_name = audio ? sdp_codec_name(*audio) : "";

  int channel = 0;
  for (const SdpMedia* m : {video, audio}) {
    if (!m) continue;
    Track t;
    t.kind = m == video ? TrackKind::kVideo : TrackKind::kAudio;
    t.setup_url = resolve_control_url(base, m->control);
    const RtspMessage setup =
        request("SETUP", t.setup_url,
                "Transport: RTP/AVP/TCP;unicast;interleaved=" + std::to_string(channel) + "-" +
                    std::to_string(channel + 1) + "\r\n");
    if (!ok_status(setup)) {
      if (t.kind == TrackKind::kAudio) {
        info->audio_skipped = audio_name +
                              " audio is not recorded: the camera answered its SETUP with " +
                              status_text(setup);
        continue;
      }
      throw Error(ErrorCode::kUnavailable,
                  "the camera answered SETUP with " + status_text(setup) +
                      (setup.status == 461 ? " (no RTP over TCP; try transport = \"udp\")" : ""));
    }
    if (const std::string* s = setup.header("Session"); s && session_.empty()) {
      const SessionHeader sh = parse_session_header(*s);
      session_ = sh.id;
      if (sh.timeout_s && *sh.timeout_s > 0) {
        keepalive_every_ = std::chrono::seconds(std::max(5, *sh.timeout_s / 2));
      }
    }
    t.rtp_channel = channel;
    if (const std::string* tr = setup.header("Transport")) {
      if (auto ch = transport_interleaved(*tr)) t.rtp_channel = ch->first;
    }
    if (t.kind == TrackKind::kVideo) {
      auto d = std::make_unique<H26xDepacketizer>(
          hevc ? H26xDepacketizer::Codec::kH265 : H26xDepacketizer::Codec::kH264, sets);
      video_ = d.get();
      t.depacketizer = std::move(d);
    } else if (g711(*m)) {
      t.depacketizer = std::make_unique<G711Depacketizer>();
    } else {
      t.depacketizer = std::make_unique<AacDepacketizer>(fmtp_int(*m, "sizelength", 13),
                                                         fmtp_int(*m, "indexlength", 3),
                                                         fmtp_int(*m, "indexdeltalength", 3));
    }
    tracks_.push_back(std::move(t));
    channel += 2;
  }

  play_url_ = sdp.control.empty() ? base : resolve_control_url(base, sdp.control);
  const RtspMessage play = request("PLAY", play_url_, "Range: npt=0.000-\r\n");
  if (!ok_status(play)) {
    throw Error(ErrorCode::kUnavailable, "the camera answered PLAY with " + status_text(play));
  }
  if (const std::string* info_header = play.header("RTP-Info")) {
    const auto entries = parse_rtp_info(*info_header);
    for (size_t i = 0; i < entries.size(); ++i) {
      // Matched by URL (absolute, or relative to the base); cameras that name tracks
      // differently there (GW Security) are matched by order.
      const std::string& url = entries[i].url;
      Track* match = nullptr;
      for (Track& t : tracks_) {
        if (!url.empty() && t.setup_url.size() >= url.size() &&
            t.setup_url.compare(t.setup_url.size() - url.size(), url.size(), url) == 0) {
          match = &t;
        }
      }
      if (!match && i < tracks_.size()) match = &tracks_[i];
      if (match) match->rtptime = entries[i].rtptime;
    }
  }
  playing_ = true;
  next_keepalive_ = clock_.steady_now() + keepalive_every_;

  // Wait for the first keyframe: it tells the picture size, and recordings start with it.
  const auto first_frame_wait = io_timeout_ * 2;
  const SteadyTime deadline = clock_.steady_now() + first_frame_wait;
  RtspMessage msg;
  InterleavedFrame frame;
  while (!video_started_) {
    if (clock_.steady_now() > deadline) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "no video keyframe within %.1f s",
                    first_frame_wait.count() / 1000.0);
      throw Error(ErrorCode::kUnavailable, buf);
    }
    keepalive_if_due();
    const auto next = conn_.next(io_timeout_, msg, frame);
    if (next == RtspConnection::Next::kClosed) {
      throw Error(ErrorCode::kUnavailable, "the camera closed the connection before any video");
    }
    if (next == RtspConnection::Next::kFrame) on_frame(frame);
  }
  // Many cameras announce audio and never send it. A track without samples would make a
  // browser's player wait for audio forever, so audio is kept only if it arrives within a
  // second of video (the frames read meanwhile are kept and recorded).
  if (tracks_.back().kind == TrackKind::kAudio) {
    const SteadyTime audio_deadline = clock_.steady_now() + kAudioWait;
    auto has_audio = [this] {
      for (const Ready& r : ready_) {
        if (r.kind == TrackKind::kAudio) return true;
      }
      return false;
    };
    while (!has_audio() && clock_.steady_now() < audio_deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          audio_deadline - clock_.steady_now());
      try {
        const auto next = conn_.next(std::max(left, std::chrono::milliseconds(1)), msg, frame);
        if (next == RtspConnection::Next::kClosed) break;
        if (next == RtspConnection::Next::kFrame) on_frame(frame);
      } catch (const Error& e) {
        // A camera beyond a memory cap is disconnected with that reason, also here.
        if (interrupted_ || e.code() == ErrorCode::kResourceExhausted) throw;
        break;  // nothing more within the wait: no audio, and read() reports a silent camera
      }
    }
    if (!has_audio()) {
      tracks_.pop_back();
      audio = nullptr;
      info->audio_skipped = "the camera announces " + (audio_name == "aac" ? "AAC" : audio_name) +
                            " audio but sends none: video only";
    }
  }

  const std::vector<uint8_t> extradata = video_->extradata();
  if (extradata.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("the camera sent no ") + (hevc ? "H.265" : "H.264") +
                    " parameter sets (SPS/PPS)");
  }
  info->video.reset(avcodec_parameters_alloc());
  AVCodecParameters* vp = info->video.get();
  vp->codec_type = AVMEDIA_TYPE_VIDEO;
  vp->codec_id = hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
  set_extradata(vp, extradata);
  probe_picture(vp, extradata, ready_.front().frame.data);
  if (vp->width <= 0 || vp->height <= 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot read the picture size from the camera's parameter sets");
  }
  info->video_time_base = {1, video->clock_rate > 0 ? video->clock_rate : 90000};
  video_clock_ = info->video_time_base;
  video_dts_ = DecodeTimestamps(declared_reorder_depth(vp, ready_.front().frame.data));
  if (audio && tracks_.back().kind == TrackKind::kAudio) {
    info->audio.reset(avcodec_parameters_alloc());
    AVCodecParameters* ap = info->audio.get();
    ap->codec_type = AVMEDIA_TYPE_AUDIO;
    ap->sample_rate = audio->clock_rate;
    av_channel_layout_default(&ap->ch_layout, audio->channels);
    info->audio_time_base = {1, audio->clock_rate};
    if (g711(*audio)) {
      ap->codec_id = audio->encoding == "PCMU" ? AV_CODEC_ID_PCM_MULAW : AV_CODEC_ID_PCM_ALAW;
      ap->bits_per_coded_sample = 8;
    } else {
      ap->codec_id = AV_CODEC_ID_AAC;
      ap->frame_size = 1024;
      set_extradata(ap, hex_bytes(audio->fmtp.at("config")));
    }
  }
  return info;
}

void NativeRtspSource::on_frame(const InterleavedFrame& f) {
  Track* track = nullptr;
  for (Track& t : tracks_) {
    if (t.rtp_channel == f.channel) track = &t;
  }
  if (!track) return;  // RTCP, or a track we did not set up
  const auto rtp = parse_rtp(f.payload);
  if (!rtp) return;
  scratch_.clear();
  track->depacketizer->push(*rtp, scratch_);
  if (!track->depacketizer->failure().empty()) {
    throw Error(ErrorCode::kResourceExhausted, track->depacketizer->failure());
  }
  for (CodecFrame& cf : scratch_) {
    // Audio before the first video keyframe has nothing to go with.
    if (track->kind == TrackKind::kAudio && !video_started_) continue;
    if (track->kind == TrackKind::kVideo) video_started_ = true;
    if (!track->origin) {
      track->origin = track->rtptime
                          ? cf.timestamp - static_cast<int32_t>(static_cast<uint32_t>(cf.timestamp) -
                                                                *track->rtptime)
                          : cf.timestamp;
    }
    ready_bytes_ += cf.data.size();
    ready_.push_back(Ready{track->kind, std::move(cf)});
  }
  if (ready_bytes_ > max_ready_bytes_) {
    throw Error(ErrorCode::kResourceExhausted,
                "more than " + std::to_string(max_ready_bytes_ >> 20) +
                    " MiB of frames arrived before vigil could take them");
  }
}

void NativeRtspSource::keepalive_if_due() {
  const SteadyTime now = clock_.steady_now();
  if (now < next_keepalive_) return;
  next_keepalive_ = now + keepalive_every_;
  // The answer is read (and ignored) with the media that follows it.
  send_request(get_parameter_ ? "GET_PARAMETER" : "OPTIONS", play_url_, "", ++cseq_);
}

void NativeRtspSource::fill_packet(Ready& r, AVPacket* pkt) {
  const Track* track = nullptr;
  for (const Track& t : tracks_) {
    if (t.kind == r.kind) track = &t;
  }
  // The depacketizer's buffer becomes the packet's, without a copy; FFmpeg wants its padding
  // zeroed (reserved by the depacketizer, so this does not reallocate).
  static_assert(kFramePadding == AV_INPUT_BUFFER_PADDING_SIZE);
  const size_t size = r.frame.data.size();
  auto owner = std::make_unique<std::vector<uint8_t>>(std::move(r.frame.data));
  owner->resize(size + kFramePadding, 0);
  AVBufferRef* buf = av_buffer_create(
      owner->data(), owner->size(),
      [](void* opaque, uint8_t*) { delete static_cast<std::vector<uint8_t>*>(opaque); },
      owner.get(), 0);
  if (!buf) throw Error(ErrorCode::kResourceExhausted, "out of memory");
  owner.release();  // the buffer's now
  pkt->buf = buf;
  pkt->data = buf->data;
  pkt->size = static_cast<int>(size);
  pkt->pts = pkt->dts = r.frame.timestamp - (track && track->origin ? *track->origin : 0);
  if (r.kind == TrackKind::kVideo) {
    // RTP carries presentation times; with B-frames decode times differ.
    const auto to90k = [this](int64_t t) { return av_rescale_q(t, video_clock_, {1, 90000}); };
    const Ticks90k dts = video_dts_.next(Ticks90k(to90k(pkt->pts)));
    pkt->dts = av_rescale_q(dts.count(), {1, 90000}, video_clock_);
  }
  if (r.frame.key) pkt->flags |= AV_PKT_FLAG_KEY;
}

bool NativeRtspSource::read(AVPacket* pkt, TrackKind& track) {
  try {
    RtspMessage msg;
    InterleavedFrame frame;
    for (;;) {
      if (!ready_.empty()) {
        Ready r = std::move(ready_.front());
        ready_.pop_front();
        ready_bytes_ -= r.frame.data.size();
        fill_packet(r, pkt);
        track = r.kind;
        return true;
      }
      if (video_->parameters_changed()) {
        throw Error(ErrorCode::kUnavailable,
                    "the camera changed its video parameters (resolution or profile)");
      }
      // The clock once per 16 RTP packets rather than per packet: under a second at the lowest
      // video bit rates, against a keepalive period of 30 s.
      if ((++packets_since_keepalive_check_ & 15) == 0) keepalive_if_due();
      const auto next = conn_.next(io_timeout_, msg, frame, read_batch_);
      if (next == RtspConnection::Next::kClosed) return false;
      if (next == RtspConnection::Next::kFrame) on_frame(frame);
      if (next == RtspConnection::Next::kMessage && msg.is_response && msg.status == 401) {
        // A keepalive refused because the Digest nonce expired: answer the new challenge at
        // once, or the camera ends the session at its timeout.
        const auto fresh = choose_challenge(msg.headers_named("WWW-Authenticate"));
        if (fresh && auth_ && fresh->scheme == auth_->scheme && fresh->nonce != auth_->nonce) {
          auth_ = fresh;
          nonce_count_ = 0;
          next_keepalive_ = clock_.steady_now();
        }
      }
    }
  } catch (const Error& e) {
    if (interrupted_) throw Error(ErrorCode::kUnavailable, "stopped");
    throw e.wrap("read " + redact_url(url_));
  }
}

}  // namespace vigil
