// Coordination state beside the keyspace: leases (TTL handles keys can be attached to) and the
// holders of named elections/locks (one table: LOCK and ELECT share the namespace). Plain data
// with deadline indexes for leader-driven expiry; knows nothing about commands or time. Ordered
// containers so iteration (snapshots, extension, expiry) is the same on every replica.
// Not thread safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"

namespace bw::kv {

struct Lease {
  int64_t ttl_ms = 0;       // as granted; KEEPALIVE restarts it
  int64_t deadline_ms = 0;  // absolute unix ms; the lease lapses when deadline <= now
};

struct Holder {
  std::string holder;  // candidate id / lock owner
  uint64_t token = 0;  // log index of the entry that made `holder` win
  int64_t ttl_ms = 0;
  int64_t deadline_ms = 0;
};

class Coordination {
 public:
  using LeaseMap = absl::btree_map<uint64_t, Lease>;
  using HolderMap = absl::btree_map<std::string, Holder, std::less<>>;
  // (deadline_ms, id) and (deadline_ms, name): what expired_leases/expired_elections walk.
  using LeaseDeadlines = absl::btree_set<std::pair<int64_t, uint64_t>>;
  using HolderDeadlines = absl::btree_set<std::pair<int64_t, std::string>, std::less<>>;

  const Lease* find_lease(uint64_t id) const;
  // REQUIRES: id absent, deadline_ms > 0.
  void add_lease(uint64_t id, int64_t ttl_ms, int64_t deadline_ms);
  // REQUIRES: id present.
  void set_lease_deadline(uint64_t id, int64_t deadline_ms);
  void erase_lease(uint64_t id);

  const Holder* find_holder(std::string_view name) const;
  // Creates or replaces the holder of `name`. REQUIRES: h.deadline_ms > 0.
  void set_holder(std::string_view name, Holder h);
  // REQUIRES: name present.
  void set_holder_deadline(std::string_view name, int64_t deadline_ms);
  void erase_holder(std::string_view name);

  // Replaces every lease's and holder's deadline with new_deadline(deadline) (the failover
  // extension). REQUIRES: new_deadline returns a positive value.
  void extend_all(const std::function<int64_t(int64_t)>& new_deadline);

  const LeaseMap& leases() const { return leases_; }
  const HolderMap& elections() const { return holders_; }
  const LeaseDeadlines& lease_deadlines() const { return lease_deadlines_; }
  const HolderDeadlines& holder_deadlines() const { return holder_deadlines_; }
  void clear();

 private:
  LeaseMap leases_;
  HolderMap holders_;
  // Invariant: exactly one entry per lease / holder, keyed by its current deadline.
  LeaseDeadlines lease_deadlines_;
  HolderDeadlines holder_deadlines_;
};

}  // namespace bw::kv
