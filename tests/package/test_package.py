"""The Debian package on this machine, as an administrator would use it: built by
scripts/package, checked by lintian and systemd-analyze, installed with dpkg, run from its
installed paths and configuration against the GStreamer test camera (a camera added through the
API), upgraded to a rebuilt package with the edited /etc/vigil/vigil.toml kept, and purged.

It installs into the real /usr, /etc/vigil and /var/lib/vigil and makes the real "vigil" user,
so it needs root and refuses (fails, saying why) when any of them is already there: it never
touches a vigil someone installed. Whatever happens, it purges what it installed.

Where systemd is not PID 1 (containers, this CI), the unit cannot be started: vigil is run the
way the unit runs it (its ExecStart as the vigil user, no new privileges, no capabilities), but
the unit's file-system sandbox (ProtectSystem=strict, ...) is not applied. The test says which
it did.

  VIGIL_SOURCE_DIR=... VIGIL_DEB_DIR=build-deb /usr/bin/python3 -m unittest -v test_package

VIGIL_PACKAGE_QUICK=1 builds with `scripts/package --quick` (the project's flags, from ccache:
for trying the packaging on a busy machine; lintian then warns about the missing hardening).
"""
import grp
import os
import pwd
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import SOURCE_DIR, RtspCamera, make_clip, spawn  # noqa: E402
from test_serve import Client  # noqa: E402

DEB_DIR = os.path.abspath(os.environ.get("VIGIL_DEB_DIR", os.path.join(SOURCE_DIR, "build-deb")))
CONFIG = "/etc/vigil/vigil.toml"
DATA = "/var/lib/vigil"
UNIT = "/lib/systemd/system/vigil.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/vigil.service"  # enabled by postinst
UPGRADE_VERSION_SUFFIX = "+upgrade1"
QUICK = os.environ.get("VIGIL_PACKAGE_QUICK") == "1"


def run(*args, check=True, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=1800,
                       stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s\n%s" % (" ".join(args), r.returncode, r.stdout[-3000:],
                                                      r.stderr[-3000:]))
    return r


def installed():
    r = run("dpkg-query", "-W", "-f=${Status} ${Version}", "vigil", check=False)
    return r.stdout if r.returncode == 0 and "install ok installed" in r.stdout else None


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def systemd_is_init():
    return os.path.isdir("/run/systemd/system")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_package(version=None):
    """scripts/package's .deb (its last line of output)."""
    args = [os.path.join(SOURCE_DIR, "scripts", "package"), "--out", DEB_DIR]
    if version:
        args += ["--version", version]
    if QUICK:
        args.append("--quick")
    r = run(*args)
    deb = r.stdout.strip().splitlines()[-1]
    assert deb.endswith(".deb") and os.path.isfile(deb), r.stdout
    return deb


class Package(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("the package test installs a package: run it as root")
        # Never over a vigil someone else installed or left: its data would be purged.
        there = [p for p in ("/etc/vigil", DATA, UNIT, "/usr/bin/vigil") if os.path.exists(p)]
        if installed() or user_exists("vigil") or group_exists("vigil") or there:
            self.fail("vigil is installed or left on this machine (package %r, user %s, %s): "
                      "the package test would replace it; purge it first" %
                      (installed(), user_exists("vigil"), there))
        self.proc = None
        self.addCleanup(self.clean_up)
        self.logdir = tempfile.TemporaryDirectory(prefix="vigil-pkg-")
        self.addCleanup(self.logdir.cleanup)
        self.log_path = os.path.join(self.logdir.name, "vigil.log")

    def clean_up(self):
        self.stop_vigil()
        if run("dpkg-query", "-W", "vigil", check=False).returncode == 0:
            run("dpkg", "--purge", "vigil", check=False)

    # --- vigil as the unit runs it -----------------------------------------------------------

    def start_vigil(self):
        if systemd_is_init():
            run("systemctl", "restart", "vigil")
            return
        # The unit's ExecStart, User=, Group=, NoNewPrivileges=, CapabilityBoundingSet= (empty)
        # and UMask=; not its file-system sandbox (that needs systemd).
        log = open(self.log_path, "a")
        self.log_offset = log.tell()
        self.proc = spawn(["setpriv", "--reuid=vigil", "--regid=vigil", "--init-groups",
                           "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all",
                           "sh", "-c", "umask 0027; exec /usr/bin/vigil --config %s serve" % CONFIG],
                          stdout=log, stderr=log, cwd="/")
        log.close()

    def stop_vigil(self):
        if systemd_is_init():
            run("systemctl", "stop", "vigil", check=False)
        elif self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self.proc = None

    def log(self):
        if systemd_is_init():
            return run("journalctl", "-u", "vigil", "--no-pager", "-o", "cat").stdout
        with open(self.log_path, errors="replace") as f:
            return f.read()[self.log_offset:]

    def wait_for(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = predicate()
            if v:
                return v
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.3)
        self.fail("no %s within %d s (vigil %s)\n--- log ---\n%s" % (
            what, timeout, "exited %s" % self.proc.poll() if self.proc else "under systemd",
            self.log()[-4000:]))

    def as_vigil(self, *args):
        return run("runuser", "-u", "vigil", "--", *args, check=False)

    # --- the test ----------------------------------------------------------------------------

    def test_build_check_install_run_upgrade_purge(self):
        t0 = time.time()
        deb = build_package()
        upgrade = build_package(
            run("dpkg-deb", "-f", deb, "Version").stdout.strip() + UPGRADE_VERSION_SUFFIX)
        print("\n  packages built in %.0f s" % (time.time() - t0), file=sys.stderr)

        # lintian: no error (warnings and infos are printed for whoever reads the log).
        r = run("lintian", "--fail-on", "error", "--info", deb, check=False)
        print(r.stdout, file=sys.stderr)
        self.assertEqual(r.returncode, 0, "lintian found errors:\n" + r.stdout + r.stderr)

        # Depends: exactly the packages of the libraries the binary links, and adduser.
        with tempfile.TemporaryDirectory() as x:
            run("dpkg-deb", "-x", deb, x)
            needed = set(re.findall(r"NEEDED\s+(\S+)", run("objdump", "-p", x + "/usr/bin/vigil").stdout))
        depends = run("dpkg-deb", "-f", deb, "Depends").stdout
        dep_names = {d.strip().split()[0] for d in depends.split(",")}
        names_of = {}  # the package of each linked library -> names a Depends may use for it
        for soname in needed:
            path = run("sh", "-c", "ldconfig -p | awk '$1 == \"%s\" && /x86-64|%s/ {print $NF; exit}'"
                       % (soname, os.uname().machine)).stdout.strip()
            self.assertTrue(path, "where is %s?" % soname)
            # dpkg knows a library by the path its package ships, /lib or /usr/lib (merged /usr).
            candidates = {path, os.path.realpath(path)}
            candidates |= {p[4:] if p.startswith("/usr/") else "/usr" + p for p in set(candidates)}
            owners = [run("dpkg", "-S", p, check=False).stdout for p in sorted(candidates)]
            owner = next((o for o in owners if o), "")
            self.assertTrue(owner, "no package ships %s" % soname)
            # "libspdlog1.10: /usr/lib/…", or "libspdlog1.10:amd64: /usr/lib/…" once dpkg knows
            # a second architecture (scripts/cross-arm64 adds arm64 and installs the :arm64 twins).
            qualified = owner.split(": ")[0]
            package = qualified.split(":")[0]
            # A shlibs file may name a virtual package the library's package provides
            # (libspdlog1.10 provides libspdlog1.10-fmt9); asked of this architecture's package
            # only, since dpkg-query would print every installed architecture's, run together.
            provides = run("dpkg-query", "-W", "-f=${Provides}", qualified).stdout
            names_of[package] = {package} | {p.strip().split()[0] for p in provides.split(",") if p.strip()}
        self.assertEqual(dep_names - {"adduser"}, set().union(*names_of.values()) & dep_names,
                         "Depends %s names a package of no linked library" % depends)
        for package, names in names_of.items():
            self.assertTrue(names & dep_names, "Depends %s lacks %s" % (depends, package))

        # Install.
        run("dpkg", "-i", deb)
        self.assertEqual(installed().split()[-1], run("dpkg-deb", "-f", deb, "Version").stdout.strip())
        self.assertTrue(user_exists("vigil"))
        vigil = pwd.getpwnam("vigil")
        self.assertEqual(vigil.pw_dir, DATA)
        self.assertLess(vigil.pw_uid, 1000)  # a system user
        self.assertEqual(vigil.pw_shell, "/usr/sbin/nologin")
        for path in ("/usr/bin/vigil", "/usr/share/vigil/web/index.html", CONFIG, UNIT):
            self.assertTrue(os.path.isfile(path), path)
        self.assertEqual(os.stat(DATA).st_uid, vigil.pw_uid)
        self.assertEqual(os.stat(DATA).st_mode & 0o777, 0o750)
        self.assertEqual(os.stat(CONFIG).st_mode & 0o777, 0o640)
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "vigil").stdout
        self.assertIn(CONFIG, conffiles)
        # The unit as installed, with the binary it names present.
        r = run("systemd-analyze", "verify", UNIT, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "", "systemd-analyze verify complained")

        # The administrator edits the conffile: another port (never the default 8080 here:
        # something else may hold it) and short segments.
        port = free_port()
        with open(CONFIG) as f:
            text = f.read()
        self.assertIn("\nport = 8080\n", text)
        text = text.replace("\nport = 8080\n", "\nport = %d\n" % port)
        text = text.replace("# segment_seconds = 120", "segment_seconds = 10")
        with open(CONFIG, "w") as f:
            f.write(text)

        # First start: the setup link is logged and `vigil setup-url` prints it again.
        started = time.time()
        self.start_vigil()
        base = "http://127.0.0.1:%d/" % port
        m = self.wait_for(lambda: re.search(r"no users yet: open (\S+) to create the first admin",
                                            self.log()), 30, "setup link in the log")
        link = m.group(1)
        self.assertTrue(link.startswith(base + "#/setup?token="), link)
        print("  %s: ready, setup link logged %.1f s after the start" % (
            "systemd unit" if systemd_is_init() else "vigil as the vigil user (no systemd)",
            time.time() - started), file=sys.stderr)
        r = run("vigil", "setup-url")  # as root, with the package's default configuration
        self.assertEqual(r.stdout.strip(), link)
        token = link.split("token=", 1)[1]
        c = Client(base)
        status, headers, body, _ = c.request(
            "POST", "/api/setup", {"token": token, "name": "admin", "password": "admin-password"})
        self.assertEqual(status, 201, body)
        c.cookie = headers["Set-Cookie"].split(";")[0]
        c.csrf = body["csrf_token"]
        self.assertEqual(run("vigil", "setup-url", check=False).returncode, 1)
        # The web UI from /usr/share/vigil/web.
        status, _, _, page = Client(base).request("GET", "/")
        self.assertEqual(status, 200)
        with open("/usr/share/vigil/web/index.html", "rb") as f:
            self.assertEqual(page, f.read())

        # A camera added through the API records into /var/lib/vigil.
        clip = make_clip("h264", "--codec", "h264", "--seconds", "20")
        cam = RtspCamera({"door": clip})
        self.addCleanup(cam.close)
        status, _, body, _ = c.request("POST", "/api/cameras", {"id": "door", "url": cam.url("door")})
        self.assertEqual(status, 201, body)

        def recorded(after=0):
            st, _, b, _ = c.request("GET", "/api/cameras/door")
            if st != 200 or (b.get("status") or {}).get("state") != "streaming":
                return False
            r = run("find", DATA + "/recordings/door", "-name", "*.mp4", "-size", "+0",
                    "-newermt", "@%d" % after, check=False)
            return r.stdout.split()

        files = self.wait_for(recorded, 60, "footage of the added camera")
        self.assertTrue(all(os.stat(f).st_uid == vigil.pw_uid for f in files))
        # status.json is written every 5 s: `vigil status` as the service's user reads it.
        self.wait_for(lambda: "door" in self.as_vigil("vigil", "status").stdout, 30, "vigil status")
        self.stop_vigil()
        with open(CONFIG) as f:
            edited = f.read()
        self.assertRegex(edited, r"""id = ["']door["']""")
        self.assertIn("port = %d" % port, edited)

        # Upgrade to the rebuilt package: the edited configuration and the data stay.
        run("dpkg", "-i", upgrade)
        self.assertTrue(installed().endswith(UPGRADE_VERSION_SUFFIX), installed())
        with open(CONFIG) as f:
            self.assertEqual(f.read(), edited)
        self.assertFalse(os.path.exists(CONFIG + ".dpkg-new"))
        self.assertTrue(all(os.path.isfile(f) for f in files))
        # It records on after the upgrade, with the account made before.
        self.start_vigil()
        c = Client(base)
        def logged_in():
            try:
                return c.login("admin", "admin-password")[0] == 200
            except ConnectionRefusedError:  # the upgraded vigil is not listening yet
                return False

        self.wait_for(logged_in, 30, "login after upgrade")
        restarted = int(time.time())
        self.wait_for(lambda: recorded(restarted), 60, "footage after the upgrade")
        self.stop_vigil()

        # Purge: no package, user, data, configuration or unit left.
        run("dpkg", "--purge", "vigil")
        self.assertIsNone(installed())
        self.assertFalse(user_exists("vigil"))
        self.assertFalse(group_exists("vigil"))
        for path in ("/usr/bin/vigil", "/usr/share/vigil", "/etc/vigil", DATA, UNIT, WANTS):
            self.assertFalse(os.path.exists(path), path)
        print("  package test: %.0f s in all" % (time.time() - t0), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
