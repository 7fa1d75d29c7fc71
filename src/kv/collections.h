// The values of the aggregate types (hash, set): tables of distinct byte strings kept in the order
// they were first added. Each member carries a sequence number, increasing with every insert and
// never reused within one value, which is what SCAN-style cursors (HSCAN, SSCAN) resume from: a
// member present for the whole scan is returned exactly once, whatever is added or removed
// meanwhile. Sequence numbers are replicated state (the snapshot carries them), so the order and
// the cursors are the same on every node. Not thread safe.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/node_hash_map.h"
#include "common/checksum.h"

namespace bw::kv {

// Bytes a member counts for in the dataset estimate besides its own bytes (and its value's, for a
// hash field): its hash-table node and slot and its order-index slot.
inline constexpr size_t kMemberOverheadBytes = 64;

// Hashing and equality of member names that look up by std::string_view without a copy (the
// packaged abseil's string_view is its own type, so its default string hasher takes no
// std::string_view).
struct MemberHash {
  using is_transparent = void;
  size_t operator()(std::string_view name) const { return checksum64(name); }
};
struct MemberEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

// V: the payload of a member (std::string for a hash field's value; Empty for a set member).
template <typename V>
class OrderedTable {
 public:
  struct Item {
    uint64_t seq;
    V value;
  };
  using Node = std::pair<const std::string, Item>;
  // Members by sequence number: the table's order.
  using Order = absl::btree_map<uint64_t, const Node*>;
  using const_iterator = typename Order::const_iterator;

  OrderedTable() = default;
  OrderedTable(const OrderedTable&) = delete;
  OrderedTable& operator=(const OrderedTable&) = delete;

  size_t size() const { return by_name_.size(); }
  bool empty() const { return by_name_.empty(); }
  // The next sequence number insert() hands out.
  uint64_t next_seq() const { return next_seq_; }

  V* find(std::string_view name) {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second.value;
  }
  const V* find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second.value;
  }
  // The member's payload, created at the end of the order (with a default payload) if absent.
  // second: whether it was created.
  std::pair<V*, bool> insert(std::string_view name) {
    auto [it, inserted] = by_name_.try_emplace(std::string(name), Item{next_seq_, V{}});
    if (inserted) {
      order_.emplace(next_seq_++, &*it);
    }
    return {&it->second.value, inserted};
  }
  // Restore only: the member with an explicit sequence number. False if the name is present or
  // seq is not above every held one (images list members in order).
  bool restore(std::string_view name, uint64_t seq, V value) {
    if (seq < next_seq_) return false;
    auto [it, inserted] = by_name_.try_emplace(std::string(name), Item{seq, std::move(value)});
    if (!inserted) return false;
    order_.emplace(seq, &*it);
    next_seq_ = seq + 1;
    return true;
  }
  // Restore only: raises next_seq() to what the image recorded (members may have been removed
  // from the end). False if it would go down.
  bool restore_next_seq(uint64_t next) {
    if (next < next_seq_) return false;
    next_seq_ = next;
    return true;
  }
  bool erase(std::string_view name) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return false;
    order_.erase(it->second.seq);
    by_name_.erase(it);
    return true;
  }

  // In order: it->first is the sequence number, it->second->first the name and
  // it->second->second.value the payload.
  const_iterator begin() const { return order_.begin(); }
  const_iterator end() const { return order_.end(); }
  // First member with sequence number >= seq.
  const_iterator lower_bound(uint64_t seq) const { return order_.lower_bound(seq); }
  // The member at `rank` (0-based) in order: O(rank).
  const Node* at(size_t rank) const {
    auto it = order_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rank));
    return it->second;
  }

 private:
  absl::node_hash_map<std::string, Item, MemberHash, MemberEq>
      by_name_;  // nodes stay put: order_ points into them
  Order order_;
  uint64_t next_seq_ = 1;
};

struct Empty {
  bool operator==(const Empty&) const = default;
};

// A hash: field -> value. bytes() is what it adds to the dataset estimate.
class HashValue {
 public:
  using Table = OrderedTable<std::string>;
  Table& table() { return table_; }
  const Table& table() const { return table_; }
  size_t bytes() const { return bytes_; }
  // Keep bytes() right: call with the sizes a field and its value had and have (0, 0 = absent).
  void resized(size_t old_bytes, size_t new_bytes) { bytes_ = bytes_ - old_bytes + new_bytes; }
  static size_t field_bytes(std::string_view field, std::string_view value) {
    return field.size() + value.size() + kMemberOverheadBytes;
  }

 private:
  Table table_;
  size_t bytes_ = 0;
};

// A set of members. bytes() is what it adds to the dataset estimate.
class SetValue {
 public:
  using Table = OrderedTable<Empty>;
  Table& table() { return table_; }
  const Table& table() const { return table_; }
  size_t bytes() const { return bytes_; }
  void resized(size_t old_bytes, size_t new_bytes) { bytes_ = bytes_ - old_bytes + new_bytes; }
  static size_t member_bytes(std::string_view member) {
    return member.size() + kMemberOverheadBytes;
  }

 private:
  Table table_;
  size_t bytes_ = 0;
};

// Bytes a list element counts for in the dataset estimate besides its own bytes.
inline constexpr size_t kListElementOverheadBytes = 40;

// A list: elements in order, pushed and popped at both ends. bytes() is what it adds to the
// dataset estimate.
class ListValue {
 public:
  std::deque<std::string>& items() { return items_; }
  const std::deque<std::string>& items() const { return items_; }
  size_t bytes() const { return bytes_; }
  void resized(size_t old_bytes, size_t new_bytes) { bytes_ = bytes_ - old_bytes + new_bytes; }
  static size_t element_bytes(std::string_view element) {
    return element.size() + kListElementOverheadBytes;
  }

 private:
  std::deque<std::string> items_;
  size_t bytes_ = 0;
};

}  // namespace bw::kv
