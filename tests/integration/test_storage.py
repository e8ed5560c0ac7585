"""Retention on a real recorder: per-camera byte limits delete the oldest footage first and never
the segment being written; a full disk (a real, small tmpfs) makes vigil free space and go on,
with no crash and no corrupt file; a recordings directory that turns read-only is a disk error
for its camera only, and recording resumes by itself when it is writable again."""
import os
import subprocess
import time
import unittest

from harness import Raw, RtspCamera, TestCase, Vigil, decode_errors, make_clip


class Retention(TestCase):
    def test_max_bytes_keeps_each_camera_within_its_limit_oldest_first(self):
        clip = make_clip("h264", "--codec", "h264", "--seconds", "20")
        cam = self.track(RtspCamera({"small": clip, "big": clip}))
        limit = 2_500_000
        v = self.track(Vigil(self.workdir, [
            {"id": "small", "url": cam.url("small"), "retention": Raw("{ max_bytes = %d }" % limit)},
            {"id": "big", "url": cam.url("big")},
        ], segment_seconds=10).start())
        first = v.wait_for(lambda: v.segments("small"), 30, "recording")[0]
        v.wait_for(lambda: not v.query("SELECT 1 FROM segment WHERE id = ?", (first["id"],)), 90,
                   "the oldest segment of 'small' deleted by retention")
        self.assertFalse(os.path.exists(os.path.join(v.data, first["path"])))
        time.sleep(12)  # one more retention pass after the next segment closes
        closed = v.query("SELECT SUM(bytes) AS b, MIN(id) AS oldest FROM segment "
                         "WHERE camera_id = 'small' AND state = 'closed'")[0]
        open_now = v.query("SELECT COUNT(*) AS n FROM segment WHERE camera_id = 'small' "
                           "AND state = 'writing'")[0]["n"]
        self.assertEqual(v.stop(), 0)
        # Between passes one closed segment (~1.1 MB here) may wait for the next pass.
        self.assertLessEqual(closed["b"], limit + 1_300_000)
        self.assertEqual(open_now, 1, "the segment being written is never deleted")
        # The camera without a limit lost nothing.
        big = v.segments("big")
        self.assertEqual(big[0]["wall_start_ms"], min(s["wall_start_ms"] for s in big))
        self.assertEqual(len(big), len([s for s in big if os.path.exists(
            os.path.join(v.data, s["path"]))]))
        self.assertIn("retention: deleted", v.log())
        r = v.run("check")
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_full_disk_frees_space_and_recording_goes_on(self):
        data = os.path.join(self.workdir, "data")
        os.makedirs(data)
        # A real file system that really fills: an 8 MiB tmpfs (needs root, as CI has).
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", data], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", data])
        clip = make_clip("h264-2M", "--codec", "h264", "--seconds", "20", "--bitrate", "2M")
        cam = self.track(RtspCamera({"shop": clip}))
        # min_free_space of one byte: retention does not make room ahead of time, so the
        # writes run into ENOSPC for real.
        v = self.track(Vigil(self.workdir, [{"id": "shop", "url": cam.url("shop")}],
                             segment_seconds=10, extra_toml='min_free_space = "1"').start())
        v.wait_for(lambda: "No space left on device" in v.log(), 90, "the disk to fill")
        failed_at = time.time()
        v.wait_for(lambda: v.query("SELECT 1 FROM segment WHERE wall_start_ms > ? AND "
                                   "state = 'closed'", (int(failed_at * 1000) + 1000,)), 60,
                   "a segment recorded after the disk was full")
        self.assertIsNone(v.proc.poll(), "vigil must keep running")
        self.assertEqual(v.stop(), 0)
        log = v.log()
        self.assertIn("a write failed for lack of space", log)
        r = v.run("check", "--hash")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for s in v.segments():
            self.assertEqual(s["state"], "closed")
            self.assertEqual(decode_errors(os.path.join(v.data, s["path"])), "", s["path"])

    def test_read_only_recordings_are_a_disk_error_and_recording_resumes(self):
        clip = make_clip("h264", "--codec", "h264", "--seconds", "20")
        cam = self.track(RtspCamera({"ok": clip, "ro": clip}))
        v = Vigil(self.workdir, [{"id": "ok", "url": cam.url("ok")},
                                 {"id": "ro", "url": cam.url("ro")}], segment_seconds=10)
        target = os.path.join(v.data, "recordings", "ro")
        os.makedirs(target)
        # vigil runs in a mount namespace of its own, where the test lays a read-only bind mount
        # over camera ro's directory: a read-only file system refuses root too (EROFS), where
        # chmod would not. The file being written stays open on the writable mount below; the
        # next one cannot be created. Nothing outside vigil's namespace sees the mounts, and
        # they end with it.
        v.wrapper = ["unshare", "--mount", "--propagation", "private"]
        self.track(v).start()

        def in_vigils_namespace(*cmd):
            subprocess.run(["nsenter", "--target", str(v.proc.pid), "--mount", *cmd], check=True)

        v.wait_for(lambda: v.segments("ok") and v.segments("ro"), 30, "both cameras recording")
        in_vigils_namespace("mount", "--bind", target, target)
        in_vigils_namespace("mount", "-o", "remount,bind,ro", target)

        def disk_error():
            c = v.camera_status("ro")
            return c if c and c.get("disk_error") else None
        st = v.wait_for(disk_error, 40, "camera ro's disk error in the status")
        self.assertTrue(st["record_error"].startswith("disk error: "), st["record_error"])
        self.assertIn("Read-only file system", st["record_error"])
        time.sleep(6)  # a few retries, with backoff
        self.assertIsNone(v.proc.poll(), "vigil must keep running")
        self.assertFalse(v.camera_status("ok")["disk_error"])

        in_vigils_namespace("umount", target)
        back_at = time.time()
        v.wait_for(lambda: v.query("SELECT 1 FROM segment WHERE camera_id = 'ro' AND "
                                   "wall_start_ms > ?", (int(back_at * 1000),)), 60,
                   "camera ro recording again once the directory is writable")
        v.wait_for(lambda: v.camera_status("ro")["disk_error"] is False, 20,
                   "the disk error cleared")
        self.assertIsNone(v.proc.poll(), "vigil must keep running")
        self.assertEqual(v.stop(), 0)

        self.assertIn("(disk error)", v.log())
        # The other camera went on without a gap: one run of back-to-back segments.
        self.assertEqual(v.gaps("ok"), [])
        ok = v.segments("ok")
        for a, b in zip(ok, ok[1:]):
            self.assertEqual(a["wall_end_ms"], b["wall_start_ms"])
        self.assertTrue(any("Read-only file system" in g["reason"] for g in v.gaps("ro")),
                        v.gaps("ro"))
        r = v.run("check", "--hash")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for s in v.segments():
            self.assertEqual(s["state"], "closed")
            self.assertEqual(decode_errors(os.path.join(v.data, s["path"])), "", s["path"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
