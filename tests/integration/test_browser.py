"""Browser tests: a real `vigil serve` recording the GStreamer test camera, and Debian's
Chromium (headless, driven by playwright-core from tests/browser) playing it live through
MediaSource. `scripts/test` installs tests/browser's npm packages (npm ci) first."""
import os
import subprocess
import unittest

from harness import SOURCE_DIR, VIGIL_BIN, RtspCamera, TestCase, Vigil, make_clip

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")


class Browser(TestCase):
    def test_live_view_plays_in_chromium(self):
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        self.assertTrue(os.path.exists("/usr/bin/chromium"), "apt-get install chromium")
        clip = make_clip("live-h264", "--codec", "h264", "--seconds", "30")
        cam = self.track(RtspCamera({"front": clip}))
        v = self.track(Vigil(self.workdir, [{"id": "front", "url": cam.url("front")}],
                             extra_toml="[http]\nport = 0\n").start())
        url = v.web_url()
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "watcher", "--role",
                            "viewer", "--cameras", "*"], input="watcher-password\n", capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        v.wait_for(lambda: (v.camera_status("front") or {}).get("state") == "streaming", 30,
                   "camera front streaming")
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "live.test.mjs"), "--url", url,
                            "--user", "watcher", "--password", "watcher-password",
                            "--camera", "front"], capture_output=True, text=True, timeout=120)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertIn("1 passed, 0 failed", r.stdout)
        # The browser's viewing is in the audit log like any other.
        rows = v.query("SELECT action, user_name, camera_id FROM audit WHERE action = 'live_start'")
        self.assertEqual(rows, [{"action": "live_start", "user_name": "watcher",
                                 "camera_id": "front"}])


if __name__ == "__main__":
    unittest.main()
