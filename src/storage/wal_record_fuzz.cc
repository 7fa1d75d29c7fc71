// libFuzzer target: the WAL segment scanner, record payload decoders and replay, on arbitrary
// bytes. The first byte picks whether the segment is the newest (torn tail allowed).
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/assert.h"
#include "storage/memory_file_system.h"
#include "storage/recovery.h"
#include "storage/wal_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bw::storage;
  spdlog::set_level(spdlog::level::off);
  if (size == 0) return 0;
  const bool newest = (data[0] & 1) != 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto scan = wal::scan_segment(bytes, newest, "fuzz");
  if (scan.ok()) {
    BW_ASSERT(scan->valid_bytes <= bytes.size());
    for (const wal::Record& rec : scan->records) {
      BW_ASSERT(rec.offset + wal::kRecordHeaderBytes + rec.payload.size() <= scan->valid_bytes);
      (void)wal::decode_entries(rec.payload);
      (void)wal::decode_hard_state(rec.payload);
      (void)wal::decode_conf_state(rec.payload);
      (void)wal::decode_snapshot(rec.payload);
      (void)wal::decode_compact(rec.payload);
    }
  }
  // Whole recovery over the bytes as the only segment.
  MemoryFileSystem fs;
  if (!fs.create_dir("/w").ok()) return 0;
  auto f = fs.create("/w/" + segment_file_name(scan.ok() ? scan->seq : 1));
  if (!f.ok() || !(*f)->append(bytes).ok()) return 0;
  auto rec = recover_wal(fs, "/w", /*repair=*/newest);
  if (rec.ok()) {
    for (const auto& [g, group] : rec->groups) {
      for (size_t k = 0; k < group.entries.size(); ++k) {
        BW_ASSERT(group.entries[k].index == group.state.compact_index + 1 + k);
      }
    }
  }
  return 0;
}
