"""Cameras added, changed and removed while a real `vigil serve` records, through the API and by
editing the file + SIGHUP: the change reaches the recorder without a restart, is written to the
configuration file (so a restart keeps it), and never disturbs the cameras that did not change or
the recordings already made."""
import json
import os
import signal
import subprocess
import unittest

from harness import VIGIL_BIN, RtspCamera, TestCase, Vigil, make_clip
from test_serve import Client


class ConfigApi(TestCase):
    def setUp(self):
        super().setUp()
        clip = make_clip("config-api", "--codec", "h264", "--seconds", "20")
        self.cam = self.track(RtspCamera({"a": clip, "b": clip, "c": clip}))
        self.v = self.track(Vigil(self.workdir, [{"id": "a", "url": self.cam.url("a")}],
                                  segment_seconds=10).start())
        self.url = self.v.web_url()
        r = subprocess.run([VIGIL_BIN, "-c", self.v.config, "user", "add", "root", "--role",
                            "admin"], input="root-password\n", capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.c = Client(self.url)
        self.assertEqual(self.c.login("root", "root-password")[0], 200)

    def state(self, cam_id):
        status, _, body, _ = self.c.request("GET", "/api/cameras/" + cam_id)
        if status != 200 or not body.get("status"):
            return None
        return body["status"]["state"]

    def wait_state(self, cam_id, state, timeout=30):
        self.v.wait_for(lambda: self.state(cam_id) == state, timeout,
                        "camera %s to be %s" % (cam_id, state))

    def file_cameras(self):
        r = self.v.run("check")  # a fresh vigil reads the rewritten file without complaint
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = subprocess.run(["python3", "-c", "import sys, tomllib; print(__import__('json').dumps("
                              "[c['id'] for c in tomllib.load(open(sys.argv[1], 'rb')).get('camera', [])]))",
                              self.v.config], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_add_change_remove_through_the_api(self):
        self.wait_state("a", "streaming")
        status, headers, body, _ = self.c.request(
            "POST", "/api/cameras", {"id": "b", "name": "Back door", "url": self.cam.url("b")})
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["Location"], "/api/cameras/b")
        # Recording starts without a restart, and the file says so for the next start.
        self.wait_state("b", "streaming")
        self.v.wait_for(lambda: self.v.segments("b"), 30, "a segment of the added camera")
        self.assertEqual(self.file_cameras(), ["a", "b"])

        # A wrong URL is a clear error and nothing changes.
        status, _, body, _ = self.c.request("PATCH", "/api/cameras/b", {"url": "http://nope/"})
        self.assertEqual(status, 400, body)
        self.assertIn("rtsp://", body["detail"])
        self.assertEqual(self.state("b"), "streaming")

        # Disabling stops the recording of b (its segment is closed); a is untouched.
        status, _, body, _ = self.c.request("PATCH", "/api/cameras/b", {"enabled": False})
        self.assertEqual(status, 200, body)
        self.wait_state("b", "disabled")
        self.v.wait_for(lambda: all(s["state"] == "closed" for s in self.v.segments("b")), 20,
                        "b's segment to be closed")
        # Changing the URL reconnects it to the new stream.
        status, _, body, _ = self.c.request("PATCH", "/api/cameras/b",
                                            {"enabled": True, "url": self.cam.url("c")})
        self.assertEqual(status, 200, body)
        self.wait_state("b", "streaming")

        # Removing stops it; its recordings stay on disk and in the catalog.
        before = self.v.segments("b")
        status, _, _, _ = self.c.request("DELETE", "/api/cameras/b")
        self.assertEqual(status, 204)
        self.assertEqual(self.c.request("GET", "/api/cameras/b")[0], 404)
        self.v.wait_for(lambda: all(s["state"] == "closed" for s in self.v.segments("b")), 20,
                        "b's last segment to be closed")
        kept = self.v.segments("b")
        self.assertGreaterEqual(len(kept), len(before))
        for s in kept:
            self.assertTrue(os.path.exists(os.path.join(self.v.data, s["path"])), s["path"])
        self.assertEqual(self.file_cameras(), ["a"])

        # Camera a recorded on through all of it, without a gap.
        self.assertEqual(self.state("a"), "streaming")
        self.assertEqual(self.v.gaps("a"), [])
        actions = [e["action"] for e in self.c.request("GET", "/api/audit?camera=b")[2]["entries"]]
        self.assertEqual(actions, ["camera_remove", "camera_change", "camera_change",
                                   "camera_add"])

        # A restart comes up with what the API left.
        self.v.stop()
        self.v.start()
        self.url = self.v.web_url()
        self.c = Client(self.url)
        self.assertEqual(self.c.login("root", "root-password")[0], 200)
        _, _, body, _ = self.c.request("GET", "/api/cameras")
        self.assertEqual([c["id"] for c in body["cameras"]], ["a"])

    def test_edit_by_hand_and_sighup(self):
        self.wait_state("a", "streaming")
        with open(self.v.config, "a") as f:
            f.write('\n[[camera]]\nid = "c"\nurl = "%s"\n' % self.cam.url("c"))
        # Before the reload, the API refuses to write over the operator's edit.
        status, _, body, _ = self.c.request("POST", "/api/cameras",
                                            {"id": "b", "url": self.cam.url("b")})
        self.assertEqual(status, 409, body)
        self.assertIn("changed outside vigil", body["detail"])
        self.v.proc.send_signal(signal.SIGHUP)
        self.wait_state("c", "streaming")
        self.v.wait_for(lambda: self.v.segments("c"), 30, "a segment of camera c")
        # A broken file on SIGHUP keeps the running configuration.
        with open(self.v.config, "a") as f:
            f.write('\n[[camera]]\nid = "d"\nurl = "ftp://nope"\n')
        self.v.proc.send_signal(signal.SIGHUP)
        self.v.wait_for(lambda: "configuration not reloaded" in self.v.log(), 10,
                        "the refused reload in the log")
        self.assertEqual(self.state("c"), "streaming")
        self.assertIsNone(self.v.proc.poll())


if __name__ == "__main__":
    unittest.main()
