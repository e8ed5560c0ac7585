// The web UI's file route (serve/static_files.h) on a real directory: types, caching, the
// single-page fallback, and that nothing outside the root (or hidden, or linked) is served.
#include "serve/static_files.h"

#include <gtest/gtest.h>

#include <fstream>

#include "catalog/catalog.h"
#include "serve/api.h"
#include "test_support.h"

namespace vigil {
namespace {

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string header(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class StaticFilesTest : public ::testing::Test {
 protected:
  StaticFilesTest() : root_(dir_.path() / "dist"), web_(root_) {
    write(root_ / "index.html", "<!doctype html><title>vigil</title>");
    write(root_ / "assets" / "index-Ab12.js", "console.log(1)");
    write(root_ / "assets" / "index-Cd34.css", "body{}");
    write(root_ / "favicon.svg", "<svg/>");
    write(root_ / ".env", "SECRET=1");
    write(dir_.path() / "secret.txt", "outside the root");
  }

  std::optional<http::Response> get(const std::string& target, const std::string& method = "GET") {
    http::Request r;
    r.method = method;
    r.target = target;
    return web_.handle(r);
  }

  test::TempDir dir_;
  std::filesystem::path root_;
  StaticFiles web_;
};

TEST_F(StaticFilesTest, AssetsHaveTheirTypeAndAreImmutable) {
  auto js = get("/assets/index-Ab12.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body, "console.log(1)");
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(*js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(*js, "X-Content-Type-Options"), "nosniff");
  auto css = get("/assets/index-Cd34.css?v=1");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  auto svg = get("/favicon.svg");
  ASSERT_TRUE(svg);
  EXPECT_EQ(svg->content_type, "image/svg+xml");
  EXPECT_EQ(svg->body, "<svg/>");
  EXPECT_EQ(StaticFiles::content_type_for("a.png"), std::string("image/png"));
  EXPECT_EQ(StaticFiles::content_type_for("a.unknown"), std::string("application/octet-stream"));
}

TEST_F(StaticFilesTest, AppRoutesGetIndexHtmlRevalidatedWithAStrictPolicy) {
  for (const char* target : {"/", "/index.html", "/live", "/cameras/front/playback?t=1", "/x/y"}) {
    auto r = get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 200) << target;
    EXPECT_EQ(r->content_type, "text/html; charset=utf-8") << target;
    EXPECT_EQ(r->body, "<!doctype html><title>vigil</title>") << target;
    EXPECT_EQ(header(*r, "Cache-Control"), "no-cache") << target;
    const std::string csp = header(*r, "Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("media-src 'self' blob:"), std::string::npos) << csp;
    EXPECT_NE(csp.find("worker-src 'self' blob:"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  }
  // HEAD: the GET's answer, body included, so that the server can say its Content-Length (it
  // sends no body: http_head_test.cpp).
  auto head = get("/", "HEAD");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, get("/")->body);
}

TEST_F(StaticFilesTest, FileNamesThatAreNotThereAreNotFoundNotTheApp) {
  for (const char* target : {"/secret.txt", "/vigil.db", "//etc/passwd", "/live//x", "/a/b.json"}) {
    auto r = get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 404) << target;
    EXPECT_EQ(r->content_type, "application/json") << target;
  }
}

TEST_F(StaticFilesTest, MissingAssetIsNotFoundNotTheApp) {
  auto r = get("/assets/gone-0000.js");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(header(*r, "Cache-Control"), "no-store");
}

TEST_F(StaticFilesTest, NothingOutsideTheRootHiddenOrLinked) {
  for (const char* target : {"/assets/../../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt",
                             "/assets/..%2f..%2fsecret.txt", "/../secret.txt",
                             "/assets/%5c..%5csecret.txt", "/assets/a%00.js"}) {
    auto r = get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(r->body.find("outside the root"), std::string::npos) << target;
  }
  auto hidden = get("/.env");
  ASSERT_TRUE(hidden);
  EXPECT_EQ(hidden->status, 404);
  EXPECT_EQ(hidden->body.find("SECRET"), std::string::npos);
  std::filesystem::create_symlink(dir_.path() / "secret.txt", root_ / "assets" / "link.js");
  auto link = get("/assets/link.js");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->status, 404);
  EXPECT_EQ(link->body.find("outside the root"), std::string::npos);
}

TEST_F(StaticFilesTest, DeclinesTheApiOtherMethodsAndAnUnbuiltUi) {
  EXPECT_FALSE(get("/api/me"));
  EXPECT_FALSE(get("/api"));
  EXPECT_FALSE(get("/metrics"));
  EXPECT_FALSE(get("/", "POST"));
  EXPECT_FALSE(get("/live", "DELETE"));
  StaticFiles unbuilt(dir_.path() / "no-such-dir");
  http::Request r;
  r.method = "GET";
  r.target = "/";
  EXPECT_FALSE(unbuilt.handle(r));
  EXPECT_FALSE(StaticFiles("").handle(r));
}

// The route as Api::handle takes it: the UI for "/" and app paths, the API for /api/, and the
// plain index page while the UI is not built.
TEST(StaticFilesApiTest, ApiServesTheUiOrThePlainPage) {
  test::TempDir dir;
  const auto dist = dir.path() / "dist";
  write(dist / "index.html", "<!doctype html><title>the app</title>");
  std::ofstream(dir.path() / "vigil.toml")
      << "data_dir = \"" << dir.path().string() << "\"\n[http]\nweb_root = \"dist\"\n"
      << "[[camera]]\nid = \"front\"\nurl = \"rtsp://192.0.2.1/main\"\n";
  ConfigStore config(dir.path() / "vigil.toml");
  EXPECT_EQ(config.current()->http.web_root, dist);
  Catalog catalog(dir.path() / "vigil.db");
  AccountStore accounts(dir.path() / "vigil.db");
  test::FakeClock clock(wall_from_ms(1'790'000'000'000));
  Api api(config, accounts, clock, [] { return nlohmann::json::object(); });
  auto call = [&](const std::string& method, const std::string& target) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.remote_address = "192.0.2.9";
    return api.handle(r);
  };
  for (const char* target : {"/", "/playback/front"}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_EQ(r.body, "<!doctype html><title>the app</title>") << target;
  }
  auto missing = call("GET", "/api/no-such-route");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/json");
  EXPECT_EQ(call("GET", "/api/me").status, 401);
  EXPECT_EQ(call("POST", "/").status, 405);

  std::filesystem::remove_all(dist);  // not built: "/" is the API's plain page again
  auto plain = call("GET", "/");
  EXPECT_EQ(plain.status, 200);
  EXPECT_NE(plain.body.find("not built"), std::string::npos) << plain.body;
  EXPECT_EQ(call("GET", "/live").status, 404);
}

}  // namespace
}  // namespace vigil
