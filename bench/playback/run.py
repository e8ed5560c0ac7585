#!/usr/bin/python3
"""bench/playback: request -> first decoded frame of a random recorded hour of a year-long
archive, in headless Chromium, against a progressive-MP4 peer on the same server in the same run.

1. Records a 1080p25 4 Mbit/s H.264 clip (2 s GOP, the clip bench/live uses) from the GStreamer
   test camera with `vigil serve` until it has a few closed 10 s segment files.
2. Builds a year-long archive from them: a catalog with one camera and back-to-back segment rows
   for 365 days (copies of the real rows: same bytes, init part, fragment index, shifted in wall
   time, each under its own path). The rows of the hours asked for are backed by hard links to
   the real files (every other row names a file that does not exist, which only retention or a
   player of that hour would notice).
3. Starts `vigil serve` on that archive (the camera disabled: nothing records) and asks for N
   random hours in Chromium (bench/playback/first_frame.mjs): each variant gets a fresh <video>
   on a page that has hls.js loaded, as a web UI switching hours does:
     vigil          the hour's HLS playlist with tests/browser/hls_player.js (the web UI's setup)
     hlsjs-default  the same playlist with hls.js defaults (how the first browser test played it)
     progressive    the segment file holding the hour's start as a plain <video src> (Chromium's
                    own MP4 demuxer, byte ranges from the same server): the peer
   and, with --ablation, the vigil setup with one of its settings put back to hls.js's default
   (or, for startFragPrefetch, one more setting that was a suspect).
Prints p50/p99 of request -> first frame (requestVideoFrameCallback) per variant, the steps of
the HLS variants (playlist received and parsed, init part, first fragment loaded, appended,
loadedmetadata) and the
ratios. Also the playlist's server-side latency over the year (plain HTTP from Python).
A measurement, never a test: nothing is asserted.

    bench/playback/run.py [--hours 30] [--warmup 1] [--ablation] [--audio] [--days 365] [--keep]
"""
import argparse
import datetime
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import VIGIL_BIN, RtspCamera, Vigil, make_clip  # noqa: E402
from test_serve import Client  # noqa: E402

CAMERA = "cam"
HOUR_MS = 3600 * 1000
# Settings of tests/browser/hls_player.js put back to hls.js's defaults, one at a time, and a
# suspect that measured no better (startFragPrefetch: attaching the media before loading the
# playlist already overlaps the MediaSource's opening with the playlist request).
ABLATION = {
    "vigil-worker": {"enableWorker": True},
    "vigil-prefetch": {"startFragPrefetch": True},
    "vigil-buffer30": {"maxBufferLength": 30, "maxMaxBufferLength": 600},
}


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))] if v else float("nan")


def record_real_segments(work, clip, count):
    """Real segment rows (dicts) and their files, recorded by vigil from the test camera."""
    os.makedirs(work)
    cam = RtspCamera({CAMERA: clip})
    v = Vigil(work, [{"id": CAMERA, "url": cam.url(CAMERA)}], segment_seconds=10).start()
    try:
        closed = lambda: [s for s in v.segments(CAMERA) if s["state"] == "closed"]
        v.wait_for(lambda: len(closed()) >= count, 60 + 15 * count, "%d closed segments" % count)
        # The first file starts with the connection, the others at a keyframe after a cut:
        # only full-length files are used.
        rows = closed()[1:count] if len(closed()) > count else closed()[:count]
    finally:
        v.stop()
        cam.close()
    return v, rows


def segment_path(camera, start_ms):
    t = datetime.datetime.fromtimestamp(start_ms / 1000, datetime.timezone.utc)
    return "recordings/%s/%s/%d.mp4" % (camera, t.strftime("%Y/%m/%d/%H"), start_ms)


def build_archive(rec, rows, data, days, end_ms):
    """A catalog of `days` of back-to-back copies of `rows` ending at end_ms; returns
    [(id, wall_start_ms, wall_end_ms, real_row)] in time order."""
    os.makedirs(data)
    # The recording's catalog, already migrated and with its accounts, minus its footage.
    src = sqlite3.connect(os.path.join(rec.data, "vigil.db"))
    dst = sqlite3.connect(os.path.join(data, "vigil.db"))
    src.backup(dst)
    src.close()
    dst.execute("PRAGMA synchronous=OFF")
    for table in ("segment", "gap"):
        dst.execute("DELETE FROM %s" % table)
    # Off the hour, so that an hour starts inside a file and inside a fragment, as it usually
    # does: the playlist then starts at the keyframe before the hour.
    start_ms = end_ms - days * 24 * HOUR_MS + 3700
    index = []
    t = start_ms
    n = 0
    while t < end_ms:
        r = rows[n % len(rows)]
        length = r["wall_end_ms"] - r["wall_start_ms"]
        n += 1
        index.append((n, t, t + length, r))
        t += length
    cols = ("id", "camera_id", "state", "path", "wall_start_ms", "wall_end_ms",
            "media_duration_90k", "bytes", "init_bytes", "fragment_index", "sha256", "video_codec",
            "width", "height", "has_audio", "close_reason")
    dst.executemany(
        "INSERT INTO segment (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
        ((i, CAMERA, "closed", segment_path(CAMERA, a), a, b, r["media_duration_90k"], r["bytes"],
          r["init_bytes"], r["fragment_index"], r["sha256"], r["video_codec"], r["width"],
          r["height"], r["has_audio"], r["close_reason"]) for i, a, b, r in index))
    dst.commit()
    dst.close()
    return index


def link_hour(rec, data, index, hour_ms):
    """Hard links for the rows overlapping [hour_ms, hour_ms + 1 h); the first one's id."""
    first = None
    for i, a, b, r in index:
        if b <= hour_ms or a >= hour_ms + HOUR_MS:
            continue
        if first is None:
            first = i
        dst = os.path.join(data, segment_path(CAMERA, a))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            os.link(os.path.join(rec.data, r["path"]), dst)
    return first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=int, default=30, help="random hours asked for")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds of every variant first")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--ablation", action="store_true",
                    help="also the web UI setup with one setting at a time back to its default")
    ap.add_argument("--audio", action="store_true",
                    help="a clip with an AAC track (Chromium then starts its audio output too)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()

    clip_args = ["--codec", "h264", "--seconds", "30", "--size", "1920x1080", "--fps", "25",
                 "--bitrate", "4M"] + (["--audio"] if a.audio else [])
    clip = make_clip("bench-live" + ("-aac" if a.audio else ""), *clip_args)
    work = tempfile.mkdtemp(prefix="vigil-bench-playback-")
    try:
        rec, rows = record_real_segments(os.path.join(work, "rec"), clip, 3)
        print("recorded %d real segment files: %s" % (len(rows), ", ".join(
            "%.1f s / %.1f MB / %d B init" % ((r["wall_end_ms"] - r["wall_start_ms"]) / 1000,
                                               r["bytes"] / 1e6, r["init_bytes"]) for r in rows)))
        arch = os.path.join(work, "archive")
        os.makedirs(arch)
        end_ms = (int(time.time() * 1000) // HOUR_MS - 24) * HOUR_MS
        t0 = time.time()
        index = build_archive(rec, rows, os.path.join(arch, "data"), a.days, end_ms)
        print("archive: %d segment rows over %d days for camera %s, built in %.0f s" %
              (len(index), a.days, CAMERA, time.time() - t0))
        rnd = random.Random(a.seed)
        hours = sorted(rnd.sample(range(1, a.days * 24 - 1), a.hours))
        hour_ms = [end_ms - a.days * 24 * HOUR_MS + h * HOUR_MS for h in hours]
        first_ids = [link_hour(rec, os.path.join(arch, "data"), index, h) for h in hour_ms]

        v = Vigil(arch, [{"id": CAMERA, "url": "rtsp://127.0.0.1:9/disabled", "enabled": False}])
        subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "bench", "--role", "viewer"],
                       input="bench-password\n", text=True, check=True, capture_output=True)
        v.start()
        try:
            url = v.web_url(timeout=120)
            client = Client(url)
            if client.login("bench", "bench-password")[0] != 200:
                sys.exit("login failed:\n" + v.log()[-2000:])
            # Server side: the playlist of an hour, over plain HTTP (a new connection each).
            server_ms = []
            for h in hour_ms:
                q = "/api/cameras/%s/playback.m3u8?start=%d&end=%d" % (CAMERA, h, h + HOUR_MS)
                t = time.perf_counter()
                st, _, _, body = client.request("GET", q)
                server_ms.append((time.perf_counter() - t) * 1000)
                if st != 200:
                    sys.exit("playlist %s answered %d: %s" % (q, st, body[:300]))
            print("playlist of an hour (%d bytes, %d fragments), HTTP from Python: p50 %.1f ms, "
                  "p99 %.1f ms" % (len(body), body.count(b"#EXTINF"), pct(server_ms, 0.5),
                                   pct(server_ms, 0.99)))

            variants = ["vigil", "hlsjs-default", "progressive"]
            if a.ablation:
                variants += list(ABLATION)
            jobs = []
            for k, (h, first) in enumerate(zip(hour_ms, first_ids)):
                hls_src = "/api/cameras/%s/playback.m3u8?start=%d&end=%d" % (CAMERA, h, h + HOUR_MS)
                # Rotate the order so that no variant always runs right after another.
                for var in variants[k % len(variants):] + variants[:k % len(variants)]:
                    job = {"variant": var, "hour": h, "config": ABLATION.get(var, {}),
                           "src": ("/api/segments/%d/media" % first) if var == "progressive"
                           else hls_src}
                    jobs.append(job)
            out = subprocess.run(
                ["node", os.path.join(HERE, "first_frame.mjs")],
                input=json.dumps({"url": url, "user": "bench", "password": "bench-password",
                                  "warmup": a.warmup, "jobs": jobs}),
                capture_output=True, text=True, timeout=120 + 20 * len(jobs))
            if out.returncode != 0:
                sys.exit("first_frame.mjs failed:\n" + out.stdout + out.stderr)
            results = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
        finally:
            v.stop()
        report(results, variants, a)
    finally:
        if a.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(results, variants, a):
    print("\nrequest -> first frame on screen (requestVideoFrameCallback's expectedDisplayTime), "
          "%d random hours of a %d-day archive%s, headless Chromium, hls.js 1.7.4:" %
          (a.hours, a.days, " (video + AAC audio)" if a.audio else ""))
    first = [r for r in results if r.get("warmup") == "first on the page"]
    if first:
        print("  first playback on a fresh page (%s, untimed warm-up, not in the figures): "
              "%.0f ms" % (first[0]["variant"], first[0]["first_frame_ms"] or float("nan")))
    results = [r for r in results if "warmup" not in r]
    summary = {}
    for var in variants:
        rs = [r for r in results if r["variant"] == var]
        ok = [r["first_frame_ms"] for r in rs if r["first_frame_ms"] is not None and not r["error"]]
        failed = len(rs) - len(ok)
        summary[var] = (pct(ok, 0.5), pct(ok, 0.99))
        steps = {}
        for r in rs:
            for k, val in r["steps"].items():
                steps.setdefault(k, []).append(val)
        order = ["playlist", "playlist_parsed", "init", "fragment_loaded", "fragment_appended",
                 "metadata", "frame_callback"]
        step_text = ", ".join("%s %.0f" % (k, statistics.median(steps[k])) for k in order
                              if k in steps)
        print("  %-18s p50 %6.0f ms  p99 %6.0f ms  max %6.0f ms  (%d runs%s)%s" % (
            var, pct(ok, 0.5), pct(ok, 0.99), max(ok) if ok else float("nan"), len(ok),
            ", %d FAILED" % failed if failed else "",
            "\n  %18s medians (ms from the request): %s" % ("", step_text) if step_text else ""))
        for r in rs:
            if r["error"]:
                print("    error:", r["error"])
    v, p, d = summary["vigil"], summary["progressive"], summary["hlsjs-default"]
    print("ratio vigil HLS / progressive MP4 peer: p50 %.2f, p99 %.2f" % (v[0] / p[0], v[1] / p[1]))
    print("ratio vigil HLS / hls.js defaults:      p50 %.2f, p99 %.2f" % (v[0] / d[0], v[1] / d[1]))
    print("goal: p99 < 300 ms: %s" % ("met" if v[1] < 300 else "NOT met"))


if __name__ == "__main__":
    main()
