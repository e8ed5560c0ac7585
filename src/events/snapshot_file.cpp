#include "events/snapshot_file.h"

#include "core/durable_file.h"
#include "core/error.h"

namespace vigil {

std::string snapshot_relative_path(const std::string& camera_id, int64_t event_id) {
  return "snapshots/" + camera_id + "/" + std::to_string(event_id) + ".jpg";
}

void write_file_atomically(const std::filesystem::path& file, const std::vector<uint8_t>& bytes) {
  const std::filesystem::path dir = file.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::kUnavailable, "create " + dir.string() + ": " + ec.message());
  write_file_durably(file,
                     std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                     0644);
}

}  // namespace vigil
