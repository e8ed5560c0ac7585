// The HTTP(S) server of `vigil serve`, on Boost.Beast/Asio: asynchronous I/O on a few threads, so
// that many long-lived connections (live view, later) cost memory, not threads, and never
// starve the API. Request handlers run on a separate small pool, so a slow handler (an Argon2
// password check takes a fraction of a second on purpose) never stalls the I/O threads.
// Requests marked slow (password checks) get a pool of their own, so that a flood of logins
// cannot starve the rest of the API.
// Limits from [http]: header size (431), body size (413, per route via classify), read
// and idle timeouts, keep-alive, and a maximum number of connections (more are closed at once).
// Optional TLS (OpenSSL) from PEM files. Lifetime: start() binds and starts the threads; stop()
// (also on destruction) closes every connection and joins them.
// Threads: "http-io" (the I/O loop), "http-handler" and "http-slow" (the handler pools), all
// supervised (core/supervision.h): a handler that throws answers 500; anything else that escapes
// is reported as that pool's failure and the thread goes back to work after a backoff.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/supervision.h"
#include "serve/http.h"

namespace vigil {

class HttpServer {
 public:
  using Handler = std::function<http::Response(const http::Request&)>;
  // The body limit and pool of a request, known from its request line.
  using ClassifyFn =
      std::function<http::RequestClass(const std::string& method, std::string_view path)>;

  // Failures are reported in `components` (null: only logged), which must outlive the server.
  HttpServer(const HttpSettings& settings, Handler handler, ClassifyFn classify,
             ComponentRegistry* components = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving. Throws Error(kUnavailable) naming the address when it cannot
  // bind, Error(kInvalidArgument) naming the file when the TLS certificate or key is unusable.
  void start();
  void stop();
  // The bound port (useful with port = 0) and the URL to open, after start().
  int port() const;
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
