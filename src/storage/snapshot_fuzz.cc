// libFuzzer target: the snapshot file reader (whole-buffer decoder and the streaming reader
// must agree) on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/assert.h"
#include "storage/memory_file_system.h"
#include "storage/snapshot_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bw::storage;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_snapshot_file(bytes, "fuzz");
  MemoryFileSystem fs;
  if (!fs.create_dir("/s").ok()) return 0;
  auto f = fs.create("/s/x.snap");
  if (!f.ok() || !(*f)->append(bytes).ok()) return 0;
  auto reader = SnapshotReader::open(fs, "/s/x.snap");
  BW_ASSERT(decoded.ok() == reader.ok());
  if (reader.ok()) {
    BW_ASSERT((*reader)->meta() == decoded->meta);
    std::string all;
    std::string chunk;
    for (uint64_t off = 0;; off += chunk.size()) {
      BW_ASSERT((*reader)->read_chunk(off, 7, &chunk).ok());
      if (chunk.empty()) break;
      all += chunk;
    }
    BW_ASSERT(all == decoded->data);
  }
  return 0;
}
