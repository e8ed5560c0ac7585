"""Evidence holds and the tamper-evident audit log on a real `vigil serve` (issue 17):
a hold put through the API keeps its footage through retention passes under a tiny max_bytes
while the rest goes, only an admin releases it, and both are audited; a disk (a real, small
tmpfs) filled with held footage stops recording loudly rather than delete it; the audit log's
hash chain names the first row edited with the real sqlite3 shell after the triggers were
dropped; and every audit row reaches a syslog socket as it is written."""
import os
import shutil
import socket
import subprocess
import time
import unittest

from harness import VIGIL_BIN, Raw, RtspCamera, TestCase, Vigil, make_clip
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
        v = self.track(Vigil(self.workdir, [{"id": "shop", "url": cam.url("shop")}],
                             segment_seconds=10, extra_toml='min_free_space = "1"').start())
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
