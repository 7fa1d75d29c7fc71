// FileSystem held in memory: fast, hermetic tests and the simulator's disk. Everything written
// is immediately "durable" (there is no crash here; FaultFileSystem layered on top models one).
//
// Thread safety: all methods may be called concurrently. An open file keeps its contents alive
// after remove() (POSIX unlink semantics).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "storage/file_system.h"

namespace bw::storage {

class MemoryFileSystem final : public FileSystem {
 public:
  // Contents of one file, shared between the name table and open handles.
  struct Node {
    absl::Mutex mu;
    std::string bytes;  // GUARDED_BY(mu)
  };

  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override;
  Result<std::unique_ptr<ReadableFile>> open_read(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status create_dir(const std::string& dir) override;
  Status remove(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status truncate(const std::string& path, uint64_t size) override;
  Status sync_dir(const std::string& dir) override;
  Result<bool> exists(const std::string& path) override;

 private:
  Status check_parent(const std::string& path) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_) = {".", "/"};
};

}  // namespace bw::storage
