"""Shared fixtures for vigil's integration tests: real processes, real files.

- make_clip(): test clips made with ffmpeg (tests/fixtures/make_clip.sh), cached per build.
- RtspCamera: the GStreamer RTSP test camera (tests/fixtures/rtsp_camera.py).
- GarbageServer: a TCP port that answers with garbage, a recorded 401, or silence.
- TsaServer: an RFC 3161 time-stamping authority (tests/fixtures/tsa_server.py).
- S3Server: an S3-speaking object store (s3rver from npm behind tests/s3/server.js).
- ReplayCamera: real cameras' recorded RTSP answers (tests/data/cameras) in front of a clip.
- Vigil: a `vigil serve` on a temporary data directory, with helpers to kill, restart, check
  and read its catalog (sqlite3) and status.
Every process is started in its own session and killed by PID (process group) at exit.
Run with /usr/bin/python3 (Debian's, which has gi for the fixture).
"""
import atexit
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_DIR = os.environ.get(
    "VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
VIGIL_BIN = os.environ.get("VIGIL_BIN", os.path.join(SOURCE_DIR, "build", "src", "app", "vigil"))
CACHE_DIR = os.environ.get("VIGIL_TEST_CACHE", os.path.join(SOURCE_DIR, "build", "test-cache"))
FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures")
PYTHON = "/usr/bin/python3"

_children = []


def _kill_all():
    for p in _children:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


atexit.register(_kill_all)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def spawn(args, **kw):
    kw.setdefault("start_new_session", True)
    p = subprocess.Popen(args, **kw)
    _children.append(p)
    return p


def make_clip(name, *args):
    """Returns the path of a cached clip made by make_clip.sh with `args`."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    key = hashlib.sha1(" ".join(args).encode()).hexdigest()[:10]
    path = os.path.join(CACHE_DIR, "%s-%s.mp4" % (name, key))
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # ctest may run tests in parallel
        if not os.path.exists(path):
            tmp = path + ".tmp.mp4"
            subprocess.run([os.path.join(FIXTURES, "make_clip.sh"), tmp, *args], check=True)
            os.rename(tmp, path)
    return path


def _read_ready(proc, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("%s exited before it was ready (code %s)" % (what, proc.poll()))
        line = line.strip()
        if line.startswith("ready port="):
            return int(line.split("=", 1)[1])
    raise RuntimeError("%s not ready in %d s" % (what, timeout))


class RtspCamera:
    """One GStreamer RTSP server process with several mounts (cameras)."""

    def __init__(self, mounts, user=None, password=None, extra=()):
        args = [PYTHON, os.path.join(FIXTURES, "rtsp_camera.py"), "--port", "0", *extra]
        for name, clip in mounts.items():
            args += ["--mount", "%s=%s" % (name, clip)]
        if user:
            args += ["--user", user, "--password", password]
        self.proc = spawn(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                          bufsize=1)
        self.port = _read_ready(self.proc, "rtsp_camera.py")

    def url(self, mount, user=None, password=None):
        cred = "%s:%s@" % (user, password) if user else ""
        return "rtsp://%s127.0.0.1:%d/%s" % (cred, self.port, mount)

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise RuntimeError("rtsp_camera.py: %r -> %r" % (line, answer))
        return answer

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class GarbageServer:
    def __init__(self, mode):
        self.proc = spawn([PYTHON, os.path.join(FIXTURES, "garbage_server.py"), "--port", "0",
                           "--mode", mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, bufsize=1)
        self.port = _read_ready(self.proc, "garbage_server.py")

    def url(self, path="stream"):
        return "rtsp://127.0.0.1:%d/%s" % (self.port, path)

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()


CAMERA_DATA = os.path.join(SOURCE_DIR, "tests", "data", "cameras")


class TsaServer:
    """An RFC 3161 TSA on 127.0.0.1; its CA certificate is `ca`. stop() and start() again keep
    its port and certificates (a TSA that was down and came back)."""

    def __init__(self, directory):
        self.dir = directory
        self.port = 0
        self.start()
        self.ca = os.path.join(directory, "ca.crt")

    def start(self):
        self.proc = spawn([PYTHON, os.path.join(FIXTURES, "tsa_server.py"), self.dir, "--port",
                           str(self.port)], stdout=subprocess.PIPE, text=True, bufsize=1)
        self.port = _read_ready(self.proc, "tsa_server.py")
        self.url = "http://127.0.0.1:%d/tsa" % self.port

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()


class S3Server:
    """s3rver (tests/s3, `npm ci` there) on 127.0.0.1 with bucket "vigil", its objects under
    `directory`; on a free port, or on `port` to come back where it was. server.js checks every
    request's Signature V4 with the secret "S3RVER"."""

    def __init__(self, directory, port=0):
        self.directory = directory
        server = os.path.join(SOURCE_DIR, "tests", "s3", "server.js")
        assert os.path.isdir(os.path.join(SOURCE_DIR, "tests", "s3", "node_modules", "s3rver")), \
            "run `npm ci` in tests/s3 (scripts/test does)"
        self.proc = spawn(["node", server, directory, "vigil", str(port)], stdout=subprocess.PIPE,
                          stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().strip()  # the port it listens on, once it does
        if not line.isdigit():
            raise RuntimeError("s3rver did not start (code %s): %r" % (self.proc.poll(), line))
        self.port = int(line)
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()


class Postgres:
    """A PostgreSQL server of Debian's (initdb and pg_ctl from /usr/lib/postgresql/*/bin) in a
    temporary directory, listening on a Unix socket there and on no TCP port; as root it runs as
    the `postgres` user (initdb refuses root). Clients connect as `vigil` without a password
    (trust, on that private socket only). close() stops it (pg_ctl: by the PID in its pid file)."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(p.split("/")[4]))
        assert bins, "no PostgreSQL server in /usr/lib/postgresql (scripts/deps installs it)"
        self.bin = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="vigil-pg-")
        self.as_owner = []
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        subprocess.run(self.as_owner + [os.path.join(self.bin, "initdb"), "-D", self.data,
                                        "-U", "vigil", "--auth=trust", "--no-sync", "-E", "UTF8",
                                        "--locale=C.UTF-8"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run(self.as_owner + [os.path.join(self.bin, "pg_ctl"), "start", "-w", "-s",
                                        "-D", self.data, "-l", os.path.join(self.dir, "log"),
                                        "-o", "-k %s -c listen_addresses= -p 5432 -c fsync=off"
                                        % self.dir],
                       check=True, timeout=120)
        self.started = True
        self.databases = 0

    def database(self):
        """A new, empty database: its URL."""
        self.databases += 1
        name = "v%d" % self.databases
        self.psql("postgres", "CREATE DATABASE %s" % name)
        return "postgresql://vigil@/%s?host=%s&port=5432" % (name, self.dir)

    def psql(self, database, sql):
        """Rows of a statement, as lists of strings (psql's unaligned output, tab-separated)."""
        if database.startswith("postgresql://"):
            database = database.split("/")[3].split("?")[0]
        r = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-h", self.dir, "-p", "5432", "-U", "vigil", "-d", database,
                            "-c", sql], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql %s: %s" % (sql, r.stderr.strip()))
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def close(self):
        if self.started:
            subprocess.run(self.as_owner + [os.path.join(self.bin, "pg_ctl"), "stop", "-m",
                                            "immediate", "-s", "-D", self.data], timeout=60)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


class ReplayCamera:
    """A camera that answers with a real camera's recorded RTSP responses
    (tests/fixtures/replay_camera.py) and streams `clip`."""

    def __init__(self, clip, describe, options=None, setup=None, play=None, extra=()):
        args = [PYTHON, os.path.join(FIXTURES, "replay_camera.py"), "--port", "0", "--clip", clip,
                "--describe", os.path.join(CAMERA_DATA, describe), *extra]
        for flag, name in (("--options", options), ("--setup", setup), ("--play", play)):
            if name:
                args += [flag, os.path.join(CAMERA_DATA, name)]
        self.proc = spawn(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                          bufsize=1)
        self.port = _read_ready(self.proc, "replay_camera.py")

    def url(self, path="stream", user=None, password=None):
        auth = "%s:%s@" % (user, password) if user else ""
        return "rtsp://%s127.0.0.1:%d/%s" % (auth, self.port, path)

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()


class LaunchCamera:
    """RTSP mounts from GStreamer launch lines (tests/fixtures/launch_camera.py)."""

    def __init__(self, mounts):
        args = [PYTHON, os.path.join(FIXTURES, "launch_camera.py"), "--port", "0"]
        for name, launch in mounts.items():
            args += ["--mount", "%s=%s" % (name, launch)]
        self.proc = spawn(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                          bufsize=1)
        self.port = _read_ready(self.proc, "launch_camera.py")

    def url(self, mount):
        return "rtsp://127.0.0.1:%d/%s" % (self.port, mount)

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()


def toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string


class Raw(str):
    """A camera setting written into the TOML as it is (e.g. an inline table)."""


class Vigil:
    """A vigil serve process on its own data directory."""

    def __init__(self, workdir, cameras, segment_seconds=10, extra_toml="", ingest=None):
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.config = os.path.join(workdir, "vigil.toml")
        # Never the default port 8080: another vigil (another test run) may hold it.
        if "[http]" not in extra_toml:
            extra_toml += "\n[http]\nport = 0\n"
        ing = {"io_timeout_ms": 3000, "backoff_initial_ms": 200, "backoff_max_ms": 2000}
        ing.update(ingest or {})
        lines = ['data_dir = %s' % toml_str(self.data), "segment_seconds = %d" % segment_seconds,
                 extra_toml, "[ingest]"]
        lines += ["%s = %d" % kv for kv in ing.items()]
        for cam in cameras:
            lines.append("[[camera]]")
            for k, v in cam.items():
                lines.append("%s = %s" % (k, v if isinstance(v, Raw) else toml_str(v) if isinstance(v, str) else
                                          ("true" if v is True else "false" if v is False else v)))
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.log_path = os.path.join(workdir, "vigil.log")
        self.starts = []  # wall times (s) of every start
        # A command vigil runs under, e.g. ["unshare", "--mount"] for a mount namespace of its
        # own; it must exec vigil (same PID).
        self.wrapper = []

    def start(self):
        log = open(self.log_path, "a")
        self.log_offset = log.tell()  # where this start's lines begin (web_url reads from there)
        self.starts.append(time.time())
        self.proc = spawn([*self.wrapper, VIGIL_BIN, "-c", self.config, "serve"], stdout=log,
                          stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        return self

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout)
        return self.proc.returncode

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return time.time()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def run(self, *args):
        return subprocess.run([VIGIL_BIN, "-c", self.config, *args], capture_output=True,
                              text=True, timeout=300)

    def query(self, sql, args=()):
        """Rows (as dicts) of a query on the catalog; [] before vigil created it."""
        path = os.path.join(self.data, "vigil.db")
        if not os.path.exists(path):
            return []
        c = sqlite3.connect(path, timeout=10)
        try:
            c.row_factory = sqlite3.Row
            return [dict(r) for r in c.execute(sql, args).fetchall()]
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):  # created, not yet migrated
                return []
            raise
        finally:
            c.close()

    def segments(self, camera=None):
        if camera:
            return self.query("SELECT * FROM segment WHERE camera_id = ? ORDER BY id", (camera,))
        return self.query("SELECT * FROM segment ORDER BY id")

    def gaps(self, camera=None):
        if camera:
            return self.query("SELECT * FROM gap WHERE camera_id = ? ORDER BY id", (camera,))
        return self.query("SELECT * FROM gap ORDER BY id")

    def status(self):
        r = self.run("status", "--json")
        return json.loads(r.stdout) if r.stdout.strip().startswith("{") else None

    def camera_status(self, cam_id):
        st = self.status()
        for c in (st or {}).get("cameras", []):
            if c["id"] == cam_id:
                return c
        return None

    def web_url(self, timeout=20):
        """The URL `vigil serve` logs for its web interface (its [http] port may be 0)."""
        m = self.wait_for(lambda: re.search(r"web interface: open (\S+) in a browser",
                                            self.log()[self.log_offset:]),
                          timeout, "the web interface")
        return m.group(1)

    def setup_token(self):
        m = re.search(r"with setup token (\S+)", self.log())
        return m.group(1) if m else None

    def wait_for(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = predicate()
            if v:
                return v
            time.sleep(0.5)
        raise AssertionError("timed out after %d s waiting for %s\n--- vigil log ---\n%s" %
                             (timeout, what, self.log()[-4000:]))


def decode_errors(path):
    """Decodes a file fully with ffmpeg; returns its error output ('' when clean)."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"],
                       capture_output=True, text=True, timeout=300)
    return r.stderr.strip() if r.returncode == 0 else (r.stderr.strip() or "exit %d" % r.returncode)


def probe_duration(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                        "csv=p=0", path], capture_output=True, text=True, timeout=60)
    return float(r.stdout.strip())


class TestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="vigil-it-")
        self.workdir = self._tmp.name
        self.addCleanup(self._tmp.cleanup)

    def track(self, obj):
        """Closes/stops `obj` at the end of the test, whatever happens; a failed test shows the
        end of a tracked vigil's log (CI keeps nothing else of it)."""
        self.addCleanup(obj.stop if isinstance(obj, Vigil) else obj.close)
        if isinstance(obj, Vigil):
            self.addCleanup(self._show_log_if_failed, obj)
        return obj

    def _show_log_if_failed(self, v):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        failed = [t for t, _ in getattr(result, "failures", []) + getattr(result, "errors", [])]
        if self not in failed:
            return
        try:
            lines = v.log().splitlines()
        except OSError:
            return
        sys.stderr.write("---- last %d lines of %s ----\n" % (min(len(lines), 80), v.log_path))
        sys.stderr.write("\n".join(lines[-80:]) + "\n---- end of log ----\n")
