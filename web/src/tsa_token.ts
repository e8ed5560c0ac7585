// The browser's check of an RFC 3161 time-stamp token kept beside a signed checkpoint in an
// evidence bundle: the same check `vigil verify` makes without --tsa-ca (check_tsa_token in
// src/integrity/verify.cpp; docs/design/integrity.md, "Trusted timestamps"). The token is a
// TimeStampResp (RFC 3161 section 2.4.2) whose TSTInfo must carry a SHA-256 imprint of the
// checkpoint's message and a time, inside a CMS SignedData (RFC 5652) whose signature must
// verify with the certificate the token carries. Which TSA that certificate belongs to is not
// checked here (the CLI does with --tsa-ca); its subject is reported. Parsed with pkijs/asn1js,
// signatures checked with WebCrypto. Untrusted bytes: the result is a problem, never an
// exception.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export interface TsaTokenCheck {
  timeMs: number | null; // the TSA's genTime when the token holds
  tsa: string; // the signing certificate's subject, as far as it is known
  problem: string; // empty when the token holds
}

const SHA256_OID = '2.16.840.1.101.3.4.2.1';
const TST_INFO_OID = '1.2.840.113549.1.9.16.1.4'; // id-ct-TSTInfo (RFC 3161 section 2.4.2)
const COMMON_NAME_OID = '2.5.4.3';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function subjectOf(certs: pkijs.CertificateSetItem[] | undefined): string {
  for (const c of certs ?? []) {
    if (!(c instanceof pkijs.Certificate)) continue;
    const cn = c.subject.typesAndValues.find((t) => t.type === COMMON_NAME_OID);
    if (cn) return String(cn.value.valueBlock.value);
  }
  return '';
}

export async function checkTsaToken(token: Uint8Array, message: Uint8Array): Promise<TsaTokenCheck> {
  const out: TsaTokenCheck = { timeMs: null, tsa: '', problem: '' };
  const fail = (problem: string) => ({ ...out, problem });
  let signed: pkijs.SignedData;
  let info: pkijs.TSTInfo;
  try {
    const der = asn1js.fromBER(token);
    if (der.offset === -1) return fail('the RFC 3161 token is not a granted TimeStampResp');
    const resp = new pkijs.TimeStampResp({ schema: der.result });
    const status = resp.status.status;
    if ((status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) || !resp.timeStampToken ||
      resp.timeStampToken.contentType !== pkijs.ContentInfo.SIGNED_DATA) {
      return fail('the RFC 3161 token is not a granted TimeStampResp');
    }
    signed = new pkijs.SignedData({ schema: resp.timeStampToken.content });
    const content = signed.encapContentInfo;
    if (content.eContentType !== TST_INFO_OID || !content.eContent) return fail('the RFC 3161 token is not a granted TimeStampResp');
    info = pkijs.TSTInfo.fromBER(content.eContent.getValue());
  } catch {
    return fail('the RFC 3161 token is not a granted TimeStampResp');
  }
  out.tsa = subjectOf(signed.certificates);

  const want = new Uint8Array(await crypto.subtle.digest('SHA-256', message as BufferSource));
  const imprint = info.messageImprint;
  if (imprint.hashAlgorithm.algorithmId !== SHA256_OID || !sameBytes(imprint.hashedMessage.valueBlock.valueHexView, want)) {
    return fail("the RFC 3161 token is not for this checkpoint's message (SHA-256 imprint)");
  }
  const time = info.genTime instanceof Date ? info.genTime.getTime() : NaN;
  if (!Number.isFinite(time)) return fail('the RFC 3161 token has no readable time');

  // The signer's signature over the signed attributes, which carry the digest of the TSTInfo:
  // any change to the time, the imprint or the signature fails here. (pkijs wants the stamped
  // data for a TSTInfo and checks the imprint against it again.)
  let verified = false;
  try {
    verified = signed.signerInfos.length === 1 &&
      (await signed.verify({ signer: 0, checkChain: false, data: message.slice().buffer }));
  } catch {
    verified = false;
  }
  if (!verified) return fail("the RFC 3161 token's signature does not verify with the certificate it carries: the token was altered");
  out.timeMs = time;
  return out;
}
