// The second factor's arithmetic: RFC 6238's SHA-1 test vectors (Appendix B), RFC 4226's HOTP
// vectors (Appendix D), the ±1 step window, refusal of a code whose step was already used,
// base32 and the otpauth:// URI, and the recovery codes' form.
#include <gtest/gtest.h>

#include <set>

#include "serve/totp.h"

namespace vigil {
namespace {

std::vector<uint8_t> rfc_key() {
  const std::string k = "12345678901234567890";  // RFC 4226 / RFC 6238 SHA-1 seed
  return {k.begin(), k.end()};
}

TEST(Totp, Rfc4226HotpVectors) {
  const uint32_t want[] = {755224, 287082, 359152, 969429, 338314,
                           254676, 287922, 162583, 399871, 520489};
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(hotp(rfc_key(), i), want[i]) << "counter " << i;
}

TEST(Totp, Rfc6238Sha1Vectors) {
  // RFC 6238 Appendix B: 8 digits, T0 = 0, X = 30.
  const std::pair<int64_t, std::string> vectors[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const auto& [t, code] : vectors) {
    EXPECT_EQ(totp_code(rfc_key(), totp_step(t), 8), code) << "T = " << t;
  }
}

TEST(Totp, AcceptsTheCurrentStepAndOneEitherSide) {
  const int64_t t = 1'790'000'015;  // in the middle of a step
  const int64_t step = totp_step(t);
  for (int64_t d : {-1, 0, 1}) {
    auto m = totp_match(rfc_key(), totp_code(rfc_key(), step + d), t, std::nullopt);
    ASSERT_TRUE(m) << "offset " << d;
    EXPECT_EQ(*m, step + d);
  }
  for (int64_t d : {-3, -2, 2, 3}) {
    EXPECT_FALSE(totp_match(rfc_key(), totp_code(rfc_key(), step + d), t, std::nullopt))
        << "offset " << d;
  }
}

TEST(Totp, ACodeIsAcceptedOnce) {
  const int64_t t = 1'790'000'015;
  const std::string code = totp_code(rfc_key(), totp_step(t));
  auto first = totp_match(rfc_key(), code, t, std::nullopt);
  ASSERT_TRUE(first);
  // The same code again (the step it matched is now the last used one), also 20 s later while
  // it is still inside the window.
  EXPECT_FALSE(totp_match(rfc_key(), code, t, *first));
  EXPECT_FALSE(totp_match(rfc_key(), code, t + 20, *first));
  // So is an older code still in the window: the used step moved past it.
  EXPECT_FALSE(totp_match(rfc_key(), totp_code(rfc_key(), *first - 1), t, *first));
  // The next step's code works.
  EXPECT_EQ(totp_match(rfc_key(), totp_code(rfc_key(), *first + 1), t + 30, *first), *first + 1);
}

TEST(Totp, RefusesMalformedCodes) {
  const int64_t t = 1'790'000'015;
  const std::string good = totp_code(rfc_key(), totp_step(t));
  for (const std::string& bad : {std::string(""), good.substr(0, 5), good + "0", std::string("12a456"),
                                std::string(" ") + good.substr(1)}) {
    EXPECT_FALSE(totp_match(rfc_key(), bad, t, std::nullopt)) << bad;
  }
}

TEST(Totp, Base32RoundTripsAndMatchesRfc4648) {
  EXPECT_EQ(base32_encode({'f', 'o', 'o', 'b', 'a', 'r'}), "MZXW6YTBOI");  // RFC 4648 §10
  EXPECT_EQ(base32_encode(rfc_key()), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  auto back = base32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, rfc_key());
  EXPECT_FALSE(base32_decode("GEZD1"));  // 1 is not in the alphabet
}

TEST(Totp, OtpauthUriNamesIssuerAccountAndSecret) {
  EXPECT_EQ(otpauth_uri("vigil", "ann lee", rfc_key()),
            "otpauth://totp/vigil:ann%20lee?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=vigil"
            "&algorithm=SHA1&digits=6&period=30");
}

TEST(Totp, RecoveryCodesAreDistinctAndNormalize) {
  const auto codes = new_recovery_codes(10);
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), 10u);
  for (const auto& c : codes) {
    ASSERT_EQ(c.size(), 19u) << c;
    const std::string n = normalize_recovery_code(c);
    EXPECT_EQ(n.size(), 16u) << c;
    std::string upper = c;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_EQ(normalize_recovery_code(upper), n);  // typed in capitals
  }
  EXPECT_EQ(normalize_recovery_code("abcd-efgh"), "");
  EXPECT_EQ(normalize_recovery_code("abcd-efgh-ijkl-mno1"), "");
  EXPECT_EQ(normalize_recovery_code("abcd-efgh-ijkl-mnop-q"), "");
}

}  // namespace
}  // namespace vigil
