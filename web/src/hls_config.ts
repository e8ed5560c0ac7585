// The one place holding the hls.js configuration for recorded playback, so that the tuned
// settings (being measured in tests/browser/hls_player.js on branch `playfast`) can replace it
// without touching the player. vigil's playlists are VOD byte ranges of the recorded files
// (docs/design/playback.md): one init range and one GOP are enough for the first frame.
import type { HlsConfig } from 'hls.js';

export const playbackHlsConfig: Partial<HlsConfig> = {
  // Started by the player once it knows where in the playlist the chosen moment is.
  autoStartLoad: false,
  // The ES module build has no built-in worker (it would need workerPath); fMP4 needs no
  // transmuxing, so the main thread is fine.
  enableWorker: true,
  lowLatencyMode: false,
  // A little ahead is enough for smooth 8x; more only costs memory on a phone.
  maxBufferLength: 30,
  backBufferLength: 30,
  // Session cookie, same origin.
  xhrSetup: (xhr) => {
    xhr.withCredentials = true;
  },
};
