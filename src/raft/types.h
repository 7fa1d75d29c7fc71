// Value types shared by the Raft core, its storage and its transport. Plain data, no behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ids.h"

namespace bw::raft {

enum class EntryType : uint8_t {
  kNormal = 0,      // application command (may be empty: the new leader's no-op)
  kConfChange = 1,  // data is an encoded ConfChange
};

struct Entry {
  Term term;
  LogIndex index;
  EntryType type = EntryType::kNormal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// Durable per-node state. Must be persisted (fsync'd) before any message that depends on it is
// sent (a vote, an append acknowledgement).
struct HardState {
  Term term;
  NodeId vote;  // kNoNode when not voted in `term`
  LogIndex commit;

  bool operator==(const HardState&) const = default;
};

// The membership of a group. `voters_outgoing` is non-empty only while a joint configuration
// (C_old,new) is in force.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  std::vector<NodeId> voters_outgoing;

  bool operator==(const ConfState&) const = default;
};

inline constexpr size_t kConfChangeContextBytesMax = 4096;

enum class ConfChangeType : uint8_t {
  kAddVoter = 0,    // add as voter, or promote an existing learner
  kAddLearner = 1,  // add as non-voting learner (or demote a voter)
  kRemoveNode = 2,
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node;
  // Opaque to Raft, replicated with the change: the application's description of the node
  // (Bellwether: its addresses, kv::encode_member). At most kConfChangeContextBytesMax.
  std::string context;

  bool operator==(const ConfChange&) const = default;
};

struct SnapshotMeta {
  LogIndex index;  // last entry covered by the snapshot
  Term term;       // its term
  ConfState conf;  // membership as of `index`

  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // state-machine image, opaque to Raft

  bool empty() const { return meta.index == LogIndex(0); }
};

enum class MessageType : uint8_t {
  kPreVote = 0,
  kPreVoteResp = 1,
  kVote = 2,
  kVoteResp = 3,
  kAppend = 4,
  kAppendResp = 5,
  kHeartbeat = 6,
  kHeartbeatResp = 7,
  kSnapshot = 8,      // one bounded chunk of a snapshot
  kSnapshotResp = 9,  // acknowledges a chunk (or rejects the transfer)
  kReadIndex = 10,    // follower -> leader: "what is your read index for ctx?"
  kReadIndexResp = 11,
  kTimeoutNow = 12,  // leader -> transfer target: campaign now
};

// One message between two members of one group. Fields not used by a type are left default.
struct Message {
  MessageType type = MessageType::kHeartbeat;
  GroupId group;
  NodeId from;
  NodeId to;
  Term term;

  // kAppend: the entry before `entries`; kVote/kPreVote: the candidate's last entry.
  Term log_term;
  LogIndex index;
  std::vector<Entry> entries;
  LogIndex commit;  // leader's commit index (kAppend, kHeartbeat)
  // kAppend without entries to a follower whose match the leader knows is `index`: it only
  // carries the commit index, and a follower that accepts it does not answer (the answer would
  // tell the leader nothing). A rejection is still answered.
  bool commit_only = false;

  // Responses.
  bool reject = false;
  LogIndex
      reject_hint;  // kAppendResp reject: last index where the follower may match (fast backtrack)
  Term hint_term;   // kAppendResp reject: term of the conflicting entry at reject_hint

  // kSnapshot: one chunk. `snapshot_offset` is the byte offset of `snapshot_chunk` within the
  // whole image; `snapshot_last` marks the final chunk. kSnapshotResp echoes the offset acked.
  SnapshotMeta snapshot_meta;
  uint64_t snapshot_offset = 0;
  std::string snapshot_chunk;
  bool snapshot_last = false;

  // kReadIndex / kReadIndexResp / kHeartbeat(Resp): opaque request context.
  std::string context;
};

// A read that may be served once the state machine has applied `index` (ReadIndex result).
struct ReadState {
  LogIndex index;
  std::string context;
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader, kLearner };

const char* role_name(Role r);
const char* message_type_name(MessageType t);

}  // namespace bw::raft
