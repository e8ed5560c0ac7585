// System settings in Debian's Chromium (playwright-core) against a real vigil: empty states,
// notification targets (MQTT broker, webhooks) with "Send test" — plain, and TLS through a
// test-made CA, with the failure shown when the CA is not given — default retention, event
// settings, the disk-low banner for admins and the status line for a viewer, a phone-sized
// settings screen, and no CSP violation.
//
//   node tests/browser/system_settings.test.mjs '{"url", "shots", "config", "pid", "deadUrl",
//     "mqttPort", "mqttTlsPort", "caFile", "hookUrl", "tlsHookUrl", "secret"}'
//
// tests/integration/test_webui_system.py runs it and checks what arrived where.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'shots', 'config', 'pid', 'deadUrl', 'mqttPort', 'mqttTlsPort', 'caFile', 'hookUrl', 'tlsHookUrl', 'secret']) {
  if (!opts[k]) throw new Error(`missing ${k}`);
}
mkdirSync(opts.shots, { recursive: true });

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { viewport: { width: 1280, height: 900 }, timezoneId: 'Asia/Kolkata' }, cspViolations);
  steps = new Steps(page, opts.shots);
  const step = steps.run;
  const shot = (name) => page.screenshot({ path: `${opts.shots}/${name}.png`, fullPage: true });
  const login = async (p, name) => {
    await p.goto(opts.url);
    await p.getByLabel('User name').fill(name);
    await p.getByLabel('Password').fill(`${name}-password-1`);
    await p.getByRole('button', { name: 'Log in' }).click();
    await p.locator('header .who').waitFor();
  };
  const mqtt = page.locator('form[aria-labelledby=mqtt-title]');
  const hooks = page.locator('form[aria-labelledby=wh-title]');
  const resultOf = (loc) => loc.locator('.result').last();
  // The settings navigation (the banner may hold a link of the same name).
  const nav = (name) => page.locator('nav.subnav').getByRole('link', { name, exact: true });

  await step('an admin without cameras is offered to add one', async () => {
    await login(page, 'boss');
    await page.getByText(/No cameras yet — add one/).waitFor();
    await page.getByRole('link', { name: 'add one' }).waitFor();
  });

  await step('a camera without a closed file says "No recordings yet" on its playback screen', async () => {
    const status = await page.evaluate(async (url) => {
      const me = await (await fetch('/api/me')).json();
      const r = await fetch('/api/cameras', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: JSON.stringify({ id: 'dead', name: 'Dead camera', url }),
      });
      return r.status;
    }, opts.deadUrl);
    assert.equal(status, 201);
    await page.goto(`${opts.url}#/playback/dead`);
    await page.getByText(/^No recordings yet/).waitFor();
  });

  await step('MQTT broker saved through the form, replaced at run time, and its test arrives', async () => {
    await page.goto(`${opts.url}#/settings/notifications`);
    await nav('Notifications').waitFor();
    assert.equal(await page.locator('.subnav a[aria-current=page]').innerText(), 'Notifications');
    await mqtt.getByLabel('Send alerts to an MQTT broker').check();
    await mqtt.getByLabel('Broker host').fill('127.0.0.1');
    await mqtt.getByLabel('Port').fill(String(opts.mqttPort));
    await mqtt.getByRole('button', { name: 'Save MQTT' }).click();
    await mqtt.getByText('Saved: vigil connects to the broker now.').waitFor();
    // A second save with another prefix: the running notifier is replaced.
    await mqtt.getByLabel('Topic prefix').fill('house');
    await mqtt.getByRole('button', { name: 'Save MQTT' }).click();
    await mqtt.getByText('Saved: vigil connects to the broker now.').waitFor();
    await mqtt.getByRole('button', { name: 'Send test' }).click();
    assert.match(await resultOf(mqtt).innerText(), /^Test sent: published to house\/test on 127\.0\.0\.1:\d+; the broker acknowledged it/);
  });

  await step('MQTT over TLS: refused without the CA, sent with the test CA', async () => {
    await mqtt.getByLabel('TLS (MQTT over TLS)').check();
    await mqtt.getByLabel('Port').fill(String(opts.mqttTlsPort));
    await mqtt.getByRole('button', { name: 'Send test' }).click();
    const refused = await resultOf(mqtt).innerText();
    assert.match(refused, /^Test failed: .*TLS/);
    assert.match(refused, /certificate verify failed/);
    await mqtt.getByLabel('CA file (PEM)').fill(opts.caFile);
    await mqtt.getByRole('button', { name: 'Send test' }).click();
    await mqtt.getByText(/^Test sent: .* over TLS/).waitFor();
    // Not saved: the saved broker stays the plain one.
    await mqtt.getByLabel('TLS (MQTT over TLS)').uncheck();
    await mqtt.getByLabel('CA file (PEM)').fill('');
    await mqtt.getByLabel('Port').fill(String(opts.mqttPort));
  });

  await step('a webhook added with a secret: its signed test arrives', async () => {
    await hooks.getByText('No webhooks yet.').waitFor();
    await hooks.getByRole('button', { name: 'Add a webhook' }).click();
    const first = hooks.locator('fieldset.webhook').nth(0);
    await first.getByLabel('URL').fill(opts.hookUrl);
    await first.getByLabel('Secret').fill(opts.secret);
    await first.getByRole('button', { name: 'Send test' }).click();
    assert.match(await resultOf(first).innerText(), /^Test sent: .* answered HTTP 204/);
  });

  await step('an HTTPS webhook of a private CA: refused without ca_file, sent with it; both saved', async () => {
    await hooks.getByRole('button', { name: 'Add a webhook' }).click();
    const second = hooks.locator('fieldset.webhook').nth(1);
    await second.getByLabel('URL').fill(opts.tlsHookUrl);
    await second.getByLabel('Secret').fill(opts.secret);
    await second.getByRole('button', { name: 'Send test' }).click();
    assert.match(await resultOf(second).innerText(), /^Test failed: .*TLS: certificate verify failed/);
    await second.getByLabel('CA file (PEM)').fill(opts.caFile);
    await second.getByRole('button', { name: 'Send test' }).click();
    await second.getByText(/^Test sent: .* answered HTTP 204/).waitFor();
    await hooks.getByRole('button', { name: 'Save webhooks' }).click();
    await hooks.getByText('Saved: 2 webhooks.').waitFor();
    await shot('settings-notifications');
  });

  await step('secrets come back masked, never in the page', async () => {
    await page.reload();
    await hooks.locator('fieldset.webhook').nth(1).waitFor();
    assert.equal(await hooks.locator('fieldset.webhook').count(), 2);
    assert.equal(await hooks.locator('fieldset.webhook').nth(0).getByLabel('Secret').inputValue(), '********');
    assert.equal(await mqtt.getByLabel('Topic prefix').inputValue(), 'house');
    const html = await page.content();
    assert.ok(!html.includes(opts.secret), 'the secret is in the page');
  });

  await step('storage: disk usage, stored footage per camera, default retention saved', async () => {
    await nav('Storage & retention').click();
    const meter = page.getByRole('meter', { name: 'Disk used' });
    await meter.waitFor();
    assert.ok(Number(await meter.getAttribute('aria-valuenow')) >= 0);
    await page.locator('tr[data-camera=dead]').getByText('No recordings yet').waitFor();
    assert.equal(await page.locator('#system-banner').isHidden(), true);
    await page.getByLabel('Keep at most (days)').fill('9');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await page.getByText('Saved: retention applies the new limits at its next pass.').waitFor();
    // The "Kept" column is the row's last (a Held column came before it with holds).
    assert.match(await page.locator('tr[data-camera=dead] td').last().innerText(), /9 days/);
  });

  await step('event settings saved', async () => {
    await nav('Events').click();
    await page.getByLabel('Minimum duration (s)').fill('2.5');
    await page.getByLabel('Pre-roll (s)').fill('7');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved: new events use these settings.').waitFor();
    await page.getByLabel('Time zone of schedules').fill('Mars/Base');
    await page.getByRole('button', { name: 'Save' }).click();
    assert.match(await page.locator('.notice.error').innerText(), /events\.time_zone = "Mars\/Base"/);
  });

  await step('disk_low_space above the free space (file + SIGHUP): a banner on every screen', async () => {
    const text = readFileSync(opts.config, 'utf8');
    assert.match(text, /disk_low_space = '1KiB'|disk_low_space = "1KiB"/);
    writeFileSync(opts.config, text.replace(/disk_low_space = ['"]1KiB['"]/, 'disk_low_space = "5000TB"'));
    process.kill(opts.pid, 'SIGHUP');
    const banner = page.locator('#system-banner');
    for (let i = 0; i < 40 && !(await banner.isVisible()); i++) {
      await nav('Storage & retention').click();
      await page.waitForTimeout(250);
      await nav('Notifications').click();
    }
    await nav('Storage & retention').click();
    await banner.getByText(/Disk nearly full: .* free/).waitFor();
    await banner.getByRole('link', { name: 'Storage & retention' }).waitFor();
    await page.locator('.notice.error', { hasText: 'Less than' }).waitFor();
    await shot('settings-storage');
    await page.getByRole('link', { name: 'Live', exact: true }).click();
    await banner.getByText(/Disk nearly full/).waitFor();
  });

  await step('a viewer gets a status line, without settings', async () => {
    const p2 = await openPage(browser, { viewport: { width: 1000, height: 700 } }, cspViolations);
    await login(p2, 'vera');
    const line = p2.locator('#system-banner.statusline');
    await line.getByText(/Disk nearly full.*Tell an administrator\./).waitFor();
    assert.equal(await line.getByRole('link').count(), 0);
    assert.equal(await p2.getByRole('link', { name: 'Settings' }).count(), 0);
    await p2.context().close();
  });

  await step('phone-sized settings screen: nothing wider than the screen; no CSP violation', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${opts.url}#/settings/notifications`);
    await mqtt.waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page wider than the screen by ${overflow}px`);
    assert.deepEqual(cspViolations, []);
  });
} finally {
  await browser.close();
  if (steps) console.log(steps.summary());
}
