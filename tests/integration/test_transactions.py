"""Till transactions on a real `vigil serve` (issue 19): a till token posts single transactions
and batches (all or nothing, idempotent on the till's reference), wrong input is a 400 naming
the field, an unknown till a 404, another till's a 403 and any other route a 403; card numbers
come back masked; a search finds a transaction by amount and words; a refund above the till's
limit raises an event of type "transaction"; a provider webhook is taken with a good HMAC
signature and refused with a bad one, keeping none of the payer's data; the daily summary
(JSON and CSV). Those cameras are never reached: transactions need only the configuration and
the catalog. TransactionClip records a real test camera and exports a transaction's clip: the
MP4 has the receipt as a mov_text subtitle track (ffprobe), the video copied as it was; an
evidence bundle of that camera carries the till's transactions of its range in transactions.json,
which `vigil verify` checks (an edited or removed file fails, naming it)."""
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import zipfile

from harness import VIGIL_BIN, RtspCamera, TestCase, Vigil, decode_errors, make_clip
from test_serve import Client

CAMERAS = [{"id": "counter", "url": "rtsp://127.0.0.1:9/counter"},
           {"id": "door", "url": "rtsp://127.0.0.1:9/door"}]
SECRET = "provider-secret"
TILLS = """
[[till]]
id = "t1"
name = "Front till"
cameras = ["counter"]
clock_offset_ms = 2000
[till.rules]
refund_above = 5000

[[till]]
id = "t2"
cameras = ["door"]
webhook_secret = "%s"
[till.map]
amount = "/data/amount"
currency = "/data/currency"
reference = "/data/id"
method = "/data/channel"
time = "/data/paid_at"
""" % SECRET


class Transactions(TestCase):
    def setUp(self):
        super().setUp()
        self.v = self.track(Vigil(self.workdir, CAMERAS, extra_toml=TILLS).start())
        self.url = self.v.web_url()
        r = subprocess.run([VIGIL_BIN, "-c", self.v.config, "user", "add", "root", "--role",
                            "admin"], input="root-password\n", capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.admin = Client(self.url)
        self.assertEqual(self.admin.login("root", "root-password")[0], 200)

    def till_client(self, tills):
        status, _, body, _ = self.admin.request("POST", "/api/tokens", {
            "name": "till " + ",".join(tills), "scope": "till", "tills": tills,
            "password": "root-password"})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["tills"], tills)
        c = Client(self.url)
        c.token = body["token"]
        return c

    def test_till_token_posts_and_users_search(self):
        till = self.till_client(["t1"])
        sale = {"till": "t1", "time": "2026-12-01T10:00:00Z", "kind": "sale", "method": "qr",
                "total_minor": 2000, "currency": "EUR", "reference": "R-1",
                "items": [{"text": "Flat white", "quantity": 2, "unit_minor": 1000}],
                "text": "paid by card 4111 1111 1111 1111"}
        status, _, first, _ = till.request("POST", "/api/transactions", sale)
        self.assertEqual(status, 201, first)
        self.assertTrue(first["created"])
        # The moment is the till's time plus its clock offset.
        self.assertEqual(first["moment"], "2026-12-01T10:00:02.000Z")
        self.assertEqual(first["text"], "paid by card **** **** **** 1111")
        # Posted again (a retry): stored once, answered 200 with the stored row.
        status, _, again, _ = till.request("POST", "/api/transactions", dict(sale, total_minor=1))
        self.assertEqual(status, 200, again)
        self.assertEqual((again["id"], again["total_minor"], again["created"]),
                         (first["id"], 2000, False))

        # A batch with one bad transaction stores nothing and names the field.
        batch = [dict(sale, reference="B-%d" % i, total_minor=100 * i) for i in range(1, 4)]
        batch[2]["kind"] = "sold"
        status, _, body, _ = till.request("POST", "/api/transactions", {"transactions": batch})
        self.assertEqual(status, 400, body)
        self.assertIn("transactions[2].kind", body["detail"])
        self.assertEqual(self.v.query("SELECT count(*) AS n FROM till_transaction")[0]["n"], 1)
        # ...and one for an unknown till is a 404 naming it, also storing nothing.
        status, _, body, _ = self.admin.request("POST", "/api/transactions", {"transactions": [
            dict(sale, reference="X-1"), dict(sale, till="t9", reference="X-2")]})
        self.assertEqual(status, 404, body)
        self.assertIn("t9", body["detail"])
        self.assertEqual(self.v.query("SELECT count(*) AS n FROM till_transaction")[0]["n"], 1)
        batch[2]["kind"] = "refund"
        batch[2]["total_minor"] = 6000  # above t1's refund_above = 5000
        status, _, body, _ = till.request("POST", "/api/transactions", {"transactions": batch})
        self.assertEqual(status, 201, body)
        self.assertEqual([t["created"] for t in body["transactions"]], [True, True, True])

        # The till token is for t1's transactions and nothing else.
        status, _, body, _ = till.request("POST", "/api/transactions", dict(sale, till="t2"))
        self.assertEqual(status, 403, body)
        for target in ("/api/transactions", "/api/cameras", "/api/events"):
            status, _, body, _ = till.request("GET", target)
            self.assertEqual(status, 403, (target, body))
        status, _, body, _ = till.request("POST", "/api/transactions", {"till": "t1"})
        self.assertEqual(status, 400, body)
        self.assertIn("kind", body["detail"])
        status, _, body, _ = till.request("POST", "/api/transactions",
                                          dict(sale, reference="P-1", payer_phone="+4917012345"))
        self.assertEqual(status, 400, body)
        self.assertNotIn("4917012345", json.dumps(body))

        # Search: by amount range, by words in the items, by kind; newest first.
        status, _, found, _ = self.admin.request(
            "GET", "/api/transactions?amount_from=1500&amount_to=2500")
        self.assertEqual(status, 200, found)
        self.assertEqual([t["id"] for t in found["transactions"]], [first["id"]])
        status, _, found, _ = self.admin.request("GET", "/api/transactions?text=flat%20whi")
        self.assertEqual(len(found["transactions"]), 4)
        status, _, found, _ = self.admin.request("GET", "/api/transactions?text=4111111111111111")
        self.assertEqual(found["transactions"], [])  # the full card number was never stored
        status, _, found, _ = self.admin.request("GET", "/api/transactions?kind=refund")
        [refund] = found["transactions"]
        self.assertEqual(refund["total_minor"], 6000)
        status, _, one, _ = self.admin.request("GET", "/api/transactions/%d" % refund["id"])
        self.assertEqual(status, 200, one)
        self.assertEqual(one["cameras"], ["counter"])
        self.assertEqual(one["receipt"], [])
        audit = self.v.query("SELECT action, camera_id FROM audit WHERE action LIKE 'transaction%'")
        self.assertIn({"action": "transaction_view", "camera_id": "counter"}, audit)
        self.assertIn("transactions_search", [a["action"] for a in audit])
        # The refund above the limit is an event of type "transaction" on the till's camera.
        events = self.v.wait_for(lambda: self.admin.request(
            "GET", "/api/events?type=transaction")[2]["events"], 20, "the refund's event")
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["camera"], "counter")
        self.assertEqual(events[0]["start_ms"], refund["moment_ms"])
        self.assertIn("refund of 60.00 above 50.00", events[0]["close_reason"])
        # The daily summary: counts and totals by kind and method, and the exception raised.
        status, _, summary, _ = self.admin.request(
            "GET", "/api/transactions/summary?till=t1&day=2026-12-01")
        self.assertEqual(status, 200, summary)
        [day] = summary["days"]
        self.assertEqual((day["till"], day["day"], day["count"]), ("t1", "2026-12-01", 4))
        self.assertEqual(day["by_kind"]["sale"], {"count": 3, "total_minor": 2300})
        self.assertEqual(day["by_kind"]["refund"], {"count": 1, "total_minor": 6000})
        self.assertEqual(day["net_minor"], 2300 - 6000)
        self.assertEqual(day["by_method"]["qr"],
                         {"count": 4, "sales_minor": 2300, "refunds_minor": 6000})
        self.assertEqual(day["exceptions"], 1)
        self.assertEqual(day["exception_events"][0]["event_id"], events[0]["id"])
        # ...as CSV (format=csv or Accept: text/csv), a download with a file name.
        status, headers, _, data = self.admin.request(
            "GET", "/api/transactions/summary?from_day=2026-11-30&to_day=2026-12-01",
            headers={"Accept": "text/csv"})
        self.assertEqual(status, 200, data)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"), headers)
        self.assertIn('filename="vigil-transactions-all-2026-11-30_2026-12-01.csv"',
                      headers["Content-Disposition"])
        lines = data.decode().split("\r\n")
        header = lines[0].split(",")
        rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
        self.assertEqual([(r["till"], r["day"], r["count"]) for r in rows],
                         [("t1", "2026-11-30", "0"), ("t1", "2026-12-01", "4"),
                          ("t2", "2026-11-30", "0"), ("t2", "2026-12-01", "0")])
        self.assertEqual((rows[1]["refund_minor"], rows[1]["exceptions"]), ("6000", "1"))
        status, _, body, _ = self.admin.request("GET", "/api/transactions/summary?day=2026-13-01")
        self.assertEqual(status, 400, body)
        status, _, body, _ = self.admin.request("GET", "/api/transactions/summary?till=t9&day=2026-12-01")
        self.assertEqual(status, 404, body)
        self.assertIn("transactions_summary",
                      [a["action"] for a in self.v.query("SELECT action FROM audit")])

        # Nowhere in the catalog or the log is the card number whole.
        dump = subprocess.run(["sqlite3", self.v.data + "/vigil.db", ".dump"],
                              capture_output=True, text=True, timeout=60).stdout
        self.assertIn("**** **** **** 1111", dump)
        self.assertNotIn("4111 1111 1111 1111", dump)
        self.assertNotIn("4111 1111 1111 1111", self.v.log())

    def test_provider_webhook_with_signature(self):
        body = json.dumps({"data": {"id": "pay_42", "amount": "20.00", "currency": "eur",
                                    "channel": "qr", "paid_at": "2026-12-01T10:00:00Z",
                                    "payer": {"name": "Erika Mustermann",
                                              "phone": "+49 170 1234567"}}})
        sig = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
        anon = Client(self.url)
        headers = {"Content-Type": "application/json"}
        status, _, got, _ = anon.request("POST", "/api/transactions/webhook/t2", body,
                                         headers=dict(headers, **{"X-Signature": "sha256=" + "0" * 64}))
        self.assertEqual(status, 401, got)
        status, _, got, _ = anon.request("POST", "/api/transactions/webhook/t2", body,
                                         headers=headers)
        self.assertEqual(status, 401, got)
        self.assertEqual(self.v.query("SELECT count(*) AS n FROM till_transaction")[0]["n"], 0)
        status, _, got, _ = anon.request("POST", "/api/transactions/webhook/t2", body,
                                         headers=dict(headers, **{"X-Signature": sig}))
        self.assertEqual(status, 201, got)
        self.assertEqual((got["till"], got["total_minor"], got["currency"], got["method"],
                          got["reference"], got["source"]),
                         ("t2", 2000, "EUR", "qr", "pay_42", "webhook"))
        # Sent again by a provider that retries: the same row.
        status, _, again, _ = anon.request("POST", "/api/transactions/webhook/t2", body,
                                           headers=dict(headers, **{"X-Signature": sig}))
        self.assertEqual((status, again["id"]), (200, got["id"]))
        dump = subprocess.run(["sqlite3", self.v.data + "/vigil.db", ".dump"],
                              capture_output=True, text=True, timeout=60).stdout
        self.assertNotIn("Mustermann", dump)
        self.assertNotIn("1234567", dump)
        # A till without a secret takes no anonymous webhook; an unknown till is a 404.
        status, _, got, _ = anon.request("POST", "/api/transactions/webhook/t1", body,
                                         headers=headers)
        self.assertEqual(status, 401, got)
        status, _, got, _ = anon.request("POST", "/api/transactions/webhook/t9", body,
                                         headers=headers)
        self.assertEqual(status, 404, got)





class TransactionClip(unittest.TestCase):
    """One camera recording 10 s segments; a transaction in the middle of a closed one."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="vigil-it-")
        cls.cam = RtspCamera({"counter": make_clip("h264", "--codec", "h264", "--seconds", "20")})
        cls.v = Vigil(cls._tmp.name, [{"id": "counter", "url": cls.cam.url("counter")}],
                      segment_seconds=10,
                      extra_toml='[[till]]\nid = "t1"\ncameras = ["counter"]\n').start()
        try:
            r = subprocess.run([VIGIL_BIN, "-c", cls.v.config, "user", "add", "root", "--role",
                                "admin"], input="root-password\n", capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            cls.closed = cls.v.wait_for(
                lambda: [s for s in cls.v.segments("counter") if s["state"] == "closed"] or None,
                90, "a closed segment of counter")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.v.stop()
        cls.cam.close()
        cls._tmp.cleanup()

    def test_clip_has_the_receipt_as_a_subtitle_track(self):
        c = Client(self.v.web_url())
        self.assertEqual(c.login("root", "root-password")[0], 200)
        seg = self.closed[0]
        moment = (seg["wall_start_ms"] + seg["wall_end_ms"]) // 2
        status, _, t, _ = c.request("POST", "/api/transactions", {
            "till": "t1", "time_ms": moment, "kind": "sale", "method": "qr", "total_minor": 2000,
            "currency": "EUR", "reference": "CLIP-1",
            "items": [{"text": "Flat white", "quantity": 2, "unit_minor": 1000}]})
        self.assertEqual(status, 201, t)
        status, headers, job, _ = c.request("POST", "/api/transactions/%d/clip" % t["id"])
        self.assertEqual(status, 202, job)
        self.assertEqual(job["camera"], "counter")
        deadline = time.time() + 60
        while job["state"] in ("queued", "running") and time.time() < deadline:
            time.sleep(0.3)
            job = c.request("GET", "/api/exports/%d" % job["id"])[2]
        self.assertEqual(job["state"], "done", job)
        status, _, _, data = c.request("GET", job["file"])
        self.assertEqual(status, 200)
        path = os.path.join(self._tmp.name, "transaction.mp4")
        with open(path, "wb") as f:
            f.write(data)
        self.assertEqual(decode_errors(path), "")
        probe = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", path],
            capture_output=True, text=True, timeout=60).stdout)
        self.assertEqual(sorted(s["codec_name"] for s in probe["streams"]), ["h264", "mov_text"])
        # The caption is the receipt, shown from the transaction's moment in the clip.
        srt = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:s", "-f", "srt",
                              "-"], capture_output=True, text=True, timeout=60).stdout
        self.assertIn("sale qr 20.00 EUR  #CLIP-1", srt)
        self.assertIn("2 x Flat white  10.00", srt)
        start = srt.splitlines()[1].split(" --> ")[0]  # "00:00:10,123"
        h, m, rest = start.split(":")
        at_s = int(h) * 3600 + int(m) * 60 + float(rest.replace(",", "."))
        self.assertAlmostEqual(at_s, (moment - job["clip_start_ms"]) / 1000.0, delta=0.05)
        audit = self.v.query("SELECT detail FROM audit WHERE action = 'export'")
        self.assertTrue(any("transaction %d" % t["id"] in a["detail"] for a in audit), audit)

    def test_evidence_bundle_carries_the_tills_transactions(self):
        """An evidence bundle of the till's camera carries the transactions in its range in
        transactions.json, which `vigil verify` checks: an edited or removed file fails."""
        c = Client(self.v.web_url())
        self.assertEqual(c.login("root", "root-password")[0], 200)
        seg = self.closed[0]
        start, end = seg["wall_start_ms"], seg["wall_end_ms"]
        status, _, stored, _ = c.request("POST", "/api/transactions", {"transactions": [
            {"till": "t1", "time_ms": start + 1000, "kind": "refund", "method": "cash",
             "total_minor": 650, "currency": "EUR", "reference": "EV-IN",
             "items": [{"text": "Cheesecake", "quantity": 1, "unit_minor": 650}]},
            {"till": "t1", "time_ms": start - 5000, "kind": "sale", "reference": "EV-BEFORE"},
            {"till": "t1", "time_ms": end, "kind": "sale", "reference": "EV-AT-END"}]})
        self.assertEqual(status, 201, stored)
        status, _, job, _ = c.request("POST", "/api/exports", {"camera": "counter", "start": start,
                                                               "end": end, "evidence": True})
        self.assertEqual(status, 202, job)
        job = self.v.wait_for(lambda: (lambda j: j if j["state"] in ("done", "failed") else None)(
            c.request("GET", "/api/exports/%d" % job["id"])[2]), 60, "the bundle written")
        self.assertEqual(job["state"], "done", job)
        bundle = os.path.join(self._tmp.name, "evidence.zip")
        with open(bundle, "wb") as f:
            f.write(c.request("GET", job["file"])[3])
        fp = re.search(r"fingerprint: ([0-9a-f]{64})",
                       self.v.run("key", "show").stdout).group(1)
        r = self.v.run("verify", bundle, "--key", fp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("attached:    transactions.json (transactions,", r.stdout)
        with zipfile.ZipFile(bundle) as z:
            manifest = json.loads(z.read("manifest.json"))
            data = z.read("transactions.json")
        carried = json.loads(data)
        self.assertEqual(carried["format"], "vigil-transactions-1")
        self.assertEqual([t["id"] for t in carried["tills"]], ["t1"])
        refs = [t["reference"] for t in carried["tills"][0]["transactions"]]
        self.assertIn("EV-IN", refs)
        self.assertNotIn("EV-BEFORE", refs)
        self.assertNotIn("EV-AT-END", refs)
        ev = [t for t in carried["tills"][0]["transactions"] if t["reference"] == "EV-IN"][0]
        self.assertEqual((ev["kind"], ev["total_minor"], ev["items"][0]["text"]),
                         ("refund", 650, "Cheesecake"))
        self.assertEqual(manifest["attachments"], [{
            "file": "transactions.json", "kind": "transactions", "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}])
        # The read is audited like any other read of the till's transactions, and the bundle's
        # own audit row (signed inside it) says what it carries.
        reads = self.v.query("SELECT * FROM audit WHERE action = 'transactions_evidence'")
        self.assertEqual([(a["user_name"], a["camera_id"]) for a in reads], [("root", "counter")])
        self.assertIn("transaction(s) of till t1", manifest["audit_entry"]["detail"])
        # `vigil export` carries the same file, audited the same way (address "cli").
        cli = os.path.join(self._tmp.name, "cli.zip")
        iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
            ".%03dZ" % (ms % 1000)
        r = self.v.run("export", "--camera", "counter", "--from", iso(start), "--to", iso(end),
                       "--out", cli)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.v.run("verify", cli, "--key", fp).returncode, 0)
        with zipfile.ZipFile(cli) as z:
            self.assertEqual(json.loads(z.read("transactions.json"))["tills"],
                             carried["tills"])
        self.assertEqual(self.v.query("SELECT address FROM audit WHERE action = "
                                      "'transactions_evidence' ORDER BY id DESC LIMIT 1"),
                         [{"address": "cli"}])

        for what, change, said in [
                ("edited", lambda d: d.replace(b'"total_minor": 650', b'"total_minor": 65'),
                 "transactions.json was altered"),
                ("removed", lambda d: None, "transactions.json is missing")]:
            bad = os.path.join(self._tmp.name, "bad.zip")
            with zipfile.ZipFile(bundle) as zin, zipfile.ZipFile(bad, "w") as zout:
                for info in zin.infolist():
                    out = zin.read(info.filename)
                    if info.filename == "transactions.json":
                        out = change(out)
                        if out is not None:
                            self.assertNotEqual(out, data)
                    if out is not None:
                        zout.writestr(info.filename, out)
            r = self.v.run("verify", bad, "--key", fp)
            self.assertEqual(r.returncode, 1, what + ":\n" + r.stdout)
            self.assertIn(said, r.stdout, what)


if __name__ == "__main__":
    unittest.main()
