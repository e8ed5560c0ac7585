// What every web UI browser test starts with: Debian's Chromium with the flags these machines
// need, pages whose Content-Security-Policy violations are collected and whose errors are
// printed, and named steps that print "ok"/"FAIL" with their time and keep a screenshot of the
// page when one fails.
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
           '--autoplay-policy=no-user-gesture-required'],
  });
}

export function watchPage(page, cspViolations) {
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) cspViolations.push(t);
    if (m.type() === 'error') console.log('page error:', t);
  });
  page.on('pageerror', (e) => console.log('page exception:', e.message));
  return page;
}

export async function openPage(browser, contextOptions, cspViolations) {
  const context = await browser.newContext(contextOptions);
  return watchPage(await context.newPage(), cspViolations);
}

// `run(name, fn)` runs one step; a failed step is counted, shown, and thrown on (the test ends).
export class Steps {
  constructor(page, shotsDir, { fullPage = false } = {}) {
    this.passed = 0;
    this.failed = 0;
    this.run = async (name, fn) => {
      const t0 = Date.now();
      try {
        await fn();
        this.passed++;
        console.log(`ok   ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        this.failed++;
        console.log(`FAIL ${name}: ${e.stack ?? e}`);
        await page.screenshot({ path: join(shotsDir, `failed-${name.replace(/\W+/g, '-')}.png`), fullPage }).catch(() => {});
        throw e;
      }
    };
  }

  summary() {
    return `${this.passed} passed, ${this.failed} failed`;
  }
}

// Logs in as opts.user and opens the recordings of opts.camera, once its timeline shows a range.
export async function openRecordings(page, opts) {
  await page.goto(opts.url);
  await page.getByLabel('User name').fill(opts.user);
  await page.getByLabel('Password').fill(opts.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('header .who').waitFor();
  await page.goto(`${opts.url}#/playback/${opts.camera}`);
  await page.locator('.timeline .range').first().waitFor();
}
