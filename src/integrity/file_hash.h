// SHA-256 of files and byte ranges (libsodium). Segments are hashed when they close; the hash is
// what the integrity chain and `vigil check --hash` build on.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

namespace vigil {

using Sha256 = std::array<uint8_t, 32>;

// Hashes the first `length` bytes of `file` (the whole file when length is UINT64_MAX).
// Throws Error(kNotFound / kDataLoss) naming the file.
Sha256 sha256_file(const std::filesystem::path& file, uint64_t length = UINT64_MAX);
std::string to_hex(const Sha256& h);

}  // namespace vigil
