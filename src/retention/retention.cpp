#include "retention/retention.h"

#include <fcntl.h>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

#include "core/durable_file.h"
#include "core/error.h"

namespace vigil {
namespace {

// Room for SQLite to mark and delete rows (a few 4 KiB WAL pages each) on a full disk.
constexpr uint64_t kReserveBytes = 1 << 20;

// Bytes of the clip and evidence exports kept in <data>/exports (serve/export.h). They live in
// the free-space reserve (bounded by [exports] max_stored_bytes, at most min_free_space) and
// expire on their own, so the free-space rule counts them as free: otherwise an operator could
// make retention delete footage by exporting (docs/design/security.md, "Exports are bounded").
uint64_t export_bytes(const std::filesystem::path& data_dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(data_dir / "exports", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code size_ec;
    const uint64_t n = it->is_regular_file(size_ec) ? it->file_size(size_ec) : 0;
    if (!size_ec) total += n;
  }
  return total;
}

}  // namespace

uint64_t StatvfsDiskSpace::free_bytes(const std::filesystem::path& path) const {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    throw Error(ErrorCode::kUnavailable, path.string() + ": statvfs: " + errno_string(errno));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t StatvfsDiskSpace::total_bytes(const std::filesystem::path& path) const {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    throw Error(ErrorCode::kUnavailable, path.string() + ": statvfs: " + errno_string(errno));
  }
  return static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
}

Retention::Retention(Catalog& catalog, std::filesystem::path data_dir, uint64_t min_free_bytes,
                     std::map<std::string, RetentionLimits> limits, const Clock& clock,
                     const DiskSpace& disk, ComponentRegistry* components)
    : catalog_(catalog),
      data_dir_(std::move(data_dir)),
      min_free_bytes_(min_free_bytes),
      limits_(std::move(limits)),
      clock_(clock),
      disk_(disk),
      reserve_(data_dir_ / "reserve.bin", kReserveBytes),
      thread_(components, {"retention", "", ""}, "retention") {
  if (!reserve_.ensure()) {
    spdlog::warn("retention: no room for the {} byte space reserve in {}", kReserveBytes,
                 data_dir_.string());
  }
}

void Retention::set_limits(std::map<std::string, RetentionLimits> limits) {
  std::lock_guard lock(pass_mu_);
  limits_ = std::move(limits);
}

bool Retention::mark_deleting(const SegmentRow& row) {
  try {
    return catalog_.mark_deleting_as_read(row);
  } catch (const Error& e) {
    // Disk so full that the catalog cannot record the deletion it needs to make room: give it
    // the reserve (recreated once space is free again).
    if (e.code() != ErrorCode::kResourceExhausted || !release_reserve()) throw;
    return catalog_.mark_deleting_as_read(row);
  }
}

bool Retention::release_reserve() {
  if (!reserve_.release()) return false;
  spdlog::warn("retention: the disk is full; released the {} byte space reserve so the catalog "
               "can be written",
               reserve_.bytes());
  return true;
}

Retention::~Retention() { stop(); }

bool Retention::delete_segment(const SegmentRow& row, const std::string& why,
                               RetentionPass& pass) {
  try {
    if (!mark_deleting(row)) {
      // Archived since it was read: a disk rule would delete footage that no longer takes
      // disk space. The caller's next read sees it as it is now.
      spdlog::debug("retention: {} was archived meanwhile; judged again", row.path);
      return true;
    }
    if (row.archived()) {
      // The object before the row: a failure leaves the row marked, and the next pass retries
      // (retry_archive_deletes). The local file may be there too (a crash between the upload's
      // commit and its unlink), and goes below.
      if (!remove_object_) {
        throw Error(ErrorCode::kFailedPrecondition,
                    row.path + " is archived as " + row.archive_key +
                        " but no [archive] store is configured to delete it from");
      }
      remove_object_(row.archive_key);
    }
    const std::filesystem::path file = data_dir_ / row.path;
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
      throw Error(ErrorCode::kDataLoss, file.string() + ": unlink: " + errno_string(errno));
    }
    const int dfd = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    catalog_.delete_segment_row(row.id);
    remove_empty_parents(file, data_dir_ / "recordings" / row.camera_id);
  } catch (const Error& e) {
    spdlog::error("retention: camera {}: {}", row.camera_id, e.what());
    return false;
  }
  ++pass.deleted;
  pass.bytes_freed += row.bytes;
  pass.reasons.push_back(row.camera_id + " " + row.path + ": " + why);
  spdlog::info("retention: deleted {} ({} bytes): {}", row.path, row.bytes, why);
  return true;
}

void Retention::retry_archive_deletes(RetentionPass& pass) {
  for (const SegmentRow& row : catalog_.segments_in_state(SegmentState::kDeleting)) {
    if (!row.archived()) continue;  // recovery finished those at start
    // One failure (the store is away) ends the attempt until the next pass.
    if (!delete_segment(row, "its deletion from the archive is retried", pass)) return;
  }
}

void Retention::set_events(EventStore& events,
                           std::map<std::string, EventFootagePolicy> cameras) {
  std::lock_guard lock(pass_mu_);
  events_ = &events;
  events_only_ = std::move(cameras);
}

void Retention::set_holds(HoldStore& holds) {
  std::lock_guard lock(pass_mu_);
  holds_ = &holds;
}

std::optional<Retention::HeldFull> Retention::held_full() const {
  std::lock_guard lock(held_full_mu_);
  return held_full_;
}

std::vector<SegmentRow> Retention::oldest_unheld(const std::string& camera, int limit,
                                                 const HeldFootage& held, bool local_only) {
  if (held.empty()) return catalog_.oldest_closed(camera, limit, local_only);
  std::vector<SegmentRow> out;
  WallTime from = wall_from_ms(std::numeric_limits<int64_t>::min());
  while (static_cast<int>(out.size()) < limit) {
    bool stepped = false;
    for (SegmentRow& row :
         catalog_.oldest_closed_from(camera, from, limit - static_cast<int>(out.size()),
                                     local_only)) {
      if (const auto until = held.held_until(camera, row.wall_start, row.wall_end)) {
        // Every segment starting before the held range ends overlaps it (a camera's segments
        // follow each other), so the next read starts there.
        from = std::max(*until, row.wall_start + WallDuration(1));
        stepped = true;
        break;
      }
      out.push_back(std::move(row));
    }
    if (!stepped) break;
  }
  return out;
}

RetentionPass Retention::run_once(bool emergency) {
  std::lock_guard lock(pass_mu_);
  RetentionPass pass;
  const WallTime now = clock_.wall_now();
  constexpr int kBatch = 64;
  const HeldFootage held = holds_ ? HeldFootage::load(*holds_) : HeldFootage();
  if (remove_object_) retry_archive_deletes(pass);

  // Events-only cameras: footage outside events goes first (the rows carry no blobs here; a
  // segment row is loaded only to delete it). Only what ended since the last pass is judged
  // (the catalog remembers up to when), so a pass costs what was recorded since, not the year
  // of event footage kept before it.
  for (const auto& [camera, policy] : events_only_) {
    const WallTime cutoff = now - policy.hold_back;
    const WallTime from = catalog_.events_judged_until(camera).value_or(wall_from_ms(0));
    if (from >= cutoff) continue;
    const auto spans = catalog_.spans_between(camera, from, cutoff);
    if (!spans.empty()) {
      const auto events = events_->between(camera, spans.front().wall_start - policy.post_roll,
                                           cutoff + policy.pre_roll);
      for (const int64_t id : segments_outside_events(spans, events, policy, cutoff)) {
        const auto row = catalog_.segment(id);
        if (!row || row->state != SegmentState::kClosed) continue;
        if (held.is_held(camera, row->wall_start, row->wall_end)) continue;
        if (!delete_segment(*row, "outside every event (record = \"events\")", pass)) {
          // An archived one failed (the store is away): its row stays marked and is retried;
          // the disk's rules below must still run.
          if (row->archived()) break;
          return pass;
        }
      }
    }
    // Segments still open at the cutoff end after it: the next pass sees them, as the spans
    // overlapping [cutoff, ...).
    catalog_.set_events_judged_until(camera, cutoff);
  }

  for (const auto& [camera, lim] : limits_) {
    if (lim.max_days && events_) {
      // Events go with their camera's footage; their snapshots after their rows.
      try {
        const WallTime cutoff = now - std::chrono::days(*lim.max_days);
        const auto keep = [&held, &camera = camera](WallTime start, WallTime end) {
          return held.is_held(camera, start, end);
        };
        for (const auto& rel : events_->delete_ended_before(camera, cutoff, keep)) {
          const std::filesystem::path file = data_dir_ / rel;
          if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
            spdlog::warn("retention: {}: unlink: {}", file.string(), errno_string(errno));
          }
        }
      } catch (const Error& e) {
        spdlog::error("retention: camera {}: events: {}", camera, e.what());
      }
    }
    if (lim.max_days) {
      const WallTime cutoff = now - std::chrono::days(*lim.max_days);
      // One row read when there is nothing to delete (every pass, on the camera's index);
      // batches while there is.
      int batch = 1;
      bool more = true;
      while (more) {
        more = false;
        for (const SegmentRow& row : oldest_unheld(camera, std::exchange(batch, kBatch), held)) {
          if (row.wall_end > cutoff) break;
          if (!delete_segment(row, "older than " + std::to_string(*lim.max_days) + " days", pass)) {
            // An archived one failed (the store is away; retried next pass): this camera's
            // old footage waits, the byte and disk rules below still run.
            if (row.archived()) {
              more = false;
              break;
            }
            return pass;
          }
          more = true;
        }
      }
    }
    if (lim.max_bytes) {
      uint64_t used = catalog_.usage(camera).bytes;
      while (used > *lim.max_bytes) {
        // Bytes on this disk: archived footage counts for max_days only.
        const auto rows = oldest_unheld(camera, kBatch, held, /*local_only=*/true);
        if (rows.empty()) break;
        for (const SegmentRow& row : rows) {
          if (used <= *lim.max_bytes) break;
          if (!delete_segment(row, "camera over its " + std::to_string(*lim.max_bytes) +
                                       " byte limit",
                              pass)) {
            return pass;
          }
          used -= std::min(used, row.bytes);
        }
      }
    }
  }

  // The file system's free space is shared by all cameras: delete the oldest footage overall.
  bool must_free = emergency;
  // While the disk is full of held footage the recorders open no file
  // (RecorderOptions::disk_held_full), so no failed write asks for an emergency pass: once a
  // hold is released, this pass deletes at least one segment to let them record again (unless
  // space was added meanwhile, which clears held_full below without deleting anything).
  const bool was_held_full = held_full().has_value();
  std::optional<HeldFull> held_full_now;
  std::optional<uint64_t> free_last;
  for (;;) {
    uint64_t free_now = 0;  // what the disk has free
    uint64_t counted_free = 0;  // the same, with the exports' bytes counted as free
    try {
      free_now = disk_.free_bytes(data_dir_);
      free_last = free_now;
      counted_free = free_now + export_bytes(data_dir_);
    } catch (const Error& e) {
      spdlog::error("retention: {}", e.what());
      break;
    }
    // After a write failed for lack of space, free at least one segment and enough to
    // recreate the reserve with room to spare: real space, exports or not.
    const bool room_again = free_now >= min_free_bytes_ + 2 * reserve_.bytes();
    if (counted_free >= min_free_bytes_ && (!must_free || (pass.deleted > 0 && room_again)) &&
        (!was_held_full || pass.deleted > 0 || room_again)) {
      break;
    }
    std::vector<SegmentRow> rows;
    if (held.empty()) {
      rows = catalog_.oldest_closed_any(1);
    } else {
      // The oldest unheld segment of each camera, and of those the oldest.
      for (const auto& camera : catalog_.cameras_with_segments()) {
        auto first = oldest_unheld(camera, 1, held, /*local_only=*/true);
        if (!first.empty() && (rows.empty() || first.front().wall_start < rows.front().wall_start)) {
          rows = std::move(first);
        }
      }
    }
    if (rows.empty()) {
      if (!held.empty()) {
        // Held footage is never deleted, not even for a full disk: recording stops (the
        // recorders fail with ENOSPC) and says why, rather than destroy evidence.
        HeldFull full{free_now, held.cameras()};
        spdlog::error("retention: only {} bytes free on {} and nothing left to delete but "
                      "footage under an evidence hold (cameras {}): recording will stop when the "
                      "disk is full; release a hold or add space",
                      free_now, data_dir_.string(), fmt::join(full.held_cameras, ", "));
        held_full_now = std::move(full);
      } else {
        spdlog::error("retention: only {} bytes free on {} and no closed footage left to delete",
                      free_now, data_dir_.string());
      }
      break;
    }
    const SegmentRow& row = rows.front();
    const auto lim = limits_.find(row.camera_id);
    if (lim != limits_.end() && lim->second.max_days &&
        row.wall_end > now - std::chrono::days(*lim->second.max_days)) {
      spdlog::warn("retention: disk nearly full ({} bytes free); deleting footage of camera {} "
                   "that its {}-day retention would have kept",
                   free_now, row.camera_id, *lim->second.max_days);
    }
    if (!delete_segment(row, must_free && free_now >= min_free_bytes_
                                 ? "a write failed for lack of space"
                                 : "keeping the minimum free disk space",
                        pass)) {
      break;
    }
  }
  std::vector<std::string> was_full;
  std::vector<std::string> now_full;
  uint64_t full_free = free_last.value_or(0);
  {
    // Kept between passes that do not need space (the recorders' retries bring emergency passes
    // that judge again) until a pass frees something or there is clearly room again.
    std::lock_guard held_lock(held_full_mu_);
    if (held_full_) was_full = held_full_->held_cameras;
    if (held_full_now) {
      held_full_ = std::move(held_full_now);
    } else if (pass.deleted > 0 ||
               (free_last && *free_last >= min_free_bytes_ + 2 * reserve_.bytes())) {
      held_full_.reset();
    }
    if (held_full_) {
      now_full = held_full_->held_cameras;
      full_free = held_full_->free_bytes;
    }
  }
  if (on_held_full_) {
    // held_cameras() is sorted (HeldFootage keeps a map), so the changes are set differences.
    std::vector<std::string> entered;
    std::vector<std::string> left;
    std::set_difference(now_full.begin(), now_full.end(), was_full.begin(), was_full.end(),
                        std::back_inserter(entered));
    std::set_difference(was_full.begin(), was_full.end(), now_full.begin(), now_full.end(),
                        std::back_inserter(left));
    for (const auto& camera : entered) on_held_full_(camera, true, full_free);
    for (const auto& camera : left) on_held_full_(camera, false, full_free);
  }
  if (!reserve_.present() && reserve_.ensure()) {
    spdlog::info("retention: space reserve of {} bytes restored", reserve_.bytes());
  }
  if (follow_footage_) {
    try {
      follow_footage_(held);
    } catch (const Error& e) {
      spdlog::error("retention: records that follow footage: {}", e.what());
    }
  }
  return pass;
}

void Retention::start(std::chrono::milliseconds period) {
  thread_.start([this, period] {
    while (thread_.wait_for(period)) run_once();
  });
}

void Retention::stop() { thread_.stop(); }

}  // namespace vigil
