#include "integrity/file_hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace vigil {

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "SHA-256 unavailable in libcrypto");
  }
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }

void Sha256Hasher::update(const uint8_t* data, size_t size) {
  EVP_DigestUpdate(ctx_, data, size);
}

Sha256 Sha256Hasher::finish() {
  Sha256 out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out.data(), &len);
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);  // ready for the next message
  return out;
}

Sha256 sha256_of(const uint8_t* data, size_t size) {
  Sha256Hasher h;
  h.update(data, size);
  return h.finish();
}

Sha256 sha256_file(const std::filesystem::path& file, uint64_t length) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kDataLoss,
                file.string() + ": open for hashing: " + errno_string(err));
  }
  Sha256Hasher hasher;
  std::vector<unsigned char> buf(1 << 16);
  uint64_t left = length;
  while (left > 0) {
    const size_t want = left < buf.size() ? static_cast<size_t>(left) : buf.size();
    const ssize_t n = ::read(fd, buf.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kDataLoss, file.string() + ": read for hashing: " + errno_string(err));
    }
    if (n == 0) break;
    hasher.update(buf.data(), static_cast<size_t>(n));
    left -= static_cast<uint64_t>(n);
  }
  ::close(fd);
  if (length != UINT64_MAX && left != 0) {
    throw Error(ErrorCode::kDataLoss, file.string() + ": shorter than the " +
                                          std::to_string(length) + " bytes to hash");
  }
  return hasher.finish();
}

namespace {

// One read of the file's first parts: each part's SHA-256 and, with `whole`, the SHA-256 of all
// of them together.
std::vector<Sha256> hash_parts(const std::filesystem::path& file, const std::vector<uint64_t>& sizes,
                               Sha256* whole) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kDataLoss,
                file.string() + ": open for hashing: " + errno_string(err));
  }
  std::vector<Sha256> out;
  out.reserve(sizes.size());
  Sha256Hasher hasher;
  Sha256Hasher all;
  std::vector<unsigned char> buf(1 << 16);
  for (const uint64_t size : sizes) {
    uint64_t left = size;
    while (left > 0) {
      const size_t want = left < buf.size() ? static_cast<size_t>(left) : buf.size();
      const ssize_t n = ::read(fd, buf.data(), want);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : 0;
        ::close(fd);
        throw Error(ErrorCode::kDataLoss,
                    file.string() + ": read for hashing: " +
                        (err ? errno_string(err) : std::string("shorter than its parts")));
      }
      hasher.update(buf.data(), static_cast<size_t>(n));
      if (whole) all.update(buf.data(), static_cast<size_t>(n));
      left -= static_cast<uint64_t>(n);
    }
    out.push_back(hasher.finish());
  }
  ::close(fd);
  if (whole) *whole = all.finish();
  return out;
}

}  // namespace

std::vector<Sha256> sha256_file_parts(const std::filesystem::path& file,
                                      const std::vector<uint64_t>& sizes) {
  return hash_parts(file, sizes, nullptr);
}

Sha256 part_list_hash(const std::vector<Sha256>& parts) {
  Sha256Hasher h;
  for (const Sha256& p : parts) h.update(p.data(), p.size());
  return h.finish();
}

bool segment_hash_matches(const std::filesystem::path& file, const std::vector<uint64_t>& sizes,
                          const std::vector<uint8_t>& recorded) {
  Sha256 whole{};
  const std::vector<Sha256> parts = hash_parts(file, sizes, &whole);
  auto same = [&](const Sha256& h) {
    return std::equal(h.begin(), h.end(), recorded.begin(), recorded.end());
  };
  return same(part_list_hash(parts)) || same(whole);
}

std::string to_hex(const Sha256& h) { return hex(h.data(), h.size()); }

std::string hex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 15];
  }
  return s;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = digit(text[2 * i]), lo = digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace vigil
