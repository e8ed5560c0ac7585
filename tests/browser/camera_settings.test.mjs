// The camera settings form in Debian's Chromium (playwright-core) against a real vigil and real
// RTSP test cameras: "Test connection" with a wrong password and a dead port (the reasons shown)
// and with the right URL (a real decoded snapshot), zones and a mask drawn with the mouse on that
// picture (a corner dragged), a schedule, recording mode and analysis settings, saved; then an
// existing camera edited: its masked URL tested, a zone typed as numbers (the keyboard way), its
// recording mode changed; a duplicate zone name refused; the form at phone width.
// tests/integration/test_webui_cameras.py checks the file, the API and that recording never
// stopped.
//
//   node tests/browser/camera_settings.test.mjs '{"url", "admin", "password", "doorUrl",
//        "wrongPasswordUrl", "deadUrl", "zone": [[x, y], ...], "drag": [x, y], "mask": [[x, y], ...],
//        "typedZone": "x y, ...", "shots": DIR}'
//
// Prints "RESULT <json>" with what it drew; exits non-zero on the first failed step.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'admin', 'password', 'doorUrl', 'wrongPasswordUrl', 'deadUrl', 'zone', 'drag', 'mask', 'typedZone', 'shots']) {
  if (!opts[k]) throw new Error(`missing ${k}`);
}
mkdirSync(opts.shots, { recursive: true });

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { viewport: { width: 1280, height: 900 }, timezoneId: 'Europe/Berlin' }, cspViolations);
  steps = new Steps(page, opts.shots, { fullPage: true });
  const step = steps.run;
  const shot = (name, locator) => (locator ?? page).screenshot({ path: join(opts.shots, `${name}.png`) });
  const form = page.locator('form.camera-form');
  const probeResult = form.locator('.probe-result');
  // The stage's pixel position of a point given as fractions of the picture.
  const at = async ([fx, fy]) => {
    const box = await form.locator('.zone-stage').boundingBox();
    return [box.x + fx * box.width, box.y + fy * box.height];
  };
  const clickAt = async (p) => {
    const [x, y] = await at(p);
    await page.mouse.click(x, y);
  };

  await step('log in as admin', async () => {
    await page.goto(opts.url);
    await page.getByLabel('User name').fill(opts.admin);
    await page.getByLabel('Password').fill(opts.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('header .who').waitFor();
    await page.goto(`${opts.url}#/settings/cameras`);
    await page.locator('tr[data-camera=front]').waitFor();
  });

  await step('test connection with a wrong password says so', async () => {
    await page.getByRole('button', { name: 'Add a camera' }).click();
    await form.locator('input[name=url]').fill(opts.wrongPasswordUrl);
    await form.getByRole('button', { name: 'Test connection' }).click();
    const err = probeResult.locator('[role=alert]');
    await err.waitFor();
    assert.equal(await err.getAttribute('data-reason'), 'unauthorized');
    assert.match(await err.innerText(), /401/);
    assert.match(await err.innerText(), /Check the user name and password/);
    assert.ok(!(await err.innerText()).includes('wrong-pw'), 'the password is not shown');
  });

  await step('test connection to a dead port says it was refused', async () => {
    await form.locator('input[name=url]').fill(opts.deadUrl);
    await form.getByRole('button', { name: 'Test connection' }).click();
    // Whatever the test shows is reported: a failure says what was on screen, not just "timeout".
    const err = probeResult.locator('[role=alert]');
    await err.waitFor();
    const text = await err.innerText();
    assert.equal(await err.getAttribute('data-reason'), 'refused', `shown: ${text}`);
    assert.match(text, /refused/);
  });

  let probed = {};
  await step('test connection to the camera shows its real picture', async () => {
    await form.locator('input[name=id]').fill('door');
    await form.locator('input[name=name]').fill('Door');
    await form.locator('input[name=url]').fill(opts.doorUrl);
    await form.getByRole('button', { name: 'Test connection' }).click();
    await probeResult.locator('.spin').waitFor({ state: 'detached', timeout: 20_000 }).catch(() => {});
    const img = probeResult.locator('img.probe-snapshot');
    await img.waitFor({ timeout: 20_000 });
    await page.waitForFunction((i) => i.complete && i.naturalWidth > 0, await img.elementHandle());
    probed = await img.evaluate((i) => ({ width: i.naturalWidth, height: i.naturalHeight }));
    assert.ok(probed.width > 0 && probed.height > 0);
    const text = await probeResult.locator('.probe-ok').innerText();
    assert.match(text, new RegExp(`H\\.264 ${probed.width}×${probed.height}`));
    // The zone editor draws on the same picture.
    const pic = form.locator('img.zone-picture');
    await page.waitForFunction((i) => !i.hidden && i.complete && i.naturalWidth > 0, await pic.elementHandle());
    console.log(`     probe: ${text.trim()}`);
    const connection = form.locator('section.form-section').first();
    await connection.scrollIntoViewIfNeeded();
    await shot('camera-form-test', connection);
  });

  let dragged = [];
  await step('draw a zone by mouse, drag a corner, draw a mask', async () => {
    await form.locator('.zone-stage').scrollIntoViewIfNeeded();
    await form.getByRole('button', { name: 'Add zone' }).click();
    for (const p of opts.zone) await clickAt(p);
    await form.getByRole('button', { name: 'Finish shape' }).click();
    await form.locator('polygon.zone-shape').first().waitFor();
    // The new zone is selected: its corners are handles. Drag the first one.
    const [x0, y0] = await at(opts.zone[0]);
    const [x1, y1] = await at(opts.drag);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, { steps: 4 });
    await page.mouse.move(x1, y1, { steps: 4 });
    await page.mouse.up();
    const corners = await form.locator('input[name=zone_points]').first().inputValue();
    dragged = corners.split(',')[0].trim().split(/\s+/).map(Number);
    assert.ok(Math.abs(dragged[0] - opts.drag[0]) < 0.01 && Math.abs(dragged[1] - opts.drag[1]) < 0.01, `dragged corner at ${corners}`);
    await form.locator('input[name=zone_name]').first().fill('driveway');

    await form.getByRole('button', { name: 'Add mask' }).click();
    for (const p of opts.mask) await clickAt(p);
    await form.getByRole('button', { name: 'Finish shape' }).click();
    await form.locator('polygon.zone-shape.mask').waitFor();
    assert.equal(await form.locator('polygon.zone-shape').count(), 2);
    assert.equal(await form.locator('input[name=zone_name]').nth(1).inputValue(), 'mask1');
    assert.ok(await form.locator('input[name=zone_mask]').nth(1).isChecked());
    await form.locator('.zone-editor').scrollIntoViewIfNeeded();
    await shot('camera-zone-editor', form.locator('.zone-editor'));
  });

  await step('a schedule for the zone, recording mode and analysis', async () => {
    await form.getByRole('button', { name: 'Add schedule' }).click();
    const row = form.locator('.schedule-row').first();
    // Masks cannot be scheduled: only the zone is offered.
    const options = await row.locator('select[name=schedule_zone] option').allInnerTexts();
    assert.deepEqual(options, ['All events', 'Zone driveway']);
    await row.locator('select[name=schedule_zone]').selectOption('driveway');
    for (const d of ['mon', 'tue', 'wed', 'thu', 'fri']) await row.locator(`input[name=schedule_day][value=${d}]`).uncheck();
    await row.locator('input[name=schedule_type][value=motion]').check();
    await row.locator('input[name=schedule_from]').fill('08:00');
    await row.locator('input[name=schedule_to]').fill('18:30');
    // The time zone schedules are in is stated: the recorder's, not this browser's.
    assert.match(await form.locator('.schedule-editor').innerText(), /Times are in Etc\/UTC \(your browser is in Europe\/Berlin\)/);
    await form.locator('select[name=record]').selectOption('events');
    await form.locator('input[name=analysis_enabled]').check();
    const slider = form.locator('input[name=sensitivity]');
    await slider.focus();
    await page.keyboard.press('End');
    for (let i = 0; i < 20; i++) await page.keyboard.press('ArrowLeft');
    assert.equal(await form.locator('output').first().innerText(), '80');
    await form.locator('input[name=min_area]').fill('0.5');
    await form.locator('input[name=tamper]').uncheck();
    await form.getByRole('button', { name: 'Add camera' }).click();
    await page.getByText('Camera door added').waitFor();
    await page.locator('tr[data-camera=door]').waitFor();
  });

  await step('edit the recording camera: test its masked URL, type a zone, change its mode', async () => {
    await page.locator('tr[data-camera=front]').getByRole('button', { name: 'Edit' }).click();
    assert.match(await form.locator('input[name=url]').inputValue(), /:\*\*\*@/);
    // The zone editor shows the camera's current picture.
    const pic = form.locator('img.zone-picture');
    await page.waitForFunction((i) => !i.hidden && i.complete && i.naturalWidth > 0, await pic.elementHandle());
    await form.getByRole('button', { name: 'Test connection' }).click();
    await probeResult.locator('img.probe-snapshot').waitFor({ timeout: 20_000 });
    // Keyboard only: the shape's corners typed as numbers.
    await form.getByRole('button', { name: 'Add zone' }).focus();
    await page.keyboard.press('Enter');
    await form.locator('input[name=new_points]').fill(opts.typedZone);
    await form.getByRole('button', { name: 'Use these corners' }).focus();
    await page.keyboard.press('Enter');
    await form.locator('polygon.zone-shape').waitFor();
    await form.locator('select[name=record]').selectOption('events');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
  });

  await step('a wrong zone name is refused with vigil\'s message', async () => {
    await page.locator('tr[data-camera=door]').getByRole('button', { name: 'Edit' }).click();
    await form.locator('input[name=zone_name]').first().waitFor();
    assert.equal(await form.locator('input[name=zone_name]').first().inputValue(), 'driveway');
    await form.locator('input[name=zone_name]').nth(1).fill('driveway');
    await form.getByRole('button', { name: 'Save' }).click();
    const err = form.locator('[role=alert]');
    await err.waitFor();
    assert.match(await err.innerText(), /zone\[1\]\.name = "driveway": is used twice/);
    await form.getByRole('button', { name: 'Cancel' }).click();
  });

  await step('the form fits a phone (390 px wide)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('tr[data-camera=door]').getByRole('button', { name: 'Edit' }).click();
    const pic = form.locator('img.zone-picture');
    await page.waitForFunction((i) => !i.hidden && i.complete && i.naturalWidth > 0, await pic.elementHandle());
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `the page is ${wide} px wide`);
    const stage = await form.locator('.zone-stage').boundingBox();
    assert.ok(stage.width > 300 && stage.width <= 390, `zone picture ${stage.width} px wide`);
  });

  console.log(`RESULT ${JSON.stringify({ probed, dragged })}`);
} finally {
  await browser.close();
  if (cspViolations.length) console.log(`CSP violations: ${cspViolations.join('\n')}`);
  if (steps) console.log(steps.summary());
  process.exitCode = !steps || steps.failed || cspViolations.length ? 1 : 0;
}
