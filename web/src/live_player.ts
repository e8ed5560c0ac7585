// Live view through MediaSource: vigil's GET /api/cameras/{id}/live.mp4 is an endless fragmented
// MP4 (docs/design/live.md). Ported from tests/browser/live_player.js: the chunks are appended to
// a SourceBuffer of the type vigil announces in Content-Type; after a skip (vigil drops a slow
// viewer to the next keyframe) the buffer has a gap, so the player jumps to the newest range;
// small lags are caught up by playing slightly faster, large ones by a seek; the buffer is kept
// short. When the stream ends (the camera's connection ended) it reconnects after a pause.
import { errorFrom, type ApiError } from './api';

export type LiveState =
  | { kind: 'connecting' }
  | { kind: 'playing'; mime: string }
  | { kind: 'error'; error: ApiError | Error; retrying: boolean };

const kRetryMs = 3000;

export class LivePlayer {
  private abort: AbortController | null = null;
  private stopped = false;
  private retryTimer: number | undefined;
  bytes = 0;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly url: string,
    private readonly onState: (s: LiveState) => void,
  ) {
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
  }

  start(): void {
    this.stopped = false;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    this.abort?.abort();
    this.abort = null;
    this.video.removeAttribute('src');
    this.video.load();
  }

  private async run(): Promise<void> {
    this.onState({ kind: 'connecting' });
    const abort = new AbortController();
    this.abort = abort;
    try {
      const res = await fetch(this.url, { signal: abort.signal, credentials: 'same-origin' });
      if (!res.ok) throw await errorFrom(res);
      const mime = res.headers.get('content-type') ?? '';
      if (!('MediaSource' in window) || !MediaSource.isTypeSupported(mime)) {
        abort.abort();
        // Not worth retrying: the browser will not learn the codec.
        this.onState({ kind: 'error', error: new Error(`this browser cannot play ${mime || 'this stream'}`), retrying: false });
        return;
      }
      await this.play(res, mime, abort.signal);
      if (this.stopped) return;
      this.onState({ kind: 'error', error: new Error('the camera stream ended; reconnecting'), retrying: true });
    } catch (e) {
      if (this.stopped) return;
      const err = e instanceof Error ? e : new Error(String(e));
      // 422: H.265, which browsers cannot decode: retrying will not help.
      const retrying = (err as ApiError).status !== 422 && (err as ApiError).status !== 403;
      this.onState({ kind: 'error', error: err, retrying });
      if (!retrying) return;
    }
    if (!this.stopped) this.retryTimer = window.setTimeout(() => void this.run(), kRetryMs);
  }

  private async play(res: Response, mime: string, signal: AbortSignal): Promise<void> {
    const video = this.video;
    const ms = new MediaSource();
    const objectUrl = URL.createObjectURL(ms);
    video.src = objectUrl;
    await new Promise((ok) => ms.addEventListener('sourceopen', ok, { once: true }));
    URL.revokeObjectURL(objectUrl);
    const sb = ms.addSourceBuffer(mime);
    const queue: Uint8Array[] = [];
    const pump = () => {
      if (!sb.updating && queue.length && ms.readyState === 'open') sb.appendBuffer(queue.shift()! as BufferSource);
    };
    let announced = false;
    sb.addEventListener('updateend', () => {
      const b = video.buffered;
      if (b.length) {
        if (!announced) {
          announced = true;
          this.onState({ kind: 'playing', mime });
        }
        const start = b.start(b.length - 1);
        const end = b.end(b.length - 1);
        const lag = end - video.currentTime;
        if (video.currentTime < start) video.currentTime = start;
        else if (lag > 1.5) video.currentTime = end - 0.1;
        // A seek would decode from the keyframe again: small lags are played away instead.
        else video.playbackRate = lag > 0.15 ? 1.25 : 1.0;
        if (!sb.updating && video.currentTime - b.start(0) > 10) {
          sb.remove(b.start(0), video.currentTime - 5);
          return;
        }
      }
      pump();
    });
    video.play().catch(() => {
      /* autoplay of a muted video is allowed; a refusal leaves the poster */
    });
    const reader = res.body!.getReader();
    signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
    for (;;) {
      const { value, done } = await reader.read();
      if (done || signal.aborted) return;
      this.bytes += value.byteLength;
      queue.push(value);
      pump();
    }
  }
}
