#include "archive/object_reader.h"

namespace vigil::archive {
namespace {

// Clients kept between reads: playback of a few cameras at once; more are made when needed.
constexpr size_t kIdleClients = 4;

}  // namespace

std::string ObjectReader::read(const std::string& key, uint64_t offset, uint64_t length) {
  std::unique_ptr<S3Client> client;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      client = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!client) client = std::make_unique<S3Client>(config_);
  std::string bytes = client->get_range(key, offset, length);
  std::lock_guard lock(mu_);
  if (idle_.size() < kIdleClients) idle_.push_back(std::move(client));
  return bytes;
}

}  // namespace vigil::archive
