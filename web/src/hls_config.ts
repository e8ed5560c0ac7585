// The one place holding the hls.js configuration for recorded playback: the settings measured by
// bench/playback (tests/browser/hls_player.js holds the same for the benchmark and the browser
// tests; docs/design/playback.md, "Time to first frame", says what each one saves). vigil's playlists are byte ranges of the recorded files,
// VOD, or EVENT while they reach into the file being recorded (docs/design/playback.md): one init
// range and one GOP are enough for the first frame. hls.js's live defaults are kept on purpose:
// liveMaxLatencyDurationCount Infinity and maxLiveSyncPlaybackRate 1 never move an EVENT
// playlist's playback to its live edge.
import type { HlsConfig } from 'hls.js';

export const playbackHlsConfig: Partial<HlsConfig> = {
  // Started by the player once it knows where in the playlist the chosen moment is.
  autoStartLoad: false,
  // vigil's fragments are fMP4 already: hls.js only re-labels them, a few ms of work, while a
  // Web Worker compiles hls.js again before the first append (150-300 ms, bench/playback).
  enableWorker: false,
  lowLatencyMode: false,
  // Recorded footage is scrubbed more than watched through: 10 s ahead keeps a seek's cost to
  // the server and the page small (still smooth at 8x); 30 s behind allows short rewinds.
  maxBufferLength: 10,
  maxMaxBufferLength: 30,
  backBufferLength: 30,
  // Session cookie, same origin.
  xhrSetup: (xhr) => {
    xhr.withCredentials = true;
  },
};
