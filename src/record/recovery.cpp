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

// What the file says the row should be, cut back to its first `keep` complete fragments;
// nullopt when none is left (the file is left as it is then). `cut` gets the media duration of
// the complete fragments cut off.
std::optional<ClosedSegment> closed_from_file(const std::filesystem::path& file, WallTime start,
                                              const std::string& reason, size_t keep = SIZE_MAX,
                                              Ticks90k* cut = nullptr) {
  const BmffScan scan = scan_fragmented_mp4(file);
  if (cut) *cut = Ticks90k(0);
  std::vector<Fragment> fragments = fragments_of(scan);
  if (fragments.size() > keep) {
    for (size_t i = keep; i < fragments.size(); ++i) {
      if (cut) *cut += fragments[i].duration;
    }
    fragments.resize(keep);
  }
  if (!scan.has_init || fragments.empty()) return std::nullopt;
  const uint64_t length = fragments.back().offset + fragments.back().size;
  if (scan.file_bytes > length) truncate_and_sync(file, length);
  ClosedSegment c;
  c.media_duration = fragments.back().start + fragments.back().duration;
  c.wall_end = start + to_wall(c.media_duration);
  c.bytes = length;
  c.init_bytes = scan.init_bytes;
  c.fragment_index = encode_fragment_index(fragments);
  const Sha256 h = part_list_hash(sha256_file_parts(file, part_sizes(scan.init_bytes, fragments)));
  c.sha256.assign(h.begin(), h.end());
  c.close_reason = reason;
  return c;
}

// A crash left `row` open. The camera's chain continues from its last durable link: fragments
// the file holds beyond the last one chained (synced, but the crash came before their chain row)
// are cut off with whatever was not written yet, and the loss becomes a kLost chain entry.
// Returns how many fragments to keep; SIZE_MAX for a camera recorded before the chain existed.
size_t chained_fragments(Catalog& catalog, const SegmentRow& row) {
  if (!catalog.chain_head(row.camera_id)) return SIZE_MAX;
  return catalog.chain_rows_of_segment(row.id).size();
}

void record_loss(Catalog& catalog, const SegmentRow& row, Ticks90k cut) {
  const auto head = catalog.chain_head(row.camera_id);
  if (!head) return;
  ChainEntry lost;
  lost.camera_id = row.camera_id;
  lost.kind = ChainKind::kLost;
  lost.wall_start = head->entry.wall_start + to_wall(head->entry.duration);
  lost.duration = cut;  // what the file held; the frames still in memory are not known
  lost.note = row.path + ": vigil stopped without closing the file (crash or power cut); " +
              (cut.count() ? "fragments written after the last durable link were cut off, and "
                           : "") +
              "footage not yet written was lost";
  catalog.append_chain(next_chain_row(head, std::move(lost)));
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
      if (!segment_hash_matches(file, part_sizes(row.init_bytes, *index), row.sha256)) {
        return "SHA-256 differs";
      }
    } catch (const Error& e) {
      return e.what();
    }
  }
  return "";
}

// The segment's fragments against their chain entries (what the recorder hashed as it wrote):
// each entry must sit where the index says and, with `verify_hash`, its bytes must still hash
// to what was chained. Issues go to `report`; a segment outside the chain is unverified.
void check_segment_chain(Catalog& catalog, const SegmentRow& row, const std::filesystem::path& file,
                         bool verify_hash, CheckReport& report) {
  const std::vector<ChainRow> chained = catalog.chain_rows_of_segment(row.id);
  auto issue = [&](const std::string& problem, std::optional<WallTime> at, bool altered) {
    CheckIssue i{row.path, problem};
    i.camera_id = row.camera_id;
    i.at = at;
    i.altered = altered;
    report.issues.push_back(std::move(i));
  };
  if (chained.empty()) {
    CheckIssue i{row.path, "not in the hash chain (" + row.close_reason +
                               "): its integrity cannot be proven"};
    i.camera_id = row.camera_id;
    i.at = row.wall_start;
    report.unverified.push_back(std::move(i));
    return;
  }
  const auto index = decode_fragment_index(row.fragment_index, row.init_bytes);
  if (!index) return;  // reported by compare_row_to_file
  if (chained.size() != index->size()) {
    issue(std::to_string(index->size()) + " fragment(s) in the file's index, " +
              std::to_string(chained.size()) + " in the hash chain",
          row.wall_start, false);
  }
  std::vector<Sha256> parts;
  if (verify_hash) {
    try {
      parts = sha256_file_parts(file, part_sizes(row.init_bytes, *index));
    } catch (const Error&) {
      // Missing or short: compare_row_to_file reported it.
    }
  }
  for (const ChainRow& c : chained) {
    const auto pos = static_cast<size_t>(c.fragment_position);
    const WallTime at = c.entry.wall_start;
    if (c.fragment_position < 0 || pos >= index->size()) {
      issue("chain entry " + std::to_string(c.entry.sequence) + " names fragment " +
                std::to_string(c.fragment_position) + ", which the file's index does not have",
            at, false);
      continue;
    }
    const Fragment& f = (*index)[pos];
    if (f.duration != c.entry.duration || row.wall_start + to_wall(f.start) != at) {
      issue("fragment " + std::to_string(pos) + " (" + format_iso8601(at) +
                ") lies elsewhere in time than its chain entry " +
                std::to_string(c.entry.sequence) + ": fragments removed or reordered",
            at, false);
    }
    if (parts.empty()) continue;
    if (parts[0] != c.entry.init_hash) {
      issue("ALTERED: the init part does not hash to chain entry " +
                std::to_string(c.entry.sequence) + " (" + format_iso8601(at) + ")",
            at, true);
      break;
    }
    if (parts[pos + 1] != c.entry.fragment_hash) {
      issue("ALTERED: fragment " + std::to_string(pos) + " (" + format_iso8601(at) +
                ") does not hash to chain entry " + std::to_string(c.entry.sequence) +
                ": the file was changed after it was recorded",
            at, true);
    }
  }
}

// Whether the first `row.bytes` of the file still hash to the row's SHA-256: then whatever
// differs lies after them (a torn tail) and cutting the file back restores the recording.
bool recorded_bytes_intact(const SegmentRow& row, const std::filesystem::path& file) {
  const auto index = decode_fragment_index(row.fragment_index, row.init_bytes);
  if (!index) return false;
  try {
    return segment_hash_matches(file, part_sizes(row.init_bytes, *index), row.sha256);
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

RecoveryReport recover_catalog(Catalog& catalog, const std::filesystem::path& data_dir) {
  RecoveryReport r;
  // Deletions first: their rows already said the footage is gone.
  for (const SegmentRow& row : catalog.segments_in_state(SegmentState::kDeleting)) {
    // An archived one's object goes before its row, and only retention has the store: it
    // retries these (retention.h, set_archive).
    if (row.archived()) continue;
    remove_file(data_dir / row.path);
    catalog.delete_segment_row(row.id);
    ++r.finished_deletes;
  }
  for (const SegmentRow& row : catalog.segments_in_state(SegmentState::kWriting)) {
    const std::filesystem::path file = data_dir / row.path;
    std::optional<ClosedSegment> c;
    const size_t keep = chained_fragments(catalog, row);
    Ticks90k cut{0};
    try {
      std::error_code ec;
      const bool exists = std::filesystem::exists(file, ec);
      if (ec) throw Error(ErrorCode::kUnavailable, file.string() + ": " + ec.message());
      if (exists) c = closed_from_file(file, row.wall_start, "recovered", keep, &cut);
    } catch (const Error& e) {
      r.notes.push_back(row.path + ": " + e.what());
    }
    record_loss(catalog, row, cut);
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
    if (row.archived()) {
      // Its bytes are in the object store (archive/archiver.h), which `vigil check` does not
      // read yet; its chain entries are checked with the chain. A local copy is what a crash
      // between the upload's commit and its unlink leaves: the archived object is the footage.
      ++report.archived;
      if (opt.repair) remove_file(file);
      return;
    }
    check_segment_chain(catalog, row, file, opt.verify_hashes, report);
    const std::string problem = compare_row_to_file(row, file, opt.verify_hashes);
    if (problem.empty()) return;
    CheckIssue issue{row.path, problem};
    issue.camera_id = row.camera_id;
    issue.at = row.wall_start;
    if (opt.repair) {
      try {
        std::error_code ec;
        if (!std::filesystem::exists(file, ec) && !ec) {
          catalog.delete_segment_row(row.id);
          catalog.add_gap(row.camera_id, row.wall_start, row.wall_end, "segment file lost");
          issue.repaired = true;
        } else if (recorded_bytes_intact(row, file)) {
          // Bytes after the recording (a torn tail): cut back to exactly what was recorded.
          if (auto c = closed_from_file(file, row.wall_start, row.close_reason)) {
            catalog.close_segment(row.id, *c);
            issue.repaired = true;
          }
        } else {
          // Never re-hash a file that does not match what was recorded: that would launder
          // tampering. It stays as it is, reported, and its row keeps the recorded hash.
          issue.altered = true;
          issue.problem = "ALTERED: " + issue.problem +
                          "; the recorded bytes changed: kept as they are, not repaired";
        }
      } catch (const Error& e) {
        issue.problem += std::string("; repair failed: ") + e.what();
      }
    } else if (std::error_code ec; opt.verify_hashes && std::filesystem::exists(file, ec) &&
                                     !recorded_bytes_intact(row, file)) {
      issue.altered = true;
      issue.problem = "ALTERED: " + issue.problem;
    }
    report.issues.push_back(issue);
  });

  check_chains(catalog, data_dir, report);

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
            // Not in the hash chain: check lists it as unverified from now on.
            c = closed_from_file(it->path(), parsed->start, "adopted by check, unverified");
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
