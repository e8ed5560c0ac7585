// Live view in a real browser: Debian's Chromium (headless, through playwright-core) logs in to
// a running vigil through the API from a same-origin page, plays a camera's live stream through
// MediaSource, and must show moving video: currentTime advances and frames are decoded.
// The player is tests/browser/live_player.js. Plain node; exits non-zero on failure.
//
//   node tests/browser/live.test.mjs --url http://127.0.0.1:PORT/ --user NAME --password PW \
//        --camera ID [--seconds 15]
// tests/integration/test_browser.py starts vigil and a camera and runs this.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
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

const playerPath = fileURLToPath(new URL('./live_player.js', import.meta.url));

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
    await page.addScriptTag({ path: playerPath });
    const mime = await page.evaluate((a) => window.vigilPlayLive(a),
      { camera: opt.camera, user: opt.user, password: opt.password });
    console.log('live type:', mime);
    assert.match(mime, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/);

    const read = () => page.evaluate(() => {
      const v = window.vigilLive.video;
      return {
        currentTime: v.currentTime,
        frames: v.getVideoPlaybackQuality().totalVideoFrames,
        readyState: v.readyState,
        bytes: window.vigilLive.state.bytes,
        prft: window.vigilLive.prft.size,
        error: window.vigilLive.state.error || (v.error && v.error.message) || null,
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
    assert.ok(last.prft > 0, 'no prft (wall time) boxes in the stream');
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
