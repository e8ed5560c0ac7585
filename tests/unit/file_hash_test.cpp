#include "integrity/file_hash.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "test_support.h"

namespace vigil {
namespace {

TEST(FileHash, KnownVectorsWholeAndPrefix) {
  test::TempDir dir;
  const auto f = dir.path() / "abc";
  std::ofstream(f) << "abcdef";
  // FIPS 180-2 example: SHA-256("abc").
  EXPECT_EQ(to_hex(sha256_file(f, 3)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Hasher h;
  h.update(reinterpret_cast<const uint8_t*>("abcdef"), 6);
  EXPECT_EQ(h.finish(), sha256_file(f));
  EXPECT_THROW(sha256_file(f, 100), Error);  // shorter than asked: data loss, not a silent hash
  EXPECT_THROW(sha256_file(dir.path() / "missing"), Error);
}

}  // namespace
}  // namespace vigil
