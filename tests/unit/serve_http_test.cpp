// serve's request parsing and routing: untrusted paths, queries, cookies and JSON bodies.
#include <gtest/gtest.h>

#include "core/net_address.h"
#include "serve/http.h"
#include "serve/router.h"

namespace vigil {
namespace {

using http::split_path;

TEST(Http, PercentDecoding) {
  EXPECT_EQ(http::percent_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(http::percent_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(http::percent_decode("%2e%2E", false), "..");
  EXPECT_FALSE(http::percent_decode("%", false));
  EXPECT_FALSE(http::percent_decode("%2", false));
  EXPECT_FALSE(http::percent_decode("%zz", false));
}

TEST(Http, SplitPathRejectsTraversalInEveryEncoding) {
  EXPECT_EQ(split_path("/api/cameras/front"),
            (std::vector<std::string>{"api", "cameras", "front"}));
  EXPECT_EQ(split_path("/"), (std::vector<std::string>{""}));
  EXPECT_EQ(split_path("/a/b%20c"), (std::vector<std::string>{"a", "b c"}));
  for (const char* bad : {"/api/cameras/../../etc/passwd", "/api/cameras/%2e%2e/x",
                          "/api/cameras/%2E%2e%2fetc", "/api/cameras/a%2fb", "/api/cameras/a%5cb",
                          "/api/./me", "/api/cameras/%00", "/api/cameras/a%0d%0aX-Injected:%201",
                          "api/me", "", "*", "http://host/api/me", "/api/cameras/%2"}) {
    EXPECT_FALSE(split_path(bad)) << bad;
  }
}

TEST(Http, QueryAndCookies) {
  auto q = http::parse_query("a=1&b=x%20y&c&a=2&d=%41+B");
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)["a"], "2");
  EXPECT_EQ((*q)["b"], "x y");
  EXPECT_EQ((*q)["c"], "");
  EXPECT_EQ((*q)["d"], "A B");
  EXPECT_FALSE(http::parse_query("a=%zz"));
  auto c = http::parse_cookies("vigil_session=abc; theme=dark ;bad; =x; e=");
  EXPECT_EQ(c["vigil_session"], "abc");
  EXPECT_EQ(c["theme"], "dark");
  EXPECT_EQ(c.count("bad"), 0u);
  EXPECT_EQ(c["e"], "");
}

TEST(Http, JsonBodies) {
  EXPECT_EQ(http::parse_json_body(R"({"a": "[[[", "b": [1, {"c": 2}]})")["b"][1]["c"], 2);
  auto code_of = [](const std::string& body) {
    try {
      http::parse_json_body(body);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of("{\"a\": "), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of("'; DROP TABLE user; --"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(std::string(100'000, '[') + std::string(100'000, ']')),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(""), ErrorCode::kInvalidArgument);
}

TEST(Http, ErrorShapeAndStatuses) {
  const auto r = http::Response::error(404, "no such route");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body),
            (nlohmann::json{{"error", "not_found"}, {"detail", "no such route"}}));
  EXPECT_EQ(http::status_for(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(http::status_for(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(http::status_for(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(http::status_for(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(http::status_for(ErrorCode::kInternal), 500);
  // Invalid UTF-8 echoed back from a request must not throw.
  EXPECT_NO_THROW(http::Response::error(400, std::string("bad \xff\xfe name")));
}

Route route(const std::string& method, const std::string& pattern, const std::string& cam = "") {
  Route r;
  r.method = method;
  r.pattern = pattern;
  r.access.camera_param = cam;
  r.handler = [](Call&) { return http::Response::no_content(); };
  return r;
}

TEST(Router, MatchesTypedParametersAndReportsWhyNot) {
  Router router;
  router.add(route("GET", "/api/cameras"));
  router.add(route("GET", "/api/cameras/{id:camera}", "id"));
  router.add(route("DELETE", "/api/tokens/{id:int}"));
  router.add(route("PATCH", "/api/users/{name:user}"));
  router.add(route("DELETE", "/api/users/{name:user}"));

  Match m = router.match("GET", "/api/cameras/front_door-2");
  ASSERT_EQ(m.kind, Match::Kind::kFound);
  EXPECT_EQ(m.route->pattern, "/api/cameras/{id:camera}");
  EXPECT_EQ(m.params["id"], "front_door-2");
  EXPECT_EQ(router.match("DELETE", "/api/tokens/42").params["id"], "42");
  EXPECT_EQ(router.match("PATCH", "/api/users/ann.smith@example").kind, Match::Kind::kFound);

  EXPECT_EQ(router.match("GET", "/api/nothing").kind, Match::Kind::kNotFound);
  EXPECT_EQ(router.match("GET", "/api/cameras/").kind, Match::Kind::kBadRequest);
  EXPECT_EQ(router.match("GET", "/api/cameras/a/b").kind, Match::Kind::kNotFound);
  m = router.match("PUT", "/api/users/ann");
  EXPECT_EQ(m.kind, Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "PATCH, DELETE");
  EXPECT_EQ(router.match("DELETE", "/api/tokens/x1").kind, Match::Kind::kBadRequest);
  EXPECT_EQ(router.match("GET", "/api/cameras/a%20b").kind, Match::Kind::kBadRequest);
  EXPECT_EQ(router.match("GET", "/api/cameras/..%2f..%2fetc").kind, Match::Kind::kBadRequest);
  EXPECT_EQ(router.match("GET", "/api/cameras/%2e%2e").kind, Match::Kind::kBadRequest);
  EXPECT_EQ(router.match("GET", "/api/cameras/" + std::string(65, 'a')).kind,
            Match::Kind::kBadRequest);
  EXPECT_EQ(router.match("GET", "/api/cameras/x'%20OR%201=1--").kind, Match::Kind::kBadRequest);
}

TEST(Router, RejectsBadRouteDeclarations) {
  Router router;
  router.add(route("GET", "/api/x/{id:int}"));
  EXPECT_THROW(router.add(route("GET", "/api/x/{n:int}")), Error);    // same path, same method
  EXPECT_THROW(router.add(route("GET", "/api/y/{id}")), Error);       // no type
  EXPECT_THROW(router.add(route("GET", "/api/y/{id:path}")), Error);  // unknown type
  EXPECT_THROW(router.add(route("GET", "/api/z", "id")), Error);      // camera param not in path
  EXPECT_EQ(router.routes().front().openapi_path(), "/api/x/{id}");
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// [http] trusted_proxies: networks, and who the client is behind them.
TEST(TrustedProxies, NetworksAndTheForwardedClient) {
  EXPECT_FALSE(parse_ip_network("10.0.0.0/33"));
  EXPECT_FALSE(parse_ip_network("proxy.lan"));
  EXPECT_FALSE(parse_ip_network("10.0.0.0/"));
  const std::vector<IpNetwork> trusted = {*parse_ip_network("10.0.0.0/8"),
                                          *parse_ip_network("127.0.0.1"),
                                          *parse_ip_network("fd00::/8")};
  EXPECT_TRUE(in_networks(trusted, "10.200.3.4"));
  EXPECT_FALSE(in_networks(trusted, "11.0.0.1"));
  EXPECT_FALSE(in_networks(trusted, "127.0.0.2"));
  EXPECT_TRUE(in_networks(trusted, "fd12::1"));
  EXPECT_FALSE(in_networks(trusted, "garbage"));
  // Not from a proxy: the header is ignored.
  EXPECT_EQ(forwarded_client(trusted, "203.0.113.5", "198.51.100.1"), "203.0.113.5");
  // From a proxy: the rightmost address that is not a proxy; what the client wrote at the
  // left is never believed.
  EXPECT_EQ(forwarded_client(trusted, "127.0.0.1", "198.51.100.1"), "198.51.100.1");
  EXPECT_EQ(forwarded_client(trusted, "127.0.0.1", "6.6.6.6, 198.51.100.1, 10.1.1.1"),
            "198.51.100.1");
  EXPECT_EQ(forwarded_client(trusted, "127.0.0.1", ""), "127.0.0.1");
  EXPECT_EQ(forwarded_client(trusted, "127.0.0.1", "not-an-ip"), "127.0.0.1");
}

}  // namespace
}  // namespace vigil
