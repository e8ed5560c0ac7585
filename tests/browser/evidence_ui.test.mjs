// Evidence from the web UI in Debian's Chromium (playwright-core) against a real vigil recording
// one camera: the Holds page puts a hold (its form), lists it with the bytes it keeps, and
// exports it as an evidence bundle that downloads; the playback screen's export dialog with
// "Evidence bundle (verifiable)" downloads a bundle of the selected range. The bundles are saved
// where the caller says; tests/integration/test_webui_evidence.py checks them with `vigil verify`.
//
//   node tests/browser/evidence_ui.test.mjs '{"url", "shots", "user", "password", "camera",
//     "holdOut", "exportOut"}'
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'shots', 'user', 'password', 'camera', 'holdOut', 'exportOut']) {
  if (opts[k] === undefined) throw new Error(`missing ${k}`);
}
mkdirSync(opts.shots, { recursive: true });

// A downloaded evidence bundle is a ZIP whose members include manifest.json.
const assertBundle = (file) => {
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04', 'a ZIP');
  assert.ok(bytes.includes(Buffer.from('manifest.json')), 'with a manifest');
  return bytes.length;
};

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { acceptDownloads: true, viewport: { width: 1280, height: 900 } }, cspViolations);
  steps = new Steps(page, opts.shots, { fullPage: true });
  const step = steps.run;

  await step('log in and open Holds', async () => {
    await page.goto(opts.url);
    await page.getByLabel('User name').fill(opts.user);
    await page.getByLabel('Password').fill(opts.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('header .who').waitFor();
    await page.goto(`${opts.url}#/holds`);
    await page.getByRole('heading', { name: 'Evidence holds' }).waitFor();
  });

  await step('a hold put from the Holds page is listed with the bytes it keeps', async () => {
    // The form's range defaults to the last hour up to now: everything recorded so far.
    await page.locator('select[name=hold_cameras]').selectOption(opts.camera);
    await page.getByLabel('Hold name').fill('case 2026-118');
    await page.getByLabel('Reason').fill('break-in at the back door');
    await page.getByRole('button', { name: 'Put a hold' }).click();
    await page.getByText(/^Held: /).waitFor();
    const row = page.locator('tr[data-hold]', { hasText: 'case 2026-118' });
    await row.waitFor();
    const held = Number(await row.locator(`[data-camera="${opts.camera}"] .held-bytes`).getAttribute('data-bytes'));
    assert.ok(held > 10_000, `the hold keeps the recorded footage: ${held} bytes`);
    assert.match(await row.innerText(), /held/);
    console.log(`     hold listed: ${(await row.innerText()).replace(/\s+/g, ' ')}`);
    await page.screenshot({ path: `${opts.shots}/holds.png`, fullPage: true });
  });

  await step('Export evidence of the hold downloads a bundle', async () => {
    const row = page.locator('tr[data-hold]', { hasText: 'case 2026-118' });
    await row.getByRole('button', { name: /Export evidence bundles of hold/ }).click();
    const link = row.getByRole('link', { name: /evidence bundle/ });
    await link.waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), link.click()]);
    await download.saveAs(opts.holdOut);
    console.log(`     hold bundle: ${download.suggestedFilename()}, ${assertBundle(opts.holdOut)} bytes`);
  });

  await step('the export dialog\'s evidence choice downloads a bundle of the selection', async () => {
    await page.goto(`${opts.url}#/playback/${encodeURIComponent(opts.camera)}`);
    await page.getByRole('button', { name: 'Hour' }).click();
    // From the start of the footage to one keyboard step (12.5 s in an hour view) later.
    await page.locator('.timeline').scrollIntoViewIfNeeded();
    const range = await page.locator('.timeline .range').first().boundingBox();
    const track = await page.locator('.timeline .track').boundingBox();
    await page.mouse.click(range.x + 2, track.y + track.height / 2);
    await page.getByRole('button', { name: 'Mark start' }).click();
    await page.getByRole('slider').focus();
    await page.keyboard.press('ArrowRight');
    await page.getByRole('button', { name: 'Mark end' }).click();
    await page.getByLabel('Evidence bundle (verifiable)').check();
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Export evidence bundle' }).click(),
    ]);
    await download.saveAs(opts.exportOut);
    await page.getByRole('link', { name: /Download evidence bundle/ }).waitFor();
    console.log(`     export bundle: ${download.suggestedFilename()}, ${assertBundle(opts.exportOut)} bytes`);
  });

  await step('no Content-Security-Policy violations', async () => {
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  console.log(steps?.summary() ?? 'did not start');
}
process.exitCode = steps && steps.failed === 0 ? 0 : 1;
