// A real RFC 3161 time-stamping authority for unit tests: a CA and a time-stamping certificate
// made with openssl at test time (no key is vendored), and the answers `openssl ts -reply`
// gives. Shared by the bundle verifier's tests and the TSA client's (tsa_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "integrity/chain.h"
#include "test_support.h"

namespace vigil::test {

class Tsa {
 public:
  explicit Tsa(const std::filesystem::path& dir) : dir_(dir) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "tsa.cnf")
        << "[tsa]\ndefault_tsa = t\n[t]\nserial = " << (dir / "serial").string()
        << "\ncrypto_device = builtin\nsigner_digest = sha256\n"
           "default_policy = 1.2.3.4.1\ndigests = sha256\n"
           "ess_cert_id_alg = sha256\n";
    std::ofstream(dir / "serial") << "01\n";
    std::ofstream(dir / "ext.cnf") << "extendedKeyUsage = critical, timeStamping\n";
    const std::string d = dir.string();
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
    EXPECT_EQ(
        test::run(
            "cd " + d + " && openssl req -x509" + ec +
            "-days 2 -subj /CN=ca -keyout ca.key "
            "-out ca.crt 2>/dev/null && openssl req" +
            ec +
            "-subj /CN=tsa -keyout tsa.key "
            "-out tsa.csr 2>/dev/null && openssl x509 -req -in tsa.csr -CA ca.crt -CAkey ca.key "
            "-CAcreateserial -days 2 -extfile ext.cnf -out tsa.crt 2>/dev/null"),
        0);
  }
  std::filesystem::path ca() const { return dir_ / "ca.crt"; }
  // The TimeStampResp for a request openssl makes for `message` (`digest_option`: -sha256, or
  // one this TSA does not accept).
  Bytes token(const Bytes& message, const std::string& digest_option = "-sha256") {
    write(dir_ / "m.bin", message);
    EXPECT_EQ(test::run("cd " + dir_.string() + " && openssl ts -query -data m.bin " +
                        digest_option + " -cert -no_nonce -out q.tsq 2>/dev/null"),
              0);
    return answer();
  }
  // The TimeStampResp `openssl ts -reply` gives for a TimeStampReq (DER).
  Bytes reply(const Bytes& request) {
    write(dir_ / "q.tsq", request);
    return answer();
  }

 private:
  static void write(const std::filesystem::path& file, const Bytes& b) {
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  Bytes answer() {
    EXPECT_EQ(test::run("cd " + dir_.string() +
                        " && openssl ts -reply -config tsa.cnf -queryfile q.tsq -signer tsa.crt "
                        "-inkey tsa.key -out r.tsr 2>/dev/null"),
              0);
    std::ifstream in(dir_ / "r.tsr", std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::filesystem::path dir_;
};

}  // namespace vigil::test
