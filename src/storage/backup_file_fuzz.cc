// libFuzzer target: the backup file decoder on arbitrary bytes. Whatever it accepts re-encodes to
// bytes that decode to the same content.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/assert.h"
#include "storage/backup_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bw::storage;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_backup_file(bytes, "fuzz");
  if (decoded.ok()) {
    const std::string again = encode_backup_file(decoded->info, decoded->data);
    auto redecoded = decode_backup_file(again, "fuzz again");
    BW_ASSERT(redecoded.ok());
    BW_ASSERT(redecoded->info == decoded->info);
    BW_ASSERT(redecoded->data == decoded->data);
  }
  return 0;
}
