// The live view's pan, tilt and zoom controls in Debian's Chromium (playwright-core) against a
// real vigil and the ONVIF camera simulator (tests/fixtures/onvif_camera.py): an operator holds
// "Pan right" with the mouse and "Tilt up" with the keyboard (the camera moves while the button
// is held and stops when it is let go), picks a preset by its name and goes there; a viewer sees
// no controls. tests/integration/test_onvif.py checks what the camera was asked, in order, and the
// audit.
//
//   node tests/browser/ptz.test.mjs '{"url", "camera", "operator", "operatorPassword", "viewer",
//        "viewerPassword", "shots": DIR}'
//
// Exits non-zero on the first failed step.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { launchChromium, openPage, Steps } from './ui_session.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
for (const k of ['url', 'camera', 'operator', 'operatorPassword', 'viewer', 'viewerPassword', 'shots']) {
  if (!opts[k]) throw new Error(`missing ${k}`);
}
mkdirSync(opts.shots, { recursive: true });

const browser = await launchChromium();
const cspViolations = [];
let steps;
try {
  const page = await openPage(browser, { viewport: { width: 1280, height: 900 } }, cspViolations);
  steps = new Steps(page, opts.shots);
  const step = steps.run;
  const controls = page.getByRole('group', { name: 'Pan, tilt and zoom' });
  // Each PTZ request the page makes, answered: the next step starts once the camera was asked.
  const ptzAnswered = (action) =>
    page.waitForResponse((r) => r.url().endsWith(`/api/cameras/${opts.camera}/ptz`) &&
      r.request().method() === 'POST' && JSON.parse(r.request().postData() ?? '{}').action === action);
  const logIn = async (user, password) => {
    await page.goto(opts.url);
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('header .who').waitFor();
    await page.goto(`${opts.url}#/live/${opts.camera}`);
  };

  await step('an operator sees the controls and the camera\'s presets by name', async () => {
    await logIn(opts.operator, opts.operatorPassword);
    await controls.waitFor();
    const presets = controls.getByLabel('Preset');
    await presets.locator('option[value="2"]').waitFor({ state: 'attached' });
    assert.deepEqual(await presets.locator('option').allTextContents(), ['Presets…', 'Door', 'Till']);
    assert.equal(await presets.isDisabled(), false);
  });

  await step('holding "Pan right" moves the camera until the button is let go', async () => {
    const button = controls.getByRole('button', { name: 'Pan right' });
    await button.hover();
    const moved = ptzAnswered('move');
    await page.mouse.down();
    assert.equal((await moved).status(), 204);
    const stopped = ptzAnswered('stop');
    await page.mouse.up();
    assert.equal((await stopped).status(), 204);
  });

  await step('"Tilt up" held with the keyboard moves and stops the same way', async () => {
    await controls.getByRole('button', { name: 'Tilt up' }).focus();
    const moved = ptzAnswered('move');
    await page.keyboard.down('Enter');
    assert.equal((await moved).status(), 204);
    const stopped = ptzAnswered('stop');
    await page.keyboard.up('Enter');
    assert.equal((await stopped).status(), 204);
  });

  await step('a preset picked by name is where the camera goes', async () => {
    await controls.getByLabel('Preset').selectOption({ label: 'Till' });
    const went = ptzAnswered('preset');
    await controls.getByRole('button', { name: 'Go to preset' }).click();
    assert.equal((await went).status(), 204);
    assert.equal(await controls.getByRole('alert').count(), 0);
  });

  await step('a viewer sees the live picture without the controls', async () => {
    await page.context().clearCookies();
    // The controls appear once the camera has been read: their absence counts only after that.
    const read = page.waitForResponse((r) => r.url().endsWith(`/api/cameras/${opts.camera}`) &&
      r.request().method() === 'GET' && r.ok());
    await logIn(opts.viewer, opts.viewerPassword);
    await read;
    await page.locator('.ptz-slot').waitFor({ state: 'attached' });
    assert.equal(await controls.count(), 0);
  });

  assert.deepEqual(cspViolations, [], 'no Content-Security-Policy violation');
  console.log(steps.summary());
} catch (e) {
  if (steps) console.log(steps.summary());
  else console.log(`FAIL setup: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
