// A replica's Disk on the node's storage::Storage (one WAL shared by all the node's groups;
// its writer thread batches the writes of every group into one fsync).
//
// Thread safety: write() from the replica's thread; `durable` runs on the storage's writer
// thread (or inside drain() in synchronous mode) and must hand the sequence number to the
// replica's thread.
#pragma once

#include <functional>

#include "replica/io.h"
#include "storage/group_log.h"
#include "storage/storage.h"

namespace bw::replica {

class StorageDisk final : public Disk {
 public:
  using Durable = std::function<void(uint64_t seq)>;
  // REQUIRES: storage and log outlive this.
  StorageDisk(storage::Storage* storage, storage::GroupLog* log, Durable durable)
      : storage_(storage), log_(log), durable_(std::move(durable)) {}

  raft::LogStorage* log() override { return log_; }
  void write(storage::WriteBatch batch, uint64_t seq, bool sync) override;

 private:
  storage::Storage* const storage_;
  storage::GroupLog* const log_;
  const Durable durable_;
};

}  // namespace bw::replica
