"""The web server of a real `vigil serve` on 127.0.0.1, attacked the way a stranger on the
network would: no credentials, someone else's camera, forged cross-site requests, path
traversal in every encoding, oversized and malformed requests, SQL-looking strings, password
guessing, slow and too many connections. After each attack the server must still answer.
The two configured cameras point at a closed port: they only give the API camera ids."""
import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import unittest
from urllib.parse import urlparse

from harness import VIGIL_BIN, TestCase, Vigil

CAMERAS = [{"id": "front", "url": "rtsp://127.0.0.1:9/front"},
           {"id": "yard", "url": "rtsp://127.0.0.1:9/yard"}]


class Client:
    """Raw HTTP: the target is sent exactly as given (no normalisation of '..' or '%2f')."""

    def __init__(self, url, tls=False, source=None):
        u = urlparse(url)
        self.host, self.port, self.tls = u.hostname, u.port, tls
        self.source = (source, 0) if source else None  # e.g. "127.0.0.2": another client address
        self.cookie = None
        self.csrf = None
        self.token = None

    def conn(self):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, self.port, timeout=10, context=ctx,
                                               source_address=self.source)
        return http.client.HTTPConnection(self.host, self.port, timeout=10,
                                          source_address=self.source)

    def request(self, method, target, body=None, headers=None, auth=True, csrf=True):
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if auth and self.cookie:
            h["Cookie"] = self.cookie
            if csrf and self.csrf:
                h.setdefault("X-CSRF-Token", self.csrf)
        if auth and self.token:
            h["Authorization"] = "Bearer " + self.token
        c = self.conn()
        try:
            c.request(method, target, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return r.status, dict(r.getheaders()), parsed, data

    def login(self, name, password):
        status, headers, body, _ = self.request("POST", "/api/login",
                                                {"name": name, "password": password}, auth=False)
        if status == 200:
            self.cookie = headers["Set-Cookie"].split(";")[0]
            self.csrf = body["csrf_token"]
        return status, headers, body


class Serve(TestCase):
    def start(self, extra_http="", cameras=CAMERAS):
        self.v = self.track(Vigil(self.workdir, cameras,
                                  extra_toml="[http]\nport = 0\n" + extra_http).start())
        self.url = self.v.web_url()
        return self.v

    def add_user(self, name, password, role, cameras=None):
        """`vigil user add` beside the running server, password on stdin as a script would."""
        args = ["user", "add", name, "--role", role]
        if cameras:
            args += ["--cameras", cameras]
        r = subprocess.run([VIGIL_BIN, "-c", self.v.config, *args], input=password + "\n",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def admin(self):
        self.add_user("root", "root-password", "admin")
        c = Client(self.url)
        self.assertEqual(c.login("root", "root-password")[0], 200)
        return c

    def assert_alive(self):
        self.assertIsNone(self.v.proc.poll(), "vigil exited:\n" + self.v.log()[-3000:])
        c = Client(self.url)
        status, _, body, _ = c.request("GET", "/api/me")
        self.assertEqual(status, 401)
        self.assertEqual(body["error"], "unauthenticated")

    def test_first_start_setup_token_creates_one_admin(self):
        self.start()
        token = self.v.setup_token()
        self.assertTrue(token, self.v.log())
        # The logged link opens the web UI's setup form with the token; `vigil setup-url` prints
        # it again (e.g. for an administrator after the package started the service).
        link = self.url + "#/setup?token=" + token
        self.assertIn("no users yet: open %s to create" % link, self.v.log())
        r = self.v.run("setup-url")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, link), r.stderr)
        c = Client(self.url)
        status, _, body, _ = c.request("POST", "/api/setup", {"token": "x" * len(token), "name": "root",
                                                              "password": "root-password"})
        self.assertEqual(status, 403, body)
        status, headers, body, _ = c.request("POST", "/api/setup", {"token": token, "name": "root",
                                                                    "password": "root-password"})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["role"], "admin")
        self.assertEqual(self.v.run("setup-url").returncode, 1)  # the token is spent
        cookie = headers["Set-Cookie"]
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attr, cookie)
        self.assertNotIn("Secure", cookie)  # plain HTTP here
        status, _, _, _ = c.request("POST", "/api/setup", {"token": token, "name": "eve",
                                                           "password": "eve-password"})
        self.assertEqual(status, 409)
        r = self.v.run("user", "list")
        self.assertIn("root", r.stdout)
        self.assertNotIn("eve", r.stdout)
        # The setup is audited, and the token is no secret kept in the catalog.
        self.assertEqual(self.v.query("SELECT action, user_name FROM audit"),
                         [{"action": "setup", "user_name": "root"}])
        for name in os.listdir(self.v.data):
            if name.startswith("vigil.db"):
                with open(os.path.join(self.v.data, name), "rb") as f:
                    self.assertNotIn(token.encode(), f.read(), name)

    def test_systemd_notifications_ready_watchdog_stopping(self):
        """What a Type=notify unit with WatchdogSec gets (debian/vigil.service): READY=1 once
        the server answers, WATCHDOG=1 every half period, STOPPING=1 on SIGTERM. systemd's side
        is a datagram socket in $NOTIFY_SOCKET, as systemd itself sets it up."""
        sock_path = os.path.join(self.workdir, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(sock_path)
        sock.settimeout(30)
        os.environ.update(NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="1000000")  # ping every 0.5 s
        try:
            self.start()
        finally:
            del os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"]
        messages = [sock.recv(4096).decode()]
        self.assertIn("READY=1", messages[0])
        self.assertIn("web interface at " + self.url, messages[0])
        c = Client(self.url)
        self.assertEqual(c.request("GET", "/api/me")[0], 401)  # ready means serving
        pings = 0
        while pings < 3:
            m = sock.recv(4096).decode()
            messages.append(m)
            pings += m == "WATCHDOG=1"
        self.v.proc.terminate()
        while "STOPPING=1" not in messages[-1]:
            messages.append(sock.recv(4096).decode())
        self.assertEqual(self.v.proc.wait(30), 0)

    def test_user_command_line(self):
        v = Vigil(self.workdir, CAMERAS)

        def user(*args, password=None):
            return subprocess.run([VIGIL_BIN, "-c", v.config, "user", *args], input=password,
                                  capture_output=True, text=True, timeout=60)

        r = user("add", "ann", "--role", "viewer", "--cameras", "front,yard",
                 password="ann-password\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(user("add", "ann", "--role", "admin", password="other-password\n")
                         .returncode, 1)
        r = user("add", "bob", "--role", "root", password="bob-password\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--role must be admin, operator or viewer", r.stderr)
        r = user("add", "bob", "--role", "viewer", "--cameras", "garage", password="bob-password\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn('no camera "garage"', r.stderr)
        r = user("add", "bob", "--role", "viewer", "--cameras", "*", password="short\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn("8 to 1024 characters", r.stderr)
        # No implicit "every camera": a viewer's cameras must be given ('*' for all).
        r = user("add", "bob", "--role", "viewer", password="bob-password\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--cameras: give the camera ids", r.stderr)
        r = user("add", "../bob", "--role", "viewer", password="bob-password\n")
        self.assertEqual(r.returncode, 2)
        r = user("list")
        self.assertRegex(r.stdout, r"ann\s+viewer\s+\S+\s+front,yard")
        self.assertNotIn("bob", r.stdout)
        hash_before = v.query("SELECT password_hash FROM user")[0]["password_hash"]
        self.assertTrue(hash_before.startswith("$argon2id$"))
        self.assertEqual(user("passwd", "ann", password="new-password\n").returncode, 0)
        self.assertNotEqual(v.query("SELECT password_hash FROM user")[0]["password_hash"],
                            hash_before)
        self.assertEqual(user("passwd", "nobody", password="new-password\n").returncode, 1)
        self.assertEqual(user("remove", "ann").returncode, 0)
        self.assertEqual(user("remove", "ann").returncode, 1)
        self.assertEqual([(r["action"], r["address"]) for r in
                          v.query("SELECT action, address FROM audit ORDER BY id")],
                         [("user_add", "cli"), ("user_change", "cli"), ("user_delete", "cli")])
        # The password went through stdin only: never into the catalog in clear.
        for name in os.listdir(v.data):
            with open(os.path.join(v.data, name), "rb") as f:
                data = f.read()
            self.assertNotIn(b"new-password", data, name)
            self.assertNotIn(b"ann-password", data, name)

    def test_status_output_reaches_the_terminal_without_escape_sequences(self):
        v = Vigil(self.workdir, CAMERAS)
        os.makedirs(v.data, exist_ok=True)
        evil = "\x1b[2J\x1b]0;owned\x07gone\r\nFAKE LINE\x1b[31m"
        with open(os.path.join(v.data, "status.json"), "w") as f:
            json.dump({"updated_at_ms": int(time.time() * 1000), "updated_at": evil,
                       "cameras": [{"id": "front", "state": evil, "last_error": evil,
                                    "video_codec": evil}],
                       "components": [{"component": evil, "failures": 1, "last_error": evil}]}, f)
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "status"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        for bad in (b"\x1b", b"\x07", b"\r"):
            self.assertNotIn(bad, r.stdout)
        self.assertIn(b"FAKE LINE", r.stdout)  # kept, on the line it belongs to
        self.assertNotIn(b"\nFAKE LINE", r.stdout)

    def test_every_api_route_needs_credentials(self):
        self.start()
        admin = self.admin()
        status, _, doc, _ = admin.request("GET", "/api/openapi.json")
        self.assertEqual(status, 200)
        values = {"id": "1", "name": "root", "sid": "1", "eid": "1", "evid": "1", "hold": "1"}
        checked = 0
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method == "parameters" or op.get("security") == []:
                    continue
                target = path
                for k, v in values.items():
                    target = target.replace("{%s}" % k, "front" if path.startswith(
                        "/api/cameras") else v)
                for headers in ({}, {"Cookie": "vigil_session=" + "A" * 43},
                                {"Authorization": "Bearer vgt_" + "A" * 43},
                                {"Authorization": "Basic cm9vdDpyb290LXBhc3N3b3Jk"}):
                    status, _, body, _ = Client(self.url).request(
                        method.upper(), target, body={} if method != "get" else None,
                        headers=headers)
                    self.assertEqual(status, 401, "%s %s %s" % (method, target, headers))
                    self.assertEqual(body["error"], "unauthenticated")
                checked += 1
        self.assertGreaterEqual(checked, 14)

    def test_viewer_sees_only_their_cameras_and_no_admin_routes(self):
        self.start()
        self.add_user("vic", "vic-password", "viewer", cameras="front")
        c = Client(self.url)
        self.assertEqual(c.login("vic", "vic-password")[0], 200)
        status, _, body, _ = c.request("GET", "/api/cameras")
        self.assertEqual([x["id"] for x in body["cameras"]], ["front"])
        self.assertEqual(c.request("GET", "/api/cameras/front")[0], 200)
        status, _, body, _ = c.request("GET", "/api/cameras/yard")
        self.assertEqual(status, 403)
        self.assertEqual(body["error"], "forbidden")
        for method, target in (("GET", "/api/users"), ("GET", "/api/audit"),
                               ("DELETE", "/api/users/vic")):
            self.assertEqual(c.request(method, target)[0], 403, target)
        status, _, body, _ = c.request("POST", "/api/users", {"name": "eve", "password": "12345678",
                                                              "role": "admin"})
        self.assertEqual(status, 403)

    def test_state_changes_with_a_session_need_the_csrf_token(self):
        self.start()
        admin = self.admin()
        new = {"name": "ola", "password": "ola-password", "role": "operator"}
        status, _, body, _ = admin.request("POST", "/api/users", new, csrf=False)
        self.assertEqual(status, 403)
        self.assertIn("X-CSRF-Token", body["detail"])
        status, _, _, _ = admin.request("POST", "/api/users", new,
                                        headers={"X-CSRF-Token": "forged"})
        self.assertEqual(status, 403)
        # A form post from another site cannot even name the right content type.
        status, _, _, _ = admin.request("POST", "/api/users", "name=ola&role=admin",
                                        headers={"Content-Type":
                                                 "application/x-www-form-urlencoded"})
        self.assertEqual(status, 415)
        self.assertEqual(admin.request("POST", "/api/users", new)[0], 201)
        self.assertEqual(admin.request("POST", "/api/logout", csrf=False)[0], 403)
        self.assertEqual(admin.request("POST", "/api/logout")[0], 204)
        self.assertEqual(admin.request("GET", "/api/me")[0], 401)
        actions = [r["action"] for r in self.v.query("SELECT action FROM audit ORDER BY id")]
        self.assertEqual(actions, ["user_add", "login", "user_add", "logout"])

    def test_path_traversal_never_escapes(self):
        self.start()
        admin = self.admin()
        with open(os.path.join(self.v.data, "secret.txt"), "w") as f:
            f.write("TOP-SECRET")
        targets = [
            "/../../../../etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
            "/api/cameras/../../secret.txt", "/api/cameras/..%2f..%2fsecret.txt",
            "/api/cameras/%2e%2e%2f%2e%2e%2fsecret.txt", "/api/cameras/%2E%2E",
            "/api/cameras/front%2f..%2f..%2fsecret.txt", "/api/cameras/..%5c..%5csecret.txt",
            "/api/cameras/%252e%252e%252fsecret.txt", "/api/cameras/front%00.txt",
            "/api/users/..%2f..%2fsecret.txt", "/api/tokens/1%2f..%2f..", "/api/./me",
            "/secret.txt", "/vigil.db", "/api/cameras/..;/secret.txt", "//etc/passwd",
        ]
        for t in targets:
            for who in (admin, Client(self.url)):
                status, _, body, raw = who.request("GET", t)
                self.assertIn(status, (400, 401, 404), t)
                if who is admin:
                    self.assertIn(status, (400, 404), t)
                self.assertNotIn(b"TOP-SECRET", raw)
                self.assertNotIn(b"root:", raw)
                self.assertNotIn(b"SQLite format", raw)
        self.assert_alive()

    def test_hostile_requests_get_clean_4xx_and_the_server_keeps_running(self):
        self.start('header_limit = "16KiB"\nbody_limit = "64KiB"\n')
        admin = self.admin()
        cases = [
            # (method, target, body, headers, expected status)
            ("GET", "/api/me", None, {"X-Big": "a" * 20000}, 431),
            ("GET", "/api/me?" + "a=1&" * 5000, None, {}, 431),
            ("POST", "/api/login", b"{" + b" " * 100_000 + b"}",
             {"Content-Type": "application/json"}, 413),
            ("POST", "/api/login", "{\"name\": \"root\", ", {"Content-Type": "application/json"},
             400),
            ("POST", "/api/login", "[" * 10000 + "]" * 10000, {"Content-Type": "application/json"},
             400),
            ("POST", "/api/login", "\xff\xfe garbage", {"Content-Type": "application/json"}, 400),
            ("POST", "/api/login", {"name": "root' OR '1'='1", "password": "' OR 1=1 --"}, {}, 401),
            ("POST", "/api/login", {"name": "root\"; DROP TABLE user; --", "password": "x"}, {},
             401),
            ("GET", "/api/nothing-here", None, {}, 404),
            ("PUT", "/api/me", None, {}, 405),
            ("GET", "/api/audit?user=x%27%20OR%201%3D1--&limit=5", None, {}, 200),
            ("GET", "/api/audit?limit=1e9", None, {}, 400),
            ("GET", "/api/audit?from_ms=%zz", None, {}, 400),
            ("GET", "/api/cameras/front'%20OR%201=1", None, {}, 400),
            ("DELETE", "/api/tokens/99999999999999999999999", None, {}, 400),
            ("POST", "/api/users", {"name": "x" * 200, "password": "p" * 8, "role": "viewer"}, {},
             400),
            ("POST", "/api/users", {"name": "eve", "password": "p" * 8, "role": "god"}, {}, 400),
            ("PATCH", "/api/users/root", {"role": ["admin"]}, {}, 400),
        ]
        for method, target, body, headers, expected in cases:
            status, _, parsed, raw = admin.request(method, target, body, headers)
            self.assertEqual(status, expected, "%s %s -> %s %r" % (method, target[:60], status,
                                                                   raw[:200]))
            if status >= 400:
                self.assertEqual(set(parsed), {"error", "detail"}, raw[:200])
        # curl asks "Expect: 100-continue" before a large body: a body over the limit is refused
        # before it is sent, one within it goes through without curl's one-second wait.
        for size, expected in ((200_000, "413"), (5_000, "401")):
            body = json.dumps({"name": "root", "password": "x" * size})
            t0 = time.time()
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                                "Content-Type: application/json", "-H", "Expect: 100-continue",
                                "--data-binary", "@-", self.url + "api/login"], input=body,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.stdout, expected)
            self.assertLess(time.time() - t0, 0.9)
        status, _, body, _ = admin.request("GET", "/api/audit?user=x%27%20OR%201%3D1--")
        self.assertEqual(body["entries"], [])
        # Not HTTP at all.
        for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
                     b"GET / HTTP/9.9\r\n\r\n", b"GARBAGE\r\n\r\n",
                     b"GET /api/me HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"POST /api/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            with socket.create_connection(("127.0.0.1", int(urlparse(self.url).port)), 5) as s:
                s.sendall(junk)
                s.settimeout(5)
                answer = s.recv(4096)
                self.assertTrue(answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer)
        self.assertEqual(self.v.query("SELECT COUNT(*) AS n FROM user")[0]["n"], 1)
        self.assert_alive()
        self.assertEqual(admin.request("GET", "/api/me")[0], 200)

    def test_password_guessing_is_slowed_then_locked(self):
        self.start()
        self.add_user("ann", "ann-password", "operator", cameras="*")
        c = Client(self.url)
        for _ in range(5):
            self.assertEqual(c.login("ann", "guess")[0], 401)
        status, headers, body = c.login("ann", "guess")
        self.assertEqual(status, 429)
        self.assertEqual(body["error"], "too_many_requests")
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        # While locked even the right password is refused: the lock is no oracle.
        self.assertEqual(c.login("ann", "ann-password")[0], 429)
        time.sleep(int(headers["Retry-After"]) + 0.2)
        self.assertEqual(c.login("ann", "guess")[0], 401)
        status, headers, _ = c.login("ann", "ann-password")
        self.assertEqual(status, 429)
        self.assertGreaterEqual(int(headers["Retry-After"]), 2)  # doubled
        time.sleep(int(headers["Retry-After"]) + 0.2)
        self.assertEqual(c.login("ann", "ann-password")[0], 200)
        rows = self.v.query("SELECT action, address, user_name FROM audit WHERE action LIKE "
                            "'login%' ORDER BY id")
        self.assertEqual([r["action"] for r in rows], ["login_failed"] * 6 + ["login"])
        self.assertEqual({r["address"] for r in rows}, {"127.0.0.1"})
        self.assertEqual({r["user_name"] for r in rows}, {"ann"})

    def test_api_tokens_and_the_audit_api(self):
        self.start()
        admin = self.admin()
        status, _, body, _ = admin.request("POST", "/api/tokens", {"name": "backup",
                                                                   "password": "root-password"})
        self.assertEqual(status, 201)
        script = Client(self.url)
        script.token = body["token"]
        status, _, me, _ = script.request("GET", "/api/me")
        self.assertEqual((status, me["name"], me["via"]), (200, "root", "token"))
        # Tokens need no CSRF token (a browser never sends them on its own).
        self.assertEqual(script.request("POST", "/api/users", {"name": "vic", "password":
                                                               "vic-password", "role":
                                                               "viewer"})[0], 201)
        self.assertEqual(admin.request("DELETE", "/api/tokens/%d" % body["id"])[0], 204)
        self.assertEqual(script.request("GET", "/api/me")[0], 401)
        # Paging through the audit log, newest first.
        status, _, page, _ = admin.request("GET", "/api/audit?limit=2")
        self.assertEqual(status, 200)
        self.assertEqual([e["action"] for e in page["entries"]], ["token_revoke", "user_add"])
        status, _, older, _ = admin.request("GET", "/api/audit?limit=10&before_id=%d" %
                                            page["next_before_id"])
        self.assertEqual([e["action"] for e in older["entries"]],
                         ["token_create", "login", "user_add"])
        self.assertIsNone(older["next_before_id"])
        status, _, f, _ = admin.request("GET", "/api/audit?action=login&user=root")
        self.assertEqual(len(f["entries"]), 1)
        self.assertEqual(f["entries"][0]["address"], "127.0.0.1")
        # Nothing can rewrite the log, not even a direct SQL client.
        r = subprocess.run(["sqlite3", os.path.join(self.v.data, "vigil.db"),
                            "DELETE FROM audit"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("append-only", r.stderr)

    def test_slow_and_excess_connections_do_not_starve_the_api(self):
        self.start("read_timeout_ms = 1000\nheader_timeout_ms = 1000\nidle_timeout_ms = 2000\n"
                   "max_connections = 20\n")
        port = int(urlparse(self.url).port)
        # A slowloris client: half a request line, then silence. It is cut off after the read
        # timeout, and meanwhile others are served at once.
        slow = socket.create_connection(("127.0.0.1", port), 5)
        slow.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        self.assertEqual(Client(self.url).request("GET", "/api/me")[0], 401)
        self.assertLess(time.time() - t0, 1.0)
        slow.settimeout(5)
        self.assertEqual(slow.recv(100), b"")
        self.assertLess(time.time() - t0, 3.0)
        slow.close()
        # Filling every connection slot: the next connection is closed at once, and service
        # comes back when the slots free up.
        idle = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(20)]
        time.sleep(0.3)
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, OSError)):
            Client(self.url).request("GET", "/api/me")
        for s in idle:
            s.close()
        self.v.wait_for(lambda: self._answers(), 10, "service after the connections closed")
        self.assertIn("connections open (the maximum)", self.v.log())

    def test_login_flood_and_idle_connections_do_not_starve_the_api(self):
        self.start("header_timeout_ms = 60000\n")  # the idle connections stay for the whole test
        admin = self.admin()
        status, _, body, _ = admin.request("POST", "/api/tokens", {"name": "probe",
                                                                   "password": "root-password"})
        probe = Client(self.url)
        probe.token = body["token"]
        port = int(urlparse(self.url).port)
        # 60 open keep-alive connections doing nothing (think: live viewers between frames).
        idle = [socket.create_connection(("127.0.0.1", port), 5, ("127.0.0.2", 0))
                for _ in range(60)]
        self.addCleanup(lambda: [s.close() for s in idle])
        # 12 logins at once, each an Argon2 check (~0.1 s of CPU): they queue on their own pool.
        import threading
        results = []

        def guess(i):
            results.append(Client(self.url).login("nobody%d" % i, "guess-password")[0])

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        latencies = []
        while any(t.is_alive() for t in threads):
            t0 = time.time()
            self.assertEqual(probe.request("GET", "/api/me")[0], 200)
            latencies.append(time.time() - t0)
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [401] * 12)
        self.assertGreaterEqual(len(latencies), 3, "the logins finished too fast to measure")
        self.assertLess(max(latencies), 0.5, latencies)

    def test_a_login_flood_beyond_the_password_queue_is_answered_429_at_once(self):
        self.start("password_queue_limit = 1\n")
        results = []

        def guess(i):
            status, headers, _ = Client(self.url).login("nobody%d" % i, "guess-password")
            results.append((status, headers.get("Retry-After")))

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual({s for s, _ in results} - {401, 429}, set(), results)
        self.assertIn((429, "1"), results)
        self.assertIn(401, [s for s, _ in results])  # the queue still works through its share
        self.assert_alive()

    def test_one_address_cannot_take_every_connection(self):
        self.start("max_connections_per_address = 8\nheader_timeout_ms = 60000\n")
        port = int(urlparse(self.url).port)
        held = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(8)]
        self.addCleanup(lambda: [s.close() for s in held])
        time.sleep(0.3)
        # The ninth from 127.0.0.1 is closed at once...
        extra = socket.create_connection(("127.0.0.1", port), 5)
        extra.settimeout(5)
        try:
            extra.sendall(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            self.assertEqual(extra.recv(100), b"")
        except ConnectionError:
            pass
        extra.close()
        # ... while another address is served as usual.
        other = Client(self.url, source="127.0.0.2")
        self.assertEqual(other.request("GET", "/api/me")[0], 401)
        self.assertIn("(max_connections_per_address); refusing another", self.v.log())
        for s in held:
            s.close()
        self.v.wait_for(lambda: self._answers(), 10, "127.0.0.1 served again")

    def test_host_header_is_checked_against_dns_rebinding(self):
        self.start()
        c = Client(self.url)
        status, _, body, _ = c.request("GET", "/api/me", headers={"Host": "evil.example:%d" %
                                                                  c.port})
        self.assertEqual(status, 421, body)
        self.assertEqual(body["error"], "misdirected_request")
        status, _, body, _ = c.request("GET", "/", headers={"Host": "evil.example"})
        self.assertEqual(status, 421)  # the web UI too
        for host in ("127.0.0.1:%d" % c.port, "localhost:%d" % c.port, "LOCALHOST.", "127.0.0.1"):
            self.assertEqual(c.request("GET", "/api/me", headers={"Host": host})[0], 401, host)
        self.v.stop()
        self.start('allowed_hosts = ["nvr.example.com"]\n')
        c = Client(self.url)
        self.assertEqual(c.request("GET", "/api/me", headers={"Host": "nvr.example.com"})[0], 401)
        self.assertEqual(c.request("GET", "/api/me", headers={"Host": "evil.example"})[0], 421)
        self.assertNotIn("Strict-Transport-Security", c.request("GET", "/api/me")[1])

    def test_forwarded_headers_are_believed_only_from_trusted_proxies(self):
        self.start('trusted_proxies = ["127.0.0.2"]\n')
        self.add_user("root", "root-password", "admin")
        direct = Client(self.url)  # from 127.0.0.1: not a proxy
        forged = {"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "https"}
        status, headers, _ = self._login_with(direct, forged)
        self.assertEqual(status, 200)
        self.assertNotIn("Secure", headers["Set-Cookie"])
        self.assertNotIn("Strict-Transport-Security", headers)
        proxy = Client(self.url, source="127.0.0.2")
        # The client wrote its own X-Forwarded-For; the proxy appended the address it saw.
        status, headers, _ = self._login_with(
            proxy, {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https"})
        self.assertEqual(status, 200)
        self.assertIn("; Secure", headers["Set-Cookie"])
        self.assertEqual(headers["Strict-Transport-Security"], "max-age=31536000")
        rows = self.v.query("SELECT address FROM audit WHERE action = 'login' ORDER BY id")
        self.assertEqual([r["address"] for r in rows], ["127.0.0.1", "203.0.113.7"])

    def _login_with(self, client, headers):
        status, h, body, _ = client.request("POST", "/api/login",
                                            {"name": "root", "password": "root-password"},
                                            headers=headers, auth=False)
        return status, h, body

    def _answers(self):
        try:
            return Client(self.url).request("GET", "/api/me")[0] == 401
        except OSError:
            return False

    def test_files_are_not_readable_by_other_users(self):
        old = os.umask(0o022)  # the usual default, under which files used to be 0644
        try:
            self.start()
        finally:
            os.umask(old)
        self.admin()
        self.v.wait_for(lambda: os.path.exists(os.path.join(self.v.data, "status.json")), 20,
                      "status.json")
        self.assertEqual(os.stat(self.v.data).st_mode & 0o777, 0o750)
        checked = []
        for root, dirs, files in os.walk(self.v.data):
            for name in dirs + files:
                path = os.path.join(root, name)
                self.assertEqual(os.stat(path).st_mode & 0o007, 0, path)
                checked.append(name)
        for name in ("vigil.db", "status.json"):
            self.assertIn(name, checked)

    def test_a_stored_camera_password_goes_only_to_its_host(self):
        self.start()
        admin = self.admin()
        # A server of the attacker's that asks for Basic (the password in clear) and notes every
        # Authorization header it is sent.
        evil = socket.socket()
        evil.bind(("127.0.0.1", 0))
        evil.listen()
        self.addCleanup(evil.close)
        evil_port = evil.getsockname()[1]
        seen = []

        def answer_basic():
            while True:
                try:
                    conn, _ = evil.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(5)
                    data = b""
                    try:
                        while True:
                            chunk = conn.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                            while b"\r\n\r\n" in data:
                                head, data = data.split(b"\r\n\r\n", 1)
                                lines = head.decode("latin-1").split("\r\n")
                                seen.extend(l for l in lines if l.lower().startswith("authorization"))
                                cseq = [l for l in lines if l.lower().startswith("cseq")][0]
                                conn.sendall(("RTSP/1.0 401 Unauthorized\r\n%s\r\nWWW-Authenticate: "
                                              "Basic realm=\"cam\"\r\n\r\n" % cseq).encode())
                    except OSError:
                        pass

        threading.Thread(target=answer_basic, daemon=True).start()
        status, _, body, _ = admin.request("PATCH", "/api/cameras/front",
                                           {"url": "rtsp://admin:s3cret@127.0.0.1:9/front"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["url"], "rtsp://admin:***@127.0.0.1:9/front")
        self.assertEqual(body["auth"], "digest")
        elsewhere = "rtsp://admin:***@127.0.0.1:%d/front" % evil_port
        status, _, body, _ = admin.request("PATCH", "/api/cameras/front", {"url": elsewhere})
        self.assertEqual(status, 400, body)
        self.assertIn("type the password", body["detail"])
        status, _, body, _ = admin.request("POST", "/api/cameras/probe",
                                           {"url": elsewhere, "camera": "front"})
        self.assertEqual(status, 400, body)
        # The same host and port (another path) still gets the stored password.
        status, _, body, _ = admin.request(
            "PATCH", "/api/cameras/front", {"url": "rtsp://admin:***@127.0.0.1:9/other"})
        self.assertEqual(status, 200, body)
        with open(self.v.config) as f:
            self.assertIn("s3cret", f.read())
        # A typed password is not answered to a Basic challenge over plain RTSP...
        status, _, body, _ = admin.request(
            "POST", "/api/cameras/probe",
            {"url": "rtsp://admin:typed-pw@127.0.0.1:%d/x" % evil_port})
        self.assertEqual(status, 200, body)
        self.assertFalse(body["ok"], body)
        self.assertIn("asks for Basic authentication", body["error"])
        self.assertEqual(seen, [])
        # ... unless asked for (an old camera that knows nothing else).
        status, _, body, _ = admin.request(
            "POST", "/api/cameras/probe",
            {"url": "rtsp://admin:typed-pw@127.0.0.1:%d/x" % evil_port, "auth": "basic"})
        self.assertEqual(status, 200, body)
        self.assertFalse(body["ok"], body)
        self.assertEqual(seen, ["Authorization: Basic YWRtaW46dHlwZWQtcHc="])
        self.assertNotIn("s3cret", self.v.log())

    def test_tls_from_cert_and_key_files_marks_the_cookie_secure(self):
        cert = os.path.join(self.workdir, "cert.pem")
        key = os.path.join(self.workdir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                       capture_output=True)
        self.start('tls_cert = "%s"\ntls_key = "%s"\n' % (cert, key))
        self.assertTrue(self.url.startswith("https://"), self.url)
        self.add_user("root", "root-password", "admin")
        c = Client(self.url, tls=True)
        status, headers, _ = c.login("root", "root-password")
        self.assertEqual(status, 200)
        self.assertIn("; Secure", headers["Set-Cookie"])
        self.assertEqual(c.request("GET", "/api/me")[0], 200)
        # Plain HTTP on the TLS port gets nothing, and the server is unharmed.
        with socket.create_connection(("127.0.0.1", int(urlparse(self.url).port)), 5) as s:
            s.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            self.assertFalse(data.startswith(b"HTTP/1.1 200"))
        self.assertEqual(c.request("GET", "/api/me")[0], 200)

    def test_bad_tls_files_and_taken_port_stop_vigil_with_a_clear_message(self):
        missing = os.path.join(self.workdir, "nope.pem")
        v = Vigil(self.workdir, [], extra_toml='[http]\nport = 0\ntls_cert = "%s"\ntls_key = "%s"\n'
                  % (missing, missing))
        v.start()
        self.assertEqual(v.proc.wait(20), 3)
        self.assertIn("http.tls_cert " + missing, v.log())
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self.addCleanup(busy.close)
        v = Vigil(self.workdir, [], extra_toml="[http]\nport = %d\n" % busy.getsockname()[1])
        v.start()
        self.assertEqual(v.proc.wait(20), 3)
        self.assertIn("http: listen on 127.0.0.1:%d" % busy.getsockname()[1], v.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
