// Playback and export in a real browser: Debian's Chromium (headless) driven by playwright-core.
// Logs in through the API from the page (same origin, session cookie + CSRF token), plays a
// recorded range with hls.js (MediaSource) set up as the web UI sets it up (hls_player.js),
// checks that a first frame is presented from time 0, that time advances and frames are decoded,
// seeks and checks that it plays from there, then exports the range and downloads the MP4 and
// plays that too.
//
//   node tests/browser/playback.test.mjs URL USER PASSWORD CAMERA START_MS END_MS [play-only]
//
// play-only: no export (archived footage, which exports do not read yet; test_archive.py).
// Exits non-zero on the first failed assertion. tests/integration/test_playback.py runs it
// against a real vigil recording a real test camera.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [url, user, password, camera, startMs, endMs, mode] = process.argv.slice(2);
if (!endMs) {
  console.error('usage: playback.test.mjs URL USER PASSWORD CAMERA START_MS END_MS');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const profile = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
try {
  // The index page forbids scripts (CSP default-src 'none'); the test injects hls.js anyway.
  const context = await browser.newContext({ bypassCSP: true, acceptDownloads: true });
  const page = await context.newPage();
  page.on('console', (m) => console.log('page:', m.text()));
  await page.goto(url);

  const login = await page.evaluate(async ([name, password]) => {
    const r = await fetch('/api/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, password }),
    });
    return { status: r.status, body: await r.json() };
  }, [user, password]);
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const csrf = login.body.csrf_token;

  await page.addScriptTag({ path: join(here, 'node_modules/hls.js/dist/hls.min.js') });
  await page.addScriptTag({ path: join(here, 'hls_player.js') });  // the web UI's setup
  const src = `/api/cameras/${camera}/playback.m3u8?start=${startMs}&end=${endMs}`;
  const started = await page.evaluate(async (src) => {
    const video = document.createElement('video');
    video.id = 'v';
    document.body.appendChild(video);
    window.hlsErrors = [];
    const t0 = performance.now();
    // The first frame the element presents, and where it is in the media.
    const firstFrame = new Promise((ok) => video.requestVideoFrameCallback((now, meta) => ok({
      ms: meta.expectedDisplayTime - t0, mediaTime: meta.mediaTime })));
    let player;
    try {
      player = window.vigilPlayRecorded(video, src);
    } catch (e) {
      return { error: String(e) };
    }
    player.hls.on(Hls.Events.ERROR, (_, d) => window.hlsErrors.push(`${d.type} ${d.details} fatal=${d.fatal}`));
    const played = await player.playing.then(() => null, (e) => String(e));
    if (played) return { error: `play: ${played}; hls.js: ${window.hlsErrors.join(', ')}` };
    // Liveness only (no timing criterion): the decoder produced a frame at all.
    const frame = await Promise.race([firstFrame, new Promise((ok) => setTimeout(() => ok(null), 20000))]);
    // Where the time to the first frame went: the requests, relative to the playlist request.
    const fetches = performance.getEntriesByType('resource')
      .filter((e) => e.startTime >= t0 && e.name.includes('/api/'))
      .slice(0, 3)
      .map((e) => `${new URL(e.name).pathname.split('/').slice(-2).join('/')} ` +
                  `at ${(e.startTime - t0).toFixed(0)} ms took ${e.duration.toFixed(0)} ms`);
    const b = video.buffered;
    return { duration: video.duration, frame, fetches, bufferedFrom: b.length ? b.start(0) : null };
  }, src);
  assert.ok(!started.error, started.error);
  assert.ok(started.frame, 'no frame was presented (requestVideoFrameCallback never fired)');
  // The playlist starts on a fragment (a keyframe) whose media lands at time 0: no hole at the
  // start that the player would have to detect and jump.
  assert.ok(started.bufferedFrom !== null && started.bufferedFrom < 0.05,
    `buffered from ${started.bufferedFrom}`);
  // A measurement, not a pass/fail criterion (bench/playback measures it against a peer).
  console.log(`first frame (media time ${started.frame.mediaTime.toFixed(3)} s) on screen ` +
              `${started.frame.ms.toFixed(0)} ms after the playlist request; ` +
              started.fetches.join('; ') + `; buffered from ${started.bufferedFrom.toFixed(3)} s`);

  // Plays: time advances and frames are decoded.
  const playing = async (from, what) => {
    const ok = await page.waitForFunction((from) => {
      const v = document.getElementById('v');
      return v.currentTime > from + 1.0 && v.getVideoPlaybackQuality().totalVideoFrames > 0;
    }, from, { timeout: 15000 }).then(() => true, () => false);
    const state = await page.evaluate(() => {
      const v = document.getElementById('v');
      return { t: v.currentTime, d: v.duration, frames: v.getVideoPlaybackQuality().totalVideoFrames,
               err: v.error && v.error.message, hls: window.hlsErrors };
    });
    assert.ok(ok, `${what}: video does not play: ${JSON.stringify(state)}`);
    console.log(`${what}: playing`, JSON.stringify(state));
    return state;
  };
  const first = await playing(0, 'start');
  assert.ok(first.d > 10, `the playlist covers the range: duration ${first.d}`);

  // Seek forward (into a later segment file) and play from there.
  const target = Math.max(2, first.d - 6);
  await page.evaluate((t) => { document.getElementById('v').currentTime = t; }, target);
  await page.waitForFunction(() => !document.getElementById('v').seeking, null, { timeout: 10000 });
  const afterSeek = await playing(target, 'after seek');
  assert.ok(afterSeek.t >= target, `plays from the seek target ${target}: at ${afterSeek.t}`);

  if (mode !== 'play-only') {
    // Export the range, wait for it, download it.
    const exp = await page.evaluate(async ([camera, start, end, csrf]) => {
      const r = await fetch('/api/exports', {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ camera, start: Number(start), end: Number(end) }),
      });
      let body = await r.json();
      if (r.status !== 202) return { status: r.status, body };
      for (let i = 0; i < 120 && (body.state === 'queued' || body.state === 'running'); i++) {
        await new Promise((ok) => setTimeout(ok, 500));
        body = await (await fetch(`/api/exports/${body.id}`)).json();
      }
      return { status: r.status, body };
    }, [camera, startMs, endMs, csrf]);
    assert.equal(exp.status, 202, JSON.stringify(exp.body));
    assert.equal(exp.body.state, 'done', JSON.stringify(exp.body));

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.evaluate((href) => {
        const a = document.createElement('a');
        a.href = href;
        a.download = '';
        document.body.appendChild(a);
        a.click();
      }, exp.body.file),
    ]);
    assert.match(download.suggestedFilename(), /^vigil-.*\.mp4$/);
    const saved = join(profile, 'export.mp4');
    await download.saveAs(saved);
    const bytes = readFileSync(saved);
    assert.equal(bytes.length, exp.body.bytes);
    assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp');
    console.log(`export: downloaded ${download.suggestedFilename()}, ${bytes.length} bytes`);

    // The export plays in the browser too (progressive MP4).
    await page.evaluate((href) => {
      const v = document.getElementById('v');
      v.remove();
      const e = document.createElement('video');
      e.id = 'v';
      e.muted = true;
      e.src = href;
      document.body.appendChild(e);
      return e.play();
    }, exp.body.file);
    await playing(0, 'export');
  }
  console.log('ok');
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
