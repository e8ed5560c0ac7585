// Reads of archived footage for request handlers (playback): byte ranges of objects, from any
// number of threads at once. S3Client is one curl handle, for one thread at a time, so clients
// are lent from a pool (a connection each, kept between requests) and made as more threads read.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "archive/s3_client.h"

namespace vigil::archive {

class ObjectReader {
 public:
  explicit ObjectReader(S3Config config) : config_(std::move(config)) {}

  // `length` bytes of `key` from `offset`; throws as S3Client::get_range.
  std::string read(const std::string& key, uint64_t offset, uint64_t length);
  // Copies the whole of `key` into the file `to` (created or truncated), a range of part_size
  // at a time; kNotFound when there is no such object, kDataLoss when it ends early.
  void download(const std::string& key, const std::filesystem::path& to);

  const S3Config& config() const { return config_; }

 private:
  // A client lent for one request and given back when it goes.
  std::unique_ptr<S3Client> lend();
  void give_back(std::unique_ptr<S3Client> client);

  const S3Config config_;
  std::mutex mu_;
  std::vector<std::unique_ptr<S3Client>> idle_;  // guarded by mu_
};

}  // namespace vigil::archive
