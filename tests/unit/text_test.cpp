// clean_text (network text made safe to show) and to_json_text (JSON that never throws on bad
// UTF-8).
#include "core/text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "ingest/rtsp_message.h"
#include "ingest/sdp.h"

namespace vigil {
namespace {

TEST(CleanText, KeepsValidUtf8) {
  EXPECT_EQ(clean_text("200 OK"), "200 OK");
  EXPECT_EQ(clean_text("Indisponible \u00e9t\u00e9 \u65e5\u672c \U0001F4F7"),
            "Indisponible \u00e9t\u00e9 \u65e5\u672c \U0001F4F7");
  EXPECT_EQ(clean_text(""), "");
}

TEST(CleanText, ReadsInvalidBytesAsLatin1) {
  // The reason phrase of a camera whose firmware answers in Latin-1.
  EXPECT_EQ(clean_text("Indisponible \xe9t\xe9"), "Indisponible \u00e9t\u00e9");
  EXPECT_EQ(clean_text("Gr\xfc\xdf" "e"), "Gr\u00fc\u00df" "e");
  // 0x80-0x9F are C1 controls in Latin-1: replaced, never passed on.
  EXPECT_EQ(clean_text("a\x85" "b\x9b" "c"), "a\ufffd" "b\ufffd" "c");
  // Overlong forms, surrogates, truncated sequences and bytes above U+10FFFF are not UTF-8.
  EXPECT_EQ(clean_text("\xc0\xaf"), "\u00c0\u00af");
  EXPECT_EQ(clean_text("\xed\xa0\x80"), "\u00ed\u00a0\ufffd");
  EXPECT_EQ(clean_text("ab\xe6\x97"), "ab\u00e6\ufffd");
  EXPECT_EQ(clean_text("\xf4\x90\x80\x80"), "\u00f4\ufffd\ufffd\ufffd");
}

TEST(CleanText, RemovesControlsAndLineBreaks) {
  // CR/LF injection into a log line: one line stays one line.
  EXPECT_EQ(clean_text("Busy\r\n2026-12-06 critical forged"), "Busy 2026-12-06 critical forged");
  EXPECT_EQ(clean_text("a\tb\n\n\nc\r\n"), "a b c");
  // ANSI escapes lose their ESC (the rest is harmless text), NUL and DEL disappear.
  EXPECT_EQ(clean_text("\x1b[31mred\x1b[0m"), "[31mred[0m");
  EXPECT_EQ(clean_text(std::string("a\0b\x7f" "c", 5)), "abc");
  // Unicode line separators and bidi overrides (text that reads backwards in the UI).
  EXPECT_EQ(clean_text("x\u2028y\u202egnp.exe"), "x ygnp.exe");
}

TEST(CleanText, CutsLongTextAtACharacterBoundary) {
  EXPECT_EQ(clean_text("abcdef", 4), "abcd\u2026");
  // "é" takes two bytes: it is not split.
  EXPECT_EQ(clean_text("abc\u00e9", 4), "abc\u2026");
  EXPECT_EQ(clean_text(std::string(100000, 'x')).size(), kMaxCleanTextBytes + 3);
}

// Whatever the bytes, the result is valid UTF-8: nlohmann's strict dump accepts it.
TEST(CleanText, AnyBytesBecomeValidUtf8) {
  std::mt19937 rng(16);
  for (int round = 0; round < 2000; ++round) {
    std::string raw(rng() % 64, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    const std::string clean = clean_text(raw);
    EXPECT_NO_THROW((void)nlohmann::json(clean).dump()) << "round " << round;
    for (unsigned char c : clean) EXPECT_FALSE(c < 0x20 || c == 0x7f) << "round " << round;
  }
}

// Where camera text enters: the reason phrase and the SDP's codec name reach status and logs.
TEST(CleanText, RtspReasonPhrasesAndSdpCodecNamesAreCleaned) {
  const std::string answer =
      "RTSP/1.0 503 Indisponible \xe9t\xe9 \x1b[31m\x07rouge\rX\r\nCSeq: 2\r\n\r\n";
  RtspMessage msg;
  InterleavedFrame frame;
  size_t consumed = 0;
  ASSERT_EQ(parse_rtsp_item({reinterpret_cast<const uint8_t*>(answer.data()), answer.size()},
                            consumed, msg, frame),
            ParseResult::kMessage);
  EXPECT_EQ(msg.status, 503);
  EXPECT_EQ(msg.reason, "Indisponible \u00e9t\u00e9 [31mrouge X");
  const SdpSession sdp =
      parse_sdp("v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 M\xc9JPEG\x1b/90000\r\n");
  ASSERT_EQ(sdp.media.size(), 1u);
  EXPECT_EQ(sdp_codec_name(sdp.media[0]), "m\u00c9jpeg");
}

TEST(ToJsonText, ReplacesInvalidUtf8InsteadOfThrowing) {
  const nlohmann::json j = {{"last_error", "503 Indisponible \xe9t\xe9"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  EXPECT_EQ(to_json_text(j), "{\"last_error\":\"503 Indisponible \ufffdt\ufffd\"}");
  EXPECT_EQ(to_json_text(j, 2), "{\n  \"last_error\": \"503 Indisponible \ufffdt\ufffd\"\n}");
}

TEST(PercentEncode, KeepsUnreservedBytesAndEncodesTheRestUpperCase) {
  EXPECT_EQ(percent_encode("Az09-._~"), "Az09-._~");
  EXPECT_EQ(percent_encode("p@ss:w/rd é"), "p%40ss%3Aw%2Frd%20%C3%A9");
  EXPECT_EQ(percent_encode("cam 1/a+b", "/"), "cam%201/a%2Bb");
  EXPECT_EQ(percent_encode(std::string_view("\0\xff", 2)), "%00%FF");
}

}  // namespace
}  // namespace vigil
