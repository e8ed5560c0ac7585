#include "core/redact.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Redact, MasksOnlyThePassword) {
  EXPECT_EQ(redact_url("rtsp://admin:s3cret@10.0.0.5:554/ch1?a=b"),
            "rtsp://admin:***@10.0.0.5:554/ch1?a=b");
  EXPECT_EQ(redact_url("rtsp://10.0.0.5/ch1"), "rtsp://10.0.0.5/ch1");
  EXPECT_EQ(redact_url("rtsp://user@10.0.0.5/ch1"), "rtsp://user@10.0.0.5/ch1");
  // An '@' in the path is not userinfo.
  EXPECT_EQ(redact_url("rtsp://10.0.0.5/a@b"), "rtsp://10.0.0.5/a@b");
  EXPECT_EQ(redact_url("rtsp://u:p@ss@host/x"), "rtsp://u:***@host/x");
}

TEST(Redact, InText) {
  EXPECT_EQ(redact_in_text("auth failed for s3cret and s3cret", "rtsp://a:s3cret@h/"),
            "auth failed for *** and ***");
  EXPECT_EQ(redact_all_urls("open rtsp://a:b@h/x and http://c:d@e:80/ failed"),
            "open rtsp://a:***@h/x and http://c:***@e:80/ failed");
}

}  // namespace
}  // namespace vigil
