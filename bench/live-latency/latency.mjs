// Browser half of bench/live: plays a camera live in headless Chromium (tests/browser's
// live_player.js) and, for every frame the browser presents (requestVideoFrameCallback), takes
// presentation wall time minus the wall time vigil wrote that frame's fragment (the prft box in
// the stream). Same machine, same clock. Prints one JSON line of the latencies in ms.
//   node bench/live-latency/latency.mjs --url URL --user U --password P --camera ID --seconds N
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const browserDir = new URL('../../tests/browser/', import.meta.url);
const { chromium } = createRequire(new URL('package.json', browserDir))('playwright-core');
const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' },
    camera: { type: 'string' }, seconds: { type: 'string', default: '20' },
  },
});

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--autoplay-policy=no-user-gesture-required', '--disable-quic', '--no-first-run'],
});
try {
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  await page.goto(opt.url);
  await page.addScriptTag({ path: fileURLToPath(new URL('live_player.js', browserDir)) });
  await page.evaluate((a) => window.vigilPlayLive(a),
    { camera: opt.camera, user: opt.user, password: opt.password });
  const result = await page.evaluate(async (seconds) => {
    const { video, prft } = window.vigilLive;
    const lat = [];
    let unmatched = 0;
    await new Promise((done) => {
      const start = performance.now();
      const until = start + (seconds + 3) * 1000;
      const onFrame = (now, meta) => {
        const wall = prft.get(Math.round(meta.mediaTime * 1000));
        // expectedDisplayTime is on the performance clock; timeOrigin makes it wall time.
        // The first 3 s are the start-up catch-up through the cached GOP (remuxed at attach).
        if (now - start >= 3000) {
          if (wall === undefined) unmatched++;
          else lat.push(performance.timeOrigin + meta.expectedDisplayTime - wall);
        }
        if (performance.now() < until) video.requestVideoFrameCallback(onFrame);
        else done();
      };
      video.requestVideoFrameCallback(onFrame);
    });
    return { lat, unmatched };
  }, Number(opt.seconds));
  const lat = result.lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  console.log(JSON.stringify({ frames: lat.length, unmatched: result.unmatched,
    p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99), max_ms: lat[lat.length - 1] }));
} finally {
  await browser.close();
}
