// The transactions page in Debian's Chromium, driven by playwright-core, against a real vigil
// recording a real RTSP test camera at a till's counter (tests/integration/
// test_webui_transactions.py starts them and posts the transactions over HTTP with a till
// token): a transaction found by its amount, with the counter camera's picture at its moment
// (a JPEG decoded from the recorded footage), a click that plays the counter camera from 10 s
// before it (frames decoded, media time advancing, the frame's wall time where it should be) with
// the receipt beside the video, both transactions as markers on the camera's timeline that ]
// steps through (each then played with its own receipt), "this happened here" on a paused frame
// setting the till's clock offset (printed as clock_offset_ms=N for the Python side to check),
// the daily summary page and its CSV against the real API, the receipt under the video at phone
// width, and no Content-Security-Policy violation.
//
//   node tests/browser/transactions_ui.test.mjs '{"url", "user", "password", "shots", "id", "moment"}'
//
// Exits non-zero on the first failed step.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'user', 'password', 'shots', 'id', 'moment', 'otherId']) if (!opts[k]) throw new Error(`missing ${k}`);
mkdirSync(opts.shots, { recursive: true });

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { viewport: { width: 1280, height: 900 } }, cspViolations);
  steps = new Steps(page, opts.shots);
  const step = steps.run;
  const video = 'video.playback-video';
  const panel = page.locator('aside.receipt-panel');
  // Frames decoded and media time advancing; then the wall time of the frame on screen (the
  // player notes wall and media time at each timeupdate, recorded_player.ts).
  const playing = async () => {
    const v = await page.waitForSelector(video);
    await page.waitForFunction((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0 && v.currentTime > 0 && !v.paused, v, { timeout: 30_000 });
    const t0 = await v.evaluate((v) => v.currentTime);
    await page.waitForFunction(([v, t]) => v.currentTime > t + 0.3, [v, t0], { timeout: 15_000 });
    return v.evaluate((v) => ({ frames: v.getVideoPlaybackQuality().totalVideoFrames,
      wall: Number(v.dataset.wallMs) + (v.currentTime - Number(v.dataset.mediaS)) * 1000 }));
  };
  const fitsWidth = () => page.evaluate(() => document.scrollingElement.scrollWidth <= window.innerWidth);

  await step('log in', async () => {
    await page.goto(opts.url);
    await page.getByLabel('User name').fill(opts.user);
    await page.getByLabel('Password').fill(opts.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.tile').first().waitFor();
  });

  await step('transactions page: found by its amount', async () => {
    await page.getByRole('link', { name: 'Transactions', exact: true }).click();
    await page.waitForURL(/#\/transactions$/);
    // Both transactions are listed first; the amount leaves only the 20.00 one.
    await page.locator('tr[data-transaction]').nth(1).waitFor();
    await page.locator('input[name=amount_from]').fill('20');
    await page.locator('input[name=amount_to]').fill('20,00');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-transaction]').length === 1);
    const row = page.locator('tr[data-transaction]');
    assert.equal(Number(await row.getAttribute('data-transaction')), opts.id);
    const text = await row.innerText();
    assert.match(text, /20\.00 EUR/);
    assert.match(text, /Flat white/);
    // The picture of the camera (640x360) at that moment, decoded by the browser.
    const img = row.locator('img.tx-picture');
    await page.waitForFunction((i) => i.complete, await img.elementHandle());
    assert.deepEqual(await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]), [640, 360]);
  });

  await step('click: the counter plays from 10 s before, the receipt beside the video', async () => {
    await page.locator('tr[data-transaction]').click();
    await page.waitForURL(new RegExp(`#/playback/counter\\?t=${opts.moment - 10_000}&transaction=${opts.id}$`));
    const p = await playing();
    assert.ok(p.frames > 0);
    // From 10 s before: the first frames are a keyframe's distance or so from there.
    assert.ok(p.wall >= opts.moment - 10_000 - 4_000 && p.wall <= opts.moment, `frame at ${p.wall - opts.moment} ms from the moment`);
    await panel.waitFor();
    const receipt = await panel.locator('pre.receipt').innerText();
    assert.match(receipt, /2 × Flat white\s+10\.00 EUR/);
    assert.match(receipt, /SALE QR\s+20\.00 EUR/);
    assert.match(await panel.innerText(), /till t1 · ref R-1 · Anna/);
    const vbox = await page.locator(video).boundingBox();
    const pbox = await panel.boundingBox();
    assert.ok(pbox.x >= vbox.x + vbox.width && pbox.y < vbox.y + vbox.height, `receipt beside the video: ${JSON.stringify([vbox, pbox])}`);
    await page.screenshot({ path: `${opts.shots}/transaction-playback.png` });
  });

  await step('timeline: both transactions are markers; ] steps to each with its receipt', async () => {
    await page.waitForFunction(() => document.querySelectorAll('.tx-marker').length === 2);
    assert.equal(await page.locator(`.tx-marker[data-transaction="${opts.id}"]`).getAttribute('data-moment-ms'), String(opts.moment));
    assert.match(await page.locator(`.tx-marker[data-transaction="${opts.id}"]`).getAttribute('title'), /^sale 20\.00 EUR at till t1/);
    // From the pre-roll: the 7.50 one, 1 s before the 20.00 one, then the 20.00 one.
    await page.keyboard.press(']');
    await page.locator(`.tx-marker.current[data-transaction="${opts.otherId}"]`).waitFor();
    await page.locator('aside.receipt-panel pre.receipt', { hasText: 'Croissant' }).waitFor();
    assert.match(await page.locator('.event-status').innerText(), /Playing: sale 7\.50 EUR at till t1/);
    await playing();
    await page.keyboard.press(']');
    await page.locator(`.tx-marker.current[data-transaction="${opts.id}"]`).waitFor();
    await page.locator('aside.receipt-panel pre.receipt', { hasText: 'Flat white' }).waitFor();
    const p = await playing();
    assert.ok(p.wall >= opts.moment - 10_000 - 4_000 && p.wall <= opts.moment, `frame at ${p.wall - opts.moment} ms from the moment`);
    await page.waitForURL(new RegExp(`transaction=${opts.id}$`));
  });

  await step('"this happened here" sets the till\'s clock offset to the frame shown', async () => {
    const v = page.locator(video);
    await v.evaluate((v) => v.pause());
    const wall = await v.evaluate((v) => Number(v.dataset.wallMs) + (v.currentTime - Number(v.dataset.mediaS)) * 1000);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/tills/t1') && r.request().method() === 'PATCH');
    await panel.getByRole('button', { name: 'This happened here' }).click();
    const r = await (await answer).json();
    // The transaction was posted with the till's time = its moment (offset 0): the new offset
    // is where the frame shown is from it.
    assert.ok(Math.abs(r.clock_offset_ms - (wall - opts.moment)) < 250, `offset ${r.clock_offset_ms}, frame at ${wall - opts.moment} ms`);
    await panel.getByText(/clock offset is now -?\d+\.\d s/).waitFor();
    console.log(`clock_offset_ms=${r.clock_offset_ms}`);
  });

  await step('phone width: the receipt under the video, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await playing();
    await panel.waitFor();
    const vbox = await page.locator(video).boundingBox();
    const pbox = await panel.boundingBox();
    assert.ok(pbox.y >= vbox.y + vbox.height - 1, `receipt under the video: ${JSON.stringify([vbox, pbox])}`);
    assert.ok(await fitsWidth(), 'the playback screen fits 390 px');
    await page.goto(`${opts.url}#/transactions`);
    await page.locator('tr[data-transaction]').first().waitFor();
    assert.ok(await fitsWidth(), 'the transactions page fits 390 px');
    assert.deepEqual(cspViolations, []);
  });

  await step('daily summary (phone width): the two transactions counted on the page and in its CSV', async () => {
    // The days around the moment (the server counts days in its events time zone, which may not
    // be the browser's): their cards add up to the two sales by QR, 20.00 + 7.50.
    const day = (ms) => new Date(ms).toISOString().slice(0, 10);
    const days = `from_day=${day(opts.moment - 86_400_000)}&to_day=${day(opts.moment + 86_400_000)}`;
    await page.goto(`${opts.url}#/transactions/summary?till=t1&${days}`);
    await page.locator('section.summary-day[data-till="t1"]').nth(2).waitFor();
    let count = 0;
    let net = 0;
    for (const line of await page.locator('section.summary-day > p').allInnerTexts()) {
      const m = line.match(/^(\d+) transactions?, net (-?\d+\.\d\d)/);
      assert.ok(m, line);
      count += Number(m[1]);
      net += Number(m[2]);
    }
    assert.deepEqual([count, net.toFixed(2)], [2, '27.50']);
    const busy = page.locator('section.summary-day', { has: page.locator('tr[data-method="qr"]') });
    assert.equal(await busy.locator('tr[data-kind="sale"] td').nth(1).innerText(), '2');
    assert.equal(await busy.locator('tr[data-method="qr"] td').nth(2).innerText(), '27.50');
    // The CSV behind "Download CSV": the same figures, one line per till and day.
    const href = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    const csv = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { type: r.headers.get('content-type'), text: await r.text() };
    }, href);
    assert.match(csv.type, /^text\/csv/);
    const [header, ...rows] = csv.text.trim().split('\r\n').map((l) => l.split(','));
    assert.deepEqual(header.slice(0, 7), ['till', 'till_name', 'day', 'from_ms', 'to_ms', 'count', 'net_minor']);
    assert.equal(rows.length, 3);
    const col = (name) => rows.reduce((sum, r) => sum + Number(r[header.indexOf(name)]), 0);
    assert.deepEqual([col('count'), col('net_minor'), col('sale_count'), col('qr_sales_minor')], [2, 2750, 2, 2750]);
    assert.ok(await fitsWidth(), 'the summary fits 390 px');
    assert.deepEqual(cspViolations, []);
  });

  console.log(steps.summary());
} catch (e) {
  console.log(steps ? steps.summary() : `failed before the first step: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
