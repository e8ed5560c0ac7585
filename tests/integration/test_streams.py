"""Both streams of a camera recorded (record_sub, issue 21) on a real `vigil serve` and a real
test camera serving two mounts: an H.265 main stream and an H.264 sub stream of a quarter of its
size. The sub stream is kept under its own byte limit (retention deletes its oldest files while
the main stream keeps all of its own), the API plays and exports the stream asked for, and
`vigil check` finds the two streams' files, rows and hash chains in agreement."""
import json
import os
import subprocess
import tempfile
import time

from harness import SOURCE_DIR, Raw, RtspCamera, Vigil, decode_errors, make_clip
from test_playback import VigilFixture, add_user, parse_playlist
from test_serve import Client


BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")


def probe(path):
    """(codec, width, height) of the first video stream of `path`."""
    out = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", path],
        capture_output=True, text=True, timeout=60).stdout)["streams"][0]
    return out["codec_name"], out["width"], out["height"]


class BothStreams(VigilFixture):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="vigil-it-")
        main = make_clip("h265", "--codec", "h265", "--seconds", "20")
        sub = make_clip("h264-sub", "--codec", "h264", "--seconds", "20", "--size", "320x180")
        # About one and a half 10-second files of the sub stream: retention keeps the newest
        # closed one and deletes the older ones, while the main stream has no byte limit.
        cls.sub_limit = int(os.path.getsize(sub) / 2 * 1.5)
        cls.cam = RtspCamera({"main": main, "sub": sub})
        cls.v = Vigil(cls._tmp.name, [{
            "id": "door", "url": cls.cam.url("main"), "sub_url": cls.cam.url("sub"),
            "record_sub": True, "sub_retention": Raw("{ max_bytes = %d }" % cls.sub_limit)}],
            segment_seconds=10,
            extra_toml="[http]\nport = 0\nweb_root = %s\n" % json.dumps(WEB_DIST)).start()
        try:
            cls.url = cls.v.web_url()
            add_user(cls.v, "op", "operator", "door")
            closed = lambda cam: [s for s in cls.v.segments(cam) if s["state"] == "closed"]
            cls.v.wait_for(lambda: len(closed("door.sub")) >= 1, 60, "a closed sub segment")
            cls.first_sub = closed("door.sub")[0]
            cls.v.wait_for(
                lambda: not cls.v.query("SELECT 1 FROM segment WHERE id = ?",
                                        (cls.first_sub["id"],)) and len(closed("door")) >= 3,
                120, "the first sub segment deleted by retention, 3 closed main segments")
        except BaseException:
            cls.tearDownClass()
            raise

    def client(self):
        c = Client(self.url)
        status, _, body = c.login("op", "op-password")
        self.assertEqual(status, 200, body)
        return c

    def closed(self, cam):
        return [s for s in self.v.segments(cam) if s["state"] == "closed"]

    def test_both_recorded_and_the_sub_stream_ages_out_on_its_own(self):
        main = self.v.segments("door")
        # The main stream lost nothing: its first file is still there.
        self.assertEqual(main[0]["wall_start_ms"], min(s["wall_start_ms"] for s in main))
        self.assertTrue(all(os.path.exists(os.path.join(self.v.data, s["path"])) for s in main))
        self.assertTrue(all(s["video_codec"] == "hevc" for s in main), main)
        sub = self.v.segments("door.sub")
        self.assertTrue(sub)
        self.assertTrue(all(s["video_codec"] == "h264" for s in sub), sub)
        self.assertTrue(all(s["path"].startswith("recordings/door.sub/") for s in sub), sub)
        self.assertFalse(os.path.exists(os.path.join(self.v.data, self.first_sub["path"])))
        # Within its limit, give or take the file closed since the last pass.
        closed_bytes = sum(s["bytes"] for s in self.closed("door.sub"))
        self.assertLessEqual(closed_bytes, self.sub_limit + int(self.sub_limit / 1.5 * 1.3))
        path = os.path.join(self.v.data, self.closed("door.sub")[-1]["path"])
        self.assertEqual(probe(path), ("h264", 320, 180))
        self.assertEqual(decode_errors(path), "")
        st = self.v.wait_for(lambda: (self.v.camera_status("door") or {}).get("sub"), 20,
                             "the sub stream in the status")
        self.assertEqual(st["state"], "streaming", st)
        self.assertEqual(st["video_codec"], "h264")
        self.assertGreater(st["stored_bytes"], 0)

    def test_playback_picks_the_stream(self):
        c = self.client()
        subs = self.closed("door.sub")
        start, end = subs[-1]["wall_start_ms"], subs[-1]["wall_end_ms"]
        status, _, body, _ = c.request(
            "GET", "/api/cameras/door/timeline?stream=sub&start=%d&end=%d" % (start - 60000, end))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"], "sub")
        self.assertTrue(body["recorded"], body)
        # The sub stream's runs begin after what retention deleted; the main stream's do not.
        status, _, main_tl, _ = c.request(
            "GET", "/api/cameras/door/timeline?start=%d&end=%d"
            % (self.first_sub["wall_start_ms"] - 60000, end))
        self.assertEqual(main_tl["stream"], "main")
        self.assertLess(main_tl["recorded"][0]["start_ms"], body["recorded"][0]["start_ms"])
        # The main stream is H.265, which browsers cannot play; the sub stream is H.264.
        window = "start=%d&end=%d" % (start, end)
        self.assertEqual(c.request("GET", "/api/cameras/door/playback.m3u8?" + window)[0], 422)
        status, _, _, data = c.request(
            "GET", "/api/cameras/door/playback.m3u8?stream=sub&" + window)
        self.assertEqual(status, 200, data)
        files = parse_playlist(data.decode())
        self.assertEqual(len(files), 1)
        uri, (init_size, init_off), frags = files[0]
        self.assertEqual(uri, "/api/segments/%d/media" % subs[-1]["id"])
        parts = []
        for size, off in [(init_size, init_off)] + [(f[0], f[1]) for f in frags]:
            st, _, _, part = c.request("GET", uri, headers={
                "Range": "bytes=%d-%d" % (off, off + size - 1)})
            self.assertEqual(st, 206)
            parts.append(part)
        path = os.path.join(self._tmp.name, "sub-playback.mp4")
        with open(path, "wb") as f:
            f.write(b"".join(parts))
        self.assertEqual(probe(path), ("h264", 320, 180))
        self.assertEqual(decode_errors(path), "")
        self.assertEqual(c.request(
            "GET", "/api/cameras/door/playback.m3u8?stream=third&" + window)[0], 400)
        rows = self.v.query("SELECT * FROM audit WHERE action = 'playback'")
        self.assertTrue(any(r["camera_id"] == "door" and "(sub stream)" in r["detail"]
                            for r in rows), rows)

    def test_export_the_stream_asked_for(self):
        c = self.client()
        s = self.closed("door.sub")[-1]
        status, _, body, _ = c.request("POST", "/api/exports", {
            "camera": "door", "stream": "sub", "start": s["wall_start_ms"],
            "end": s["wall_end_ms"]})
        self.assertEqual(status, 202, body)
        deadline = time.time() + 60
        while body["state"] in ("queued", "running") and time.time() < deadline:
            time.sleep(0.3)
            body = c.request("GET", "/api/exports/%d" % body["id"])[2]
        self.assertEqual(body["state"], "done", body)
        status, _, _, data = c.request("GET", body["file"])
        self.assertEqual(status, 200)
        path = os.path.join(self._tmp.name, "sub-export.mp4")
        with open(path, "wb") as f:
            f.write(data)
        self.assertEqual(probe(path), ("h264", 320, 180))
        self.assertEqual(c.request("POST", "/api/exports", {
            "camera": "door", "stream": 2, "start": s["wall_start_ms"],
            "end": s["wall_end_ms"]})[0], 400)
        rows = self.v.query("SELECT * FROM audit WHERE action = 'export'")
        self.assertTrue(any(r["camera_id"] == "door" and "(sub stream)" in r["detail"]
                            for r in rows), rows)

    def test_timeline_preview_is_a_jpeg_of_the_nearest_keyframe(self):
        c = self.client()
        s = self.closed("door.sub")[-1]
        t = s["wall_start_ms"] + 3100  # 2 s GOPs: the keyframe at +4 s is the nearest
        for stream, query in (("sub", ""), ("sub", "&stream=sub"), ("main", "&stream=main")):
            status, headers, _, data = c.request(
                "GET", "/api/cameras/door/preview?t=%d%s" % (t, query))
            self.assertEqual(status, 200, data[:200])
            self.assertEqual(headers["Content-Type"], "image/jpeg")
            self.assertEqual(headers["X-Vigil-Stream"], stream)
            self.assertLessEqual(abs(int(headers["X-Vigil-Keyframe-Ms"]) - t), 1000)
            path = os.path.join(self._tmp.name, "preview-%s.jpg" % stream)
            with open(path, "wb") as f:
                f.write(data)
            self.assertEqual(probe(path), ("mjpeg", 320, 180))  # H.265 main scaled to 320
        # Again: the same picture (from the cache).
        with open(os.path.join(self._tmp.name, "preview-sub.jpg"), "rb") as f:
            self.assertEqual(c.request("GET", "/api/cameras/door/preview?t=%d" % t)[3], f.read())
        self.assertEqual(c.request("GET", "/api/cameras/door/preview?t=%d"
                                   % (self.first_sub["wall_start_ms"] - 3600_000))[0], 404)
        self.assertEqual(c.request("GET", "/api/cameras/door/preview")[0], 400)
        # Hovering is not audited one request at a time: one row for the day and stream.
        rows = [r for r in self.v.query("SELECT * FROM audit WHERE action = 'preview'")]
        self.assertEqual(len(rows), 2, rows)  # the sub stream's and the main stream's

    def test_web_ui_plays_the_sub_stream(self):
        # Chromium at phone width (sub stream), and at desktop width, where the main stream is
        # H.265, which Chromium cannot play (sub stream too).
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build (npm ci && npm run build in web/)")
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        args = json.dumps({"url": self.url, "user": "op", "password": "op-password",
                           "camera": "door", "shots": os.path.join(self._tmp.name, "shots")})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "streams_playback.test.mjs"), args],
                           capture_output=True, text=True, timeout=240)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + "\n--- vigil ---\n" +
                         self.v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b6 passed, 0 failed")

    def test_zz_check_finds_both_streams_consistent(self):
        # Last (unittest runs tests by name): stops the recorder, then checks its data.
        self.assertEqual(self.v.stop(), 0)
        r = self.v.run("check", "--hash")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = len(self.v.segments("door")) + len(self.v.segments("door.sub"))
        self.assertIn("checked %d segment(s), %d file(s)" % (rows, rows), r.stdout)
        self.assertIn(": 0 mismatch(es)", r.stdout)


if __name__ == "__main__":
    import unittest
    unittest.main()
