"""The archive tier on a real `vigil serve` recording the GStreamer test camera, with a real
S3-speaking store (s3rver from npm, tests/s3/server.js, which checks every request's Signature
V4): closed segments go to the store byte for byte and leave the disk, the catalog says where,
playback (HLS byte ranges, the media route, previews, Chromium with hls.js) and exports (MP4,
evidence bundles) read them back from the store through vigil, and a store that goes away mid-recording holds nothing up: segments wait on the
disk, the status says so, and they go up once it is back."""
import hashlib
import os
import re
import subprocess
import tempfile
import time
import unittest

from harness import (S3Server, SOURCE_DIR, RtspCamera, TestCase, Vigil, decode_errors, make_clip,
                     probe_duration)
from test_playback import add_user, parse_playlist
from test_serve import Client

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")


def object_file(store_dir, key):
    """Where s3rver keeps the bytes of `key` in bucket "vigil"."""
    return os.path.join(store_dir, "vigil", key + "._S3rver_object")


class Archive(TestCase):
    def archive_toml(self, s3):
        return ('[archive]\nurl = "s3://vigil/site-a"\nendpoint = "%s"\n'
                'access_key_id = "S3RVER"\nsecret_access_key = "S3RVER"\nafter_days = 0\n'
                % s3.endpoint)

    def test_segments_move_to_the_store_play_from_it_and_wait_while_it_is_away(self):
        clip = make_clip("h264-aac", "--codec", "h264", "--seconds", "20", "--audio")
        cam = self.track(RtspCamera({"front": clip}))
        store = os.path.join(self.workdir, "store")
        os.makedirs(store)
        s3 = S3Server(store)
        self.addCleanup(lambda: s3.close())
        v = self.track(Vigil(self.workdir, [{"id": "front", "url": cam.url("front")}],
                             segment_seconds=10, extra_toml=self.archive_toml(s3)).start())
        url = v.web_url()
        add_user(v, "op", "operator", "*")
        archived = lambda: [s for s in v.segments("front") if s["archive_key"]]
        v.wait_for(lambda: len(archived()) >= 3, 120, "three archived segments")
        segs = archived()[:3]

        # Byte for byte in the store, gone from the disk, named by the catalog.
        for s in segs:
            self.assertEqual(s["state"], "closed")
            self.assertEqual(s["archive_key"], "site-a/" + s["path"])
            self.assertFalse(os.path.exists(os.path.join(v.data, s["path"])), s["path"])
            with open(object_file(store, s["archive_key"]), "rb") as f:
                self.assertEqual(len(f.read()), s["bytes"])
        st = v.wait_for(lambda: (v.status() or {}).get("archive", {}).get("uploaded", 0) >= 3 and
                        v.status(), 30, "the status to count the uploads")
        self.assertTrue(st["archive"]["reachable"], st["archive"])
        self.assertIn("s3://vigil/site-a/", st["archive"]["store"])

        # The media route reads the object: whole, and by range.
        c = Client(url)
        status, _, body = c.login("op", "op-password")
        self.assertEqual(status, 200, body)
        seg = segs[0]
        with open(object_file(store, seg["archive_key"]), "rb") as f:
            stored = f.read()
        status, headers, _, data = c.request("GET", "/api/segments/%d/media" % seg["id"])
        self.assertEqual(status, 200)
        self.assertEqual(hashlib.sha256(data).hexdigest(), hashlib.sha256(stored).hexdigest())
        self.assertEqual(headers["Accept-Ranges"], "bytes")
        status, headers, _, part = c.request("GET", "/api/segments/%d/media" % seg["id"],
                                             headers={"Range": "bytes=100-1099"})
        self.assertEqual(status, 206)
        self.assertEqual(part, stored[100:1100])
        self.assertEqual(headers["Content-Range"], "bytes 100-1099/%d" % len(stored))

        # HLS over the archived window: every byte range a player asks for, decoded.
        start, end = segs[0]["wall_start_ms"], segs[-1]["wall_end_ms"]
        status, _, _, text = c.request(
            "GET", "/api/cameras/front/playback.m3u8?start=%d&end=%d" % (start, end))
        self.assertEqual(status, 200, text)
        files = parse_playlist(text.decode())
        self.assertEqual(len(files), 3)
        tmp = tempfile.mkdtemp(dir=self.workdir)
        for n, (uri, (init_size, init_offset), frags) in enumerate(files):
            blob = b""
            for size, offset in [(init_size, init_offset)] + [(s, o) for s, o, _ in frags]:
                status, _, _, part = c.request(
                    "GET", uri, headers={"Range": "bytes=%d-%d" % (offset, offset + size - 1)})
                self.assertEqual(status, 206, uri)
                self.assertEqual(len(part), size)
                blob += part
            path = os.path.join(tmp, "%d.mp4" % n)
            with open(path, "wb") as f:
                f.write(blob)
            self.assertEqual(decode_errors(path), "", uri)

        # The timeline's preview of an archived moment: its keyframe, read by range.
        status, headers, _, jpeg = c.request(
            "GET", "/api/cameras/front/preview?t=%d" % (segs[1]["wall_start_ms"] + 3000))
        self.assertEqual(status, 200, jpeg[:300])
        self.assertEqual(headers["Content-Type"], "image/jpeg")
        self.assertEqual(jpeg[:2], b"\xff\xd8")

        # And in Chromium, with hls.js as the web UI plays it; then its MP4 export (the
        # segments fetched from the store first), downloaded and played too.
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "playback.test.mjs"), url, "op",
                            "op-password", "front", str(start), str(end)],
                           capture_output=True, text=True, timeout=180)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertIn("ok", r.stdout.splitlines()[-1:])

        # Exports of archived footage: an MP4 that decodes, and an evidence bundle that
        # verifies offline; the copies fetched for them are gone once they are done.
        def export(evidence):
            status, _, job, _ = c.request("POST", "/api/exports",
                                          {"camera": "front", "start": start, "end": end,
                                           "evidence": evidence})
            self.assertEqual(status, 202, job)
            job = v.wait_for(lambda: (lambda j: j if j["state"] in ("done", "failed") else None)(
                c.request("GET", "/api/exports/%d" % job["id"])[2]), 90, "the export")
            self.assertEqual(job["state"], "done", job)
            status, _, _, data = c.request("GET", job["file"])
            self.assertEqual(status, 200)
            path = os.path.join(tmp, "export-%d%s" % (job["id"], ".zip" if evidence else ".mp4"))
            with open(path, "wb") as f:
                f.write(data)
            return path
        clip = export(False)
        self.assertEqual(decode_errors(clip), "")
        self.assertAlmostEqual(probe_duration(clip), (end - start) / 1000.0, delta=2.5)
        bundle = export(True)
        fp = re.search(r"fingerprint: ([0-9a-f]{64})", v.run("key", "show").stdout).group(1)
        r = v.run("verify", bundle, "--key", fp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([f for f in os.listdir(os.path.join(v.data, "exports"))
                          if ".archived-" in f], [])

        # The store goes away: recording goes on, closed segments wait on the disk.
        port = s3.port
        s3.close()
        before = len(v.segments("front"))
        waiting = lambda: [s for s in v.segments("front")
                           if s["state"] == "closed" and not s["archive_key"]]
        v.wait_for(lambda: len(waiting()) >= 2, 90, "two segments waiting for the store")
        for s in waiting():
            self.assertTrue(os.path.exists(os.path.join(v.data, s["path"])), s["path"])
        self.assertGreater(len(v.segments("front")), before)
        st = v.wait_for(lambda: (v.status() or {}).get("archive", {}).get("waiting", 0) >= 1 and
                        v.status(), 30, "the status to report what waits")
        self.assertFalse(st["archive"]["reachable"], st["archive"])
        self.assertIn("127.0.0.1:%d" % port, st["archive"]["last_error"])
        self.assertGreater(st["archive"]["waiting_bytes"], 0)
        self.assertRegex(v.run("status").stdout,
                         r"archive \(s3://vigil/site-a/ at %s\): \d+ uploaded, \d+ waiting \(.*\), "
                         r"UNREACHABLE: .*127\.0\.0\.1:%d" % (re.escape(s3.endpoint), port))
        self.assertTrue(any(c["component"] == "archive" and c["failures"] > 0
                            for c in st["components"]), st["components"])
        self.assertEqual(v.camera_status("front")["state"], "streaming")

        # Back on the same port: what waited goes up.
        s3 = S3Server(store, port)
        held = [s["id"] for s in waiting()]
        v.wait_for(lambda: all(r["archive_key"] for r in v.segments("front") if r["id"] in held),
                   120, "the waiting segments to be archived")
        st = v.wait_for(lambda: (v.status() or {}).get("archive", {}).get("reachable") and
                        v.status(), 30, "the status to say the store is back")
        self.assertEqual(st["archive"]["last_error"], "")

        # `vigil check` while it runs: no mismatch; archived segments counted, not read.
        r = v.run("check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(" archived, not read)", r.stdout)
        self.assertIn(": 0 mismatch(es)", r.stdout)


if __name__ == "__main__":
    unittest.main()
