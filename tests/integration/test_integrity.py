"""The integrity of what is recorded (docs/design/integrity.md), end to end with the real vigil
binary and a real RTSP camera: the hash chain and signed checkpoints a recording leaves, `vigil
check` finding a flipped byte (--hash), an edited chain row and a forged checkpoint, `--repair`
never laundering an altered file, `vigil key show/rotate`, and kill -9 during recording leaving
a chain that verifies with the loss in it."""
import hashlib
import os
import re
import stat
import subprocess
import time
import unittest

from harness import RtspCamera, TestCase, Vigil, make_clip


class Integrity(TestCase):
    def record(self, seconds_after=6):
        clip = make_clip("h264", "--codec", "h264", "--seconds", "20")
        cam = self.track(RtspCamera({"front": clip}))
        v = self.track(Vigil(self.workdir, [{"id": "front", "url": cam.url("front")}],
                             segment_seconds=10,
                             extra_toml="[integrity]\ncheckpoint_seconds = 2\n"))
        v.start()
        v.wait_for(lambda: len(v.query("SELECT 1 FROM chain_entry")) >= 3, 60,
                   "three chained fragments")
        time.sleep(seconds_after)
        return v

    def check(self, v, *args):
        r = v.run("check", *args)
        return r.returncode, r.stdout + r.stderr

    def test_a_recording_is_chained_signed_and_checks_clean_and_alterations_are_caught(self):
        v = self.record()
        status_fp = v.wait_for(lambda: (v.status() or {}).get("key_fingerprint"), 20,
                               "the key fingerprint in the status")
        self.assertEqual(v.stop(), 0)
        keys = os.path.join(v.data, "keys")
        self.assertEqual(stat.S_IMODE(os.stat(keys).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(keys, "key-1.seed")).st_mode), 0o600)
        rows = v.query("SELECT * FROM chain_entry ORDER BY sequence")
        self.assertEqual([r["sequence"] for r in rows], list(range(len(rows))))
        self.assertTrue(all(r["kind"] == 1 for r in rows))
        cps = v.query("SELECT * FROM checkpoint")
        self.assertGreaterEqual(len(cps), 2)

        code, out = self.check(v, "--hash")
        self.assertEqual(code, 0, out)
        self.assertIn(" 0 mismatch(es)", out)
        self.assertRegex(out, r"%d chain entries and %d signed checkpoint" % (len(rows), len(cps)))

        # `vigil key show` prints the key that signed: its fingerprint is the one in the rows,
        # and openssl computes the same fingerprint from the PEM.
        r = v.run("key", "show")
        self.assertEqual(r.returncode, 0, r.stderr)
        fp = re.search(r"fingerprint: ([0-9a-f]{64})", r.stdout).group(1)
        self.assertEqual({c["key_fingerprint"] for c in cps}, {fp})
        self.assertEqual(status_fp, fp)
        self.assertIn("signing key: " + fp, v.run("status").stdout)
        der = subprocess.run(["openssl", "pkey", "-pubin", "-in", os.path.join(keys, "key-1.pem"),
                              "-outform", "DER"], capture_output=True, check=True).stdout
        self.assertEqual(hashlib.sha256(der).hexdigest(), fp)

        # A rotated key signs from the next start; the old one stays valid for what it signed.
        r = v.run("key", "rotate")
        self.assertEqual(r.returncode, 0, r.stderr)
        code, out = self.check(v)
        self.assertEqual(code, 0, out)

        # One flipped bit in a fragment: found with --hash, named, and --repair keeps it.
        seg = v.query("SELECT s.path, c.wall_start_ms FROM chain_entry c JOIN segment s "
                      "ON s.id = c.segment_id WHERE c.fragment_position = 1 LIMIT 1")[0]
        path = os.path.join(v.data, seg["path"])
        with open(path, "r+b") as f:
            f.seek(-20, os.SEEK_END)
            b = f.read(1)
            f.seek(-20, os.SEEK_END)
            f.write(bytes([b[0] ^ 0x10]))
        with open(path, "rb") as f:
            altered_bytes = f.read()
        code, out = self.check(v, "--hash")
        self.assertEqual(code, 1, out)
        self.assertIn("ALTERED", out)
        self.assertIn(seg["path"], out)
        self.assertIn("camera front", out)
        code, out = self.check(v, "--hash", "--repair")
        self.assertEqual(code, 1, out)
        self.assertIn("ALTERED", out)
        self.assertNotIn("repaired: " + seg["path"], out)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), altered_bytes, "the altered file is kept as it is")
        code, out = self.check(v, "--hash")
        self.assertEqual(code, 1, "--repair must not launder the altered file:\n" + out)
        audit = v.query("SELECT * FROM audit WHERE action = 'footage_altered'")
        self.assertTrue(audit, "an altered file is an audit entry")
        self.assertEqual(audit[0]["camera_id"], "front")

        # A chain row edited with the sqlite3 shell.
        subprocess.run(["sqlite3", os.path.join(v.data, "vigil.db"),
                        "UPDATE chain_entry SET duration_90k = duration_90k + 90 "
                        "WHERE sequence = 2"], check=True)
        code, out = self.check(v)
        self.assertEqual(code, 1, out)
        self.assertIn("entry 2 at", out)
        self.assertIn("row was edited", out)

        # A forged checkpoint: a changed head no longer matches its signature.
        subprocess.run(["sqlite3", os.path.join(v.data, "vigil.db"),
                        "UPDATE checkpoint SET sequence = sequence + 0, "
                        "audit_head = zeroblob(31) || x'01' WHERE id = 1"], check=True)
        code, out = self.check(v)
        self.assertIn("bad signature", out)

    def test_kill_9_during_recording_leaves_a_chain_that_verifies_with_the_loss(self):
        v = self.record(seconds_after=3)
        v.kill9()
        v.start()
        v.wait_for(lambda: v.query("SELECT 1 FROM chain_entry WHERE kind = 2"), 60,
                   "the gap entry after the restart")
        v.wait_for(lambda: v.query("SELECT 1 FROM chain_entry c WHERE kind = 1 AND sequence > "
                                   "(SELECT sequence FROM chain_entry WHERE kind = 2)"), 60,
                   "a fragment chained after the gap")
        self.assertEqual(v.stop(), 0)
        kinds = [r["kind"] for r in v.query("SELECT kind FROM chain_entry ORDER BY sequence")]
        lost = kinds.index(3)
        self.assertEqual(kinds[lost + 1], 2, kinds)  # lost tail, then the gap while down
        self.assertTrue(all(k == 1 for k in kinds[:lost]), kinds)
        code, out = self.check(v, "--hash")
        self.assertEqual(code, 0, out)
        self.assertIn(" 0 mismatch(es)", out)


if __name__ == "__main__":
    unittest.main()
