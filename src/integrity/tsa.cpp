// RFC 3161 requests and answers with OpenSSL's TS API (see tsa.h).
#include "integrity/tsa.h"

#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <memory>

#include "core/error.h"
#include "integrity/verify.h"

namespace vigil {
namespace {

template <typename T, void (*Free)(T*)>
struct OsslFree {
  void operator()(T* p) const { Free(p); }
};
using TsReqPtr = std::unique_ptr<TS_REQ, OsslFree<TS_REQ, TS_REQ_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, OsslFree<TS_RESP, TS_RESP_free>>;
using ImprintPtr = std::unique_ptr<TS_MSG_IMPRINT, OsslFree<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free>>;
using AlgorPtr = std::unique_ptr<X509_ALGOR, OsslFree<X509_ALGOR, X509_ALGOR_free>>;
using IntegerPtr = std::unique_ptr<ASN1_INTEGER, OsslFree<ASN1_INTEGER, ASN1_INTEGER_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslFree<BIGNUM, BN_free>>;

// Our own invariants (allocation, encoding what we built): an OpenSSL failure here is not
// about input, so it is an error of the caller's component, not a "problem" with an answer.
void ensure(bool ok, const char* what) {
  if (!ok) throw Error(ErrorCode::kInternal, std::string("RFC 3161 request: ") + what);
}

}  // namespace

TsaRequest make_tsa_request(const Bytes& message) {
  TsaRequest out;
  out.message = message;
  const Sha256 digest = sha256_of(message);

  TsReqPtr req(TS_REQ_new());
  ImprintPtr imprint(TS_MSG_IMPRINT_new());
  AlgorPtr algo(X509_ALGOR_new());
  ensure(req && imprint && algo, "out of memory");
  ensure(X509_ALGOR_set0(algo.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr) == 1,
         "SHA-256 algorithm");
  ensure(TS_MSG_IMPRINT_set_algo(imprint.get(), algo.get()) == 1, "imprint algorithm");
  ensure(TS_MSG_IMPRINT_set_msg(imprint.get(), const_cast<uint8_t*>(digest.data()),
                                static_cast<int>(digest.size())) == 1,
         "imprint");
  ensure(TS_REQ_set_version(req.get(), 1) == 1, "version");
  ensure(TS_REQ_set_msg_imprint(req.get(), imprint.get()) == 1, "message imprint");
  ensure(TS_REQ_set_cert_req(req.get(), 1) == 1, "certReq");

  // 64 random bits, positive (RFC 3161 2.4.1: "a large random number").
  out.nonce.resize(8);
  ensure(RAND_bytes(out.nonce.data(), static_cast<int>(out.nonce.size())) == 1, "random nonce");
  out.nonce[0] &= 0x7f;
  out.nonce[0] |= 0x01;  // 8 significant bytes, so the encoding has a fixed length
  BignumPtr bn(BN_bin2bn(out.nonce.data(), static_cast<int>(out.nonce.size()), nullptr));
  ensure(bn != nullptr, "nonce");
  IntegerPtr nonce(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  ensure(nonce && TS_REQ_set_nonce(req.get(), nonce.get()) == 1, "nonce");

  unsigned char* der = nullptr;
  const int len = i2d_TS_REQ(req.get(), &der);
  ensure(len > 0, "DER encoding");
  out.der.assign(der, der + len);
  OPENSSL_free(der);
  return out;
}

TsaReplyCheck check_tsa_reply(const Bytes& reply, const TsaRequest& request,
                              const std::optional<std::filesystem::path>& tsa_ca) {
  TsaReplyCheck out;
  const unsigned char* p = reply.data();
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(reply.size())));
  if (!resp || p != reply.data() + reply.size()) {
    out.problem = "the answer is not a DER TimeStampResp";
    return out;
  }
  const ASN1_INTEGER* status = TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp.get()));
  const long code = status ? ASN1_INTEGER_get(status) : -1;
  if (code != TS_STATUS_GRANTED && code != TS_STATUS_GRANTED_WITH_MODS) {
    out.problem = "the TSA did not grant the request (PKIStatus " + std::to_string(code) + ")";
    return out;
  }
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp.get());
  const ASN1_INTEGER* nonce = info ? TS_TST_INFO_get_nonce(info) : nullptr;
  BignumPtr want(BN_bin2bn(request.nonce.data(), static_cast<int>(request.nonce.size()), nullptr));
  BignumPtr got(nonce ? ASN1_INTEGER_to_BN(nonce, nullptr) : nullptr);
  if (!want || !got || BN_cmp(want.get(), got.get()) != 0) {
    out.problem = "the token does not carry the request's nonce (a replayed or mixed-up answer)";
    return out;
  }
  // Imprint, time and (with a CA) signature: the same check `vigil verify` makes later, so a
  // token kept here is one the verifier accepts.
  const TsaTokenCheck token = check_tsa_token(reply, request.message, tsa_ca);
  out.problem = token.problem;
  if (token.problem.empty()) out.time = token.time;
  return out;
}

}  // namespace vigil
