// Bounded memory per camera: the caps on a video frame, its NAL units, an AAC access unit and
// an RTSP connection's receive buffer. Each is shown failing with its reason for a hostile
// stream (a frame that never ends) and passing for the largest stream within it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "ingest/native_rtsp_source.h"
#include "ingest/rtp_depacketizer.h"
#include "ingest/rtsp_connection.h"

namespace vigil {
namespace {

using Bytes = std::vector<uint8_t>;

// One RTP packet (version 2, payload type 96, no CSRC) around a payload.
Bytes rtp(uint16_t seq, uint32_t ts, bool marker, const Bytes& payload) {
  Bytes p(12 + payload.size());
  const uint8_t header[12] = {0x80, static_cast<uint8_t>((marker ? 0x80 : 0) | 96),
                              static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq),
                              static_cast<uint8_t>(ts >> 24), static_cast<uint8_t>(ts >> 16),
                              static_cast<uint8_t>(ts >> 8), static_cast<uint8_t>(ts),
                              1, 2, 3, 4};
  std::copy(std::begin(header), std::end(header), p.begin());
  std::copy(payload.begin(), payload.end(), p.begin() + 12);
  return p;
}

void feed(Depacketizer& d, const Bytes& packet, std::vector<CodecFrame>& out) {
  const auto p = parse_rtp(packet);
  ASSERT_TRUE(p);
  d.push(*p, out);
}

// An H.264 IDR slice as FU-A packets of `chunk` payload bytes each, all with one timestamp:
// the last one has the end bit and the marker when `ends`; otherwise the frame never ends.
// Returns the payload bytes fed before the depacketizer failed (or all of them).
size_t feed_fu_a(Depacketizer& d, size_t total, size_t chunk, bool ends,
                 std::vector<CodecFrame>& out, uint16_t& seq) {
  size_t fed = 0;
  for (bool first = true; fed < total; first = false) {
    const size_t n = std::min(chunk, total - fed);
    const bool last = ends && fed + n == total;
    Bytes payload = {0x7c, static_cast<uint8_t>((first ? 0x80 : 0) | (last ? 0x40 : 0) | 5)};
    payload.resize(2 + n, 0xab);
    feed(d, rtp(seq++, 9000, last, payload), out);
    if (!d.failure().empty()) break;
    fed += n;
  }
  return fed;
}

TEST(MemoryCaps, AVideoFrameThatNeverEndsFailsAt16MiB) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH264, {});
  std::vector<CodecFrame> out;
  uint16_t seq = 0;
  // 64 MiB offered (the hostile camera would go on forever); it stops within one packet of 16.
  const size_t fed = feed_fu_a(d, size_t{64} << 20, 1400, false, out, seq);
  EXPECT_EQ(d.failure(), "video frame larger than 16 MiB");
  EXPECT_LE(fed, kMaxVideoFrameBytes);
  EXPECT_GT(fed, kMaxVideoFrameBytes - 1400 - 5);
  EXPECT_TRUE(out.empty());
  // Failed for good: nothing more is assembled, whatever comes.
  Bytes idr = {0x65, 1, 2, 3};
  feed(d, rtp(seq++, 12000, true, idr), out);
  EXPECT_TRUE(out.empty());
}

TEST(MemoryCaps, A15MiBKeyframeStillPasses) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH264, {});
  std::vector<CodecFrame> out;
  uint16_t seq = 0;
  const size_t size = size_t{15} << 20;
  EXPECT_EQ(feed_fu_a(d, size, 60000, true, out, seq), size);
  EXPECT_EQ(d.failure(), "");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].key);
  EXPECT_EQ(out[0].data.size(), 4 + 1 + size);  // start code, NAL header, slice
}

TEST(MemoryCaps, H265FragmentsAreCappedToo) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH265, {});
  std::vector<CodecFrame> out;
  Bytes fu = {49 << 1, 1, 0x80 | 19};  // FU header: start of an IDR_W_RADL
  fu.resize(3 + 60000, 0xcd);
  uint16_t seq = 0;
  feed(d, rtp(seq++, 9000, false, fu), out);
  fu[2] = 19;  // middle fragments, forever
  for (int i = 0; i < 400 && d.failure().empty(); ++i) feed(d, rtp(seq++, 9000, false, fu), out);
  EXPECT_EQ(d.failure(), "video frame larger than 16 MiB");
  EXPECT_TRUE(out.empty());
}

// STAP-A packets of `per_packet` one-byte slices (non-IDR), all one timestamp.
void feed_stap_a(Depacketizer& d, size_t nals, size_t per_packet, bool ends,
                 std::vector<CodecFrame>& out, uint16_t& seq) {
  for (size_t done = 0; done < nals && d.failure().empty();) {
    Bytes stap = {24};
    const size_t n = std::min(per_packet, nals - done);
    for (size_t i = 0; i < n; ++i) stap.insert(stap.end(), {0, 2, 0x41, 0x9a});
    done += n;
    feed(d, rtp(seq++, 3000, ends && done == nals, stap), out);
  }
}

TEST(MemoryCaps, AFrameOfTooManyNalUnitsFails) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH264, {});
  std::vector<CodecFrame> out;
  uint16_t seq = 0;
  // An IDR first, so that later frames are passed on.
  feed(d, rtp(seq++, 0, true, {0x65, 1, 2, 3}), out);
  ASSERT_EQ(out.size(), 1u);
  feed_stap_a(d, kMaxNalUnitsPerFrame, 100, true, out, seq);
  EXPECT_EQ(d.failure(), "");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data.size(), kMaxNalUnitsPerFrame * 6);
  // The next frame counts from zero again, and fails past the cap.
  feed_stap_a(d, 100000, 100, false, out, seq);
  EXPECT_EQ(d.failure(), "video frame of more than 4096 NAL units");
  EXPECT_EQ(out.size(), 2u);
}

// One AAC access unit of `size` bytes declared in each fragment's AU header (sizelength 20,
// indexlength 3: a 23-bit header), the unit split over packets of up to 1000 bytes.
void feed_aac(AacDepacketizer& d, uint32_t size, std::vector<CodecFrame>& out, uint16_t& seq) {
  const uint32_t header = size << 3;  // size (20 bits), index 0 (3 bits), left-aligned in 24
  for (uint32_t sent = 0; sent < size && d.failure().empty();) {
    const uint32_t n = std::min<uint32_t>(1000, size - sent);
    Bytes p = {0x00, 23, static_cast<uint8_t>(header >> 15), static_cast<uint8_t>(header >> 7),
               static_cast<uint8_t>(header << 1)};
    p.resize(p.size() + n, 0x11);
    sent += n;
    feed(d, rtp(seq++, 1024 * 7, sent == size, p), out);
  }
}

TEST(MemoryCaps, AacAccessUnitsAreCappedAt64KiB) {
  std::vector<CodecFrame> out;
  uint16_t seq = 0;
  AacDepacketizer ok(20, 3, 3);
  feed_aac(ok, kMaxAudioAccessUnitBytes, out, seq);
  EXPECT_EQ(ok.failure(), "");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data.size(), kMaxAudioAccessUnitBytes);

  // RFC 3640 lets sizelength announce up to 2^sizelength bytes: refused at the first packet.
  AacDepacketizer hostile(20, 3, 3);
  feed_aac(hostile, (1u << 20) - 1, out, seq);
  EXPECT_EQ(hostile.failure(), "audio access unit larger than 64 KiB");
  EXPECT_EQ(out.size(), 1u);
}

TEST(MemoryCaps, AZeroSizeLengthCannotLoopForever) {
  // sizelength 0 read AU headers of zero bits: the header loop never advanced.
  AacDepacketizer d(0, 0, 0);
  std::vector<CodecFrame> out;
  feed(d, rtp(1, 0, true, {0x00, 0x08, 0x10, 0xaa, 0xbb}), out);
  SUCCEED();
}

// A TCP peer on 127.0.0.1 on a free port: `serve` runs on a thread of its own with the first
// client connected; the destructor shuts the sockets down (ending any send or recv) and joins.
class LoopbackPeer {
 public:
  explicit LoopbackPeer(std::function<void(LoopbackPeer&)> serve) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(listen_fd_, 1);
    thread_ = std::thread([this, serve = std::move(serve)] {
      client_ = accept(listen_fd_, nullptr, nullptr);
      if (client_ >= 0) serve(*this);
    });
  }
  ~LoopbackPeer() {
    shutdown(listen_fd_, SHUT_RDWR);
    if (client_ >= 0) shutdown(client_, SHUT_RDWR);
    thread_.join();
    if (client_ >= 0) close(client_);
    close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  std::string url() const { return "rtsp://127.0.0.1:" + std::to_string(port_) + "/cam"; }

  bool send_all(const std::string& bytes) {
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::send(client_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // Appends what arrived to `in`; false once the client is gone.
  bool receive(std::string& in) {
    char buf[4096];
    const ssize_t n = recv(client_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
    return true;
  }

 private:
  int listen_fd_ = -1;
  int client_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::string answer_with_body(size_t body) {
  return "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n" +
         std::string(body, 'v');
}

TEST(MemoryCaps, AnRtspConnectionBuffersAtMostItsCap) {
  SystemClock clock;
  RtspMessage msg;
  InterleavedFrame frame;
  {
    // The largest message the parser accepts (1 MiB of body) fits the default buffer.
    LoopbackPeer server([](LoopbackPeer& p) { p.send_all(answer_with_body(1 << 20)); });
    RtspConnection conn(clock);
    conn.connect("127.0.0.1", server.port(), std::chrono::seconds(5));
    ASSERT_EQ(conn.next(std::chrono::seconds(5), msg, frame), RtspConnection::Next::kMessage);
    EXPECT_EQ(msg.body.size(), size_t{1} << 20);
  }
  {
    // A buffer capped lower refuses to grow past it, with the reason.
    LoopbackPeer server([](LoopbackPeer& p) { p.send_all(answer_with_body(600 * 1024)); });
    RtspConnection conn(clock, 256 * 1024);
    conn.connect("127.0.0.1", server.port(), std::chrono::seconds(5));
    try {
      conn.next(std::chrono::seconds(5), msg, frame);
      ADD_FAILURE() << "a message larger than the buffer was read";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "the camera sent an RTSP message larger than 256 KiB");
      EXPECT_EQ(e.code(), ErrorCode::kResourceExhausted);
    }
  }
}

// A scripted camera for NativeRtspSource: answers OPTIONS, DESCRIBE (with `sdp`), SETUP and
// PLAY, then calls `media` with a function that sends one interleaved frame and answers false
// once the client is gone.
using SendFrame = std::function<bool(uint8_t channel, const Bytes& packet)>;

// The next request's head from the client (`in` buffers what arrived beyond it) and its CSeq;
// false once the client is gone.
bool next_request(LoopbackPeer& peer, std::string& in, std::string& head, std::string& cseq) {
  size_t end;
  while ((end = in.find("\r\n\r\n")) == std::string::npos) {
    if (!peer.receive(in)) return false;
  }
  head = in.substr(0, end);
  in.erase(0, end + 4);
  const size_t cseq_at = head.find("CSeq: ");
  cseq = head.substr(cseq_at + 6, head.find("\r\n", cseq_at) - cseq_at - 6);
  return true;
}

void serve_camera(LoopbackPeer& peer, const std::string& sdp,
                  const std::function<void(const SendFrame&)>& media) {
  std::string in, head, cseq;
  int channel = 0;
  while (next_request(peer, in, head, cseq)) {
    std::string answer = "RTSP/1.0 200 OK\r\nCSeq: " + cseq + "\r\nSession: 7\r\n";
    if (head.rfind("DESCRIBE", 0) == 0) {
      answer += "Content-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
                "\r\n\r\n" + sdp;
    } else if (head.rfind("SETUP", 0) == 0) {
      answer += "Transport: RTP/AVP/TCP;unicast;interleaved=" + std::to_string(channel) + "-" +
                std::to_string(channel + 1) + "\r\n\r\n";
      channel += 2;
    } else {
      answer += "\r\n";
    }
    if (!peer.send_all(answer)) return;
    if (head.rfind("PLAY", 0) == 0) break;
  }
  if (head.rfind("PLAY", 0) != 0) return;  // the client left before playing
  media([&peer](uint8_t ch, const Bytes& packet) {
    std::string frame = {'$', static_cast<char>(ch), static_cast<char>(packet.size() >> 8),
                         static_cast<char>(packet.size() & 0xff)};
    frame.append(packet.begin(), packet.end());
    return peer.send_all(frame);
  });
}

const char kVideoSdp[] =
    "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:v\r\n";

std::string open_error(const std::string& url,
                       size_t max_ready = NativeRtspSource::kMaxReadyBytes,
                       ErrorCode expected = ErrorCode::kResourceExhausted, bool allow_basic = false) {
  SystemClock clock;
  NativeRtspSource source(url, std::chrono::seconds(5), std::chrono::milliseconds(0), clock,
                          max_ready, allow_basic);
  try {
    source.open();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), expected) << e.what();
    return e.what();
  }
  return "opened";
}

// The depacketizer's reason reaches the camera's status as the source's error.
TEST(MemoryCaps, TheRtspClientDisconnectsAnEndlessFrameWithTheReason) {
  LoopbackPeer camera([](LoopbackPeer& peer) {
    serve_camera(peer, kVideoSdp, [](const SendFrame& send) {
      Bytes fu = {0x7c, 0x85};
      fu.resize(2 + 60000, 0xab);
      for (uint16_t seq = 0; send(0, rtp(seq, 9000, false, fu)); ++seq) fu[1] = 0x05;
    });
  });
  const std::string error = open_error(camera.url());
  EXPECT_NE(error.find("video frame larger than 16 MiB"), std::string::npos) << error;
  EXPECT_EQ(error.rfind("open " + camera.url() + ": ", 0), 0u) << error;
}

// Waiting up to 1.5 s for announced audio, a camera sending video faster than anyone could
// record it is disconnected once the frames waiting pass the cap (64 MiB; 4 MiB here, so that
// the camera reaches it within the wait also on a slow or sanitized build), not buffered for
// the whole wait.
TEST(MemoryCaps, FramesWaitingToBeReadAreCapped) {
  const std::string sdp = std::string(kVideoSdp) +
                          "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/1\r\n"
                          "a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;"
                          "indexdeltalength=3;config=1188\r\na=control:a\r\n";
  LoopbackPeer camera([&sdp](LoopbackPeer& peer) {
    serve_camera(peer, sdp, [](const SendFrame& send) {
      // Whole 1 MiB keyframes (FU-A start to end), a new timestamp each, never any audio.
      uint16_t seq = 0;
      for (uint32_t ts = 0;; ts += 3000) {
        for (int i = 0; i < 18; ++i) {
          const int s_e = (i == 0 ? 0x80 : 0) | (i == 17 ? 0x40 : 0);
          Bytes fu = {0x7c, static_cast<uint8_t>(s_e | 5)};
          fu.resize(2 + 60000, 0xab);
          if (!send(0, rtp(seq++, ts, i == 17, fu))) return;
        }
      }
    });
  });
  const std::string error = open_error(camera.url(), size_t{4} << 20);
  EXPECT_NE(error.find("more than 4 MiB of frames arrived before vigil could take them"),
            std::string::npos)
      << error;
}

// Not a memory cap, but this file has the scripted camera: a server that asks for Basic
// authentication (the password in clear) over plain RTSP gets no password unless the camera's
// config says auth = "basic", and the error says why.
std::string basic_challenge_answer(bool allow_basic, std::string& authorization) {
  LoopbackPeer camera([&authorization](LoopbackPeer& peer) {
    std::string in, head, cseq;
    for (int answered = 0; answered < 2 && next_request(peer, in, head, cseq);) {
      const size_t at = head.find("Authorization: ");
      if (at != std::string::npos) authorization = head.substr(at, head.find("\r\n", at) - at);
      if (!peer.send_all("RTSP/1.0 401 Unauthorized\r\nCSeq: " + cseq +
                         "\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n")) {
        return;
      }
      ++answered;
    }
  });
  return open_error("rtsp://admin:s3cret@127.0.0.1:" + std::to_string(camera.port()) + "/cam",
                    NativeRtspSource::kMaxReadyBytes, ErrorCode::kUnauthenticated, allow_basic);
}

TEST(RtspAuthPolicy, BasicOverPlainRtspIsRefusedUnlessConfigured) {
  std::string authorization;
  std::string error = basic_challenge_answer(false, authorization);
  EXPECT_NE(error.find("asks for Basic authentication"), std::string::npos) << error;
  EXPECT_NE(error.find("auth = \"basic\""), std::string::npos) << error;
  EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
  EXPECT_EQ(authorization, "");  // the password never left
  // Configured: answered (base64 of admin:s3cret), and the second 401 means a wrong password.
  error = basic_challenge_answer(true, authorization);
  EXPECT_EQ(authorization, "Authorization: Basic YWRtaW46czNjcmV0");
  EXPECT_NE(error.find("check the user name and password"), std::string::npos) << error;
}

}  // namespace
}  // namespace vigil
