#!/usr/bin/python3
"""bench/serve, slow downloads: vigil's memory while 20 clients slowly download a 200 MB export.

Issue 18: a large response must be sent from the file, never built in memory, so that slow
clients cannot make vigil hold a file's worth of memory each. This records a 1280x720 25 fps
H.264 camera at 40 Mbit/s (GStreamer RTSP test camera, a looped 10 s clip) until the closed
files hold --mb megabytes, exports that window (POST /api/exports, a real remux), stops the
camera, then in turn:
  vigil  N clients GET /api/exports/{id}/file without Range and read --kib-per-s each
         (64 KiB reads, paced) for --seconds; vigil's VmRSS is sampled every 0.2 s;
  peer   the same N clients against Python's http.server (ThreadingHTTPServer) serving the same
         file, its VmRSS sampled the same way.
Then one fast client downloads the whole export from vigil with no Range and checks its SHA-256
against the file on disk. Prints vigil's RSS before, peak and the growth per client, the peer's,
and the bytes the clients received. A measurement, never a test: nothing is asserted.

    bench/serve/slow_downloads.py [--mb 200] [--clients 20] [--seconds 20] [--kib-per-s 1024]
"""
import argparse
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import PYTHON, VIGIL_BIN, RtspCamera, Vigil, make_clip  # noqa: E402
from test_serve import Client  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slow_reader(port, target, headers, kib_per_s, until, got, i):
    """One client: a GET, then 64 KiB reads paced to kib_per_s, until `until` or the end."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n" % (
            target, port, "".join("%s: %s\r\n" % kv for kv in headers.items()))
        s.sendall(req.encode())
        pause = 64.0 / kib_per_s
        while time.time() < until:
            data = s.recv(65536)
            if not data:
                break
            got[i] += len(data)
            time.sleep(pause * len(data) / 65536)
    finally:
        s.close()


def run_phase(name, pid, port, target, headers, args):
    """N slow readers for args.seconds; (rss before, peak rss, bytes received) in KiB/bytes."""
    before = rss_kib(pid)
    got = [0] * args.clients
    until = time.time() + args.seconds
    threads = [threading.Thread(target=slow_reader, name="reader-%d" % i,
                                args=(port, target, headers, args.kib_per_s, until, got, i))
               for i in range(args.clients)]
    for t in threads:
        t.start()
    peak = before
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_kib(pid))
        time.sleep(0.2)
    for t in threads:
        t.join()
    print("%-6s RSS before %7.1f MiB, peak %7.1f MiB (+%.1f MiB, %.2f MiB per client); "
          "clients received %.1f MiB (%.0f KiB/s each)" % (
              name, before / 1024, peak / 1024, (peak - before) / 1024,
              (peak - before) / 1024 / args.clients, sum(got) / 2**20,
              sum(got) / 1024 / args.clients / args.seconds))
    return before, peak, sum(got)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=200, help="size of the export (MB)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20, help="how long the slow clients read")
    ap.add_argument("--kib-per-s", type=float, default=1024, help="each slow client's pace")
    args = ap.parse_args()

    clip = make_clip("bench-40mbit", "--seconds", "10", "--size", "1280x720", "--fps", "25",
                     "--bitrate", "40M")
    tmp = tempfile.TemporaryDirectory(prefix="vigil-bench-dl-")
    cam = RtspCamera({"big": clip})
    v = Vigil(tmp.name, [{"id": "big", "url": cam.url("big")}], segment_seconds=10,
              extra_toml="[http]\nport = 0\n").start()
    peer = None
    try:
        url = v.web_url()
        r = subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "op", "--role", "operator",
                            "--cameras", "*"], input="op-password\n", capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        port = int(url.rstrip("/").rsplit(":", 1)[1])

        def closed():
            return [s for s in v.segments("big") if s["state"] == "closed"]
        t0 = time.time()
        v.wait_for(lambda: sum(s["bytes"] for s in closed()) >= args.mb * 1e6, 900,
                   "%d MB of closed files" % args.mb)
        segs = closed()
        cam.close()
        print("recorded %.1f MB in %d files in %.0f s" % (
            sum(s["bytes"] for s in segs) / 1e6, len(segs), time.time() - t0))

        c = Client(url)
        status, _, body = c.login("op", "op-password")
        assert status == 200, body
        cookie = c.cookie
        status, _, job, _ = c.request("POST", "/api/exports", {
            "camera": "big", "start": segs[0]["wall_start_ms"], "end": segs[-1]["wall_end_ms"]})
        assert status == 202, job
        t0 = time.time()
        while job.get("state") in ("queued", "running"):
            time.sleep(0.5)
            job = c.request("GET", "/api/exports/%d" % job["id"])[2]
        assert job.get("state") == "done", job
        path = os.path.join(v.data, "exports", "%d.mp4" % job["id"])
        size = os.path.getsize(path)
        print("export %d: %.1f MB in %.0f s" % (job["id"], size / 1e6, time.time() - t0))

        run_phase("vigil", v.proc.pid, port, job["file"], {"Cookie": cookie}, args)

        peer_port = free_port()
        peer = subprocess.Popen([PYTHON, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                                 os.path.dirname(path), str(peer_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", peer_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        run_phase("peer", peer.pid, peer_port, "/" + os.path.basename(path), {}, args)

        # One full download without Range, as <a download> does it.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        t0 = time.time()
        c.request("GET", job["file"], headers={"Cookie": cookie})
        r = c.getresponse()
        h = hashlib.sha256()
        n = 0
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        with open(path, "rb") as f:
            disk = hashlib.file_digest(f, "sha256").hexdigest() if hasattr(hashlib, "file_digest") \
                else hashlib.sha256(f.read()).hexdigest()
        print("full download without Range: status %d, %.1f MB in %.1f s, sha256 %s; vigil RSS "
              "after %.1f MiB" % (r.status, n / 1e6, time.time() - t0,
                                  "matches the file" if h.hexdigest() == disk and n == size
                                  else "DIFFERS", rss_kib(v.proc.pid) / 1024))
    finally:
        if peer:
            peer.terminate()
            peer.wait(10)
        v.stop()
        try:
            cam.close()
        except Exception:  # already closed after recording
            pass
        tmp.cleanup()


if __name__ == "__main__":
    main()
