// The second factor and API tokens in Debian's Chromium (playwright-core) against a real vigil
// with `[http] require_2fa_for_admins = true`: an admin without a second factor is held on the
// account page, enrols from what the page shows (the TOTP code is computed here from the key
// under the QR code, RFC 6238), gets 10 recovery codes, may then use the settings; logs out and
// in again with a code; creates an API token (password again), sees it listed and used, and
// revokes it.
//
//   node tests/browser/account.test.mjs '{"url", "name", "password", "shots"}'
//
// tests/integration/test_webui_account.py runs it.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'name', 'password', 'shots']) {
  if (opts[k] === undefined) throw new Error(`missing ${k}`);
}
mkdirSync(opts.shots, { recursive: true });

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${text}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238: HMAC-SHA1 over the 30 s step, dynamic truncation (RFC 4226 §5.3), 6 digits.
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[19] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
const stepNow = () => Math.floor(Date.now() / 30_000);

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { viewport: { width: 1280, height: 900 } }, cspViolations);
  steps = new Steps(page, opts.shots, { fullPage: true });
  const step = steps.run;
  let secret = '';
  let usedStep = 0;

  await step('an admin without a second factor is held on the account page', async () => {
    await page.goto(opts.url);
    await page.getByLabel('User name').fill(opts.name);
    await page.getByLabel('Password').fill(opts.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await page.getByText('requires admins to use a second factor').waitFor();
    await page.goto(`${opts.url}#/settings/users`);
    await page.waitForFunction(() => location.hash === '#/account');
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  });

  await step('enrol: QR code, key, first code, recovery codes', async () => {
    await page.getByLabel('Your password').fill(opts.password);
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    const qr = page.getByRole('img', { name: 'QR code for an authenticator app' });
    await qr.waitFor();
    secret = (await page.locator('.totp-secret').innerText()).replace(/\s/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const uri = await page.locator('.totp-uri').innerText();
    assert.ok(uri.startsWith(`otpauth://totp/vigil:${opts.name}?secret=${secret}&`), uri);
    // The QR code is drawn: a square canvas with both dark and light modules.
    const [w, h, dark, light] = await qr.evaluate((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let k = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] === 0) k++;
      return [c.width, c.height, k, d.length / 4 - k];
    });
    assert.equal(w, h);
    assert.ok(dark > w && light > w, `${dark} dark, ${light} light pixels`);
    await page.screenshot({ path: `${opts.shots}/account-enrol.png`, fullPage: true });
    usedStep = stepNow();
    await page.getByLabel('The 6-digit code the app shows').fill(totp(secret, usedStep));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('.recovery-codes li').nth(9).waitFor();
    assert.equal(await page.locator('.recovery-codes li').count(), 10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByText('unused recovery codes left').waitFor();
    // Now the rest of vigil is open to them.
    await page.goto(`${opts.url}#/settings/users`);
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
  });

  await step('log out, log in again with a code', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('User name').fill(opts.name);
    await page.getByLabel('Password').fill(opts.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const code = page.getByLabel('Code from your authenticator app');
    await code.waitFor();
    // The confirming code was used: a code logs in once, so wait for the next one.
    while (stepNow() <= usedStep) await page.waitForTimeout(250);
    await code.fill(totp(secret, stepNow()));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Settings' }).waitFor();
  });

  await step('tokens page: create with the password, listed and used, revoke', async () => {
    await page.locator('header .who').click();
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await page.getByText('No API tokens.').waitFor();
    await page.getByLabel('Name (what uses it)').fill('backup script');
    await page.getByLabel('Expires after').fill('30');
    await page.getByLabel('Your password').fill(opts.password);
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = await page.locator('.new-token').innerText();
    assert.match(token, /^vgt_/);
    const row = page.locator('tr', { hasText: 'backup script' });
    await row.waitFor();
    // Name, user (an admin sees everyone's), scope, created, expires, last used.
    let cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[2], 'full');
    assert.notEqual(cells[4], 'never');  // 30 days
    assert.equal(cells[5], 'never');  // not used yet
    // A script uses it; the page then shows when.
    const res = await fetch(new URL('/api/me', opts.url), { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    await page.reload();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await row.waitFor();
    cells = await row.locator('td').allInnerTexts();
    assert.notEqual(cells[5], 'never', cells.join(' | '));  // last used
    await page.screenshot({ path: `${opts.shots}/account-tokens.png`, fullPage: true });
    page.once('dialog', (d) => d.accept());
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('No API tokens.').waitFor();
    const after = await fetch(new URL('/api/me', opts.url), { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(after.status, 401);
  });

  await step('no CSP violation', async () => {
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  if (steps) console.log(steps.summary());
}
