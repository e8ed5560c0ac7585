"""Timeline, HLS playback, segment byte ranges and export on a real `vigil serve` recording a
real test camera (GStreamer RTSP, H.264 + AAC on "front", H.265 on "yard"): what the API
answers is fetched the way a player fetches it, and the bytes are decoded with ffmpeg/ffprobe.
The browser test (tests/browser/playback.test.mjs, Chromium + hls.js) runs on the same
recording."""
import json
import os
import re
import signal
import struct
import subprocess
import tempfile
import time
import unittest

from harness import (SOURCE_DIR, VIGIL_BIN, RtspCamera, Vigil, decode_errors, make_clip,
                     probe_duration)
from test_serve import Client

GOP_S = 2.0  # make_clip.sh's default GOP


def boxes(data):
    """The top-level ISO BMFF boxes of `data` as (type, size), ISO/IEC 14496-12 §4.2: a 32-bit
    size (1: a 64-bit one follows the type) and a 4-character type. Fails on a box that does not
    end inside `data`, or on trailing bytes that are not a box."""
    out = []
    pos = 0
    while pos < len(data):
        assert len(data) - pos >= 8, "%d trailing bytes at %d" % (len(data) - pos, pos)
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        assert size >= 8 and pos + size <= len(data), \
            "box %r of %d bytes at %d runs past %d" % (kind, size, pos, len(data))
        out.append((kind.decode("latin-1"), size))
        pos += size
    return out


def parse_playlist(text):
    """[(uri, init (size, offset), [(size, offset, extinf)...])] per file of a playlist."""
    files = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-MAP:"):
            m = re.match(r'#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"', line)
            files.append((m.group(1), (int(m.group(2)), int(m.group(3))), []))
        elif line.startswith("#EXTINF:"):
            m = re.match(r"#EXT-X-BYTERANGE:(\d+)@(\d+)", lines[i + 1])
            assert lines[i + 2] == files[-1][0], lines[i:i + 3]
            files[-1][2].append((int(m.group(1)), int(m.group(2)), float(line[8:].rstrip(","))))
    return files


def add_user(v, name, role, cameras=None):
    """`vigil user add` offline, password NAME-password."""
    args = ["user", "add", name, "--role", role] + (["--cameras", cameras] if cameras else [])
    r = subprocess.run([VIGIL_BIN, "-c", v.config, *args], input=name + "-password\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


class VigilFixture(unittest.TestCase):
    """A class whose setUpClass starts cls.cam and cls.v in cls._tmp; stopped in reverse."""

    @classmethod
    def tearDownClass(cls):
        cls.v.stop()
        cls.cam.close()
        cls._tmp.cleanup()


class Playback(VigilFixture):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="vigil-it-")
        h264 = make_clip("h264-aac", "--codec", "h264", "--seconds", "20", "--audio")
        h265 = make_clip("h265", "--codec", "h265", "--seconds", "20")
        cls.cam = RtspCamera({"front": h264, "yard": h265})
        cls.v = Vigil(cls._tmp.name, [{"id": "front", "url": cls.cam.url("front")},
                                      {"id": "yard", "url": cls.cam.url("yard")}],
                      segment_seconds=10, extra_toml="[http]\nport = 0\n").start()
        try:
            cls.url = cls.v.web_url()
            add_user(cls.v, "op", "operator", "*")
            add_user(cls.v, "val", "viewer", "yard")
            closed = lambda cam: [s for s in cls.v.segments(cam) if s["state"] == "closed"]
            cls.v.wait_for(lambda: len(closed("front")) >= 3 and closed("yard"), 120,
                           "3 closed segments of front and one of yard")
            cls.segs = closed("front")
        except BaseException:
            cls.tearDownClass()
            raise

    def client(self, name):
        c = Client(self.url)
        status, _, body = c.login(name, name + "-password")
        self.assertEqual(status, 200, body)
        return c

    def window(self):
        return self.segs[0]["wall_start_ms"], self.segs[-1]["wall_end_ms"]

    def test_timeline(self):
        c = self.client("val")
        start, end = self.window()
        status, _, body, _ = c.request(
            "GET", "/api/cameras/yard/timeline?start=%d&end=%d" % (start - 60000, end + 60000))
        self.assertEqual(status, 200, body)
        self.assertTrue(body["recorded"], body)
        c = self.client("op")
        status, _, body, _ = c.request(
            "GET", "/api/cameras/front/timeline?start=%d&end=%d" % (start - 60000, end))
        self.assertEqual(status, 200, body)
        # One connection, files back to back: one merged range from the first file's start.
        self.assertEqual(len(body["recorded"]), 1, body)
        r = body["recorded"][0]
        self.assertEqual(r["start_ms"], start)
        self.assertEqual(r["end_ms"], end)
        # The files of its run, which goes on past the window with the file being written.
        self.assertGreater(r["segments"], len(self.segs))
        self.assertEqual(body["gaps"], [])
        # Clipped to the window.
        status, _, body, _ = c.request(
            "GET", "/api/cameras/front/timeline?start=%d&end=%d" % (start + 1000, start + 2000))
        self.assertEqual([(x["start_ms"], x["end_ms"]) for x in body["recorded"]],
                         [(start + 1000, start + 2000)])

    def test_playlist_byte_ranges_decode(self):
        c = self.client("op")
        start, end = self.window()
        status, headers, _, data = c.request(
            "GET", "/api/cameras/front/playback.m3u8?start=%d&end=%d" % (start, end))
        self.assertEqual(status, 200, data)
        self.assertEqual(headers["Content-Type"], "application/vnd.apple.mpegurl")
        text = data.decode()
        lines = text.splitlines()
        self.assertEqual(lines[0], "#EXTM3U")
        for tag in ("#EXT-X-VERSION:7", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-ENDLIST"):
            self.assertIn(tag, lines)
        self.assertEqual(text.count("#EXT-X-MAP:"), len(self.segs))
        self.assertEqual(text.count("#EXT-X-DISCONTINUITY"), len(self.segs) - 1)
        target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
        # Fetch what a player fetches: per file its init part, then each fragment, by Range.
        files = []
        extinf = 0.0
        for i, line in enumerate(lines):
            if line.startswith("#EXT-X-MAP:"):
                m = re.match(r'#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"', line)
                files.append([m.group(1), [(int(m.group(2)), int(m.group(3)))]])
            elif line.startswith("#EXTINF:"):
                d = float(line[8:].rstrip(","))
                self.assertLessEqual(round(d), target)
                extinf += d
                m = re.match(r"#EXT-X-BYTERANGE:(\d+)@(\d+)", lines[i + 1])
                self.assertEqual(lines[i + 2], files[-1][0])
                files[-1][1].append((int(m.group(1)), int(m.group(2))))
        total = 0.0
        tmp = tempfile.mkdtemp(dir=self._tmp.name)
        for n, (uri, ranges) in enumerate(files):
            blob = b""
            for size, offset in ranges:
                status, headers, _, part = c.request(
                    "GET", uri, headers={"Range": "bytes=%d-%d" % (offset, offset + size - 1)})
                self.assertEqual(status, 206)
                self.assertEqual(len(part), size)
                self.assertTrue(headers["Content-Range"].startswith("bytes %d-" % offset))
                blob += part
            path = os.path.join(tmp, "%d.mp4" % n)
            with open(path, "wb") as f:
                f.write(blob)
            self.assertEqual(decode_errors(path), "", uri)
            total += probe_duration(path)
        self.assertAlmostEqual(total, extinf, delta=0.5)
        self.assertAlmostEqual(extinf, (end - start) / 1000.0, delta=1.0)
        # Audited with the camera and the range.
        rows = self.v.query("SELECT * FROM audit WHERE action = 'playback' AND user_name = 'op'")
        self.assertTrue(any(r["camera_id"] == "front" and r["range_start_ms"] == start and
                            r["range_end_ms"] == end for r in rows), rows)

    def test_media_ranges(self):
        c = self.client("op")
        seg = self.segs[0]
        uri = "/api/segments/%d/media" % seg["id"]
        size = seg["bytes"]
        status, headers, _, data = c.request("GET", uri)
        self.assertEqual(status, 200)
        self.assertEqual(len(data), size)
        self.assertEqual(headers["Accept-Ranges"], "bytes")
        with open(os.path.join(self.v.data, seg["path"]), "rb") as f:
            self.assertEqual(data, f.read())
        cases = {"bytes=0-0": (0, 0), "bytes=-100": (size - 100, size - 1),
                 "bytes=%d-" % (size - 10): (size - 10, size - 1),
                 "bytes=10-%d" % (size * 2): (10, size - 1)}
        for rng, (a, b) in cases.items():
            status, headers, _, part = c.request("GET", uri, headers={"Range": rng})
            self.assertEqual(status, 206, rng)
            self.assertEqual(part, data[a:b + 1], rng)
            self.assertEqual(headers["Content-Range"], "bytes %d-%d/%d" % (a, b, size), rng)
        for rng in ("bytes=%d-" % size, "bytes=5-3", "bytes=-0", "bytes=abc"):
            status, headers, body, _ = c.request("GET", uri, headers={"Range": rng})
            self.assertEqual(status, 416, rng)
            self.assertEqual(headers["Content-Range"], "bytes */%d" % size, rng)
            self.assertEqual(body["error"], "range_not_satisfiable")
        self.assertEqual(c.request("GET", "/api/segments/999999/media")[0], 404)
        self.assertEqual(c.request("GET", "/api/segments/..%2f..%2fvigil.db/media")[0], 400)
        self.assertIsNone(self.v.proc.poll())

    def test_h265_is_refused_with_a_pointer_to_export(self):
        c = self.client("val")
        yard = [s for s in self.v.segments("yard") if s["state"] == "closed"][0]
        status, _, body, _ = c.request("GET", "/api/cameras/yard/playback.m3u8?start=%d&end=%d" %
                                       (yard["wall_start_ms"], yard["wall_end_ms"]))
        self.assertEqual(status, 422, body)
        self.assertEqual(body["error"], "unsupported_codec")
        self.assertIn("H.265", body["detail"])
        self.assertIn("/api/exports", body["detail"])

    def test_export(self):
        c = self.client("op")
        start, end = self.window()
        a, b = start + 3000, start + 15000
        status, headers, body, _ = c.request("POST", "/api/exports",
                                             {"camera": "front", "start": a, "end": b})
        self.assertEqual(status, 202, body)
        self.assertEqual(headers["Location"], "/api/exports/%d" % body["id"])
        self.assertLessEqual(body["clip_start_ms"], a)
        self.assertGreater(body["clip_start_ms"], a - GOP_S * 1000 - 100)
        deadline = time.time() + 60
        while body["state"] in ("queued", "running") and time.time() < deadline:
            time.sleep(0.3)
            body = c.request("GET", "/api/exports/%d" % body["id"])[2]
        self.assertEqual(body["state"], "done", body)
        status, headers, _, data = c.request("GET", body["file"])
        self.assertEqual(status, 200)
        self.assertRegex(headers["Content-Disposition"], r'^attachment; filename="vigil-front-\d{8}T\d{6}Z\.mp4"$')
        self.assertEqual(len(data), body["bytes"])
        # Sent from the file: Range and HEAD as for segment media, and several answers on one
        # kept-alive connection, each exactly as long as it says (a body off by one byte would
        # corrupt the answer after it).
        n = len(data)
        conn = c.conn()
        try:
            conn.request("HEAD", body["file"], headers={"Cookie": c.cookie})
            r = conn.getresponse()
            self.assertEqual(r.read(), b"")
            self.assertEqual((r.status, int(r.getheader("Content-Length"))), (200, n))
            for rng, (x, y) in {"bytes=0-99": (0, 99), "bytes=-1000": (n - 1000, n - 1),
                                "bytes=%d-" % (n // 2): (n // 2, n - 1)}.items():
                conn.request("GET", body["file"], headers={"Cookie": c.cookie, "Range": rng})
                r = conn.getresponse()
                part = r.read()
                self.assertEqual(r.status, 206, rng)
                self.assertEqual(r.getheader("Content-Range"), "bytes %d-%d/%d" % (x, y, n), rng)
                self.assertEqual(part, data[x:y + 1], rng)
            conn.request("GET", body["file"], headers={"Cookie": c.cookie})
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, data))
        finally:
            conn.close()
        path = os.path.join(self._tmp.name, "export.mp4")
        with open(path, "wb") as f:
            f.write(data)
        self.assertEqual(decode_errors(path), "")
        duration = probe_duration(path)
        self.assertAlmostEqual(duration, (b - a) / 1000.0, delta=GOP_S + 0.2)
        self.assertAlmostEqual(duration, (b - body["clip_start_ms"]) / 1000.0, delta=0.5)
        # +faststart: the index before the media.
        self.assertLess(data.find(b"moov"), data.find(b"mdat"))
        probe = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", path],
            capture_output=True, text=True, timeout=60).stdout)
        self.assertEqual(sorted(s["codec_name"] for s in probe["streams"]), ["aac", "h264"])
        rows = self.v.query("SELECT * FROM audit WHERE action = 'export'")
        self.assertTrue(any(r["camera_id"] == "front" and r["range_start_ms"] == a and
                            r["range_end_ms"] == b and r["user_name"] == "op" for r in rows), rows)
        # Clean errors: an empty range, one too long, a camera not the caller's, someone else's.
        status, _, body2, _ = c.request("POST", "/api/exports",
                                        {"camera": "front", "start": 1000, "end": 2000})
        self.assertEqual((status, body2["error"]), (404, "not_found"), body2)
        status, _, body2, _ = c.request("POST", "/api/exports",
                                        {"camera": "front", "start": a, "end": a + 3600 * 1000})
        self.assertEqual(status, 400, body2)
        self.assertEqual(c.request("POST", "/api/exports", {"camera": "front", "start": b,
                                                            "end": a})[0], 400)
        self.assertEqual(c.request("POST", "/api/exports", {"camera": "front", "start": a})[0], 400)
        self.assertEqual(c.request("POST", "/api/exports", {"camera": "nosuch", "start": a,
                                                            "end": b})[0], 404)
        val = self.client("val")
        self.assertEqual(val.request("GET", "/api/exports/%d" % body["id"])[0], 403)  # role

    def test_unauthenticated_and_forbidden(self):
        start, end = self.window()
        seg = self.segs[0]["id"]
        q = "?start=%d&end=%d" % (start, end)
        routes = [("GET", "/api/cameras/front/timeline" + q),
                  ("GET", "/api/cameras/front/playback.m3u8" + q),
                  ("GET", "/api/segments/%d/media" % seg), ("POST", "/api/exports"),
                  ("GET", "/api/exports/1"), ("GET", "/api/exports/1/file")]
        anon = Client(self.url)
        for method, target in routes:
            body = {"camera": "front", "start": start, "end": end} if method == "POST" else None
            self.assertEqual(anon.request(method, target, body)[0], 401, target)
        val = self.client("val")  # viewer of yard only
        for method, target in routes:
            body = {"camera": "front", "start": start, "end": end} if method == "POST" else None
            self.assertEqual(val.request(method, target, body)[0], 403, target)
        # An operator's export is not another operator's business, nor is a CSRF-less POST.
        op = self.client("op")
        self.assertEqual(op.request("POST", "/api/exports",
                                    {"camera": "front", "start": start, "end": start + 2000},
                                    csrf=False)[0], 403)

    def test_browser_plays_seeks_and_downloads(self):
        browser_dir = os.path.join(SOURCE_DIR, "tests", "browser")
        self.assertTrue(os.path.isdir(os.path.join(browser_dir, "node_modules", "hls.js")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        start, end = self.window()
        r = subprocess.run(["node", os.path.join(browser_dir, "playback.test.mjs"), self.url,
                            "op", "op-password", "front", str(start), str(end)],
                           capture_output=True, text=True, timeout=180)
        print(r.stdout[-3000:])  # what the browser saw: times, frames, export size
        self.assertEqual(r.returncode, 0, r.stdout[-4000:] + r.stderr[-4000:])
        self.assertIn("ok", r.stdout.splitlines()[-1])



class RecentPlayback(VigilFixture):
    """The file being recorded plays: segments far longer than the test, so that everything
    recorded is in the one open file."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="vigil-it-")
        clip = make_clip("h264-aac", "--codec", "h264", "--seconds", "20", "--audio")
        cls.cam = RtspCamera({"front": clip})
        web_dist = os.path.join(SOURCE_DIR, "web", "dist")
        # A long read timeout: the test freezes the camera for a moment (SIGSTOP) and the
        # connection must outlive it, so that the file stays open.
        cls.v = Vigil(cls._tmp.name, [{"id": "front", "url": cls.cam.url("front")}],
                      segment_seconds=600, ingest={"io_timeout_ms": 60000},
                      extra_toml="[http]\nport = 0\nweb_root = %s\n" % json.dumps(web_dist)).start()
        try:
            cls.url = cls.v.web_url()
            add_user(cls.v, "op", "operator", "*")
            cls.op = Client(cls.url)
            status, _, body = cls.op.login("op", "op-password")
            assert status == 200, body
            # ~10 s of footage, all of it in the file being written.
            cls.v.wait_for(lambda: len(cls.open_fragments()[2]) >= 4, 60,
                           "4 complete fragments of the open file in the last minute's playlist")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def playlist(cls, start=None, end=None):
        """The playlist of [start, end) (UTC ms; by default the last minute and the next)."""
        now = int(time.time() * 1000)
        start = now - 60000 if start is None else start
        end = now + 60000 if end is None else end
        status, headers, _, data = cls.op.request(
            "GET", "/api/cameras/front/playback.m3u8?start=%d&end=%d" % (start, end))
        return status, data.decode(errors="replace")

    @classmethod
    def open_fragments(cls):
        """(segment id, init range, fragments) of the open file in the last minute's playlist;
        ([], ...) when there is none yet."""
        status, text = cls.playlist()
        if status != 200:
            return None, None, []
        files = parse_playlist(text)
        return (int(re.search(r"/api/segments/(\d+)/", files[-1][0]).group(1)), files[-1][1],
                files[-1][2])

    def open_row(self):
        rows = [s for s in self.v.segments("front") if s["state"] == "writing"]
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def test_open_file_is_listed_and_served_fragment_by_fragment(self):
        status, text = self.playlist()
        self.assertEqual(status, 200, text)
        lines = text.splitlines()
        # A live playlist: the player reloads it for what is written next.
        self.assertIn("#EXT-X-PLAYLIST-TYPE:EVENT", lines)
        self.assertNotIn("#EXT-X-ENDLIST", lines)
        files = parse_playlist(text)
        self.assertEqual(len(files), 1, text)  # everything so far is in the open file
        uri, (init_size, init_offset), frags = files[0]
        row = self.open_row()
        self.assertEqual(uri, "/api/segments/%d/media" % row["id"])
        self.assertGreaterEqual(len(frags), 4)
        self.assertEqual(init_offset, 0)
        status, _, _, init = self.op.request("GET", uri, headers={"Range": "bytes=0-%d" %
                                                                  (init_size - 1)})
        self.assertEqual(status, 206)
        self.assertEqual([k for k, _ in boxes(init)], ["ftyp", "moov"])
        # Each listed fragment is one complete moof+mdat, right after the previous one.
        expected_offset = init_size
        blob = init
        for size, offset, extinf in frags:
            self.assertEqual(offset, expected_offset)
            status, headers, _, part = self.op.request(
                "GET", uri, headers={"Range": "bytes=%d-%d" % (offset, offset + size - 1)})
            self.assertEqual(status, 206, headers)
            self.assertEqual(len(part), size)
            found = boxes(part)
            self.assertEqual([k for k, _ in found], ["moof", "mdat"], found)
            self.assertEqual(sum(n for _, n in found), size)
            self.assertAlmostEqual(extinf, GOP_S, delta=0.05)
            expected_offset += size
            blob += part
        # What was served decodes as a file of its own.
        path = os.path.join(self._tmp.name, "open.mp4")
        with open(path, "wb") as f:
            f.write(blob)
        self.assertEqual(decode_errors(path), "")
        self.assertAlmostEqual(probe_duration(path), sum(e for _, _, e in frags), delta=0.3)
        # The whole "file" is what is complete: boxes end to end, nothing half-written.
        status, headers, _, whole = self.op.request("GET", uri)
        self.assertEqual(status, 200)
        kinds = [k for k, _ in boxes(whole)]
        self.assertEqual(kinds[:2], ["ftyp", "moov"])
        self.assertEqual(kinds[2:], ["moof", "mdat"] * ((len(kinds) - 2) // 2))
        self.assertGreaterEqual(len(whole), expected_offset)
        # Audited once per playback session (a login and a camera), however often the player
        # reloads the playlist or jumps to a later moment; another login's viewing is a row of
        # its own.
        def playlist_of(client, start, end):
            return client.request(
                "GET", "/api/cameras/front/playback.m3u8?start=%d&end=%d" % (start, end))[0]

        def rows(start, end):
            return self.v.query("SELECT * FROM audit WHERE action = 'playback' AND "
                                "user_name = 'op' AND range_start_ms = ? AND range_end_ms = ?",
                                (start, end))

        def login():
            c = Client(self.url)
            self.assertEqual(c.login("op", "op-password")[0], 200)
            return c

        viewer = login()
        start, end = int(time.time() * 1000) - 30000, int(time.time() * 1000) + 600000
        for _ in range(3):
            self.assertEqual(playlist_of(viewer, start, end), 200)
        self.assertEqual(playlist_of(viewer, start + 1000, end + 1000), 200)
        self.assertEqual(rows(start + 1000, end + 1000), [])
        audited = rows(start, end)
        self.assertEqual(len(audited), 1, audited)
        self.assertEqual(audited[0]["camera_id"], "front")
        self.assertIn("live", audited[0]["detail"])
        self.assertEqual(playlist_of(login(), start, end), 200)
        self.assertEqual(len(rows(start, end)), 2)

    def test_nothing_past_the_last_complete_fragment_and_more_later(self):
        # Freeze the camera: no new packet, so the fragment being written stays unfinished and
        # the connection open (io_timeout_ms 60 s). What is complete then stops changing.
        os.kill(self.cam.proc.pid, signal.SIGSTOP)
        try:
            seen = []

            def settled():
                seen.append(self.open_fragments())
                # Three answers alike, 0.5 s apart: the last fragment's sync is long done.
                return len(seen) >= 3 and seen[-1][2] and seen[-1] == seen[-2] == seen[-3]

            self.v.wait_for(settled, 30, "the open file's fragments to stop changing")
            sid, _, frags = seen[-1]
            size, offset, _ = frags[-1]
            durable = offset + size
            uri = "/api/segments/%d/media" % sid
            self.assertEqual(self.open_row()["id"], sid)
            # The file on disk may hold more (the GOP being written); none of it is served.
            self.assertGreaterEqual(os.path.getsize(os.path.join(self.v.data,
                                                                 self.open_row()["path"])), durable)
            for rng in ("bytes=%d-" % durable, "bytes=%d-%d" % (durable, durable + 1000)):
                status, headers, body, _ = self.op.request("GET", uri, headers={"Range": rng})
                self.assertEqual(status, 416, rng)
                self.assertEqual(headers["Content-Range"], "bytes */%d" % durable)
                self.assertEqual(body["error"], "range_not_satisfiable")
            # A range across the end stops at it; the last bytes are the last fragment's.
            status, headers, _, tail = self.op.request(
                "GET", uri, headers={"Range": "bytes=%d-%d" % (offset, durable + 5000)})
            self.assertEqual(status, 206)
            self.assertEqual(headers["Content-Range"], "bytes %d-%d/%d" % (offset, durable - 1,
                                                                          durable))
            self.assertEqual([k for k, _ in boxes(tail)], ["moof", "mdat"])
            status, _, _, whole = self.op.request("GET", uri)
            self.assertEqual(len(whole), durable)
        finally:
            os.kill(self.cam.proc.pid, signal.SIGCONT)
        # The camera goes on: a later playlist lists more of the same file.
        self.v.wait_for(lambda: len(self.open_fragments()[2]) > len(frags), 60,
                        "more fragments of the open file after the camera resumed")
        later_sid, _, later = self.open_fragments()
        self.assertEqual(later_sid, sid)
        self.assertEqual(later[:len(frags)], frags, "a reload only appends")

    def run_browser_test(self, script, passed):
        """Runs tests/browser/<script> against this vigil as the operator; it must pass
        `passed` steps."""
        browser_dir = os.path.join(SOURCE_DIR, "tests", "browser")
        self.assertTrue(os.path.isfile(os.path.join(SOURCE_DIR, "web", "dist", "index.html")),
                        "build the UI: scripts/build")
        args = json.dumps({"url": self.url, "user": "op", "password": "op-password",
                           "camera": "front", "shots": os.path.join(self._tmp.name, "shots")})
        r = subprocess.run(["node", os.path.join(browser_dir, script), args],
                           capture_output=True, text=True, timeout=240)
        print(r.stdout[-3000:])
        self.assertEqual(r.returncode, 0, r.stdout[-4000:] + r.stderr[-4000:])
        self.assertRegex(r.stdout, r"\b%d passed, 0 failed" % passed)

    def test_web_ui_plays_the_file_being_recorded(self):
        self.run_browser_test("recent_playback.test.mjs", 4)
        # Still the one file being written: the browser played the open segment.
        self.open_row()

    def test_web_ui_live_and_playback_have_sound_muted_by_default(self):
        # The camera's clip has AAC audio (setUpClass).
        self.run_browser_test("audio.test.mjs", 4)


class ExportLimits(VigilFixture):
    """[exports]: a user's stored exports and the bytes all exports may take are bounded, and a
    refusal is a clear 429/507 naming the limit, before any work or audit row."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="vigil-it-")
        h264 = make_clip("h264-aac", "--codec", "h264", "--seconds", "20", "--audio")
        cls.cam = RtspCamera({"front": h264})
        cls.v = Vigil(cls._tmp.name, [{"id": "front", "url": cls.cam.url("front")}],
                      segment_seconds=10,
                      extra_toml="[http]\nport = 0\n[exports]\nmax_stored_per_user = 1\n").start()
        try:
            add_user(cls.v, "op", "operator", "*")
            add_user(cls.v, "op2", "operator", "*")
            cls.v.wait_for(lambda: [s for s in cls.v.segments("front") if s["state"] == "closed"],
                           120, "a closed segment of front")
        except BaseException:
            cls.tearDownClass()
            raise

    def client(self, name):
        c = Client(self.v.web_url())
        status, _, body = c.login(name, name + "-password")
        self.assertEqual(status, 200, body)
        return c

    def export(self, c, evidence=False):
        seg = [s for s in self.v.segments("front") if s["state"] == "closed"][0]
        body = {"camera": "front", "start": seg["wall_start_ms"], "end": seg["wall_end_ms"]}
        if evidence:
            body["evidence"] = True
        return c.request("POST", "/api/exports", body)

    def test_quota_and_stored_bytes(self):
        op = self.client("op")
        status, _, job, _ = self.export(op)
        self.assertEqual(status, 202, job)
        deadline = time.time() + 60
        while job["state"] in ("queued", "running") and time.time() < deadline:
            time.sleep(0.2)
            job = op.request("GET", "/api/exports/%d" % job["id"])[2]
        self.assertEqual(job["state"], "done", job)
        # One finished export kept per user: the next is refused, naming the limit, and not
        # audited; another user is not affected.
        exports_before = len(self.v.query("SELECT id FROM audit WHERE action = 'export'"))
        status, headers, body, _ = self.export(op)
        self.assertEqual((status, body["error"]), (429, "too_many_requests"), body)
        self.assertIn("max_stored_per_user", body["detail"])
        self.assertIn("Retry-After", headers)
        status, _, body, _ = self.export(op, evidence=True)
        self.assertEqual(status, 429, body)
        self.assertEqual(len(self.v.query("SELECT id FROM audit WHERE action IN "
                                          "('export', 'evidence_export')")), exports_before)
        op2 = self.client("op2")
        status, _, body, _ = self.export(op2)
        self.assertEqual(status, 202, body)

        # All exports together may take max_stored_bytes: set it below one segment file's size
        # and restart (the footage stays; exports do not survive a restart).
        self.v.stop()
        with open(self.v.config) as f:
            text = f.read()
        with open(self.v.config, "w") as f:
            f.write(text.replace("max_stored_per_user = 1\n",
                                 "max_stored_per_user = 1\nmax_stored_bytes = \"1KiB\"\n"))
        self.v.start()
        op = self.client("op")
        status, _, body, _ = self.export(op)
        self.assertEqual((status, body["error"]), (507, "insufficient_storage"), body)
        self.assertIn("max_stored_bytes", body["detail"])
        self.assertIsNone(self.v.proc.poll())


if __name__ == "__main__":
    unittest.main()
