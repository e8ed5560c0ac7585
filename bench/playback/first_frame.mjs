// Browser half of bench/playback: request -> first decoded frame of recorded footage in headless
// Chromium, for a list of jobs read as JSON from stdin:
//   {"url": ..., "user": ..., "password": ..., "warmup": N,
//    "jobs": [{"variant": "vigil..."|"hlsjs-default"|"progressive", "src": URL, "config": {}}]}
// "vigil" plays an HLS playlist with tests/browser/hls_player.js (the web UI's configuration;
// variants "vigil-..." with some of its settings overridden by "config", to see what each buys),
// "hlsjs-default" the same playlist with hls.js's defaults in the order most examples use
// (loadSource, attachMedia, play on MANIFEST_PARSED), "progressive" a segment file as a plain
// <video src> (Chromium's own MP4 demuxer, byte ranges from the same server): the peer.
// Every job gets a fresh <video> and Hls instance on the same page (hls.js already loaded, as in
// a web UI switching hours). Prints one JSON line per job: first frame and the steps before it,
// in ms from the request. Nothing is asserted.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const browserDir = new URL('../../tests/browser/', import.meta.url);
const { chromium } = createRequire(new URL('package.json', browserDir))('playwright-core');
const input = JSON.parse(readFileSync(0, 'utf8'));

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--autoplay-policy=no-user-gesture-required', '--disable-quic', '--no-first-run'],
});
try {
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  await page.goto(input.url);
  const login = await page.evaluate(async ([name, password]) => (await fetch('/api/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, password }),
  })).status, [input.user, input.password]);
  if (login !== 200) throw new Error(`login: HTTP ${login}`);
  await page.addScriptTag({
    path: fileURLToPath(new URL('node_modules/hls.js/dist/hls.min.js', browserDir)) });
  await page.addScriptTag({ path: fileURLToPath(new URL('hls_player.js', browserDir)) });

  const runJob = (job) => page.evaluate(async (job) => {
    document.querySelectorAll('video').forEach((v) => v.remove());
    performance.clearResourceTimings();
    const video = document.createElement('video');
    video.muted = true;
    document.body.appendChild(video);
    const steps = {};
    const t0 = performance.now();
    const at = (name) => { if (steps[name] === undefined) steps[name] = performance.now() - t0; };
    // The frame's expected display time (it is on screen then, composited off the main thread)
    // and when the page heard of it (later when the main thread is busy, e.g. parsing).
    const firstFrame = new Promise((ok) => video.requestVideoFrameCallback((now, meta) => {
      steps.frame_callback = now - t0;
      ok(meta.expectedDisplayTime - t0);
    }));
    const timeout = new Promise((ok) => setTimeout(() => ok(null), 15000));
    let hls = null;
    let error = null;
    const watch = (h) => {
      h.on(Hls.Events.FRAG_LOADED, (_, d) => { if (d.frag.sn === 0) at('fragment_loaded'); });
      h.on(Hls.Events.BUFFER_APPENDED, (_, d) => { if (d.frag && d.frag.sn === 0) at('fragment_appended'); });
      h.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) error = `${d.type} ${d.details}`; });
      // hls.js's own timing of the playlist: parsed on the page's thread.
      h.on(Hls.Events.LEVEL_LOADED, (_, d) => {
        if (d.stats && d.stats.parsing.end) steps.playlist_parsed = d.stats.parsing.end - t0;
      });
    };
    video.addEventListener('loadedmetadata', () => at('metadata'), { once: true });
    if (job.variant.startsWith('vigil')) {
      const p = window.vigilPlayRecorded(video, job.src, job.config);
      hls = p.hls;
      watch(hls);
      p.playing.catch((e) => { error = String(e); });
    } else if (job.variant === 'hlsjs-default') {
      hls = new Hls();
      watch(hls);
      hls.loadSource(job.src);
      hls.attachMedia(video);
      hls.once(Hls.Events.MANIFEST_PARSED, () => video.play().catch((e) => { error = String(e); }));
    } else {
      video.src = job.src;
      video.play().catch((e) => { error = String(e); });
    }
    const first = await Promise.race([firstFrame, timeout]);
    const res = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/'));
    const playlist = res.find((e) => e.name.includes('.m3u8'));
    const media = res.filter((e) => e.name.includes('/media'));
    if (playlist) steps.playlist = playlist.responseEnd - t0;
    if (job.variant !== 'progressive' && media.length) steps.init = media[0].responseEnd - t0;
    if (job.variant === 'progressive' && media.length) steps.first_response = media[0].responseStart - t0;
    if (hls) hls.destroy();
    video.removeAttribute('src');
    video.load();
    return { variant: job.variant, first_frame_ms: first, steps, error,
      requests: media.length + (playlist ? 1 : 0) };
  }, job);

  for (let i = 0; i < (input.warmup || 0); i++) {
    const seen = new Set();
    for (const j of input.jobs) {
      if (!seen.has(j.variant)) {
        seen.add(j.variant);
        // Reported apart: the very first one also compiles hls.js and starts Chromium's media
        // stack, as the first playback after the web UI's page loads does.
        const r = await runJob(j);
        r.warmup = i === 0 && seen.size === 1 ? 'first on the page' : 'warm-up';
        console.log(JSON.stringify(r));
      }
    }
  }
  for (const job of input.jobs) {
    const r = await runJob(job);
    r.hour = job.hour;
    console.log(JSON.stringify(r));
  }
} finally {
  await browser.close();
}
