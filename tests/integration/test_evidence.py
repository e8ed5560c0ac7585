"""Evidence holds and the tamper-evident audit log on a real `vigil serve` (issue 17):
a hold put through the API keeps its footage through retention passes under a tiny max_bytes
while the rest goes, only an admin releases it, and both are audited; a disk (a real, small
tmpfs) filled with held footage stops recording loudly rather than delete it (status, metrics,
one problem notice on a real mosquitto and a webhook as it starts and one as it ends); the audit log's
hash chain names the first row edited with the real sqlite3 shell after the triggers were
dropped; and every audit row reaches a syslog socket as it is written. Evidence bundles exported from a
recording through the API (a range, a hold) and with `vigil export` verify with `vigil verify
--key`, and each alteration (a flipped bit, a removed fragment, an edited manifest, a swapped
key) makes it fail."""
import os
import shutil
import socket
import subprocess
import time
import json
import re
import unittest
import zipfile

from harness import VIGIL_BIN, Raw, RtspCamera, TestCase, Vigil, decode_errors, make_clip
from test_events import SECRET, Broker, Webhooks
from test_serve import Client

IDLE_CAMERAS = [{"id": "front", "url": "rtsp://127.0.0.1:9/front"},
                {"id": "yard", "url": "rtsp://127.0.0.1:9/yard"}]


class Evidence(TestCase):
    def add_user(self, v, name, password, role):
        """`vigil user add` beside the running server, password on stdin as a script would."""
        # Rights fail closed (issue 18): a user who is not an admin sees the cameras listed.
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", name, "--role", role,
                            "--cameras", "*"],
                           input=password + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def login(self, url, name, password):
        c = Client(url)
        self.assertEqual(c.login(name, password)[0], 200)
        return c

    def rewrite_bundle(self, src, dst, change):
        """Copies bundle `src` to `dst` with `change(name, data) -> data or None (left out)`
        applied to every member, as someone with the file but not the key could."""
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
            for info in zin.infolist():
                data = change(info.filename, zin.read(info.filename))
                if data is not None:
                    zout.writestr(info.filename, data)
        return dst

    def verify(self, v, bundle, fp):
        r = v.run("verify", bundle, "--key", fp)
        return r.returncode, r.stdout + r.stderr

    def test_evidence_bundles_from_the_api_and_the_cli_verify_and_alterations_fail(self):
        clip = make_clip("h264", "--codec", "h264", "--seconds", "20")
        cam = self.track(RtspCamera({"front": clip}))
        v = self.track(Vigil(self.workdir, [{"id": "front", "url": cam.url("front")}],
                             segment_seconds=10,
                             extra_toml="[integrity]\ncheckpoint_seconds = 2\n").start())
        url = v.web_url()
        self.add_user(v, "olga", "olga-password", "operator")
        op = self.login(url, "olga", "olga-password")
        # Two closed files with chained fragments: the range crosses from one to the next.
        segs = v.wait_for(lambda: (lambda s: s if len(s) >= 2 else None)(v.query(
            "SELECT * FROM segment WHERE camera_id = 'front' AND state = 'closed' AND id IN "
            "(SELECT segment_id FROM chain_entry) ORDER BY id")), 60, "two closed, chained files")
        a, b = segs[0]["wall_start_ms"] + 500, segs[1]["wall_end_ms"] - 500
        fp = re.search(r"fingerprint: ([0-9a-f]{64})", v.run("key", "show").stdout).group(1)
        tmp = self.workdir

        # Through the API: queued like a clip export, downloaded as a ZIP.
        status, headers, job, _ = op.request("POST", "/api/exports",
                                             {"camera": "front", "start": a, "end": b,
                                              "evidence": True})
        self.assertEqual(status, 202, job)
        self.assertTrue(job["evidence"])
        self.assertEqual(job["files"], 2, job)  # one part per file
        job = v.wait_for(lambda: (lambda j: j if j["state"] in ("done", "failed") else None)(
            op.request("GET", "/api/exports/%d" % job["id"])[2]), 60, "the bundle written")
        self.assertEqual(job["state"], "done", job)
        status, headers, _, data = op.request("GET", job["file"])
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/zip")
        self.assertRegex(headers["Content-Disposition"], r'filename="vigil-front-\d{8}T\d{6}Z-evidence\.zip"')
        api_zip = os.path.join(tmp, "api.zip")
        with open(api_zip, "wb") as f:
            f.write(data)
        code, out = self.verify(v, api_zip, fp)
        self.assertEqual(code, 0, out)
        with zipfile.ZipFile(api_zip) as z:
            manifest = json.loads(z.read("manifest.json"))
            clip1 = z.read("clip-1.mp4")
        self.assertEqual(manifest["exporter"]["user"], "olga")
        audit = v.query("SELECT * FROM audit WHERE action = 'evidence_export'")
        self.assertEqual(len(audit), 1)
        self.assertEqual(manifest["audit_entry"]["id"], audit[0]["id"])
        self.assertEqual(audit[0]["user_name"], "olga")
        part = os.path.join(tmp, "clip-1.mp4")
        with open(part, "wb") as f:
            f.write(clip1)
        self.assertEqual(decode_errors(part), "")  # the original fragments play as they are

        # Offline with `vigil export`: ISO 8601 times, with an offset too.
        def iso(ms, offset_h=0):
            t = time.gmtime(ms // 1000 + offset_h * 3600)
            return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03d" % (ms % 1000) + (
                "Z" if offset_h == 0 else "+%02d:00" % offset_h)
        cli_zip = os.path.join(tmp, "cli.zip")
        r = v.run("export", "--camera", "front", "--from", iso(a, 1), "--to", iso(b),
                  "--out", cli_zip)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("2 part(s)", r.stdout)
        code, out = self.verify(v, cli_zip, fp)
        self.assertEqual(code, 0, out)
        r = v.run("export", "--camera", "front", "--from", "yesterday", "--to", iso(b),
                  "--out", os.path.join(tmp, "bad.zip"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("not an ISO 8601 time", r.stderr)
        self.assertEqual(v.query("SELECT address FROM audit WHERE action = 'evidence_export' "
                                 "ORDER BY id DESC LIMIT 1")[0]["address"], "cli")

        # Every alteration fails, with exit 1.
        def flip(name, data):
            if name != "clip-2.mp4":
                return data
            data = bytearray(data)
            data[-100] ^= 0x01
            return bytes(data)
        last = manifest["entries"][-1] if manifest["entries"][-1]["part"] == 2 else \
            [e for e in manifest["entries"] if e["part"] == 2][-1]
        def cut_last_fragment(name, data):
            return data[:last["offset"]] if name == "clip-2.mp4" else data
        def edit_manifest(name, data):
            return data.replace(b'"olga"', b'"mallory"') if name == "manifest.json" else data
        other = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"],
                               capture_output=True, check=True).stdout
        other_pem = subprocess.run(["openssl", "pkey", "-pubout"], input=other,
                                   capture_output=True, check=True).stdout
        def swap_key(name, data):
            return other_pem if name == "key.pem" else data
        for what, change in [("a flipped bit", flip), ("a removed fragment", cut_last_fragment),
                             ("an edited manifest", edit_manifest), ("a swapped key", swap_key)]:
            bad = self.rewrite_bundle(api_zip, os.path.join(tmp, "bad.zip"), change)
            code, out = self.verify(v, bad, fp)
            self.assertEqual(code, 1, what + ":\n" + out)
        # An intact bundle checked against another key than the recorder's fails too.
        self.assertEqual(self.verify(v, cli_zip, "0" * 64)[0], 1)

        # A hold: one bundle per camera, through the same queue.
        status, _, hold, _ = op.request("POST", "/api/holds", {
            "name": "case 9", "reason": "insurance", "cameras": ["front"],
            "from_ms": a, "to_ms": b})
        self.assertEqual(status, 201, hold)
        status, _, out, _ = op.request("POST", "/api/holds/%d/export" % hold["id"])
        self.assertEqual(status, 202, out)
        self.assertEqual([e["camera"] for e in out["exports"]], ["front"])
        job = v.wait_for(lambda: (lambda j: j if j["state"] in ("done", "failed") else None)(
            op.request("GET", "/api/exports/%d" % out["exports"][0]["id"])[2]), 60,
            "the hold's bundle written")
        self.assertEqual(job["state"], "done", job)
        hold_zip = os.path.join(tmp, "hold.zip")
        with open(hold_zip, "wb") as f:
            f.write(op.request("GET", job["file"])[3])
        code, out = self.verify(v, hold_zip, fp)
        self.assertEqual(code, 0, out)

    def test_a_hold_survives_retention_and_only_an_admin_releases_it(self):
        clip = make_clip("h264", "--codec", "h264", "--seconds", "20")
        cam = self.track(RtspCamera({"till": clip}))
        limit = 2_500_000  # about two segments of this clip
        v = self.track(Vigil(self.workdir, [
            {"id": "till", "url": cam.url("till"), "retention": Raw("{ max_bytes = %d }" % limit)},
        ], segment_seconds=10).start())
        url = v.web_url()
        self.add_user(v, "root", "root-password", "admin")
        self.add_user(v, "olga", "olga-password", "operator")
        admin = self.login(url, "root", "root-password")
        op = self.login(url, "olga", "olga-password")
        first = v.wait_for(lambda: v.query("SELECT * FROM segment WHERE camera_id = 'till' AND "
                                           "state = 'closed' ORDER BY id LIMIT 1"), 40,
                           "a closed segment")[0]
        status, _, hold, _ = op.request("POST", "/api/holds", {
            "name": "case 17", "reason": "till dispute", "cameras": ["till"],
            "from_ms": 0, "to_ms": first["wall_end_ms"]})
        self.assertEqual(status, 201, hold)
        self.assertEqual(hold["cameras"], ["till"])
        self.assertEqual(hold["created_by"], "olga")
        # Retention runs over the limit: the segments after the held one go, oldest first.
        v.wait_for(lambda: v.query("SELECT 1 FROM segment WHERE camera_id = 'till' AND id > ? "
                                   "AND state = 'closed'", (first["id"],)) and
                   "retention: deleted" in v.log(), 120,
                   "retention deleting footage after the held segment")
        time.sleep(11)  # another pass
        self.assertTrue(v.query("SELECT 1 FROM segment WHERE id = ?", (first["id"],)),
                        "the held segment's row")
        self.assertTrue(os.path.exists(os.path.join(v.data, first["path"])))
        deleted = [l for l in v.log().splitlines() if "retention: deleted" in l]
        self.assertTrue(deleted)
        self.assertFalse(any(first["path"] in l for l in deleted), deleted)
        # The storage settings show what is held.
        status, _, storage, _ = admin.request("GET", "/api/settings/storage")
        self.assertEqual(status, 200)
        till = [c for c in storage["cameras"] if c["id"] == "till"][0]
        self.assertEqual(till["held_bytes"], first["bytes"])
        # Everyone may list; an operator may not release.
        status, _, listed, _ = op.request("GET", "/api/holds")
        self.assertEqual([h["id"] for h in listed["holds"]], [hold["id"]])
        status, _, body, _ = op.request("POST", "/api/holds/%d/release" % hold["id"])
        self.assertEqual(status, 403, body)
        status, _, released, _ = admin.request("POST", "/api/holds/%d/release" % hold["id"])
        self.assertEqual(status, 200, released)
        self.assertEqual(released["released_by"], "root")
        self.assertEqual(admin.request("POST", "/api/holds/%d/release" % hold["id"])[0], 409)
        # Released: retention may take it now.
        v.wait_for(lambda: not v.query("SELECT 1 FROM segment WHERE id = ?", (first["id"],)), 40,
                   "the released segment deleted")
        # Both audited, with who and which range.
        status, _, audit, _ = admin.request("GET", "/api/audit?limit=100")
        entries = {e["action"]: e for e in audit["entries"]}
        self.assertEqual(entries["hold_add"]["user"], "olga")
        self.assertEqual(entries["hold_add"]["camera"], "till")
        self.assertIn("till dispute", entries["hold_add"]["detail"])
        self.assertEqual(entries["hold_release"]["user"], "root")
        self.assertEqual(v.stop(), 0)
        r = v.run("check", "--audit")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("chain intact", r.stdout)

    def test_a_disk_full_of_held_footage_stops_recording_instead_of_deleting_it(self):
        data = os.path.join(self.workdir, "data")
        os.makedirs(data)
        # A real file system that really fills: an 8 MiB tmpfs (needs root, as CI has).
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", data], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", data])
        clip = make_clip("h264-2M", "--codec", "h264", "--seconds", "20", "--bitrate", "2M")
        cam = self.track(RtspCamera({"shop": clip}))
        broker = self.track(Broker(self.workdir))
        hooks = self.track(Webhooks())
        # The webhook target listens to motion only: a problem reaches it all the same.
        extra = ('min_free_space = "1"\n[mqtt]\nhost = "127.0.0.1"\nport = %d\n'
                 '[[webhook]]\nurl = "http://127.0.0.1:%d/hook"\nsecret = "%s"\n'
                 'types = ["motion"]\nretry_initial_ms = 200\n'
                 % (broker.port, hooks.port, SECRET))
        v = self.track(Vigil(self.workdir, [{"id": "shop", "name": "Shop floor",
                                             "url": cam.url("shop")}],
                             segment_seconds=10, extra_toml=extra).start())
        url = v.web_url()
        self.add_user(v, "root", "root-password", "admin")
        admin = self.login(url, "root", "root-password")
        status, _, hold, _ = admin.request("POST", "/api/holds", {
            "name": "everything", "reason": "burglary", "cameras": ["shop"],
            "from_ms": 0, "to_ms": 4_000_000_000_000})
        self.assertEqual(status, 201, hold)

        def stopped():
            c = v.camera_status("shop")
            return c if c and c.get("stopped_by_holds") else None
        st = v.wait_for(stopped, 120, "recording stopped by held footage in the status")
        self.assertIn("evidence hold", st["record_error"])
        self.assertIn("nothing left to delete but footage under an evidence hold", v.log())
        status, _, _, metrics = admin.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"vigil_retention_held_full 1", metrics)
        self.assertIn(b'vigil_camera_stopped_by_holds{camera="shop"} 1', metrics)
        self.assertIsNone(v.proc.poll(), "vigil must keep running")
        self.assertNotIn("retention: deleted", v.log())
        held = v.query("SELECT path FROM segment WHERE state = 'closed'")
        self.assertTrue(held)
        for s in held:
            self.assertTrue(os.path.exists(os.path.join(v.data, s["path"])), s["path"])

        # The problem notice: retained ON for Home Assistant, the JSON on <prefix>/problems and
        # a signed webhook, each once although retention judged it again on every pass.
        v.wait_for(lambda: "ON" in broker.on("vigil/shop/held_full"), 30, "held_full ON over MQTT")
        disc = broker.on("homeassistant/binary_sensor/vigil_shop/held_full/config")
        self.assertEqual(json.loads(disc[0])["device_class"], "problem")
        v.wait_for(lambda: "problem_start" in hooks.kinds, 30, "a problem webhook")
        problems = [json.loads(p) for p in broker.on("vigil/problems")]
        self.assertEqual(len(problems), 1, problems)
        self.assertEqual(problems[0]["problem"], "held_full")
        self.assertEqual(problems[0]["state"], "start")
        self.assertEqual(problems[0]["camera"], "shop")
        self.assertEqual(problems[0]["camera_name"], "Shop floor")
        self.assertIn("evidence hold", problems[0]["message"])
        self.assertEqual(hooks.kinds, ["problem_start"])
        ok, body = hooks.received[0]
        self.assertTrue(ok, "bad signature: %r" % body)
        self.assertEqual((body["problem"], body["state"], body["camera"]),
                         ("held_full", "start", "shop"))

        # The way out needs the catalog, on a disk with nothing free: an admin can still log in
        # (a session and an audit row written) and release the hold.
        admin = self.login(url, "root", "root-password")
        # Released, the held footage goes at the next pass, recording resumes, and the end of
        # the problem is told once.
        status, _, _, body = admin.request("POST", "/api/holds/%d/release" % hold["id"])
        self.assertEqual(status, 200, body)
        v.wait_for(lambda: "problem_end" in hooks.kinds, 60, "the problem's end as a webhook")
        v.wait_for(lambda: "OFF" == broker.on("vigil/shop/held_full")[-1], 30,
                   "held_full OFF over MQTT")
        problems = [json.loads(p) for p in broker.on("vigil/problems")]
        self.assertEqual([p["state"] for p in problems], ["start", "end"])
        self.assertEqual(hooks.kinds, ["problem_start", "problem_end"])
        self.assertTrue(hooks.received[1][0])
        v.wait_for(lambda: not (v.camera_status("shop") or {}).get("stopped_by_holds", True), 60,
                   "recording no longer stopped by holds")
        self.assertEqual(v.stop(), 0)

    def test_the_audit_chain_names_rows_edited_with_the_sqlite3_shell(self):
        sock_path = os.path.join(self.workdir, "log.sock")
        syslog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(syslog.close)
        syslog.bind(sock_path)
        syslog.settimeout(10)
        v = self.track(Vigil(self.workdir, IDLE_CAMERAS, extra_toml=(
            '[audit]\nsyslog = true\nsyslog_socket = "%s"\n' % sock_path)).start())
        url = v.web_url()
        self.add_user(v, "root", "root-password", "admin")
        admin = self.login(url, "root", "root-password")
        for name in ("vic", "val"):
            self.assertEqual(admin.request("POST", "/api/users", {
                "name": name, "password": name + "-password-1", "role": "viewer"})[0], 201)
        self.assertEqual(admin.request("POST", "/api/holds", {
            "name": "h", "cameras": ["front"], "from_ms": 1, "to_ms": 2})[0], 201)
        self.assertEqual(v.stop(), 0)
        rows = v.query("SELECT id, action, at_ms, hex(link) AS link FROM audit ORDER BY id")
        self.assertEqual([r["action"] for r in rows],
                         ["user_add", "login", "user_add", "user_add", "hold_add"])
        # Every row reached the syslog socket as it was written, with its link.
        lines = [syslog.recv(65536).decode() for _ in rows]
        for r, line in zip(rows, lines):
            self.assertTrue(line.startswith("<85>"), line)
            self.assertIn("vigil[", line)
            self.assertIn("audit id=%d " % r["id"], line)
            self.assertIn('action="%s"' % r["action"], line)
            self.assertIn("link=" + r["link"].lower(), line)

        r = v.run("check", "--audit")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("audit: checked 5 row(s): chain intact", r.stdout)
        db = os.path.join(v.data, "vigil.db")
        pristine = os.path.join(self.workdir, "pristine.db")
        shutil.copy(db, pristine)

        def tampered(sql):
            shutil.copy(pristine, db)
            s = subprocess.run(["sqlite3", db], input=sql, capture_output=True, text=True)
            self.assertEqual(s.returncode, 0, s.stderr)
            r = v.run("check", "--audit")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            return r.stdout

        # The triggers refuse the edit as long as they are there.
        s = subprocess.run(["sqlite3", db, "UPDATE audit SET user_name = 'x' WHERE id = 3"],
                           capture_output=True, text=True)
        self.assertIn("append-only", s.stderr)
        out = tampered("DROP TRIGGER audit_no_update;\n"
                       "UPDATE audit SET user_name = 'mallory' WHERE id = 3;\n")
        self.assertIn("chain broken at row 3 (", out)
        self.assertIn(", user_add): the row was modified", out)
        out = tampered("DROP TRIGGER audit_no_delete;\nDELETE FROM audit WHERE id = 2;\n")
        self.assertIn("chain broken at row 3 (", out)
        self.assertIn("row(s) 2..2 before it were deleted", out)
        out = tampered("DROP TRIGGER audit_no_update;\n"
                       "UPDATE audit SET id = id + 1000 WHERE id >= 4;\n"
                       "UPDATE audit SET id = id - 999 WHERE id >= 1000;\n"
                       "INSERT INTO audit (id, at_ms, user_name, address, action, detail, link) "
                       "SELECT 4, at_ms, 'root', '127.0.0.1', 'export', '', link "
                       "FROM audit WHERE id = 3;\n")
        self.assertIn("chain broken at row 4 (", out)
        self.assertIn(", export): the row was inserted", out)
        # The head is the newest row's link: what signed checkpoints carry, and the only thing
        # that shows the newest rows deleted (the rest of the chain still holds then).
        shutil.copy(pristine, db)
        head = v.run("check", "--audit").stdout.split("head ")[1].strip()
        self.assertEqual(head, rows[-1]["link"].lower())


if __name__ == "__main__":
    unittest.main(verbosity=2)
