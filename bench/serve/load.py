#!/usr/bin/python3
"""bench/serve, load part: API latency while 8 cameras record and 50 viewers watch live.

One GStreamer RTSP test camera process serves the 1080p25 4 Mbit/s H.264 clip bench/live and
bench/playback use on 8 mounts; one `vigil serve` records all 8 (10 s segment files). After the
first closed files, a client on one keep-alive connection (as a browser tab has) asks in turn
  GET /api/me, GET /api/cameras, GET /api/cameras/{id}/timeline (the last hour),
  GET /api/cameras/{id}/playback.m3u8 (the closed files so far, ~a minute)
at --rate rounds a second, twice in the same run:
  baseline  the 8 cameras recording, nobody watching;
  loaded    the same plus 50 live viewers (GET /api/cameras/{id}/live.mp4, spread over the 8
            cameras) reading continuously, from a separate process (so that their reading
            does not share the measuring client's interpreter).
Prints p50/p99 per route for both and the ratio loaded/baseline, vigil's CPU (utime+stime of
all its threads, /proc) and the machine's in each phase, what the viewers received, and whether
recording stayed whole: no gap rows, no dropped packets, files back to back, viewers' skips and
drops from /metrics. A measurement, never a test: nothing is asserted.

    bench/serve/load.py [--seconds 30] [--viewers 50] [--cameras 8] [--rate 5]
"""
import argparse
import asyncio
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import PYTHON, VIGIL_BIN, RtspCamera, Vigil, make_clip  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))] if v else float("nan")


def proc_cpu_s(pid):
    """utime + stime of all threads of `pid`, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_cpu():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class KeepAlive:
    """One persistent HTTP/1.1 connection with the session cookie, as a browser tab has."""

    def __init__(self, url, cookie):
        host, port = url.split("//")[1].rstrip("/").split(":")
        self.addr = (host, int(port))
        self.cookie = cookie
        self.conn = None

    def get(self, target):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(*self.addr, timeout=30)
            try:
                t = time.perf_counter()
                self.conn.request("GET", target, headers={"Cookie": self.cookie})
                r = self.conn.getresponse()
                body = r.read()
                return r.status, (time.perf_counter() - t) * 1000, body
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive connection: reconnect once, untimed.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise


def measure(url, cookie, cameras, window, seconds, rate):
    """Latencies (ms) per route, asked round-robin at `rate` rounds a second."""
    client = KeepAlive(url, cookie)
    lat = {"me": [], "cameras": [], "timeline": [], "playlist": []}
    deadline = time.time() + seconds
    n = 0
    while time.time() < deadline:
        round_start = time.time()
        cam = cameras[n % len(cameras)]
        now_ms = int(time.time() * 1000)
        for route, target in (
                ("me", "/api/me"),
                ("cameras", "/api/cameras"),
                ("timeline", "/api/cameras/%s/timeline?start=%d&end=%d" %
                 (cam, now_ms - 3600 * 1000, now_ms)),
                ("playlist", "/api/cameras/%s/playback.m3u8?start=%d&end=%d" %
                 (cam, window[cam][0], window[cam][1]))):
            status, ms, body = client.get(target)
            if status != 200:
                sys.exit("%s answered %d: %s" % (target, status, body[:300]))
            lat[route].append(ms)
        n += 1
        time.sleep(max(0.0, 1.0 / rate - (time.time() - round_start)))
    return lat


async def viewers_main(url, cookie, cameras, count, seconds):
    """Child process: `count` live viewers reading as fast as vigil sends; prints bytes each."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    received = [0] * count
    statuses = [None] * count

    async def view(i):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(("GET /api/cameras/%s/live.mp4 HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n" %
                      (cameras[i % len(cameras)], cookie)).encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        statuses[i] = int(head.split(b" ", 2)[1])
        end = time.time() + seconds
        while time.time() < end:
            piece = await reader.read(1 << 20)
            if not piece:
                break
            received[i] += len(piece)
        writer.close()

    print("started", flush=True)
    await asyncio.gather(*(view(i) for i in range(count)), return_exceptions=True)
    print(json.dumps({"received": received, "statuses": statuses}), flush=True)


def metric(text, name, camera):
    m = re.search(r'^%s\{camera="%s"\} (\S+)' % (name, camera), text, re.M)
    return float(m.group(1)) if m else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=30, help="length of each measured phase")
    ap.add_argument("--viewers", type=int, default=50)
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--rate", type=float, default=5, help="rounds of the 4 requests a second")
    ap.add_argument("--viewers-child", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.viewers_child:
        url, cookie, cams, secs = a.viewers_child
        asyncio.run(viewers_main(url, cookie, cams.split(","), a.viewers, float(secs)))
        return

    clip = make_clip("bench-live", "--codec", "h264", "--seconds", "30", "--size", "1920x1080",
                     "--fps", "25", "--bitrate", "4M")
    cameras = ["cam%d" % i for i in range(a.cameras)]
    cam = RtspCamera({c: clip for c in cameras})
    with tempfile.TemporaryDirectory(prefix="vigil-bench-serve-") as work:
        v = Vigil(work, [{"id": c, "url": cam.url(c)} for c in cameras], segment_seconds=10)
        subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "bench", "--role", "admin"],
                       input="bench-password\n", text=True, check=True, capture_output=True)
        v.start()
        try:
            url = v.web_url()
            conn = KeepAlive(url, "")
            host, port = conn.addr
            c = http.client.HTTPConnection(host, port, timeout=30)
            c.request("POST", "/api/login", body=json.dumps({"name": "bench",
                                                             "password": "bench-password"}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            cookie = r.getheader("Set-Cookie").split(";")[0]
            closed = lambda cam_id: [s for s in v.segments(cam_id) if s["state"] == "closed"]
            v.wait_for(lambda: all(len(closed(x)) >= 2 for x in cameras), 120,
                       "2 closed segments per camera")
            window = {x: (closed(x)[0]["wall_start_ms"], closed(x)[-1]["wall_end_ms"])
                      for x in cameras}
            measure(url, cookie, cameras, window, 3, a.rate)  # warm-up: connections, caches
            load_start_ms = int(time.time() * 1000)

            results = {}
            for phase in ("baseline", "loaded"):
                child = None
                if phase == "loaded":
                    child = subprocess.Popen(
                        [PYTHON, os.path.abspath(__file__), "--viewers", str(a.viewers),
                         "--viewers-child", url, cookie, ",".join(cameras),
                         str(a.seconds + 8)], stdout=subprocess.PIPE, text=True)
                    child.stdout.readline()
                    time.sleep(3)  # every viewer attached and streaming
                    metrics = KeepAlive(url, cookie).get("/metrics")[2].decode()
                    watching = sum(metric(metrics, "vigil_live_viewers", x) for x in cameras)
                cpu0, m0, t0 = proc_cpu_s(v.proc.pid), machine_cpu(), time.time()
                lat = measure(url, cookie, cameras, window, a.seconds, a.rate)
                cpu1, m1, t1 = proc_cpu_s(v.proc.pid), machine_cpu(), time.time()
                results[phase] = {
                    "lat": lat,
                    "vigil_cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
                    "machine_cpu_pct": 100 * os.cpu_count() * (m1[0] - m0[0]) / (m1[1] - m0[1]),
                }
                if child:
                    out = json.loads(child.stdout.readline())
                    child.wait(60)
                    results[phase]["viewers"] = out
                    results[phase]["watching"] = watching
            load_end_ms = int(time.time() * 1000)
            metrics = KeepAlive(url, cookie).get("/metrics")[2].decode()
            status = v.status()
        finally:
            v.stop()
            cam.close()
        report(a, results, v, cameras, status, metrics, load_start_ms, load_end_ms)


def report(a, results, v, cameras, status, metrics, load_start_ms, load_end_ms):
    base, loaded = results["baseline"], results["loaded"]
    print("\nAPI latency, one keep-alive client, %d cameras recording (1080p25 4 Mbit/s), "
          "%d s per phase, %g rounds/s:" % (a.cameras, a.seconds, a.rate))
    print("  %-10s %22s %22s %14s" % ("route", "baseline p50 / p99", "%d viewers p50 / p99" % a.viewers,
                                      "ratio p50/p99"))
    for route in ("me", "cameras", "timeline", "playlist"):
        b, l = base["lat"][route], loaded["lat"][route]
        print("  %-10s %10.2f / %6.2f ms %10.2f / %6.2f ms %7.2f / %5.2f   (%d requests)" % (
            route, pct(b, 0.5), pct(b, 0.99), pct(l, 0.5), pct(l, 0.99),
            pct(l, 0.5) / pct(b, 0.5), pct(l, 0.99) / pct(b, 0.99), len(l)))
    for phase in ("baseline", "loaded"):
        r = results[phase]
        print("  %-8s vigil CPU %5.1f %% of a core, machine %5.1f %% (of %d cores x 100 %%)" % (
            phase, r["vigil_cpu_pct"], r["machine_cpu_pct"], os.cpu_count()))
    view = loaded["viewers"]
    rec = view["received"]
    seconds = a.seconds + 8
    print("  viewers: %d watching (vigil_live_viewers), HTTP %s; received per viewer min %.2f, "
          "median %.2f, max %.2f Mbit/s over %d s" % (
              loaded["watching"], sorted(set(view["statuses"]), key=str),
              min(rec) * 8 / seconds / 1e6, pct(rec, 0.5) * 8 / seconds / 1e6,
              max(rec) * 8 / seconds / 1e6, seconds))
    skips = sum(metric(metrics, "vigil_live_skips_total", x) for x in cameras)
    drops = sum(metric(metrics, "vigil_live_drops_total", x) for x in cameras)
    print("  viewers skipped %d times, dropped %d (vigil_live_skips_total, _drops_total)" %
          (skips, drops))
    # Recording stayed whole while they watched.
    gaps = v.query("SELECT camera_id, wall_start_ms, wall_end_ms, reason FROM gap")
    holes = []
    for x in cameras:
        segs = [s for s in v.segments(x) if s["wall_end_ms"] >= load_start_ms - 10000 and
                s["wall_start_ms"] <= load_end_ms]
        for p, q in zip(segs, segs[1:]):
            if p["state"] == "closed" and q["wall_start_ms"] - p["wall_end_ms"] > 250:
                holes.append((x, p["wall_end_ms"], q["wall_start_ms"]))
    dropped = {c["id"]: c.get("packets_dropped") for c in (status or {}).get("cameras", [])}
    states = {c["id"]: c.get("state") for c in (status or {}).get("cameras", [])}
    print("  recording: %d gap rows, %d holes > 250 ms between files during the run, packets "
          "dropped %s, states %s" % (len(gaps), len(holes), sorted(set(dropped.values()), key=str),
                                      sorted(set(states.values()), key=str)))
    for g in gaps + holes:
        print("    ", g)


if __name__ == "__main__":
    main()
