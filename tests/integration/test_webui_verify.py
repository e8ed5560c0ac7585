"""The web UI's "Verify evidence" page end to end: a real evidence bundle made from real
recorded segments (by the unit test binary beside vigil, VIGIL_KEEP_BUNDLE), a copy with one bit
flipped in its video, `vigil verify` on both, then a real `vigil serve` serving the built UI and
Debian's Chromium (tests/browser/verify_evidence.test.mjs) checking both bundles in the
browser, which must reach the same verdict and name the same first bad fragment. The same for a
bundle whose checkpoint carries an RFC 3161 token from a real `openssl ts` TSA (made by the unit
test binary, VIGIL_KEEP_TSA_BUNDLES) and that bundle with its token altered: one problem, the
same words, from the CLI and the browser; and the intact bundle's transactions.json edited."""
import json
import os
import re
import subprocess
import unittest
import zipfile

from harness import SOURCE_DIR, VIGIL_BIN, TestCase, Vigil

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
WEB_DIST = os.path.join(SOURCE_DIR, "web", "dist")
UNIT_TESTS = os.path.join(os.path.dirname(VIGIL_BIN), "..", "..", "tests", "vigil_unit_tests")


def flip_bit(src, dst, member, at):
    """A copy of the ZIP `src` with one bit of `member` flipped at byte `at`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == member:
                data = data[:at] + bytes([data[at] ^ 0x08]) + data[at + 1:]
            zout.writestr(info, data)


class WebUiVerify(TestCase):
    def test_verify_page_in_chromium(self):
        self.assertTrue(os.path.isfile(os.path.join(WEB_DIST, "index.html")),
                        "build the UI: scripts/build")
        self.assertTrue(os.path.isfile(UNIT_TESTS), "build vigil_unit_tests beside vigil")
        intact = os.path.join(self.workdir, "intact.zip")
        r = subprocess.run([UNIT_TESTS, "--gtest_filter=BundleTest.AnIntactBundle*"],
                           env={**os.environ, "VIGIL_KEEP_BUNDLE": intact},
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        with zipfile.ZipFile(intact) as z:
            manifest = json.loads(z.read("manifest.json"))
        target = next(e for e in manifest["entries"] if e["part"] == 2)
        altered = os.path.join(self.workdir, "altered.zip")
        flip_bit(intact, altered, "clip-2.mp4", target["offset"] + target["bytes"] // 2)
        fingerprint = manifest["keys"][0]["fingerprint"]

        ok = subprocess.run([VIGIL_BIN, "verify", intact, "--key", fingerprint],
                            capture_output=True, text=True, timeout=120)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertIn("VERIFIED", ok.stdout)
        bad = subprocess.run([VIGIL_BIN, "verify", altered], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        first_bad = re.search(r"first bad:\s+fragment sequence (\d+)", bad.stdout)
        self.assertIsNotNone(first_bad, bad.stdout)
        self.assertEqual(int(first_bad.group(1)), target["sequence"])

        # The intact bundle carries transactions.json: edited, it fails for that file alone.
        att_altered = os.path.join(self.workdir, "att-altered.zip")
        with zipfile.ZipFile(intact) as z:
            self.assertIn("transactions.json", z.namelist())
            flip_bit(intact, att_altered, "transactions.json", 3)
        bad = subprocess.run([VIGIL_BIN, "verify", att_altered, "--key", fingerprint],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        att_problems = re.findall(r"^  - (.*)$", bad.stdout, re.M)
        self.assertEqual(att_problems, ["transactions.json was altered: its bytes do not hash to "
                                        "the SHA-256 manifest.json gives it"], bad.stdout)

        # A bundle with an RFC 3161 token, and the same with one bit of the token's signature
        # flipped (written by the recorder's key, so nothing else in it is wrong).
        r = subprocess.run([UNIT_TESTS, "--gtest_filter=BundleTest.RFC3161*"],
                           env={**os.environ, "VIGIL_KEEP_TSA_BUNDLES": self.workdir},
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        tsa_intact = os.path.join(self.workdir, "tsa-intact.zip")
        tsa_altered = os.path.join(self.workdir, "tsa-altered.zip")
        with zipfile.ZipFile(tsa_intact) as z:
            tsa_fp = json.loads(z.read("manifest.json"))["keys"][0]["fingerprint"]
        ok = subprocess.run([VIGIL_BIN, "verify", tsa_intact, "--key", tsa_fp],
                            capture_output=True, text=True, timeout=120)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertRegex(ok.stdout, r"RFC 3161 time \d{4}-")
        bad = subprocess.run([VIGIL_BIN, "verify", tsa_altered, "--key", tsa_fp],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        problems = re.findall(r"^  - (.*)$", bad.stdout, re.M)
        self.assertEqual(len(problems), 1, bad.stdout)
        self.assertIn("RFC 3161 token's signature does not verify", problems[0])

        v = self.track(Vigil(self.workdir, [], extra_toml="[http]\nport = 0\nweb_root = %s\n"
                             % json.dumps(WEB_DIST)).start())
        # Rights fail closed: a viewer is given the cameras it may see (none are configured).
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "vera", "--role", "viewer",
                            "--cameras", "*"],
                           input="vera-password-1\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        args = json.dumps({"url": v.web_url(), "shots": os.path.join(self.workdir, "shots"),
                           "user": "vera", "password": "vera-password-1", "intact": intact,
                           "altered": altered, "badSequence": target["sequence"],
                           "fingerprint": fingerprint, "tsaIntact": tsa_intact,
                           "tsaAltered": tsa_altered, "tsaFingerprint": tsa_fp,
                           "tsaProblem": problems[0], "attAltered": att_altered,
                           "attProblem": att_problems[0]})
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "verify_evidence.test.mjs"), args],
                           capture_output=True, text=True, timeout=300)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + "\n--- vigil ---\n" + v.log()[-3000:])
        self.assertRegex(r.stdout, r"\b7 passed, 0 failed")


if __name__ == "__main__":
    unittest.main()
