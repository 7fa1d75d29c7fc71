// SAVE, BGSAVE, LASTSAVE and the BACKUP family (backup.h); the writer process they share with Raft
// snapshots is in node_snapshot.cc.
#include "server/backup.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "absl/strings/match.h"
#include "server/args.h"
#include "server/node.h"
#include "server/node_call.h"
#include "storage/backup_file.h"

namespace bw::server {

namespace {

bool parse_u64(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string Node::backup_dir() const {
  return storage::join_path(config_.data_dir, kBackupDirName);
}

Status Node::start_backups() {
  backup_.save.last_save_unix_s = now_ms() / 1000;  // as Redis: LASTSAVE starts at start time
  const std::string dir = backup_dir();
  BW_RETURN_IF_ERROR(fs_.create_dir(dir));
  BW_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.list(dir));
  for (const std::string& name : names) {
    spdlog::info("node {}: removing backup {} left by a previous run", config_.id, name);
    BW_RETURN_IF_ERROR(fs_.remove(storage::join_path(dir, name)));
  }
  return OkStatus();
}

void Node::finish_save(bool ok, int64_t ms) {
  SaveState& s = backup_.save;
  s.last_ok = ok;
  s.last_duration_s = ms / 1000;
  if (ok) s.last_save_unix_s = now_ms() / 1000;
  std::vector<ReplyTo> waiters = std::move(s.waiters);
  s.waiters.clear();
  for (const ReplyTo& to : waiters) {
    if (ok) {
      std::string out;
      resp::Writer(&out, to.protocol).simple("OK");
      reply(to, std::move(out));
    } else {
      reply_error(to, "ERR snapshot failed: see the node's log");
    }
  }
}

// ---- backups -----------------------------------------------------------------------------------

bool Node::start_backup_child() {
  if (backup_.to_write.empty()) return false;
  const LogIndex applied = replica_->applied();
  auto term = log_->term(applied);
  if (!term.ok()) return false;  // a received snapshot is on its way to the disk: next tick
  const uint64_t id = backup_.to_write.front();
  backup_.to_write.pop_front();
  auto it = backup_.backups.find(id);
  if (it == backup_.backups.end()) return false;
  Backup& b = it->second;
  b.meta = raft::SnapshotMeta{.index = applied, .term = *term, .conf = replica_->conf()};
  const storage::BackupInfo info{.cluster_id = config_.cluster_id,
                                 .source_node = config_.id,
                                 .created_unix_ms = now_ms(),
                                 .meta = b.meta};
  const std::string path = b.path;
  const SnapshotChild child{.job = ChildJob::kBackup, .backup_id = id, .meta = b.meta};
  if (fork_snapshot_child(child, [&] {
        storage::PosixFileSystem fs;
        return storage::write_backup_file(fs, path, info, replica_->store().snapshot());
      })) {
    return true;
  }
  reply_error(b.starter, "ERR backup failed: cannot start the writer process");
  backup_.backups.erase(it);
  return false;
}

void Node::finish_backup(const SnapshotChild& child, bool written) {
  auto it = backup_.backups.find(child.backup_id);
  if (it == backup_.backups.end()) return;
  Backup& b = it->second;
  Result<std::unique_ptr<storage::ReadableFile>> file =
      written ? fs_.open_read(b.path)
              : Result<std::unique_ptr<storage::ReadableFile>>(
                    absl::InternalError("the writer process failed"));
  if (!file.ok()) {
    reply_error(b.starter, fmt::format("ERR backup failed: {}", file.status().message()));
    (void)fs_.remove(b.path);
    backup_.backups.erase(it);
    return;
  }
  b.file = std::move(*file);
  b.bytes = b.file->size();
  b.ready = true;
  b.last_used_ms = now_ms();
  spdlog::info("node {}: backup {} at index {} (term {}, {} bytes) ready", config_.id, b.id,
               b.meta.index, b.meta.term, b.bytes);
  std::string out;
  resp::Writer w(&out, b.starter.protocol);
  w.array(4);
  w.integer(static_cast<int64_t>(b.id));
  w.integer(static_cast<int64_t>(b.meta.index.value()));
  w.integer(static_cast<int64_t>(b.meta.term.value()));
  w.integer(static_cast<int64_t>(b.bytes));
  reply(b.starter, std::move(out));
  b.starter = ReplyTo{};
}

void Node::expire_backups() {
  const int64_t now = now_ms();
  for (auto it = backup_.backups.begin(); it != backup_.backups.end();) {
    if (it->second.ready && now - it->second.last_used_ms > kBackupIdleMs) {
      spdlog::info("node {}: backup {} unread for {} ms: removed", config_.id, it->first,
                   kBackupIdleMs);
      it->second.file.reset();
      (void)fs_.remove(it->second.path);
      it = backup_.backups.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- commands ----------------------------------------------------------------------------------

// SAVE, BGSAVE [SCHEDULE]
void Node::save_command(NodeCall& c) {
  const bool bg = c.name == "bgsave";
  bool schedule = false;
  if (bg && c.argv.size() == 2) {
    if (!iequals(c.argv[1], "schedule")) {
      c.w.error("ERR syntax error");
      return;
    }
    schedule = true;
  } else if (c.argv.size() > 1) {
    c.w.error("ERR syntax error");
    return;
  }
  SaveState& s = backup_.save;
  // Redis's answers: a snapshot writer running (or asked for) is the RDB child; a backup's
  // writer is "another child", after which SAVE runs and BGSAVE SCHEDULE is remembered.
  const bool backup_writing = snapshot_child_ && snapshot_child_->job == ChildJob::kBackup;
  // SAVE blocks Redis until the file is written; here the loop carries on, so a command that
  // follows a SAVE still being answered gets what it would get after it: a new save.
  const bool after_save = (snapshot_child_ && !backup_writing && !s.waiters.empty()) ||
                          (s.requested && !s.next_waiters.empty());
  if (after_save) {
    s.requested = true;
    if (bg) {
      c.w.simple("Background saving started");
    } else {
      s.next_waiters.push_back(ReplyTo{.session = c.s, .seq = c.seq, .protocol = c.s->protocol});
      c.answered = true;
    }
    return;
  }
  if ((snapshot_child_ && !backup_writing) || s.requested) {
    c.w.error("ERR Background save already in progress");
    return;
  }
  if (bg && backup_writing) {
    if (schedule) {
      s.scheduled = true;
      c.w.simple("Background saving scheduled");
    } else {
      c.w.error(
          "ERR Another child process is active (a backup): can't BGSAVE right now. Use BGSAVE "
          "SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    return;
  }
  s.requested = true;
  if (!bg) {
    // Answered by finish_save once the snapshot is durable; the event loop carries on.
    s.next_waiters.push_back(ReplyTo{.session = c.s, .seq = c.seq, .protocol = c.s->protocol});
    c.answered = true;
  } else {
    c.w.simple("Background saving started");
  }
  maybe_snapshot();
}

void Node::lastsave_command(NodeCall& c) {
  c.w.integer(backup_.save.last_save_unix_s);
}

// BACKUP START | READ id offset count | END id
void Node::backup_command(NodeCall& c) {
  const std::string_view sub = c.argv[1];
  if (iequals(sub, "start") && c.argv.size() == 2) {
    if (backup_.backups.size() >= kBackupsMax) {
      c.w.error(
          fmt::format("ERR {} backups are held already (the most); end one first", kBackupsMax));
      return;
    }
    const uint64_t id = (boot_epoch_ & 0xffffffff) * 1000 + backup_.next_id++;
    Backup& b = backup_.backups[id];
    b.id = id;
    b.path = storage::join_path(backup_dir(), fmt::format("{}{}", id, storage::kBackupFileSuffix));
    b.starter = ReplyTo{.session = c.s, .seq = c.seq, .protocol = c.s->protocol};
    c.answered = true;
    // Every write acknowledged before now is applied here once this read point is: the backup
    // then holds it, whichever node takes it.
    replica_->read([this, id](const Status& st) {
      auto it = backup_.backups.find(id);
      if (it == backup_.backups.end()) return;
      if (!st.ok()) {
        reply_error(it->second.starter, std::string(st.message()));
        backup_.backups.erase(it);
        return;
      }
      backup_.to_write.push_back(id);
      maybe_snapshot();
    });
    schedule_flush();
    return;
  }
  uint64_t id = 0;
  if (c.argv.size() < 3 || !parse_u64(c.argv[2], &id)) {
    c.w.error("ERR syntax error: BACKUP START | READ id offset count | END id");
    return;
  }
  auto it = backup_.backups.find(id);
  if (it == backup_.backups.end()) {
    c.w.error(fmt::format("ERR no backup {} (ended, expired after {} ms unread, or never started)",
                          id, kBackupIdleMs));
    return;
  }
  Backup& b = it->second;
  if (iequals(sub, "end") && c.argv.size() == 3) {
    if (!b.ready) {
      c.w.error(fmt::format("ERR backup {} is still being written", id));
      return;
    }
    b.file.reset();
    (void)fs_.remove(b.path);
    backup_.backups.erase(it);
    c.w.simple("OK");
    return;
  }
  uint64_t offset = 0;
  uint64_t count = 0;
  if (!iequals(sub, "read") || c.argv.size() != 5 || !parse_u64(c.argv[3], &offset) ||
      !parse_u64(c.argv[4], &count)) {
    c.w.error("ERR syntax error: BACKUP START | READ id offset count | END id");
    return;
  }
  if (!b.ready) {
    c.w.error(fmt::format("ERR backup {} is still being written", id));
    return;
  }
  if (offset > b.bytes) {
    c.w.error(
        fmt::format("ERR offset {} is past the end of backup {} ({} bytes)", offset, id, b.bytes));
    return;
  }
  b.last_used_ms = now_ms();
  const size_t n = static_cast<size_t>(
      std::min<uint64_t>({count, uint64_t{kBackupChunkBytesMax}, b.bytes - offset}));
  std::string chunk;
  if (Status st = b.file->read_at(offset, n, &chunk); !st.ok() || chunk.size() != n) {
    c.w.error(fmt::format("ERR backup {}: cannot read: {}", id, st.message()));
    return;
  }
  c.w.bulk(chunk);
}

}  // namespace bw::server
