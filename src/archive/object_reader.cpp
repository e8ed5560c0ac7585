#include "archive/object_reader.h"

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "core/error.h"

namespace vigil::archive {
namespace {

// Clients kept between reads: playback of a few cameras at once; more are made when needed.
constexpr size_t kIdleClients = 4;

}  // namespace

std::unique_ptr<S3Client> ObjectReader::lend() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  return std::make_unique<S3Client>(config_);
}

void ObjectReader::give_back(std::unique_ptr<S3Client> client) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kIdleClients) idle_.push_back(std::move(client));
}

std::string ObjectReader::read(const std::string& key, uint64_t offset, uint64_t length) {
  auto client = lend();
  std::string bytes = client->get_range(key, offset, length);
  give_back(std::move(client));
  return bytes;
}

void ObjectReader::download(const std::string& key, const std::filesystem::path& to) {
  auto client = lend();
  const auto info = client->head(key);
  if (!info) {
    throw Error(ErrorCode::kNotFound, "the archive has no " + key + " in bucket " + config_.bucket);
  }
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  for (uint64_t at = 0; at < info->size;) {
    const std::string part =
        client->get_range(key, at, std::min<uint64_t>(config_.part_size, info->size - at));
    if (part.empty()) {
      throw Error(ErrorCode::kDataLoss, key + " in the archive ended at byte " +
                                            std::to_string(at) + " of " +
                                            std::to_string(info->size));
    }
    out.write(part.data(), static_cast<std::streamsize>(part.size()));
    at += part.size();
  }
  out.flush();
  if (!out) throw Error(ErrorCode::kUnavailable, "write " + to.string() + ": " + errno_string(errno));
  give_back(std::move(client));
}

}  // namespace vigil::archive
