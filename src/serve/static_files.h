// The built web UI (web/, `npm run build` -> web/dist) served from one root directory: GET and
// HEAD only; /assets/<file> is a file of root/assets (Vite names them by content hash, so they
// are cached for good); a file at the top of root (favicon) is served as itself; every other path
// outside /api/ that can be a route of the app (no dot in its last segment, no empty segment)
// gets index.html, so the single-page app can be reloaded on any of its own URLs.
// Paths are checked by http::split_path (no "..", ".", encoded '/', control characters), and a
// hidden name (".x") or a symbolic link is never served.
// The root is looked at on each request: building the UI while vigil runs takes effect at once,
// and without root/index.html handle() declines, so "/" answers the API's plain index page.
// Thread-safe (no mutable state).
#pragma once

#include <filesystem>
#include <optional>

#include "serve/http.h"

namespace vigil {

class StaticFiles {
 public:
  explicit StaticFiles(std::filesystem::path root) : root_(std::move(root)) {}

  // The answer for a request of the web UI, or nullopt when the request is not one: another
  // method, a path under /api/ or /metrics, or no built UI at root.
  std::optional<http::Response> handle(const http::Request& req) const;

  // What the UI may load: only its own origin, plus blob: for MediaSource video and the worker
  // hls.js starts from a blob URL. No inline scripts or styles.
  static const char* content_security_policy();
  // The Content-Type for a file name, by its extension.
  static const char* content_type_for(const std::filesystem::path& file);

 private:
  std::filesystem::path root_;
};

}  // namespace vigil
