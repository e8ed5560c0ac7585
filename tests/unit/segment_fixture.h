// Real segment files for the integrity tests (bundle_test, evidence_export_test): written by
// SegmentWriter from the shared H.264 test clip, and the SHA-256 of any byte range of them.
#pragma once

#include <cstdint>
#include <filesystem>

#include "integrity/file_hash.h"

namespace vigil::test {

// A segment of `fragments` two-second fragments (GOP 20 at 10 fps); returns `file`.
std::filesystem::path write_test_segment(const std::filesystem::path& file, size_t fragments);

Sha256 sha256_of_range(const std::filesystem::path& file, uint64_t offset, uint64_t size);

}  // namespace vigil::test
