#include "ingest/rtsp_connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace vigil {
namespace {

constexpr size_t kBufferBytes = 1 << 20;  // the first allocation, grown up to max_buffer
// Compact the buffer when less than this is free at its end: one interleaved frame at most.
constexpr size_t kMinFree = 64 * 1024 + 4;

Error no_answer(std::chrono::milliseconds span) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "no answer for %.1f s", span.count() / 1000.0);
  return Error(ErrorCode::kUnavailable, buf);
}

Error connect_error(int err) {
  switch (err) {
    case ECONNREFUSED:
      return Error(ErrorCode::kUnavailable,
                   "connection refused: nothing listens on that address and port");
    case EHOSTUNREACH:
    case ENETUNREACH:
      return Error(ErrorCode::kUnavailable, "host unreachable");
    default:
      return Error(ErrorCode::kUnavailable, "cannot connect: " + errno_string(err));
  }
}

}  // namespace

RtspConnection::RtspConnection(const Clock& clock, size_t max_buffer)
    : clock_(clock), max_buffer_(max_buffer), buf_(std::min(kBufferBytes, max_buffer)) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw Error(ErrorCode::kResourceExhausted, "eventfd: " + errno_string(errno));
}

RtspConnection::~RtspConnection() {
  if (fd_ >= 0) close(fd_);
  close(wake_fd_);
}

void RtspConnection::interrupt() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
}

void RtspConnection::wait(short events, SteadyTime deadline, std::chrono::milliseconds span) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_.steady_now());
    if (left.count() <= 0) throw no_answer(span);
    pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
    const int r = poll(fds, 2, static_cast<int>(left.count()) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(ErrorCode::kInternal, "poll: " + errno_string(errno));
    if (fds[1].revents) throw Error(ErrorCode::kUnavailable, "stopped");
    if (fds[0].revents) return;
  }
}

void RtspConnection::connect(const std::string& host, uint16_t port,
                             std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int gai = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) {
    throw Error(ErrorCode::kUnavailable,
                "cannot resolve host name " + host + ": " + gai_strerror(gai));
  }
  struct Free {
    addrinfo* p;
    ~Free() { freeaddrinfo(p); }
  } free_res{res};
  const SteadyTime deadline = clock_.steady_now() + timeout;
  int last_err = ECONNREFUSED;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    fd_ = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd_ < 0) {
      last_err = errno;
      continue;
    }
    if (::connect(fd_, ai->ai_addr, ai->ai_addrlen) == 0) return;
    if (errno == EINPROGRESS) {
      wait(POLLOUT, deadline, timeout);
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        const int one = 1;  // requests are small and answered one at a time
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return;
      }
      last_err = err;
    } else {
      last_err = errno;
    }
    close(fd_);
    fd_ = -1;
  }
  throw connect_error(last_err);
}

void RtspConnection::send(std::string_view data, std::chrono::milliseconds timeout) {
  const SteadyTime deadline = clock_.steady_now() + timeout;
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait(POLLOUT, deadline, timeout);
    } else if (n < 0 && errno != EINTR) {
      throw Error(ErrorCode::kUnavailable, "send: " + errno_string(errno));
    }
  }
}

bool RtspConnection::fill(std::chrono::milliseconds timeout, std::chrono::milliseconds batch) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (buf_.size() - end_ < kMinFree) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (buf_.size() - end_ < kMinFree) {  // a huge message
      if (buf_.size() >= max_buffer_) {
        const bool mib = max_buffer_ % (1 << 20) == 0;
        throw Error(ErrorCode::kResourceExhausted,
                    "the camera sent an RTSP message larger than " +
                        std::to_string(mib ? max_buffer_ >> 20 : max_buffer_ >> 10) +
                        (mib ? " MiB" : " KiB"));
      }
      buf_.resize(std::min(buf_.size() * 2, max_buffer_));
    }
  }
  SteadyTime deadline{};
  bool waited = false;
  // Caught up with the camera: sleep (interruptibly) instead of waking per packet.
  auto sleep_batch = [&] {
    pollfd wake = {wake_fd_, POLLIN, 0};
    if (poll(&wake, 1, static_cast<int>(batch.count())) > 0) {
      throw Error(ErrorCode::kUnavailable, "stopped");
    }
  };
  if (drained_ && batch.count() > 0) {
    deadline = clock_.steady_now() + timeout;
    waited = true;
    sleep_batch();
  }
  for (;;) {
    const size_t room = buf_.size() - end_;
    const ssize_t n = recv(fd_, buf_.data() + end_, room, MSG_DONTWAIT);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      drained_ = static_cast<size_t>(n) < room;
      return true;
    }
    drained_ = false;
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw Error(ErrorCode::kUnavailable, "receive: " + errno_string(errno));
    }
    if (!waited) {
      deadline = clock_.steady_now() + timeout;
      waited = true;
      if (batch.count() > 0) {
        sleep_batch();
        continue;
      }
    }
    wait(POLLIN, deadline, timeout);
  }
}

RtspConnection::Next RtspConnection::next(std::chrono::milliseconds timeout, RtspMessage& msg,
                                          InterleavedFrame& frame,
                                          std::chrono::milliseconds batch) {
  for (;;) {
    size_t consumed = 0;
    const ParseResult r = parse_rtsp_item({buf_.data() + begin_, end_ - begin_}, consumed, msg,
                                          frame);
    if (r != ParseResult::kIncomplete) {
      begin_ += consumed;
      return r == ParseResult::kMessage ? Next::kMessage : Next::kFrame;
    }
    if (!fill(timeout, batch)) return Next::kClosed;
  }
}

}  // namespace vigil
