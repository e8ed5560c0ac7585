// Playback and export in a real browser: Debian's Chromium (headless) driven by playwright-core.
// Logs in through the API from the page (same origin, session cookie + CSRF token), plays a
// recorded range with hls.js (MediaSource), checks that time advances and frames are decoded,
// seeks and checks that it plays from there, then exports the range and downloads the MP4 and
// plays that too.
//
//   node tests/browser/playback.test.mjs URL USER PASSWORD CAMERA START_MS END_MS
//
// Exits non-zero on the first failed assertion. tests/integration/test_playback.py runs it
// against a real vigil recording a real test camera.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [url, user, password, camera, startMs, endMs] = process.argv.slice(2);
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
  const src = `/api/cameras/${camera}/playback.m3u8?start=${startMs}&end=${endMs}`;
  const started = await page.evaluate(async (src) => {
    if (!window.Hls || !Hls.isSupported()) return { error: 'hls.js: MediaSource not supported' };
    const video = document.createElement('video');
    video.muted = true;
    video.id = 'v';
    document.body.appendChild(video);
    const hls = new Hls({ debug: false });
    window.hlsErrors = [];
    hls.on(Hls.Events.ERROR, (_, d) => window.hlsErrors.push(`${d.type} ${d.details} fatal=${d.fatal}`));
    const t0 = performance.now();
    const firstFrame = Promise.race([
      new Promise((ok) => video.requestVideoFrameCallback(() => ok(performance.now() - t0))),
      new Promise((ok) => setTimeout(() => ok(-1), 15000)),  // playing() below says why
    ]);
    hls.loadSource(src);
    hls.attachMedia(video);
    await new Promise((ok) => hls.on(Hls.Events.MANIFEST_PARSED, ok));
    await video.play();
    const firstFrameMs = await firstFrame;
    // Where the time to the first frame went: the requests, relative to loadSource().
    const fetches = performance.getEntriesByType('resource')
      .filter((e) => e.startTime >= t0 && e.name.includes('/api/'))
      .slice(0, 4)
      .map((e) => `${new URL(e.name).pathname.split('/').slice(-2).join('/')} ` +
                  `at ${(e.startTime - t0).toFixed(0)} ms took ${e.duration.toFixed(0)} ms`);
    const b = video.buffered;
    fetches.push(`buffered from ${b.length ? b.start(0).toFixed(3) : '-'} s`);
    return { duration: video.duration, firstFrameMs, fetches };
  }, src);
  assert.ok(!started.error, started.error);
  // A measurement, not a pass/fail criterion: playlist request to first frame shown.
  console.log(`first frame ${started.firstFrameMs.toFixed(0)} ms after the playlist request; ` +
              started.fetches.join('; '));

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
  console.log('ok');
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
