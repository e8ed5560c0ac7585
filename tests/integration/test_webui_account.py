"""The second factor and API tokens end to end, on one `vigil serve` (no camera: nothing here
needs footage) with `[http] require_2fa_for_admins = true`:
- over real HTTP: a viewer enrols TOTP through the API, then logs in with a code computed here
  from the secret (RFC 6238), a code is refused the second time, a recovery code works once,
  wrong codes are throttled like wrong passwords, and all of it is in the audit log;
- in Debian's Chromium (tests/browser/account.test.mjs): the first admin is held on the account
  page until enrolled, enrols from the QR code's secret, logs in again with a code, and creates
  and revokes an API token on the tokens page."""
import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import time
import unittest

from harness import SOURCE_DIR, VIGIL_BIN, Vigil
from test_serve import Client

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")


def totp(secret_b32, at=None):
    """RFC 6238 with HMAC-SHA1, 30 s steps, 6 digits (what vigil and the apps use)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


class SecondFactor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._tmp = tempfile.TemporaryDirectory(prefix="vigil-it-")
        cls.v = Vigil(cls._tmp.name, [], extra_toml=(
            "[http]\nport = 0\nrequire_2fa_for_admins = true\nweb_root = %s\n"
            % json.dumps(WEB_DIST))).start()
        try:
            cls.url = cls.v.web_url()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.v.stop()
        cls._tmp.cleanup()

    def add_user(self, name, role):
        r = subprocess.run([VIGIL_BIN, "-c", self.v.config, "user", "add", name, "--role", role,
                            "--cameras", "*"], input=name + "-password\n",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def login(self, name, code=None, source=None):
        c = Client(self.url, source=source)
        body = {"name": name, "password": name + "-password"}
        if code is not None:
            body["code"] = code
        status, headers, parsed, _ = c.request("POST", "/api/login", body, auth=False)
        if status == 200:
            c.cookie = headers["Set-Cookie"].split(";")[0]
            c.csrf = parsed["csrf_token"]
        return status, parsed, c

    def audit(self, action, user):
        return self.v.query("SELECT * FROM audit WHERE action = ? AND user_name = ? ORDER BY id",
                            (action, user))

    def test_login_with_totp_over_http(self):
        self.add_user("ann", "viewer")
        status, _, c = self.login("ann")
        self.assertEqual(status, 200)
        status, _, started, _ = c.request("POST", "/api/me/totp", {"password": "ann-password"})
        self.assertEqual(status, 200, started)
        secret = started["secret"]
        self.assertTrue(started["uri"].startswith("otpauth://totp/vigil:ann?secret=" + secret))
        # Confirmed with a first code: the recovery codes come back, once.
        status, _, confirmed, _ = c.request("POST", "/api/me/totp/confirm", {"code": totp(secret)})
        self.assertEqual(status, 200, confirmed)
        recovery = confirmed["recovery_codes"]
        self.assertEqual(len(recovery), 10)
        self.assertEqual(len(self.audit("totp_enrol", "ann")), 1)
        # The secret is in no log.
        self.assertNotIn(secret, self.v.log())

        status, body, _ = self.login("ann")
        self.assertEqual((status, body["error"]), (401, "code_required"))
        # The confirming code was used: wait for the next step's code.
        step = int(time.time() // 30)
        while int(time.time() // 30) == step:
            time.sleep(0.2)
        code = totp(secret)
        status, body, c = self.login("ann", code)
        self.assertEqual(status, 200, body)
        status, _, me, _ = c.request("GET", "/api/me")
        self.assertEqual((status, me["totp"], me["recovery_codes_left"]), (200, True, 10))
        status, body, _ = self.login("ann", code)
        self.assertEqual((status, body["error"]), (401, "wrong_code"))
        # A recovery code: once.
        self.assertEqual(self.login("ann", recovery[0])[0], 200)
        self.assertEqual(self.login("ann", recovery[0])[0], 401)
        used = self.audit("recovery_code_used", "ann")
        self.assertEqual([r["detail"] for r in used], ["9 recovery codes left"])
        failed = self.audit("login_failed", "ann")
        self.assertEqual([r["detail"] for r in failed], ["wrong second-factor code"] * 2)
        # Wrong codes are throttled like wrong passwords (five per account and address), from
        # another loopback address so that the pair's count starts at zero.
        wrong = "%06d" % ((int(totp(secret)) + 500000) % 1000000)
        statuses = [self.login("ann", wrong, source="127.0.0.2")[0] for _ in range(6)]
        self.assertEqual(statuses, [401] * 5 + [429])

    def test_webui_enrolment_login_with_code_and_tokens(self):
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build (npm ci && npm run build in web/)")
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        self.add_user("boss", "admin")
        args = json.dumps({"url": self.url, "name": "boss", "password": "boss-password",
                           "shots": self._tmp.name})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "account.test.mjs"), args],
                           capture_output=True, text=True, timeout=300)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + "\n--- vigil ---\n" +
                         self.v.log()[-3000:])
        # What the browser did is what the server recorded.
        self.assertEqual(len(self.audit("totp_enrol", "boss")), 1)
        self.assertEqual(len(self.audit("token_create", "boss")), 1)
        self.assertEqual(len(self.audit("token_revoke", "boss")), 1)
        self.assertEqual(self.v.query("SELECT count(*) AS n FROM api_token")[0]["n"], 0)


if __name__ == "__main__":
    unittest.main()
