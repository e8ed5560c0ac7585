// One camera's recordings in one <video>: hls.js over vigil's byte-range playlist from a chosen
// wall-clock moment (docs/design/playback.md), and the mapping between the video's media time and
// wall time through each fragment's PROGRAM-DATE-TIME. The playback screen's own camera and each
// camera compared beside it are one of these; hls.js is passed in as the module the screen
// started importing when it opened (see playback.ts).
import type Hls from 'hls.js';
import type { ErrorData, Fragment, LevelLoadedData } from 'hls.js';
import { api, errorFrom } from './api';
import { playbackHlsConfig } from './hls_config';
import type { Stream } from './stream_choice';
import { formatTime } from './time';

export type HlsModule = typeof import('hls.js');

export type PlayerState =
  | { kind: 'loading'; from: number }
  | { kind: 'pending'; from: number }  // the moment is in the GOP being recorded: asked again soon
  | { kind: 'ready' }  // loaded, waiting to be played (load(..., paused))
  | { kind: 'playing' }
  | { kind: 'live-edge'; at: number }  // played up to the newest recorded fragment; more will follow
  | { kind: 'ended' }  // played to the end of the recordings of the window
  | { kind: 'no-footage'; text: string }  // nothing recorded in the playlist's window
  | { kind: 'error'; text: string };

// A playlist covers this much from the chosen moment (vigil allows up to 24 h).
const kPlaylistSpanMs = 6 * 3600_000;
// A moment this recent gets a playlist reaching 6 h ahead: vigil lists the file being recorded
// up to its last complete fragment as an EVENT playlist, and hls.js reloads it (every target
// duration) for the fragments written since. An older moment gets one that ends now: reloading
// hours of playlist every 2 s would cost the server and the page; at its end playback goes on
// with a new, recent, playlist (docs/design/playback.md, "The file being recorded").
const kLiveReachMs = 10 * 60_000;
// A moment inside the GOP being recorded has no complete fragment yet (404): ask again, for up
// to ~12 s (a GOP is ~2 s here; some cameras use 10 s).
const kRetryMs = 1000;
const kRetries = 12;

export class RecordedPlayer {
  private hls: Hls | null = null;
  private seq = 0;
  // The wall-time window of the current playlist.
  private windowFrom = 0;
  private windowTo = 0;
  // The window was cut at the present when it was asked for (an old moment): playing to its end
  // goes on from there.
  private reachesPresent = false;
  private retryTimer: number | undefined;
  // Removes the <video> listeners of the current load.
  private unlisten: () => void = () => {};

  // The recorded stream played (stream_choice.ts); setStream() changes it.
  private stream: Stream = 'main';
  // Called when the stream changes (the screen shows that stream's timeline).
  onStream: ((s: Stream) => void) | null = null;

  constructor(
    readonly camera: string,
    readonly video: HTMLVideoElement,
    private readonly hlsModule: Promise<HlsModule>,
    private readonly onState: (s: PlayerState) => void,
    // The camera records a sub stream too: a main stream the server refuses as unplayable
    // (422, H.265) is replaced by it. Set when the camera is known.
    public subRecorded = false,
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

  currentStream(): Stream {
    return this.stream;
  }

  // Plays `stream` from now on: reloads at the moment on screen when it changes while loaded.
  setStream(stream: Stream): void {
    if (stream === this.stream) return;
    this.stream = stream;
    this.onStream?.(stream);
    const at = this.wallNow();
    if (this.hls && at !== null) void this.load(at, this.video.paused);
  }

  // Plays from the wall time `from` (or, with `paused`, loads and stops there).
  async load(from: number, paused = false, retries = kRetries): Promise<void> {
    const seq = ++this.seq;
    window.clearTimeout(this.retryTimer);
    this.unlisten();
    this.hls?.destroy();
    this.hls = null;
    delete this.video.dataset.wallMs;
    const now = Date.now();
    this.windowFrom = from;
    const recent = from > now - kLiveReachMs;
    this.windowTo = recent ? from + kPlaylistSpanMs : Math.min(from + kPlaylistSpanMs, now);
    this.reachesPresent = !recent && from + kPlaylistSpanMs > now;
    this.onState({ kind: 'loading', from });
    const { default: HlsClass, Events } = await this.hlsModule;
    if (seq !== this.seq) return;
    if (!HlsClass.isSupported()) {
      this.onState({ kind: 'error', text: 'This browser cannot play recordings (no MediaSource).' });
      return;
    }
    const url = api.playlistUrl(this.camera, this.windowFrom, this.windowTo, this.stream);
    // Which stream plays, for people (the stage shows it) and the browser test.
    this.video.dataset.stream = this.stream;
    const player = new HlsClass(playbackHlsConfig);
    this.hls = player;
    let started = false;
    player.on(Events.LEVEL_LOADED, (_e: string, data: LevelLoadedData) => {
      if (started) return;
      started = true;
      const first = data.details.fragments[0];
      // The playlist starts at the keyframe at or before `from` (or later, when `from` is in a
      // gap): the first request is then the fragment holding the moment itself. An explicit
      // position also keeps hls.js from starting a live (EVENT) playlist near its end.
      const offset = first?.programDateTime ? first.start + Math.max(0, (from - first.programDateTime) / 1000) : 0;
      player.startLoad(offset);
      if (paused) this.video.addEventListener('canplay', () => seq === this.seq && this.onState({ kind: 'ready' }), { once: true });
    });
    player.on(Events.ERROR, (_e: string, d: ErrorData) => {
      if (!d.fatal || player !== this.hls) return;
      player.destroy();
      this.hls = null;
      void describeFailure(url, from, d).then((s) => {
        if (seq !== this.seq) return;
        // A main stream browsers cannot play (H.265): the sub stream, which they can.
        if (s.unplayable && this.stream === 'main' && this.subRecorded) {
          this.setStream('sub');
          void this.load(from, paused, retries);
          return;
        }
        // Not written yet (the GOP being recorded): it will be within seconds.
        if (s.kind === 'no-footage' && s.recent && retries > 0) {
          this.onState({ kind: 'pending', from });
          this.retryTimer = window.setTimeout(() => seq === this.seq && void this.load(from, paused, retries - 1), kRetryMs);
          return;
        }
        this.onState(s);
      });
    });
    player.attachMedia(this.video);
    player.loadSource(url);
    const onPlaying = () => seq === this.seq && this.onState({ kind: 'playing' });
    const onWaiting = () => {
      // Stalled at the newest fragment of a live playlist: hls.js reloads it and plays on.
      const details = this.hls?.levels[0]?.details;
      if (seq !== this.seq || !details?.live || this.video.currentTime < details.edge - 0.5) return;
      const at = this.wallAt(this.video.currentTime);
      if (at !== null) this.onState({ kind: 'live-edge', at });
    };
    const onEnded = () => {
      if (seq !== this.seq) return;
      const end = this.wallNow();
      // The window ended where the recording was when it was asked for: go on from there with
      // a recent window, which reaches ahead.
      if (this.reachesPresent && end !== null) void this.load(end);
      else this.onState({ kind: 'ended' });
    };
    this.video.addEventListener('playing', onPlaying);
    this.video.addEventListener('waiting', onWaiting);
    this.video.addEventListener('ended', onEnded);
    this.unlisten = () => {
      this.video.removeEventListener('playing', onPlaying);
      this.video.removeEventListener('waiting', onWaiting);
      this.video.removeEventListener('ended', onEnded);
    };
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
    window.clearTimeout(this.retryTimer);
    this.unlisten();
    this.hls?.destroy();
    this.hls = null;
  }

  private fragments(): Fragment[] {
    return this.hls?.levels[0]?.details?.fragments ?? [];
  }
}

type Failure = PlayerState & { recent?: boolean; unplayable?: boolean };

async function describeFailure(url: string, from: number, d: ErrorData): Promise<Failure> {
  const code = d.response?.code ?? 0;
  if (code >= 400) {
    // The API's own message (e.g. 422 H.265, 404 no footage) says more than hls.js does.
    try {
      const res = await fetch(url, { credentials: 'same-origin' });
      if (!res.ok) {
        const err = await errorFrom(res);
        if (err.status === 404) {
          // The file being recorded plays up to its last complete fragment (one GOP): a moment
          // after that is recorded but not written yet.
          const recent = from > Date.now() - 60_000;
          return {
            kind: 'no-footage',
            recent,
            text: recent
              ? `Nothing playable from ${formatTime(from)} yet: the file being recorded plays up to its last complete part (one GOP, a few seconds behind live). Pick a moment a little earlier, or Live for the present.`
              : `No recording from ${formatTime(from)} to play. ${err.message}`,
          };
        }
        return { kind: 'error', text: err.message, unplayable: err.code === 'unsupported_codec' };
      }
    } catch {
      /* fall through */
    }
  }
  return { kind: 'error', text: `Playback failed (${d.details}).` };
}
