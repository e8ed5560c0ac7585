// One error type for vigil, with canonical codes (after Moonfire NVR / gRPC) so that the HTTP
// layer can map codes to statuses in one place. Context is prepended at each hop:
//   throw Error(ErrorCode::kUnavailable, "connect") ... catch (Error& e) { throw e.wrap("camera front"); }
// Exceptions are used at I/O boundaries; parsers of untrusted bytes return results instead.
#pragma once

#include <stdexcept>
#include <string>

namespace vigil {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kUnauthenticated,
  kFailedPrecondition,
  kResourceExhausted,  // e.g. disk full
  kUnavailable,        // e.g. camera unreachable
  kDataLoss,           // e.g. a corrupt file
  kInternal,
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }
  // A copy of this error with "context: " in front of the message.
  Error wrap(const std::string& context) const {
    return Error(code_, context + ": " + what());
  }

 private:
  ErrorCode code_;
};

// strerror for errno values, thread-safe.
std::string errno_string(int err);

}  // namespace vigil
