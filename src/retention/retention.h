// Retention: deletes the oldest footage so that every camera stays within its max_days and
// max_bytes, and the file system keeps min_free_space free. Only closed segments are ever
// deleted (never the one being written). Order of a deletion (docs/design/storage.md):
// row marked 'deleting' → file unlinked → directory synced → row removed.
// Footage and events under an evidence hold (held_footage.h) are never deleted, even when the
// disk fills: recording then stops on ENOSPC and held_full() says why (storage.md, "Holds").
// Thread-safe: passes are serialized by a mutex (the periodic thread and a recorder that hit
// ENOSPC may both ask).
// The periodic thread ("retention") is supervised (core/supervision.h): a pass that throws marks
// the "retention" component failed, and passes go on after a backoff.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"
#include "catalog/holds.h"
#include "retention/event_footage.h"
#include "retention/held_footage.h"
#include "retention/disk_space.h"
#include "retention/space_reserve.h"

namespace vigil {

struct RetentionPass {
  int deleted = 0;
  uint64_t bytes_freed = 0;
  std::vector<std::string> reasons;  // one line per deleted segment, for logs and tests
};

class Retention {
 public:
  Retention(Catalog& catalog, std::filesystem::path data_dir, uint64_t min_free_bytes,
            std::map<std::string, RetentionLimits> limits, const Clock& clock,
            const DiskSpace& disk, ComponentRegistry* components = nullptr);
  ~Retention();

  // One pass over every camera. `emergency`: a write just failed for lack of space, so free at
  // least one segment even if the limits are met.
  RetentionPass run_once(bool emergency = false);

  // New per-camera limits (a camera was added, changed or removed); the next pass uses them.
  void set_limits(std::map<std::string, RetentionLimits> limits);

  // Events: each pass removes events (rows, then snapshot files) older than their camera's
  // max_days, and, for the cameras recorded in mode "events" (event_footage.h), first deletes
  // their closed segments that no event (with its pre/post roll) overlaps, once older than the
  // policy's hold-back. `events` must outlive the Retention. Call before start().
  void set_events(EventStore& events, std::map<std::string, EventFootagePolicy> events_only = {});

  // Evidence holds: footage and events they cover are kept. `holds` must outlive the
  // Retention. Call before start().
  void set_holds(HoldStore& holds);

  // Records that follow their cameras' footage (till transactions, issue 19): called at the end
  // of every pass, on the pass's thread, with the active holds, to delete what no longer has
  // footage. Call before start().
  using FollowFootageFn = std::function<void(const HeldFootage& held)>;
  void set_follow_footage(FollowFootageFn fn) { follow_footage_ = std::move(fn); }

  // The archive tier (archive/archiver.h): deletes an archived segment's object from the store,
  // throwing on failure. Archived segments count for max_days only (max_bytes and the free-space
  // rule are about this disk); an archived one past max_days is deleted from the store before
  // its row, and a failed deletion leaves the row marked 'deleting' and is retried at the start
  // of each pass, without holding up the rest of the pass. Call before start().
  using RemoveObjectFn = std::function<void(const std::string& key)>;
  void set_archive(RemoveObjectFn fn) { remove_object_ = std::move(fn); }

  // Set by a pass that needed space (less than min_free_space free, or a failed write) and
  // found nothing left to delete but footage under a hold; cleared by a pass that deletes
  // something or finds min_free_space and twice the reserve free. Thread-safe.
  struct HeldFull {
    uint64_t free_bytes = 0;
    std::vector<std::string> held_cameras;  // the cameras whose held footage fills the disk
  };
  std::optional<HeldFull> held_full() const;

  // Told on the pass's thread when held_full() changes for a camera: `full` true when the camera
  // joins its held_cameras (held_full() starts, or lists it anew), false when it leaves them
  // (held_full() clears, or no longer lists it). Once per change, never once per pass, so that
  // MQTT and webhooks carry one problem notice each way (storage.md, "Holds"). Call before
  // start().
  using HeldFullFn =
      std::function<void(const std::string& camera, bool full, uint64_t free_bytes)>;
  void set_on_held_full(HeldFullFn fn) { on_held_full_ = std::move(fn); }

  // Deletes the space reserve so that a catalog write can go through on a full disk (an admin
  // releasing a hold when held footage fills it); true when there was one to delete. A later
  // pass recreates it once space is free again. Thread-safe.
  bool release_reserve();

  // Runs run_once every `period` on a thread of its own until stop().
  void start(std::chrono::milliseconds period);
  void stop();

 private:
  // False when it failed (logged); true when it is gone, or when it was archived since `row` was
  // read and is left for the caller's next read.
  bool delete_segment(const SegmentRow& row, const std::string& why, RetentionPass& pass);
  // The oldest closed segments of `camera` that no hold covers, at most `limit`, oldest first.
  // Held ones are stepped over a held range at a time (one indexed read per hold, not per
  // held segment).
  std::vector<SegmentRow> oldest_unheld(const std::string& camera, int limit,
                                        const HeldFootage& held, bool local_only = false);
  void retry_archive_deletes(RetentionPass& pass);
  bool mark_deleting(const SegmentRow& row);

  Catalog& catalog_;
  const std::filesystem::path data_dir_;
  const uint64_t min_free_bytes_;
  std::map<std::string, RetentionLimits> limits_;  // guarded by pass_mu_
  const Clock& clock_;
  const DiskSpace& disk_;
  const SpaceReserve reserve_;
  std::mutex pass_mu_;
  EventStore* events_ = nullptr;
  std::map<std::string, EventFootagePolicy> events_only_;
  HoldStore* holds_ = nullptr;
  FollowFootageFn follow_footage_;
  HeldFullFn on_held_full_;
  RemoveObjectFn remove_object_;
  mutable std::mutex held_full_mu_;
  std::optional<HeldFull> held_full_;  // guarded by held_full_mu_

  SupervisedThread thread_;
};

}  // namespace vigil
