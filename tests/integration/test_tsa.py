"""RFC 3161 timestamps of signed checkpoints (docs/design/integrity.md, "Trusted timestamps"),
end to end: vigil records from the test camera with [integrity] tsa_url pointing at a real
`openssl ts -reply` TSA on 127.0.0.1; its checkpoints get tokens that `openssl ts -verify`
accepts over the checkpoint's message, and `vigil check` counts; the TSA stopped, recording goes
on and the status reports checkpoints kept untimestamped; the TSA back, tokens come again; and
at the next start the checkpoints kept untimestamped during the outage get their tokens too
(tsa_backlog_hours)."""
import os
import re
import sqlite3
import struct
import subprocess
import time

from harness import RtspCamera, TestCase, TsaServer, Vigil, make_clip


def checkpoint_message(row):
    """docs/design/integrity.md, "Formats": the version 1 checkpoint message."""
    cam = row["camera_id"].encode()
    return (b"vigil-checkpoint-v1" + struct.pack(">H", len(cam)) + cam +
            struct.pack(">Q", row["sequence"]) + row["head"] +
            struct.pack(">q", row["wall_time_ms"]) + row["audit_head"])


class Tsa(TestCase):
    def test_checkpoints_get_tokens_and_a_tsa_that_is_down_never_stops_recording(self):
        tsa = self.track(TsaServer(os.path.join(self.workdir, "tsa")))
        clip = make_clip("h264", "--codec", "h264", "--seconds", "20")
        cam = self.track(RtspCamera({"front": clip}))
        v = self.track(Vigil(self.workdir, [{"id": "front", "url": cam.url("front")}],
                             segment_seconds=10, extra_toml=(
                                 "[integrity]\ncheckpoint_seconds = 1\ntsa_url = \"%s\"\n"
                                 "tsa_ca = \"%s\"\ntsa_batch_seconds = 1\n"
                                 "tsa_retry_seconds = 3\ntsa_timeout_seconds = 2\n"
                                 % (tsa.url, tsa.ca))))
        v.start()
        stamped = "SELECT * FROM checkpoint WHERE tsa_token IS NOT NULL ORDER BY id"
        v.wait_for(lambda: len(v.query(stamped)) >= 2, 60, "two timestamped checkpoints")

        # Each token is over its checkpoint's own message: openssl checks it with the CA alone.
        for i, row in enumerate(v.query(stamped)):
            msg, tsr = (os.path.join(self.workdir, "%d.%s" % (i, ext)) for ext in ("msg", "tsr"))
            with open(msg, "wb") as f:
                f.write(checkpoint_message(row))
            with open(tsr, "wb") as f:
                f.write(row["tsa_token"])
            r = subprocess.run(["openssl", "ts", "-verify", "-data", msg, "-in", tsr, "-CAfile",
                                tsa.ca], capture_output=True, text=True)
            self.assertIn("Verification: OK", r.stdout + r.stderr)
        st = v.wait_for(lambda: ((v.status() or {}).get("tsa") or {}).get("timestamped"), 20,
                        "timestamped checkpoints in the status")
        self.assertGreaterEqual(st, 1)

        # The TSA goes down: recording goes on; checkpoints are kept untimestamped and reported.
        tsa.close()
        down_at_id = max(r["id"] for r in v.query("SELECT id FROM checkpoint"))
        fragments = len(v.query("SELECT 1 FROM chain_entry"))
        tsa_st = v.wait_for(lambda: ((v.status() or {}).get("tsa") or {}).get("untimestamped")
                            and v.status()["tsa"], 40, "untimestamped checkpoints in the status")
        self.assertIn("connect to 127.0.0.1", tsa_st["last_error"])
        self.assertEqual(tsa_st["url"], tsa.url)
        self.assertIn("tsa: no timestamp token from " + tsa.url, v.log())
        self.assertIn("kept without a timestamp token", v.log())
        self.assertRegex(v.run("status").stdout,
                         r"timestamps \(%s\): \d+ granted, \d+ pending, [1-9]\d* kept "
                         r"untimestamped" % re.escape(tsa.url))
        self.assertGreater(len(v.query("SELECT 1 FROM chain_entry")), fragments)
        self.assertTrue(v.query("SELECT 1 FROM checkpoint WHERE id > ? AND tsa_token IS NULL",
                                (down_at_id,)))

        # Back on the same port: tokens again.
        tsa.start()
        back_at_id = max(r["id"] for r in v.query("SELECT id FROM checkpoint"))
        v.wait_for(lambda: v.query("SELECT 1 FROM checkpoint WHERE id > ? AND tsa_token IS NOT "
                                   "NULL", (back_at_id,)), 40, "a token after the TSA came back")
        self.assertEqual(v.stop(), 0)
        self.assertIn("grants timestamp tokens again", v.log())

        r = v.run("check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        n = len(v.query(stamped))
        self.assertIn("(%d with an RFC 3161 timestamp)" % n, r.stdout)

        # Restarted with the TSA up: what the outage left untimestamped (made minutes ago, well
        # within tsa_backlog_hours) is requested again and gets its tokens.
        missed = [row["id"] for row in
                  v.query("SELECT id FROM checkpoint WHERE tsa_token IS NULL ORDER BY id")]
        self.assertTrue(missed)
        v.start()
        v.wait_for(lambda: not v.query("SELECT 1 FROM checkpoint WHERE id <= ? AND tsa_token IS "
                                       "NULL", (missed[-1],)),
                   60, "tokens for the %d checkpoints made before this start" % len(missed))
        self.assertEqual(v.stop(), 0)
        self.assertRegex(v.log(), r"tsa: timestamping checkpoints at .*\([1-9]\d* made in the last "
                                  r"24 h before this start looked at again\)")

        # A token moved onto another checkpoint is not for that checkpoint's message.
        c = sqlite3.connect(os.path.join(v.data, "vigil.db"))
        with c:
            c.execute("UPDATE checkpoint SET tsa_token = (SELECT tsa_token FROM checkpoint WHERE "
                      "tsa_token IS NOT NULL ORDER BY id LIMIT 1) WHERE id = (SELECT MAX(id) "
                      "FROM checkpoint WHERE tsa_token IS NOT NULL)")
        c.close()
        r = v.run("check")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not for this checkpoint's message", r.stdout + r.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
