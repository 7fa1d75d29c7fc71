// Snapshots of the node's store: taken in a forked child when enough entries were applied
// (maybe_snapshot) or when SAVE/BGSAVE ask, adopted once the child has written the file, and
// installed from a leader. The same forked writer takes backups (backup.cc).
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "server/log_format.h"
#include "server/node.h"
#include "storage/snapshot_file.h"

namespace bw::server {

void Node::on_snapshot_installed(const raft::SnapshotMeta& meta) {
  snapshot_index_ = meta.index;
  ++counters_.snapshots_installed;
  log_event(spdlog::level::info, "snapshot_installed",
            {{"index", meta.index}, {"keys", replica_->store().key_count()}},
            "node {}: installed snapshot at index {} ({} keys)", config_.id, meta.index,
            replica_->store().key_count());
  sync_peers();
  sync_acl();
}

void Node::maybe_snapshot() {
  if (snapshot_child_) return;
  if (start_backup_child()) return;  // a backup past its barrier goes first: a client waits
  const bool requested = backup_.save.requested;
  const LogIndex applied = replica_->applied();
  if (!requested) {
    if (applied - snapshot_index_ < config_.snapshot_entries) return;
    if (now_ms() < snapshot_retry_ms_) return;  // the last attempt failed: not in a tight loop
  }
  start_raft_snapshot(requested);
}

void Node::start_raft_snapshot(bool requested) {
  const LogIndex applied = replica_->applied();
  if (requested && applied == snapshot_index_) {
    // The durable snapshot already holds everything applied: that is the save asked for.
    backup_.save.requested = false;
    backup_.save.waiters = std::move(backup_.save.next_waiters);
    backup_.save.next_waiters.clear();
    finish_save(true, 0);
    return;
  }
  // No term for the applied index: a received snapshot replaced the log and is still on its
  // way to the disk (it reaches the store once durable). The next call snapshots.
  auto term = log_->term(applied);
  if (!term.ok()) return;
  const raft::SnapshotMeta meta{.index = applied, .term = *term, .conf = replica_->conf()};
  const std::string path = storage_->snapshot_file(kDataGroup, applied);
  const SnapshotChild child{.job = ChildJob::kSnapshot, .requested = requested, .meta = meta};
  const bool forked = fork_snapshot_child(child, [&] {
    storage::PosixFileSystem fs;
    return storage::write_snapshot_file(fs, path, kDataGroup, meta, replica_->store().snapshot());
  });
  if (requested) {
    backup_.save.requested = false;
    backup_.save.waiters = std::move(backup_.save.next_waiters);
    backup_.save.next_waiters.clear();
    if (!forked) finish_save(false, 0);
  }
  if (!forked) snapshot_retry_ms_ = now_ms() + kSnapshotRetryMs;
}

bool Node::fork_snapshot_child(const SnapshotChild& child, const std::function<Status()>& write) {
  // Encoding and writing a large keyspace takes seconds: a forked child does it from its
  // copy-on-write image of the store, while this process goes on serving and heartbeating (as
  // Redis's BGSAVE does). The child touches nothing but the store and its file.
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child holds no socket of ours (a killed node's port must free at once, a closed
    // client must see its connection end) and dies with its parent.
    ::close_range(3, ~0U, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    // Lowest normal CPU priority: on a busy machine the nodes' event loops (heartbeats) come
    // first, yet the snapshot still progresses (SCHED_IDLE could starve it behind any load).
    (void)::setpriority(PRIO_PROCESS, 0, 19);
    const Status st = write();
    ::_exit(st.ok() ? 0 : 1);
  }
  if (pid < 0) {
    spdlog::error("node {}: cannot fork to write a snapshot: {}", config_.id, std::strerror(errno));
    return false;
  }
  snapshot_child_ = child;
  snapshot_child_->pid = pid;
  snapshot_child_->keys = replica_->store().key_count();
  snapshot_child_->started = std::chrono::steady_clock::now();
  return true;
}

void Node::poll_snapshot_child() {
  expire_backups();
  if (!snapshot_child_) {
    // A save or backup that could not start when asked (no term for the applied index yet).
    if (backup_.save.requested || !backup_.to_write.empty()) maybe_snapshot();
    return;
  }
  int wstatus = 0;
  const pid_t r = ::waitpid(snapshot_child_->pid, &wstatus, WNOHANG);
  if (r == 0) return;  // still writing
  const SnapshotChild child = *snapshot_child_;
  snapshot_child_.reset();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - child.started)
                      .count();
  const bool written = r > 0 && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
  if (!written) {
    spdlog::error("node {}: {} at index {} failed in its writer process (status {})", config_.id,
                  child.job == ChildJob::kBackup ? "backup" : "snapshot", child.meta.index,
                  wstatus);
  }
  if (child.job == ChildJob::kBackup) {
    finish_backup(child, written);
  } else {
    finish_raft_snapshot(child, written, ms);
  }
  if (backup_.save.scheduled) {  // BGSAVE SCHEDULE waited for this writer
    backup_.save.scheduled = false;
    backup_.save.requested = true;
  }
  maybe_snapshot();
}

void Node::finish_raft_snapshot(const SnapshotChild& child, bool written, int64_t ms) {
  if (!written) {
    snapshot_retry_ms_ = now_ms() + kSnapshotRetryMs;
    finish_save(false, ms);
    return;
  }
  Status st = storage_->adopt_snapshot(kDataGroup, child.meta);
  const LogIndex compact_to = child.meta.index.value() > config_.snapshot_keep_entries
                                  ? child.meta.index - config_.snapshot_keep_entries
                                  : LogIndex(0);
  if (st.ok() && compact_to > log_->first_index()) st = storage_->compact(kDataGroup, compact_to);
  if (!st.ok()) {
    // E.g. a snapshot from the leader was installed meanwhile and supersedes this one.
    spdlog::warn("node {}: snapshot at {} not recorded: {}", config_.id, child.meta.index, st);
    finish_save(false, ms);
    return;
  }
  snapshot_index_ = std::max(snapshot_index_, child.meta.index);
  ++counters_.snapshots_taken;
  counters_.snapshot_last_duration_ms = static_cast<uint64_t>(ms);
  std::error_code size_error;
  const auto bytes =
      std::filesystem::file_size(storage_->snapshot_file(kDataGroup, child.meta.index), size_error);
  counters_.snapshot_last_bytes = size_error ? 0 : bytes;
  finish_save(true, ms);
  // The compacted entries were many small blocks scattered through the heap; hand their pages
  // back to the system instead of keeping the log's high-water mark resident.
  ::malloc_trim(0);
  log_event(spdlog::level::info, "snapshot_written",
            {{"index", child.meta.index}, {"keys", child.keys}, {"ms", ms}},
            "node {}: snapshot at index {} ({} keys) written in {} ms", config_.id,
            child.meta.index, child.keys, ms);
}

void Node::stop_snapshot_child() {
  if (!snapshot_child_) return;
  ::kill(snapshot_child_->pid, SIGKILL);
  ::waitpid(snapshot_child_->pid, nullptr, 0);
  snapshot_child_.reset();
}

}  // namespace bw::server
