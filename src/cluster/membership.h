// A node's place in a cluster of recorders sharing one PostgreSQL catalog (issue 20;
// docs/design/cluster.md §3): its heartbeat, and the leases of the cameras it records.
//
// A node records a camera only while it holds the camera's lease. Every round (tick(), every
// `heartbeat`), the node renews all its leases in one statement and takes cameras whose lease
// expired (or that never had one), up to its room and its fair share, each in one statement on
// the lease's row, so that two nodes never win one camera. Times that decide anything in the
// database are the database's clock (now()). The node's own view of what it holds (held()) is
// bounded by its monotonic clock: a lease counts for `lease` after the renewal that confirmed
// it was *sent*, so a node that cannot reach the database (killed connection, partition) stops
// recording by itself before the lease can have expired in the database, and so before any
// other node may take the camera. A lease taken over gets the next epoch: writes fenced on
// (node, epoch) can tell a stale holder (not wired yet: §3 "Fencing").
//
// Not thread-safe: one thread ("cluster") calls tick(); others read held() through it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catalog/sql.h"
#include "core/clock.h"

namespace vigil::cluster {

struct NodeSettings {
  std::string id;   // unique in the cluster
  std::string url;  // where other nodes reach it (proxying, §4)
  int max_cameras = 32;
  // How often tick() should run, and how long a lease lasts after its renewal. Failover takes
  // at most lease + heartbeat (+ the camera's connect).
  std::chrono::milliseconds heartbeat{2000};
  std::chrono::milliseconds lease{10'000};
};

struct Lease {
  std::string camera_id;
  int64_t epoch = 0;
};

// What a round did, for logs and tests.
struct Round {
  std::vector<Lease> taken;           // new this round
  std::vector<std::string> lost;      // renewals that did not come back: another node has them
  std::vector<std::string> released;  // given up: no longer configured, or above the fair share
  int live_nodes = 0;
  int fair_share = 0;
};

class Membership {
 public:
  // `catalog_url`: the cluster's PostgreSQL catalog (already migrated: Catalog opens it first).
  // Throws Error for a SQLite location (a cluster needs PostgreSQL) or an unreachable server.
  Membership(const std::string& catalog_url, NodeSettings self, const Clock& clock);

  // One round: heartbeat, renew, release, take. `cameras`: every camera of the shared
  // configuration. Throws Error (kUnavailable) when the database cannot be reached; what is
  // held then runs out by itself.
  Round tick(const std::vector<std::string>& cameras);

  // The leases this node may record on now, by its own clock.
  std::vector<Lease> held() const;
  bool holds(const std::string& camera) const;

  // Gives every lease up at once (a clean shutdown), so that others take the cameras at their
  // next round instead of after the lease.
  void leave();

  const NodeSettings& settings() const { return self_; }

 private:
  struct Held {
    int64_t epoch = 0;
    SteadyTime valid_until;
    SteadyTime taken_at;
  };
  // Releases in the database the leases given up (no longer in held_).
  void release_given_up();

  NodeSettings self_;
  const Clock& clock_;
  std::unique_ptr<sql::Connection> db_;
  std::map<std::string, Held> held_;
  // Given up by the last round (gone from held(), so the recorders stop) and released in the
  // database at the next: a camera is never free while its recorder here may still run.
  std::vector<std::pair<std::string, int64_t>> releasing_;
  SteadyTime last_rebalance_{};
};

}  // namespace vigil::cluster
