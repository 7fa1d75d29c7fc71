#include "replica/storage_disk.h"

#include "common/assert.h"

namespace bw::replica {

void StorageDisk::write(storage::WriteBatch batch, uint64_t seq, bool sync) {
  storage::WriteCallback done;
  if (sync) {
    done = [this, seq](Status durable) {
      BW_ASSERT(durable.ok(), "write-ahead log failed: {}; stopping rather than acknowledging",
                durable);
      durable_(seq);
    };
  } else {
    // Only the commit index or the membership moved: nothing waits for it (a restarted node
    // relearns the commit index; later synced writes are ordered after it).
    done = [](Status durable) { BW_ASSERT(durable.ok(), "write-ahead log failed: {}", durable); };
  }
  batch.sync = sync;
  const Status st = storage_->submit(std::move(batch), std::move(done));
  BW_ASSERT(st.ok(), "write-ahead log refused a write: {}", st);
}

}  // namespace bw::replica
