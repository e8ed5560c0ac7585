// RFC 3161 time-stamp requests for signed checkpoints, and the check of a TSA's answer before
// its token is kept. The token proves that a checkpoint's message (and so the chain head and
// the footage it covers) existed at the TSA's time, independent of the recorder's clock.
//
// One request per checkpoint, over that checkpoint's own message (SHA-256 imprint): a token
// then stands next to its checkpoint, and `openssl ts -verify -data checkpoints/N.msg -in
// checkpoints/N.tsr` checks it with nothing else (docs/design/integrity.md, "Trusted
// timestamps"). Pure (no network, no catalog): the tsa stamper (app/tsa_stamper.h) sends.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "integrity/chain.h"

namespace vigil {

struct TsaRequest {
  Bytes der;      // TimeStampReq (RFC 3161 section 2.4.1), DER: the HTTP POST body
  Bytes message;  // what the imprint is the SHA-256 of
  Bytes nonce;    // big-endian, as in the request; the answer must carry the same
};

// A TimeStampReq for `message`: version 1, SHA-256 imprint, a random 64-bit nonce (an answer
// replayed from another request fails), certReq true (the token carries the TSA's certificate,
// so `openssl ts -verify -CAfile` needs only the CA). No policy: the TSA's default.
TsaRequest make_tsa_request(const Bytes& message);

// The TSA's answer (TimeStampResp, DER, RFC 3161 section 2.4.2) to `request`: holds when the
// status is granted (or granted with modifications), the token's imprint is the request's, the
// nonce is the request's, and — when `tsa_ca` is given — the token is signed by a TSA that
// certificate (chain) vouches for. Untrusted input: never throws.
struct TsaReplyCheck {
  std::optional<WallTime> time;  // the TSA's genTime, when it holds
  std::string problem;           // empty when it holds
};
TsaReplyCheck check_tsa_reply(const Bytes& reply, const TsaRequest& request,
                              const std::optional<std::filesystem::path>& tsa_ca);

}  // namespace vigil
