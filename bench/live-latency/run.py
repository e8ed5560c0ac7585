#!/usr/bin/python3
"""bench/live: camera -> browser latency of vigil's live view on loopback.

Starts the GStreamer test camera (a 1080p25 H.264 clip, 2 s GOP, 4 Mbit/s, looped in real
time), a `vigil serve` recording it, and headless Chromium playing it live
(bench/live-latency/latency.mjs). For every frame Chromium presents it takes the presentation
wall time minus the wall time at which vigil wrote the frame's fragment (prft box): the time a
frame spends in vigil, on the wire and in the browser's decode and render. Printed, not
asserted. Goal: < 300 ms.
    bench/live [--seconds 20] [--size 1920x1080] [--fps 25]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import VIGIL_BIN, RtspCamera, Vigil, make_clip  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--fps", default="25")
    a = ap.parse_args()
    clip = make_clip("bench-live", "--codec", "h264", "--seconds", "30", "--size", a.size,
                     "--fps", a.fps, "--bitrate", "4M")
    cam = RtspCamera({"cam": clip})
    with tempfile.TemporaryDirectory(prefix="vigil-bench-live-") as work:
        v = Vigil(work, [{"id": "cam", "url": cam.url("cam")}],
                  extra_toml="[http]\nport = 0\n").start()
        try:
            url = v.web_url()
            subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "bench", "--role", "viewer"],
                           input="bench-password\n", text=True, check=True, capture_output=True)
            v.wait_for(lambda: (v.camera_status("cam") or {}).get("state") == "streaming", 30,
                       "the camera streaming")
            out = subprocess.run(["node", os.path.join(HERE, "latency.mjs"), "--url", url,
                                  "--user", "bench", "--password", "bench-password",
                                  "--camera", "cam", "--seconds", str(a.seconds)],
                                 capture_output=True, text=True, timeout=a.seconds + 120)
            if out.returncode != 0:
                sys.exit("latency.mjs failed:\n" + out.stdout + out.stderr)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print("live view %s@%s fps, vigil fragment written -> Chromium presents the frame, "
                  "%d frames: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (goal < 300 ms)"
                  % (a.size, a.fps, r["frames"], r["p50_ms"], r["p90_ms"], r["p99_ms"],
                     r["max_ms"]))
        finally:
            v.stop()
            cam.close()


if __name__ == "__main__":
    main()
