// Pan, tilt and zoom buttons and presets under the live video of a camera with ONVIF PTZ
// (POST /api/cameras/{id}/ptz, operators and admins; docs/api.md). A button moves the camera
// while it is held — pointer or Enter/Space — since ONVIF's ContinuousMove runs until Stop; the
// stop is sent when the button is released, left or loses focus.
import { api, type ApiError } from './api';
import { h, mount, notice } from './dom';

const SPEED = 0.5; // of the camera's top speed: precise enough to frame a face, quick enough to turn

interface Move {
  label: string;
  title: string;
  pan?: number;
  tilt?: number;
  zoom?: number;
}

const MOVES: Move[] = [
  { label: '◀', title: 'Pan left', pan: -SPEED },
  { label: '▲', title: 'Tilt up', tilt: SPEED },
  { label: '▼', title: 'Tilt down', tilt: -SPEED },
  { label: '▶', title: 'Pan right', pan: SPEED },
  { label: '＋', title: 'Zoom in', zoom: SPEED },
  { label: '－', title: 'Zoom out', zoom: -SPEED },
];

export function ptzControls(id: string): HTMLElement {
  const status = h('div', { class: 'ptz-status', 'aria-live': 'polite' });
  const fail = (e: unknown) => mount(status, notice('error', (e as ApiError).message));
  let moving = false;
  // The move's request: the stop waits for it, or a quick click could reach the camera (each
  // request on its own connection and server thread) as Stop before ContinuousMove, and the
  // camera would keep turning.
  let started: Promise<unknown> = Promise.resolve();
  const stop = () => {
    if (!moving) return;
    moving = false;
    void started.finally(() => api.ptz(id, { action: 'stop' }).catch(fail));
  };
  const buttons = MOVES.map((m) => {
    const b = h('button', { type: 'button', class: 'ptz-move', title: m.title, 'aria-label': m.title }, m.label);
    const start = () => {
      if (moving) return;
      moving = true;
      status.replaceChildren();
      started = api.ptz(id, { action: 'move', pan: m.pan ?? 0, tilt: m.tilt ?? 0, zoom: m.zoom ?? 0 }).catch((e) => {
        moving = false;
        fail(e);
      });
    };
    b.addEventListener('pointerdown', (e) => {
      b.setPointerCapture?.(e.pointerId);
      start();
    });
    for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture', 'blur']) b.addEventListener(ev, stop);
    b.addEventListener('keydown', (e) => {
      if ((e.key === 'Enter' || e.key === ' ') && !e.repeat) {
        e.preventDefault();
        start();
      }
    });
    b.addEventListener('keyup', (e) => {
      if (e.key === 'Enter' || e.key === ' ') stop();
    });
    return b;
  });
  const presets = h('select', { class: 'ptz-presets', 'aria-label': 'Preset', disabled: true }, h('option', { value: '' }, 'Presets…'));
  const go = h('button', { type: 'button', disabled: true }, 'Go to preset');
  go.addEventListener('click', () => {
    if (!presets.value) return;
    status.replaceChildren();
    api.ptz(id, { action: 'preset', preset: presets.value }).catch(fail);
  });
  api
    .ptzPresets(id)
    .then((list) => {
      for (const p of list) presets.append(h('option', { value: p.token }, p.name || p.token));
      presets.disabled = go.disabled = list.length === 0;
    })
    .catch(fail);
  return h('div', { class: 'ptz', role: 'group', 'aria-label': 'Pan, tilt and zoom' }, ...buttons, presets, go, status);
}
