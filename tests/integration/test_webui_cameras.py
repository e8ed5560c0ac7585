"""Camera settings end to end: a real `vigil serve` recording a real GStreamer test camera that
wants a password, and Debian's Chromium (tests/browser/camera_settings.test.mjs) adding a camera
through the form — Test connection with a wrong password, a dead port, then a real snapshot —
drawing a zone (one corner dragged) and a mask by mouse, a schedule, recording mode and analysis,
then editing the recording camera (its masked URL tested, a zone typed, its mode changed).
Checked here: the configuration file holds the polygons, GET /api/cameras/{id} returns them,
the tests were audited without the password, and the edited camera kept recording throughout
(no gap, no reconnect: only its analysis was restarted). Screenshots go to the test's directory,
or to docs/screenshots/ with VIGIL_UPDATE_SCREENSHOTS=1."""
import json
import os
import re
import socket
import subprocess
import tomllib
import unittest
import urllib.request

from harness import SOURCE_DIR, Raw, RtspCamera, TestCase, Vigil, make_clip

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")
USER, PASSWORD = "cam", "s3cret-pw"
ADMIN, ADMIN_PASSWORD = "boss", "boss-password-1"

# What the browser draws, in fractions of the picture.
ZONE = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.7], [0.2, 0.7]]
DRAG = [0.1, 0.15]  # where the zone's first corner is dragged to
MASK = [[0.7, 0.1], [0.9, 0.1], [0.8, 0.4]]
TYPED = "0.05 0.5, 0.3 0.5, 0.3 0.9"


class Api:
    """A logged-in API client (cookie + CSRF token)."""

    def __init__(self, base, name, password):
        self.base = base
        r = self._send("POST", "/api/login", {"name": name, "password": password})
        self.cookie = r.headers["Set-Cookie"].split(";")[0]
        self.csrf = json.loads(r.read())["csrf_token"]

    def _send(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base.rstrip("/") + path, data=data, method=method,
                                     headers=dict(headers or {}))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        return urllib.request.urlopen(req, timeout=30)

    def get(self, path):
        with self._send("GET", path, headers={"Cookie": self.cookie}) as r:
            return json.loads(r.read())


def close_to(points, expected, tol=0.01):
    return len(points) == len(expected) and all(
        abs(a - b) <= tol for p, q in zip(points, expected) for a, b in zip(p, q))


class WebUiCameras(TestCase):
    def test_camera_settings_in_chromium(self):
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build (npm ci && npm run build in web/)")
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        clip = make_clip("live-h264", "--codec", "h264", "--seconds", "30")
        cam = self.track(RtspCamera({"front": clip, "door": clip}, user=USER, password=PASSWORD))
        extra = ("[events]\ntime_zone = \"Etc/UTC\"\n[http]\nport = 0\nweb_root = %s\n"
                 % json.dumps(WEB_DIST))
        v = self.track(Vigil(self.workdir,
                             [{"id": "front", "name": "Front",
                               "url": cam.url("front", USER, PASSWORD),
                               "analysis": Raw("{ enabled = true }")}],
                             segment_seconds=10, extra_toml=extra).start())
        url = v.web_url()
        token = v.wait_for(v.setup_token, 20, "the setup token in the log")
        req = urllib.request.Request(url.rstrip("/") + "/api/setup", method="POST",
                                     data=json.dumps({"token": token, "name": ADMIN,
                                                      "password": ADMIN_PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).close()
        v.wait_for(lambda: (v.camera_status("front") or {}).get("state") == "streaming", 30,
                   "front streaming")
        v.wait_for(lambda: v.segments("front"), 30, "a segment of front")
        before = v.camera_status("front")

        shots = (os.path.join(SOURCE_DIR, "docs", "screenshots")
                 if os.environ.get("VIGIL_UPDATE_SCREENSHOTS") == "1"
                 else os.path.join(self.workdir, "shots"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead_url = "rtsp://127.0.0.1:%d/gone" % s.getsockname()[1]
        args = json.dumps({"url": url, "admin": ADMIN, "password": ADMIN_PASSWORD,
                           "doorUrl": cam.url("door", USER, PASSWORD),
                           "wrongPasswordUrl": cam.url("door", USER, "wrong-pw"),
                           "deadUrl": dead_url, "zone": ZONE, "drag": DRAG, "mask": MASK,
                           "typedZone": TYPED, "shots": shots})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "camera_settings.test.mjs"), args],
                           capture_output=True, text=True, timeout=240)
        print(r.stdout)
        self.assertEqual(r.returncode, 0,
                         r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b9 passed, 0 failed")
        result = json.loads(re.search(r"^RESULT (.*)$", r.stdout, re.M).group(1))
        self.assertGreater(result["probed"]["width"], 0)

        # The file holds what was drawn (within a pixel or so of where the mouse went).
        with open(v.config, "rb") as f:
            conf = tomllib.load(f)
        door = next(c for c in conf["camera"] if c["id"] == "door")
        expected_zone = [DRAG] + ZONE[1:]
        self.assertEqual([z["name"] for z in door["zone"]], ["driveway", "mask1"])
        self.assertTrue(close_to(door["zone"][0]["points"], expected_zone), door["zone"][0])
        self.assertFalse(door["zone"][0].get("mask", False))
        self.assertTrue(close_to(door["zone"][1]["points"], MASK), door["zone"][1])
        self.assertTrue(door["zone"][1]["mask"])
        self.assertEqual(door["schedule"], [{"zone": "driveway", "types": ["motion"],
                                             "days": ["sat", "sun"], "from": "08:00",
                                             "to": "18:30"}])
        self.assertEqual(door["record"], "events")
        self.assertEqual(door["analysis"], {"enabled": True, "sensitivity": 80,
                                            "min_area": 0.005, "tamper": False})
        front = next(c for c in conf["camera"] if c["id"] == "front")
        self.assertEqual(front["record"], "events")
        self.assertTrue(close_to(front["zone"][0]["points"],
                                 [[float(n) for n in p.split()] for p in TYPED.split(",")],
                                 1e-6))
        self.assertEqual(front["url"], cam.url("front", USER, PASSWORD))  # the password kept

        # The API returns the same.
        api = Api(url, ADMIN, ADMIN_PASSWORD)
        got = api.get("/api/cameras/door")
        self.assertEqual([z["name"] for z in got["zones"]], ["driveway", "mask1"])
        self.assertTrue(close_to(got["zones"][0]["points"], expected_zone))
        self.assertEqual(got["zones"][1]["mask"], True)
        self.assertEqual(got["schedules"][0]["days"], ["sat", "sun"])
        self.assertEqual(got["record"], "events")
        self.assertEqual(got["analysis"]["sensitivity"], 80)
        self.assertEqual(got["schedule_time_zone"], "Etc/UTC")
        self.assertEqual(api.get("/api/cameras/front")["record"], "events")

        # Every test connection was audited, never with a password.
        probes = v.query("SELECT detail, camera_id FROM audit WHERE action = 'camera_probe'")
        self.assertEqual(len(probes), 4, probes)
        for p in probes:
            self.assertNotIn(PASSWORD, p["detail"])
            self.assertNotIn("wrong-pw", p["detail"])
        self.assertIn("front", [p["camera_id"] for p in probes])

        # The added camera records; the edited one never stopped: its analysis was replaced
        # while its connection (and the file being written) went on.
        v.wait_for(lambda: v.segments("door"), 30, "a segment of the camera added in the browser")
        log = v.log()
        self.assertIn("camera front: analysis settings changed; analysis restarted, recording "
                      "goes on", log)
        self.assertNotIn("camera front: settings changed; reconnecting", log)
        self.assertEqual(v.gaps("front"), [])
        after = v.camera_status("front")
        self.assertEqual(after["state"], "streaming")
        self.assertEqual(after["reconnects"], before["reconnects"])
        # Its recording went on: a file closed after the edit (bytes_written counts closed
        # files; with 10 s files that may take up to 10 s after the browser steps).
        grown = before["bytes_written"] + before["stored_bytes"]
        v.wait_for(lambda: sum((v.camera_status("front") or {}).get(k, 0)
                               for k in ("bytes_written", "stored_bytes")) > grown,
                   30, "front's recording going on after the edit")
        self.assertEqual(v.gaps("front"), [])
        self.assertEqual(v.camera_status("front")["reconnects"], before["reconnects"])
        v.wait_for(lambda: (v.camera_status("front") or {}).get("analysis", {})
                   .get("frames_analysed", 0) > 0, 30, "the new analyzer analysing front")


if __name__ == "__main__":
    unittest.main()
