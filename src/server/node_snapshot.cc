// Snapshots of the node's store: taken in a forked child when enough entries were applied
// (maybe_snapshot), adopted once the child has written the file, and installed from a leader.
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
}

void Node::maybe_snapshot() {
  const LogIndex applied = replica_->applied();
  if (snapshot_child_ || applied - snapshot_index_ < config_.snapshot_entries) return;
  if (now_ms() < snapshot_retry_ms_) return;  // the last attempt failed: not in a tight loop
  // No term for the applied index: a received snapshot replaced the log and is still on its
  // way to the disk (it reaches the store once durable). The next call snapshots.
  auto term = log_->term(applied);
  if (!term.ok()) return;
  const raft::SnapshotMeta meta{.index = applied, .term = *term, .conf = replica_->conf()};
  const std::string path = storage_->snapshot_file(kDataGroup, applied);
  // Encoding and writing a large keyspace takes seconds: a forked child does it from its
  // copy-on-write image of the store as of `applied`, while this process goes on serving and
  // heartbeating (as Redis's BGSAVE does). The child touches nothing but the store and the file.
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
    storage::PosixFileSystem fs;
    const Status st =
        storage::write_snapshot_file(fs, path, kDataGroup, meta, replica_->store().snapshot());
    ::_exit(st.ok() ? 0 : 1);
  }
  if (pid < 0) {
    spdlog::error("node {}: cannot fork to write a snapshot: {}", config_.id, std::strerror(errno));
    snapshot_retry_ms_ = now_ms() + kSnapshotRetryMs;
    return;
  }
  snapshot_child_ = SnapshotChild{.pid = pid,
                                  .meta = meta,
                                  .keys = replica_->store().key_count(),
                                  .started = std::chrono::steady_clock::now()};
}

void Node::poll_snapshot_child() {
  if (!snapshot_child_) return;
  int wstatus = 0;
  const pid_t r = ::waitpid(snapshot_child_->pid, &wstatus, WNOHANG);
  if (r == 0) return;  // still writing
  const SnapshotChild child = *snapshot_child_;
  snapshot_child_.reset();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - child.started)
                      .count();
  if (r < 0 || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    spdlog::error("node {}: snapshot at index {} failed in its writer process (status {})",
                  config_.id, child.meta.index, wstatus);
    snapshot_retry_ms_ = now_ms() + kSnapshotRetryMs;
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
    return;
  }
  snapshot_index_ = std::max(snapshot_index_, child.meta.index);
  ++counters_.snapshots_taken;
  // The compacted entries were many small blocks scattered through the heap; hand their pages
  // back to the system instead of keeping the log's high-water mark resident.
  ::malloc_trim(0);
  log_event(spdlog::level::info, "snapshot_written",
            {{"index", child.meta.index}, {"keys", child.keys}, {"ms", ms}},
            "node {}: snapshot at index {} ({} keys) written in {} ms", config_.id,
            child.meta.index, child.keys, ms);
  maybe_snapshot();
}

void Node::stop_snapshot_child() {
  if (!snapshot_child_) return;
  ::kill(snapshot_child_->pid, SIGKILL);
  ::waitpid(snapshot_child_->pid, nullptr, 0);
  snapshot_child_.reset();
}

}  // namespace bw::server
