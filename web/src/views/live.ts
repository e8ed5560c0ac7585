// Full-screen live view of one camera (MediaSource, live_player.ts) with its status.
import { api, type ApiError } from '../api';
import type { Ctx } from '../app';
import { h, mount, notice } from '../dom';
import { LivePlayer } from '../live_player';
import { speakerButton } from '../speaker';
import { ptzControls } from '../ptz_controls';
import { describeStatus } from '../status';

export function liveScreen(root: HTMLElement, ctx: Ctx, _q: URLSearchParams, id: string): () => void {
  const video = h('video', { class: 'live-video', muted: true, playsinline: true, 'aria-label': 'Live video' });
  const overlay = h('div', { class: 'overlay', 'aria-live': 'polite' });
  const title = h('h1', {}, id);
  const badge = h('span', { class: 'badge' });
  const stage = h('div', { class: 'stage' }, video, overlay);
  const full = h('button', { type: 'button' }, 'Full screen');
  const ptz = h('div', { class: 'ptz-slot' });
  full.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void stage.requestFullscreen?.().catch(() => {});
  });
  mount(
    root,
    h(
      'div',
      { class: 'live' },
      h(
        'div',
        { class: 'toolbar' },
        h('a', { href: '#/', class: 'back' }, '← All cameras'),
        title,
        badge,
        h('span', { class: 'spacer' }),
        h('a', { href: `#/playback/${id}`, class: 'button' }, 'Recordings'),
        speakerButton(video),
        full,
      ),
      stage,
      ptz,
    ),
  );
  const player = new LivePlayer(video, api.liveUrl(id), (s) => {
    root.dataset.liveState = s.kind;
    switch (s.kind) {
      case 'connecting':
        mount(overlay, h('span', { class: 'spin', 'aria-hidden': 'true' }), 'Connecting…');
        overlay.hidden = false;
        break;
      case 'playing':
        overlay.hidden = true;
        break;
      case 'error': {
        const e = s.error as ApiError;
        let text = e.message;
        if (e.status === 503) text = 'The camera is not streaming right now (offline or connecting).';
        if (e.status === 422) text = 'This camera sends H.265, which browsers cannot play. Its recordings can be exported and played in a desktop player.';
        mount(overlay, notice('error', text, s.retrying ? ' Retrying…' : ''));
        overlay.hidden = false;
      }
    }
  });
  player.start();
  const refresh = () =>
    api
      .camera(id)
      .then((cam) => {
        title.textContent = cam.name;
        const v = describeStatus(cam);
        badge.textContent = v.label;
        badge.className = `badge ${v.kind}`;
        badge.title = v.problem;
        if (cam.ptz && ctx.me.role !== 'viewer' && !ptz.firstChild) mount(ptz, ptzControls(id));
      })
      .catch(() => {});
  void refresh();
  const timer = window.setInterval(refresh, 5000);
  return () => {
    window.clearInterval(timer);
    player.stop();
  };
}
