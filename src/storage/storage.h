// Bellwether's durable storage for one node: a data directory holding the node's identity, one
// segmented WAL shared by all the node's Raft groups, and snapshot files. Formats and recovery
// rules: docs/storage-format.md.
//
// How the server uses it:
//
//   storage::PosixFileSystem fs;
//   storage::Options opt{.dir = "/var/lib/bellwether", .identity = {"prod-1", NodeId(3)}};
//   BW_ASSIGN_OR_RETURN(auto st, storage::Storage::open(&fs, opt));   // recovers everything
//   for (GroupId g : st->groups()) {
//     const storage::RecoveredState& rec = st->recovered(g);         // hard state, conf, snap
//     raft::Snapshot snap = *st->group(g)->snapshot();                 // restore the state machine
//     RawNode node(cfg, st->group(g), {rec.hard_state, rec.conf, rec.snapshot.index});
//   }
//   // A group created now: st->create_group(g) gives an empty log.
//
//   // Per Raft Ready (event-loop thread), then send messages and continue without waiting:
//   st->submit({.group = g, .hard_state = rd.hard_state, .entries = rd.entries,
//               .snapshot = rd.snapshot},
//              [loop](Status s) { loop->post(...); });   // runs on the writer thread once
//                                                       // durable; a leader's entries are
//                                                       // readable from st->group(g) already
//   // After applying a conf change: submit({.group = g, .conf = new_conf}, cb).
//   // Periodically, after serialising the state machine at `applied`:
//   st->save_snapshot(g, {applied, term_at_applied, conf}, image);   // blocks until durable
//   st->compact(g, applied - keep_entries);  // drops entries; obsolete segments are removed
//
// The simulator opens it with `writer_thread = false` on a FaultFileSystem and calls
// drain() (or write_sync()) itself: the same code, single-threaded and deterministic.
//
// Errors: a failed write or fsync makes the Storage fail every later write with the same
// status (after a failed fsync the kernel may have dropped the dirty pages: retrying could
// report durability that does not exist). The node must stop and restart, which recovers.
//
// Thread safety: all public methods may be called from any thread. Callbacks run on the
// writer thread (or inside drain()/write_sync() in synchronous mode), in submit order, and
// must not call back into submit(), write_sync() or drain().
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/histogram.h"
#include "common/status.h"
#include "raft/types.h"
#include "storage/file_system.h"
#include "storage/group_log.h"
#include "storage/identity.h"
#include "storage/snapshot_file.h"
#include "storage/wal.h"

namespace bw::storage {

enum class FsyncPolicy : uint8_t {
  // fdatasync before a write is reported durable (default). The only policy under which an
  // acknowledged write survives a power loss of a majority.
  kAlways,
  // Never fdatasync on the write path (a full segment is still synced when it is closed).
  // Survives a process crash (the kernel holds the data) but not a power loss or kernel
  // crash: the node may lose writes it acknowledged, which breaks Raft's promises if a
  // majority loses power together. Relies on replication alone.
  kNone,
};

struct Options {
  std::string dir;
  Identity identity;
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  uint64_t segment_bytes_max = 64 << 20;
  uint64_t preallocate_bytes = kPreallocateBytes;  // WAL zero-fill ahead of the end; 0: none
  uint64_t write_bytes_max = 8 << 20;              // one write of the writer gathers up to this
  uint64_t queue_bytes_max = 256 << 20;            // submitters wait while more is queued
  uint64_t snapshot_bytes_max = 1 << 30;           // largest image LogStorage::snapshot() loads
  bool writer_thread = true;                       // false: the caller drives drain()
};

// What recovery found for a group at open().
struct RecoveredState {
  raft::HardState hard_state;  // default if never written
  raft::ConfState conf;        // from the latest conf record or snapshot
  raft::SnapshotMeta snapshot;
  LogIndex first_index;
  LogIndex last_index;
};

// One Raft Ready's worth of durable changes for one group. Written in this order: snapshot
// (installed), entries, conf, hard state; so any crash leaves a prefix that makes sense.
struct WriteBatch {
  GroupId group;
  std::optional<raft::HardState> hard_state;
  std::vector<raft::Entry> entries;        // replaces any conflicting suffix
  std::optional<raft::Snapshot> snapshot;  // received from the leader: replaces the log
  std::optional<raft::ConfState> conf;     // membership after applying a conf change
  // Whether anyone waits for this write. A write that only moves the commit index needs no
  // sync (a restarted node relearns it): it is not fdatasync'd and does not wake the writer; it
  // goes out with the next write that does (or a drain, or the close), whose fdatasync covers it.
  bool sync = true;
};

using WriteCallback = std::function<void(Status)>;

class Storage {
 public:
  // Opens or initialises `options.dir`: checks the identity, recovers the WAL (cutting a torn
  // tail), verifies the snapshots it refers to, removes leftovers, starts a new segment.
  // Errors: FailedPrecondition for another node's directory; DataLoss (naming file and
  // offset) for corruption; I/O errors.
  static Result<std::unique_ptr<Storage>> open(FileSystem* fs, Options options);
  // Stops the writer after finishing queued writes.
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Groups with any durable state, and what recovery found (REQUIRES: g was recovered).
  std::vector<GroupId> groups() const;
  const RecoveredState& recovered(GroupId g) const;
  bool was_recovered(GroupId g) const;

  // The group's log for its RawNode; nullptr if unknown. Valid until the Storage is destroyed.
  GroupLog* group(GroupId g);
  GroupLog* create_group(GroupId g);

  // Applies `batch` to the group's in-memory log now (visible to group(g) at once) and queues
  // it for the WAL. OK: `done` will be called exactly once with the durability outcome.
  // Error (nothing applied, `done` not called): InvalidArgument for a malformed batch, the
  // sticky write error, or an I/O error writing a received snapshot's file. May block while
  // queue_bytes_max is exceeded (or drain, in synchronous mode).
  Status submit(WriteBatch batch, WriteCallback done);
  // submit() and wait until durable.
  Status write_sync(WriteBatch batch);
  // Synchronous mode: writes everything queued (one write + one fsync per write_bytes_max)
  // and runs the callbacks. In threaded mode: waits until the queue is empty.
  void drain();

  // Writes a snapshot of the group's state machine taken at meta.index (which must be in the
  // log with meta.term) and records it; returns once durable. Older snapshot files go.
  Status save_snapshot(GroupId g, const raft::SnapshotMeta& meta, std::string_view data);
  // The same for a snapshot another process already wrote, with write_snapshot_file, at
  // snapshot_file(g, meta.index) (the server encodes its snapshots in a forked child).
  Status adopt_snapshot(GroupId g, const raft::SnapshotMeta& meta);
  std::string snapshot_file(GroupId g, LogIndex index) const { return snapshot_path(g, index); }
  // Discards the group's entries up to `index` (<= its snapshot index). Durable with the next
  // write; WAL segments holding only compacted entries are then removed.
  Status compact(GroupId g, LogIndex index);

  // The snapshot file of group g, verified, for streaming to a follower in chunks.
  Result<std::unique_ptr<SnapshotReader>> open_snapshot(GroupId g);

  // The sticky write error, OK while healthy.
  Status health() const;
  const Options& options() const { return options_; }
  std::string wal_dir() const;
  std::string snapshot_dir() const;
  // Time each fdatasync of the WAL took (on the writer); readable from any thread.
  const AtomicLatencyCounts& fsync_latency() const { return fsync_latency_; }
  // Gathered WAL writes done and the log entries they carried (on the writer); readable from any
  // thread. fsync_latency().count is the number of fdatasyncs.
  uint64_t wal_writes() const { return wal_writes_.load(std::memory_order_relaxed); }
  uint64_t wal_entries_written() const { return wal_entries_.load(std::memory_order_relaxed); }

 private:
  struct Slot;
  struct Pending {
    std::string records;
    GroupChange change;
    WriteCallback done;
    uint64_t entries = 0;
    bool sync = true;
  };

  Storage(FileSystem* fs, Options options);
  Status recover();
  Status clean_snapshot_dir(const std::map<GroupId, RecoveredGroup>& groups);
  Slot* slot(GroupId g);
  Status enqueue(Pending p);
  std::vector<Pending> take_batch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_);
  // The writer has work: a write someone waits for, a drain, the close, or a full write's worth.
  bool writer_has_work() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_);
  void write_batch(std::vector<Pending>& batch);
  void remove_old_snapshots(GroupId g, LogIndex keep_from);
  void writer_loop();
  Result<raft::Snapshot> load_snapshot(GroupId g, const raft::SnapshotMeta& meta);
  struct Waiter;
  // Makes p.done signal the returned waiter; wait() returns its status once durable.
  static std::shared_ptr<Waiter> attach_waiter(Pending& p);
  Status wait(const std::shared_ptr<Waiter>& waiter);
  std::string snapshot_path(GroupId g, LogIndex index) const;
  Status save_snapshot_with(GroupId g, const raft::SnapshotMeta& meta,
                            const std::function<Status(const std::string&)>& file);

  FileSystem* const fs_;
  const Options options_;
  std::map<GroupId, RecoveredState> recovered_;  // immutable after open

  mutable absl::Mutex groups_mu_;
  std::map<GroupId, std::unique_ptr<Slot>> groups_ ABSL_GUARDED_BY(groups_mu_);

  // Writer state: touched only by the writer (thread, or drain() under drain_mu_).
  std::mutex drain_mu_;
  std::unique_ptr<Wal> wal_;

  mutable absl::Mutex queue_mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(queue_mu_);
  uint64_t queued_bytes_ ABSL_GUARDED_BY(queue_mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(queue_mu_) = false;      // a batch is being written
  uint64_t sync_queued_ ABSL_GUARDED_BY(queue_mu_) = 0;  // queued writes someone waits for
  int drains_waiting_ ABSL_GUARDED_BY(queue_mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  Status failed_ ABSL_GUARDED_BY(queue_mu_);
  std::thread writer_;
  AtomicLatencyCounts fsync_latency_;
  std::atomic<uint64_t> wal_writes_{0};
  std::atomic<uint64_t> wal_entries_{0};
};

}  // namespace bw::storage
