// Recorded playback as vigil's web UI plays it: the hls.js configuration and the order of calls
// that make the first frame of any recorded hour appear quickly (docs/design/playback.md, "Time
// to first frame", says what each setting saves and how it was measured by bench/playback).
// A classic script (like live_player.js): load hls.js first, then this; it defines
//   window.VIGIL_HLS_CONFIG              the hls.js settings vigil's playlists want
//   window.vigilPlayRecorded(video, src) -> {hls, playing}   attach, load and play
// Used by tests/browser/playback.test.mjs and bench/playback.
window.VIGIL_HLS_CONFIG = Object.freeze({
  // vigil's fragments are already fragmented MP4: hls.js only re-labels them (its "passthrough"
  // remuxer), a few ms of work. The Web Worker hls.js would otherwise start for that work costs
  // more than the work: a new worker compiles hls.js's whole bundle again, 150-300 ms before
  // the first fragment can be appended (bench/playback --ablation, playback.md).
  enableWorker: false,
  // Not for the first frame (bench/playback measured no difference): 30 s ahead, the default,
  // is 15 GOPs (~15 MB of 1080p) fetched after every seek, and recorded footage is scrubbed
  // more than watched through; 10 s ahead keeps a seek's cost to the server and the page small.
  maxBufferLength: 10,
  maxMaxBufferLength: 30,
  // Memory, not speed: an hour of 1080p is ~2 GB; keep 30 s behind the playhead for short
  // rewinds and let the rest go.
  backBufferLength: 30,
});

// Plays `src` (a vigil playback.m3u8 URL, same origin: the session cookie rides along) in
// `video`. The media element is attached before the playlist is requested, so the MediaSource
// opens while the playlist is on the wire, and play() is called at once, so the element starts
// with its first decoded frame. Returns {hls, playing}: the Hls instance (the caller destroys it
// when done) and a promise that resolves once playback started and rejects on a fatal hls.js
// error or a refused play().
window.vigilPlayRecorded = (video, src, extraConfig) => {
  if (!window.Hls || !Hls.isSupported()) {
    throw new Error('hls.js is not loaded or this browser has no MediaSource');
  }
  const hls = new Hls(Object.assign({}, window.VIGIL_HLS_CONFIG, extraConfig || {}));
  video.muted = true;  // autoplay without a user gesture needs a muted element
  video.playsInline = true;
  const fatal = new Promise((_, reject) => hls.on(Hls.Events.ERROR, (_e, d) => {
    if (d.fatal) reject(new Error(`hls.js: ${d.type} ${d.details}`));
  }));
  hls.attachMedia(video);
  hls.loadSource(src);
  const playing = Promise.race([video.play(), fatal]);
  playing.catch(() => {});  // the caller decides; no unhandled rejection when it does not look
  return { hls, playing };
};
