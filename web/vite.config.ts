// Vite builds web/ into web/dist, which vigil serves ([http] web_root). Assets get content-hashed
// names under /assets/ (vigil caches those for good); nothing is inlined, because vigil's
// Content-Security-Policy allows scripts and styles from its own origin only.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
    // hls.js alone is ~600 kB minified; it is its own chunk, loaded by the playback screen only.
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npx vite` for UI work: the API comes from a running vigil (VIGIL_URL, default :8080).
    proxy: { '/api': process.env.VIGIL_URL ?? 'http://127.0.0.1:8080' },
  },
});
