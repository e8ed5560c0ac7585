// serve/recorded_still: which fragment holds a moment (the picture of a transaction's row is
// its keyframe), and an unreadable file as an error naming it. The decoding itself is checked
// end to end on real recorded footage by tests/integration/test_webui_transactions.py.
#include "serve/recorded_still.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace vigil {
namespace {

// Three 2 s fragments from t0, the second followed by a 1 s hole (a lost GOP).
std::vector<Fragment> fragments() {
  auto f = [](uint64_t offset, int64_t start_ms, int64_t dur_ms) {
    Fragment x;
    x.offset = offset;
    x.size = 100;
    x.start = to_ticks(WallDuration{start_ms});
    x.duration = to_ticks(WallDuration{dur_ms});
    return x;
  };
  return {f(1000, 0, 2000), f(1100, 2000, 2000), f(1200, 5000, 2000)};
}

TEST(RecordedStill, FragmentAtAMoment) {
  const WallTime t0 = wall_from_ms(1'000'000);
  const auto fs = fragments();
  auto at = [&](int64_t ms) { return fragment_at(fs, t0, t0 + WallDuration{ms}); };
  EXPECT_EQ(at(0)->offset, 1000u);
  EXPECT_EQ(at(1999)->offset, 1000u);
  EXPECT_EQ(at(2000)->offset, 1100u);
  EXPECT_EQ(at(4500)->offset, 1100u);  // in the hole: the GOP before it
  EXPECT_EQ(at(6999)->offset, 1200u);
  EXPECT_FALSE(at(7000));              // after the last fragment's end
  EXPECT_FALSE(at(-1));                // before the file
  EXPECT_FALSE(fragment_at({}, t0, t0));
}

TEST(RecordedStill, AnUnreadableFileIsDataLossNamingIt) {
  try {
    fragment_still("/nonexistent/seg.mp4", 100, fragments()[0]);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/seg.mp4"), std::string::npos);
  }
}

}  // namespace
}  // namespace vigil
