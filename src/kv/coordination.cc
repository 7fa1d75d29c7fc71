#include "kv/coordination.h"

#include "common/assert.h"

namespace bw::kv {

const Lease* Coordination::find_lease(uint64_t id) const {
  auto it = leases_.find(id);
  return it == leases_.end() ? nullptr : &it->second;
}

void Coordination::add_lease(uint64_t id, int64_t ttl_ms, int64_t deadline_ms) {
  BW_ASSERT(deadline_ms > 0);
  auto [it, inserted] = leases_.try_emplace(id, Lease{ttl_ms, deadline_ms});
  BW_ASSERT(inserted, "lease {} granted twice", id);
  lease_deadlines_.emplace(deadline_ms, id);
}

void Coordination::set_lease_deadline(uint64_t id, int64_t deadline_ms) {
  BW_ASSERT(deadline_ms > 0);
  auto it = leases_.find(id);
  BW_ASSERT(it != leases_.end());
  size_t n = lease_deadlines_.erase({it->second.deadline_ms, id});
  BW_ASSERT(n == 1);
  it->second.deadline_ms = deadline_ms;
  lease_deadlines_.emplace(deadline_ms, id);
}

void Coordination::erase_lease(uint64_t id) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return;
  size_t n = lease_deadlines_.erase({it->second.deadline_ms, id});
  BW_ASSERT(n == 1);
  leases_.erase(it);
}

const Holder* Coordination::find_holder(std::string_view name) const {
  auto it = holders_.find(name);
  return it == holders_.end() ? nullptr : &it->second;
}

void Coordination::set_holder(std::string_view name, Holder h) {
  BW_ASSERT(h.deadline_ms > 0);
  auto it = holders_.find(name);
  if (it == holders_.end()) {
    it = holders_.emplace(std::string(name), Holder{}).first;
  } else {
    size_t n = holder_deadlines_.erase({it->second.deadline_ms, it->first});
    BW_ASSERT(n == 1);
  }
  it->second = std::move(h);
  holder_deadlines_.emplace(it->second.deadline_ms, it->first);
}

void Coordination::set_holder_deadline(std::string_view name, int64_t deadline_ms) {
  auto it = holders_.find(name);
  BW_ASSERT(it != holders_.end());
  Holder h = it->second;
  h.deadline_ms = deadline_ms;
  set_holder(name, std::move(h));
}

void Coordination::erase_holder(std::string_view name) {
  auto it = holders_.find(name);
  if (it == holders_.end()) return;
  size_t n = holder_deadlines_.erase({it->second.deadline_ms, it->first});
  BW_ASSERT(n == 1);
  holders_.erase(it);
}

void Coordination::extend_all(const std::function<int64_t(int64_t)>& new_deadline) {
  lease_deadlines_.clear();
  for (auto& [id, lease] : leases_) {
    lease.deadline_ms = new_deadline(lease.deadline_ms);
    BW_ASSERT(lease.deadline_ms > 0);
    lease_deadlines_.emplace(lease.deadline_ms, id);
  }
  holder_deadlines_.clear();
  for (auto& [name, h] : holders_) {
    h.deadline_ms = new_deadline(h.deadline_ms);
    BW_ASSERT(h.deadline_ms > 0);
    holder_deadlines_.emplace(h.deadline_ms, name);
  }
}

void Coordination::clear() {
  leases_.clear();
  holders_.clear();
  lease_deadlines_.clear();
  holder_deadlines_.clear();
}

}  // namespace bw::kv
