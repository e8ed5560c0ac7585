"""The web UI end to end: a real `vigil serve` (no users yet, so first-run setup is part of the
test) serving the built UI (web/dist, built by scripts/build) and recording the GStreamer test
camera, and Debian's Chromium driven by playwright-core (tests/browser/webui.test.mjs) through
every screen. Screenshots go to the test's directory, or to docs/screenshots/ with
VIGIL_UPDATE_SCREENSHOTS=1."""
import json
import os
import socket
import subprocess
import time
import unittest

from harness import SOURCE_DIR, RtspCamera, TestCase, Vigil, make_clip

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")


class WebUi(TestCase):
    def test_every_screen_in_chromium(self):
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build (npm ci && npm run build in web/)")
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        clip = make_clip("live-h264", "--codec", "h264", "--seconds", "30")
        cam = self.track(RtspCamera({"front": clip, "yard": clip}))
        v = self.track(Vigil(self.workdir, [{"id": "front", "name": "Front door",
                                             "url": cam.url("front")}],
                             segment_seconds=10,
                             extra_toml="[http]\nport = 0\nweb_root = %s\n" % json.dumps(WEB_DIST)).start())
        url = v.web_url()
        token = v.wait_for(v.setup_token, 20, "the setup token in the log")
        # The timeline must hold closed files (only those play) of some length before the
        # browser clicks on it: two 10 s files.
        v.wait_for(lambda: len([s for s in v.segments("front") if s["state"] == "closed"]) >= 2,
                   90, "2 closed segments of front")
        # A camera outage, so that the timeline has a gap (with the recorder's reason) to draw.
        cam.command("stop front")
        v.wait_for(lambda: (v.camera_status("front") or {}).get("state") in ("offline",
                                                                            "connecting"),
                   30, "front seen offline")
        time.sleep(2)
        cam.command("start front")
        v.wait_for(lambda: v.gaps("front") and
                   (v.camera_status("front") or {}).get("state") == "streaming", 60,
                   "front streaming again after a recorded gap")
        shots = (os.path.join(SOURCE_DIR, "docs", "screenshots")
                 if os.environ.get("VIGIL_UPDATE_SCREENSHOTS") == "1"
                 else os.path.join(self.workdir, "shots"))
        # A camera that refuses connections: a port nothing listens on (bound, then closed).
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead_url = "rtsp://127.0.0.1:%d/gone" % s.getsockname()[1]
        args = json.dumps({"url": url, "token": token, "yardUrl": cam.url("yard"),
                           "deadUrl": dead_url, "shots": shots})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "webui.test.mjs"), args],
                           capture_output=True, text=True, timeout=400)
        print(r.stdout)
        self.assertEqual(r.returncode, 0,
                         r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b20 passed, 0 failed")
        # What the browser did is in the audit log like anything else.
        actions = {row["action"] for row in v.query("SELECT DISTINCT action FROM audit")}
        for a in ("setup", "login", "login_failed", "logout", "live_start", "playback", "export",
                  "camera_add", "camera_remove", "user_add", "password_change"):
            self.assertIn(a, actions)
        # The camera added in the browser is in the configuration file and recorded.
        with open(v.config) as f:
            self.assertRegex(f.read(), r"id = ['\"]yard['\"]")
        v.wait_for(lambda: v.segments("yard"), 30, "a segment of the camera added in the browser")


if __name__ == "__main__":
    unittest.main()
