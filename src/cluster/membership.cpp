#include "cluster/membership.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace vigil::cluster {

Membership::Membership(const std::string& catalog_url, NodeSettings self, const Clock& clock)
    : self_(std::move(self)), clock_(clock) {
  if (!sql::is_postgres_url(catalog_url)) {
    throw Error(ErrorCode::kInvalidArgument,
                sql::redacted_url(catalog_url) +
                    ": a cluster's catalog is a PostgreSQL database (postgresql://...)");
  }
  if (self_.id.empty()) throw Error(ErrorCode::kInvalidArgument, "a cluster node needs an id");
  db_ = sql::open(catalog_url);
  // A new incarnation: other nodes (and the logs) can tell a restart from a long pause.
  db_->prepare(
         "INSERT INTO node (id, url, max_cameras, incarnation, heartbeat_at) "
         "VALUES (:id, :url, :max, 1, now()) ON CONFLICT (id) DO UPDATE SET url = excluded.url, "
         "max_cameras = excluded.max_cameras, incarnation = node.incarnation + 1, "
         "heartbeat_at = now()")
      .bind(":id", self_.id)
      .bind(":url", self_.url)
      .bind(":max", int64_t{self_.max_cameras})
      .run();
}

Round Membership::tick(const std::vector<std::string>& cameras) {
  Round round;
  // Everything this round confirms counts from before it was asked: the database's expiry is
  // later than this by the time the statement ran.
  const SteadyTime sent = clock_.steady_now();
  const int64_t lease_ms = self_.lease.count();

  // Leases given up last round, now that the recorders have had a heartbeat to stop.
  release_given_up();

  // The node's url and max_cameras were written when it registered and do not change.
  db_->prepare("UPDATE node SET heartbeat_at = now() WHERE id = :id").bind(":id", self_.id).run();

  // Every lease of this node renewed in one statement; what does not come back is lost.
  std::map<std::string, int64_t> renewed;
  {
    auto st = db_->prepare(
        "UPDATE camera_lease SET expires_at = now() + :lease * interval '1 millisecond' "
        "WHERE node_id = :me RETURNING camera_id, epoch");
    st.bind(":lease", lease_ms).bind(":me", self_.id);
    while (st.step()) renewed[st.text("camera_id")] = st.int64("epoch");
  }
  for (auto it = held_.begin(); it != held_.end();) {
    const auto r = renewed.find(it->first);
    if (r == renewed.end() || r->second != it->second.epoch) {
      round.lost.push_back(it->first);
      it = held_.erase(it);
    } else {
      it->second.valid_until = sent + self_.lease;
      ++it;
    }
  }
  // This node's leases it did not know of: held by its previous incarnation (a restart within
  // the lease). The same node id, so they are its own.
  for (const auto& [camera, epoch] : renewed) {
    if (!held_.count(camera)) held_[camera] = Held{epoch, sent + self_.lease, sent};
  }

  // Room: at most max_cameras, and at most the fair share of the live nodes, so that a node
  // coming back is not starved by those that took its cameras. `wanting`: other live nodes
  // below their own share (fair share or their max_cameras, whichever is less).
  int64_t live = 1;
  int64_t wanting = 0;
  const int64_t total = static_cast<int64_t>(cameras.size());
  {
    auto st = db_->prepare(
        "SELECT COUNT(*) AS live FROM node "
        "WHERE heartbeat_at > now() - :lease * interval '1 millisecond'");
    st.bind(":lease", lease_ms);
    if (st.step()) live = std::max<int64_t>(1, st.int64("live"));
  }
  round.live_nodes = static_cast<int>(live);
  round.fair_share = static_cast<int>((total + live - 1) / live);
  {
    auto st = db_->prepare(
        "SELECT COUNT(*) AS wanting FROM node n "
        "WHERE n.id != :me AND n.heartbeat_at > now() - :lease * interval '1 millisecond' "
        "AND (SELECT COUNT(*) FROM camera_lease l WHERE l.node_id = n.id "
        "     AND l.expires_at >= now()) < LEAST(n.max_cameras, :fair)");
    st.bind(":me", self_.id).bind(":lease", lease_ms).bind(":fair", int64_t{round.fair_share});
    if (st.step()) wanting = st.int64("wanting");
  }
  const size_t share = static_cast<size_t>(std::min<int64_t>(self_.max_cameras, round.fair_share));

  // Given up (recorders stop now; the rows are released next round): cameras no longer in the
  // configuration, and above the fair share the one taken last, at most one per lease period
  // for the whole node and only while another node wants more, so that the cluster does not
  // shed many cameras at once nor give up one that nobody else has room for.
  const std::set<std::string> configured(cameras.begin(), cameras.end());
  for (auto it = held_.begin(); it != held_.end();) {
    if (!configured.count(it->first)) {
      round.released.push_back(it->first);
      releasing_.emplace_back(it->first, it->second.epoch);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  if (held_.size() > share && wanting > 0 && sent - last_rebalance_ >= self_.lease) {
    auto newest = std::max_element(held_.begin(), held_.end(), [](const auto& a, const auto& b) {
      return a.second.taken_at < b.second.taken_at;
    });
    round.released.push_back(newest->first);
    releasing_.emplace_back(newest->first, newest->second.epoch);
    held_.erase(newest);
    last_rebalance_ = sent;
  }

  // Taking: cameras whose lease has expired or that never had one, up to the share; then, if
  // some are still free (other nodes are full: a small max_cameras), beyond it up to
  // max_cameras, since a camera nobody records is worse than an uneven spread. Each take is one
  // statement on the lease's row (its row lock decides between nodes), only where the lease
  // expired.
  const size_t most = static_cast<size_t>(std::max(self_.max_cameras, 0));
  if (held_.size() < most) {
    std::set<std::string> leased;
    auto st = db_->prepare("SELECT camera_id FROM camera_lease WHERE expires_at >= now()");
    while (st.step()) leased.insert(st.text("camera_id"));
    const auto take_free = [&](size_t limit) {
      for (const std::string& camera : cameras) {
        if (held_.size() >= limit) break;
        if (leased.count(camera) || held_.count(camera)) continue;
        auto take = db_->prepare(
            "INSERT INTO camera_lease AS l (camera_id, node_id, epoch, expires_at) "
            "VALUES (:camera, :me, 1, now() + :lease * interval '1 millisecond') "
            "ON CONFLICT (camera_id) DO UPDATE SET node_id = excluded.node_id, "
            "epoch = l.epoch + 1, expires_at = excluded.expires_at WHERE l.expires_at < now() "
            "RETURNING epoch");
        take.bind(":camera", camera).bind(":me", self_.id).bind(":lease", lease_ms);
        leased.insert(camera);  // taken now, by this node or (no row back) by another
        if (!take.step()) continue;
        const int64_t epoch = take.int64("epoch");
        held_[camera] = Held{epoch, sent + self_.lease, sent};
        round.taken.push_back(Lease{camera, epoch});
      }
    };
    take_free(share);
    // Beyond the share only when no other node wants more: otherwise they take them.
    if (wanting == 0) take_free(most);
  }
  return round;
}

// A released lease belongs to no node (no node's id is empty), so that its renewal does not
// take it back; it is free at once.
void Membership::release_given_up() {
  for (const auto& [camera, epoch] : releasing_) {
    db_->prepare(
           "UPDATE camera_lease SET node_id = '', expires_at = '-infinity' "
           "WHERE camera_id = :camera AND node_id = :me AND epoch = :epoch")
        .bind(":camera", camera)
        .bind(":me", self_.id)
        .bind(":epoch", epoch)
        .run();
  }
  releasing_.clear();
}

std::vector<Lease> Membership::held() const {
  const SteadyTime now = clock_.steady_now();
  std::vector<Lease> out;
  for (const auto& [camera, h] : held_) {
    if (now < h.valid_until) out.push_back(Lease{camera, h.epoch});
  }
  return out;
}

bool Membership::holds(const std::string& camera) const {
  const auto it = held_.find(camera);
  return it != held_.end() && clock_.steady_now() < it->second.valid_until;
}

void Membership::leave() {
  for (const auto& [camera, h] : held_) releasing_.emplace_back(camera, h.epoch);
  held_.clear();
  release_given_up();
  db_->prepare("UPDATE node SET heartbeat_at = '-infinity' WHERE id = :id")
      .bind(":id", self_.id)
      .run();
}

}  // namespace vigil::cluster
