"""The vigil command line: version, help, clear errors for bad configuration, status when
nothing runs."""
import os
import subprocess
import unittest

from harness import VIGIL_BIN, TestCase


def vigil(*args):
    return subprocess.run([VIGIL_BIN, *args], capture_output=True, text=True, timeout=60)


class Cli(TestCase):
    def write(self, text):
        path = os.path.join(self.workdir, "vigil.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_version_and_help(self):
        r = vigil("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^vigil \d+\.\d+\.\d+")
        r = vigil("--help")
        self.assertEqual(r.returncode, 0)
        for sub in ("serve", "check", "status"):
            self.assertIn(sub, r.stdout)

    def test_invalid_config_names_file_key_value_and_reason(self):
        cfg = self.write('data_dir = "d"\n[[camera]]\nid = "a"\n'
                         'url = "http://admin:topsecret@10.0.0.1/"\n')
        r = vigil("-c", cfg, "serve")
        self.assertEqual(r.returncode, 2)
        self.assertIn(cfg + ": camera[0].url = \"http://admin:***@10.0.0.1/\": must be an "
                      "rtsp:// or rtsps:// URL", r.stderr)
        self.assertNotIn("topsecret", r.stderr + r.stdout)
        r = vigil("-c", os.path.join(self.workdir, "missing.toml"), "serve")
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read the configuration file", r.stderr)

    def test_status_and_check_before_anything_was_recorded(self):
        cfg = self.write('data_dir = "d"\n')
        r = vigil("-c", cfg, "status")
        self.assertEqual(r.returncode, 1)
        self.assertIn("vigil serve has not run", r.stdout)
        r = vigil("-c", cfg, "check")
        self.assertEqual(r.returncode, 0)
        self.assertIn("nothing recorded yet", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
