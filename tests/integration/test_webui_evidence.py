"""Evidence from the web UI end to end: a real `vigil serve` recording the GStreamer test camera
for two segment files, and Debian's Chromium (tests/browser/evidence_ui.test.mjs) putting a hold
on the Holds page, seeing it listed with the bytes it keeps, exporting it as evidence, and
exporting a range from the playback screen's dialog as "Evidence bundle (verifiable)". Both
downloaded bundles must pass `vigil verify` against the recorder's key fingerprint."""
import json
import os
import subprocess
import unittest

from harness import SOURCE_DIR, VIGIL_BIN, RtspCamera, TestCase, Vigil, make_clip

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")
ADMIN = ("root", "root-password-1")


class WebUiEvidence(TestCase):
    def test_holds_page_and_evidence_export_in_chromium(self):
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build")
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (scripts/test does)")
        clip = make_clip("live-h264", "--codec", "h264", "--seconds", "30")
        cam = self.track(RtspCamera({"front": clip}))
        v = self.track(Vigil(self.workdir, [{"id": "front", "name": "Front door",
                                             "url": cam.url("front")}],
                             segment_seconds=10,
                             extra_toml="[http]\nport = 0\nweb_root = %s\n" % json.dumps(WEB_DIST)).start())
        url = v.web_url()
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", ADMIN[0], "--role", "admin"],
                           input=ADMIN[1] + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The export dialog selects 12.5 s from the start of the footage: two closed files
        # (each closes with a signed checkpoint) hold it.
        v.wait_for(lambda: len([s for s in v.segments("front") if s["state"] == "closed"]) >= 2,
                   90, "2 closed segments of front")
        fingerprint = v.wait_for(lambda: (v.status() or {}).get("key_fingerprint"), 20,
                                 "the key fingerprint in the status")

        hold_out = os.path.join(self.workdir, "hold-bundle.zip")
        export_out = os.path.join(self.workdir, "export-bundle.zip")
        args = json.dumps({"url": url, "user": ADMIN[0], "password": ADMIN[1], "camera": "front",
                           "shots": os.path.join(self.workdir, "shots"), "holdOut": hold_out,
                           "exportOut": export_out})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "evidence_ui.test.mjs"), args],
                           capture_output=True, text=True, timeout=300)
        print(r.stdout)
        self.assertEqual(r.returncode, 0,
                         r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b5 passed, 0 failed")

        # What the browser downloaded verifies offline against the recorder's key.
        for bundle in (hold_out, export_out):
            r = subprocess.run([VIGIL_BIN, "verify", bundle, "--key", fingerprint],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, bundle + "\n" + r.stdout + r.stderr)
            self.assertIn("VERIFIED", r.stdout)
        actions = [row["detail"] for row in
                   v.query("SELECT detail FROM audit WHERE action = 'evidence_export'")]
        self.assertEqual(len(actions), 2, actions)
        self.assertTrue(any("hold" in d for d in actions), actions)
        self.assertTrue(v.query("SELECT id FROM audit WHERE action = 'hold_add'"))
        self.assertIsNone(v.proc.poll())


if __name__ == "__main__":
    unittest.main()
