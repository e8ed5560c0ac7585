// "Find cameras" in the add-camera form: asks vigil to probe for ONVIF cameras (POST
// /api/discover: an address or a subnet the user gives, else the multicast probe) and lists what
// answers; with the user name and password typed once, each camera's main and sub streams are
// read (POST /api/discover/device) and "Use" fills the form with them. A refused password is
// shown as such; the camera's clock being off is flagged.
import { api, type FoundCamera } from './api';
import { h, mount, notice, spinner } from './dom';

export interface StreamChoice {
  name: string;
  url: string;
  sub_url: string;
}

// The camera's stream URL with the typed credentials in it, as vigil's camera URLs carry them.
function withCredentials(uri: string, user: string, password: string): string {
  if (!user) return uri;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/@]*)$|^([a-z][a-z0-9+.-]*:\/\/)([^/]*?)(\/.*)?$/i.exec(uri);
  if (!m) return uri;
  const scheme = m[1] ?? m[3];
  const authority = m[2] ?? m[4];
  if (authority.includes('@')) return uri;
  return `${scheme}${encodeURIComponent(user)}:${encodeURIComponent(password)}@${authority}${m[5] ?? ''}`;
}

function describe(p: FoundCamera['profiles'] extends (infer T)[] | undefined ? T : never): string {
  const fps = p.fps ? ` ${p.fps} fps` : '';
  return `${p.width}×${p.height} ${p.encoding}${fps}`;
}

export function findCameras(onPick: (choice: StreamChoice) => void): HTMLElement {
  const address = h('input', { name: 'discover_address', placeholder: '192.0.2.10 (optional)', autocomplete: 'off', spellcheck: 'false' });
  const subnet = h('input', { name: 'discover_subnet', placeholder: '192.0.2.0/24 (optional)', autocomplete: 'off', spellcheck: 'false' });
  const user = h('input', { name: 'discover_user', autocomplete: 'off' });
  const password = h('input', { name: 'discover_password', type: 'password', autocomplete: 'new-password' });
  const button = h('button', { type: 'button', name: 'discover' }, 'Find cameras');
  const out = h('div', { class: 'discover-result', 'aria-live': 'polite' });

  const entry = (cam: FoundCamera): HTMLElement => {
    const title = `${cam.manufacturer || '?'} ${cam.model || ''}`.trim();
    const li = h('li', { class: 'found-camera', 'data-address': cam.address },
      h('strong', {}, title), ` at ${cam.address}`, cam.name ? h('span', { class: 'muted' }, ` “${cam.name}”`) : null);
    if (cam.reason) {
      const text = cam.reason === 'unauthorized'
        ? 'Unauthorized: the camera refused this user name and password.'
        : `Could not read the camera: ${cam.error ?? cam.reason}`;
      li.append(notice('error', text));
      li.lastElementChild?.setAttribute('data-reason', cam.reason);
    }
    if (cam.clock_off && cam.clock_offset_ms != null) {
      li.append(notice('error', `The camera's clock is ${Math.round(Math.abs(cam.clock_offset_ms) / 1000)} s ${cam.clock_offset_ms < 0 ? 'behind' : 'ahead of'} this recorder's: set it (NTP) so its overlay agrees with the recordings.`));
    }
    const profiles = cam.profiles ?? [];
    if (cam.main != null && profiles[cam.main]) {
      const main = profiles[cam.main];
      const sub = cam.sub != null ? profiles[cam.sub] : undefined;
      li.append(h('p', {}, `Main: ${describe(main)}`, sub ? ` · Sub: ${describe(sub)}` : ''));
      li.append(h('button', {
        type: 'button', name: 'use_camera', onclick: () => onPick({
          name: cam.name || title,
          url: withCredentials(main.uri, user.value, password.value),
          sub_url: sub ? withCredentials(sub.uri, user.value, password.value) : '',
        }),
      }, 'Use this camera'));
    } else if (!cam.reason) {
      li.append(h('button', {
        type: 'button', name: 'read_camera', onclick: async () => {
          if (!user.value) {
            li.replaceWith(entry({ ...cam, reason: 'credentials', error: 'type the camera\'s user name and password first' }));
            return;
          }
          try {
            const read = await api.readDevice({ device_url: cam.device_url, user: user.value, password: password.value });
            li.replaceWith(entry({ ...cam, ...read, name: cam.name || read.name }));
          } catch (err) {
            li.append(notice('error', (err as Error).message));
          }
        },
      }, 'Read streams'));
    }
    return li;
  };

  button.addEventListener('click', async () => {
    button.disabled = true;
    mount(out, spinner('Asking the network for ONVIF cameras… (a few seconds)'));
    try {
      const body: Record<string, unknown> = {};
      if (address.value.trim()) body.address = address.value.trim();
      if (subnet.value.trim()) body.subnet = subnet.value.trim();
      if (user.value) {
        body.user = user.value;
        body.password = password.value;
      }
      const cams = await api.discover(body);
      if (cams.length === 0) {
        mount(out, notice('empty', 'No camera answered. Multicast does not cross routers: give the camera\'s address or its subnet.'));
      } else {
        mount(out, h('ul', { class: 'found-cameras' }, cams.map(entry)));
      }
    } catch (err) {
      mount(out, notice('error', `Discovery failed: ${(err as Error).message}`));
    } finally {
      button.disabled = false;
    }
  });

  const field = (label: string, input: HTMLElement) => h('label', { class: 'field' }, h('span', {}, label), input);
  return h('details', { class: 'discover' },
    h('summary', {}, 'Find cameras on the network (ONVIF)'),
    h('div', { class: 'form-grid' },
      field('Address', address), field('Subnet', subnet),
      field('Camera user name', user), field('Camera password', password)),
    button, out);
}
