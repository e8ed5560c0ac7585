// Making the catalog and the files agree again: at every start (recover_catalog) and on demand
// (`vigil check`). The procedure is in docs/design/storage.md, "Crash safety".
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"

namespace vigil {

struct RecoveryReport {
  int closed = 0;          // 'writing' rows cut back to their last complete fragment and closed
  int removed_rows = 0;    // rows without usable footage
  int finished_deletes = 0;
  std::vector<std::string> notes;
};

// Only while no recorder runs on this data directory.
RecoveryReport recover_catalog(Catalog& catalog, const std::filesystem::path& data_dir);

struct CheckIssue {
  CheckIssue(std::string path_, std::string problem_, bool repaired_ = false)
      : path(std::move(path_)), problem(std::move(problem_)), repaired(repaired_) {}
  std::string path;
  std::string problem;
  bool repaired = false;
  // The footage no longer matches what was recorded (its hash chain or its row's SHA-256):
  // never repaired, kept as evidence, and never trusted again.
  bool altered = false;
  std::string camera_id;      // when known
  std::optional<WallTime> at; // when the problem lies, when known
};

struct CheckOptions {
  bool verify_hashes = false;  // read every byte (slow on a big archive)
  bool repair = false;         // needs exclusive use of the data directory
  bool include_open = false;   // also judge 'writing' rows (true when vigil is not running)
};

struct CheckReport {
  int64_t segments = 0;
  int64_t files = 0;
  int64_t archived = 0;  // segments whose file is in the archive, not checked against it
  std::vector<CheckIssue> issues;
  // Not problems, but footage whose integrity cannot be proven: segments outside the hash chain
  // (adopted orphans, recorded before the chain existed).
  std::vector<CheckIssue> unverified;
  int64_t chain_entries = 0;
  int64_t checkpoints = 0;
  int64_t tsa_tokens = 0;  // checkpoints whose RFC 3161 token is for their message
  int mismatches() const { return static_cast<int>(issues.size()); }
};

// Walks every camera's hash chain (record/chain_check.cpp): sequence holes, links that do not
// match their rows, checkpoints whose signature, head or RFC 3161 token does not hold.
// `data_dir` holds keys/.
void check_chains(Catalog& catalog, const std::filesystem::path& data_dir, CheckReport& report);

CheckReport check_catalog(Catalog& catalog, const std::filesystem::path& data_dir,
                          const CheckOptions& options);

}  // namespace vigil
