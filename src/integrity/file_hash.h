// SHA-256 of segment bytes, incrementally (as a segment is written) or of a file. Segments are
// hashed when they close; the hash is what the integrity chain and `vigil check --hash` build on.
//
// Why OpenSSL's libcrypto and not libsodium here: hashing every recorded byte is on the
// recorder's hot path. libsodium's portable SHA-256 runs at ~310 MB/s on these machines (0.16 %
// of a core per 4 Mbit/s camera, more than the whole remux); libcrypto uses the CPU's SHA
// extensions, ~1.7 GB/s. libsodium stays for signatures and password hashing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_md_ctx_st;

namespace vigil {

using Sha256 = std::array<uint8_t, 32>;

class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void update(const uint8_t* data, size_t size);
  Sha256 finish();  // once

 private:
  evp_md_ctx_st* ctx_;
};

// Hashes the first `length` bytes of `file` (the whole file when length is UINT64_MAX).
// Throws Error(kNotFound / kDataLoss) naming the file.
Sha256 sha256_file(const std::filesystem::path& file, uint64_t length = UINT64_MAX);
std::string to_hex(const Sha256& h);
// Lowercase hex of any bytes; from_hex accepts either case, nullopt for anything else.
std::string hex(const uint8_t* data, size_t size);
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

}  // namespace vigil
