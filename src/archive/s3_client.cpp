#include "archive/s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <vector>

#include "archive/s3_answer.h"
#include "core/error.h"
#include "core/text.h"

namespace vigil::archive {

namespace {

// A non-range answer is an XML document of a few hundred bytes; more is not read.
constexpr size_t kMaxAnswerBody = 1024 * 1024;

std::string hex(const unsigned char* d, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned i = 0; i < n; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 15];
  }
  return out;
}

struct Digests {
  std::string sha256_hex;
  std::string md5_hex;
  std::string md5_base64;
};

Digests digest(std::string_view bytes) {
  unsigned char sha[EVP_MAX_MD_SIZE], md5[EVP_MAX_MD_SIZE];
  unsigned sha_len = 0, md5_len = 0;
  if (!EVP_Digest(bytes.data(), bytes.size(), sha, &sha_len, EVP_sha256(), nullptr) ||
      !EVP_Digest(bytes.data(), bytes.size(), md5, &md5_len, EVP_md5(), nullptr)) {
    throw Error(ErrorCode::kInternal, "OpenSSL could not hash an upload");
  }
  Digests d{hex(sha, sha_len), hex(md5, md5_len), {}};
  std::string b64(4 * ((md5_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), md5,
                                static_cast<int>(md5_len));
  b64.resize(static_cast<size_t>(n));
  d.md5_base64 = std::move(b64);
  return d;
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Reads [offset, offset + length) of `file`; throws with the file's name.
std::string read_part(std::ifstream& in, const std::filesystem::path& file, uint64_t offset,
                      uint64_t length) {
  std::string buf(length, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(buf.data(), static_cast<std::streamsize>(length));
  if (static_cast<uint64_t>(in.gcount()) != length) {
    throw Error(ErrorCode::kDataLoss, "cannot read " + std::to_string(length) + " bytes at " +
                                          std::to_string(offset) + " of " + file.string());
  }
  return buf;
}

}  // namespace

std::string s3_uri_encode(const std::string& key, bool keep_slash) {
  return percent_encode(key, keep_slash ? "/" : "");
}

struct S3Client::Curl {
  CURL* handle = nullptr;
  Curl() {
    // curl_global_init is not thread-safe before 7.84; once per process is what it asks for.
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    handle = curl_easy_init();
    if (!handle) throw Error(ErrorCode::kInternal, "curl_easy_init failed");
  }
  ~Curl() { curl_easy_cleanup(handle); }
};

struct S3Client::Request {
  const char* method = "GET";
  std::string url;
  std::string_view body;             // sent as is (PUT, POST)
  std::vector<std::string> headers;  // "Name: value"
  size_t max_body = kMaxAnswerBody;  // what is kept of the answer
  size_t expected_body = 0;          // what a range read will answer
  std::string what;                  // "PUT bucket/key", for errors
};

struct S3Client::Response {
  long status = 0;
  std::string sent_md5_hex;  // of the body sent, for comparing with the ETag answered
  std::string body;
  std::string etag;
  uint64_t content_length = 0;
  bool has_length = false;
};

S3Client::S3Client(S3Config config) : config_(std::move(config)), curl_(std::make_unique<Curl>()) {
  while (!config_.endpoint.empty() && config_.endpoint.back() == '/') config_.endpoint.pop_back();
  if (config_.endpoint.rfind("http://", 0) != 0 && config_.endpoint.rfind("https://", 0) != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "S3 endpoint '" + config_.endpoint + "' is not an http:// or https:// URL");
  }
  // The endpoint appears in error messages and logs; keys belong in access_key and secret_key.
  const std::string after_scheme = config_.endpoint.substr(config_.endpoint.find("//") + 2);
  if (after_scheme.substr(0, after_scheme.find('/')).find('@') != std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument,
                "S3 endpoint has credentials in it: give them as access_key and secret_key");
  }
  if (config_.bucket.empty()) throw Error(ErrorCode::kInvalidArgument, "S3 bucket is empty");
  if (config_.region.empty() || config_.region.find(':') != std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, "S3 region '" + config_.region + "' is not usable");
  }
  config_.part_size = std::max<uint64_t>(config_.part_size, 5 * 1024 * 1024);
}

S3Client::~S3Client() = default;

std::string S3Client::url(const std::string& key, const std::string& query) const {
  std::string u = config_.endpoint + "/" + s3_uri_encode(config_.bucket, false) + "/" +
                  s3_uri_encode(key);
  if (!query.empty()) u += "?" + query;
  return u;
}

S3Client::Response S3Client::perform(const Request& r) {
  CURL* h = curl_->handle;
  curl_easy_reset(h);  // keeps the connection, forgets the last request's options
  Response resp;
  // A range read knows its size: one allocation rather than a doubling string's copies (after a
  // large upload glibc serves these from the heap, where each growth faults in fresh pages).
  resp.body.reserve(r.expected_body);
  struct Sink {
    Response* resp;
    size_t max;
  } sink{&resp, r.max_body};
  const auto write = +[](char* p, size_t size, size_t n, void* ud) -> size_t {
    auto* s = static_cast<Sink*>(ud);
    const size_t len = size * n;
    const size_t room = s->max - std::min(s->max, s->resp->body.size());
    s->resp->body.append(p, std::min(len, room));
    return len;
  };
  const auto header = +[](char* p, size_t size, size_t n, void* ud) -> size_t {
    auto* resp = static_cast<Response*>(ud);
    const std::string_view line(p, size * n);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
      });
      std::string value(line.substr(colon + 1));
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.pop_back();
      if (name == "etag") resp->etag = unquote(value.substr(0, 256));
      if (name == "content-length") {
        try {
          resp->content_length = std::stoull(value);
          resp->has_length = true;
        } catch (const std::exception&) {
          resp->has_length = false;
        }
      }
    }
    return size * n;
  };

  const Digests d = digest(r.body);
  resp.sent_md5_hex = d.md5_hex;
  curl_slist* list = nullptr;
  std::vector<std::string> headers = r.headers;
  // The signed payload hash; libcurl signs what this header says (it does not hash the body).
  headers.push_back("x-amz-content-sha256: " + d.sha256_hex);
  if (!r.body.empty()) headers.push_back("Content-MD5: " + d.md5_base64);
  const bool typed = std::any_of(headers.begin(), headers.end(), [](const std::string& x) {
    return x.rfind("Content-Type:", 0) == 0;
  });
  if (!r.body.empty() && !typed) headers.push_back("Content-Type: application/octet-stream");
  headers.push_back("Expect:");  // no 100-continue round trip per part
  for (const std::string& hline : headers) list = curl_slist_append(list, hline.c_str());
  const std::string sigv4 = "aws:amz:" + config_.region + ":s3";

  curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, config_.access_key.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, config_.secret_key.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
  if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
  const std::string_view method(r.method);
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT" || method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method);
  } else if (method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method);
  }
  const CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    throw Error(ErrorCode::kUnavailable,
                r.what + " at " + config_.endpoint + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

namespace {
// The error an answer stands for, with S3's code and message when the body has them.
Error refusal(const std::string& what, long status, const std::string& body) {
  std::string detail = "HTTP " + std::to_string(status);
  if (auto e = parse_s3_error(body)) {
    detail += " " + e->code;
    if (!e->message.empty()) detail += " (" + e->message + ")";
  }
  ErrorCode code = ErrorCode::kFailedPrecondition;
  if (status >= 500 || status == 429) code = ErrorCode::kUnavailable;
  if (status == 401 || status == 403) code = ErrorCode::kPermissionDenied;
  if (status == 404) code = ErrorCode::kNotFound;
  return Error(code, what + ": " + detail);
}
}  // namespace

ObjectInfo S3Client::stored(const std::string& key, uint64_t size, const std::string& what) {
  const auto info = head(key);
  if (!info || info->size != size) {
    throw Error(ErrorCode::kDataLoss,
                what + ": the store holds " +
                    (info ? std::to_string(info->size) + " bytes" : std::string("no object")) +
                    " after " + std::to_string(size) + " were sent");
  }
  return *info;
}

ObjectInfo S3Client::put_file(const std::string& key, const std::filesystem::path& file) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) {
    throw Error(ErrorCode::kNotFound, "cannot archive " + file.string() + ": " + ec.message());
  }
  if (size > config_.part_size) return put_multipart(key, file, size);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot open " + file.string());
  const std::string bytes = read_part(in, file, 0, size);
  Request r;
  r.method = "PUT";
  r.url = url(key);
  r.body = bytes;
  r.what = "PUT " + config_.bucket + "/" + key;
  const Response resp = perform(r);
  if (resp.status != 200) throw refusal(r.what, resp.status, resp.body);
  if (config_.etag_is_md5 && resp.etag != resp.sent_md5_hex) {
    throw Error(ErrorCode::kDataLoss, r.what + ": the store kept other bytes (ETag " + resp.etag +
                                          ", sent MD5 " + resp.sent_md5_hex + ")");
  }
  return stored(key, size, r.what);
}

ObjectInfo S3Client::put_multipart(const std::string& key, const std::filesystem::path& file,
                                   uint64_t size) {
  const std::string what = "multipart upload of " + config_.bucket + "/" + key;
  const uint64_t parts = (size + config_.part_size - 1) / config_.part_size;
  if (parts > 10000) {
    throw Error(ErrorCode::kInvalidArgument,
                what + ": " + std::to_string(parts) + " parts of part_size (S3 takes 10000)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot open " + file.string());

  Request start;
  start.method = "POST";
  // "uploads=" rather than "uploads": the canonical query string SigV4 signs has the '='.
  start.url = url(key, "uploads=");
  start.what = "start " + what;
  const Response started = perform(start);
  if (started.status != 200) throw refusal(start.what, started.status, started.body);
  std::string error;
  const auto upload_id = parse_upload_id(started.body, error);
  if (!upload_id) throw Error(ErrorCode::kFailedPrecondition, start.what + ": " + error);
  const std::string id_query = "uploadId=" + s3_uri_encode(*upload_id, false);

  std::vector<CompletedPart> done;
  try {
    for (uint64_t i = 0; i < parts; ++i) {
      const uint64_t offset = i * config_.part_size;
      const std::string bytes =
          read_part(in, file, offset, std::min(config_.part_size, size - offset));
      Request part;
      part.method = "PUT";
      // Query parameters in the order SigV4's canonical form sorts them.
      part.url = url(key, "partNumber=" + std::to_string(i + 1) + "&" + id_query);
      part.body = bytes;
      part.what = "part " + std::to_string(i + 1) + " of " + std::to_string(parts) + " of the " +
                  what;
      const Response resp = perform(part);
      if (resp.status != 200) throw refusal(part.what, resp.status, resp.body);
      if (config_.etag_is_md5 && resp.etag != resp.sent_md5_hex) {
        throw Error(ErrorCode::kDataLoss, part.what + ": the store kept other bytes (ETag " +
                                              resp.etag + ", sent MD5 " + resp.sent_md5_hex + ")");
      }
      done.push_back({static_cast<int>(i + 1), "\"" + resp.etag + "\""});
    }
    Request complete;
    complete.method = "POST";
    complete.url = url(key, id_query);
    const std::string body = complete_multipart_body(done);
    complete.body = body;
    complete.headers.push_back("Content-Type: application/xml");
    complete.what = "complete " + what;
    const Response resp = perform(complete);
    if (resp.status != 200) throw refusal(complete.what, resp.status, resp.body);
    if (!parse_complete_multipart(resp.body, error)) {
      throw Error(ErrorCode::kFailedPrecondition, complete.what + ": " + error);
    }
  } catch (const Error&) {
    // Parts the store already holds cost money until the upload is aborted.
    Request abort;
    abort.method = "DELETE";
    abort.url = url(key, id_query);
    abort.what = "abort " + what;
    try {
      perform(abort);
    } catch (const Error&) {
      // The store is away; its own lifecycle rules remove abandoned uploads.
    }
    throw;
  }
  return stored(key, size, what);
}

std::string S3Client::get_range(const std::string& key, uint64_t offset, uint64_t length) {
  if (length == 0) return {};
  Request r;
  r.url = url(key);
  r.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" +
                      std::to_string(offset + length - 1));
  r.max_body = length;
  r.expected_body = length;
  r.what = "GET " + config_.bucket + "/" + key + " bytes " + std::to_string(offset) + "+" +
           std::to_string(length);
  Response resp = perform(r);
  if (resp.status == 206) return std::move(resp.body);
  // A store that ignores Range answers the whole object: the wanted bytes are its first ones
  // only when the range started at 0.
  if (resp.status == 200 && offset == 0) return std::move(resp.body);
  if (resp.status == 200) {
    throw Error(ErrorCode::kFailedPrecondition, r.what + ": the store ignored the byte range");
  }
  throw refusal(r.what, resp.status, resp.body);
}

std::optional<ObjectInfo> S3Client::head(const std::string& key) {
  Request r;
  r.method = "HEAD";
  r.url = url(key);
  r.what = "HEAD " + config_.bucket + "/" + key;
  const Response resp = perform(r);
  if (resp.status == 404) return std::nullopt;
  if (resp.status != 200) throw refusal(r.what, resp.status, resp.body);
  if (!resp.has_length) {
    throw Error(ErrorCode::kFailedPrecondition, r.what + ": the answer has no Content-Length");
  }
  return ObjectInfo{resp.content_length, resp.etag};
}

void S3Client::remove(const std::string& key) {
  Request r;
  r.method = "DELETE";
  r.url = url(key);
  r.what = "DELETE " + config_.bucket + "/" + key;
  const Response resp = perform(r);
  if (resp.status == 204 || resp.status == 200 || resp.status == 404) return;
  throw refusal(r.what, resp.status, resp.body);
}

}  // namespace vigil::archive
