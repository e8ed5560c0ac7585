// An S3-compatible object store (AWS, MinIO, Ceph RGW, Backblaze B2, ...) as the archive tier
// needs it: put a closed segment byte for byte, read a byte range back for playback, look an
// object up, delete it. libcurl does the HTTP(S) and signs every request with its built-in AWS
// Signature V4 (CURLOPT_AWS_SIGV4); the payload's SHA-256 is signed (x-amz-content-sha256) and
// its MD5 sent (Content-MD5), so a store that received other bytes refuses them.
//
// One client per thread: it keeps one curl handle (and so its connection) between requests.
// Failures throw vigil::Error with the method, bucket and key in the message:
// kUnavailable (no answer, 5xx: try again later), kNotFound, kPermissionDenied (403: keys or
// policy), kDataLoss (the store kept other bytes than were sent), kFailedPrecondition (any
// other refusal, with S3's own code and message).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace vigil::archive {

struct S3Config {
  // Scheme, host and port: "https://s3.eu-central-1.amazonaws.com", "http://127.0.0.1:9000".
  std::string endpoint;
  std::string region = "us-east-1";
  // Addressed path-style (endpoint/bucket/key), which every S3-compatible store accepts.
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  // Each request's whole exchange must end within this (a part of part_size included).
  std::chrono::milliseconds timeout{120000};
  // Files larger than this go up as a multipart upload in parts of this size (S3: at least
  // 5 MiB, except the last part; at most 10000 parts).
  uint64_t part_size = 16 * 1024 * 1024;
  // Whether the store answers an upload's ETag as the MD5 of the bytes it kept (plain S3, MinIO,
  // Ceph; not AWS buckets encrypted with SSE-KMS), which is then compared with what was sent.
  bool etag_is_md5 = true;
  // A PEM file of the CA that signed the store's certificate; empty: the system's trust store.
  std::filesystem::path ca_file;
};

struct ObjectInfo {
  uint64_t size = 0;
  std::string etag;  // without quotes
};

class S3Client {
 public:
  explicit S3Client(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Uploads `file` as `key`: one PUT up to part_size, a multipart upload above (aborted again if
  // a part fails, so the store keeps no half object). Afterwards the object's size is checked.
  ObjectInfo put_file(const std::string& key, const std::filesystem::path& file);
  // `length` bytes from `offset` (fewer at the object's end).
  std::string get_range(const std::string& key, uint64_t offset, uint64_t length);
  // nullopt when there is no such object.
  std::optional<ObjectInfo> head(const std::string& key);
  // Deletes `key`; an object that is already gone is not an error.
  void remove(const std::string& key);

  const S3Config& config() const { return config_; }

 private:
  struct Curl;
  struct Response;
  struct Request;
  Response perform(const Request& request);
  std::string url(const std::string& key, const std::string& query = {}) const;
  ObjectInfo put_multipart(const std::string& key, const std::filesystem::path& file,
                           uint64_t size);
  // The object as the store holds it after an upload of `size` bytes; kDataLoss otherwise.
  ObjectInfo stored(const std::string& key, uint64_t size, const std::string& what);

  S3Config config_;
  std::unique_ptr<Curl> curl_;
};

// A key as it appears in a URL path: every byte but A-Z a-z 0-9 - _ . ~ and '/' percent-encoded
// (what S3 signs as the canonical URI).
std::string s3_uri_encode(const std::string& key, bool keep_slash = true);

}  // namespace vigil::archive
