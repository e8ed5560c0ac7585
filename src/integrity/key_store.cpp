// See key_store.h: the signing keys under <data>/keys/, created, loaded and rotated.
#include "integrity/key_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace vigil {
namespace {

std::filesystem::path keys_dir(const std::filesystem::path& data_dir) { return data_dir / "keys"; }

std::filesystem::path seed_file(const std::filesystem::path& data_dir, int n) {
  return keys_dir(data_dir) / ("key-" + std::to_string(n) + ".seed");
}

std::filesystem::path pem_file(const std::filesystem::path& data_dir, int n) {
  return keys_dir(data_dir) / ("key-" + std::to_string(n) + ".pem");
}

// The numbers of the key-N.seed files, ascending.
std::vector<int> key_numbers(const std::filesystem::path& data_dir) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(keys_dir(data_dir), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("key-", 0) != 0 || e.path().extension() != ".seed") continue;
    const std::string digits = name.substr(4, name.size() - 4 - 5);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    if (digits.size() < 9) out.push_back(std::stoi(digits));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Written whole and fsync'd, created exclusively with `mode`: the file never exists, even for
// a moment, with looser permissions than it keeps.
void write_new_file(const std::filesystem::path& file, const void* data, size_t size, mode_t mode) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw Error(ErrorCode::kUnavailable, file.string() + ": create: " + errno_string(errno));
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kUnavailable, file.string() + ": write: " + errno_string(err));
    }
    done += static_cast<size_t>(n);
  }
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw Error(ErrorCode::kUnavailable, file.string() + ": sync: " + errno_string(err));
}

KeyPair create_key(const std::filesystem::path& data_dir, int n) {
  const auto dir = keys_dir(data_dir);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Error(ErrorCode::kUnavailable, dir.string() + ": create: " + errno_string(errno));
  }
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  const KeyPair k = key_pair_from_seed(seed);
  try {
    write_new_file(seed_file(data_dir, n), seed.data(), seed.size(), 0600);
  } catch (...) {
    sodium_memzero(seed.data(), seed.size());
    throw;
  }
  sodium_memzero(seed.data(), seed.size());
  const std::string pem = public_key_pem(k.public_key);
  write_new_file(pem_file(data_dir, n), pem.data(), pem.size(), 0644);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // the new names survive a power cut
    ::close(dfd);
  }
  return k;
}

KeyPair load_key(const std::filesystem::path& data_dir, int n) {
  const auto file = seed_file(data_dir, n);
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    throw Error(ErrorCode::kFailedPrecondition,
                file.string() + ": the private key is readable by others than its owner; "
                                "chmod 600 it (and consider it leaked)");
  }
  std::ifstream in(file, std::ios::binary);
  std::array<uint8_t, 32> seed{};
  if (!in.read(reinterpret_cast<char*>(seed.data()), seed.size()) || in.peek() != EOF) {
    throw Error(ErrorCode::kDataLoss, file.string() + ": not a 32-byte Ed25519 seed");
  }
  const KeyPair k = key_pair_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

}  // namespace

KeyPair load_or_create_signing_key(const std::filesystem::path& data_dir) {
  const auto numbers = key_numbers(data_dir);
  if (numbers.empty()) return create_key(data_dir, 1);
  return load_key(data_dir, numbers.back());
}

KeyPair rotate_signing_key(const std::filesystem::path& data_dir) {
  const auto numbers = key_numbers(data_dir);
  return create_key(data_dir, numbers.empty() ? 1 : numbers.back() + 1);
}

std::vector<StoredKey> stored_public_keys(const std::filesystem::path& data_dir) {
  std::vector<StoredKey> out;
  for (const int n : key_numbers(data_dir)) {
    const auto file = pem_file(data_dir, n);
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const auto key = parse_public_key_pem(text.str());
    if (!key) throw Error(ErrorCode::kDataLoss, file.string() + ": not an Ed25519 public key PEM");
    out.push_back(StoredKey{n, *key, key_fingerprint(*key), file});
  }
  return out;
}

}  // namespace vigil
