"""ONVIF discovery against the camera simulator (tests/fixtures/onvif_camera.py) paired with the
RTSP test camera: `vigil discover` finds it by a directed probe to 127.0.0.1, reads its profiles
with the right password, reports "unauthorized" with a wrong one; the API routes do the same for
an admin; the main stream URL it announces is added as a camera and records; PTZ through the API
and through the live view's buttons in Chromium (tests/browser/ptz.test.mjs). The multicast probe
is tested only inside a network namespace that has nothing but loopback (`unshare -n`), so that no
probe ever leaves the machine."""
import json
import os
import queue
import shutil
import subprocess
import threading
import time
import unittest

from harness import (FIXTURES, PYTHON, SOURCE_DIR, VIGIL_BIN, RtspCamera, TestCase, Vigil,
                     make_clip, spawn)
from test_serve import Client

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")


class OnvifCamera:
    def __init__(self, main, sub, user, password, extra=()):
        self.proc = spawn([PYTHON, os.path.join(FIXTURES, "onvif_camera.py"), "--main", main,
                           "--sub", sub, "--user", user, "--password", password, *extra],
                          stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("onvif_camera.py did not start: %r" % line)
        fields = dict(kv.split("=") for kv in line[1:])
        self.port, self.discovery = int(fields["port"]), int(fields["discovery"])
        # What it was asked (`ptz ...` lines), read on a thread so that its pipe never fills.
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def next_ptz(self, timeout=10):
        """The next `ptz ...` line the simulator printed."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line.startswith("ptz "):
                return line

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def discover(*args):
    return subprocess.run([VIGIL_BIN, "discover", *args], capture_output=True, text=True,
                          timeout=60)


class Onvif(TestCase):
    @classmethod
    def setUpClass(cls):
        clip = make_clip("onvif", "--codec", "h264", "--seconds", "10")
        cls.rtsp = RtspCamera({"main": clip, "sub": clip})
        cls.onvif = OnvifCamera(cls.rtsp.url("main"), cls.rtsp.url("sub"), "admin", "s3cr<et")

    @classmethod
    def tearDownClass(cls):
        cls.onvif.close()
        cls.rtsp.close()

    def test_cli_finds_the_camera_and_reads_its_streams(self):
        target = "127.0.0.1:%d" % self.onvif.discovery
        r = discover("--address", target, "--wait", "1000")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("found 1 camera", r.stdout)
        self.assertIn("127.0.0.1:%d" % self.onvif.port, r.stdout)
        self.assertIn("DS-2CD2143G0-I", r.stdout)

        r = discover("--address", target, "--wait", "1000", "--user", "admin", "--password",
                     "s3cr<et", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        cam = json.loads(r.stdout)["cameras"][0]
        self.assertEqual(cam["manufacturer"], "HIKVISION")
        self.assertEqual(cam["info"]["firmware"], "V5.5.82 build 190909")
        self.assertFalse(cam["clock_off"])
        main, sub = cam["profiles"][cam["main"]], cam["profiles"][cam["sub"]]
        self.assertEqual(main["uri"], self.rtsp.url("main"))
        self.assertEqual((main["width"], main["height"], main["encoding"]), (1920, 1080, "H264"))
        self.assertEqual(sub["uri"], self.rtsp.url("sub"))
        self.assertEqual((sub["width"], sub["height"]), (640, 360))
        self.assertEqual(cam["ptz_url"], "http://127.0.0.1:%d/onvif/PTZ" % self.onvif.port)

        r = discover("--address", target, "--wait", "1000", "--user", "admin", "--password", "no")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("unauthorized", r.stdout)
        self.assertNotIn("1920x1080", r.stdout)

        # Nothing listening: nothing found, promptly.
        r = discover("--address", "127.0.0.1:9", "--wait", "300")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no camera answered", r.stdout)

    def test_clock_far_off_is_flagged(self):
        off = self.track(OnvifCamera(self.rtsp.url("main"), self.rtsp.url("sub"), "admin", "pw",
                                     ["--clock-offset", "-120"]))
        r = discover("--device", "http://127.0.0.1:%d/onvif/device_service" % off.port,
                     "--user", "admin", "--password", "pw", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        cam = json.loads(r.stdout)["cameras"][0]
        self.assertTrue(cam["clock_off"])
        self.assertLess(abs(cam["clock_offset_ms"] + 120_000), 3_000)
        # The token's Created followed the camera's clock, or it would have refused it.
        self.assertEqual(len(cam["profiles"]), 2)

    def test_api_finds_reads_and_the_stream_records(self):
        v = self.track(Vigil(self.workdir, [], segment_seconds=10).start())
        url = v.web_url()
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "root", "--role", "admin"],
                           input="root-password\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        c = Client(url)
        self.assertEqual(c.login("root", "root-password")[0], 200)
        target = "127.0.0.1:%d" % self.onvif.discovery

        status, _, body, _ = c.request("POST", "/api/discover", {"address": target, "wait_ms": 1000})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["cameras"]), 1)
        found = body["cameras"][0]
        self.assertEqual(found["model"], "DS-2CD2143G0-I")
        self.assertNotIn("profiles", found)

        status, _, body, _ = c.request("POST", "/api/discover/device", {
            "device_url": found["device_url"], "user": "admin", "password": "wrong"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["reason"], "unauthorized")
        self.assertIn("unauthorized", body["error"])

        status, _, body, _ = c.request("POST", "/api/discover", {
            "address": target, "wait_ms": 1000, "user": "admin", "password": "s3cr<et"})
        self.assertEqual(status, 200, body)
        cam = body["cameras"][0]
        main = cam["profiles"][cam["main"]]["uri"]
        sub = cam["profiles"][cam["sub"]]["uri"]
        self.assertEqual(main, self.rtsp.url("main"))

        status, _, body, _ = c.request("POST", "/api/discover", {"subnet": "10.0.0.0/8"})
        self.assertEqual(status, 400, body)
        # Discovery is audited, without the password.
        audit = v.query("SELECT action, detail FROM audit WHERE action = 'camera_discover'")
        self.assertEqual(len(audit), 3, audit)
        self.assertFalse(any("s3cr" in a["detail"] or "wrong" in a["detail"] for a in audit))

        status, _, body, _ = c.request("POST", "/api/cameras",
                                       {"id": "found", "url": main, "sub_url": sub})
        self.assertEqual(status, 201, body)
        v.wait_for(lambda: v.segments("found"), 30, "a segment of the discovered camera")

    def test_ptz_moves_stops_and_goes_to_a_preset_for_operators_audited(self):
        device = "127.0.0.1:%d/onvif/device_service" % self.onvif.port
        # The password "s3cr<et" percent-encoded in the URL, as in an RTSP URL. Not recorded:
        # PTZ needs only the configuration.
        cams = [{"id": "dome", "url": self.rtsp.url("main"), "enabled": False,
                 "onvif_url": "http://admin:s3cr%3Cet@" + device},
                {"id": "wrongpw", "url": self.rtsp.url("main"), "enabled": False,
                 "onvif_url": "http://admin:nope@" + device},
                {"id": "fixed", "url": self.rtsp.url("main"), "enabled": False}]
        v = self.track(Vigil(self.workdir, cams).start())
        for name, role in (("op", "operator"), ("viewer", "viewer")):
            r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", name, "--role", role,
                                "--cameras", "*"], input=name + "-password\n",
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        op, viewer = Client(v.web_url()), Client(v.web_url())
        self.assertEqual(op.login("op", "op-password")[0], 200)
        self.assertEqual(viewer.login("viewer", "viewer-password")[0], 200)
        ptz = "/api/cameras/%s/ptz"

        status, _, body, _ = op.request("GET", "/api/cameras/dome")
        self.assertEqual((status, body["ptz"]), (200, True), body)
        status, _, body, _ = op.request("GET", ptz % "dome")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["presets"], [{"token": "1", "name": "Door"},
                                           {"token": "2", "name": "Till"}])

        status, _, body, _ = op.request("POST", ptz % "dome",
                                        {"action": "move", "pan": 0.5, "tilt": -0.25, "zoom": 0})
        self.assertEqual(status, 204, body)
        self.assertEqual(self.onvif.next_ptz(),
                         "ptz ContinuousMove profile=Profile_1 pan=0.5 tilt=-0.25 zoom=0")
        status, _, body, _ = op.request("POST", ptz % "dome", {"action": "stop"})
        self.assertEqual(status, 204, body)
        self.assertEqual(self.onvif.next_ptz(), "ptz Stop profile=Profile_1 pan_tilt=true zoom=true")
        status, _, body, _ = op.request("POST", ptz % "dome", {"action": "preset", "preset": "2"})
        self.assertEqual(status, 204, body)
        self.assertEqual(self.onvif.next_ptz(), "ptz GotoPreset profile=Profile_1 preset=2")

        # The camera's own refusal, with its reason.
        status, _, body, _ = op.request("POST", ptz % "dome", {"action": "preset", "preset": "9"})
        self.assertEqual(status, 502, body)
        self.assertIn("no such preset 9", body["detail"])
        # A wrong ONVIF password: "unauthorized", and not a 401 (the user's session is fine).
        status, _, body, _ = op.request("POST", ptz % "wrongpw", {"action": "stop"})
        self.assertEqual(status, 409, body)
        self.assertIn("unauthorized", json.dumps(body))
        status, _, body, _ = op.request("GET", "/api/me")
        self.assertEqual(status, 200, body)
        status, _, body, _ = op.request("POST", ptz % "fixed", {"action": "stop"})
        self.assertEqual(status, 409, body)
        self.assertIn("onvif_url", json.dumps(body))
        status, _, body, _ = op.request("POST", ptz % "dome", {"action": "move", "pan": 2})
        self.assertEqual(status, 400, body)
        status, _, body, _ = viewer.request("POST", ptz % "dome", {"action": "stop"})
        self.assertEqual(status, 403, body)
        # Nothing the refused or invalid requests asked reached the camera as a command.
        self.assertRaises(queue.Empty, self.onvif.next_ptz, 0.5)

        audit = v.query("SELECT user_name, camera_id, detail FROM audit WHERE action = 'camera_ptz'"
                        " ORDER BY id")
        self.assertEqual([(a["user_name"], a["camera_id"], a["detail"]) for a in audit],
                         [("op", "dome", "move pan 0.5 tilt -0.25 zoom 0.0"),
                          ("op", "dome", "stop"), ("op", "dome", "preset 2"),
                          ("op", "dome", "preset 9"), ("op", "wrongpw", "stop"),
                          ("op", "fixed", "stop")])

    def test_ptz_buttons_in_chromium(self):
        """The live view's controls (tests/browser/ptz.test.mjs): what an operator's mouse and
        keyboard ask reaches the camera in order, as the API test's requests do."""
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build (npm ci && npm run build in web/)")
        device = "127.0.0.1:%d/onvif/device_service" % self.onvif.port
        v = self.track(Vigil(self.workdir,
                             [{"id": "dome", "url": self.rtsp.url("main"),
                               "onvif_url": "http://admin:s3cr%3Cet@" + device}],
                             extra_toml="[http]\nport = 0\nweb_root = %s\n" % json.dumps(WEB_DIST)
                             ).start())
        for name, role in (("op", "operator"), ("viewer", "viewer")):
            r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", name, "--role", role,
                                "--cameras", "*"], input=name + "-password\n",
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        args = json.dumps({"url": v.web_url(), "camera": "dome", "operator": "op",
                           "operatorPassword": "op-password", "viewer": "viewer",
                           "viewerPassword": "viewer-password",
                           "shots": os.path.join(self.workdir, "shots")})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "ptz.test.mjs"), args],
                           capture_output=True, text=True, timeout=180)
        print(r.stdout)
        self.assertEqual(r.returncode, 0,
                         r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b5 passed, 0 failed")

        def command(line):
            """("ContinuousMove", {"pan": 0.5, ...}) of a `ptz ...` line."""
            op, _, *fields = line.split()[1:]
            values = dict(f.split("=") for f in fields)
            return op, {k: float(x) if op == "ContinuousMove" else x for k, x in values.items()}
        asked = [command(self.onvif.next_ptz()) for _ in range(5)]
        self.assertEqual(asked, [
            ("ContinuousMove", {"pan": 0.5, "tilt": 0.0, "zoom": 0.0}),
            ("Stop", {"pan_tilt": "true", "zoom": "true"}),
            ("ContinuousMove", {"pan": 0.0, "tilt": 0.5, "zoom": 0.0}),
            ("Stop", {"pan_tilt": "true", "zoom": "true"}),
            ("GotoPreset", {"preset": "2"})])
        self.assertRaises(queue.Empty, self.onvif.next_ptz, 0.5)  # the viewer asked nothing
        audit = v.query("SELECT user_name, detail FROM audit WHERE action = 'camera_ptz' "
                        "ORDER BY id")
        self.assertEqual([(a["user_name"], a["detail"]) for a in audit],
                         [("op", "move pan 0.5 tilt 0.0 zoom 0.0"), ("op", "stop"),
                          ("op", "move pan 0.0 tilt 0.5 zoom 0.0"), ("op", "stop"),
                          ("op", "preset 2")])

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"),
                         "a network namespace needs root, unshare and ip")
    def test_multicast_probe_inside_a_loopback_only_namespace(self):
        # Both ends in one fresh network namespace with only `lo`: the probe cannot leave.
        script = (
            "set -e; ip link set lo up; "
            "%(py)s %(sim)s --main rtsp://127.0.0.1:1/main --user admin --password pw --multicast"
            " >sim.out 2>sim.err </dev/null & sim=$!; "
            "for i in $(seq 50); do grep -q ready sim.out 2>/dev/null && break; sleep 0.1; done; "
            "rc=0; %(vigil)s discover --multicast --interface 127.0.0.1 --wait 1500 --json || rc=$?; "
            "kill $sim; exit $rc") % {"py": PYTHON, "sim": os.path.join(FIXTURES, "onvif_camera.py"),
                                      "vigil": os.path.abspath(VIGIL_BIN)}
        r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True,
                           timeout=60, cwd=self.workdir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        cams = json.loads(r.stdout)["cameras"]
        self.assertEqual(len(cams), 1, cams)
        self.assertEqual(cams[0]["name"], "HIKVISION DS-2CD2143G0-I")


if __name__ == "__main__":
    unittest.main()
