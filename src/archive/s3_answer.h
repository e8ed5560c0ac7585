// What an S3-compatible store answers in XML, read as untrusted input (core/xml.h: bounded, no
// DTD, no network): the upload id of a new multipart upload, the outcome of completing one
// (S3 may answer 200 and still report an error in the body) and the code and message of an
// error. The request body that completes a multipart upload is built with libxml2's tree API.
// Nothing here throws; a parse that fails says why in `error`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::archive {

struct S3ErrorBody {
  std::string code;     // e.g. "NoSuchKey", "SignatureDoesNotMatch", "SlowDown"
  std::string message;  // the store's words, bounded
};

// An <Error> document's code and message; nullopt when `bytes` is not one.
std::optional<S3ErrorBody> parse_s3_error(std::string_view bytes);

// <InitiateMultipartUploadResult>'s UploadId; nullopt (with `error`) when there is none or it is
// not a usable id (empty, over 1024 bytes, or with bytes outside printable ASCII).
std::optional<std::string> parse_upload_id(std::string_view bytes, std::string& error);

// Whether <CompleteMultipartUploadResult> came back (rather than an <Error>, which `error` then
// describes).
bool parse_complete_multipart(std::string_view bytes, std::string& error);

struct CompletedPart {
  int number = 0;
  std::string etag;  // as the store answered it, quotes included
};
// The <CompleteMultipartUpload> request body listing the parts in order.
std::string complete_multipart_body(const std::vector<CompletedPart>& parts);

}  // namespace vigil::archive
