// libFuzzer target: the TOML configuration as vigil loads it (parse_config), which also reads
// what the API writes back when an admin edits cameras and settings. A wrong file must be
// rejected with vigil::Error naming the key and the reason; anything else escaping (a
// toml::parse_error, std::regex_error, std::out_of_range...), a crash or a sanitizer report is a
// bug. toml++ is compiled into this target (header-only mode) so that its parser is fuzzed too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)vigil::parse_config(text, "fuzz.toml", "/var/lib/vigil");
  } catch (const vigil::Error&) {
    // Rejected with a reason: what the operator sees.
  }
  return 0;
}
