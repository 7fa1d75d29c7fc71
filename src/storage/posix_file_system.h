// FileSystem on real files (POSIX calls; fdatasync for WritableFile::sync).
#pragma once

#include "storage/file_system.h"

namespace bw::storage {

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override;
  Result<std::unique_ptr<ReadableFile>> open_read(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status create_dir(const std::string& dir) override;
  Status remove(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status truncate(const std::string& path, uint64_t size) override;
  Status sync_dir(const std::string& dir) override;
  Result<bool> exists(const std::string& path) override;
};

}  // namespace bw::storage
