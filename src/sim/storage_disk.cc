#include "sim/storage_disk.h"

#include <fmt/format.h>

#include <utility>

#include "common/assert.h"
#include "common/checksum.h"
#include "storage/recovery.h"

namespace bw::sim {
namespace {

constexpr char kDataDir[] = "data";
constexpr char kClusterId[] = "bellwether-sim";
constexpr uint64_t kTornBytesMax = 256;  // a mid-write cut keeps up to this much of the write

}  // namespace

StorageDisk::StorageDisk(const StorageDiskOptions& options)
    : options_(options), fs_(&base_, options.seed) {
  open();
  BW_ASSERT(status_.ok(), "a blank data directory did not open: {}", status_.ToString());
}

StorageDisk::~StorageDisk() {
  ++generation_;     // the Storage's last flush must not report into a dying disk
  storage_.reset();  // before the members its callbacks would touch
}

std::unique_ptr<StorageDisk> StorageDisk::bootstrapped(const StorageDiskOptions& options,
                                                       const raft::ConfState& conf) {
  auto disk = std::make_unique<StorageDisk>(options);
  raft::Snapshot snap;
  snap.meta.index = LogIndex(1);
  snap.meta.term = Term(1);
  snap.meta.conf = conf;
  const Status s = disk->storage_->write_sync(storage::WriteBatch{
      .group = options.group,
      .hard_state = raft::HardState{.term = Term(1), .vote = kNoNode, .commit = LogIndex(1)},
      .snapshot = snap});
  BW_ASSERT(s.ok(), "bootstrap write failed: {}", s.ToString());
  // Boot through recovery, as every later restart does.
  disk->storage_.reset();
  disk->open();
  BW_ASSERT(disk->status_.ok(), "bootstrap did not recover: {}", disk->status_.ToString());
  disk->persisted_.clear();
  return disk;
}

void StorageDisk::open() {
  storage::Options o;
  o.dir = kDataDir;
  o.identity = storage::Identity{kClusterId, options_.node};
  o.fsync =
      options_.durable_before_fsync ? storage::FsyncPolicy::kNone : storage::FsyncPolicy::kAlways;
  o.segment_bytes_max = options_.segment_bytes_max;
  o.writer_thread = false;
  Result<std::unique_ptr<storage::Storage>> st = storage::Storage::open(&fs_, o);
  if (!st.ok()) {
    status_ = st.status();
    log_ = nullptr;
    return;
  }
  status_ = OkStatus();
  storage_ = std::move(*st);
  log_ = storage_->group(options_.group);
  if (log_ == nullptr) log_ = storage_->create_group(options_.group);
  const LogIndex last = log_->last_index();
  Result<Term> term = log_->term(last);
  BW_ASSERT(term.ok(), "recovered log has no term at its last index {}", last);
  durable_last_ = {last, *term};
}

raft::LogStorage* StorageDisk::log() {
  BW_ASSERT(log_ != nullptr, "the disk did not recover: {}", status_.ToString());
  return log_;
}

Status StorageDisk::write(WriteBatch batch) {
  BW_ASSERT(!batch.compaction.has_value(), "local snapshots go through snapshot()");
  BW_RETURN_IF_ERROR(status_);
  // What becomes durable with this batch, computed while the predecessor is still readable.
  std::vector<PersistedEntry> entries;
  entries.reserve(batch.entries.size());
  for (size_t k = 0; k < batch.entries.size(); ++k) {
    const raft::Entry& e = batch.entries[k];
    Result<Term> prev = Term();
    if (k > 0) {
      prev = batch.entries[k - 1].term;
    } else if (batch.snapshot && batch.snapshot->meta.index + 1 == e.index) {
      prev = batch.snapshot->meta.term;
    } else {
      prev = log_->term(e.index - 1);
    }
    if (!prev.ok()) continue;  // the predecessor was compacted: nothing to compare
    entries.push_back(PersistedEntry{
        .index = e.index, .term = e.term, .prev_term = *prev, .data_hash = checksum64(e.data)});
  }
  std::optional<std::pair<LogIndex, Term>> last;
  if (!batch.entries.empty()) {
    last = {batch.entries.back().index, batch.entries.back().term};
  } else if (batch.snapshot) {
    last = {batch.snapshot->meta.index, batch.snapshot->meta.term};
  }
  auto done = [this, generation = generation_, entries = std::move(entries), last](Status s) {
    if (generation != generation_) return;
    --unsynced_;
    if (!s.ok()) return;  // a write cut by an injected fault: a crash follows
    persisted_.insert(persisted_.end(), entries.begin(), entries.end());
    if (last) durable_last_ = *last;
  };
  BW_RETURN_IF_ERROR(storage_->submit(storage::WriteBatch{.group = options_.group,
                                                          .hard_state = batch.hard_state,
                                                          .entries = std::move(batch.entries),
                                                          .snapshot = std::move(batch.snapshot),
                                                          .conf = std::move(batch.conf)},
                                      std::move(done)));
  ++unsynced_;
  return OkStatus();
}

void StorageDisk::sync() {
  if (storage_ != nullptr) storage_->drain();
}

std::vector<PersistedEntry> StorageDisk::take_persisted() {
  return std::exchange(persisted_, {});
}

Status StorageDisk::snapshot(LogIndex index, const raft::ConfState& conf, std::string data,
                             LogIndex compact_index) {
  BW_RETURN_IF_ERROR(status_);
  if (index <= log_->snapshot_meta().index) return absl::FailedPreconditionError("nothing new");
  BW_ASSIGN_OR_RETURN(Term term, log_->term(index));
  BW_RETURN_IF_ERROR(storage_->save_snapshot(
      options_.group, raft::SnapshotMeta{.index = index, .term = term, .conf = conf}, data));
  if (compact_index >= log_->first_index()) {
    BW_RETURN_IF_ERROR(storage_->compact(options_.group, compact_index));
  }
  return OkStatus();
}

LogIndex StorageDisk::snapshot_index() {
  return log_ == nullptr ? LogIndex(0) : log_->snapshot_meta().index;
}

uint64_t StorageDisk::crash(Rng& rng) {
  const auto cut = static_cast<CutAt>(rng.index(3));
  const auto mode = static_cast<storage::CrashMode>(rng.index(3));
  switch (cut) {
    case CutAt::kBeforeWrite:
      fs_.fail_after_appends(0, 0);
      break;
    case CutAt::kDuringFsync:
      fs_.set_sync_failure(true);
      break;
    case CutAt::kMidWrite:
      fs_.fail_after_appends(0, rng.range(1, kTornBytesMax));
      break;
  }
  // The Storage's last flush runs under the fault: the queued writes reach the file system not
  // at all, unsynced, or in part. Then the power goes.
  ++generation_;
  storage_.reset();
  log_ = nullptr;
  const Status crashed = fs_.crash(mode);
  BW_ASSERT(crashed.ok(), "FaultFileSystem::crash: {}", crashed.ToString());
  unsynced_ = 0;
  count_torn_tails();
  open();
  if (status_.ok()) report_recovered();
  return static_cast<uint64_t>(cut) * 3 + static_cast<uint64_t>(mode);
}

void StorageDisk::count_torn_tails() {
  Result<storage::WalRecovery> rec =
      storage::recover_wal(fs_, storage::join_path(kDataDir, "wal"), /*repair=*/false);
  if (rec.ok()) torn_tails_ += rec->warnings.size();
}

// Everything recovery found is durable; the checker compares it with every other node's.
void StorageDisk::report_recovered() {
  const LogIndex first = log_->first_index();
  const LogIndex last = log_->last_index();
  if (last < first) return;
  Result<std::vector<raft::Entry>> entries = log_->entries(first, last + 1, UINT64_MAX);
  BW_ASSERT(entries.ok(), "recovered log unreadable: {}", entries.status().ToString());
  Result<Term> prev = log_->term(first - 1);
  for (const raft::Entry& e : *entries) {
    if (prev.ok()) {
      persisted_.push_back(PersistedEntry{
          .index = e.index, .term = e.term, .prev_term = *prev, .data_hash = checksum64(e.data)});
    }
    prev = e.term;
  }
}

raft::BootState StorageDisk::boot_state() {
  raft::BootState boot;
  if (storage_ == nullptr || !storage_->was_recovered(options_.group)) return boot;
  const storage::RecoveredState& rec = storage_->recovered(options_.group);
  boot.hard_state = rec.hard_state;
  // As the server boots (src/server/node.cc): the latest durable membership record, while the
  // state machine restarts from the snapshot; replaying the single-node conf changes after it
  // onto that membership converges to it (docs/raft.md, Ready contract).
  boot.conf = rec.conf;
  boot.applied = rec.snapshot.index;
  return boot;
}

raft::Snapshot StorageDisk::durable_snapshot() {
  Result<raft::Snapshot> snap = log()->snapshot();
  BW_ASSERT(snap.ok(), "recovered snapshot unreadable: {}", snap.status().ToString());
  return *std::move(snap);
}

}  // namespace bw::sim
