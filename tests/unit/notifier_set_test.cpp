// NotifierSet: webhook targets replaced at run time while the old one is stuck in a request —
// the replacement does not wait for it, new notices go to the new target at once, and what the
// old one still held is dropped and counted once it has stopped.
#include "events/notifier_set.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace vigil {
namespace {

using std::chrono::milliseconds;

bool eventually(const std::function<bool()>& cond, milliseconds bound = milliseconds(20'000)) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return cond();
}

int listening_socket(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  ::listen(fd, 8);
  return fd;
}

// Answers every request 204 and counts them.
class OkEndpoint {
 public:
  OkEndpoint() : fd_(listening_socket(&port_)), thread_([this] { serve(); }) {}
  ~OkEndpoint() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  int hits() const { return hits_; }

 private:
  void serve() {
    while (true) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      // Enough of the request: the headers and the small JSON body after them.
      while (in.find("\r\n\r\n") == std::string::npos || in.back() != '}') {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      const std::string res = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
      (void)!::write(c, res.data(), res.size());
      ::close(c);
      ++hits_;
    }
  }
  int port_ = 0;
  int fd_;
  std::atomic<int> hits_{0};
  std::thread thread_;
};

EventNotice notice() {
  EventNotice n;
  n.kind = EventNotice::Kind::kStart;
  n.id = 1;
  n.camera_id = "front";
  n.type = "motion";
  n.start = wall_from_ms(1'790'000'000'000);
  return n;
}

WebhookTarget target(const std::string& url, milliseconds timeout) {
  WebhookTarget t;
  t.url = url;
  t.timeout = timeout;
  t.max_attempts = 1;
  return t;
}

TEST(NotifierSet, AReplacedWebhookIsRetiredWithoutWaitingAndItsNoticesCounted) {
  // The old target accepts the connection and never answers: its sender sits in a 10 s request.
  int stuck_port = 0;
  const int stuck = listening_socket(&stuck_port);
  OkEndpoint fresh;
  NotifierSet set;
  set.set_webhooks(std::make_unique<WebhookNotifier>(std::vector<WebhookTarget>{
      target("http://127.0.0.1:" + std::to_string(stuck_port) + "/", milliseconds(10'000))}));
  const std::shared_ptr<WebhookNotifier> old = set.webhooks();
  for (int i = 0; i < 3; ++i) set.notify(notice());
  pollfd p{stuck, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 20'000), 1);
  const int held = ::accept(stuck, nullptr, nullptr);  // the first request, in flight
  ASSERT_GE(held, 0);
  ::close(stuck);  // any later attempt is refused at once

  set.set_webhooks(std::make_unique<WebhookNotifier>(
      std::vector<WebhookTarget>{target(fresh.url(), milliseconds(5'000))}));
  set.notify(notice());
  // The endpoint counts a hit once it has answered; the sender counts the delivery once it has
  // read that answer, a moment later.
  ASSERT_TRUE(eventually(
      [&] { return fresh.hits() == 1 && set.webhooks()->stats()[0].delivered == 1; }));
  // Delivered to the new target while the old one still waits in its request: the replacement
  // did not wait for it.
  EXPECT_EQ(set.retired_dropped(), 0u);
  EXPECT_EQ(old->stats()[0].delivered + old->stats()[0].dropped_attempts +
                old->stats()[0].dropped_stopped,
            0u);
  ::close(held);  // ends the old request early (as its timeout would)
  set.wait_retired();
  // Every notice the old target held is accounted for, none delivered; what the stop dropped is
  // what the set counts (the request in flight fails either before or after the stop).
  const WebhookStats s = old->stats()[0];
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_EQ(s.dropped_attempts + s.dropped_stopped, 3u);
  EXPECT_GE(s.dropped_stopped, 2u);
  EXPECT_EQ(set.retired_dropped(), s.dropped_stopped);
  EXPECT_EQ(set.webhooks()->stats()[0].delivered, 1u);

  set.set_webhooks(nullptr);
  set.notify(notice());  // nowhere to go: fine
  set.wait_retired();
  EXPECT_EQ(fresh.hits(), 1);
}

}  // namespace
}  // namespace vigil
