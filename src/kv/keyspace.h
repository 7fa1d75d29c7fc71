// The keyspace: string keys with a typed value, an absolute deadline and a version. A hash table
// finds keys; an ordered index by (64-bit hash, key) lets SCAN use the hash as a cursor that
// survives inserts and deletes; an index of deadlines serves active expiry. Knows nothing about
// commands or time. Not thread safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "kv/collections.h"

namespace bw::kv {

// The type of a key's value, as TYPE names it. Part of the snapshot format: only append.
enum class ValueType : uint8_t { kString = 0, kHash = 1, kSet = 2, kList = 3 };
// "string", "hash", "set", "list".
std::string_view type_name(ValueType type);

struct Record {
  std::string key;  // never changes while the record is in the keyspace (indexes point into it)
  ValueType type = ValueType::kString;
  std::string value;                // kString; empty otherwise
  std::unique_ptr<HashValue> hash;  // kHash: never null nor empty while the key exists
  std::unique_ptr<SetValue> set;    // kSet: likewise
  std::unique_ptr<ListValue> list;  // kList: likewise
  int64_t deadline_ms = 0;          // absolute unix ms; 0 = no deadline
  uint64_t version = 0;             // log index of the last modification
  uint64_t lease_id = 0;            // lease the key is attached to; 0 = none
  // Access tracking for LRU/LFU eviction: local to each node (reads touch keys only where they
  // are served), never part of the replicated state or the snapshot. Only the leader's choice of
  // keys to evict matters; the eviction itself is a log entry.
  uint64_t access_seq = 0;  // Keyspace::touch()'s counter at the last access (LRU)
  uint8_t lfu_counter = 0;  // Redis's logarithmic access counter (LFU)
};

// Redis's LFU constants: a new key starts at kLfuInitCounter; an access increments the counter
// with probability 1 / ((counter - kLfuInitCounter) * kLfuLogFactor + 1), saturating at 255.
inline constexpr uint8_t kLfuInitCounter = 5;
inline constexpr uint32_t kLfuLogFactor = 10;

// Bytes a record counts for in the dataset estimate besides its key and value bytes: the record
// itself, its hash-table slot and its ordered-index slot (see Keyspace::memory_bytes_estimate).
inline constexpr size_t kRecordOverheadBytes = 128;
// Extra bytes for a record with a deadline (deadline index) or a lease (lease index).
inline constexpr size_t kIndexEntryBytes = 24;

// The hash that orders the keyspace and forms SCAN cursors: XXH3-64 of the key bytes, the same on
// every node and release (cursors may be continued on another node).
uint64_t key_hash(std::string_view key);

class Keyspace {
 public:
  // The SCAN order: (hash, key). A null rec sorts before every key of its hash (lower_bound).
  struct Slot {
    uint64_t hash;
    const Record* rec;
  };
  struct SlotLess {
    bool operator()(const Slot& a, const Slot& b) const {
      if (a.hash != b.hash) return a.hash < b.hash;
      if (a.rec == nullptr || b.rec == nullptr) return a.rec == nullptr && b.rec != nullptr;
      return a.rec->key < b.rec->key;
    }
  };
  using Order = absl::btree_set<Slot, SlotLess>;
  using const_iterator = Order::const_iterator;

  Keyspace() = default;
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;
  // Moves keep records in place, so the indexes' pointers stay valid.
  Keyspace(Keyspace&&) = default;
  Keyspace& operator=(Keyspace&&) = default;

  // The record of `key` whatever its deadline, or null.
  Record* find(std::string_view key);
  const Record* find(std::string_view key) const;
  // REQUIRES: `key` absent. Creates an empty record without deadline; the pointer stays valid
  // until the key is erased or the keyspace cleared.
  Record* insert(std::string_view key);
  void erase(const Record* rec);
  // Sets the deadline (0 = none), keeping the deadline index in step. Use instead of assigning.
  void set_deadline(Record* rec, int64_t deadline_ms);
  // Attaches the record to a lease (0 = detach), keeping the lease index in step.
  void set_lease(Record* rec, uint64_t lease_id);
  void clear();

  size_t size() const { return table_.size(); }
  size_t volatile_count() const { return deadlines_.size(); }
  size_t value_bytes() const { return value_bytes_; }
  // The dataset estimate (store.h memory_bytes_estimate): a function of the contents only.
  size_t memory_bytes_estimate() const;
  // What erasing `rec` takes off memory_bytes_estimate().
  static size_t record_bytes(const Record& rec);
  // An access for LRU/LFU: stamps rec->access_seq with the next access number and bumps the LFU
  // counter when `random` (uniform 64-bit) falls under its probability. Not replicated state.
  void touch(Record* rec, uint64_t random);
  uint64_t access_seq() const { return access_seq_; }
  // Call after changing rec->value's size so value_bytes() stays right (or an aggregate's
  // bytes(): value_size() of the record before and after).
  void value_resized(size_t old_size, size_t new_size) {
    value_bytes_ = value_bytes_ - old_size + new_size;
  }
  // What a record's value counts for in value_bytes(): the string's size, an aggregate's bytes().
  static size_t value_size(const Record& rec);
  // Makes `rec` an empty value of `type` (a string "", a new empty hash or set), releasing what
  // it held and keeping value_bytes() right.
  void reset_value(Record* rec, ValueType type);

  // Records in (hash, key) order.
  const_iterator begin() const { return order_.begin(); }
  const_iterator end() const { return order_.end(); }
  // First record with hash >= `hash`.
  const_iterator lower_bound(uint64_t hash) const {
    return order_.lower_bound(Slot{hash, nullptr});
  }

  // Records with a deadline, in (deadline, key) order.
  struct DeadlineRef {
    int64_t deadline_ms;
    const Record* rec;
  };
  struct DeadlineLess {
    bool operator()(const DeadlineRef& a, const DeadlineRef& b) const {
      if (a.deadline_ms != b.deadline_ms) return a.deadline_ms < b.deadline_ms;
      return a.rec->key < b.rec->key;
    }
  };
  using DeadlineSet = absl::btree_set<DeadlineRef, DeadlineLess>;
  const DeadlineSet& deadlines() const { return deadlines_; }

  // Records attached to a lease, in (lease_id, key) order.
  struct LeaseRef {
    uint64_t lease_id;
    const Record* rec;
  };
  struct LeaseLess {
    bool operator()(const LeaseRef& a, const LeaseRef& b) const {
      if (a.lease_id != b.lease_id) return a.lease_id < b.lease_id;
      if (a.rec == nullptr || b.rec == nullptr) return a.rec == nullptr && b.rec != nullptr;
      return a.rec->key < b.rec->key;
    }
  };
  using LeaseSet = absl::btree_set<LeaseRef, LeaseLess>;
  // Keys of lease `id` in key order (a copy: callers delete them while walking).
  std::vector<std::string> lease_keys(uint64_t lease_id) const;
  size_t attached_count() const { return leased_.size(); }

 private:
  struct KeyHasher {
    size_t operator()(std::string_view key) const { return key_hash(key); }
  };
  // Owns the records; point lookups. Keys are views of Record::key.
  absl::flat_hash_map<std::string_view, std::unique_ptr<Record>, KeyHasher> table_;
  // Invariant: one slot per record in table_.
  Order order_;
  // Invariant: holds exactly the records with deadline_ms != 0, keyed by their deadline_ms.
  DeadlineSet deadlines_;
  // Invariant: holds exactly the records with lease_id != 0, keyed by their lease_id.
  LeaseSet leased_;
  size_t value_bytes_ = 0;
  size_t key_bytes_ = 0;
  uint64_t access_seq_ = 0;  // touch() counter (local, not replicated)
};

}  // namespace bw::kv
