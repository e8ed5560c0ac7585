// The live grid: every camera the user may see, with a picture refreshed every few seconds and
// its recording status. The pictures are snapshots (one JPEG per keyframe, cached by vigil), not
// video: a grid of N live streams would cost a phone N decoders. A click opens the full-screen
// live view, which is video.
import { api, type Camera } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';
import { describeStatus } from '../status';

const kStatusEveryMs = 5000;
const kPictureEveryMs = 3000;

export function gridScreen(root: HTMLElement, ctx: Ctx): () => void {
  let stopped = false;
  const timers: number[] = [];
  const urls = new Set<string>();
  mount(root, h('h1', { class: 'sr-only' }, 'Live'), spinner('Loading cameras…'));

  const tile = (cam: Camera) => {
    const img = h('img', { alt: `Latest picture of ${cam.name}`, class: 'snap', hidden: true });
    const empty = h('div', { class: 'snap placeholder' }, 'No picture yet');
    const badge = h('span', { class: 'badge' });
    const frame = h('div', { class: 'frame' }, img, empty);
    const problem = h('p', { class: 'problem small' });
    const card = h(
      'li',
      { class: 'tile', 'data-camera': cam.id },
      h(
        'a',
        { href: `#/live/${cam.id}`, class: 'tile-link', 'aria-label': `${cam.name}: open live view` },
        frame,
      ),
      h(
        'div',
        { class: 'tile-foot' },
        h('strong', { class: 'cam-name' }, cam.name),
        badge,
        h('a', { href: `#/playback/${cam.id}`, class: 'small' }, 'Recordings'),
      ),
      problem,
    );
    let current = cam;
    const showStatus = () => {
      const v = describeStatus(current);
      badge.textContent = v.label;
      badge.className = `badge ${v.kind}`;
      problem.textContent = v.problem;
      problem.hidden = !v.problem;
      // The last picture of a camera that stopped is not live: shown faded.
      frame.classList.toggle('stale', current.status?.state !== 'streaming');
    };
    showStatus();
    const refreshStatus = async () => {
      try {
        current = await api.camera(cam.id);
        showStatus();
      } catch {
        /* the next round tries again; the grid keeps the last known state */
      }
    };
    const refreshPicture = async () => {
      if (document.hidden || current.status?.state !== 'streaming') return;
      try {
        const res = await fetch(api.snapshotUrl(cam.id), { credentials: 'same-origin' });
        if (!res.ok || stopped) return;
        const url = URL.createObjectURL(await res.blob());
        const old = img.src;
        img.src = url;
        urls.add(url);
        if (old) {
          URL.revokeObjectURL(old);
          urls.delete(old);
        }
        img.hidden = false;
        empty.hidden = true;
      } catch {
        /* keep the last picture */
      }
    };
    void refreshStatus().then(refreshPicture);
    timers.push(window.setInterval(refreshStatus, kStatusEveryMs));
    timers.push(window.setInterval(refreshPicture, kPictureEveryMs));
    return card;
  };

  api
    .cameras()
    .then((cams) => {
      if (stopped) return;
      if (!cams.length) {
        mount(
          root,
          h('h1', {}, 'Live'),
          notice(
            'empty',
            ctx.me.role === 'admin' ? 'No cameras yet — ' : 'You have no cameras to watch. Ask an admin to give you some.',
            ctx.me.role === 'admin' ? h('a', { href: '#/settings/cameras' }, 'add one') : null,
          ),
        );
        return;
      }
      mount(root, h('h1', { class: 'sr-only' }, 'Live'), h('ul', { class: 'grid', 'aria-label': 'Cameras' }, cams.map(tile)));
    })
    .catch((e: Error) => mount(root, h('h1', {}, 'Live'), notice('error', `Cannot list the cameras: ${e.message}`)));

  return () => {
    stopped = true;
    timers.forEach((t) => window.clearInterval(t));
    urls.forEach((u) => URL.revokeObjectURL(u));
  };
}
