// Recorded playback as vigil's web UI plays it: the hls.js configuration and the order of calls
// that make the first frame of any recorded hour appear quickly (docs/design/playback.md, "Time
// to first frame", says what each setting saves and how it was measured by bench/playback).
// A classic script (like live_player.js): load hls.js first, then this; it defines
//   window.VIGIL_HLS_CONFIG              the hls.js settings vigil's playlists want
//   window.vigilPlayRecorded(video, src) -> Hls   attach, load, play; resolves once playing
// Used by tests/browser/playback.test.mjs and bench/playback.
window.VIGIL_HLS_CONFIG = Object.freeze({
  // vigil's fragments are already fragmented MP4: hls.js only re-labels them (its "passthrough"
  // remuxer), a few ms of work. The Web Worker hls.js would otherwise start for that work costs
  // more than the work: its whole bundle is compiled again in the worker, 100-300 ms before the
  // first fragment can be appended (measured; see playback.md).
  enableWorker: false,
  // Ask for the first fragment as soon as the playlist is parsed, in parallel with the opening
  // of the MediaSource, instead of after it.
  startFragPrefetch: true,
  // A recorded hour is a VOD playlist; playback starts at its first fragment. vigil's playlist
  // starts exactly on a fragment boundary (a keyframe) with tfdt 0, so there is no hole to skip.
  startPosition: 0,
  // Footage is watched in order and often scrubbed: 30 s ahead (the default) is 15 GOPs of
  // 1080p pulled before anything else; 10 s keeps seeks cheap and memory small.
  maxBufferLength: 10,
  maxMaxBufferLength: 30,
  // One rendition: nothing to choose, so no bandwidth test before the first fragment.
  testBandwidth: false,
  // A stalled start with a small hole (a camera whose first frame is not at tfdt 0) is nudged
  // over quickly rather than after the default wait.
  maxBufferHole: 0.5,
  lowLatencyMode: false,
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
