#include "core/backoff.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesWithJitterUpToTheCapAndResets) {
  Backoff b(milliseconds(1000), milliseconds(30000), 7);
  int64_t base = 1000;
  for (int i = 0; i < 10; ++i) {
    const auto d = b.next();
    EXPECT_GE(d.count(), base / 2) << "attempt " << i;
    EXPECT_LE(d.count(), base) << "attempt " << i;
    base = std::min<int64_t>(base * 2, 30000);
  }
  b.reset();
  EXPECT_LE(b.next().count(), 1000);
}

TEST(Backoff, JitterSpreadsCameras) {
  Backoff a(milliseconds(1000), milliseconds(30000), 1);
  Backoff b(milliseconds(1000), milliseconds(30000), 2);
  int same = 0;
  for (int i = 0; i < 8; ++i) same += a.next() == b.next() ? 1 : 0;
  EXPECT_LT(same, 8);
}

}  // namespace
}  // namespace vigil
