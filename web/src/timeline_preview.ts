// The thumbnail shown above the playback timeline while the pointer hovers or drags over it: the
// recorded keyframe nearest that moment (GET /api/cameras/{id}/preview, which decodes the sub
// stream's keyframe when there is one and caches it), so a user finds the moment a door opened
// without playing through. Requests follow the pointer at most every kRequestMs and per second
// of the timeline; the browser's cache answers moments asked for before.
import { api } from './api';
import { h } from './dom';
import { formatTime } from './time';

const kRequestMs = 120;

export class TimelinePreview {
  readonly el: HTMLElement;
  private readonly img: HTMLImageElement;
  private readonly label: HTMLElement;
  private timer: number | undefined;
  private pending: number | null = null;
  private shownSecond = -1;

  constructor(private readonly camera: string, private readonly anchor: () => HTMLElement) {
    this.img = h('img', { alt: '', width: 160, height: 90 }) as HTMLImageElement;
    this.label = h('span', { class: 'small' });
    this.el = h('div', { class: 'timeline-preview', 'aria-hidden': 'true', hidden: true }, this.img, this.label);
    // Nothing recorded near the moment (404): no picture rather than a broken one.
    this.img.addEventListener('error', () => (this.el.hidden = true));
    this.img.addEventListener('load', () => (this.el.hidden = false));
  }

  // Timeline.onHover: follows the pointer; null hides it.
  hover(ms: number | null, clientX: number): void {
    if (ms === null) {
      window.clearTimeout(this.timer);
      this.timer = undefined;
      this.pending = null;
      this.el.hidden = true;
      return;
    }
    const box = this.anchor().getBoundingClientRect();
    const half = 84;
    this.el.style.left = `${Math.min(Math.max(clientX - box.left - half, 0), Math.max(box.width - 2 * half, 0))}px`;
    this.label.textContent = formatTime(ms);
    this.pending = ms;
    if (this.timer === undefined) this.timer = window.setTimeout(() => this.request(), kRequestMs);
  }

  private request(): void {
    this.timer = undefined;
    if (this.pending === null) return;
    const second = Math.round(this.pending / 1000);
    if (second === this.shownSecond && !this.el.hidden) return;
    this.shownSecond = second;
    this.img.src = api.previewUrl(this.camera, second * 1000);
  }

  destroy(): void {
    window.clearTimeout(this.timer);
  }
}
