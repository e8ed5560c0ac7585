// An S3-speaking server for the archive tests: s3rver (a real S3 REST implementation from npm,
// objects in files on disk) on 127.0.0.1, on the port given (0: a free one), keeping its objects
// in the directory given, with the bucket given. Prints the port it listens on, then serves
// until killed (the tests stop it by PID).
//
// With S3_DIE_AFTER_BYTES=N in its environment it exits abruptly once it has received more than
// N bytes of request bodies, in the middle of a request: a store that goes away mid-upload.
//
// s3rver checks only the access key id of a Signature V4 request, so every request is checked
// here first, as AWS does, with an implementation of our own that shares nothing with libcurl's
// signer: the signature over the canonical request (secret key "S3RVER"), the signed payload hash
// (x-amz-content-sha256) and Content-MD5 against the bytes that arrived. A mismatch is answered
// with S3's error (403 SignatureDoesNotMatch, 400 XAmzContentSHA256Mismatch, 400 BadDigest).
import { createHash, createHmac } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';

const [dir, bucket, port = '0'] = process.argv.slice(2);
if (!dir || !bucket) {
  console.error('usage: node server.js DIRECTORY BUCKET [PORT]');
  process.exit(2);
}
const SECRET = 'S3RVER';
const dieAfter = Number(process.env.S3_DIE_AFTER_BYTES || 0);
let received = 0;

const s3rver = new S3rver({
  silent: true,
  directory: dir,
  configureBuckets: [{ name: bucket }],
});
await s3rver.configureBuckets();
const app = s3rver.callback();

// s3rver 3.7.1 answers a PUT (of an object or of a part) once its MD5 transform has seen the
// last byte, not once the file holds it, so a HEAD right after a large PUT saw a partial object
// (found by S3Client's size check on a 256 MiB upload). Its putObject and putPart, answering
// once the file is written: what a real store guarantees.
async function writeHashed(content, file) {
  await mkdir(path.dirname(file), { recursive: true });
  const md5 = createHash('md5');
  let size = 0;
  await pipeline(Buffer.isBuffer(content) ? Readable.from([content]) : content, new Transform({
    transform(chunk, encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  }), createWriteStream(file));
  return { size, md5: md5.digest('hex') };
}
s3rver.store.putObject = async function putObject(object) {
  const written = await writeHashed(object.content,
    this.getResourcePath(object.bucket, object.key, 'object'));
  await this.putMetadata(object.bucket, object.key, object.metadata, written.md5);
  return written;
};
s3rver.store.putPart = async function putPart(bucket, uploadId, partNumber, content) {
  const file = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId,
    partNumber.toString());
  const written = await writeHashed(content, file);
  await writeFile(`${file}.md5`, written.md5);
  return written;
};

// RFC 3986 unreserved characters stay, everything else is %XX (uppercase): SigV4's URI encoding.
const encode = (s) =>
  Array.from(Buffer.from(s, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-_.~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
    })
    .join('');

function canonicalQuery(query) {
  if (!query) return '';
  return query
    .split('&')
    .filter((p) => p.length)
    .map((p) => {
      const eq = p.indexOf('=');
      const k = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
      const v = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1));
      return [encode(k), encode(v)];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

// Why the request does not verify, or null when it does.
function verify(req, body) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return ['SignatureDoesNotMatch', 403, `unusable Authorization header: ${auth}`];
  const [, , date, region, signedHeaders, signature] = m;
  const amzDate = req.headers['x-amz-date'] || '';
  const payloadHash = req.headers['x-amz-content-sha256'] || '';
  const [path, query] = req.url.split(/\?(.*)/s);
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date') ||
      !names.includes('x-amz-content-sha256')) {
    return ['SignatureDoesNotMatch', 403, `host, x-amz-date or x-amz-content-sha256 unsigned`];
  }
  const headers = names
    .map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonical = [req.method, path, canonicalQuery(query), headers, signedHeaders, payloadHash]
    .join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope,
    createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key, s) => createHmac('sha256', key).update(s).digest();
  const key = hmac(hmac(hmac(hmac('AWS4' + SECRET, date), region), 's3'), 'aws4_request');
  if (createHmac('sha256', key).update(toSign).digest('hex') !== signature) {
    return ['SignatureDoesNotMatch', 403, `canonical request:\n${canonical}`];
  }
  if (payloadHash !== 'UNSIGNED-PAYLOAD' &&
      createHash('sha256').update(body).digest('hex') !== payloadHash) {
    return ['XAmzContentSHA256Mismatch', 400, 'the payload is not what was signed'];
  }
  const md5 = req.headers['content-md5'];
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) {
    return ['BadDigest', 400, 'the Content-MD5 you specified did not match what we received'];
  }
  return null;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => {
    received += c.length;
    if (dieAfter && received > dieAfter) process.exit(3);
    chunks.push(c);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const wrong = verify(req, body);
    if (wrong) {
      const [code, status, message] = wrong;
      res.writeHead(status, { 'Content-Type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
              `<Message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message></Error>`);
      return;
    }
    // s3rver reads the body as a stream: the bytes already read are handed on as one, with the
    // request's own head.
    const again = Readable.from(body.length ? [body] : []);
    for (const k of ['method', 'url', 'headers', 'rawHeaders', 'httpVersion', 'httpVersionMajor',
      'httpVersionMinor', 'socket', 'connection']) {
      again[k] = req[k];
    }
    app(again, res);
  });
});
server.listen(Number(port), '127.0.0.1', () => console.log(server.address().port));
