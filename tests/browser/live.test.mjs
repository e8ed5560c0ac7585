// Live view in a real browser: Debian's Chromium (headless, through playwright-core) logs in to
// a running vigil through the API from a same-origin page, plays a camera's live stream through
// MediaSource, and must show moving video: currentTime advances and frames are decoded.
// Plain node; exits non-zero on failure.
//
//   node tests/browser/live.test.mjs --url http://127.0.0.1:PORT/ --user NAME --password PW \
//        --camera ID [--seconds 15]
// tests/integration/test_browser.py starts vigil and a camera and runs this.
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    camera: { type: 'string' },
    seconds: { type: 'string', default: '15' },
  },
});
for (const k of ['url', 'user', 'password', 'camera']) assert.ok(opt[k], `--${k} is required`);

// The player a web UI would use (a string, evaluated in the page). It logs in
// (same origin: the session cookie rides along), fetches the chunked live fMP4, and appends it
// to a MediaSource SourceBuffer of the type vigil announces in Content-Type. After a skip (a slow
// viewer resumes at the next keyframe) the buffer has a gap: the player jumps to the newest
// range, and it keeps within about a second of the live edge.
const playerSource = `async ({ camera, user, password }) => {
  const login = await fetch('/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: user, password }),
  });
  if (!login.ok) throw new Error('login: HTTP ' + login.status + ' ' + (await login.text()));
  const res = await fetch('/api/cameras/' + camera + '/live.mp4');
  if (!res.ok) throw new Error('live: HTTP ' + res.status + ' ' + (await res.text()));
  const mime = res.headers.get('content-type');
  if (!MediaSource.isTypeSupported(mime)) throw new Error('this browser cannot play ' + mime);
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.appendChild(video);
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
  const sb = ms.addSourceBuffer(mime);
  const queue = [];
  const state = { bytes: 0, ended: false, error: null, mime };
  const pump = () => {
    if (!sb.updating && queue.length) sb.appendBuffer(queue.shift());
  };
  sb.addEventListener('updateend', () => {
    const b = video.buffered;
    if (b.length) {
      const start = b.start(b.length - 1), end = b.end(b.length - 1);
      if (video.currentTime < start) video.currentTime = start;
      else if (end - video.currentTime > 1.0) video.currentTime = end - 0.2;
      // Keep the buffer small: live view never looks back.
      if (!sb.updating && video.currentTime - b.start(0) > 10) {
        sb.remove(b.start(0), video.currentTime - 5);
        return;
      }
    }
    pump();
  });
  (async () => {
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) { state.ended = true; break; }
      state.bytes += value.byteLength;
      queue.push(value);
      pump();
    }
  })().catch((e) => { state.error = String(e); });
  video.play().catch(() => {});
  window.__vigil = { video, state };
  return mime;
}`;

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--autoplay-policy=no-user-gesture-required', '--disable-quic', '--no-first-run',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    // vigil's placeholder page forbids everything by CSP (default-src 'none'); the player here
    // stands in for the web UI, which will ship its own policy, so the test page bypasses it.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    page.on('console', (m) => console.log('page:', m.text()));
    await page.goto(opt.url);
    const mime = await page.evaluate(`(${playerSource})(${JSON.stringify({
      camera: opt.camera, user: opt.user, password: opt.password })})`);
    console.log('live type:', mime);
    assert.match(mime, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/);

    const read = () => page.evaluate(() => {
      const v = window.__vigil.video;
      return {
        currentTime: v.currentTime,
        frames: v.getVideoPlaybackQuality().totalVideoFrames,
        readyState: v.readyState,
        bytes: window.__vigil.state.bytes,
        error: window.__vigil.state.error || (v.error && v.error.message) || null,
        width: v.videoWidth,
        height: v.videoHeight,
      };
    });
    const deadline = Date.now() + Number(opt.seconds) * 1000;
    let first = null;
    let last = null;
    while (Date.now() < deadline) {
      last = await read();
      assert.equal(last.error, null, 'player error');
      if (!first && last.currentTime > 0) first = last;
      if (first && last.currentTime >= first.currentTime + 2 && last.frames > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log('first:', JSON.stringify(first), 'last:', JSON.stringify(last));
    assert.ok(first, 'video.currentTime never moved from 0');
    assert.ok(last.currentTime >= first.currentTime + 2,
      `currentTime advanced only ${last.currentTime - first.currentTime} s`);
    assert.ok(last.frames > 0, 'no decoded frames');
    assert.ok(last.width > 0 && last.height > 0, 'no picture size');
    console.log('live view plays in Chromium: 1 passed, 0 failed');
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error('live view in Chromium FAILED:', e);
  process.exit(1);
});
