// Making the catalog and the files agree again: at every start (recover_catalog) and on demand
// (`vigil check`). The procedure is in docs/design/storage.md, "Crash safety".
#pragma once

#include <filesystem>
#include <string>
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
  std::string path;
  std::string problem;
  bool repaired = false;
};

struct CheckOptions {
  bool verify_hashes = false;  // read every byte (slow on a big archive)
  bool repair = false;         // needs exclusive use of the data directory
  bool include_open = false;   // also judge 'writing' rows (true when vigil is not running)
};

struct CheckReport {
  int64_t segments = 0;
  int64_t files = 0;
  std::vector<CheckIssue> issues;
  int mismatches() const { return static_cast<int>(issues.size()); }
};

CheckReport check_catalog(Catalog& catalog, const std::filesystem::path& data_dir,
                          const CheckOptions& options);

}  // namespace vigil
