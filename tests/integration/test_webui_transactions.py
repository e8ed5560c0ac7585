"""The transactions page end to end (issue 19): a real `vigil serve` recording a GStreamer test
camera at a till's counter, a till token posting two transactions over HTTP at moments inside
the recorded footage, and Debian's Chromium (tests/browser/transactions_ui.test.mjs) finding one
by its amount on the Transactions page (with the camera's picture at that moment), clicking it,
and watching the counter camera play from 10 s before with frames decoded and the receipt beside
the video (also at phone width); both transactions as markers on the camera's timeline that ]
steps through; "this happened here" on a paused frame setting the till's clock offset in the
configuration file, which the next posted transaction's moment then follows; the daily summary
page and its CSV download adding the two up."""
import json
import os
import re
import subprocess
import tomllib
import unittest

from harness import SOURCE_DIR, VIGIL_BIN, RtspCamera, TestCase, Vigil, make_clip
from test_serve import Client

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")
ADMIN = ("root", "root-password-1")
TILL = """
[[till]]
id = "t1"
name = "Front till"
cameras = ["counter"]
"""


class WebUiTransactions(TestCase):
    def test_transaction_plays_with_its_receipt_in_chromium(self):
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build (npm install && npm run build in web/)")
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        clip = make_clip("live-h264", "--codec", "h264", "--seconds", "30")
        cam = self.track(RtspCamera({"counter": clip}))
        v = self.track(Vigil(
            self.workdir, [{"id": "counter", "name": "Counter", "url": cam.url("counter")}],
            segment_seconds=10,
            extra_toml=TILL + '[http]\nport = 0\nweb_root = %s\n' % json.dumps(WEB_DIST)).start())
        url = v.web_url()
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", ADMIN[0], "--role", "admin"],
                           input=ADMIN[1] + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        admin = Client(url)
        self.assertEqual(admin.login(*ADMIN)[0], 200)
        status, _, body, _ = admin.request("POST", "/api/tokens", {
            "name": "front till", "scope": "till", "tills": ["t1"], "password": ADMIN[1]})
        self.assertEqual(status, 201, body)
        till = Client(url)
        till.token = body["token"]

        # Closed footage from 10 s before the transaction to 2 s after it.
        def covered():
            closed = sorted((s for s in v.segments("counter") if s["state"] == "closed"),
                            key=lambda s: s["wall_start_ms"])
            if closed and closed[-1]["wall_end_ms"] - closed[0]["wall_start_ms"] >= 15_000:
                return closed[-1]["wall_end_ms"] - 2_000
            return None
        moment = v.wait_for(covered, 90, "15 s of closed footage of counter")

        # The one to find (20.00 EUR) and another (7.50) that the amount filter must leave out.
        sale = {"till": "t1", "time_ms": moment, "kind": "sale", "method": "qr",
                "total_minor": 2000, "currency": "EUR", "reference": "R-1",
                "items": [{"text": "Flat white", "quantity": 2, "unit_minor": 1000}],
                "cashier": "Anna"}
        other = dict(sale, reference="R-2", time_ms=moment - 1000, total_minor=750,
                     items=[{"text": "Croissant", "quantity": 1, "unit_minor": 750}])
        status, _, body, _ = till.request("POST", "/api/transactions",
                                          {"transactions": [sale, other]})
        self.assertEqual(status, 201, body)
        found = body["transactions"][0]
        self.assertEqual(found["moment_ms"], moment)

        args = json.dumps({"url": url, "user": ADMIN[0], "password": ADMIN[1],
                           "shots": os.path.join(self.workdir, "shots"),
                           "id": found["id"], "otherId": body["transactions"][1]["id"],
                           "moment": moment})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "transactions_ui.test.mjs"), args],
                           capture_output=True, text=True, timeout=300)
        print(r.stdout)
        self.assertEqual(r.returncode, 0,
                         r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b7 passed, 0 failed")
        # "This happened here" wrote the till's clock offset to the configuration, and a
        # transaction posted now gets its moment from it.
        offset = int(re.search(r"clock_offset_ms=(-?\d+)", r.stdout).group(1))
        with open(v.config, "rb") as f:
            self.assertEqual(tomllib.load(f)["till"][0]["clock_offset_ms"], offset)
        status, _, body, _ = till.request("POST", "/api/transactions",
                                          dict(sale, reference="R-3", time_ms=moment))
        self.assertEqual((status, body["moment_ms"]), (201, moment + offset), body)
        self.assertTrue(v.query("SELECT id FROM audit WHERE action = 'till_change'"))
        # Watching it was audited like playback.
        self.assertTrue(v.query("SELECT id FROM audit WHERE action = 'transaction_view' AND "
                                "camera_id = 'counter'"))
        self.assertIsNone(v.proc.poll())


if __name__ == "__main__":
    unittest.main()
