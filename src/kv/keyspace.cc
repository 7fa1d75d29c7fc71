#include "kv/keyspace.h"

#include "common/assert.h"
#include "common/checksum.h"

namespace bw::kv {

uint64_t key_hash(std::string_view key) {
  return checksum64(key);
}

std::string_view type_name(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kHash:
      return "hash";
    case ValueType::kSet:
      return "set";
    case ValueType::kList:
      return "list";
  }
  return "none";
}

size_t Keyspace::value_size(const Record& rec) {
  switch (rec.type) {
    case ValueType::kString:
      return rec.value.size();
    case ValueType::kHash:
      return rec.hash->bytes();
    case ValueType::kSet:
      return rec.set->bytes();
    case ValueType::kList:
      return rec.list->bytes();
  }
  return 0;
}

void Keyspace::reset_value(Record* rec, ValueType type) {
  value_bytes_ -= value_size(*rec);
  rec->value = std::string();
  rec->hash.reset();
  rec->set.reset();
  rec->list.reset();
  rec->type = type;
  if (type == ValueType::kHash) rec->hash = std::make_unique<HashValue>();
  if (type == ValueType::kSet) rec->set = std::make_unique<SetValue>();
  if (type == ValueType::kList) rec->list = std::make_unique<ListValue>();
}

Record* Keyspace::find(std::string_view key) {
  auto it = table_.find(key);
  return it == table_.end() ? nullptr : it->second.get();
}

const Record* Keyspace::find(std::string_view key) const {
  auto it = table_.find(key);
  return it == table_.end() ? nullptr : it->second.get();
}

Record* Keyspace::insert(std::string_view key) {
  auto rec = std::make_unique<Record>();
  rec->key.assign(key);
  Record* raw = rec.get();
  auto [it, inserted] = table_.try_emplace(std::string_view(raw->key), std::move(rec));
  BW_ASSERT(inserted, "insert of a present key");
  auto [pos, ordered] = order_.insert(Slot{key_hash(key), raw});
  BW_ASSERT(ordered);
  key_bytes_ += key.size();
  raw->lfu_counter = kLfuInitCounter;
  raw->access_seq = ++access_seq_;
  return raw;
}

void Keyspace::erase(const Record* rec) {
  if (rec->deadline_ms != 0) {
    size_t n = deadlines_.erase(DeadlineRef{rec->deadline_ms, rec});
    BW_ASSERT(n == 1);
  }
  if (rec->lease_id != 0) {
    size_t n = leased_.erase(LeaseRef{rec->lease_id, rec});
    BW_ASSERT(n == 1);
  }
  size_t n = order_.erase(Slot{key_hash(rec->key), rec});
  BW_ASSERT(n == 1);
  value_bytes_ -= value_size(*rec);
  key_bytes_ -= rec->key.size();
  // Erase by iterator: the lookup key points into the record the erase destroys.
  auto it = table_.find(std::string_view(rec->key));
  BW_ASSERT(it != table_.end());
  table_.erase(it);
}

void Keyspace::set_deadline(Record* rec, int64_t deadline_ms) {
  BW_ASSERT(deadline_ms >= 0);
  if (rec->deadline_ms == deadline_ms) return;
  if (rec->deadline_ms != 0) {
    size_t n = deadlines_.erase(DeadlineRef{rec->deadline_ms, rec});
    BW_ASSERT(n == 1);
  }
  rec->deadline_ms = deadline_ms;
  if (deadline_ms != 0) {
    auto [it, inserted] = deadlines_.insert(DeadlineRef{deadline_ms, rec});
    BW_ASSERT(inserted);
  }
}

void Keyspace::set_lease(Record* rec, uint64_t lease_id) {
  if (rec->lease_id == lease_id) return;
  if (rec->lease_id != 0) {
    size_t n = leased_.erase(LeaseRef{rec->lease_id, rec});
    BW_ASSERT(n == 1);
  }
  rec->lease_id = lease_id;
  if (lease_id != 0) {
    auto [it, inserted] = leased_.insert(LeaseRef{lease_id, rec});
    BW_ASSERT(inserted);
  }
}

std::vector<std::string> Keyspace::lease_keys(uint64_t lease_id) const {
  std::vector<std::string> out;
  for (auto it = leased_.lower_bound(LeaseRef{lease_id, nullptr});
       it != leased_.end() && it->lease_id == lease_id; ++it) {
    out.push_back(it->rec->key);
  }
  return out;
}

void Keyspace::clear() {
  deadlines_.clear();
  leased_.clear();
  order_.clear();
  table_ = decltype(table_)();  // clear() would keep the bucket array: FLUSHALL frees memory
  value_bytes_ = 0;
  key_bytes_ = 0;
}

size_t Keyspace::memory_bytes_estimate() const {
  // Deterministic: the same contents give the same figure on every node, whatever order of
  // inserts and deletes (or snapshot restore) built them; allocator slack and hash-table
  // capacity are folded into the per-record constant rather than measured.
  return key_bytes_ + value_bytes_ + table_.size() * kRecordOverheadBytes +
         (deadlines_.size() + leased_.size()) * kIndexEntryBytes;
}

size_t Keyspace::record_bytes(const Record& rec) {
  return rec.key.size() + value_size(rec) + kRecordOverheadBytes +
         (rec.deadline_ms != 0 ? kIndexEntryBytes : 0) + (rec.lease_id != 0 ? kIndexEntryBytes : 0);
}

void Keyspace::touch(Record* rec, uint64_t random) {
  rec->access_seq = ++access_seq_;
  if (rec->lfu_counter == 255) return;
  const uint64_t base = rec->lfu_counter > kLfuInitCounter ? rec->lfu_counter - kLfuInitCounter : 0;
  // Increment with probability 1 / (base * factor + 1): random % (base * factor + 1) == 0.
  if (random % (base * kLfuLogFactor + 1) == 0) ++rec->lfu_counter;
}

}  // namespace bw::kv
