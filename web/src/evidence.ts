// Checks an evidence bundle in the browser, locally (nothing is uploaded): the same checks as
// `vigil verify` (src/integrity/verify.cpp; docs/design/integrity.md, "Evidence bundle"), with
// WebCrypto's SHA-256 and Ed25519 and fflate to read the ZIP; checkpoints' RFC 3161 tokens as
// `vigil verify` without --tsa-ca checks them (tsa_token.ts). Everything in the bundle is
// untrusted: a malformed file is a verdict, never an exception out of verifyBundle.
import { unzipSync } from 'fflate';

export interface BundleVerdict {
  ok: boolean;
  camera: string;
  fromMs: number;
  toMs: number;
  fragments: number;
  fingerprints: string[];
  trusted: boolean | null; // null: no trusted fingerprint given
  firstBad: { sequence: number; wallStartMs: number } | null;
  // One per checkpoint that carries an RFC 3161 token: the TSA's time when the token holds.
  timestamps: { checkpoint: number; sequence: number; timeMs: number | null; tsa: string }[];
  problems: string[];
}

interface Entry {
  sequence: number;
  kind: string;
  wall_start_ms: number;
  duration_90k: number;
  init_sha256: string;
  sha256: string;
  note: string;
  canonical: string;
  link: string;
  part: number;
  offset: number;
  bytes: number;
}

const KINDS = ['', 'fragment', 'gap', 'lost'];
const CHECKPOINT_TAG = 'vigil-checkpoint-v1';
const EXPORT_TAG = 'vigil-export-v1';
const SPKI_PREFIX = '302a300506032b6570032100';

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
function unhex(s: unknown): Uint8Array | null {
  if (typeof s !== 'string' || s.length % 2 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
async function sha256(b: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', b as BufferSource)));
}
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
const same = (a: Uint8Array | undefined, b: Uint8Array) => !!a && a.length === b.length && a.every((x, i) => x === b[i]);

// Big-endian reader over untrusted bytes; every read checks the length (null when short).
class Reader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}
  bytes(n: number): Uint8Array | null {
    if (this.at + n > this.b.length) return null;
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u64(): number | null {
    const b = this.bytes(8);
    if (!b) return null;
    const v = new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0);
    return Number(v);
  }
  str(): string | null {
    const n = this.bytes(2);
    if (!n) return null;
    const s = this.bytes((n[0] << 8) | n[1]);
    return s ? new TextDecoder().decode(s) : null;
  }
  done(): boolean {
    return this.at === this.b.length;
  }
}

function parseEntry(b: Uint8Array) {
  const r = new Reader(b);
  const head = r.bytes(2);
  if (!head || head[0] !== 1 || head[1] < 1 || head[1] > 3) return null;
  const camera = r.str(), sequence = r.u64(), wall = r.u64(), duration = r.u64();
  const init = r.bytes(32), frag = r.bytes(32), note = r.str();
  if (camera === null || sequence === null || wall === null || duration === null || !init || !frag || note === null || !r.done()) return null;
  return { kind: KINDS[head[1]], camera, sequence, wall, duration, init: hex(init), frag: hex(frag), note };
}

function parseCheckpoint(b: Uint8Array) {
  const r = new Reader(b);
  const tag = r.bytes(CHECKPOINT_TAG.length);
  if (!tag || text(tag) !== CHECKPOINT_TAG) return null;
  const camera = r.str(), sequence = r.u64(), head = r.bytes(32), wall = r.u64(), audit = r.bytes(32);
  if (camera === null || sequence === null || !head || wall === null || !audit || !r.done()) return null;
  return { camera, sequence, head: hex(head), wall, audit: hex(audit) };
}

function pemToKey(pem: unknown): Uint8Array | null {
  if (typeof pem !== 'string') return null;
  const m = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(pem);
  if (!m) return null;
  try {
    const der = Uint8Array.from(atob(m[1].replace(/\s+/g, '')), (c) => c.charCodeAt(0));
    return der.length === 44 && hex(der.subarray(0, 12)) === SPKI_PREFIX ? der : null;
  } catch {
    return null;
  }
}

async function ed25519Verify(spki: Uint8Array, sig: Uint8Array, msg: Uint8Array): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('spki', spki as BufferSource, { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, sig as BufferSource, msg as BufferSource);
  } catch {
    return false;
  }
}

const iso = (ms: number) => {
  const d = new Date(ms);
  return isNaN(d.getTime()) ? String(ms) : d.toISOString();
};

export async function verifyBundle(zip: Uint8Array, trustedFingerprint?: string): Promise<BundleVerdict> {
  const v: BundleVerdict = { ok: false, camera: '', fromMs: 0, toMs: 0, fragments: 0, fingerprints: [], trusted: null, firstBad: null, timestamps: [], problems: [] };
  const trusted = trustedFingerprint?.replace(/[:\s]/g, '').toLowerCase() || undefined;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (e) {
    v.problems.push(`not a readable ZIP file: ${(e as Error).message}`);
    return v;
  }
  const manifestBytes = files['manifest.json'];
  let m: any; // untrusted JSON: every field is checked where it is used
  try {
    m = JSON.parse(text(manifestBytes) ?? '');
  } catch {
    v.problems.push('the bundle has no readable manifest.json');
    return v;
  }
  if (!m || m.format !== 'vigil-evidence-bundle-1' || !Array.isArray(m.entries) || !Array.isArray(m.checkpoints) || !Array.isArray(m.keys) || !Array.isArray(m.parts)) {
    v.problems.push('manifest.json is not a vigil-evidence-bundle-1 manifest');
    return v;
  }
  v.camera = String(m.camera?.id ?? '');
  v.fromMs = Number(m.range?.from_ms);
  v.toMs = Number(m.range?.to_ms);
  let firstBadIndex = -1;
  const entries = m.entries as Entry[];
  const bad = (index: number | null, message: string) => {
    if (index !== null) {
      const e = entries[index];
      message = `sequence ${e?.sequence} (${iso(e?.wall_start_ms)}): ${message}`;
      if (firstBadIndex < 0 || index < firstBadIndex) firstBadIndex = index;
    }
    v.problems.push(message);
  };

  // Keys and checkpoints.
  const keys = new Map<string, Uint8Array>();
  for (const k of m.keys) {
    const der = pemToKey(k?.pem);
    const fp = der ? await sha256(der) : '';
    if (!der || fp !== k.fingerprint) bad(null, `a key is not the Ed25519 key with fingerprint ${k?.fingerprint}`);
    else keys.set(fp, der);
    v.fingerprints.push(String(k?.fingerprint));
  }
  if (!keys.size) bad(null, 'the bundle holds no usable public key');
  if (trusted) v.trusted = v.fingerprints.length > 0 && v.fingerprints.every((f) => f === trusted);
  const heads = new Map<number, string>();
  for (let i = 0; i < m.checkpoints.length; i++) {
    const c = m.checkpoints[i];
    const name = `checkpoint ${i + 1} (sequence ${c?.sequence})`;
    const msg = unhex(c?.message), sig = unhex(c?.signature);
    const parsed = msg ? parseCheckpoint(msg) : null;
    if (!parsed || !sig || sig.length !== 64) {
      bad(null, `${name}: not a version 1 checkpoint`);
      continue;
    }
    if (parsed.camera !== v.camera || parsed.sequence !== c.sequence || parsed.head !== c.head || parsed.wall !== c.wall_time_ms || parsed.audit !== c.audit_head) {
      bad(null, `${name}: the manifest differs from the signed message`);
    }
    const key = keys.get(c.key);
    if (!key) bad(null, `${name}: signed by key ${c.key}, not in the bundle`);
    else if (!(await ed25519Verify(key, sig, msg!))) bad(null, `${name}: the signature does not verify with key ${c.key}`);
    if (trusted && c.key !== trusted) bad(null, `${name}: signed by key ${c.key}, not the trusted key ${trusted}`);
    if (!same(files[`checkpoints/${i + 1}.msg`], msg!) || !same(files[`checkpoints/${i + 1}.sig`], sig)) bad(null, `checkpoints/${i + 1}: the files differ from manifest.json`);
    if (typeof c.tsa_token === 'string' && c.tsa_token !== '') {
      const token = unhex(c.tsa_token);
      if (!token) {
        bad(null, `checkpoint ${i + 1}: the RFC 3161 token is not a granted TimeStampResp`);
      } else {
        if (!same(files[`checkpoints/${i + 1}.tsr`], token)) bad(null, `checkpoints/${i + 1}.tsr is missing or differs from manifest.json`);
        // pkijs is loaded only for bundles that carry tokens (a chunk of its own).
        const { checkTsaToken } = await import('./tsa_token');
        const t = await checkTsaToken(token, msg!);
        if (t.problem) bad(null, `checkpoint ${i + 1}: ${t.problem}`);
        v.timestamps.push({ checkpoint: i + 1, sequence: parsed.sequence, timeMs: t.timeMs, tsa: t.tsa });
      }
    }
    heads.set(parsed.sequence, parsed.head);
  }
  if (!heads.size) bad(null, 'the bundle holds no signed checkpoint');
  if (!entries.length) {
    bad(null, 'the bundle holds no chain entries');
    return finish(v, entries, firstBadIndex);
  }

  // The chain, from the checkpoint before (or the genesis) to the checkpoint after.
  const first = entries[0].sequence;
  let prev = first === 0 ? '0'.repeat(64) : heads.get(first - 1);
  if (prev === undefined) bad(null, `the chain does not start at a signed checkpoint (none at sequence ${first - 1})`);
  const clips: (Uint8Array | undefined)[] = m.parts.map((p: { file: string }) => files[p?.file]);
  const nextOffset: number[] = m.parts.map((p: { init_bytes: number }) => Number(p?.init_bytes));
  for (let i = 0; i < entries.length; i++) {
    const me = entries[i];
    const canonical = unhex(me?.canonical);
    const e = canonical ? parseEntry(canonical) : null;
    if (!e) {
      bad(i, 'the canonical entry is not a version 1 chain entry');
      prev = me?.link;
      continue;
    }
    if (e.camera !== v.camera || e.sequence !== me.sequence || e.kind !== me.kind || e.wall !== me.wall_start_ms || e.duration !== me.duration_90k || e.init !== me.init_sha256 || e.frag !== me.sha256 || e.note !== me.note) {
      bad(i, "the manifest's fields differ from the canonical chain entry");
    }
    if (i > 0 && e.sequence !== entries[i - 1].sequence + 1) bad(i, `follows sequence ${entries[i - 1].sequence}: chain entries were removed, added or reordered`);
    if (prev === undefined) prev = me.link;
    else {
      prev = await sha256(concat(unhex(prev)!, canonical!));
      if (prev !== me.link) bad(i, 'the link does not follow from the previous link');
    }
    const head = heads.get(e.sequence);
    if (head !== undefined && head !== prev) bad(i, `the signed checkpoint at sequence ${e.sequence} is for another chain`);
    if (e.kind !== 'fragment') {
      if (me.part !== 0) bad(i, 'a gap entry has bytes in a clip');
      continue;
    }
    if (me.part === 0) {
      if (e.wall < v.toMs && e.wall + Math.round(e.duration / 90) > v.fromMs) bad(i, 'a fragment inside the range is not in the bundle');
      continue;
    }
    const part = m.parts[me.part - 1];
    const clip = clips[me.part - 1];
    if (!part || !clip) {
      bad(i, `its clip (part ${me.part}) is missing`);
      continue;
    }
    if (me.offset !== nextOffset[me.part - 1] || !(me.bytes > 0)) bad(i, `its bytes do not follow the previous fragment's in ${part.file}`);
    nextOffset[me.part - 1] = me.offset + me.bytes;
    if (e.init !== part.init_sha256) bad(i, `its init segment differs from the one at the start of ${part.file}`);
    if (me.offset + me.bytes > clip.length) {
      bad(i, `${part.file} ends before this fragment's bytes: they were removed`);
      continue;
    }
    if ((await sha256(clip.subarray(me.offset, me.offset + me.bytes))) !== e.frag) bad(i, `its bytes in ${part.file} do not hash to its chain entry: the video was altered`);
    v.fragments++;
  }
  const last = entries[entries.length - 1].sequence;
  if (!heads.has(last)) bad(null, `the chain's end is not signed (no checkpoint at sequence ${last})`);
  for (let k = 0; k < m.parts.length; k++) {
    const p = m.parts[k];
    const clip = clips[k];
    if (!clip) continue;
    if ((await sha256(clip.subarray(0, p.init_bytes))) !== p.init_sha256) {
      const firstOfPart = entries.findIndex((e) => e?.part === k + 1);
      bad(firstOfPart >= 0 ? firstOfPart : null, `${p.file}: the init segment does not hash to the manifest's init_sha256: it was altered`);
    }
    if (nextOffset[k] !== p.bytes || clip.length !== p.bytes) bad(null, `${p.file}: the fragments cover ${nextOffset[k]} of its ${clip.length} bytes`);
  }

  // Files beside the footage (transactions.json): the manifest, which export.sig covers, gives
  // each one's size and SHA-256 (absent from bundles without any).
  const attachments: any[] = m.attachments === undefined ? [] : Array.isArray(m.attachments) ? m.attachments : [null];
  for (const a of attachments) {
    const name = String(a?.file);
    const f = Object.prototype.hasOwnProperty.call(files, name) ? files[name] : undefined;
    if (!f) bad(null, `${name} is missing (manifest.json lists it)`);
    else if (f.length !== a.bytes || (await sha256(f)) !== a.sha256) bad(null, `${name} was altered: its bytes do not hash to the SHA-256 manifest.json gives it`);
  }

  // The export statement covers the whole manifest (exporter, audit entry, range).
  const statement = files['export.msg'], statementSig = files['export.sig'];
  const wanted = concat(new TextEncoder().encode(EXPORT_TAG), unhex(await sha256(manifestBytes))!);
  if (!same(statement, wanted)) bad(null, 'export.msg is not the statement of this manifest.json: the manifest was edited');
  else {
    let signed = false;
    for (const [fp, der] of keys) {
      if ((!trusted || fp === trusted) && statementSig && (await ed25519Verify(der, statementSig, statement!))) signed = true;
    }
    if (!signed) bad(null, trusted ? 'export.sig is not a signature by the trusted key' : 'export.sig does not verify with the bundled key');
  }
  return finish(v, entries, firstBadIndex);
}

function finish(v: BundleVerdict, entries: Entry[], firstBadIndex: number): BundleVerdict {
  if (firstBadIndex >= 0) v.firstBad = { sequence: entries[firstBadIndex].sequence, wallStartMs: entries[firstBadIndex].wall_start_ms };
  v.ok = v.problems.length === 0;
  return v;
}
