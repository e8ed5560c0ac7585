// The archive tier's uploader (docs/design/cluster.md §5): closed segments that ended more than
// [archive] after_days ago are uploaded byte for byte to the object store, the catalog then
// records the object's key, and only then is the local file deleted. Order of one segment:
//   0. the file is hashed against the SHA-256 recorded in its row (an altered file stays here);
//   1. PUT (multipart above part_size), the stored size checked (S3Client::put_file);
//   2. the row gets archive_key (Catalog::set_archived): from now the object is the footage;
//   3. the local file is unlinked and its directory synced.
// A crash before 2 re-uploads the same key (a PUT replaces it); between 2 and 3 leaves a local
// copy that `vigil check --repair` removes. A row that retention marked for deletion while it
// was uploading is not archived, and the object is deleted again.
// The store being away never blocks recording: the thread ("archive", supervised) fails, is
// reported with what waits (status()), and tries again after a backoff; meanwhile the segments
// stay on the local disk under retention's usual rules.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "archive/s3_client.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"

namespace vigil::archive {

// The S3 client settings of an [archive] section.
S3Config s3_config(const ArchiveSettings& settings);

// The object key of a segment: the prefix, then its path under the data directory.
std::string object_key(const ArchiveSettings& settings, const SegmentRow& row);

struct ArchiveStatus {
  std::string store;       // "s3://bucket/prefix at endpoint", for people
  bool reachable = true;   // the last attempt reached the store
  std::string last_error;  // of the last failed attempt; "" after a success
  int64_t uploaded = 0;    // segments archived since start
  uint64_t uploaded_bytes = 0;
  Catalog::Backlog waiting;  // closed segments due for the archive and still here
  std::optional<WallTime> last_upload_at;
};

class Archiver {
 public:
  // `catalog` must outlive the Archiver.
  Archiver(Catalog& catalog, std::filesystem::path data_dir, ArchiveSettings settings,
           const Clock& clock, ComponentRegistry* components = nullptr);
  ~Archiver();
  Archiver(const Archiver&) = delete;
  Archiver& operator=(const Archiver&) = delete;

  // Archives up to `limit` due segments, oldest first; returns how many. Throws Error when the
  // store fails (what was archived before stays archived). Not concurrently with itself.
  int run_once(int limit = 32);

  // Runs run_once on a thread of its own ("archive"): at once while segments are due, then
  // every `period`; after a failure, again after a backoff.
  void start(std::chrono::milliseconds period);
  void stop();

  ArchiveStatus status() const;

 private:
  bool archive_one(const SegmentRow& row);
  void note_failure(const std::string& what);

  Catalog& catalog_;
  const std::filesystem::path data_dir_;
  const ArchiveSettings settings_;
  const Clock& clock_;
  S3Client s3_;  // the uploading thread's (one client per thread)
  // Segments whose file is missing or altered: logged once, then stepped over until restart
  // (hashing a large altered file every pass would cost more than the uploads).
  std::set<int64_t> passed_over_;

  mutable std::mutex mu_;
  ArchiveStatus status_;  // guarded by mu_

  SupervisedThread thread_;
};

}  // namespace vigil::archive
