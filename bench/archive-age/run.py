#!/usr/bin/python3
"""bench/archive-age: does a year of footage cost what a day costs? (issue 22)

In one run, the same `vigil serve` setup on three catalogs:
  fresh  a new catalog: nothing recorded yet;
  year   a synthetic catalog of --days (365) of back-to-back --segment-seconds (60) segment
         rows for each of --cameras (32) cameras (copies of a segment row vigil recorded in the
         fresh phase: same bytes, init part and fragment index, a random SHA-256, each under its
         own path), an event every ~15 minutes per camera (motion, some tamper; 8-28 s long, with
         a snapshot path), an audit row every ~7 minutes, a 15 s gap per camera per day. It is
         built with SQL inside SQLite (recursive CTEs), through the schema and triggers vigil
         made, in a few minutes. The rows' files do not exist (a year of 32 cameras is ~500 TB).
  edge   a fresh catalog holding only the year's oldest stretch (a quarter of an hour more than
         the phase lasts): retention deletes each camera's oldest file as often as in the year
         phase, the rest is the fresh phase's, so year / edge compares idle CPU like with like.
Every configuration lists the --cameras cameras; --recording (8) of them record the 1080p25
4 Mbit/s H.264 clip bench/serve and bench/playback use from one GStreamer RTSP test server
(the 2-core machine cannot serve 32 such streams), the others are disabled (their archive is
still counted by every status, metrics scrape and storage page). Retention: max_days = --days,
so in the year phase retention deletes the oldest minute of every camera each minute, as it does
on a real year-old recorder.

Measured per catalog: start-up (spawn -> HTTP answers, and -> every recording camera writing a
file), vigil's CPU (utime+stime of all its threads from /proc) over --idle-seconds with the
cameras recording and nobody asking, then p50/p99 of GET /api/cameras, /api/cameras/{id},
/api/settings/storage, /metrics, the timeline of the last day and of the last 30 days
(/api/cameras/{id}/timeline) and the events list (/api/events), --requests each, in turn on one
keep-alive connection; after vigil stops, one retention pass (bench/archive-age's
vigil_bench_retention: the pass that deletes what became due, then a steady-state pass) and
`vigil check` (without --hash; in the year catalog every row's file is missing, so it stats
every row and reports each: a lower bound of a real check, which also reads every file's boxes),
and the time the first start after an upgrade spends migrating: the year catalog copied and
brought back to schema 4 (then 3), opened by the catalog (migration 5; 4 and 5). The file ending
where a day's gap begins makes every day a run of its own.
Prints the figures and the ratios year / fresh. A measurement, never a test: nothing is asserted.

    bench/archive-age/run.py [--cameras 32] [--recording 8] [--days 365] [--segment-seconds 120]
                             [--idle-seconds 60] [--requests 200] [--keep] [--no-check]
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench", "serve"))
from harness import VIGIL_BIN, RtspCamera, Vigil, make_clip  # noqa: E402
from load import KeepAlive, machine_cpu, pct, proc_cpu_s  # noqa: E402
from test_serve import Client  # noqa: E402

DAY_MS = 24 * 3600 * 1000
RETENTION_BIN = os.environ.get(
    "VIGIL_BENCH_RETENTION",
    os.path.join(os.path.dirname(VIGIL_BIN), "..", "..", "bench", "archive-age",
                 "vigil_bench_retention"))
MIN_FREE = 1 << 30
ROUTES = ("cameras", "camera", "storage", "metrics", "timeline_day", "timeline_month", "events")


def make_vigil(workdir, a, rtsp):
    os.makedirs(workdir)
    cams = []
    for i in range(a.cameras):
        cam = "cam%02d" % i
        if i < a.recording:
            cams.append({"id": cam, "url": rtsp.url(cam)})
        else:
            cams.append({"id": cam, "url": "rtsp://127.0.0.1:9/not-recording", "enabled": False})
    return Vigil(workdir, cams, segment_seconds=a.segment_seconds,
                 extra_toml='min_free_space = "1GiB"\n[retention]\nmax_days = %d\n' % a.days)


def add_user(v):
    subprocess.run([VIGIL_BIN, "-c", v.config, "user", "add", "bench", "--role", "admin"],
                   input="bench-password\n", text=True, check=True, capture_output=True)


def count(v, sql, args=()):
    return v.query(sql, args)[0]["n"]


def run_phase(name, v, a):
    """Start-up, idle CPU and route latencies of one `vigil serve`; stops it."""
    recording = ["cam%02d" % i for i in range(a.recording)]
    load0 = os.getloadavg()[0]
    t0 = time.time()
    v.start()
    try:
        url = v.web_url(timeout=300)
        http_s = time.time() - t0
        # Every recording camera writing a file begun after this start.
        v.wait_for(lambda: count(v, "SELECT COUNT(DISTINCT camera_id) AS n FROM segment "
                                    "WHERE state = 'writing' AND state != 'closed' "
                                    "AND wall_start_ms >= ?",
                                 (int(t0 * 1000),)) == len(recording), 300,
                   "every camera recording")
        rec_s = time.time() - t0
        client = Client(url)
        if client.login("bench", "bench-password")[0] != 200:
            sys.exit("login failed:\n" + v.log()[-2000:])
        # Settle: connections up, first status files written, caches warm.
        time.sleep(a.settle_seconds)
        cpu0, m0, w0 = proc_cpu_s(v.proc.pid), machine_cpu(), time.time()
        time.sleep(a.idle_seconds)
        cpu1, m1, w1 = proc_cpu_s(v.proc.pid), machine_cpu(), time.time()
        idle = {"vigil_cpu_pct": 100 * (cpu1 - cpu0) / (w1 - w0),
                "machine_cpu_pct": 100 * os.cpu_count() * (m1[0] - m0[0]) / (m1[1] - m0[1]),
                "load": os.getloadavg()[0]}

        keep = KeepAlive(url, client.cookie)
        lat = {r: [] for r in ROUTES}
        cam = recording[0]
        for n in range(a.requests + 5):
            now_ms = int(time.time() * 1000)
            targets = {
                "cameras": "/api/cameras",
                "camera": "/api/cameras/%s" % cam,
                "storage": "/api/settings/storage",
                "metrics": "/metrics",
                "timeline_day": "/api/cameras/%s/timeline?start=%d&end=%d" % (
                    cam, now_ms - DAY_MS, now_ms),
                "timeline_month": "/api/cameras/%s/timeline?start=%d&end=%d" % (
                    cam, now_ms - 30 * DAY_MS, now_ms),
                "events": "/api/events",
            }
            for route in ROUTES:
                status, ms, body = keep.get(targets[route])
                if status != 200:
                    sys.exit("%s answered %d: %s" % (targets[route], status, body[:300]))
                if n >= 5:  # the first rounds warm up
                    lat[route].append(ms)
        cpu_total = proc_cpu_s(v.proc.pid)
        if name == "fresh":
            # The year catalog is made of copies of a full-length file recorded here.
            v.wait_for(lambda: count(v, "SELECT COUNT(*) AS n FROM segment "
                                        "WHERE state = 'closed' "
                                        "AND wall_end_ms - wall_start_ms >= ?",
                                     ((a.segment_seconds - 2) * 1000,)) > 0,
                       a.segment_seconds + 60, "a closed full-length segment")
    finally:
        v.stop(timeout=60)
    return {"name": name, "load_before": load0, "http_s": http_s, "recording_s": rec_s,
            "idle": idle, "lat": lat, "cpu_total_s": cpu_total}


def retention_pass(data, days):
    out = subprocess.run([RETENTION_BIN, data, str(days), str(MIN_FREE)],
                         capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        sys.exit("vigil_bench_retention failed:\n" + out.stdout + out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def check(v, a):
    if a.no_check:
        return {"s": 0.0, "rc": 0, "summary": "not run (--no-check)"}
    t = time.time()
    with open(os.path.join(v.workdir, "check.out"), "w") as f:
        rc = subprocess.run([VIGIL_BIN, "-c", v.config, "check"], stdout=f,
                            stderr=subprocess.DEVNULL, timeout=7200).returncode
    seconds = time.time() - t
    with open(os.path.join(v.workdir, "check.out")) as f:
        lines = f.read().splitlines()
    return {"s": seconds, "rc": rc, "summary": lines[-1] if lines else ""}


def template_row(v, a):
    """The longest closed segment vigil recorded in the fresh phase (a full-length file)."""
    rows = v.query("SELECT * FROM segment WHERE state = 'closed' "
                   "ORDER BY media_duration_90k DESC LIMIT 1")
    if not rows:
        sys.exit("the fresh phase recorded no closed segment; raise --idle-seconds")
    r = rows[0]
    length = r["wall_end_ms"] - r["wall_start_ms"]
    if length < (a.segment_seconds - 5) * 1000:
        print("note: the longest recorded segment is %.1f s (segment_seconds %d)" %
              (length / 1000, a.segment_seconds))
    return r


def build_year(db_path, tpl, a, end_ms, span_ms=None):
    """Fills the (migrated, empty) catalog with the synthetic archive ending at end_ms; with
    span_ms, only its oldest span_ms (what retention deletes next), as the edge phase has it."""
    length = tpl["wall_end_ms"] - tpl["wall_start_ms"]
    per_camera = a.days * DAY_MS // length
    start_ms = end_ms - per_camera * length
    if span_ms is not None:
        per_camera = span_ms // length
        span_days = span_ms / DAY_MS
    else:
        span_days = a.days
    c = sqlite3.connect(db_path, isolation_level=None)
    # A bulk load: no journal, no fsync (the file is thrown away if this fails).
    c.execute("PRAGMA journal_mode=OFF")
    c.execute("PRAGMA synchronous=OFF")
    c.execute("PRAGMA cache_size=-1000000")
    c.execute("CREATE TEMP TABLE cams (id TEXT, n INTEGER)")
    c.executemany("INSERT INTO cams VALUES (?, ?)",
                  [("cam%02d" % i, i) for i in range(a.cameras)])
    c.execute("CREATE TEMP TABLE tpl (media_duration_90k, bytes, init_bytes, fragment_index, "
              "video_codec, width, height, has_audio)")
    c.execute("INSERT INTO tpl VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              (tpl["media_duration_90k"], tpl["bytes"], tpl["init_bytes"], tpl["fragment_index"],
               tpl["video_codec"], tpl["width"], tpl["height"], tpl["has_audio"]))
    t = time.time()
    # In time order, every camera's row of each minute together, as recorders insert them.
    chunk = 30 * DAY_MS // length
    for first in range(0, per_camera, chunk):
        last = min(per_camera, first + chunk) - 1
        c.execute("BEGIN")
        c.execute(
            "WITH RECURSIVE t(k) AS (SELECT ?3 UNION ALL SELECT k + 1 FROM t WHERE k < ?4) "
            "INSERT INTO segment (camera_id, state, path, wall_start_ms, wall_end_ms, "
            "media_duration_90k, bytes, init_bytes, fragment_index, sha256, video_codec, width, "
            "height, has_audio, close_reason) "
            "SELECT c.id, 'closed', 'recordings/' || c.id || '/' || "
            "strftime('%Y/%m/%d/%H', (?1 + t.k * ?2) / 1000, 'unixepoch') || '/' || "
            "(?1 + t.k * ?2) || '.mp4', ?1 + t.k * ?2, "
            # The file the day's gap (below) falls in ends where the gap begins.
            "CASE WHEN ?1 + (t.k * ?2 / 86400000) * 86400000 + c.n * 60000 + 20000 "
            "          BETWEEN ?1 + t.k * ?2 AND ?1 + (t.k + 1) * ?2 - 1 "
            "     THEN ?1 + (t.k * ?2 / 86400000) * 86400000 + c.n * 60000 + 20000 "
            "     ELSE ?1 + (t.k + 1) * ?2 END, "
            "tpl.media_duration_90k, tpl.bytes, tpl.init_bytes, tpl.fragment_index, "
            "randomblob(32), tpl.video_codec, tpl.width, tpl.height, tpl.has_audio, 'duration' "
            "FROM t CROSS JOIN cams AS c CROSS JOIN tpl",
            (start_ms, length, first, last))
        c.execute("COMMIT")
        print("  segments: %d of %d days in %.0f s" % (
            (last + 1) * length // DAY_MS, a.days, time.time() - t), flush=True)
    events_per_camera = int(span_days * 96)  # every 15 minutes
    c.execute("BEGIN")
    c.execute(
        "WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < ?2 - 1) "
        "INSERT INTO event (camera_id, type, state, start_ms, end_ms, zones, peak_score, "
        "peak_ms, box_x, box_y, box_w, box_h, armed, snapshot, close_reason) "
        "SELECT cam, CASE WHEN k % 50 = 0 THEN 'tamper_covered' ELSE 'motion' END, 'closed', s, "
        "s + 8000 + (k % 6) * 4000, ',entrance,', 0.3 + (k % 7) * 0.1, s + 3000, 0.2, 0.3, 0.1, "
        "0.25, 1, 'snapshots/' || cam || '/' || s || '.jpg', 'ended' FROM "
        "(SELECT c.id AS cam, t.k AS k, ?1 + t.k * 900000 + c.n * 13000 AS s "
        " FROM t CROSS JOIN cams AS c)",
        (start_ms, events_per_camera))
    audit_rows = int(span_days * 200)
    c.execute(
        "WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < ?2 - 1) "
        "INSERT INTO audit (at_ms, user_name, address, action, camera_id, range_start_ms, "
        "range_end_ms, detail) "
        "SELECT ?1 + k * 432000, 'bench', '127.0.0.1', "
        "CASE k % 4 WHEN 0 THEN 'playback' WHEN 1 THEN 'live_start' WHEN 2 THEN 'live_stop' "
        "ELSE 'export' END, 'cam' || printf('%02d', k % ?3), ?1 + k * 432000 - 3600000, "
        "?1 + k * 432000, '' FROM t",
        (start_ms, audit_rows, a.cameras))
    c.execute(
        "WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < ?2 - 1) "
        "INSERT INTO gap (camera_id, wall_start_ms, wall_end_ms, reason) "
        "SELECT c.id, ?1 + t.k * 86400000 + c.n * 60000 + 20000, "
        "?1 + t.k * 86400000 + c.n * 60000 + 35000, 'camera unreachable' "
        "FROM t CROSS JOIN cams AS c",
        (start_ms, max(1, int(span_days))))
    c.execute("COMMIT")
    c.execute("PRAGMA journal_mode=WAL")
    n = {table: c.execute("SELECT COUNT(*) FROM %s" % table).fetchone()[0]
         for table in ("segment", "event", "audit", "gap")}
    c.close()
    return n, time.time() - t


# Undo migrations 5 and 4 (catalog.cpp) on a copy of the year catalog, to time the first start
# of a vigil that brings them to an archive made before them.
# Migrations 6-14 (chain, holds and audit chain, token scopes, till transactions, second factor,
# text index by moment and by till, covering till index, the index's words) undone first, newest first: the timed
# migrations below are 5 and 4 (the later ones add tables and columns on an archive without
# reading it).
UNDO_AFTER_5 = (
    "DROP TABLE recovery_code; DROP TABLE user_totp; "
    "DROP TABLE till_text_word; DROP TABLE till_transaction_fts; DROP TABLE till_receipt_line; "
    "DROP TABLE till_transaction_item; DROP TABLE till_transaction; "
    "ALTER TABLE api_token DROP COLUMN tills; "
    "ALTER TABLE api_token DROP COLUMN scope; ALTER TABLE api_token DROP COLUMN expires_ms; "
    "DROP TABLE hold_camera; DROP TABLE hold; DROP TRIGGER audit_no_update; "
    "ALTER TABLE audit DROP COLUMN link; "
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, "
    "'the audit log is append-only'); END; "
    "DROP TABLE chain_entry; DROP TABLE checkpoint; DROP TABLE signing_key; ")
UNDO_MIGRATION_5 = UNDO_AFTER_5 + (
    "DROP TRIGGER segment_run_insert; DROP TRIGGER segment_run_grow; "
    "DROP TRIGGER segment_run_move; DROP TRIGGER segment_run_delete; DROP TABLE segment_run; "
    "DROP TRIGGER gap_longest_insert; DROP TABLE gap_longest; DROP INDEX event_start; "
    "DROP INDEX event_camera_type_start; DROP INDEX audit_user_at; DROP INDEX audit_action_at; "
    "DROP INDEX audit_camera_at; PRAGMA user_version = 4;")
UNDO_MIGRATION_4 = (
    "DROP TRIGGER segment_usage_insert; DROP TRIGGER segment_usage_delete; "
    "DROP TRIGGER segment_usage_update; DROP TABLE camera_usage; "
    "DROP INDEX segment_camera_end; DROP INDEX segment_camera_span; "
    "CREATE INDEX segment_camera_start ON segment (camera_id, wall_start_ms); "
    "DROP TRIGGER event_longest_insert; DROP TRIGGER event_longest_update; "
    "DROP TABLE event_longest; DROP TABLE events_judged; PRAGMA user_version = 3;")


def migrations(v, a):
    """Seconds the catalog takes to open on a copy of the year catalog brought back to schema 4
    (migration 5 runs) and to schema 3 (4 and 5 run): the first start after an upgrade."""
    out = {}
    for name, undo in (("5", UNDO_MIGRATION_5), ("4+5", UNDO_MIGRATION_5 + UNDO_MIGRATION_4)):
        d = os.path.join(v.workdir, "migrate")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        shutil.copy(os.path.join(v.data, "vigil.db"), d)  # vigil stopped: no WAL left
        c = sqlite3.connect(os.path.join(d, "vigil.db"), isolation_level=None)
        c.executescript(undo)
        c.close()
        out[name] = retention_pass(d, a.days)["open_ms"] / 1000
        shutil.rmtree(d)
        print("  migration %s: %.1f s" % (name, out[name]), flush=True)
    return out


def report(a, fresh, edge, year, built, rows, size):
    print("\n%d cameras in the configuration, %d recording 1080p25 4 Mbit/s from the test server;"
          " year catalog: %s segment rows (%d days of %d s segments), %s events, %s audit rows, "
          "%s gaps, %.1f GB, built in %.0f s; edge catalog: the year's oldest %s segment rows" % (
              a.cameras, a.recording, format(rows["segment"], ","), a.days,
              a.segment_seconds, format(rows["event"], ","), format(rows["audit"], ","),
              format(rows["gap"], ","), size / 1e9, built, format(edge["rows"]["segment"], ",")))
    print("%-34s %16s %16s %16s %10s %10s" % ("", "fresh", "edge", "year", "year/fresh",
                                              "year/edge"))

    def line(label, f, e, y, unit, fmt="%.1f"):
        print("%-34s %16s %16s %16s %10s %10s" % (
            label, (fmt % f) + unit, (fmt % e) + unit, (fmt % y) + unit,
            "%.2f" % (y / f) if f else "-", "%.2f" % (y / e) if e else "-"))

    phases = (fresh, edge, year)
    line("vigil CPU idle (% of a core)", *(p["idle"]["vigil_cpu_pct"] for p in phases), " %",
         "%.2f")
    line("machine CPU meanwhile (of 200 %)", *(p["idle"]["machine_cpu_pct"] for p in phases),
         " %")
    line("load average before the phase", *(p["load_before"] for p in phases), "", "%.2f")
    line("start-up: HTTP answers", *(p["http_s"] for p in phases), " s", "%.2f")
    line("start-up: every camera recording", *(p["recording_s"] for p in phases), " s", "%.2f")
    for route in ROUTES:
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            line("%s %s" % (route, label), *(pct(p["lat"][route], q) for p in phases), " ms",
                 "%.2f")
    for key, label in (("first", "retention pass (due)"), ("second", "retention pass (steady)")):
        print("%-34s %16s %16s %16s" % ((label,) + tuple(
            "%.1f ms / %d del" % (p["retention"][key + "_ms"], p["retention"][key + "_deleted"])
            for p in phases)))
    print("%-34s %16s" % ("retention catch-up after the build", "%.1f ms / %d deleted" % (
        year["catch_up"]["first_ms"], year["catch_up"]["first_deleted"])))
    line("vigil check (no --hash)", *(p["check"]["s"] for p in phases), " s", "%.1f")
    for name, seconds in year["migrations"].items():
        print("%-34s %16s" % ("upgrade: migration %s on the year" % name, "%.1f s" % seconds))
    for p in phases:
        print("  %s check: %s" % (p["name"], p["check"]["summary"]))
    worst = max(pct(year["lat"][r], 0.99) for r in ROUTES)
    # The edge phase deletes as often as the year phase does; the fresh one deletes nothing.
    cpu_ratio = year["idle"]["vigil_cpu_pct"] / edge["idle"]["vigil_cpu_pct"]
    print("targets: CPU within 10 %% of a fresh catalog deleting as often (edge): %s (%.2f; "
          "%.2f against fresh); every p99 < 50 ms: %s (worst %.1f ms); start-up < 5 s: %s "
          "(%.2f s)" % (
              "met" if cpu_ratio <= 1.10 else "NOT met", cpu_ratio,
              year["idle"]["vigil_cpu_pct"] / fresh["idle"]["vigil_cpu_pct"],
              "met" if worst < 50 else "NOT met", worst,
              "met" if year["recording_s"] < 5 else "NOT met", year["recording_s"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=32, help="cameras with a year of footage")
    ap.add_argument("--recording", type=int, default=8, help="of which recording live")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--segment-seconds", type=int, default=120, help="vigil's default")
    ap.add_argument("--settle-seconds", type=int, default=20)
    ap.add_argument("--idle-seconds", type=int, default=60)
    ap.add_argument("--requests", type=int, default=200, help="per route")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--no-check", action="store_true",
                    help="skip `vigil check` (~8 minutes on the year catalog)")
    a = ap.parse_args()
    if not os.path.exists(RETENTION_BIN):
        sys.exit("%s missing: build the target vigil_bench_retention" % RETENTION_BIN)

    clip = make_clip("bench-live", "--codec", "h264", "--seconds", "30", "--size", "1920x1080",
                     "--fps", "25", "--bitrate", "4M")
    rtsp = RtspCamera({"cam%02d" % i: clip for i in range(a.recording)})
    work = tempfile.mkdtemp(prefix="vigil-bench-archive-age-")
    try:
        v = make_vigil(os.path.join(work, "fresh"), a, rtsp)
        add_user(v)
        fresh = run_phase("fresh", v, a)
        fresh["retention"] = retention_pass(v.data, a.days)
        fresh["check"] = check(v, a)
        tpl = template_row(v, a)
        print("fresh: done; a recorded segment: %.1f s, %.1f MB, init %d B, fragment index %d B"
              % ((tpl["wall_end_ms"] - tpl["wall_start_ms"]) / 1000, tpl["bytes"] / 1e6,
                 tpl["init_bytes"], len(tpl["fragment_index"])), flush=True)

        # Like with like for idle CPU: a fresh catalog holding only the oldest stretch of the
        # year, so that retention deletes each camera's oldest file as often as in the year
        # phase while the rest of the work is the fresh phase's.
        e = make_vigil(os.path.join(work, "edge"), a, rtsp)
        add_user(e)
        span_s = 2 * (a.settle_seconds + a.idle_seconds) + 900
        edge_rows, _ = build_year(os.path.join(e.data, "vigil.db"), tpl, a,
                                  int(time.time() * 1000), span_ms=span_s * 1000)
        os.sync()
        edge = run_phase("edge", e, a)
        edge["rows"] = edge_rows
        edge["retention"] = retention_pass(e.data, a.days)
        edge["check"] = check(e, a)
        shutil.rmtree(e.workdir, ignore_errors=True)

        y = make_vigil(os.path.join(work, "year"), a, rtsp)
        add_user(y)  # makes and migrates the catalog
        print("building the year catalog ...", flush=True)
        rows, built = build_year(os.path.join(y.data, "vigil.db"), tpl, a,
                                 int(time.time() * 1000))
        size = os.path.getsize(os.path.join(y.data, "vigil.db"))
        os.sync()  # the phase must not measure the kernel writing the new catalog back
        catch_up = retention_pass(y.data, a.days)  # what became due while it was built
        year = run_phase("year", y, a)
        year["catch_up"] = catch_up
        year["retention"] = retention_pass(y.data, a.days)
        year["check"] = check(y, a)
        year["migrations"] = migrations(y, a)
        report(a, fresh, edge, year, built, rows, size)
        with open(os.path.join(work, "results.json"), "w") as f:
            json.dump({"fresh": fresh, "edge": edge, "year": year, "rows": rows}, f)
    finally:
        rtsp.close()
        if a.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
