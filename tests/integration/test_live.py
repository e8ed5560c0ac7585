"""Live view, snapshots and /metrics of a real `vigil serve` recording a real RTSP camera
(GStreamer): the live bytes are fragmented MP4 that ffprobe reads, 50 viewers at once leave the
API fast and the recording whole, a viewer that never reads is skipped/dropped while recording
goes on, snapshots are JPEGs of the camera's size, metrics parse, and the new routes refuse
strangers (401) and other people's cameras (403)."""
import http.client
import json
import os
import re
import socket
import subprocess
import threading
import time
import unittest

import test_serve
from harness import SOURCE_DIR, RtspCamera, TestCase, Vigil, make_clip

Client = test_serve.Client


def live_request(url, cookie, camera, rcvbuf=None):
    """A raw socket with the live request sent; the caller reads (or does not)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((host, int(port)))
    s.sendall(("GET /api/cameras/%s/live.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n\r\n" %
               (camera, cookie)).encode())
    return s


def read_live(url, cookie, camera, seconds):
    """(status, headers, body bytes) of `seconds` of live view, de-chunked by http.client."""
    u = url.split("//")[1].rstrip("/").split(":")
    c = http.client.HTTPConnection(u[0], int(u[1]), timeout=10)
    c.request("GET", "/api/cameras/%s/live.mp4" % camera, headers={"Cookie": cookie})
    r = c.getresponse()
    data = b""
    deadline = time.time() + seconds
    while r.status == 200 and time.time() < deadline:
        piece = r.read1(65536)
        if not piece:
            break
        data += piece
    if r.status != 200:
        data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


def probe_frames(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=codec_name,width,height,nb_read_frames",
                          "-of", "json", path], capture_output=True, text=True, timeout=60)
    streams = json.loads(out.stdout or "{}").get("streams", [])
    return streams[0] if streams else {}


class Live(TestCase):
    def start(self, clip_args=(), extra_http=""):
        h264 = make_clip("live-h264", "--codec", "h264", "--seconds", "30", *clip_args)
        h265 = make_clip("h265", "--codec", "h265", "--seconds", "20")
        self.cam = self.track(RtspCamera({"front": h264, "yard": h265}))
        self.v = self.track(Vigil(self.workdir, [
            {"id": "front", "url": self.cam.url("front")},
            {"id": "yard", "url": self.cam.url("yard")},
            {"id": "gone", "url": "rtsp://127.0.0.1:9/gone"},
        ], extra_toml="[http]\nport = 0\n" + extra_http).start())
        self.url = self.v.web_url()
        self.add_user("root", "root-password", "admin")
        self.root = Client(self.url)
        self.assertEqual(self.root.login("root", "root-password")[0], 200)
        self.v.wait_for(lambda: self.root.request("GET", "/api/cameras/front/snapshot.jpg")[0]
                        == 200, 30, "camera front streaming")

    def add_user(self, name, password, role, cameras=None):
        args = ["user", "add", name, "--role", role] + (["--cameras", cameras] if cameras else [])
        r = subprocess.run([test_serve.VIGIL_BIN, "-c", self.v.config, *args],
                           input=password + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_live_is_fragmented_mp4_from_a_keyframe_and_audited(self):
        self.start()
        status, headers, data = read_live(self.url, self.root.cookie, "front", 4)
        self.assertEqual(status, 200, data[:300])
        self.assertRegex(headers["Content-Type"], r'^video/mp4; codecs="avc1\.[0-9a-f]{6}"$')
        self.assertEqual(data[4:8], b"ftyp")
        self.assertIn(b"moov", data[:4096])
        path = os.path.join(self.workdir, "live.mp4")
        with open(path, "wb") as f:
            f.write(data)
        st = probe_frames(path)
        self.assertEqual((st.get("codec_name"), st.get("width"), st.get("height")),
                         ("h264", 640, 360), st)
        # 4 s at 10 fps from the latest keyframe (up to 2 s back): at least 30 frames.
        self.assertGreaterEqual(int(st["nb_read_frames"]), 30, st)
        errors = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"],
                                capture_output=True, text=True, timeout=60).stderr
        # Only the last fragment may be cut short by the end of the capture.
        self.assertLessEqual(len([l for l in errors.splitlines() if l.strip()]), 2, errors)
        rows = self.v.wait_for(
            lambda: [r for r in self.v.query("SELECT action, user_name, camera_id, address, detail "
                                             "FROM audit WHERE action LIKE 'live_%' ORDER BY id")]
            if len(self.v.query("SELECT id FROM audit WHERE action = 'live_stop'")) else None,
            10, "live_stop in the audit log")
        self.assertEqual([(r["action"], r["user_name"], r["camera_id"], r["address"])
                          for r in rows],
                         [("live_start", "root", "front", "127.0.0.1"),
                          ("live_stop", "root", "front", "127.0.0.1")])
        self.assertRegex(rows[1]["detail"], r"^watched \d+ ms")

    def test_h265_offline_and_rights(self):
        self.start()
        self.v.wait_for(lambda: (self.v.camera_status("yard") or {}).get("state") == "streaming",
                        30, "camera yard streaming")
        status, _, body, _ = self.root.request("GET", "/api/cameras/yard/live.mp4")
        self.assertEqual(status, 422, body)
        self.assertEqual(body["error"], "unsupported_codec")
        self.assertIn("H.265", body["detail"])
        for route in ("live.mp4", "snapshot.jpg"):
            status, _, body, _ = self.root.request("GET", "/api/cameras/gone/" + route)
            self.assertEqual(status, 503, body)
            self.assertEqual(body["error"], "unavailable")
            status, _, body, _ = Client(self.url).request("GET", "/api/cameras/front/" + route)
            self.assertEqual(status, 401, body)
        self.assertEqual(Client(self.url).request("GET", "/metrics")[0], 401)
        self.add_user("yardonly", "viewer-password", "viewer", "yard")
        viewer = Client(self.url)
        self.assertEqual(viewer.login("yardonly", "viewer-password")[0], 200)
        for route in ("live.mp4", "snapshot.jpg"):
            status, _, body, _ = viewer.request("GET", "/api/cameras/front/" + route)
            self.assertEqual(status, 403, body)
        self.assertEqual(viewer.request("GET", "/metrics")[0], 403)
        self.assertEqual(viewer.request("GET", "/api/cameras/yard/snapshot.jpg")[0], 200)

    def test_a_viewer_who_loses_the_right_is_cut_off_while_watching(self):
        self.start()
        self.add_user("watcher", "watcher-password", "viewer", "front,yard")
        viewer = Client(self.url)
        self.assertEqual(viewer.login("watcher", "watcher-password")[0], 200)

        def watch_until(change, what):
            u = self.url.split("//")[1].rstrip("/").split(":")
            c = http.client.HTTPConnection(u[0], int(u[1]), timeout=10)
            self.addCleanup(c.close)
            c.request("GET", "/api/cameras/front/live.mp4", headers={"Cookie": viewer.cookie})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            got = len(r.read1(65536))
            self.assertGreater(got, 0)
            change()
            # The stream ends (the chunked body's end) instead of running on: the bound only
            # tells "cut off" from "never cut off", it is no speed requirement.
            deadline = time.time() + 30
            while time.time() < deadline:
                if not r.read1(65536):
                    break
            else:
                self.fail("the stream was not ended after " + what)
            c.close()

        watch_until(lambda: self.assertEqual(self.root.request(
            "PATCH", "/api/users/watcher", {"cameras": ["yard"]})[0], 200), "losing the camera")
        self.assertEqual(self.root.request(
            "PATCH", "/api/users/watcher", {"cameras": ["front"]})[0], 200)
        watch_until(lambda: self.assertEqual(viewer.request("POST", "/api/logout")[0], 204),
                    "logging out")

    def test_snapshot_is_jpeg_of_camera_size_and_metrics_parse(self):
        self.start()
        status, headers, _, data = self.root.request("GET", "/api/cameras/front/snapshot.jpg")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "image/jpeg")
        path = os.path.join(self.workdir, "snap.jpg")
        with open(path, "wb") as f:
            f.write(data)
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                              "stream=codec_name,width,height", "-of", "csv=p=0", path],
                             capture_output=True, text=True, timeout=30).stdout.strip()
        self.assertEqual(out, "mjpeg,640,360")
        # H.265 snapshots decode too (only browsers cannot play H.265).
        self.assertEqual(self.root.request("GET", "/api/cameras/yard/snapshot.jpg")[0], 200)

        token = self.root.request("POST", "/api/tokens", {"name": "prometheus", "scope": "metrics",
                                                          "password": "root-password"})[2]["token"]
        scraper = Client(self.url)
        scraper.token = token
        # fps is measured over a few seconds of streaming.
        def scrape():
            status, headers, _, data = scraper.request("GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            return data.decode()
        text = self.v.wait_for(lambda: (lambda t: t if re.search(
            r'^vigil_camera_fps\{camera="front"\} [1-9]', t, re.M) else None)(scrape()),
            20, "fps in /metrics")
        samples = {}
        for line in text.splitlines():
            if line.startswith("#"):
                self.assertRegex(line, r"^# (HELP|TYPE) vigil_\w+ .+$")
                continue
            m = re.fullmatch(r'(vigil_\w+)(\{[^}]*\})? (-?[0-9.e+]+|NaN)', line)
            self.assertTrue(m, line)
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        self.assertEqual(samples['vigil_camera_state{camera="front",state="streaming"}'], 1)
        self.assertEqual(samples['vigil_camera_state{camera="gone",state="streaming"}'], 0)
        self.assertGreater(samples['vigil_camera_bitrate_bits_per_second{camera="front"}'], 0)
        self.assertGreater(samples["vigil_disk_free_bytes"], 0)
        for name in ("vigil_camera_reconnects_total", "vigil_camera_bytes_written_total",
                     "vigil_live_viewers", "vigil_live_drops_total"):
            self.assertIn(name + '{camera="front"}', samples)

    def test_50_viewers_keep_the_api_fast_and_recording_whole(self):
        self.start()
        stop = threading.Event()
        received = [0] * 50
        socks = [live_request(self.url, self.root.cookie, "front") for _ in range(50)]

        def reader(i):
            s = socks[i]
            while not stop.is_set():
                try:
                    piece = s.recv(65536)
                except OSError:
                    return
                if not piece:
                    return
                received[i] += len(piece)
        threads = [threading.Thread(target=reader, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        try:
            time.sleep(1)
            status, _, _, data = self.root.request("GET", "/metrics")
            self.assertIn('vigil_live_viewers{camera="front"} 50', data.decode())
            times = []
            deadline = time.time() + 8
            while time.time() < deadline:
                t0 = time.monotonic()
                self.assertEqual(self.root.request("GET", "/api/me")[0], 200)
                times.append(time.monotonic() - t0)
                time.sleep(0.02)
            before = list(received)
            time.sleep(2)
        finally:
            stop.set()
            for s in socks:
                s.close()
            for t in threads:
                t.join(5)
        times.sort()
        p99 = times[int(len(times) * 0.99) - 1]
        self.assertLess(p99, 0.25, "API p99 %.3f s with 50 live viewers" % p99)
        # Every viewer kept receiving.
        self.assertTrue(all(after > b for after, b in zip(received, before)), received)
        st = self.v.camera_status("front")
        self.assertEqual(st["packets_dropped"], 0, st)
        self.assertEqual(self.v.gaps("front"), [], "recording broke while 50 viewers watched")

    def test_viewer_that_never_reads_is_cut_off_while_recording_and_others_go_on(self):
        # 1.5 MB/s: the stalled viewer's queue and socket buffers fill in seconds.
        self.start(("--size", "1280x720", "--fps", "25", "--bitrate", "12M"),
                   extra_http="read_timeout_ms = 5000\n")
        stalled = live_request(self.url, self.root.cookie, "front", rcvbuf=4096)
        try:
            good_status, _, good = read_live(self.url, self.root.cookie, "front", 12)
            self.assertEqual(good_status, 200)
            # The healthy viewer got ~the camera's full rate all along (≥ 8 of 12 s of 1.5 MB/s).
            self.assertGreater(len(good), 8 * 1_000_000)

            def cut_off():
                status, _, _, data = self.root.request("GET", "/metrics")
                t = data.decode()
                skips = re.search(r'^vigil_live_skips_total\{camera="front"\} (\d+)', t, re.M)
                stops = self.v.query("SELECT detail FROM audit WHERE action = 'live_stop'")
                return (int(skips.group(1)) >= 1 and len(stops) >= 2) and stops
            stops = self.v.wait_for(cut_off, 30, "the stalled viewer skipped and ended")
            self.assertTrue(any("skipped" in r["detail"] or "dropped" in r["detail"]
                                for r in stops), stops)
        finally:
            stalled.close()
        st = self.v.camera_status("front")
        self.assertEqual(st["packets_dropped"], 0, st)
        self.assertEqual(self.v.gaps("front"), [])
        self.assertEqual(st["state"], "streaming")


if __name__ == "__main__":
    unittest.main()
