#include "archive/archiver.h"

#include <spdlog/spdlog.h>

#include <system_error>
#include <utility>

#include "core/durable_file.h"
#include "core/error.h"
#include "integrity/file_hash.h"
#include "record/fragment_index.h"
#include "record/file_ops.h"

namespace vigil::archive {

S3Config s3_config(const ArchiveSettings& a) {
  S3Config c;
  c.endpoint = a.endpoint;
  c.region = a.region;
  c.bucket = a.bucket;
  c.access_key = a.access_key_id;
  c.secret_key = a.secret_access_key;
  c.part_size = a.part_size;
  c.etag_is_md5 = a.etag_is_md5;
  c.ca_file = a.ca_file;
  return c;
}

std::string object_key(const ArchiveSettings& settings, const SegmentRow& row) {
  return settings.prefix + row.path;
}

namespace {

// A failure is retried after 2 s, doubling up to 5 minutes: a store away for a day is asked
// ~300 times, and one back after a blip is used again within seconds.
constexpr RestartPolicy kRetry{std::chrono::seconds(2), std::chrono::minutes(5),
                               std::chrono::minutes(1)};

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

}  // namespace

Archiver::Archiver(Catalog& catalog, std::filesystem::path data_dir, ArchiveSettings settings,
                   const Clock& clock, ComponentRegistry* components)
    : catalog_(catalog),
      data_dir_(std::move(data_dir)),
      settings_(std::move(settings)),
      clock_(clock),
      s3_(s3_config(settings_)),
      thread_(components, {"archive", "", settings_.endpoint}, "archive", kRetry) {
  status_.store = "s3://" + settings_.bucket + "/" + settings_.prefix + " at " + settings_.endpoint;
}

Archiver::~Archiver() { stop(); }

bool Archiver::archive_one(const SegmentRow& row) {
  const std::filesystem::path file = data_dir_ / row.path;
  if (passed_over_.count(row.id)) return false;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    // Lost under the catalog's feet: not the archive's to judge (`vigil check` reports it).
    spdlog::warn("archive: {}: the file is missing; not archived", file.string());
    passed_over_.insert(row.id);
    return false;
  }
  // Only the bytes that were recorded go up: a file altered on this disk is neither laundered
  // into the archive nor deleted here (it is the evidence of the alteration); `vigil check`
  // reports it. One more read of the file, about a third of what the upload costs in CPU.
  if (!row.sha256.empty()) {
    const auto index = decode_fragment_index(row.fragment_index, row.init_bytes);
    if (!index || !segment_hash_matches(file, part_sizes(row.init_bytes, *index), row.sha256)) {
      spdlog::error("archive: {}: the file does not hash to what was recorded for it; not "
                    "archived (`vigil check` reports it)",
                    file.string());
      passed_over_.insert(row.id);
      return false;
    }
  }
  const std::string key = object_key(settings_, row);
  const ObjectInfo stored = s3_.put_file(key, file);
  if (!catalog_.set_archived(row.id, key)) {
    // Retention took it meanwhile: the object must not outlive the row that names it.
    spdlog::info("archive: {} was deleted while it was uploading; removing {} again", row.path, key);
    s3_.remove(key);
    return false;
  }
  // The object is the footage now. Readers that opened the file keep reading it.
  remove_durably(FileOps::real(), file);
  remove_empty_parents(file, data_dir_ / "recordings" / row.camera_id);
  std::lock_guard lock(mu_);
  ++status_.uploaded;
  status_.uploaded_bytes += stored.size;
  status_.last_upload_at = clock_.wall_now();
  return true;
}

int Archiver::run_once(int limit) {
  const WallTime due = clock_.wall_now() - settings_.after;
  int archived = 0;
  try {
    // Page by page past the ones passed over, which stay due (and first) for ever.
    std::optional<Catalog::SegmentOrder> after;
    while (archived < limit) {
      const auto rows = catalog_.archive_candidates(due, limit, after);
      for (const SegmentRow& row : rows) {
        if (archived == limit) break;
        after = Catalog::SegmentOrder{row.wall_start, row.id};
        if (archive_one(row)) {
          ++archived;
          spdlog::debug("archive: {} ({} bytes) is {}", row.path, row.bytes,
                        object_key(settings_, row));
        }
      }
      if (rows.size() < static_cast<size_t>(limit)) break;
    }
  } catch (const Error& e) {
    note_failure(e.what());
    throw;
  }
  const Catalog::Backlog waiting = catalog_.archive_backlog(due);
  std::lock_guard lock(mu_);
  if (!status_.reachable) {
    spdlog::info("archive: {} is reachable again", status_.store);
  }
  status_.reachable = true;
  status_.last_error.clear();
  status_.waiting = waiting;
  return archived;
}

void Archiver::note_failure(const std::string& what) {
  Catalog::Backlog waiting;
  try {
    waiting = catalog_.archive_backlog(clock_.wall_now() - settings_.after);
  } catch (const Error&) {
  }
  spdlog::warn("archive: {}: {} segment(s), {:.1f} MiB, wait on this disk (recording goes on; "
               "retention's rules apply to them meanwhile)",
               what, waiting.segments, mib(waiting.bytes));
  std::lock_guard lock(mu_);
  status_.reachable = false;
  status_.last_error = what;
  status_.waiting = waiting;
}

void Archiver::start(std::chrono::milliseconds period) {
  thread_.start([this, period] {
    do {
      // Straight on while a batch was full: a backlog drains at the store's speed.
      while (run_once() > 0 && thread_.wait_for(std::chrono::milliseconds(0))) {
      }
    } while (thread_.wait_for(period));
  });
}

void Archiver::stop() { thread_.stop(); }

ArchiveStatus Archiver::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

}  // namespace vigil::archive
