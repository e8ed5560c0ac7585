"""System settings end to end: a real `vigil serve` serving the built UI, a real mosquitto
started here (a plain and a TLS listener, with a CA and server certificate made now with
openssl), webhook receivers (HTTP, and HTTPS with the same test CA), and Debian's Chromium
(tests/browser/system_settings.test.mjs) setting up notifications, retention and event settings
through the UI. The Python side checks what arrived: the test messages at a mosquitto_sub
subscriber, the signed test POSTs, the configuration file, the running MQTT notifier.
The disk-low banner: the threshold is `disk_low_space` (docs/config.md); the browser test raises
it above the free space by editing the file and sending SIGHUP, as an operator would."""
import getpass
import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import tomllib
import unittest

from harness import SOURCE_DIR, VIGIL_BIN, TestCase, Vigil, spawn
from test_serve import Client

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")
SECRET = "hook-secret-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ca(d):
    """A CA and a server certificate for 127.0.0.1 signed by it (PEM files in `d`)."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key, csr = (os.path.join(d, n) for n in ("server.pem", "server.key", "server.csr"))
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=vigil test CA",
        "-keyout", ca_key, "-out", ca)
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key,
        "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
        "-out", cert, "-extfile", ext)
    return ca, cert, key


def wait_port(port):
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


class Broker:
    """mosquitto with a plain and a TLS listener; a subscriber on the plain one keeps every
    message."""

    def __init__(self, workdir, cert, key):
        self.port, self.tls_port = free_port(), free_port()
        conf = os.path.join(workdir, "mosquitto.conf")
        with open(conf, "w") as f:
            # As root mosquitto would switch to its own user, which cannot read the test's files.
            f.write("user %s\nallow_anonymous true\nlistener %d 127.0.0.1\n"
                    "listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n"
                    % (getpass.getuser(), self.port, self.tls_port, cert, key))
        self.proc = spawn(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        wait_port(self.port)
        wait_port(self.tls_port)
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


class Receiver:
    """A webhook endpoint (HTTPS when given a certificate) keeping every POST with whether its
    X-Vigil-Signature is the HMAC of timestamp.body with SECRET."""

    def __init__(self, cert=None, key=None):
        self.received = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signed = self.headers.get("X-Vigil-Timestamp", "").encode() + b"." + body
                want = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
                outer.received.append({"signed": self.headers.get("X-Vigil-Signature") == want,
                                       "event": self.headers.get("X-Vigil-Event"),
                                       "body": json.loads(body)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = "%s://127.0.0.1:%d/hook" % ("https" if cert else "http",
                                              self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class WebUiSystem(TestCase):
    def test_system_settings_in_chromium(self):
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build")
        ca, cert, key = make_ca(self.workdir)
        broker = self.track(Broker(self.workdir, cert, key))
        hook = self.track(Receiver())
        tls_hook = self.track(Receiver(cert, key))
        # No cameras (the grid's empty state); disk_low_space far below any free space.
        v = self.track(Vigil(self.workdir, [], extra_toml='disk_low_space = "1KiB"\n[http]\nport = 0\nweb_root = %s\n'
                             % json.dumps(WEB_DIST)).start())
        url = v.web_url()
        for name, role in (("boss", "admin"), ("vera", "viewer")):
            r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", name, "--role", role,
                                "--cameras", "*"],
                               input="%s-password-1\n" % name, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead_url = "rtsp://127.0.0.1:%d/gone" % s.getsockname()[1]
        shots = (os.path.join(SOURCE_DIR, "docs", "screenshots")
                 if os.environ.get("VIGIL_UPDATE_SCREENSHOTS") == "1"
                 else os.path.join(self.workdir, "shots"))
        args = json.dumps({"url": url, "shots": shots, "config": v.config, "pid": v.proc.pid,
                           "deadUrl": dead_url, "mqttPort": broker.port,
                           "mqttTlsPort": broker.tls_port, "caFile": ca, "hookUrl": hook.url,
                           "tlsHookUrl": tls_hook.url, "secret": SECRET})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "system_settings.test.mjs"), args],
                           capture_output=True, text=True, timeout=300)
        print(r.stdout)
        self.assertEqual(r.returncode, 0,
                         r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b12 passed, 0 failed")

        # "Send test" reached the subscriber: over the plain listener and over TLS.
        tests = [json.loads(p) for p in broker.on("house/test")]
        self.assertEqual(len(tests), 2, broker.messages)
        self.assertTrue(all(t["test"] is True for t in tests))
        # The saved broker runs at once: the notifier said it is online (and replaced the first
        # one, whose prefix was "vigil", without a restart).
        v.wait_for(lambda: "online" in broker.on("house/availability"), 20,
                   "the new MQTT notifier online")
        # Webhook tests: signed with the secret, marked as tests; HTTPS through the CA file.
        self.assertEqual([(x["signed"], x["event"], x["body"]["test"]) for x in hook.received],
                         [(True, "test", True)])
        self.assertEqual([(x["signed"], x["event"]) for x in tls_hook.received], [(True, "test")])
        # What the UI saved is in the file and valid for a fresh vigil.
        with open(v.config, "rb") as f:
            conf = tomllib.load(f)
        self.assertEqual(conf["mqtt"]["host"], "127.0.0.1")
        self.assertEqual(conf["mqtt"]["prefix"], "house")
        self.assertEqual(conf["mqtt"]["port"], broker.port)
        self.assertEqual([w["url"] for w in conf["webhook"]], [hook.url, tls_hook.url])
        self.assertEqual(conf["webhook"][0]["secret"], SECRET)
        self.assertEqual(conf["webhook"][1]["ca_file"], ca)
        self.assertEqual(conf["retention"]["max_days"], 9)
        self.assertEqual(conf["events"]["min_duration_ms"], 2500)
        self.assertEqual(conf["events"]["pre_roll_ms"], 7000)
        check = v.run("check")
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        actions = {row["action"] for row in v.query("SELECT DISTINCT action FROM audit")}
        for a in ("settings_notifications", "notification_test", "settings_retention",
                  "settings_events"):
            self.assertIn(a, actions)
        # Secrets never reached the audit log or the browser (the API masks them).
        details = " ".join(row["detail"] for row in v.query("SELECT detail FROM audit"))
        self.assertNotIn(SECRET, details)

        # Saved over TLS (the API this time): the running notifier moves to the TLS listener, and
        # the one it replaces said "offline" on its way out.
        c = Client(url)
        self.assertEqual(c.login("boss", "boss-password-1")[0], 200)
        status, _, body, _ = c.request("PUT", "/api/settings/notifications", {"mqtt": {
            "host": "127.0.0.1", "port": broker.tls_port, "tls": True, "ca_file": ca,
            "prefix": "secure"}})
        self.assertEqual(status, 200, body)
        v.wait_for(lambda: "online" in broker.on("secure/availability"), 20,
                   "the MQTT notifier online over TLS")
        self.assertEqual(broker.on("house/availability")[-1], "offline")
        # HEAD: the GET's headers and length, no body (an API route and the UI's index.html).
        for target in ("/api/settings/events", "/"):
            status, headers, _, data = c.request("GET", target)
            self.assertEqual(status, 200)
            status, head_headers, _, head_data = c.request("HEAD", target)
            self.assertEqual(status, 200)
            self.assertEqual(head_data, b"")
            self.assertEqual(int(head_headers["Content-Length"]), len(data), target)
            self.assertEqual(head_headers["Content-Type"], headers["Content-Type"])


if __name__ == "__main__":
    unittest.main()
