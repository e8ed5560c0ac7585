// "Test connection" in the camera form: asks vigil to connect to the URL as typed
// (POST /api/cameras/probe, up to ~10 s) and shows the camera's first picture with its codec,
// size and frame rate, or the reason it failed.
import { api, type ProbeResult } from './api';
import { h, mount, notice, spinner } from './dom';

const reasonHelp: Record<string, string> = {
  refused: 'Check the host and port (RTSP is usually port 554).',
  unreachable: 'Check the address and that vigil can reach that network.',
  timeout: 'The camera did not send a picture in time: check the address, or try TCP.',
  unauthorized: 'Check the user name and password in the URL.',
  not_found: 'Check the stream path in the URL (see the camera\'s manual).',
  unsupported: 'vigil records H.264 and H.265: set the camera\'s video codec to one of them.',
};

export interface ProbeButton {
  element: HTMLElement;
}

// `params` gives what to test when the button is pressed; `onPicture` gets the snapshot (a data:
// URL) of a successful test.
export function probeButton(
  params: () => { url: string; camera?: string; transport?: string; rtsp_client?: string },
  onPicture: (src: string, result: ProbeResult) => void,
): ProbeButton {
  const button = h('button', { type: 'button', name: 'probe' }, 'Test connection');
  const out = h('div', { class: 'probe-result', 'aria-live': 'polite' });
  let controller: AbortController | null = null;
  button.addEventListener('click', async () => {
    const p = params();
    if (!p.url) {
      mount(out, notice('error', 'Type the stream URL first.'));
      return;
    }
    controller?.abort();
    controller = new AbortController();
    button.disabled = true;
    mount(out, spinner('Connecting to the camera… (up to 10 s)'));
    try {
      const r = await api.probeCamera(p, controller.signal);
      if (r.ok && r.snapshot) {
        const src = `data:image/jpeg;base64,${r.snapshot}`;
        const codec = r.codec === 'hevc' ? 'H.265' : r.codec === 'h264' ? 'H.264' : r.codec ?? '';
        const fps = r.fps ? `, ${r.fps} fps` : '';
        mount(out,
          h('p', { class: 'probe-ok' }, h('span', { class: 'badge ok' }, 'Connected'), ` ${codec} ${r.width}×${r.height}${fps}`),
          h('img', { class: 'probe-snapshot', src, alt: 'The camera\'s picture, as vigil receives it' }));
        onPicture(src, r);
      } else {
        mount(out, notice('error', `Connection failed: ${r.error ?? 'unknown error'}`, r.reason && reasonHelp[r.reason] ? h('br') : null, r.reason ? reasonHelp[r.reason] ?? '' : ''));
        out.firstElementChild?.setAttribute('data-reason', r.reason ?? '');
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      mount(out, notice('error', `The test could not run: ${(err as Error).message}`));
    } finally {
      button.disabled = false;
    }
  });
  return { element: h('div', { class: 'probe' }, button, out) };
}
