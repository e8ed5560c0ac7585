// SHA-256 of segment bytes, incrementally (as a segment is written) or of a file. Each part of a
// segment (init part, every fragment) is hashed as it is written; those hashes are what the
// integrity chain and `vigil check --hash` build on.
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
  // The hash of everything updated since construction or the last finish(); starts over.
  Sha256 finish();

 private:
  evp_md_ctx_st* ctx_;
};

// The hash of bytes held in memory, in one call.
Sha256 sha256_of(const uint8_t* data, size_t size);
inline Sha256 sha256_of(std::string_view bytes) {
  return sha256_of(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}
inline Sha256 sha256_of(const std::vector<uint8_t>& bytes) {
  return sha256_of(bytes.data(), bytes.size());
}

// Hashes the first `length` bytes of `file` (the whole file when length is UINT64_MAX).
// Throws Error(kNotFound / kDataLoss) naming the file.
Sha256 sha256_file(const std::filesystem::path& file, uint64_t length = UINT64_MAX);
// The SHA-256 of each consecutive part of `file`, from its start, `sizes[i]` bytes each, in
// one pass (a segment's init part and fragments). Throws Error naming the file if it is shorter.
std::vector<Sha256> sha256_file_parts(const std::filesystem::path& file,
                                      const std::vector<uint64_t>& sizes);
// A segment's SHA-256 as its catalog row keeps it: the SHA-256 of its parts' SHA-256s in order
// (init part, then every fragment), a hash list. The recorder hashes every part anyway for the
// chain; hashing the whole file as well was a second SHA-256 pass over every recorded byte
// (~0.03 % of a core per 4 Mbit/s camera). Rows written before 2026-12-07 hold the SHA-256 of the
// whole file instead; segment_hash_matches accepts either.
Sha256 part_list_hash(const std::vector<Sha256>& parts);
// Whether the parts of `file` (`sizes` as for sha256_file_parts) still hash to a segment row's
// recorded SHA-256, in either form above. One read of the file. Throws Error like
// sha256_file_parts.
bool segment_hash_matches(const std::filesystem::path& file, const std::vector<uint64_t>& sizes,
                          const std::vector<uint8_t>& recorded);
std::string to_hex(const Sha256& h);
// Lowercase hex of any bytes; from_hex accepts either case, nullopt for anything else.
std::string hex(const uint8_t* data, size_t size);
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

}  // namespace vigil
