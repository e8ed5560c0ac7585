"""vigil serve with its catalog on PostgreSQL ([catalog] url; docs/design/cluster.md §1), on a
real server the test starts (initdb/pg_ctl in a temporary directory, a Unix socket only): two
GStreamer test cameras are recorded with every row in PostgreSQL and no vigil.db at all; the
files on disk are what the rows say; playback, users, the audit log, holds, till transactions
and their text search, and `vigil check` (hashes and the audit chain) work as on SQLite; a
catalog URL that is not PostgreSQL's is refused without showing its password."""
import hashlib
import os
import subprocess

from harness import Postgres, RtspCamera, TestCase, VIGIL_BIN, Vigil, make_clip
from test_playback import add_user, parse_playlist
from test_serve import Client


class OnPostgres(TestCase):
    def test_recording_playback_accounts_and_check_with_the_catalog_on_postgresql(self):
        pg = self.track(Postgres())
        url = pg.database()
        clip = make_clip("h264-2M", "--codec", "h264", "--seconds", "20")
        cam = self.track(RtspCamera({"front": clip, "yard": clip}))
        v = self.track(Vigil(self.workdir, [{"id": "front", "url": cam.url("front")},
                                            {"id": "yard", "url": cam.url("yard")}],
                             segment_seconds=10,
                             extra_toml='[catalog]\nurl = "%s"\n[[till]]\nid = "t1"\n'
                                        'cameras = ["front"]\n' % url).start())
        web = v.web_url()
        add_user(v, "root", "admin")
        add_user(v, "ann", "viewer", "front")

        def closed():
            rows = pg.psql(url, "SELECT camera_id, count(*) FROM segment WHERE state = 'closed' "
                                "GROUP BY camera_id ORDER BY camera_id")
            return len(rows) == 2 and all(int(n) >= 2 for _, n in rows) and rows
        v.wait_for(closed, 120, "two closed segments of each camera in PostgreSQL")
        self.assertFalse(os.path.exists(os.path.join(v.data, "vigil.db")),
                         "the catalog is the server's, not a file")

        # Each closed row names a file of its size on disk (its hash: `vigil check --hash` below).
        rows = pg.psql(url, "SELECT id, path, bytes, camera_id FROM segment "
                            "WHERE state = 'closed' ORDER BY id")
        files = {}
        for seg_id, path, size, _ in rows:
            with open(os.path.join(v.data, path), "rb") as f:
                files[seg_id] = f.read()
            self.assertEqual(len(files[seg_id]), int(size), path)

        # Playback and the rights of a viewer, read from PostgreSQL.
        ann = Client(web)
        self.assertEqual(ann.login("ann", "ann-password")[0], 200)
        start, end = (int(x) for x in pg.psql(
            url, "SELECT min(wall_start_ms), max(wall_end_ms) FROM segment "
                 "WHERE camera_id = 'front' AND state = 'closed'")[0])
        status, _, body, _ = ann.request(
            "GET", "/api/cameras/front/timeline?start=%d&end=%d" % (start - 60000, end))
        self.assertEqual(status, 200, body)
        self.assertTrue(body["runs"] if "runs" in body else body, body)
        status, _, _, text = ann.request(
            "GET", "/api/cameras/front/playback.m3u8?start=%d&end=%d" % (start, end))
        self.assertEqual(status, 200, text)
        self.assertTrue(parse_playlist(text.decode()), text)
        self.assertEqual(ann.request("GET", "/api/cameras/yard/timeline?start=%d&end=%d"
                                     % (start, end))[0], 403)
        for seg_id, _, _, camera in rows[:4]:
            status, _, _, media = ann.request("GET", "/api/segments/%s/media" % seg_id)
            if camera == "front":
                self.assertEqual(status, 200)
                self.assertEqual(hashlib.sha256(media).digest(),
                                 hashlib.sha256(files[seg_id]).digest())
            else:
                self.assertEqual(status, 403, "yard is not in ann's list")

        # An admin's hold and the audit log, chained in PostgreSQL.
        root = Client(web)
        self.assertEqual(root.login("root", "root-password")[0], 200)
        status, _, hold, _ = root.request("POST", "/api/holds", {
            "name": "case 1", "reason": "test", "cameras": ["front"], "from_ms": start,
            "to_ms": end})
        self.assertEqual(status, 201, hold)
        status, _, listed, _ = root.request("GET", "/api/holds")
        self.assertEqual([h["name"] for h in listed["holds"]], ["case 1"])
        self.assertGreater(listed["holds"][0]["held_bytes"]["front"], 0)
        actions = [a for (a,) in pg.psql(url, "SELECT action FROM audit ORDER BY id")]
        self.assertEqual(actions[:2], ["user_add", "user_add"])
        self.assertIn("login", actions)
        self.assertEqual(actions[-1], "hold_add")
        # A till's transactions, stored and searched in PostgreSQL (its text index: token arrays).
        sale = {"till": "t1", "time_ms": start, "kind": "sale", "method": "card",
                "total_minor": 450, "currency": "EUR", "reference": "R-1",
                "items": [{"text": "Flat white", "quantity": 1, "unit_minor": 450}],
                "text": "paid by card 4111 1111 1111 1111"}
        status, _, stored, _ = root.request("POST", "/api/transactions", sale)
        self.assertEqual(status, 201, stored)
        self.assertEqual(stored["text"], "paid by card **** **** **** 1111")
        self.assertEqual(root.request("POST", "/api/transactions", sale)[0], 200, "stored once")
        status, _, found, _ = root.request("GET", "/api/transactions?text=flat%20whi")
        self.assertEqual(status, 200, found)
        self.assertEqual([t["reference"] for t in found["transactions"]], ["R-1"])
        status, _, found, _ = root.request("GET", "/api/transactions?text=4111111111111111")
        self.assertEqual(found["transactions"], [])
        self.assertEqual(pg.psql(url, "SELECT words FROM till_transaction_text"),
                         [["{paid,by,card,1111,flat,white}"]])
        # The database itself refuses to rewrite the log.
        with self.assertRaises(RuntimeError) as e:
            pg.psql(url, "UPDATE audit SET detail = '' WHERE id = 1")
        self.assertIn("append-only", str(e.exception))
        self.assertEqual(v.stop(), 0)

        # Offline: the users, and a full check (every file's hash, the audit chain).
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "list"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ann", r.stdout)
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "check", "--hash", "--audit"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(" 0 mismatch(es)", r.stdout)
        self.assertIn("chain intact", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(v.data, "vigil.db")))

    def test_a_wrong_catalog_url_is_refused_without_its_password(self):
        config = os.path.join(self.workdir, "vigil.toml")
        with open(config, "w") as f:
            f.write('data_dir = "%s"\n[catalog]\nurl = "mysql://vigil:s3cret@db/vigil"\n'
                    % os.path.join(self.workdir, "data"))
        r = subprocess.run([VIGIL_BIN, "-c", config, "check"], capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("catalog.url", r.stderr)
        self.assertIn("must be a postgresql:// URL", r.stderr)
        self.assertNotIn("s3cret", r.stderr + r.stdout)
