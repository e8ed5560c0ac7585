// The web UI playing the file being recorded, in Debian's Chromium against a real vigil whose
// camera has recorded for less than one segment (so every recorded moment is in the open file):
// a click on the timeline near its end (the present) plays from there, frames are decoded, the
// playlist the page got was a live (EVENT) one of a file still being written, and playback goes
// on past the end of that first playlist into fragments written since (hls.js reloading it).
//
//   node tests/browser/recent_playback.test.mjs '{"url", "user", "password", "camera", "shots"}'
//
// tests/integration/test_playback.py (RecentPlayback) runs it. Exits non-zero on the first failed
// step.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { launchChromium, openPage, openRecordings, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'user', 'password', 'camera', 'shots']) if (!opts[k]) throw new Error(`missing ${k}`);
mkdirSync(opts.shots, { recursive: true });

// The wall time where a playlist's listed footage ends: its last PROGRAM-DATE-TIME plus the
// EXTINF durations after it.
function playlistEnd(text) {
  let end = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) end = Date.parse(line.slice(25));
    else if (line.startsWith('#EXTINF:') && end !== null) end += parseFloat(line.slice(8)) * 1000;
  }
  return end;
}

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { viewport: { width: 1280, height: 860 }, timezoneId: 'Asia/Kolkata' }, cspViolations);
  steps = new Steps(page, opts.shots);
  const step = steps.run;
  const playlists = [];
  page.on('response', async (r) => {
    if (!r.url().includes('/playback.m3u8')) return;
    playlists.push({ status: r.status(), text: r.status() === 200 ? await r.text() : '' });
  });

  await step('log in and open the camera\'s recordings', async () => {
    await openRecordings(page, opts);
    await page.getByRole('button', { name: 'Hour' }).click();
  });

  // A time for the log; a missing one is printed as it is rather than throwing in the log line.
  const iso = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));
  let firstEnd = null;
  await step('a click inside the file being recorded decodes frames from there', async () => {
    await page.locator('.timeline').scrollIntoViewIfNeeded();
    const range = await page.locator('.timeline .range').last().boundingBox();
    const track = await page.locator('.timeline .track').boundingBox();
    assert.ok(range && track && range.width > 3, `the recorded range is drawn: ${JSON.stringify(range)}`);
    // Near the range's right end, which the timeline draws up to the present.
    await page.mouse.click(range.x + range.width - 2, track.y + track.height / 2);
    const clicked = Number(await page.getByRole('slider').getAttribute('aria-valuenow'));
    const video = await page.waitForSelector('video.playback-video');
    // data-wall-ms is set on 'timeupdate', which may come a moment after the first frame.
    await page.waitForFunction((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0 && v.currentTime > 0 && v.dataset.wallMs !== undefined, video, { timeout: 30_000 });
    // A frame presented, not just a buffer filled.
    const presented = await video.evaluate((v) => new Promise((resolve) => v.requestVideoFrameCallback((_now, m) => resolve(m.mediaTime))));
    const first = playlists.find((p) => p.status === 200);
    assert.ok(first, `a playlist was answered: ${JSON.stringify(playlists.map((p) => p.status))}`);
    assert.match(first.text, /#EXT-X-PLAYLIST-TYPE:EVENT\n/);
    assert.doesNotMatch(first.text, /#EXT-X-ENDLIST/);
    firstEnd = playlistEnd(first.text);
    const wall = Number(await video.evaluate((v) => v.dataset.wallMs ?? 'NaN'));
    console.log(`     clicked ${iso(clicked)}, frame at media ${presented.toFixed(2)} s, wall ${iso(wall)}; first playlist ends ${iso(firstEnd)} (${playlists.length} playlist answer(s): ${playlists.map((p) => p.status).join(' ')})`);
    assert.ok(Math.abs(wall - clicked) < 4000, `the frame on screen (${wall}) is near the click (${clicked})`);
  });

  await step('playback goes on into fragments written after the first playlist', async () => {
    const video = await page.waitForSelector('video.playback-video');
    // Newer footage reaches the page only through reloads of the live playlist.
    await page.waitForFunction(([v, end]) => Number(v.dataset.wallMs ?? 0) > end + 1000, [video, firstEnd], { timeout: 45_000 });
    const reloads = playlists.filter((p) => p.status === 200).length;
    const last = playlists.filter((p) => p.status === 200).at(-1);
    console.log(`     now at ${iso(Number(await video.evaluate((v) => v.dataset.wallMs)))}, ${reloads} playlist answers, the last ends ${iso(playlistEnd(last.text))}`);
    assert.ok(reloads >= 2, 'the live playlist was reloaded');
    assert.ok(playlistEnd(last.text) > firstEnd, 'the reloaded playlist lists newer fragments');
    // The picture keeps being decoded.
    const f0 = await video.evaluate((v) => v.getVideoPlaybackQuality().totalVideoFrames);
    await page.waitForFunction(([v, f]) => v.getVideoPlaybackQuality().totalVideoFrames > f + 5, [video, f0], { timeout: 15_000 });
  });

  await step('no Content-Security-Policy violation', async () => {
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  if (steps) console.log(steps.summary());
}
