// The "Verify evidence" page in Debian's Chromium (playwright-core) against a real vigil serving
// the built UI: an intact bundle is VERIFIED, a bundle with one flipped bit in its video is NOT
// VERIFIED naming the same first bad fragment as `vigil verify`, a trusted fingerprint that is
// not the bundle's key fails; a bundle whose checkpoint carries an RFC 3161 token is VERIFIED
// with the token's time listed, and the same bundle with one bit of the token's signature
// flipped is NOT VERIFIED for that token alone, as `vigil verify` says; the bundle never leaves
// the browser (no request carries it). The intact bundle carries transactions.json; edited, it
// fails for that file alone, with vigil verify's words.
//
//   node tests/browser/verify_evidence.test.mjs '{"url", "shots", "user", "password", "intact",
//     "altered", "badSequence", "fingerprint", "tsaIntact", "tsaAltered", "tsaFingerprint",
//     "tsaProblem", "attAltered", "attProblem"}'
//
// tests/integration/test_webui_verify.py makes the bundles and runs it.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'shots', 'user', 'password', 'intact', 'altered', 'badSequence', 'fingerprint', 'tsaIntact', 'tsaAltered', 'tsaFingerprint', 'tsaProblem', 'attAltered', 'attProblem']) {
  if (opts[k] === undefined) throw new Error(`missing ${k}`);
}
mkdirSync(opts.shots, { recursive: true });

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { viewport: { width: 1280, height: 900 } }, cspViolations);
  steps = new Steps(page, opts.shots, { fullPage: true });
  const step = steps.run;
  let uploadedBytes = 0;
  page.on('request', (r) => {
    uploadedBytes += r.postDataBuffer()?.length ?? 0;
  });
  const verdict = page.locator('#verify-result [data-verdict]');
  const check = async (file, key) => {
    await page.getByLabel('Trusted key fingerprint').fill(key ?? '');
    await page.locator('#verify-result').evaluate((el) => el.replaceChildren());
    await page.locator('input[name=bundle]').setInputFiles(file);
    // The verdict, or the error notice the page shows when it could not check at all.
    await page.locator('#verify-result [data-verdict], #verify-result .notice').first().waitFor();
    if (!(await verdict.count())) throw new Error(await page.locator('#verify-result').innerText());
    return verdict.getAttribute('data-verdict');
  };

  await step('log in and open Verify evidence', async () => {
    await page.goto(opts.url);
    await page.getByLabel('User name').fill(opts.user);
    await page.getByLabel('Password').fill(opts.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('header .who').waitFor();
    await page.getByRole('link', { name: 'Verify evidence' }).click();
    await page.getByRole('heading', { name: 'Verify evidence' }).waitFor();
  });
  await step('an intact bundle is verified, against its trusted fingerprint too', async () => {
    assert.equal(await check(opts.intact), 'verified');
    assert.equal(await check(opts.intact, opts.fingerprint), 'verified');
    await page.getByText('(the trusted key)').waitFor();
    await page.screenshot({ path: `${opts.shots}/verify-intact.png`, fullPage: true });
  });
  await step('a flipped bit names the same first bad fragment as vigil verify', async () => {
    assert.equal(await check(opts.altered), 'not-verified');
    assert.equal(await page.locator('[data-first-bad]').getAttribute('data-first-bad'), String(opts.badSequence));
    await page.getByText('do not hash to its chain entry').waitFor();
    await page.screenshot({ path: `${opts.shots}/verify-altered.png`, fullPage: true });
  });
  await step('another trusted fingerprint fails the intact bundle', async () => {
    assert.equal(await check(opts.intact, 'ab'.repeat(32)), 'not-verified');
    await page.getByText('(NOT the trusted key)').waitFor();
  });
  await step('RFC 3161 tokens: a genuine one holds, an altered one fails as in vigil verify', async () => {
    assert.equal(await check(opts.tsaIntact, opts.tsaFingerprint), 'verified');
    const stamped = page.locator('[data-tsa-checkpoint]');
    assert.equal(await stamped.count(), 1);
    assert.equal(await stamped.getAttribute('data-tsa-ok'), 'true');
    assert.match(await stamped.innerText(), /RFC 3161 time \d{4}-\d\d-\d\dT/);
    console.log(`     ${await stamped.innerText()}`);
    assert.equal(await check(opts.tsaAltered, opts.tsaFingerprint), 'not-verified');
    assert.equal(await page.locator('[data-tsa-checkpoint]').getAttribute('data-tsa-ok'), 'false');
    // The same single problem as the CLI's, word for word.
    assert.deepEqual(await page.locator('#verify-result .problems li').allInnerTexts(), [opts.tsaProblem]);
    await page.screenshot({ path: `${opts.shots}/verify-tsa-altered.png`, fullPage: true });
  });
  await step('an edited transactions.json fails as in vigil verify', async () => {
    assert.equal(await check(opts.attAltered, opts.fingerprint), 'not-verified');
    assert.deepEqual(await page.locator('#verify-result .problems li').allInnerTexts(), [opts.attProblem]);
  });
  await step('nothing was uploaded and no CSP violation', async () => {
    assert.ok(uploadedBytes < 10_000, `${uploadedBytes} bytes sent`);
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  if (steps) console.log(steps.summary());
}
