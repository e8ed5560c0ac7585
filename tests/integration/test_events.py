"""Motion in front of a real camera becomes an event all the way through a real `vigil serve`:
RTSP camera (real footage: vtest.avi, pedestrians) -> analysis -> events -> catalog row with a
snapshot, MQTT messages on a real mosquitto broker (Home Assistant discovery, retained state,
event JSON), a signed webhook, and the events API. A camera added through the API while vigil
runs is announced to Home Assistant too."""
import hashlib
import hmac
import http.server
import json
import os
import socket
import subprocess
import threading
import time
import unittest

from harness import CACHE_DIR, VIGIL_BIN, Raw, RtspCamera, TestCase, Vigil, spawn
from test_serve import Client

SECRET = "webhook-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vtest_clip():
    """30 s of vtest.avi (a fixed camera, people walking) as H.264, the way a camera sends it."""
    src = os.path.join(CACHE_DIR, "vtest.avi")
    out = os.path.join(CACHE_DIR, "events-vtest-30s.mp4")
    if not os.path.exists(out):
        tmp = out + ".tmp.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", src, "-t", "30", "-an", "-c:v",
                        "libx264", "-preset", "veryfast", "-g", "20", "-pix_fmt", "yuv420p", tmp],
                       check=True, timeout=300)
        os.rename(tmp, out)
    return out


class Broker:
    """mosquitto on a free loopback port, and a subscriber writing every message to a list."""

    def __init__(self, workdir):
        self.port = free_port()
        conf = os.path.join(workdir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % self.port)
        self.proc = spawn(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.messages = []
        self.sub = spawn(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-v", "-t",
                          "#"], stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.sub.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            self.messages.append((topic, payload))

    def on(self, topic):
        return [p for t, p in list(self.messages) if t == topic]

    def close(self):
        for p in (self.sub, self.proc):
            p.terminate()
            p.wait(10)


class Webhooks:
    """An HTTP endpoint that keeps every POST with whether its signature was right."""

    def __init__(self):
        self.received = []
        self.kinds = []  # X-Vigil-Event of each, in the same order
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signed = self.headers.get("X-Vigil-Timestamp", "").encode() + b"." + body
                want = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
                outer.kinds.append(self.headers.get("X-Vigil-Event"))
                outer.received.append((self.headers.get("X-Vigil-Signature") == want,
                                       json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Events(TestCase):
    def test_motion_becomes_an_event_with_alerts(self):
        clip = vtest_clip()
        cam = self.track(RtspCamera({"door": clip, "yard": clip}))
        broker = self.track(Broker(self.workdir))
        hooks = self.track(Webhooks())
        extra = ('[events]\nmin_duration_ms = 500\nmerge_gap_ms = 3000\n'
                 '[mqtt]\nhost = "127.0.0.1"\nport = %d\n'
                 '[[webhook]]\nurl = "http://127.0.0.1:%d/hook"\nsecret = "%s"\n'
                 'retry_initial_ms = 200\n' % (broker.port, hooks.port, SECRET))
        v = self.track(Vigil(self.workdir, [{"id": "door", "url": cam.url("door"),
                                             "analysis": Raw("{ enabled = true }")}],
                             extra_toml=extra).start())
        url = v.web_url()

        # An event row, with its snapshot written before the row names it.
        rows = v.wait_for(lambda: v.query("SELECT * FROM event WHERE camera_id = 'door' AND "
                                          "type = 'motion' AND snapshot != ''"),
                          60, "a motion event with a snapshot")
        with open(os.path.join(v.data, rows[0]["snapshot"]), "rb") as f:
            self.assertEqual(f.read(2), b"\xff\xd8")  # JPEG

        # MQTT: discovery, availability, retained ON state, event JSON.
        v.wait_for(lambda: "ON" in broker.on("vigil/door/motion"), 30, "motion ON over MQTT")
        self.assertIn("online", broker.on("vigil/availability"))
        disc = broker.on("homeassistant/binary_sensor/vigil_door/motion/config")
        self.assertTrue(disc, broker.messages[:20])
        self.assertEqual(json.loads(disc[0])["state_topic"], "vigil/door/motion")
        events = [json.loads(p) for p in broker.on("vigil/events")]
        self.assertTrue(any(e.get("camera") == "door" and e.get("type") == "motion"
                            for e in events), events)

        # A signed webhook.
        v.wait_for(lambda: hooks.received, 30, "a webhook")
        ok, body = hooks.received[0]
        self.assertTrue(ok, "bad signature: %r" % body)
        self.assertEqual(body.get("camera"), "door")

        # The events API lists it and serves its snapshot.
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "root", "--role", "admin"],
                           input="root-password\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        c = Client(url)
        self.assertEqual(c.login("root", "root-password")[0], 200)
        status, _, body, _ = c.request("GET", "/api/events?camera=door&type=motion")
        self.assertEqual(status, 200, body)
        self.assertTrue(body["events"], body)
        evid = body["events"][-1]["id"]
        status, headers, _, data = c.request("GET", "/api/events/%d/snapshot.jpg" % evid)
        self.assertEqual(status, 200)
        self.assertEqual(data[:2], b"\xff\xd8")

        # A camera added while vigil runs is analysed and announced to Home Assistant.
        status, _, body, _ = c.request("POST", "/api/cameras", {
            "id": "yard", "url": cam.url("yard"), "analysis": {"enabled": True}})
        self.assertEqual(status, 201, body)
        v.wait_for(lambda: broker.on("homeassistant/binary_sensor/vigil_yard/motion/config"), 30,
                   "discovery of the added camera")
        v.wait_for(lambda: v.query("SELECT id FROM event WHERE camera_id = 'yard'"), 60,
                   "an event of the added camera")
        self.assertIn("analysis", v.camera_status("yard"))
        self.assertIsNone(v.proc.poll())


if __name__ == "__main__":
    unittest.main()
