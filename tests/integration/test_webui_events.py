"""The web UI's events features end to end: a real `vigil serve` analysing two GStreamer test
cameras that show real footage (vtest.avi: people walking, then the picture standing still, in a
16 s loop, so that motion comes and goes and makes one event per loop), and Debian's Chromium
driven by playwright-core (tests/browser/events_ui.test.mjs): the events page (snapshots, filters
in the URL, clip download, an evidence bundle of an event that `vigil verify` accepts), Play
from an event, the timeline's markers, previous/next event, and
two cameras played side by side in sync. Screenshots go to the test's directory, or to
docs/screenshots/ with VIGIL_UPDATE_SCREENSHOTS=1."""
import json
import os
import subprocess
import time
import unittest

from harness import CACHE_DIR, SOURCE_DIR, VIGIL_BIN, Raw, RtspCamera, TestCase, Vigil

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")
ADMIN = ("root", "root-password-1")


def paced_clip():
    """8 s of vtest.avi then its last picture held for 8 s, as H.264 the way a camera sends it:
    looped by the test camera, that is an event every 16 s with a pause between."""
    src = os.path.join(CACHE_DIR, "vtest.avi")
    out = os.path.join(CACHE_DIR, "events-paced-16s.mp4")
    if not os.path.exists(out):
        tmp = out + ".tmp.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-t", "8", "-i", src, "-vf",
                        "tpad=stop_mode=clone:stop_duration=8", "-an", "-c:v", "libx264",
                        "-preset", "veryfast", "-g", "20", "-bf", "0", "-sc_threshold", "0",
                        "-pix_fmt", "yuv420p", tmp],
                       check=True, timeout=300)
        os.rename(tmp, out)
    return out


class WebUiEvents(TestCase):
    def test_events_in_chromium(self):
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build (npm install && npm run build in web/)")
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        clip = paced_clip()
        cam = self.track(RtspCamera({"door": clip, "yard": clip}))
        analysed = Raw("{ enabled = true }")
        # The door's picture is two zones, its left and right halves.
        halves = Raw('[{ name = "left", points = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]] }, '
                     '{ name = "right", points = [[0.5, 0], [1, 0], [1, 1], [0.5, 1]] }]')
        # The yard is armed one minute a day, twelve hours from now: its events are "not armed".
        armed = [time.strftime("%H:%M", time.gmtime(time.time() + 12 * 3600 + s)) for s in (0, 60)]
        yard_schedule = Raw('[{ from = "%s", to = "%s" }]' % tuple(armed))
        v = self.track(Vigil(
            self.workdir,
            [{"id": "door", "name": "Front door", "url": cam.url("door"), "analysis": analysed,
              "zone": halves},
             {"id": "yard", "name": "Yard", "url": cam.url("yard"), "analysis": analysed,
              "schedule": yard_schedule}],
            segment_seconds=10,
            extra_toml=('[events]\nmin_duration_ms = 500\nmerge_gap_ms = 1000\n'
                        'time_zone = "UTC"\n'
                        '[http]\nport = 0\nweb_root = %s\n' % json.dumps(WEB_DIST))).start())
        url = v.web_url()
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", ADMIN[0], "--role", "admin"],
                           input=ADMIN[1] + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

        # A short outage of the yard: a gap in its recordings, where it has "No recording at this
        # time" beside the door's footage.
        v.wait_for(lambda: [s for s in v.segments("yard") if s["state"] == "closed"], 60,
                   "a closed segment of yard")
        cam.command("stop yard")
        v.wait_for(lambda: (v.camera_status("yard") or {}).get("state") in ("offline",
                                                                           "connecting"),
                   30, "yard seen offline")
        time.sleep(2)
        cam.command("start yard")
        v.wait_for(lambda: v.gaps("yard"), 60, "the yard's gap")

        # Three closed events of the door whose footage is in closed files (only those play),
        # and one of the yard (both cameras are analysed).
        def ready():
            evs = v.query("SELECT * FROM event WHERE camera_id = 'door' AND state = 'closed' "
                          "AND snapshot != '' ORDER BY start_ms")
            if len(evs) < 3:
                return None
            # The yard plays beside the door in the browser: its footage must be closed too.
            for camera in ("door", "yard"):
                ends = [s["wall_end_ms"] for s in v.segments(camera) if s["state"] == "closed"]
                if not ends or max(ends) < evs[2]["end_ms"]:
                    return None
            if not v.query("SELECT id FROM event WHERE camera_id = 'yard' AND state = 'closed'"):
                return None
            return evs
        events = v.wait_for(ready, 120, "3 closed events of door with their footage recorded")
        print("door events: %s" % [(e["id"], e["start_ms"], e["end_ms"] - e["start_ms"])
                                   for e in events])

        shots = (os.path.join(SOURCE_DIR, "docs", "screenshots")
                 if os.environ.get("VIGIL_UPDATE_SCREENSHOTS") == "1"
                 else os.path.join(self.workdir, "shots"))
        evidence = os.path.join(self.workdir, "event-evidence.zip")
        args = json.dumps({"url": url, "user": ADMIN[0], "password": ADMIN[1], "shots": shots,
                           "evidenceOut": evidence})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "events_ui.test.mjs"), args],
                           capture_output=True, text=True, timeout=400)
        print(r.stdout)
        self.assertEqual(r.returncode, 0,
                         r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b13 passed, 0 failed")
        # The event's evidence bundle, exported from the events page, verifies offline.
        fingerprint = v.status()["key_fingerprint"]
        r = subprocess.run([VIGIL_BIN, "verify", evidence, "--key", fingerprint],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("VERIFIED", r.stdout)
        self.assertTrue(v.query("SELECT id FROM audit WHERE action = 'evidence_export' AND "
                                "detail LIKE '%event%'"))
        # The clip downloaded in the browser is an export of an event, audited as such.
        self.assertTrue(v.query("SELECT id FROM audit WHERE action = 'export' AND detail LIKE "
                                "'%event%'"))
        self.assertIsNone(v.proc.poll())


if __name__ == "__main__":
    unittest.main()
