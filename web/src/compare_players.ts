// Other cameras beside the playback screen's own, at the same wall-clock moment ("Compare
// with…"): each is a RecordedPlayer that follows the main one — what it loads, play/pause and
// speed — and is kept in step with it by wall time (PROGRAM-DATE-TIME), not media time, since
// each camera's recordings have their own files and gaps. Every kTickMs the main player's wall
// time is looked up in each follower's playlist: no fragment holds it → the follower waits
// paused over "No recording at this time"; behind or ahead by more than kSeekMs → a seek; by more
// than kDriftMs (or, just after a seek, kSettledMs) → it plays a little faster or slower until it
// is within kSettledMs (a seek would stall it for a decode each time, and drift is slow). A seek
// aims ahead by what the last one lost. docs/design/webui.md, "Compare".
import type { Camera } from './api';
import { h, mount, notice } from './dom';
import { RecordedPlayer, type HlsModule, type PlayerState } from './recorded_player';
import { chooseStream, hasSub } from './stream_choice';

export const kMaxCompared = 3;  // four cameras in all: a 2×2 grid
const kTickMs = 250;
const kDriftMs = 300;
const kSettledMs = 60;
const kSeekMs = 1500;
// After a seek, the follower gets this long to land before it is judged again.
const kSeekSettleMs = 1200;

interface Follower {
  camera: Camera;
  player: RecordedPlayer;
  tile: HTMLElement;
  overlay: HTMLElement;
  state: PlayerState['kind'];
  noFootage: boolean;
  settleUntil: number;
  // How far ahead of the moment a seek aims (media seconds at 1×): a seek and the start of play
  // take a while, during which the main picture moves on. Learnt from each seek's landing.
  lead: number;
  judgeLead: boolean;
  // Just after a seek the follower is brought to within kSettledMs; later drift is left alone
  // up to kDriftMs.
  fineTune: boolean;
}

export class ComparePlayers {
  private readonly followers: Follower[] = [];
  private timer: number | undefined;
  private readonly mainVideo: HTMLVideoElement;

  constructor(
    private readonly main: RecordedPlayer,
    private readonly grid: HTMLElement,  // holds the main tile; followers' tiles go after it
    private readonly hlsModule: Promise<HlsModule>,
    private readonly changed: () => void,
  ) {
    this.mainVideo = main.video;
    for (const ev of ['playing', 'pause', 'seeked', 'ratechange']) this.mainVideo.addEventListener(ev, this.tickNow);
  }

  ids(): string[] {
    return this.followers.map((f) => f.camera.id);
  }

  // Adds a camera; it loads at the main player's moment (`at`, when that is known).
  add(camera: Camera, at: number | null): void {
    if (this.followers.length >= kMaxCompared || this.ids().includes(camera.id) || camera.id === this.main.camera) return;
    const video = h('video', { class: 'playback-video compare-video', muted: true, playsinline: true, 'aria-label': `Recorded video of ${camera.name}` });
    const overlay = h('div', { class: 'overlay', 'aria-live': 'polite' });
    overlay.hidden = true;
    const remove = h('button', { type: 'button', class: 'tile-close', 'aria-label': `Stop comparing with ${camera.name}`, title: 'Remove' }, '×');
    const tile = h('div', { class: 'stage', 'data-camera': camera.id }, video, overlay, h('span', { class: 'stage-label' }, camera.name), remove);
    const f: Follower = {
      camera,
      tile,
      overlay,
      state: 'loading',
      noFootage: false,
      settleUntil: 0,
      lead: 0.1,
      judgeLead: false,
      fineTune: false,
      player: new RecordedPlayer(camera.id, video, this.hlsModule, (s) => this.onState(f, s), hasSub(camera)),
    };
    // A tile of the side-by-side view: the sub stream where there is one.
    f.player.setStream(chooseStream(camera, null, { fullScreen: false, sideBySide: true, phone: false }));
    remove.addEventListener('click', () => this.remove(camera.id));
    this.followers.push(f);
    this.grid.append(tile);
    this.layout();
    if (at !== null) void f.player.load(at, true);
    this.ensureTimer();
    this.changed();
  }

  remove(id: string): void {
    const i = this.followers.findIndex((f) => f.camera.id === id);
    if (i < 0) return;
    const [f] = this.followers.splice(i, 1);
    f.player.destroy();
    f.tile.remove();
    this.layout();
    this.changed();
  }

  // The main player loads `from`: every follower loads the same moment, paused until the main
  // one plays.
  loadAll(from: number): void {
    for (const f of this.followers) void f.player.load(from, true);
    this.ensureTimer();
  }

  destroy(): void {
    window.clearInterval(this.timer);
    for (const ev of ['playing', 'pause', 'seeked', 'ratechange']) this.mainVideo.removeEventListener(ev, this.tickNow);
    for (const f of this.followers) f.player.destroy();
  }

  private layout(): void {
    this.grid.classList.toggle('multi', this.followers.length > 0);
  }

  private ensureTimer(): void {
    if (this.timer === undefined) this.timer = window.setInterval(() => this.tick(), kTickMs);
  }

  private readonly tickNow = () => this.tick();

  private onState(f: Follower, s: PlayerState): void {
    f.state = s.kind;
    f.tile.dataset.playState = s.kind;
    if (s.kind === 'loading') {
      mount(f.overlay, h('span', { class: 'spin', 'aria-hidden': 'true' }), 'Loading…');
      f.overlay.hidden = false;
    } else if (s.kind === 'no-footage') {
      this.showNoFootage(f, true);
    } else if (s.kind === 'error') {
      mount(f.overlay, notice('error', s.text));
      f.overlay.hidden = false;
    } else {
      f.overlay.hidden = !f.noFootage;
    }
    this.tick();
  }

  private showNoFootage(f: Follower, on: boolean): void {
    f.noFootage = on;
    f.tile.dataset.noFootage = String(on);
    if (on) {
      mount(f.overlay, notice('empty', 'No recording at this time'));
      f.overlay.hidden = false;
    } else if (f.state === 'ready' || f.state === 'playing') {
      f.overlay.hidden = true;
    }
  }

  private seek(f: Follower, target: number, rate: number, now: number): void {
    f.player.video.currentTime = target + f.lead * rate;
    f.player.video.playbackRate = rate;
    f.settleUntil = now + kSeekSettleMs;
    f.judgeLead = true;
    f.fineTune = true;
  }

  private tick(): void {
    const wall = this.main.wallNow();
    const mainRunning = !this.mainVideo.paused && this.mainVideo.readyState >= 3;
    const rate = this.mainVideo.playbackRate;
    const now = performance.now();
    for (const f of this.followers) {
      const v = f.player.video;
      if (wall === null || f.state === 'loading' || f.state === 'error') {
        if (!v.paused) v.pause();
        continue;
      }
      // Played past this follower's playlist (6 h), or it has none yet: load around the moment.
      if (f.player.outsideWindow(wall)) {
        void f.player.load(wall, true);
        continue;
      }
      const target = f.player.mediaTimeAt(wall);
      if (target === null) {
        if (!v.paused) v.pause();
        this.showNoFootage(f, true);
        continue;
      }
      this.showNoFootage(f, false);
      if (!mainRunning) {
        if (!v.paused) v.pause();
        // Paused together: the same moment on every picture.
        if (Math.abs(v.currentTime - target) > kSettledMs / 1000 && !v.seeking) v.currentTime = target;
        continue;
      }
      if (v.paused) {
        this.seek(f, target, rate, now);
        v.play().catch(() => {});
        continue;
      }
      if (now < f.settleUntil || v.seeking) continue;
      const own = f.player.wallNow();
      const drift = own === null ? Infinity : wall - own;  // > 0: the follower is behind
      if (f.judgeLead && Number.isFinite(drift)) {
        f.judgeLead = false;
        if (Math.abs(drift) < kSeekMs) f.lead = Math.max(0, Math.min(1, f.lead + drift / 1000 / rate));
      }
      const limit = f.fineTune ? kSettledMs : kDriftMs;
      if (Math.abs(drift) > kSeekMs) {
        this.seek(f, target, rate, now);
      } else if (Math.abs(drift) > limit || (v.playbackRate !== rate && Math.abs(drift) > kSettledMs)) {
        // Proportional: 0.3 s behind plays 15 % faster, 1 s behind 50 % faster.
        const k = Math.max(-0.5, Math.min(0.5, drift / 2000));
        v.playbackRate = Math.min(16, rate * (1 + k));
      } else {
        if (v.playbackRate !== rate) v.playbackRate = rate;
        f.fineTune = false;
      }
    }
  }
}
