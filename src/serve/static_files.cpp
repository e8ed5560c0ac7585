// Serving the web UI's files: see static_files.h.
#include "serve/static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>

namespace vigil {
namespace {

// The whole UI is a few hundred KiB; a file larger than this under root is not ours to serve.
constexpr uint64_t kMaxFile = uint64_t{32} << 20;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The file's bytes, or nullopt when it is missing, not a regular file, a symbolic link (O_NOFOLLOW
// on the last component; root itself is the operator's choice) or too large.
std::optional<std::string> read_file(const std::filesystem::path& file) {
  Fd f;
  f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f.fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > kMaxFile) return std::nullopt;
  std::string body(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(f.fd, body.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // an error, or the file shrank: a build is replacing it
    done += static_cast<uint64_t>(n);
  }
  return body;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

const char* StaticFiles::content_security_policy() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
         "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; "
         "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
         "frame-ancestors 'none'";
}

const char* StaticFiles::content_type_for(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".webmanifest") return "application/manifest+json";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::optional<http::Response> StaticFiles::handle(const http::Request& req) const {
  if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
  const std::string_view path = req.path();
  if (path == "/api" || starts_with(path, "/api/") || path == "/metrics") return std::nullopt;
  if (root_.empty()) return std::nullopt;
  const std::filesystem::path index = root_ / "index.html";
  auto index_body = read_file(index);
  if (!index_body) return std::nullopt;

  http::Response r;
  r.with_header("Content-Security-Policy", content_security_policy())
      .with_header("X-Content-Type-Options", "nosniff")
      .with_header("X-Frame-Options", "DENY")
      .with_header("Referrer-Policy", "no-referrer");
  auto fail = [&](int status, const std::string& detail) {
    http::Response e = http::Response::error(status, detail);
    e.headers = r.headers;
    e.with_header("Cache-Control", "no-store");
    return e;
  };
  const auto segments = http::split_path(path);
  if (!segments) return fail(400, "a path with \"..\", \".\", an encoded '/' or '\\' is refused");
  for (const auto& s : *segments) {
    if (!s.empty() && s.front() == '.') return fail(404, "no such file");
  }

  std::filesystem::path file;
  if (segments->size() >= 2 && segments->front() == "assets") {
    file = root_;
    for (const auto& s : *segments) file /= s;
  } else {
    if (segments->size() == 1 && segments->front() == "index.html") {
      file = index;
    } else if (segments->size() == 1 && !segments->front().empty()) {
      // A file at the top of root (favicon.svg, robots.txt) is itself; anything else is a
      // route of the app.
      const std::filesystem::path top = root_ / segments->front();
      if (auto body = read_file(top)) {
        file = top;
        index_body = std::move(body);
      }
    }
    if (file.empty()) {
      // Only what can be a route of the app gets the app: a file name that is not there (a
      // dot in the last segment: "/vigil.db") or an empty segment ("//etc/passwd") is a 404,
      // so probes and typos get an honest answer.
      const std::string& last = segments->back();
      const bool empty_segment =
          segments->size() > 1 &&
          std::any_of(segments->begin(), segments->end(), [](const auto& x) { return x.empty(); });
      if (empty_segment || last.find('.') != std::string::npos) {
        return fail(404, "no such file: " + std::string(path));
      }
      file = index;
    }
    // Revalidated on every load, so that a new build (new asset names) is seen at once.
    r.with_header("Cache-Control", "no-cache");
    r.content_type = content_type_for(file);
    r.body = std::move(*index_body);  // the server sends none for HEAD, but its length
    return r;
  }
  auto body = read_file(file);
  if (!body) return fail(404, "no such file: " + std::string(path));
  // Vite names every asset by its content's hash: a changed file has a new name.
  r.with_header("Cache-Control", "public, max-age=31536000, immutable");
  r.content_type = content_type_for(file);
  r.body = std::move(*body);
  return r;
}

}  // namespace vigil
