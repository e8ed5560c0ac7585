#!/usr/bin/python3
"""bench/motion: CPU per camera and detection agreement, vigil's analysis vs Debian's Motion.

Both read the same RTSP streams (one GStreamer RTSP server, tests/fixtures/rtsp_camera.py, a
shared live stream per mount) in the same run:
  - vigil: build/bench/motion/vigil_bench_analyze (vigil's native RTSP client -> CameraAnalyzer,
    default settings), one process per stream;
  - Motion 4.5 (`motion -n -c FILE`, default detection; movie/picture output, web control and
    stream off; netcam_params rtsp_transport=tcp), one process per stream.
Streams (the same footage at two sizes, looped):
  - main: 1920x1080 25 fps H.264 4 Mbit/s, 2 s GOP (vigil: main stream, adaptive decoding);
  - sub:  640x360 25 fps H.264 512 kbit/s, 2 s GOP (vigil: sub stream, every frame decoded);
  - idle: 1920x1080 25 fps 4 Mbit/s, a still scene with sensor noise (an empty room): CPU only.
Footage with known ground truth: vtest.avi (Debian opencv-doc, pedestrians) spliced with frozen
frames of itself plus sensor noise, and a light step on a frozen frame; motion truth intervals
below (clip time, s). CPU is utime+stime from /proc/PID/stat (all threads) over the measured
window, in % of one core; agreement is computed from each detector's event intervals
(detections merged over gaps < 2 s; Motion: on_event_start/on_event_end with event_gap 1).

  bench/motion/run.py [--seconds 112] [--warmup 8] [--sub-adaptive] [--main-unsampled]
                      [--only main,sub,idle] [--json FILE]
(--main-unsampled: also the 1080p main stream decoded in full while motion lasts, i.e. without
sampling sustained motion, on its own mount, for comparison in the same run.)
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(BENCH_DIR))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
from harness import RtspCamera, spawn  # noqa: E402

DRIVER = os.environ.get("VIGIL_BENCH_ANALYZE",
                        os.path.join(SOURCE_DIR, "build", "bench", "motion", "vigil_bench_analyze"))
CACHE = os.path.join(SOURCE_DIR, "bench", ".cache")
VTEST = os.path.join(SOURCE_DIR, "build", "test-cache", "vtest.avi")
TICK = os.sysconf("SC_CLK_TCK")

# Sensor noise is added after the conversion to 25 fps, so that every frame has its own noise as
# a camera's do (duplicated frames would make every third packet tiny).
# Clip layout (seconds): frozen first frame, busy, frozen, busy (after a cut), frozen, then a
# frozen frame whose light drops by a third at 49 s and comes back at 53 s.
LOOP = 56.0
TRUTH = [(8.0, 20.0), (30.0, 40.0)]
# After people freeze mid-step, any background model needs a few seconds to accept them;
# those seconds count neither for nor against a detector.
SETTLE = 6.0
# How far off the estimate of clip time 0 may be (ms).
ORIGIN_SLACK_MS = 250


def log(msg):
    sys.stderr.write("[bench/motion %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def make_clips():
    os.makedirs(CACHE, exist_ok=True)
    spliced = os.path.join(CACHE, "motion-truth.mkv")
    if not os.path.exists(spliced):
        if not os.path.exists(VTEST):
            subprocess.run([os.path.join(SOURCE_DIR, "scripts", "fetch-test-data")], check=True)
        fc = ("[0:v]trim=0:12,setpts=PTS-STARTPTS,tpad=start_duration=8:start_mode=clone:"
              "stop_duration=10:stop_mode=clone[a];"
              "[0:v]trim=40:50,setpts=PTS-STARTPTS,tpad=stop_duration=16:stop_mode=clone,"
              "eq=brightness=-0.25:enable='between(t,19,23)'[b];"
              "[a][b]concat=n=2:v=1,fps=25,noise=alls=6:allf=t[v]")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", VTEST,
                        "-filter_complex", fc, "-map", "[v]", "-c:v", "libx264", "-crf", "16",
                        "-preset", "veryfast", spliced + ".tmp.mkv"], check=True)
        os.rename(spliced + ".tmp.mkv", spliced)
    out = {}
    # A camera on an empty room: the frozen first frame with sensor noise, nothing moves. Its
    # first 10 s are left out (below): x264's constant-bitrate control takes that long to settle
    # into the GOP shape it keeps (the last ten P-frames before a keyframe shrink to 1-9 KB), and
    # looped, that restart looked like a change to the size trigger every loop; a camera's
    # encoder never restarts like that.
    idle = os.path.join(CACHE, "motion-idle.mkv")
    if not os.path.exists(idle):
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", VTEST,
                        "-filter_complex", "[0:v]trim=0:0.1,setpts=PTS-STARTPTS,tpad=stop_duration="
                        "30:stop_mode=clone,fps=25,noise=alls=6:allf=t[v]", "-map", "[v]", "-c:v",
                        "libx264", "-crf", "16", "-preset", "veryfast", idle + ".tmp.mkv"],
                       check=True)
        os.rename(idle + ".tmp.mkv", idle)
    for name, size, rate, src in (("main", "1920x1080", "4M", spliced),
                                  ("sub", "640x360", "512k", spliced),
                                  ("idle", "1920x1080", "4M", idle)):
        stem = "idle-steady" if name == "idle" else name
        path = os.path.join(CACHE, "motion-%s.mp4" % stem)
        if not os.path.exists(path):
            subprocess.run([os.path.join(SOURCE_DIR, "tests", "fixtures", "make_clip.sh"),
                            path + ".tmp.mp4", "--from", src, "--size", size, "--fps", "25",
                            "--bitrate", rate, "--gop-seconds", "2"], check=True)
            if name == "idle":
                # 10 whole GOPs from 10 s on (stream copy: cut at keyframes).
                subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", "10",
                                "-i", path + ".tmp.mp4", "-t", "20", "-c", "copy", "-movflags",
                                "+faststart", path + ".cut.mp4"], check=True)
                os.replace(path + ".cut.mp4", path + ".tmp.mp4")
            os.rename(path + ".tmp.mp4", path)
        out[name] = path
    return out


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


MOTION_CONF = """daemon off
setup_mode off
log_level 6
netcam_url {url}
netcam_params rtsp_transport=tcp
movie_output off
picture_output off
webcontrol_port 0
stream_port 0
event_gap 1
on_event_start {hook} start
on_event_end {hook} end
target_dir {dir}
"""

HOOK = """#!/bin/sh
echo "$1 $(date +%s%3N)" >> "{file}"
"""


class Motion:
    def __init__(self, url, workdir, name):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.events = os.path.join(self.dir, "events.txt")
        hook = os.path.join(self.dir, "hook.sh")
        with open(hook, "w") as f:
            f.write(HOOK.format(file=self.events))
        os.chmod(hook, 0o755)
        conf = os.path.join(self.dir, "motion.conf")
        with open(conf, "w") as f:
            f.write(MOTION_CONF.format(url=url, hook=hook, dir=self.dir))
        self.log = open(os.path.join(self.dir, "motion.log"), "w")
        self.proc = spawn(["motion", "-n", "-c", conf], stdout=self.log, stderr=subprocess.STDOUT)

    def intervals(self, end_ms):
        out, start = [], None
        if os.path.exists(self.events):
            for line in open(self.events):
                kind, ms = line.split()
                if kind == "start":
                    start = int(ms)
                elif start is not None:
                    # Motion ends an event event_gap (1 s) after the last motion.
                    out.append((start, int(ms) - 1000))
                    start = None
        if start is not None:
            out.append((start, end_ms))
        return out

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class VigilAnalyzer:
    def __init__(self, url, seconds, extra):
        self.lines = []
        self.proc = spawn([DRIVER, url, str(seconds), *extra], stdout=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def intervals(self, end_ms, kind="motion", gap_ms=2000):
        out, start = [], None
        for line in self.lines:
            parts = line.split()
            if len(parts) != 3 or parts[1] != kind:
                continue
            ms = int(parts[0])
            if parts[2] == "on":
                if out and start is None and ms - out[-1][1] < gap_ms:
                    start = out.pop()[0]
                elif start is None:
                    start = ms
            elif start is not None:
                out.append((start, ms))
                start = None
        if start is not None:
            out.append((start, end_ms))
        return out

    def origin_ms(self):
        for line in self.lines:
            parts = line.split()
            if len(parts) == 2 and parts[1] == "start":
                return int(parts[0])
        return None

    def stats(self):
        for line in self.lines:
            if line.startswith("stats "):
                return dict(kv.split("=") for kv in line.split()[1:])
        return {}


def truth_intervals(origin_ms, end_ms):
    """Busy intervals (wall ms) and the settle spans to ignore, given clip time 0 at origin."""
    busy, ignore = [], []
    k = 0
    while origin_ms + k * LOOP * 1000 < end_ms:
        base = origin_ms + k * LOOP * 1000
        for a, b in TRUTH:
            busy.append((base + a * 1000, base + b * 1000))
            ignore.append((base + b * 1000, base + (b + SETTLE) * 1000))
        # The loop's wrap is a cut (frozen people jump to other places): a real change. Clip
        # time 0 is estimated (vigil's first analysed frame) and may be some ms late: the span
        # starts a little before the cut.
        ignore.append((base - ORIGIN_SLACK_MS, base + SETTLE * 1000))
        k += 1
    return busy, ignore


def overlap(a, b):
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def score(detected, busy, ignore, window):
    """Event precision/recall and time-based precision/recall inside `window`."""
    clip = lambda iv: (max(iv[0], window[0]), min(iv[1], window[1]))  # noqa: E731
    detected = [clip(d) for d in detected if overlap(d, window) > 0]
    busy = [clip(b) for b in busy if overlap(b, window) > 500]
    hit = sum(1 for b in busy if any(overlap(b, d) > 0 for d in detected))
    # An event is true when it overlaps a busy period or begins in an ignored span: a response
    # to the freeze or the loop's cut, which are real changes of the picture. What such an
    # event lasts beyond the span counts against time precision, not as a false event.
    true_events = sum(1 for d in detected
                      if any(overlap(d, b) > 0 for b in busy) or
                      any(i[0] <= d[0] < i[1] for i in ignore))
    det_ms = sum(d[1] - d[0] for d in detected)
    ignored_ms = sum(overlap(d, i) for d in detected for i in ignore)
    busy_ms = sum(b[1] - b[0] for b in busy)
    tp_ms = sum(overlap(d, b) for d in detected for b in busy)
    return {
        "events": len(detected),
        "event_precision": true_events / len(detected) if detected else 1.0,
        "event_recall": hit / len(busy) if busy else 1.0,
        "time_precision": tp_ms / max(1, det_ms - ignored_ms) if det_ms else 1.0,
        "time_recall": tp_ms / busy_ms if busy_ms else 1.0,
    }


def run_case(cam, name, seconds, warmup, workdir, vigil_extra, truth=True):
    url = cam.url(name)
    log("%s: starting vigil and Motion on %s for %d s" % (name, url, seconds))
    vigil = VigilAnalyzer(url, seconds + warmup + 2, vigil_extra)
    # The mount's shared stream starts with its first client: clip time 0 is about now.
    origin_ms = time.time() * 1000
    time.sleep(0.5)
    motion = Motion(url, workdir, name)
    time.sleep(warmup)
    c0 = {"vigil": cpu_seconds(vigil.proc.pid), "motion": cpu_seconds(motion.proc.pid)}
    t0 = time.time()
    time.sleep(seconds)
    c1 = {"vigil": cpu_seconds(vigil.proc.pid), "motion": cpu_seconds(motion.proc.pid)}
    t1 = time.time()
    motion.stop()
    vigil.proc.wait(30)
    vigil.reader.join(5)
    end_ms = t1 * 1000
    window = (t0 * 1000, end_ms)
    # Clip time 0: vigil's first analysed frame (the stream's first keyframe) when known.
    origin_ms = vigil.origin_ms() or origin_ms
    busy, ignore = truth_intervals(origin_ms, end_ms) if truth else ([], [])
    res = {"seconds": t1 - t0}
    for who in ("vigil", "motion"):
        res[who + "_cpu_pct"] = 100.0 * (c1[who] - c0[who]) / (t1 - t0)
    res["vigil"] = score(vigil.intervals(end_ms), busy, ignore, window)
    res["motion"] = score(motion.intervals(end_ms), busy, ignore, window)
    res["vigil_stats"] = vigil.stats()
    res["vigil_events"] = [((a - origin_ms) / 1000 % LOOP, (b - a) / 1000)
                           for a, b in vigil.intervals(end_ms) if overlap((a, b), window) > 0]
    res["motion_events"] = [((a - origin_ms) / 1000 % LOOP, (b - a) / 1000)
                            for a, b in motion.intervals(end_ms) if overlap((a, b), window) > 0]
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=112, help="measured window (2 loops)")
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--idle-seconds", type=int, default=60, help="measured window, idle camera")
    ap.add_argument("--sub-adaptive", action="store_true",
                    help="also the sub stream with adaptive decoding (keyframes while idle)")
    ap.add_argument("--main-unsampled", action="store_true",
                    help="also the main stream decoded in full while motion lasts (no sampling)")
    ap.add_argument("--only", help="comma-separated cases: main,sub,idle (default: all)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if not shutil.which("motion"):
        sys.exit("bench/motion: Debian's motion is not installed (scripts/deps)")
    if not os.path.exists(DRIVER):
        sys.exit("bench/motion: build %s first (cmake --build build --target "
                 "vigil_bench_analyze)" % DRIVER)
    clips = make_clips()
    workdir = tempfile.mkdtemp(prefix="vigil-bench-motion-")
    mounts = {"main": clips["main"], "sub": clips["sub"], "idle": clips["idle"]}
    if args.sub_adaptive:
        # Its own mount: a shared stream starts with its first client (clip time 0).
        mounts["subadaptive"] = clips["sub"]
    if args.main_unsampled:
        mounts["mainfull"] = clips["main"]
    cam = RtspCamera(mounts)
    results = {}
    try:
        only = set(args.only.split(",")) if args.only else {"main", "sub", "idle"}
        if "main" in only:
            results["1080p main stream"] = run_case(cam, "main", args.seconds, args.warmup,
                                                    workdir, [])
        if args.main_unsampled:
            results["1080p main, unsampled"] = run_case(cam, "mainfull", args.seconds,
                                                        args.warmup, workdir, ["--no-sampling"])
        if "sub" in only:
            results["360p sub stream"] = run_case(cam, "sub", args.seconds, args.warmup, workdir,
                                                  ["--sub"])
        if args.sub_adaptive:
            results["360p sub, adaptive"] = run_case(cam, "subadaptive", args.seconds,
                                                     args.warmup, workdir,
                                                     ["--sub", "--decode", "adaptive"])
        # CPU only: nothing moves, so no truth intervals (every event is a false one).
        if "idle" in only:
            results["1080p main, idle"] = run_case(cam, "idle", args.idle_seconds, args.warmup,
                                                   workdir, [], truth=False)
    finally:
        cam.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print("%-18s %10s %10s %7s | %-38s | %-38s" % ("stream", "vigil %", "Motion %", "ratio",
                                                  "vigil events P/R, time P/R",
                                                  "Motion events P/R, time P/R"))
    for name, r in results.items():
        v, m = r["vigil"], r["motion"]
        print("%-18s %10.2f %10.2f %6.1fx | %2d ev  %.2f/%.2f  %.2f/%.2f          | "
              "%2d ev  %.2f/%.2f  %.2f/%.2f" %
              (name, r["vigil_cpu_pct"], r["motion_cpu_pct"],
               r["motion_cpu_pct"] / max(r["vigil_cpu_pct"], 1e-9),
               v["events"], v["event_precision"], v["event_recall"], v["time_precision"],
               v["time_recall"], m["events"], m["event_precision"], m["event_recall"],
               m["time_precision"], m["time_recall"]))
        print("    vigil:  %s" % r["vigil_stats"])
        print("    vigil events (clip s, duration):  %s" %
              ", ".join("%.1f+%.1f" % e for e in r["vigil_events"]))
        print("    Motion events (clip s, duration): %s" %
              ", ".join("%.1f+%.1f" % e for e in r["motion_events"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
