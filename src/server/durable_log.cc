#include "server/durable_log.h"

#include "raft/memory_storage.h"

namespace bw::server {

namespace {

// Keeps the log in memory only. Used until the write-ahead log is wired in.
class MemoryDurableLog final : public DurableLog {
 public:
  Result<RecoveredState> recover() override { return RecoveredState{}; }
  raft::LogStorage* storage() override { return &mem_; }
  void write(const std::optional<raft::HardState>&, const std::vector<raft::Entry>& entries, bool,
             std::function<void(Status)> done) override {
    Status st = entries.empty() ? OkStatus() : mem_.append(entries);
    done(st);
  }
  Status install_snapshot(const raft::Snapshot& snap) override { return mem_.apply_snapshot(snap); }
  Status save_snapshot(LogIndex index, const raft::ConfState& conf, std::string data,
                       LogIndex compact_to) override {
    BW_RETURN_IF_ERROR(mem_.create_snapshot(index, conf, std::move(data)).status());
    if (compact_to > mem_.first_index()) return mem_.compact(compact_to);
    return OkStatus();
  }

 private:
  raft::MemoryStorage mem_;
};

}  // namespace

Result<std::unique_ptr<DurableLog>> DurableLog::open(asio::io_context&, const NodeConfig&) {
  return std::unique_ptr<DurableLog>(std::make_unique<MemoryDurableLog>());
}

}  // namespace bw::server
