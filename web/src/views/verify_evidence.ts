// "Verify evidence": the user drops an evidence bundle (or picks it) and the browser checks it
// locally with evidence.ts — nothing is uploaded. Same checks and verdict as `vigil verify`,
// RFC 3161 tokens included (their times are listed).
import type { Ctx } from '../app';
import { h, mount, notice, spinner } from '../dom';
import { verifyBundle, type BundleVerdict } from '../evidence';
import { formatDateTime } from '../time';

export function verifyEvidenceScreen(root: HTMLElement, _ctx: Ctx): () => void {
  let stopped = false;
  const file = h('input', { type: 'file', name: 'bundle', accept: '.zip,application/zip' });
  const key = h('input', { name: 'key', autocomplete: 'off', spellcheck: 'false', size: 70, placeholder: 'optional: 64 hex digits from `vigil key show`' });
  const result = h('div', { 'aria-live': 'polite', id: 'verify-result' });
  const drop = h('div', { class: 'dropzone', tabindex: 0 }, 'Drop an evidence bundle (.zip) here, or choose it: ', file);

  const show = (name: string, v: BundleVerdict) => {
    const utc = (ms: number) => new Date(ms).toISOString();
    mount(result,
      h('p', { class: v.ok ? 'verdict ok' : 'verdict bad', 'data-verdict': v.ok ? 'verified' : 'not-verified' },
        v.ok ? 'VERIFIED: every fragment, link and signature holds' : 'NOT VERIFIED'),
      v.firstBad ? h('p', { 'data-first-bad': String(v.firstBad.sequence) },
        `First bad: sequence ${v.firstBad.sequence} at ${utc(v.firstBad.wallStartMs)} (${formatDateTime(v.firstBad.wallStartMs)})`) : null,
      h('dl', { class: 'facts' },
        h('dt', {}, 'File'), h('dd', {}, name),
        h('dt', {}, 'Camera'), h('dd', {}, v.camera),
        h('dt', {}, 'Range (UTC)'), h('dd', {}, isNaN(v.fromMs) ? '' : `${utc(v.fromMs)} .. ${utc(v.toMs)}`),
        h('dt', {}, 'Range (local)'), h('dd', {}, isNaN(v.fromMs) ? '' : `${formatDateTime(v.fromMs)} .. ${formatDateTime(v.toMs)}`),
        h('dt', {}, 'Fragments checked'), h('dd', {}, String(v.fragments)),
        h('dt', {}, 'Key'), h('dd', {}, v.fingerprints.join(', '),
          v.trusted === null ? ' (not compared with a trusted fingerprint)' : v.trusted ? ' (the trusted key)' : ' (NOT the trusted key)'),
        h('dt', {}, 'Trusted timestamps'), h('dd', {},
          v.timestamps.length
            ? h('ul', { class: 'timestamps' }, v.timestamps.map((t) => h('li', { 'data-tsa-checkpoint': t.checkpoint, 'data-tsa-ok': t.timeMs !== null ? 'true' : 'false' },
              `checkpoint ${t.checkpoint} (sequence ${t.sequence}): `,
              t.timeMs !== null
                ? `RFC 3161 time ${utc(t.timeMs)}${t.tsa ? `, signed by ${t.tsa}` : ''} (the certificate the token carries; which TSA that is, vigil verify --tsa-ca checks)`
                : 'its RFC 3161 token does not hold')))
            : 'none (the checkpoints carry no RFC 3161 token)')),
      v.problems.length ? h('ul', { class: 'problems' }, v.problems.map((p) => h('li', {}, p))) : null);
  };

  const check = async (f: File) => {
    mount(result, spinner('Checking locally…'));
    try {
      const v = await verifyBundle(new Uint8Array(await f.arrayBuffer()), key.value.trim() || undefined);
      if (!stopped) show(f.name, v);
    } catch (e) {
      if (!stopped) mount(result, notice('error', `Could not check ${f.name}: ${(e as Error).message}`));
    }
  };
  file.addEventListener('change', () => {
    const f = file.files?.[0];
    // Cleared so that choosing the same file again (e.g. with another trusted key) checks again.
    file.value = '';
    if (f) void check(f);
  });
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) void check(f);
  });
  mount(root, h('h1', {}, 'Verify evidence'),
    h('p', {}, 'Checks an evidence bundle exported by vigil in this browser: every fragment hash, chain link and signature, and the RFC 3161 timestamps of its checkpoints. The file is not uploaded.'),
    h('label', { class: 'field' }, h('span', {}, 'Trusted key fingerprint'), key),
    drop, result);
  return () => {
    stopped = true;
  };
}
