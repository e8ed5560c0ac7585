#!/usr/bin/python3
"""Seed corpora for the libFuzzer targets, made from real data at build time (scripts/fuzz).

OUT/<target>/ gets, per target:
  rtsp            the recorded answers of real cameras (tests/data/cameras/*.txt), and one
                  connection's byte stream (answers with interleaved RTP frames between them)
  sdp             the SDP bodies of those answers
  rtp             RTP packets of H.264, H.265, AAC and G.711 as FFmpeg's RTP muxer sends them
                  (captured on a UDP socket on 127.0.0.1), framed as rtp_fuzz.cpp reads them
  bmff            fragmented MP4 segments written by FFmpeg's mp4 muxer with the options of
                  vigil's SegmentWriter (src/record/segment_writer.cpp)
  fragment_index  the fragment index blobs of those segments
  http            request targets, cookie headers and the JSON bodies of docs/api.md
  config          the TOML examples of docs/config.md
  bundle          a real evidence bundle's manifest.json (tests/data/bundle), and the canonical
                  chain entries and checkpoint messages it holds
  receipt         ESC/POS and StarPRNT streams of a real encoder library (tests/data/receipts)
  onvif           the Hikvision- and Dahua-shaped ONVIF answers of tests/data/onvif
  s3              the answers of an S3 server and AWS-shaped ones in tests/data/s3

Usage: make_corpus.py SOURCE_DIR OUT_DIR. Seeds are a few KB each; nothing is downloaded.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile

SRC, OUT = sys.argv[1], sys.argv[2]
SEED_BYTES = 4096  # libFuzzer's default max_len: a longer seed is cut anyway


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def ffmpeg(*args):
    """Runs ffmpeg; returns what it prints (the RTP muxer prints the stream's SDP)."""
    return subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args],
                          check=True, stdout=subprocess.PIPE).stdout


def body_of(answer):
    """The body of a recorded RTSP answer (the files without headers are bodies already)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        if answer.startswith(b"RTSP/") and sep in answer:
            return answer.split(sep, 1)[1]
    return answer


def leb128(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def top_boxes(data):
    """(type, offset, size) of the top-level boxes of an MP4 file (ISO/IEC 14496-12 §4.2)."""
    at = 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[at + 8:at + 16], "big")
        elif size == 0:
            size = len(data) - at
        if size < 8:
            return
        yield kind, at, size
        at += size


def capture_rtp(input_args, codec_args, pkt_size):
    """Packets FFmpeg's RTP muxer sends for one stream, received on 127.0.0.1, and its SDP."""
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (rtp, rtcp):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.0.1", 0))
    port, rtcp_port = rtp.getsockname()[1], rtcp.getsockname()[1]
    sdp = ffmpeg(*input_args, *codec_args, "-f", "rtp",
           f"rtp://127.0.0.1:{port}?pkt_size={pkt_size}&rtcpport={rtcp_port}")
    rtp.settimeout(0.5)
    packets = []
    try:
        while True:
            packets.append(rtp.recv(65536))
    except socket.timeout:
        pass
    rtp.close()
    rtcp.close()
    return packets, sdp.split(b"SDP:\n", 1)[-1]


def rtp_seed(kind, packets, prefix=b""):
    """rtp_fuzz.cpp's layout: the depacketizer byte, then 16-bit length + packet, repeated."""
    out = bytes([kind]) + prefix
    for p in packets:
        framed = len(p).to_bytes(2, "big") + p
        if len(out) + len(framed) > SEED_BYTES:
            break
        out += framed
    return out


def main():
    cameras = os.path.join(SRC, "tests", "data", "cameras")
    answers = {}
    for name in sorted(os.listdir(cameras)):
        if name.endswith(".txt"):
            with open(os.path.join(cameras, name), "rb") as f:
                answers[name] = f.read()
            put("rtsp", name, answers[name])
            if "describe" in name or "sdp" in name:
                put("sdp", name, body_of(answers[name]))

    with tempfile.TemporaryDirectory() as tmp:
        video = ["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "1"]
        tiny_video = ["-f", "lavfi", "-i", "testsrc2=size=32x24:rate=5", "-t", "2"]
        audio = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "1"]
        h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "5", "-bf", "0",
                "-pix_fmt", "yuv420p"]
        h265 = ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-x265-params", "log-level=error:keyint=5:min-keyint=5:bframes=0"]
        aac = ["-c:a", "aac", "-b:a", "24k"]
        # G.711 at 8 kHz goes out under the static payload types 0 and 8; at 16 kHz FFmpeg
        # announces a dynamic one (a=rtpmap:97 PCMU/16000).
        audio16k = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", "1"]
        # Small packets make FU-A / FU fragments; large ones STAP-A / AP aggregates.
        # AAC-hbr: sizelength 13, indexlength 3, indexdeltalength 3 (the SDP says so); 100-byte
        # packets split access units over packets.
        h264_small = None
        for name, kind, prefix, source, codec, pkt_size in (
                ("h264_fragmented", 0, b"", video, h264, 200),
                ("h264_aggregated", 0, b"", video, h264, 1400),
                ("h265_fragmented", 1, b"", video, h265, 200),
                ("h265_aggregated", 1, b"", video, h265, 1400),
                ("aac", 2, bytes([13, 3, 3]), audio, aac, 1400),
                ("aac_fragmented", 2, bytes([13, 3, 3]), audio, aac, 100),
                ("pcmu", 3, b"", audio, ["-c:a", "pcm_mulaw"], 400),
                ("pcma", 3, b"", audio, ["-c:a", "pcm_alaw"], 400),
                ("pcmu_dynamic", 3, b"", audio16k, ["-c:a", "pcm_mulaw"], 400)):
            packets, sdp = capture_rtp(source, codec, pkt_size)
            put("rtp", name, rtp_seed(kind, packets, prefix))
            put("sdp", "ffmpeg_" + name, sdp)
            h264_small = h264_small or packets

        # One connection's bytes: DESCRIBE, SETUP and PLAY answers, then interleaved RTP.
        stream = answers["hikvision_describe.txt"] + answers["hikvision_setup.txt"] + \
            answers["hikvision_play.txt"]
        for p in h264_small:
            framed = b"$\x00" + len(p).to_bytes(2, "big") + p
            if len(stream) + len(framed) > 2 * SEED_BYTES:
                break
            stream += framed
        put("rtsp", "hikvision_session_with_rtp", stream)

        # Segment files as SegmentWriter writes them: empty moov, a fragment per GOP.
        segment_opts = ["-movflags", "frag_keyframe+empty_moov+default_base_moof+skip_trailer",
                        "-video_track_timescale", "90000"]
        for name, args in (
                ("h264_aac", [*tiny_video, *audio, *h264, *aac]),
                ("h265", [*tiny_video, *h265])):
            path = os.path.join(tmp, name + ".mp4")
            ffmpeg(*args, *segment_opts, path)
            with open(path, "rb") as f:
                data = f.read()
            put("bmff", name, data[:2 * SEED_BYTES])
            # The catalog's blob for it: size and duration (1 s GOPs) of each moof+mdat.
            blob = b""
            boxes = list(top_boxes(data))
            for (kind, _, size), nxt in zip(boxes, boxes[1:]):
                if kind == "moof" and nxt[0] == "mdat":
                    blob += leb128(size + nxt[2]) + leb128(90000)
            put("fragment_index", name, blob)

    for i, seed in enumerate([
            b"/api/cameras/front-door/recordings?from=1733400000000&to=1733403600000",
            b"/api/cameras/a%20b/live.mp4?limit=10&x=%2F..%2F",
            b"/api/events?camera=front&type=motion&limit=50&before=1733403600000",
            b"/api/users/admin",
            b"vigil_session=Zm9vYmFyYmF6; vigil_csrf=abc123; theme=dark",
            b'{"name": "front", "role": "viewer"}',
            b'{"url": "rtsp://admin:***@10.0.0.5/Streaming/101", "enabled": true, '
            b'"retention": {"max_days": 30}, "zones": [[0.1, 0.2], [0.5, 0.5]]}']):
        put("http", f"request_{i}", seed)
    with open(os.path.join(SRC, "docs", "api.md"), encoding="utf-8") as f:
        for i, block in enumerate(re.findall(r"```json\n(.*?)```", f.read(), re.S)):
            put("http", f"api_md_{i}", block.encode()[:SEED_BYTES])

    with open(os.path.join(SRC, "docs", "config.md"), encoding="utf-8") as f:
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", f.read(), re.S)):
            put("config", f"config_md_{i}", block.encode()[:SEED_BYTES])

    # Uncut: libFuzzer's max_len follows the largest seed, and a cut manifest is not JSON.
    with open(os.path.join(SRC, "tests", "data", "bundle", "manifest.json"), "rb") as f:
        manifest = f.read()
    put("bundle", "manifest.json", manifest)
    for i, entry in enumerate(re.findall(rb'"canonical": "([0-9a-f]+)"', manifest)):
        put("bundle", f"entry_{i}", bytes.fromhex(entry.decode()))
    for i, message in enumerate(re.findall(rb'"message": "([0-9a-f]+)"', manifest)):
        put("bundle", f"checkpoint_{i}", bytes.fromhex(message.decode()))

    # ESC/POS and StarPRNT streams of a real encoder library (tests/data/receipts/README.md),
    # each alone and all four as one connection, behind the byte receipt_fuzz.cpp reads first
    # (its high bit: StarPRNT; the rest: the chunk size).
    for sub, language_bit, prefix in (("", 0x00, ""), ("star-prnt", 0x80, "star_")):
        receipts_dir = os.path.join(SRC, "tests", "data", "receipts", sub)
        streams = []
        for name in sorted(os.listdir(receipts_dir)):
            if name.endswith(".bin"):
                with open(os.path.join(receipts_dir, name), "rb") as f:
                    streams.append(f.read())
                put("receipt", prefix + name, bytes([language_bit | 0x07]) + streams[-1])
        put("receipt", prefix + "all", bytes([language_bit]) + b"".join(streams))

    onvif = os.path.join(SRC, "tests", "data", "onvif")
    for name in sorted(os.listdir(onvif)):
        if name.endswith(".xml"):
            with open(os.path.join(onvif, name), "rb") as f:
                put("onvif", name, f.read())

    s3 = os.path.join(SRC, "tests", "data", "s3")
    for name in sorted(os.listdir(s3)):
        if name.endswith(".xml"):
            with open(os.path.join(s3, name), "rb") as f:
                put("s3", name, f.read())


main()
