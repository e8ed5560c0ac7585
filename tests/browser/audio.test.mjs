// Sound in the web UI, in Debian's Chromium against a real vigil whose camera sends AAC audio:
// the live view and the recorded player both start muted, with a speaker button; once the user
// turns the sound on, the browser decodes audio (webkitAudioDecodedByteCount grows: Chromium has
// no HTMLMediaElement.audioTracks without an experimental flag). The live stream announces both
// tracks in its MIME type (one SourceBuffer with avc1 and mp4a).
//
//   node tests/browser/audio.test.mjs '{"url", "user", "password", "camera", "shots"}'
//
// tests/integration/test_playback.py (RecentPlayback) runs it. Exits non-zero on the first
// failed step.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'user', 'password', 'camera', 'shots']) if (!opts[k]) throw new Error(`missing ${k}`);
mkdirSync(opts.shots, { recursive: true });

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { viewport: { width: 1280, height: 860 } }, cspViolations);
  steps = new Steps(page, opts.shots);
  const step = steps.run;
  let liveType = '';
  page.on('response', (r) => {
    if (r.url().includes('/live.mp4')) liveType = r.headers()['content-type'] ?? '';
  });

  // Muted at first, with the button saying so; after a click, audio decoded and the button
  // pressed.
  async function soundTurnsOn(selector) {
    const video = await page.waitForSelector(selector);
    await page.waitForFunction((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0 && v.currentTime > 0, video, { timeout: 30_000 });
    assert.equal(await video.evaluate((v) => v.muted), true, 'starts muted');
    const button = page.getByRole('button', { name: 'Sound' });
    assert.equal(await button.getAttribute('aria-pressed'), 'false');
    await button.click();
    assert.equal(await video.evaluate((v) => v.muted), false, 'unmuted by the button');
    assert.equal(await button.getAttribute('aria-pressed'), 'true');
    const before = await video.evaluate((v) => v.webkitAudioDecodedByteCount);
    await page.waitForFunction(([v, b]) => v.webkitAudioDecodedByteCount > b && !v.paused, [video, before], { timeout: 20_000 });
    const r = await video.evaluate((v) => ({ audio: v.webkitAudioDecodedByteCount, frames: v.getVideoPlaybackQuality().totalVideoFrames }));
    console.log(`     ${selector}: ${r.audio} audio bytes decoded, ${r.frames} frames`);
  }

  await step('log in', async () => {
    await page.goto(opts.url);
    await page.getByLabel('User name').fill(opts.user);
    await page.getByLabel('Password').fill(opts.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('header .who').waitFor();
  });

  await step('live view carries the audio, muted until the speaker button', async () => {
    await page.goto(`${opts.url}#/live/${opts.camera}`);
    await soundTurnsOn('video.live-video');
    assert.match(liveType, /^video\/mp4; codecs="avc1\.[0-9a-f]{6},mp4a\.40\.2"$/);
  });

  await step('recorded playback carries the audio, muted until the speaker button', async () => {
    await page.goto(`${opts.url}#/playback/${opts.camera}`);
    await page.locator('.timeline .range').first().waitFor();
    await page.getByRole('button', { name: 'Hour' }).click();
    await page.locator('.timeline').scrollIntoViewIfNeeded();
    const range = await page.locator('.timeline .range').last().boundingBox();
    const track = await page.locator('.timeline .track').boundingBox();
    await page.mouse.click(range.x + range.width - 4, track.y + track.height / 2);
    await soundTurnsOn('video.playback-video');
    await page.screenshot({ path: `${opts.shots}/playback-sound-on.png` });
  });

  await step('no Content-Security-Policy violation', async () => {
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  if (steps) console.log(steps.summary());
}
