// The web UI (web/, served by vigil from web/dist) end to end in Debian's Chromium, driven by
// playwright-core, against a real vigil recording real RTSP test cameras: first-run setup, the
// live grid, full-screen live video (frames decoded), timeline playback from a clicked moment
// (frames decoded), keyboard on the timeline, speed, playback running on into the file being
// recorded, export download, adding a camera through
// the settings form (it then streams in the grid), a bad URL showing the API's error, users,
// the audit log, log out / log in, and a phone-sized screen. No Content-Security-Policy
// violation may occur on the way.
//
//   node tests/browser/webui.test.mjs '{"url": ..., "token": ..., "yardUrl": ..., "shots": DIR}'
//
// tests/integration/test_webui.py runs it. Exits non-zero on the first failed step.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'token', 'yardUrl', 'deadUrl', 'shots']) if (!opts[k]) throw new Error(`missing ${k}`);
mkdirSync(opts.shots, { recursive: true });
const admin = { name: 'boss', password: 'boss-password-1' };

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  // A zone half an hour off UTC: times on screen must be the browser's, not UTC or the server's.
  const timezoneId = 'Asia/Kolkata';
  const page = await openPage(browser, { acceptDownloads: true, viewport: { width: 1280, height: 860 }, timezoneId }, cspViolations);
  steps = new Steps(page, opts.shots);
  const step = steps.run;
  const shot = (name) => page.screenshot({ path: join(opts.shots, `${name}.png`) });
  // Frames decoded and media time advancing in the page's <video> matching `sel`.
  const playing = async (sel) => {
    const video = await page.waitForSelector(sel);
    await page.waitForFunction((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0 && v.currentTime > 0, video, { timeout: 30_000 });
    const t0 = await video.evaluate((v) => v.currentTime);
    await page.waitForFunction(([v, t]) => v.currentTime > t + 0.3, [video, t0], { timeout: 15_000 });
    return video.evaluate((v) => ({ frames: v.getVideoPlaybackQuality().totalVideoFrames, t: v.currentTime }));
  };
  const alertText = () => page.locator('[role=alert]').first().innerText();

  await step('login screen', async () => {
    await page.goto(opts.url);
    await page.getByRole('heading', { name: 'vigil' }).waitFor();
    await page.getByLabel('User name').waitFor();
    await shot('login');
  });

  await step('first-run setup refuses a wrong token with the API error', async () => {
    await page.getByRole('link', { name: 'Create the first admin account' }).click();
    await page.getByLabel('Setup token').fill('not-the-token');
    await page.getByLabel('Admin user name').fill(admin.name);
    await page.getByLabel(/^Password/).fill(admin.password);
    await page.getByRole('button', { name: 'Create admin' }).click();
    assert.match(await alertText(), /wrong setup token/);
  });

  await step('first-run setup creates the admin and shows the live grid', async () => {
    await page.getByLabel('Setup token').fill(opts.token);
    await page.getByRole('button', { name: 'Create admin' }).click();
    await page.locator('.tile[data-camera=front]').waitFor();
    assert.match(await page.locator('header .who').innerText(), /boss \(admin\)/);
  });

  await step('live grid shows the camera recording, with a picture', async () => {
    const tile = page.locator('.tile[data-camera=front]');
    await tile.locator('.badge', { hasText: 'Recording' }).waitFor();
    await tile.locator('img.snap:not([hidden])').waitFor();
    const size = await tile.locator('img.snap').evaluate((i) => i.naturalWidth);
    assert.ok(size > 0, 'the snapshot decoded');
  });

  await step('full-screen live view decodes frames', async () => {
    await page.locator('.tile[data-camera=front] .tile-link').click();
    await page.waitForURL(/#\/live\/front$/);
    const r = await playing('video.live-video');
    console.log(`     live: ${r.frames} frames decoded, currentTime ${r.t.toFixed(2)} s`);
    await shot('live-view');
  });

  let playedFrom = 0;
  await step('timeline shows the recorded range; a click plays from there', async () => {
    await page.getByRole('link', { name: 'Recordings' }).click();
    await page.waitForURL(/#\/playback\/front$/);
    await page.locator('.timeline .range').first().waitFor();
    const slider = page.getByRole('slider');
    // The day is the browser's day: it starts at local midnight, 18:30 UTC in Kolkata.
    assert.equal(new Date(Number(await slider.getAttribute('aria-valuemin'))).getUTCMinutes(), 30);
    // (ICU names it by its old name.)
    assert.match(await page.locator('.legend').innerText(), /times in Asia\/(Kolkata|Calcutta)/);
    await page.getByRole('button', { name: 'Hour' }).click();
    assert.equal(new Date(Number(await slider.getAttribute('aria-valuemin'))).getUTCMinutes(), 30);
    await page.locator('.timeline').scrollIntoViewIfNeeded();
    const range = await page.locator('.timeline .range').first().boundingBox();
    const track = await page.locator('.timeline .track').boundingBox();
    assert.ok(range && track && range.width > 3, 'the recorded range is drawn');
    // The camera's outage before the test: two ranges and a gap between them, with its reason.
    assert.equal(await page.locator('.timeline .range').count(), 2);
    const gap = await page.locator('.timeline .gap').first().getAttribute('title');
    assert.match(gap, /^Not recorded .+: .+/);
    console.log(`     timeline gap: ${gap}`);
    // Time from the click to the first frame presented, for the record (printed, not asserted).
    await page.evaluate(() => {
      const v = document.querySelector('video.playback-video');
      window.firstFrameMs = null;
      v.requestVideoFrameCallback(() => (window.firstFrameMs = performance.now() - window.clickAt));
      document.querySelector('.timeline .track').addEventListener('pointerup', () => (window.clickAt = performance.now()), { once: true, capture: true });
    });
    await page.mouse.click(range.x + 2, track.y + track.height / 2);
    playedFrom = Number(await page.getByRole('slider').getAttribute('aria-valuenow'));
    await page.locator('[data-play-state=playing]').waitFor({ state: 'attached' });
    const r = await playing('video.playback-video');
    const firstFrame = await page.evaluate(() => window.firstFrameMs);
    console.log(`     playback: click -> first frame ${firstFrame?.toFixed(0)} ms; ${r.frames} frames decoded, currentTime ${r.t.toFixed(2)} s`);
    const clock = await page.locator('output.clock').innerText();
    assert.ok(clock.length > 0, 'the wall time of the frame on screen is shown');
    const now = Number(await page.getByRole('slider').getAttribute('aria-valuenow'));
    assert.ok(now >= playedFrom - 2500, `cursor follows playback from ${playedFrom}: ${now}`);
  });

  await step('timeline keyboard and speed', async () => {
    const slider = page.getByRole('slider');
    await slider.focus();
    const v0 = Number(await slider.getAttribute('aria-valuenow'));
    await page.keyboard.press('Shift+ArrowLeft');
    const v1 = Number(await slider.getAttribute('aria-valuenow'));
    assert.ok(v1 < v0, `Shift+ArrowLeft moves back: ${v0} -> ${v1}`);
    await page.getByRole('button', { name: '4×' }).click();
    assert.equal(await page.locator('video.playback-video').evaluate((v) => v.playbackRate), 4);
    await page.getByRole('button', { name: '1×' }).click();
    await playing('video.playback-video');
    await shot('playback');
  });

  await step('playback runs on across the gap and closed files into the one being recorded (8×)', async () => {
    // The file being recorded now, from the camera's status (its name is its start, UTC ms).
    const cam = await page.evaluate(async () => (await fetch('/api/cameras/front')).json());
    const m = /(\d+)\.mp4$/.exec(cam.status?.recording_file ?? '');
    assert.ok(m, `front is recording a file: ${JSON.stringify(cam.status)}`);
    const openStart = Number(m[1]);
    // 8 s before the outage: a closed file. The playlist from there is a live one: hls.js must
    // cross the gap and the files' discontinuities and reach the open file's fragments.
    const tl = await page.evaluate(async () => {
      const now = Date.now();
      return (await fetch(`/api/cameras/front/timeline?start=${now - 3600_000}&end=${now + 60_000}`)).json();
    });
    assert.ok(tl.recorded.length >= 2, `two recorded ranges: ${JSON.stringify(tl.recorded)}`);
    const from = tl.recorded[0].end_ms - 8000;
    assert.ok(from > tl.recorded[0].start_ms && from < openStart);
    await page.goto(`${opts.url}#/playback/front?t=${from}`);
    // The screen opened again (a new <video>) and plays from that moment.
    await page.waitForFunction((t) => {
      const w = Number(document.querySelector('video.playback-video')?.dataset.wallMs ?? 0);
      return w >= t - 3000 && w < t + 3000;
    }, from, { timeout: 30_000 });
    await page.getByRole('button', { name: '8×' }).click();
    await page.waitForFunction((t) => Number(document.querySelector('video.playback-video')?.dataset.wallMs ?? 0) > t, openStart + 2000, { timeout: 30_000 });
    const wall = Number(await page.evaluate(() => document.querySelector('video.playback-video').dataset.wallMs));
    console.log(`     from ${new Date(from).toISOString()} at 8x: now at ${new Date(wall).toISOString()}, inside the file opened at ${new Date(openStart).toISOString()}`);
    await page.getByRole('button', { name: '1×' }).click();
    await playing('video.playback-video');
    // The screen opened again in the day view; the next step works in the hour view.
    await page.getByRole('button', { name: 'Hour' }).click();
  });

  await step('export of a selected range downloads an MP4', async () => {
    // From the start of the footage (a click, as above) to one keyboard step (12.5 s in an
    // hour view) later.
    await page.locator('.timeline').scrollIntoViewIfNeeded();
    const range = await page.locator('.timeline .range').first().boundingBox();
    const track = await page.locator('.timeline .track').boundingBox();
    await page.mouse.click(range.x + 2, track.y + track.height / 2);
    await page.getByRole('button', { name: 'Mark start' }).click();
    const slider = page.getByRole('slider');
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    await page.getByRole('button', { name: 'Mark end' }).click();
    assert.match(await page.locator('.export').innerText(), /\(1\d s\)/);
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Export MP4' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^vigil-front-.*\.mp4$/);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-export-'));
    const saved = join(dir, 'export.mp4');
    await download.saveAs(saved);
    const bytes = readFileSync(saved);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp');
    console.log(`     export: ${download.suggestedFilename()}, ${bytes.length} bytes`);
    await page.getByRole('link', { name: /Download MP4/ }).waitFor();
    // Shift+drag over a tenth of the hour marks six minutes.
    const t = await page.locator('.timeline .track').boundingBox();
    const y = t.y + t.height / 2;
    await page.keyboard.down('Shift');
    await page.mouse.move(t.x + t.width * 0.2, y);
    await page.mouse.down();
    await page.mouse.move(t.x + t.width * 0.3, y, { steps: 3 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    assert.match(await page.locator('.export').innerText(), /\([56] min/);
    await page.locator('.timeline .selection').waitFor();
  });

  await step('a bad camera URL shows the API error', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/#\/settings\/cameras$/);
    await page.getByRole('button', { name: 'Add a camera' }).click();
    await page.locator('input[name=id]').fill('bad');
    await page.locator('input[name=url]').fill('http://x');
    await page.getByRole('button', { name: 'Add camera' }).click();
    assert.match(await alertText(), /must be an rtsp:\/\/ or rtsps:\/\/ URL/);
    await shot('settings-cameras');
  });

  await step('admin adds a camera through the settings form', async () => {
    await page.locator('input[name=id]').fill('yard');
    await page.locator('input[name=name]').fill('Yard');
    await page.locator('input[name=url]').fill(opts.yardUrl);
    await page.getByRole('button', { name: 'Add camera' }).click();
    await page.getByText('Camera yard added').waitFor();
    await page.locator('tr[data-camera=yard]').waitFor();
  });

  await step('the new camera appears in the grid and streams', async () => {
    await page.getByRole('link', { name: 'Live', exact: true }).click();
    const tile = page.locator('.tile[data-camera=yard]');
    await tile.locator('.badge', { hasText: 'Recording' }).waitFor({ timeout: 40_000 });
    await tile.locator('img.snap:not([hidden])').waitFor({ timeout: 20_000 });
    await shot('live-grid');
    await tile.locator('.tile-link').click();
    const r = await playing('video.live-video');
    console.log(`     yard live: ${r.frames} frames decoded`);
  });

  await step('an unreachable camera says why, and that it has no recordings yet', async () => {
    await page.goto(`${opts.url}#/settings/cameras`);
    await page.getByRole('button', { name: 'Add a camera' }).click();
    await page.locator('input[name=id]').fill('gone');
    await page.locator('input[name=url]').fill(opts.deadUrl);
    await page.getByRole('button', { name: 'Add camera' }).click();
    await page.getByText('Camera gone added').waitFor();
    await page.getByRole('link', { name: 'Live', exact: true }).click();
    const tile = page.locator('.tile[data-camera=gone]');
    await tile.locator('.badge', { hasText: /Offline|Connecting/ }).waitFor();
    await page.waitForFunction(() => document.querySelector('.tile[data-camera=gone] .problem')?.textContent?.length > 0);
    console.log(`     unreachable: ${await tile.locator('.badge').innerText()}: ${await tile.locator('.problem').innerText()}`);
    await page.goto(`${opts.url}#/live/gone`);
    assert.match(await alertText(), /not streaming/);
    await page.goto(`${opts.url}#/playback/gone`);
    await page.getByText(/^No recordings on /).waitFor();
  });

  await step('admin removes a camera', async () => {
    await page.goto(`${opts.url}#/settings/cameras`);
    page.once('dialog', (d) => d.accept());
    await page.locator('tr[data-camera=gone]').getByRole('button', { name: 'Remove' }).click();
    // The list is read again: the other two cameras, without it.
    await page.waitForFunction(() => [...document.querySelectorAll('tr[data-camera]')]
      .map((r) => r.dataset.camera).join(',') === 'front,yard');
  });

  await step('users: add a viewer limited to one camera', async () => {
    await page.goto(`${opts.url}#/settings/users`);
    await page.locator('form input[name=name]').fill('ann');
    await page.locator('form input[name=password]').fill('ann-password-1');
    await page.locator('form select[name=role]').selectOption('viewer');
    await page.getByLabel('All cameras').uncheck();
    await page.getByLabel('Front door (front)').check();
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.locator('tr[data-user=ann]').waitFor();
    assert.match(await page.locator('tr[data-user=ann]').innerText(), /front/);
  });

  await step('audit log lists what happened', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('td code', { hasText: 'camera_add' }).first().waitFor();
    await page.locator('td code', { hasText: 'export' }).first().waitFor();
    await page.getByLabel('Action').fill('user_add');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => [...document.querySelectorAll('tbody td code')].every((c) => c.textContent === 'user_add'));
    await shot('audit');
  });

  await step('log out, wrong password, log in as a viewer who sees one camera', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('User name').fill('ann');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    assert.match(await alertText(), /Wrong user name or password/);
    await page.getByLabel('Password').fill('ann-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.tile[data-camera=front]').waitFor();
    assert.equal(await page.locator('.tile').count(), 1);
    assert.equal(await page.getByRole('link', { name: 'Settings' }).count(), 0);
  });

  await step('a user changes their own password', async () => {
    await page.getByRole('link', { name: 'ann (viewer)' }).click();
    await page.getByLabel('Current password').fill('ann-password-1');
    await page.getByLabel(/^New password/).fill('ann-password-2');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed').waitFor();
    // The new session works: the grid loads.
    await page.getByRole('link', { name: 'Live', exact: true }).click();
    await page.locator('.tile[data-camera=front]').waitFor();
  });

  await step('phone-sized screen: one column, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('.tile[data-camera=front] img.snap:not([hidden])').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page wider than the screen by ${overflow}px`);
    await shot('phone-grid');
  });

  await step('no Content-Security-Policy violation', async () => {
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  if (steps) console.log(steps.summary());
}
