// The web UI picking the recorded stream, in Debian's Chromium against a real vigil whose camera
// records an H.265 main stream and an H.264 sub stream (record_sub): at phone width the player
// loads the sub stream's playlist and decodes its frames (320x180); at desktop width it plays the
// sub stream too, since Chromium cannot play the main one (H.265); hovering its timeline shows
// a thumbnail of the moment (GET /api/cameras/{id}/preview).
//
//   node tests/browser/streams_playback.test.mjs '{"url", "user", "password", "camera", "shots"}'
//
// tests/integration/test_streams.py runs it. Exits non-zero on the first failed step.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { launchChromium, openPage, openRecordings, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'user', 'password', 'camera', 'shots']) if (!opts[k]) throw new Error(`missing ${k}`);
mkdirSync(opts.shots, { recursive: true });

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  for (const [label, viewport] of [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 860 }]]) {
    const page = await openPage(browser, { viewport, timezoneId: 'Etc/UTC' }, cspViolations);
    steps = steps ?? new Steps(page, opts.shots);
    const step = steps.run;
    const playlists = [];
    const timelines = [];
    page.on('response', (r) => {
      if (r.url().includes('/playback.m3u8')) playlists.push({ url: r.url(), status: r.status() });
      if (r.url().includes('/timeline?')) timelines.push(r.url());
    });

    await step(`${label}: log in and open the camera's recordings`, async () => {
      await openRecordings(page, opts);
      await page.getByRole('button', { name: 'Hour' }).click();
    });

    await step(`${label}: a click on the timeline plays the sub stream and decodes its frames`, async () => {
      await page.locator('.timeline').scrollIntoViewIfNeeded();
      const range = await page.locator('.timeline .range').first().boundingBox();
      const track = await page.locator('.timeline .track').boundingBox();
      assert.ok(range && track && range.width > 1, `the recorded range is drawn: ${JSON.stringify(range)}`);
      // Near the present: the sub stream's retention (a small byte limit) keeps only its newest
      // files, while the timeline shows the main stream's runs.
      await page.mouse.click(range.x + range.width - 2, track.y + track.height / 2);
      const video = await page.waitForSelector('video.playback-video');
      await page.waitForFunction((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0 && v.currentTime > 0, video, { timeout: 30_000 });
      const presented = await video.evaluate((v) => new Promise((resolve) => v.requestVideoFrameCallback((_now, m) => resolve([m.width, m.height]))));
      const stream = await video.evaluate((v) => v.dataset.stream);
      const answered = playlists.filter((p) => p.status === 200);
      console.log(`     ${label}: stream ${stream}, frame ${presented.join('x')}, playlists ${playlists.map((p) => `${p.status} ${new URL(p.url).search}`).join('; ')}`);
      assert.equal(stream, 'sub');
      assert.deepEqual(presented, [320, 180], 'a frame of the sub stream was presented');
      assert.ok(answered.length > 0 && answered.every((p) => p.url.includes('stream=sub')), 'the player loaded the sub stream\'s playlist');
      // The timeline shows the runs of the stream that plays.
      assert.match(timelines.at(-1) ?? '', /stream=sub/);
    });
    if (label === 'desktop') {
      await step('hovering the timeline shows a thumbnail of that moment', async () => {
        const range = await page.locator('.timeline .range').first().boundingBox();
        const track = await page.locator('.timeline .track').boundingBox();
        // Waited for, not collected by a listener: the 'response' event may reach node after
        // the picture is already shown (it did in CI, and the list was still empty).
        const answer = page.waitForResponse((r) => r.url().includes('/preview?'), { timeout: 20_000 });
        await page.mouse.move(range.x + range.width / 3, track.y + track.height / 2);
        await page.mouse.move(range.x + range.width / 2, track.y + track.height / 2, { steps: 5 });
        await page.locator('.timeline-preview').waitFor({ state: 'visible' });
        // Read in the same check that finds it loaded: a later hover step may still swap the
        // picture's source, and a picture between two sources has no size.
        const size = await (await page.waitForFunction(() => {
          const i = document.querySelector('.timeline-preview img');
          return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null;
        })).jsonValue();
        const status = (await answer).status();
        console.log(`     preview ${size.join('x')}, first answer ${status}`);
        assert.deepEqual(size, [320, 180]);
        assert.equal(status, 200);
        await page.mouse.move(track.x + track.width / 2, track.y + track.height + 200);
        await page.locator('.timeline-preview').waitFor({ state: 'hidden' });
      });
    }
    await page.context().close();
  }

  await steps.run('no Content-Security-Policy violation', async () => {
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  if (steps) console.log(steps.summary());
}
