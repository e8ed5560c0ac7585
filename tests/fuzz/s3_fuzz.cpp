// libFuzzer target: an S3-compatible store's XML answer as src/archive reads it (an error, a new
// multipart upload's id, a completed upload). None may throw, crash or leak; an upload id that is
// accepted must be one that can go into a URL's query unharmed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "archive/s3_answer.h"

using namespace vigil::archive;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto e = parse_s3_error(bytes)) {
    if (e->code.empty() || e->message.size() > 512) __builtin_trap();
  }
  std::string error;
  if (auto id = parse_upload_id(bytes, error)) {
    if (id->empty() || id->size() > 1024) __builtin_trap();
    for (const char c : *id) {
      if (c < 0x21 || c > 0x7e) __builtin_trap();
    }
  }
  (void)parse_complete_multipart(bytes, error);
  return 0;
}
