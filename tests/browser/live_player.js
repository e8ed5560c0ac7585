// A minimal live player, as vigil's web UI would have it: loaded into a page of vigil's origin
// (tests/browser/live.test.mjs, bench/live). window.vigilPlayLive({camera, user, password}) logs
// in (the session cookie rides along, same origin), fetches the chunked live fMP4 and appends it
// to a MediaSource SourceBuffer of the type vigil announces in Content-Type. After a skip (a slow
// viewer resumes at the next keyframe) the buffer has a gap: the player jumps to the newest
// range, and it keeps close to the live edge (faster playback for small lags, a seek for large). It also reads the prft boxes
// (ISO/IEC 14496-12 §8.16.5) vigil puts before each fragment: window.vigilLive.prft maps a
// fragment's media time (s) to the wall time (ms since the epoch) vigil wrote it.
window.vigilPlayLive = async ({ camera, user, password }) => {
  const login = await fetch('/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: user, password }),
  });
  if (!login.ok) throw new Error('login: HTTP ' + login.status + ' ' + (await login.text()));
  const res = await fetch('/api/cameras/' + camera + '/live.mp4');
  if (!res.ok) throw new Error('live: HTTP ' + res.status + ' ' + (await res.text()));
  const mime = res.headers.get('content-type');
  if (!MediaSource.isTypeSupported(mime)) throw new Error('this browser cannot play ' + mime);
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.appendChild(video);
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
  const sb = ms.addSourceBuffer(mime);
  const queue = [];
  const state = { bytes: 0, ended: false, error: null, mime };
  const prft = new Map();
  // Top-level boxes of the byte stream: [size:4][type:4]...; only prft is read.
  let pending = new Uint8Array(0);
  const scan = (chunk) => {
    const all = new Uint8Array(pending.length + chunk.length);
    all.set(pending);
    all.set(chunk, pending.length);
    const dv = new DataView(all.buffer);
    let at = 0;
    while (at + 8 <= all.length) {
      const size = dv.getUint32(at);
      if (size < 8 || at + size > all.length) break;
      if (dv.getUint32(at + 4) === 0x70726674) {  // 'prft'
        const version = all[at + 8];
        const ntpSec = dv.getUint32(at + 16), ntpFrac = dv.getUint32(at + 20);
        const media = version === 1 ? Number(dv.getBigUint64(at + 24)) : dv.getUint32(at + 24);
        const wallMs = (ntpSec - 2208988800) * 1000 + (ntpFrac / 2 ** 32) * 1000;
        prft.set(Math.round((media / 90000) * 1000), wallMs);
        if (prft.size > 2000) prft.delete(prft.keys().next().value);
      }
      at += size;
    }
    pending = all.slice(at);
  };
  const pump = () => {
    if (!sb.updating && queue.length) sb.appendBuffer(queue.shift());
  };
  sb.addEventListener('updateend', () => {
    const b = video.buffered;
    if (b.length) {
      const start = b.start(b.length - 1), end = b.end(b.length - 1);
      const lag = end - video.currentTime;
      if (video.currentTime < start) video.currentTime = start;
      else if (lag > 1.5) video.currentTime = end - 0.1;
      // Small lags are caught up by playing a little faster: a seek would decode from the
      // keyframe again.
      else video.playbackRate = lag > 0.15 ? 1.25 : 1.0;
      // Keep the buffer small: live view never looks back.
      if (!sb.updating && video.currentTime - b.start(0) > 10) {
        sb.remove(b.start(0), video.currentTime - 5);
        return;
      }
    }
    pump();
  });
  (async () => {
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) { state.ended = true; break; }
      state.bytes += value.byteLength;
      scan(value);
      queue.push(value);
      pump();
    }
  })().catch((e) => { state.error = String(e); });
  video.play().catch(() => {});
  window.vigilLive = { video, state, prft };
  return mime;
};
