// One camera's recordings in one <video>: hls.js over vigil's byte-range playlist from a chosen
// wall-clock moment (docs/design/playback.md), and the mapping between the video's media time and
// wall time through each fragment's PROGRAM-DATE-TIME. The playback screen's own camera and each
// camera compared beside it are one of these; hls.js is passed in as the module the screen
// started importing when it opened (see playback.ts).
import type Hls from 'hls.js';
import type { ErrorData, Fragment, LevelLoadedData } from 'hls.js';
import { api, errorFrom } from './api';
import { playbackHlsConfig } from './hls_config';
import { formatTime } from './time';

export type HlsModule = typeof import('hls.js');

export type PlayerState =
  | { kind: 'loading'; from: number }
  | { kind: 'ready' }  // loaded, waiting to be played (load(..., paused))
  | { kind: 'playing' }
  | { kind: 'no-footage'; text: string }  // nothing recorded in the playlist's window
  | { kind: 'error'; text: string };

// A playlist covers this much from the chosen moment (vigil allows up to 24 h).
const kPlaylistSpanMs = 6 * 3600_000;

export class RecordedPlayer {
  private hls: Hls | null = null;
  private seq = 0;
  // The wall-time window of the current playlist.
  private windowFrom = 0;
  private windowTo = 0;

  constructor(
    readonly camera: string,
    readonly video: HTMLVideoElement,
    private readonly hlsModule: Promise<HlsModule>,
    private readonly onState: (s: PlayerState) => void,
  ) {
    video.muted = true;
    video.playsInline = true;
    // For the browser test, which compares the wall time of several players at one instant:
    // the wall time of the frame on screen and the media time it was read at.
    video.addEventListener('timeupdate', () => {
      const wall = this.wallAt(video.currentTime);
      if (wall === null) return;
      video.dataset.wallMs = String(Math.round(wall));
      video.dataset.mediaS = String(video.currentTime);
    });
  }

  // Plays from the wall time `from` (or, with `paused`, loads and stops there).
  async load(from: number, paused = false): Promise<void> {
    const seq = ++this.seq;
    this.hls?.destroy();
    this.hls = null;
    delete this.video.dataset.wallMs;
    this.windowFrom = from;
    this.windowTo = Math.min(from + kPlaylistSpanMs, Date.now() + 60_000);
    this.onState({ kind: 'loading', from });
    const { default: HlsClass, Events } = await this.hlsModule;
    if (seq !== this.seq) return;
    if (!HlsClass.isSupported()) {
      this.onState({ kind: 'error', text: 'This browser cannot play recordings (no MediaSource).' });
      return;
    }
    const url = api.playlistUrl(this.camera, this.windowFrom, this.windowTo);
    const player = new HlsClass(playbackHlsConfig);
    this.hls = player;
    let started = false;
    player.on(Events.LEVEL_LOADED, (_e: string, data: LevelLoadedData) => {
      if (started) return;
      started = true;
      const first = data.details.fragments[0];
      // The playlist starts at the keyframe at or before `from` (or later, when `from` is in a
      // gap): the first request is then the fragment holding the moment itself.
      const offset = first?.programDateTime ? first.start + Math.max(0, (from - first.programDateTime) / 1000) : 0;
      player.startLoad(offset);
      if (paused) this.video.addEventListener('canplay', () => seq === this.seq && this.onState({ kind: 'ready' }), { once: true });
    });
    player.on(Events.ERROR, (_e: string, d: ErrorData) => {
      if (!d.fatal || player !== this.hls) return;
      player.destroy();
      this.hls = null;
      void describeFailure(url, from, d).then((s) => {
        if (seq === this.seq) this.onState(s);
      });
    });
    player.attachMedia(this.video);
    player.loadSource(url);
    this.video.addEventListener('playing', () => seq === this.seq && this.onState({ kind: 'playing' }), { once: true });
    if (!paused) this.video.play().catch(() => {
      /* muted: allowed; a pause() meanwhile rejects it */
    });
  }

  loaded(): boolean {
    return this.hls !== null;
  }

  // Whether `wall` lies outside the window of the playlist this player loaded last (so it must
  // load another); a window with nothing recorded in it counts as loaded.
  outsideWindow(wall: number): boolean {
    return wall < this.windowFrom || wall >= this.windowTo;
  }

  // The wall time of the frame on screen, or null before the playlist is known.
  wallNow(): number | null {
    return this.wallAt(this.video.currentTime);
  }

  // Media time → wall time: the fragment holding `t` (or the last one before it), and its
  // PROGRAM-DATE-TIME; hls.js keeps each fragment's start at its parsed media time.
  wallAt(t: number): number | null {
    const frags = this.fragments();
    let lo = 0;
    let hi = frags.length - 1;
    let found: Fragment | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (frags[mid].start <= t + 1e-3) {
        found = frags[mid];
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (!found || found.programDateTime === null) return null;
    return found.programDateTime + (t - found.start) * 1000;
  }

  // Wall time → media time; null when no fragment of the playlist holds `wall` (a gap in this
  // camera's recordings, or outside the playlist).
  mediaTimeAt(wall: number): number | null {
    const frags = this.fragments();
    let lo = 0;
    let hi = frags.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = frags[mid];
      const pdt = f.programDateTime;
      if (pdt === null) return null;
      if (wall < pdt) hi = mid - 1;
      else if (wall >= pdt + f.duration * 1000) lo = mid + 1;
      else return f.start + (wall - pdt) / 1000;
    }
    return null;
  }

  destroy(): void {
    ++this.seq;
    this.hls?.destroy();
    this.hls = null;
  }

  private fragments(): Fragment[] {
    return this.hls?.levels[0]?.details?.fragments ?? [];
  }
}

async function describeFailure(url: string, from: number, d: ErrorData): Promise<PlayerState> {
  const code = d.response?.code ?? 0;
  if (code >= 400) {
    // The API's own message (e.g. 422 H.265, 404 no footage) says more than hls.js does.
    try {
      const res = await fetch(url, { credentials: 'same-origin' });
      if (!res.ok) {
        const err = await errorFrom(res);
        if (err.status === 404) {
          return { kind: 'no-footage', text: `No playable recording from ${formatTime(from)} yet: the file being recorded joins when it closes. ${err.message}` };
        }
        return { kind: 'error', text: err.message };
      }
    } catch {
      /* fall through */
    }
  }
  return { kind: 'error', text: `Playback failed (${d.details}).` };
}
