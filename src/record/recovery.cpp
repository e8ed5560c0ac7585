#include "record/recovery.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/error.h"
#include "integrity/file_hash.h"
#include "record/bmff_scan.h"
#include "record/file_ops.h"
#include "record/fragment_index.h"
#include "record/segment_path.h"

namespace vigil {
namespace {

std::vector<Fragment> fragments_of(const BmffScan& scan) {
  std::vector<Fragment> out;
  Ticks90k start{0};
  for (const auto& f : scan.fragments) {
    out.push_back(Fragment{f.offset, f.size, start, f.duration});
    start += f.duration;
  }
  return out;
}

void truncate_and_sync(const std::filesystem::path& file, uint64_t length) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kDataLoss, file.string() + ": open: " + errno_string(errno));
  const bool ok = ::ftruncate(fd, static_cast<off_t>(length)) == 0 && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw Error(ErrorCode::kDataLoss, file.string() + ": cut back: " + errno_string(err));
}

// What the file says the row should be; nullopt when the file has no complete fragment.
std::optional<ClosedSegment> closed_from_file(const std::filesystem::path& file, WallTime start,
                                              const std::string& reason) {
  const BmffScan scan = scan_fragmented_mp4(file);
  if (!scan.has_init || scan.fragments.empty()) return std::nullopt;
  if (scan.file_bytes > scan.valid_bytes) truncate_and_sync(file, scan.valid_bytes);
  ClosedSegment c;
  c.media_duration = scan.media_duration();
  c.wall_end = start + to_wall(c.media_duration);
  c.bytes = scan.valid_bytes;
  c.init_bytes = scan.init_bytes;
  c.fragment_index = encode_fragment_index(fragments_of(scan));
  const Sha256 h = sha256_file(file, scan.valid_bytes);
  c.sha256.assign(h.begin(), h.end());
  c.close_reason = reason;
  return c;
}

// Durably (the directory synced) before the caller removes the row that named the file: a power
// cut in between must not leave a file no row names.
void remove_file(const std::filesystem::path& file) { remove_durably(FileOps::real(), file); }

// The closed row must match the file byte for byte in length and fragment for fragment.
std::string compare_row_to_file(const SegmentRow& row, const std::filesystem::path& file,
                                bool verify_hash) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return "file missing";
  if (size != row.bytes) {
    return "file has " + std::to_string(size) + " bytes, catalog says " + std::to_string(row.bytes);
  }
  const BmffScan scan = scan_fragmented_mp4(file);
  if (!scan.problem.empty()) return "file structure: " + scan.problem;
  const auto index = decode_fragment_index(row.fragment_index, row.init_bytes);
  if (!index) return "catalog fragment index is corrupt";
  if (scan.init_bytes != row.init_bytes) return "init part size differs from the catalog";
  if (index->size() != scan.fragments.size()) {
    return "file has " + std::to_string(scan.fragments.size()) + " fragments, catalog says " +
           std::to_string(index->size());
  }
  for (size_t i = 0; i < index->size(); ++i) {
    const Fragment& a = (*index)[i];
    const ScannedFragment& b = scan.fragments[i];
    if (a.offset != b.offset || a.size != b.size || a.duration != b.duration ||
        a.start != b.decode_start) {
      return "fragment " + std::to_string(i) + " differs from the catalog";
    }
  }
  if (scan.media_duration() != row.media_duration) return "media duration differs";
  if (verify_hash) {
    try {
      const Sha256 h = sha256_file(file, row.bytes);
      if (std::vector<uint8_t>(h.begin(), h.end()) != row.sha256) return "SHA-256 differs";
    } catch (const Error& e) {
      return e.what();
    }
  }
  return "";
}

}  // namespace

RecoveryReport recover_catalog(Catalog& catalog, const std::filesystem::path& data_dir) {
  RecoveryReport r;
  // Deletions first: their rows already said the footage is gone.
  for (const SegmentRow& row : catalog.segments_in_state(SegmentState::kDeleting)) {
    remove_file(data_dir / row.path);
    catalog.delete_segment_row(row.id);
    ++r.finished_deletes;
  }
  for (const SegmentRow& row : catalog.segments_in_state(SegmentState::kWriting)) {
    const std::filesystem::path file = data_dir / row.path;
    std::optional<ClosedSegment> c;
    try {
      std::error_code ec;
      const bool exists = std::filesystem::exists(file, ec);
      if (ec) throw Error(ErrorCode::kUnavailable, file.string() + ": " + ec.message());
      if (exists) c = closed_from_file(file, row.wall_start, "recovered");
    } catch (const Error& e) {
      r.notes.push_back(row.path + ": " + e.what());
    }
    if (c) {
      catalog.close_segment(row.id, *c);
      ++r.closed;
      r.notes.push_back(row.path + ": cut back to " + std::to_string(c->bytes) + " bytes (" +
                        std::to_string(to_wall(c->media_duration).count()) + " ms) and closed");
    } else {
      remove_file(file);
      catalog.delete_segment_row(row.id);
      ++r.removed_rows;
      r.notes.push_back(row.path + ": no complete fragment; removed");
    }
  }
  return r;
}

CheckReport check_catalog(Catalog& catalog, const std::filesystem::path& data_dir,
                          const CheckOptions& opt) {
  CheckReport report;
  if (opt.repair && opt.include_open) {
    // Segments a crash left open are finished exactly as `vigil serve` would at start.
    const RecoveryReport rr = recover_catalog(catalog, data_dir);
    for (const auto& note : rr.notes) report.issues.push_back(CheckIssue{note, "left open", true});
  }
  // Row by row and file by file: a year of footage is millions of rows, never all in memory.
  catalog.for_each_segment([&](const SegmentRow& row) {
    ++report.segments;
    const std::filesystem::path file = data_dir / row.path;
    if (row.state != SegmentState::kClosed) {
      if (!opt.include_open) return;
      report.issues.push_back(
          CheckIssue{row.path, std::string("left in state ") + segment_state_name(row.state)});
      return;
    }
    const std::string problem = compare_row_to_file(row, file, opt.verify_hashes);
    if (problem.empty()) return;
    CheckIssue issue{row.path, problem};
    if (opt.repair) {
      try {
        std::error_code ec;
        if (!std::filesystem::exists(file, ec) && !ec) {
          catalog.delete_segment_row(row.id);
          catalog.add_gap(row.camera_id, row.wall_start, row.wall_end, "segment file lost");
          issue.repaired = true;
        } else if (auto c = closed_from_file(file, row.wall_start, "repaired by check")) {
          catalog.close_segment(row.id, *c);
          issue.repaired = true;
        } else {
          remove_file(file);
          catalog.delete_segment_row(row.id);
          catalog.add_gap(row.camera_id, row.wall_start, row.wall_end, "segment file unreadable");
          issue.repaired = true;
        }
      } catch (const Error& e) {
        issue.problem += std::string("; repair failed: ") + e.what();
      }
    }
    report.issues.push_back(issue);
  });

  // Each camera's usage as the triggers kept it (catalog.h) against its rows.
  for (const auto& fix : catalog.check_usage(opt.repair)) {
    report.issues.push_back(CheckIssue{
        "camera " + fix.camera_id + " usage",
        "kept as " + std::to_string(fix.was.bytes) + " bytes in " +
            std::to_string(fix.was.segments) + " segment(s), the rows say " +
            std::to_string(fix.now.bytes) + " bytes in " + std::to_string(fix.now.segments),
        opt.repair});
  }

  // Each camera's runs as the triggers kept them (catalog.h) against its rows.
  for (const auto& fix : catalog.check_runs(opt.repair)) {
    report.issues.push_back(CheckIssue{
        "camera " + fix.camera_id + " runs",
        "kept as " + std::to_string(fix.kept) + " run(s) that differ from the " +
            std::to_string(fix.counted) + " the rows make",
        opt.repair});
  }

  // Files nobody points at: a crash between creating a file and its row, or a lost catalog.
  const std::filesystem::path root = data_dir / "recordings";
  std::error_code ec;
  if (std::filesystem::exists(root, ec)) {
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code fec;
      if (!it->is_regular_file(fec)) continue;
      ++report.files;
      const std::filesystem::path rel = it->path().lexically_relative(data_dir);
      if (catalog.has_segment_path(rel.generic_string())) continue;
      CheckIssue issue{rel.generic_string(), "file not in the catalog"};
      if (opt.repair) {
        try {
          const auto parsed = parse_segment_path(rel);
          std::optional<ClosedSegment> c;
          BmffScan scan;
          if (parsed) {
            scan = scan_fragmented_mp4(it->path());
            c = closed_from_file(it->path(), parsed->start, "adopted by check");
          }
          if (c) {
            NewSegment ns;
            ns.camera_id = parsed->camera_id;
            ns.path = rel.generic_string();
            ns.wall_start = parsed->start;
            ns.video_codec = "unknown";
            catalog.insert_closed_segment(ns, *c);
            issue.problem += "; adopted";
          } else {
            remove_file(it->path());
            issue.problem += "; no usable footage, removed";
          }
          issue.repaired = true;
        } catch (const Error& e) {
          issue.problem += std::string("; repair failed: ") + e.what();
        }
      }
      report.issues.push_back(issue);
    }
  }
  return report;
}

}  // namespace vigil
