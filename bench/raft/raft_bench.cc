// Entries committed per second through the pure Raft core: three RawNodes over MemoryStorage,
// messages handed over in memory, every Ready handled by the contract (persist, send, apply,
// advance). No I/O, so this is the ceiling the core itself puts on a group's write rate.
//
//   raft_bench --benchmark_filter=Commit
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "common/assert.h"
#include "raft/memory_storage.h"
#include "raft/raft.h"

namespace bw::raft {
namespace {

constexpr size_t kNodes = 3;
constexpr uint64_t kCompactEveryEntries = 1 << 16;

class Loop {
 public:
  explicit Loop(size_t entry_bytes) : payload_(entry_bytes, 'x') {
    ConfState conf;
    for (size_t k = 1; k <= kNodes; ++k) conf.voters.push_back(NodeId(k));
    for (size_t k = 0; k < kNodes; ++k) {
      Config cfg;
      cfg.id = NodeId(k + 1);
      cfg.group = GroupId(1);
      storages_[k] = std::make_unique<MemoryStorage>();
      nodes_[k] = std::make_unique<RawNode>(cfg, storages_[k].get(), BootState{{}, conf, {}});
    }
    nodes_[0]->campaign();
    while (!nodes_[0]->is_leader() || applied_[0] < LogIndex(1)) round();
  }

  // Proposes `batch` entries on the leader and runs until the leader has applied them all.
  void commit_batch(size_t batch) {
    LogIndex last;
    for (size_t k = 0; k < batch; ++k) {
      Result<LogIndex> index = nodes_[0]->propose(payload_);
      BW_ASSERT(index.ok(), "{}", index.status().ToString());
      last = *index;
    }
    while (applied_[0] < last) round();
    maybe_compact();
  }

  uint64_t messages() const { return messages_; }

 private:
  void round() {
    for (size_t k = 0; k < kNodes; ++k) handle_ready(k);
    std::vector<Message> batch = std::move(in_flight_);
    in_flight_.clear();
    for (const Message& m : batch) {
      Status s = nodes_[m.to.value() - 1]->step(m);
      BW_ASSERT(s.ok(), "{}", s.ToString());
    }
  }

  void handle_ready(size_t k) {
    if (!nodes_[k]->has_ready()) return;
    Ready rd = nodes_[k]->ready();
    if (!rd.entries.empty()) BW_ASSERT(storages_[k]->append(rd.entries).ok());
    messages_ += rd.messages.size();
    for (Message& m : rd.messages) in_flight_.push_back(std::move(m));
    if (!rd.committed_entries.empty()) applied_[k] = rd.committed_entries.back().index;
    nodes_[k]->advance(rd);
  }

  void maybe_compact() {
    for (size_t k = 0; k < kNodes; ++k) {
      if (applied_[k] - storages_[k]->first_index() > kCompactEveryEntries) {
        BW_ASSERT(storages_[k]->compact(applied_[k]).ok());
      }
    }
  }

  std::string payload_;
  std::unique_ptr<MemoryStorage> storages_[kNodes];
  std::unique_ptr<RawNode> nodes_[kNodes];
  LogIndex applied_[kNodes];
  std::vector<Message> in_flight_;
  uint64_t messages_ = 0;
};

void BM_CommitBatches(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const size_t entry_bytes = static_cast<size_t>(state.range(1));
  Loop loop(entry_bytes);
  const uint64_t messages_before = loop.messages();
  for (auto _ : state) loop.commit_batch(batch);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch * entry_bytes));
  state.counters["msgs_per_batch"] = static_cast<double>(loop.messages() - messages_before) /
                                     static_cast<double>(state.iterations());
}

BENCHMARK(BM_CommitBatches)
    ->ArgNames({"batch", "bytes"})
    ->Args({1, 100})
    ->Args({16, 100})
    ->Args({256, 100})
    ->Args({1024, 100})
    ->Args({256, 1024});

}  // namespace
}  // namespace bw::raft
