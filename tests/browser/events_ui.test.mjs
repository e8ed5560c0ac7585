// The web UI's events features in Debian's Chromium, driven by playwright-core, against a real
// vigil analysing two real RTSP test cameras (tests/integration/test_webui_events.py starts them
// and waits for events): the events page (real events with their snapshots, filters narrowing
// the list and kept in the URL, clip download, evidence export saved to `evidenceOut` for the
// caller to verify), Play from an event (frames decoded near its
// time), the timeline's event markers (where their events are), previous/next event (also past
// the day shown), two cameras side by side in sync, a phone-sized events page, and no
// Content-Security-Policy violation.
//
//   node tests/browser/events_ui.test.mjs '{"url": ..., "user": ..., "password": ..., "shots": DIR,
//     "evidenceOut": FILE}'
//
// Exits non-zero on the first failed step.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'user', 'password', 'shots', 'evidenceOut']) if (!opts[k]) throw new Error(`missing ${k}`);
mkdirSync(opts.shots, { recursive: true });

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  // Half an hour off UTC, so that a UTC or whole-hour mistake in the time filters shows; and not
  // near local midnight, so that the footage of the test is all on one local day.
  const hourIn = (tz) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
  const timezoneId = ['Asia/Kolkata', 'America/St_Johns'].find((tz) => hourIn(tz) >= 2 && hourIn(tz) < 22);
  console.log(`     browser's time zone: ${timezoneId}`);
  const page = await openPage(browser, { acceptDownloads: true, viewport: { width: 1280, height: 900 }, timezoneId }, cspViolations);
  steps = new Steps(page, opts.shots);
  const step = steps.run;
  const shot = (name) => page.screenshot({ path: join(opts.shots, `${name}.png`) });
  const api = (path) => page.evaluate(async (p) => (await fetch(p)).json(), path);
  // Frames decoded and media time advancing in the <video> matching `sel`.
  const playing = async (sel) => {
    const video = await page.waitForSelector(sel);
    await page.waitForFunction((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0 && v.currentTime > 0 && !v.paused, video, { timeout: 30_000 });
    const t0 = await video.evaluate((v) => v.currentTime);
    await page.waitForFunction(([v, t]) => v.currentTime > t + 0.3, [video, t0], { timeout: 15_000 });
    return video.evaluate((v) => ({ frames: v.getVideoPlaybackQuality().totalVideoFrames, t: v.currentTime }));
  };
  // The wall time of the frame a video shows now: the player notes the wall time and media time
  // at each timeupdate (recorded_player.ts); within one file they advance together.
  const wallOf = (sel) => page.locator(sel).evaluate((v) => Number(v.dataset.wallMs) + (v.currentTime - Number(v.dataset.mediaS)) * 1000);
  const cursor = async () => Number(await page.getByRole('slider').getAttribute('aria-valuenow'));
  const cursorNear = async (ms, before, after) => {
    try {
      await page.waitForFunction(([ms, b, a]) => {
        const v = Number(document.querySelector('[role=slider]').getAttribute('aria-valuenow'));
        return v >= ms - b && v <= ms + a;
      }, [ms, before, after], { timeout: 15_000 });
    } catch (e) {
      const v = await cursor();
      const said = await page.locator('.event-status').innerText();
      throw new Error(`cursor at ${fmt(v)} (${v - ms} ms from ${fmt(ms)}); events line: "${said}"`, { cause: e });
    }
  };
  const fmt = (ms) => new Date(ms).toISOString().slice(11, 23);

  let all = [];  // every event, newest first
  let door = []; // the door's closed events, oldest first

  await step('log in', async () => {
    await page.goto(opts.url);
    await page.getByLabel('User name').fill(opts.user);
    await page.getByLabel('Password').fill(opts.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.tile').first().waitFor();
    all = (await api('/api/events?limit=1000')).events;
    door = all.filter((e) => e.camera === 'door' && !e.open).reverse();
    assert.ok(door.length >= 3, `3 closed events of door: ${JSON.stringify(all)}`);
    assert.ok(all.some((e) => e.camera === 'yard'), 'an event of yard');
  });

  await step('events page: the real events, newest first, with their snapshots', async () => {
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.waitForURL(/#\/events$/);
    await page.locator('.event-card').first().waitFor();
    // Events keep coming while the test runs: the page shows at least those known before.
    const ids = await page.locator('.event-card').evaluateAll((els) => els.map((e) => Number(e.dataset.eventId)));
    for (const e of all) assert.ok(ids.includes(e.id), `event ${e.id} listed`);
    // Newest first as the API pages them: by start time, then id (docs/api.md); events that
    // arrived after the API was asked come before those.
    const known = ids.filter((id) => all.some((e) => e.id === id));
    assert.deepEqual(known, all.map((e) => e.id), 'newest first');
    const card = page.locator(`.event-card[data-event-id="${door[1].id}"]`);
    await card.scrollIntoViewIfNeeded();
    const img = card.locator('img.snap');
    assert.equal(await img.getAttribute('loading'), 'lazy');
    await page.waitForFunction((i) => i.complete && i.naturalWidth > 0, await img.elementHandle());
    console.log(`     snapshot of event ${door[1].id}: ${await img.evaluate((i) => `${i.naturalWidth}x${i.naturalHeight}`)}`);
    const text = await card.innerText();
    assert.match(text, /Motion/);
    assert.match(text, /Front door/);
    assert.match(text, /\barmed\b/);
    assert.match(text, /\d+ s/);  // its duration
    assert.doesNotMatch(text, /not armed/);
    // The yard is armed one minute a day, not now.
    const yardCard = page.locator('.event-card[data-camera=yard]').first();
    assert.match(await yardCard.innerText(), /Yard/);
    assert.equal(await yardCard.locator('.badge').first().innerText(), 'not armed');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('events');
  });

  await step('filters narrow the list, live in the URL and survive a reload', async () => {
    const total = await page.locator('.event-card').count();
    await page.getByLabel('Camera').selectOption('door');
    await page.waitForFunction(() => !document.querySelector('main')?.dataset.loading && document.querySelectorAll('.event-card').length > 0);
    const cams = await page.locator('.event-card').evaluateAll((els) => els.map((e) => e.dataset.camera));
    assert.ok(cams.every((c) => c === 'door') && cams.length < total, `only door: ${cams.length} of ${total}`);
    assert.match(page.url(), /#\/events\?camera=door$/);
    // The door's zones (the halves of its picture) are the zone filter's choices.
    await page.waitForFunction(() => [...document.querySelectorAll('select[name=zone] option')].some((o) => o.value === 'left'));
    await page.getByLabel('Zone').selectOption('left');
    await page.waitForURL(/#\/events\?camera=door&zone=left$/);
    await page.waitForFunction(() => !document.querySelector('main')?.dataset.loading);
    const zoned = await page.locator('.event-card .event-meta:first-of-type').allInnerTexts();
    assert.ok(zoned.length > 0 && zoned.every((t) => /zones?: .*\bleft\b/.test(t)), zoned.join(' | '));
    await page.getByLabel('Type').selectOption({ label: 'Lens covered' });
    await page.getByText('No events in this range').waitFor();
    assert.equal(await page.locator('.event-card').count(), 0);
    await page.getByLabel('Type').selectOption({ label: 'Motion' });
    await page.locator('.event-card').first().waitFor();
    // A range ending before the first event has nothing; the hash holds the local time as UTC ms.
    const before = new Date(door[0].start_ms - 3600_000);
    // Its wall clock in the browser's zone, as <input type="datetime-local"> writes it.
    const part = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: timezoneId, hourCycle: 'h23',
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(before).map((p) => [p.type, p.value]));
    const value = `${part.year}-${part.month}-${part.day}T${part.hour}:${part.minute}`;
    await page.getByLabel('To').fill(value);
    await page.getByText('No events in this range').waitFor();
    const to = Number(new URL(page.url().replace('#/events?', 'http://x/?')).searchParams.get('to'));
    assert.equal(to, Math.floor(before.getTime() / 60_000) * 60_000, `to=${to} is ${value} in ${timezoneId}`);
    await page.getByLabel('To').fill('');
    await page.getByLabel('From').fill(value);
    await page.locator('.event-card').first().waitFor();
    await page.reload();
    await page.locator('.event-card').first().waitFor();
    assert.equal(await page.getByLabel('Camera').inputValue(), 'door');
    assert.equal(await page.getByLabel('Type').inputValue(), 'motion');
    assert.equal(await page.getByLabel('Zone').inputValue(), 'left');
    assert.equal(await page.getByLabel('From').inputValue(), value);
    const cams2 = await page.locator('.event-card').evaluateAll((els) => els.map((e) => `${e.dataset.camera}/${e.dataset.type}`));
    assert.ok(cams2.every((c) => c === 'door/motion'), cams2.join());
  });

  await step('Download clip gives the event as an MP4', async () => {
    const card = page.locator(`.event-card[data-event-id="${door[1].id}"]`);
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      card.getByRole('button', { name: 'Download clip' }).click(),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-clip-'));
    const saved = join(dir, 'clip.mp4');
    await download.saveAs(saved);
    const bytes = readFileSync(saved);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp');
    assert.ok(bytes.length > 20_000, `a clip of some seconds: ${bytes.length} bytes`);
    await card.getByRole('link', { name: /Download MP4/ }).waitFor();
    console.log(`     clip of event ${door[1].id}: ${download.suggestedFilename()}, ${bytes.length} bytes; ${await card.locator('.clip-status').innerText()}`);
  });

  await step('Export evidence gives the event as an evidence bundle', async () => {
    const card = page.locator(`.event-card[data-event-id="${door[1].id}"]`);
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      card.getByRole('button', { name: /^Export evidence/ }).click(),
    ]);
    await download.saveAs(opts.evidenceOut);
    const bytes = readFileSync(opts.evidenceOut);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04', 'a ZIP');
    assert.ok(bytes.includes(Buffer.from('manifest.json')), 'with a manifest');
    await card.getByRole('link', { name: /Download evidence bundle/ }).waitFor();
    console.log(`     evidence of event ${door[1].id}: ${download.suggestedFilename()}, ${bytes.length} bytes`);
  });

  const ev = door[1];
  await step('Play opens the playback screen at the event and frames are decoded there', async () => {
    await page.locator(`.event-card[data-event-id="${ev.id}"]`).getByRole('link', { name: /^Play / }).click();
    await page.waitForURL(new RegExp(`#/playback/door\\?t=${ev.start_ms - 2000}&event=${ev.id}$`));
    const r = await playing('video.playback-video');
    const wall = await wallOf('video.playback-video');
    console.log(`     event ${ev.id} at ${fmt(ev.start_ms)}: playing ${fmt(wall)} (${r.frames} frames decoded)`);
    assert.ok(wall >= ev.start_ms - 2500 && wall <= ev.start_ms + 6000, `plays near the event: ${wall - ev.start_ms} ms`);
    assert.match(await page.locator('.event-status').innerText(), /Playing: Motion/);
  });

  await step('event markers are drawn where their events are; a click plays from one', async () => {
    await page.getByRole('button', { name: 'Hour' }).click();
    const slider = page.getByRole('slider');
    const w0 = Number(await slider.getAttribute('aria-valuemin'));
    const w1 = Number(await slider.getAttribute('aria-valuemax'));
    const tl = await api(`/api/cameras/door/timeline?start=${w0}&end=${w1}`);
    const track = await page.locator('.timeline .track').boundingBox();
    let checked = 0;
    for (const e of tl.events) {
      const m = page.locator(`.event-marker[data-event-id="${e.id}"]`);
      if (!(await m.count())) continue;  // newer than the timeline the page loaded
      const box = await m.boundingBox();
      // The track's 1px border is inside its box; the layer spans its padding box.
      const want = track.x + 1 + ((Math.max(e.start_ms, w0) - w0) / (w1 - w0)) * (track.width - 2);
      assert.ok(Math.abs(box.x - want) <= 2, `marker of event ${e.id} at ${box.x}, expected ${want}`);
      assert.match(await m.getAttribute('title'), e.armed ? /^Motion .*\(armed\)/ : /^Motion .*\(not armed\)/);
      assert.equal(await m.evaluate((el, cls) => el.classList.contains(cls), e.armed ? 'armed' : 'unarmed'), true);
      checked++;
    }
    // (An event before the hour's start, or after its end, has no marker in this window.)
    assert.ok(checked >= 1, `markers checked: ${checked}`);
    assert.equal(await page.locator(`.event-marker.current[data-event-id="${ev.id}"]`).count(), 1, 'the event played is marked');
    console.log(`     ${checked} markers at their events' places (hour window ${fmt(w0)}–${fmt(w1)})`);
    await page.locator('.timeline').scrollIntoViewIfNeeded();
    await shot('playback-events');
    // A click on the first event's marker plays from it.
    const first = page.locator(`.event-marker[data-event-id="${door[0].id}"]`);
    if (await first.count()) {
      const b = await first.boundingBox();
      await page.mouse.click(b.x + 2, b.y + b.height / 2);
      await cursorNear(door[0].start_ms, 2500, 4000);
      await playing('video.playback-video');
    }
  });

  await step('next/previous event move the cursor and playback to the events', async () => {
    await page.getByRole('slider').focus();
    // From event 1 (played above, or the first one clicked): ] goes to the one after it.
    const from = (await page.locator('.event-marker.current').getAttribute('data-event-id')) ?? String(ev.id);
    const i = door.findIndex((e) => String(e.id) === from);
    await page.keyboard.press(']');
    await cursorNear(door[i + 1].start_ms, 2500, 3000);
    console.log(`     ] : ${fmt(door[i].start_ms)} -> cursor ${fmt(await cursor())} (event ${door[i + 1].id} at ${fmt(door[i + 1].start_ms)})`);
    await page.keyboard.press('[');
    await cursorNear(door[i].start_ms, 2500, 3000);
    await playing('video.playback-video');
    const wall = await wallOf('video.playback-video');
    assert.ok(Math.abs(wall - door[i].start_ms) < 6000, `plays event ${door[i].id}: ${wall - door[i].start_ms} ms`);
    if (i > 0) {
      await page.getByRole('button', { name: 'Previous event' }).click();
      await cursorNear(door[i - 1].start_ms, 2500, 3000);
    }
    assert.match(await page.locator('.event-status').innerText(), /Playing: Motion/);
  });

  await step('next event reaches past the day shown (the events API)', async () => {
    await page.getByRole('button', { name: 'Previous day' }).click();
    await page.getByText(/^No recordings on /).waitFor();
    const yesterday = await page.locator('input[type=date]').inputValue();
    await page.getByRole('slider').focus();
    await page.keyboard.press(']');
    // The oldest event of the door, today.
    await cursorNear(door[0].start_ms, 2500, 3000);
    assert.notEqual(await page.locator('input[type=date]').inputValue(), yesterday);
    await playing('video.playback-video');
    console.log(`     from ${yesterday}: ] -> ${fmt(await cursor())} (event ${door[0].id} at ${fmt(door[0].start_ms)})`);
  });

  await step('two cameras side by side play the same moment, in sync after a seek, and pause together', async () => {
    await page.getByLabel('Compare with another camera').selectOption('yard');
    await page.waitForURL(/&with=yard$/);
    const main = 'video.playback-video:not(.compare-video)';
    const yard = '.stage[data-camera=yard] video';
    await playing(main);
    const ry = await playing(yard);
    console.log(`     yard: ${ry.frames} frames decoded`);
    // A seek: to the next event (all players load that moment anew).
    const from = Number(await page.locator('.event-marker.current').getAttribute('data-event-id'));
    const target = door[door.findIndex((e) => e.id === from) + 1].start_ms;
    await page.getByRole('button', { name: 'Next event' }).click();
    await cursorNear(target, 2500, 3000);
    await page.waitForFunction(() => document.querySelector('main')?.dataset.playState === 'playing');
    await playing(main);
    const mainWall = await wallOf(main);
    await playing(yard);
    // Let the follower settle (a seek, then speed nudges), then sample both pictures' wall times.
    await page.waitForTimeout(2000);
    const diffs = [];
    for (let k = 0; k < 8; k++) {
      const [a, b] = await page.evaluate(([m, y]) => [m, y].map((s) => {
        const v = document.querySelector(s);
        return Number(v.dataset.wallMs) + (v.currentTime - Number(v.dataset.mediaS)) * 1000;
      }), [main, yard]);
      diffs.push(Math.round(b - a));
      await page.waitForTimeout(250);
    }
    console.log(`     after a seek to the next event, ${fmt(target)}: main at ${fmt(mainWall)}, yard - main = ${diffs.join(', ')} ms`);
    assert.ok(Math.abs(mainWall - target) < 6000, `main plays from the seek: ${mainWall - target} ms`);
    assert.ok(diffs.every((d) => Math.abs(d) <= 400), `in sync within 0.4 s: ${diffs.join(', ')}`);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.waitForFunction(([m, y]) => document.querySelector(m).paused && document.querySelector(y).paused, [main, yard]);
    await page.waitForTimeout(800);
    const paused = Math.round((await wallOf(yard)) - (await wallOf(main)));
    console.log(`     paused together: yard - main = ${paused} ms`);
    assert.ok(Math.abs(paused) <= 150, `the same moment when paused: ${paused} ms`);
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await playing(yard);
    await page.locator('.stages').scrollIntoViewIfNeeded();
    await shot('playback-compare');
    // The compared camera is in the URL: a reload brings it back.
    await page.reload();
    await playing(yard);
    assert.equal(await page.locator('.stages.multi .stage').count(), 2);
  });

  await step('a compared camera with no footage at that moment says so, and joins after its gap', async () => {
    const gap = (await api(`/api/cameras/yard/timeline?start=${door[0].start_ms - 3600_000}&end=${Date.now()}`)).gaps[0];
    assert.ok(gap && gap.end_ms - gap.start_ms > 1500, `the yard's outage: ${JSON.stringify(gap)}`);
    await page.goto(`${opts.url}#/playback/door?t=${gap.start_ms + 300}&with=yard`);
    const tile = page.locator('.stage[data-camera=yard]');
    await page.locator('.stage[data-camera=yard][data-no-footage=true]').waitFor();
    assert.match(await tile.locator('.overlay').innerText(), /No recording at this time/);
    await playing('video.playback-video:not(.compare-video)');
    // The door plays on past the end of the yard's gap: the yard joins.
    await page.locator('.stage[data-camera=yard][data-no-footage=false]').waitFor({ timeout: 30_000 });
    const r = await playing('.stage[data-camera=yard] video');
    const d = Math.round((await wallOf('.stage[data-camera=yard] video')) - (await wallOf('video.playback-video:not(.compare-video)')));
    console.log(`     yard's gap ${fmt(gap.start_ms)}–${fmt(gap.end_ms)}: "No recording at this time", then joined (${r.frames} frames, ${d} ms from the door)`);
    assert.ok(Math.abs(d) <= 1500, `joined at the door's moment: ${d} ms`);
  });

  await step('phone-sized events page: one column, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${opts.url}#/events`);
    await page.waitForFunction(() => [...document.querySelectorAll('.event-card img.snap')].slice(0, 1).every((i) => i.complete && i.naturalWidth > 0));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page wider than the screen by ${overflow}px`);
    await shot('phone-events');
  });

  await step('no Content-Security-Policy violation', async () => {
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  if (steps) console.log(steps.summary());
}
