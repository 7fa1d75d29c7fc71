#include "storage/storage.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "common/assert.h"
#include "storage/recovery.h"

namespace bw::storage {

struct Storage::Slot {
  // Held while a write is applied to `log` and queued, so that the WAL order of one group's
  // writes is the order they were applied in memory.
  absl::Mutex submit_mu;
  std::unique_ptr<GroupLog> log;
};

struct Storage::Waiter {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  Status status ABSL_GUARDED_BY(mu);
};

Storage::Storage(FileSystem* fs, Options options) : fs_(fs), options_(std::move(options)) {}

Result<std::unique_ptr<Storage>> Storage::open(FileSystem* fs, Options options) {
  auto st = std::unique_ptr<Storage>(new Storage(fs, std::move(options)));
  BW_RETURN_IF_ERROR(st->recover());
  if (st->options_.writer_thread) {
    st->writer_ = std::thread([p = st.get()] { p->writer_loop(); });
  }
  return st;
}

Storage::~Storage() {
  if (writer_.joinable()) {
    {
      absl::MutexLock lock(&queue_mu_);
      stopping_ = true;
    }
    writer_.join();
  } else {
    drain();
  }
}

std::string Storage::wal_dir() const {
  return join_path(options_.dir, "wal");
}

std::string Storage::snapshot_dir() const {
  return join_path(options_.dir, "snap");
}

std::string Storage::snapshot_path(GroupId g, LogIndex index) const {
  return join_path(snapshot_dir(), snapshot_file_name(g, index));
}

Status Storage::recover() {
  BW_RETURN_IF_ERROR(fs_->create_dir(options_.dir));
  BW_RETURN_IF_ERROR(fs_->create_dir(wal_dir()));
  BW_RETURN_IF_ERROR(fs_->create_dir(snapshot_dir()));
  BW_RETURN_IF_ERROR(fs_->sync_dir(options_.dir));
  BW_RETURN_IF_ERROR(check_or_create_identity(*fs_, options_.dir, options_.identity));
  BW_ASSIGN_OR_RETURN(WalRecovery rec, recover_wal(*fs_, wal_dir(), /*repair=*/true));
  for (const auto& [g, group] : rec.groups) {
    const raft::SnapshotMeta& meta = group.state.snapshot;
    if (meta.index == LogIndex(0)) continue;
    const std::string path = snapshot_path(g, meta.index);
    Result<std::unique_ptr<SnapshotReader>> reader = SnapshotReader::open(*fs_, path);
    if (!reader.ok()) {
      return absl::DataLossError(
          fmt::format("group {}: snapshot at {} recorded in the WAL is "
                      "unreadable: {}",
                      g, meta.index, std::string(reader.status().message())));
    }
    if ((*reader)->group() != g || (*reader)->meta() != meta) {
      return absl::DataLossError(
          fmt::format("snapshot {}: metadata (group {}, index {}, term {}) differs from the WAL's",
                      path, (*reader)->group(), (*reader)->meta().index, (*reader)->meta().term));
    }
  }
  BW_RETURN_IF_ERROR(clean_snapshot_dir(rec.groups));

  std::map<GroupId, GroupDurableState> states;
  absl::MutexLock lock(&groups_mu_);
  for (auto& [g, group] : rec.groups) {
    states[g] = group.state;
    RecoveredState& r = recovered_[g];
    r.hard_state = group.state.hard_state.value_or(raft::HardState{});
    r.conf = group.state.conf.value_or(group.state.snapshot.conf);
    r.snapshot = group.state.snapshot;
    r.first_index = group.state.compact_index + 1;
    r.last_index = group.state.compact_index + group.entries.size();
    auto slot = std::make_unique<Slot>();
    const GroupId id = g;  // a structured binding cannot be captured before C++20 in clang 14
    slot->log = std::make_unique<GroupLog>(
        id, [this, id](const raft::SnapshotMeta& m) { return load_snapshot(id, m); },
        std::move(group));
    groups_[g] = std::move(slot);
  }
  BW_ASSIGN_OR_RETURN(wal_, Wal::open(fs_,
                                      Wal::Options{wal_dir(), options_.segment_bytes_max,
                                                   options_.preallocate_bytes},
                                      std::move(rec.segments), std::move(states)));
  BW_ASSIGN_OR_RETURN(int removed, wal_->remove_obsolete_segments());
  spdlog::info("storage {}: recovered {} group(s); WAL segment {} started ({} obsolete removed)",
               options_.dir, recovered_.size(), wal_->current_segment(), removed);
  return OkStatus();
}

Status Storage::clean_snapshot_dir(const std::map<GroupId, RecoveredGroup>& groups) {
  BW_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->list(snapshot_dir()));
  for (const std::string& name : names) {
    bool keep = false;
    if (auto parsed = parse_snapshot_file_name(name)) {
      auto it = groups.find(parsed->first);
      keep = it != groups.end() && it->second.state.snapshot.index == parsed->second;
    }
    if (!keep) {
      // Temp files of an interrupted write, snapshots superseded or never recorded in the WAL.
      spdlog::info("storage: removing unreferenced snapshot file {}", name);
      BW_RETURN_IF_ERROR(fs_->remove(join_path(snapshot_dir(), name)));
    }
  }
  return fs_->sync_dir(snapshot_dir());
}

std::vector<GroupId> Storage::groups() const {
  absl::MutexLock lock(&groups_mu_);
  std::vector<GroupId> out;
  for (const auto& [g, slot] : groups_) out.push_back(g);
  return out;
}

const RecoveredState& Storage::recovered(GroupId g) const {
  auto it = recovered_.find(g);
  BW_ASSERT(it != recovered_.end(), "group {} was not recovered", g);
  return it->second;
}

bool Storage::was_recovered(GroupId g) const {
  return recovered_.contains(g);
}

Storage::Slot* Storage::slot(GroupId g) {
  absl::MutexLock lock(&groups_mu_);
  auto it = groups_.find(g);
  return it == groups_.end() ? nullptr : it->second.get();
}

GroupLog* Storage::group(GroupId g) {
  Slot* s = slot(g);
  return s == nullptr ? nullptr : s->log.get();
}

GroupLog* Storage::create_group(GroupId g) {
  absl::MutexLock lock(&groups_mu_);
  std::unique_ptr<Slot>& s = groups_[g];
  if (s == nullptr) {
    s = std::make_unique<Slot>();
    s->log = std::make_unique<GroupLog>(
        g, [this, g](const raft::SnapshotMeta& m) { return load_snapshot(g, m); },
        RecoveredGroup{});
  }
  return s->log.get();
}

Status Storage::health() const {
  absl::MutexLock lock(&queue_mu_);
  return failed_;
}

Status Storage::submit(WriteBatch batch, WriteCallback done) {
  BW_RETURN_IF_ERROR(health());
  create_group(batch.group);
  Slot* s = slot(batch.group);
  absl::MutexLock lock(&s->submit_mu);
  GroupLog& log = *s->log;
  const GroupId g = batch.group;
  LogIndex snap_index;
  if (batch.snapshot.has_value()) {
    snap_index = batch.snapshot->meta.index;
    if (snap_index <= log.snapshot_meta().index) {
      return absl::InvalidArgumentError(fmt::format(
          "group {}: received snapshot at {} is not newer than the held one", g, snap_index));
    }
  }
  BW_RETURN_IF_ERROR(log.check_append(batch.entries, snap_index));

  Pending p;
  p.change.group = g;
  if (batch.snapshot.has_value()) {
    const raft::Snapshot& snap = *batch.snapshot;
    BW_RETURN_IF_ERROR(
        write_snapshot_file(*fs_, snapshot_path(g, snap.meta.index), g, snap.meta, snap.data));
    log.install_snapshot(snap.meta);
    wal::SnapshotRecord rec{wal::SnapshotKind::kInstalled, snap.meta};
    wal::append_snapshot(&p.records, g, rec);
    p.change.snapshot = std::move(rec);
  }
  if (!batch.entries.empty()) {
    log.append(batch.entries);
    wal::append_entries(&p.records, g, batch.entries);
    p.change.last_entry = batch.entries.back().index;
    p.entries = batch.entries.size();
  }
  if (batch.conf.has_value()) {
    wal::append_conf_state(&p.records, g, *batch.conf);
    p.change.conf = std::move(batch.conf);
  }
  if (batch.hard_state.has_value()) {
    wal::append_hard_state(&p.records, g, *batch.hard_state);
    p.change.hard_state = batch.hard_state;
  }
  p.done = std::move(done);
  p.sync = batch.sync;
  return enqueue(std::move(p));
}

Status Storage::enqueue(Pending p) {
  if (!options_.writer_thread) {
    bool full = false;
    {
      absl::MutexLock lock(&queue_mu_);
      full = queued_bytes_ > options_.queue_bytes_max;
    }
    if (full) drain();
  }
  absl::MutexLock lock(&queue_mu_);
  if (options_.writer_thread) {
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
      return queued_bytes_ <= options_.queue_bytes_max || stopping_;
    };
    queue_mu_.Await(absl::Condition(&room));
  }
  queued_bytes_ += p.records.size();
  if (p.sync || p.change.snapshot.has_value() || p.change.compact.has_value()) {
    p.sync = true;
    ++sync_queued_;
  }
  queue_.push_back(std::move(p));
  return OkStatus();
}

std::shared_ptr<Storage::Waiter> Storage::attach_waiter(Pending& p) {
  auto waiter = std::make_shared<Waiter>();
  p.done = [waiter](Status s) {
    absl::MutexLock lock(&waiter->mu);
    waiter->status = std::move(s);
    waiter->done = true;
  };
  return waiter;
}

Status Storage::wait(const std::shared_ptr<Waiter>& waiter) {
  if (!options_.writer_thread) drain();
  absl::MutexLock lock(&waiter->mu);
  waiter->mu.Await(absl::Condition(&waiter->done));
  return waiter->status;
}

Status Storage::write_sync(WriteBatch batch) {
  batch.sync = true;  // waited for
  Pending probe;
  std::shared_ptr<Waiter> waiter = attach_waiter(probe);
  BW_RETURN_IF_ERROR(submit(std::move(batch), std::move(probe.done)));
  return wait(waiter);
}

Status Storage::save_snapshot(GroupId g, const raft::SnapshotMeta& meta, std::string_view data) {
  return save_snapshot_with(g, meta, [&](const std::string& path) {
    return write_snapshot_file(*fs_, path, g, meta, data);
  });
}

Status Storage::adopt_snapshot(GroupId g, const raft::SnapshotMeta& meta) {
  // The file is already in place, written atomically and durably by write_snapshot_file in
  // another process; recovery verifies it like any other before using it.
  return save_snapshot_with(g, meta, [this](const std::string& path) {
    return fs_->open_read(path).status();  // never record a file that is not there
  });
}

Status Storage::save_snapshot_with(GroupId g, const raft::SnapshotMeta& meta,
                                   const std::function<Status(const std::string&)>& file) {
  BW_RETURN_IF_ERROR(health());
  Slot* s = slot(g);
  if (s == nullptr) return absl::NotFoundError(fmt::format("group {} is unknown", g));
  std::shared_ptr<Waiter> waiter;
  {
    absl::MutexLock lock(&s->submit_mu);
    BW_RETURN_IF_ERROR(s->log->check_local_snapshot(meta));
    BW_RETURN_IF_ERROR(file(snapshot_path(g, meta.index)));
    s->log->set_local_snapshot(meta);
    Pending p;
    p.change.group = g;
    wal::SnapshotRecord rec{wal::SnapshotKind::kLocal, meta};
    wal::append_snapshot(&p.records, g, rec);
    p.change.snapshot = std::move(rec);
    waiter = attach_waiter(p);
    BW_RETURN_IF_ERROR(enqueue(std::move(p)));
  }
  return wait(waiter);
}

Status Storage::compact(GroupId g, LogIndex index) {
  BW_RETURN_IF_ERROR(health());
  Slot* s = slot(g);
  if (s == nullptr) return absl::NotFoundError(fmt::format("group {} is unknown", g));
  absl::MutexLock lock(&s->submit_mu);
  BW_ASSIGN_OR_RETURN(Term term, s->log->compact(index));
  Pending p;
  p.change.group = g;
  wal::CompactRecord rec{index, term};
  wal::append_compact(&p.records, g, rec);
  p.change.compact = rec;
  return enqueue(std::move(p));
}

Result<std::unique_ptr<SnapshotReader>> Storage::open_snapshot(GroupId g) {
  GroupLog* log = group(g);
  if (log == nullptr) return absl::NotFoundError(fmt::format("group {} is unknown", g));
  const raft::SnapshotMeta meta = log->snapshot_meta();
  if (meta.index == LogIndex(0)) {
    return absl::NotFoundError(fmt::format("group {} has no snapshot", g));
  }
  return SnapshotReader::open(*fs_, snapshot_path(g, meta.index));
}

Result<raft::Snapshot> Storage::load_snapshot(GroupId g, const raft::SnapshotMeta& meta) {
  BW_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotReader> reader,
                      SnapshotReader::open(*fs_, snapshot_path(g, meta.index)));
  if (reader->meta() != meta) {
    return absl::DataLossError(
        fmt::format("group {}: snapshot file at {} has other metadata", g, meta.index));
  }
  raft::Snapshot snap;
  snap.meta = meta;
  BW_ASSIGN_OR_RETURN(snap.data, reader->read_all(options_.snapshot_bytes_max));
  return snap;
}

std::vector<Storage::Pending> Storage::take_batch() {
  std::vector<Pending> batch;
  uint64_t bytes = 0;
  while (!queue_.empty() &&
         (batch.empty() || bytes + queue_.front().records.size() <= options_.write_bytes_max)) {
    bytes += queue_.front().records.size();
    if (queue_.front().sync) --sync_queued_;
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_bytes_ -= bytes;
  return batch;
}

void Storage::write_batch(std::vector<Pending>& batch) {
  Status s = health();
  if (s.ok()) {
    std::string gathered;
    std::vector<GroupChange> changes;
    changes.reserve(batch.size());
    bool cleanup = false;
    bool sync = false;
    uint64_t entries = 0;
    for (Pending& p : batch) {
      entries += p.entries;
      sync = sync || p.sync;
      gathered.append(p.records);
      changes.push_back(p.change);
      cleanup = cleanup || p.change.compact.has_value() || p.change.snapshot.has_value();
    }
    s = wal_->write(gathered, changes);
    wal_writes_.fetch_add(1, std::memory_order_relaxed);
    wal_entries_.fetch_add(entries, std::memory_order_relaxed);
    if (s.ok() && ((options_.fsync == FsyncPolicy::kAlways && sync) || cleanup)) {
      const auto started = std::chrono::steady_clock::now();
      s = wal_->sync();
      fsync_latency_.record(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count()));
    }
    if (s.ok() && cleanup) {
      Result<int> removed = wal_->remove_obsolete_segments();
      if (!removed.ok())
        spdlog::warn("wal: removing obsolete segments: {}", removed.status().ToString());
      for (const GroupChange& c : changes) {
        if (c.snapshot.has_value())
          remove_old_snapshots(c.group, wal_->group(c.group)->snapshot.index);
      }
    }
    if (!s.ok()) {
      spdlog::error("storage {}: write failed, refusing further writes: {}", options_.dir,
                    s.ToString());
      absl::MutexLock lock(&queue_mu_);
      failed_ = s;
    }
  }
  for (Pending& p : batch) {
    if (p.done) p.done(s);
  }
}

void Storage::remove_old_snapshots(GroupId g, LogIndex keep_from) {
  Result<std::vector<std::string>> names = fs_->list(snapshot_dir());
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    auto parsed = parse_snapshot_file_name(name);
    if (!parsed || parsed->first != g || parsed->second >= keep_from) continue;
    if (Status s = fs_->remove(join_path(snapshot_dir(), name)); !s.ok()) {
      spdlog::warn("storage: removing old snapshot {}: {}", name, s.ToString());
    }
  }
}

bool Storage::writer_has_work() const {
  if (stopping_) return true;
  if (queue_.empty()) return false;
  return sync_queued_ > 0 || drains_waiting_ > 0 || queued_bytes_ >= options_.write_bytes_max;
}

void Storage::drain() {
  if (options_.writer_thread) {
    absl::MutexLock lock(&queue_mu_);
    ++drains_waiting_;  // wakes the writer for writes nobody else waits for
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
      return queue_.empty() && !writing_;
    };
    queue_mu_.Await(absl::Condition(&idle));
    --drains_waiting_;
    return;
  }
  std::lock_guard<std::mutex> writer(drain_mu_);
  for (;;) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&queue_mu_);
      batch = take_batch();
    }
    if (batch.empty()) return;
    write_batch(batch);
  }
}

void Storage::writer_loop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) { return writer_has_work(); };
      queue_mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;
      batch = take_batch();
      writing_ = true;
    }
    write_batch(batch);
    absl::MutexLock lock(&queue_mu_);
    writing_ = false;
  }
}

}  // namespace bw::storage
