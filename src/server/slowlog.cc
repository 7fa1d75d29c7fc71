#include "server/slowlog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "common/assert.h"

namespace bw::server {

std::vector<std::string> slowlog_trim_argv(std::span<const std::string_view> argv) {
  const size_t kept = std::min(argv.size(), kSlowlogArgsMax);
  std::vector<std::string> out;
  out.reserve(kept);
  for (size_t i = 0; i < kept; ++i) {
    if (kept != argv.size() && i == kept - 1) {
      out.push_back(fmt::format("... ({} more arguments)", argv.size() - kept + 1));
    } else if (argv[i].size() > kSlowlogArgBytesMax) {
      out.push_back(fmt::format("{}... ({} more bytes)", argv[i].substr(0, kSlowlogArgBytesMax),
                                argv[i].size() - kSlowlogArgBytesMax));
    } else {
      out.emplace_back(argv[i]);
    }
  }
  return out;
}

namespace {

uint32_t read_u32(std::string_view* in) {
  uint32_t v = 0;
  BW_ASSERT(in->size() >= sizeof v, "packed command line cut short");
  std::memcpy(&v, in->data(), sizeof v);
  in->remove_prefix(sizeof v);
  return v;
}

}  // namespace

// Packed: the argument count, then per argument kept its full length and its first (at most
// kSlowlogArgBytesMax) bytes. The trimming texts are made only when an entry is logged
// (slowlog_unpack_argv): this runs for every command still pending when execute() returns, so
// it copies bytes and nothing else.
void slowlog_pack_argv(std::string* out, std::span<const std::string_view> argv) {
  // Built on the stack and appended at once: one capacity check, no zero-filling, and *out keeps
  // its capacity from command to command.
  constexpr size_t kPackedBytesMax =
      sizeof(uint32_t) * (1 + kSlowlogArgsMax) + kSlowlogArgsMax * kSlowlogArgBytesMax;
  char packed[kPackedBytesMax];
  char* p = packed;
  auto put_u32 = [&p](size_t n) {
    const auto v = static_cast<uint32_t>(n);
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  };
  const size_t kept = std::min(argv.size(), kSlowlogArgsMax);
  const size_t copied = kept == argv.size() ? kept : kept - 1;  // the last says how many more
  put_u32(argv.size());
  for (size_t i = 0; i < copied; ++i) {
    put_u32(argv[i].size());
    const size_t n = std::min(argv[i].size(), kSlowlogArgBytesMax);
    std::memcpy(p, argv[i].data(), n);
    p += n;
  }
  out->append(packed, static_cast<size_t>(p - packed));
}

std::vector<std::string> slowlog_unpack_argv(std::string_view packed) {
  const size_t argc = read_u32(&packed);
  const size_t kept = std::min(argc, kSlowlogArgsMax);
  const size_t copied = kept == argc ? kept : kept - 1;
  std::vector<std::string> out;
  out.reserve(kept);
  for (size_t i = 0; i < copied; ++i) {
    const size_t size = read_u32(&packed);
    const size_t stored = std::min(size, kSlowlogArgBytesMax);
    BW_ASSERT(packed.size() >= stored, "packed argument of {} bytes, {} left", stored,
              packed.size());
    out.emplace_back(packed.substr(0, stored));
    packed.remove_prefix(stored);
    if (size > stored) out.back() += fmt::format("... ({} more bytes)", size - stored);
  }
  if (copied != kept) out.push_back(fmt::format("... ({} more arguments)", argc - kept + 1));
  BW_ASSERT(packed.empty(), "{} bytes left after a packed command line", packed.size());
  return out;
}

void SlowLog::add(Entry e, uint64_t max_len) {
  e.id = next_id_++;
  entries_.push_front(std::move(e));
  while (entries_.size() > max_len) entries_.pop_back();
}

void SlowLog::write_get(resp::Writer& w, int64_t count) const {
  const size_t n =
      count < 0 ? entries_.size() : std::min(entries_.size(), static_cast<size_t>(count));
  w.array(n);
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = entries_[i];
    w.array(6);
    w.integer(static_cast<int64_t>(e.id));
    w.integer(e.unix_s);
    w.integer(static_cast<int64_t>(e.duration_us));
    w.array(e.argv.size());
    for (const std::string& a : e.argv) w.bulk(a);
    w.bulk(e.client_address);
    w.bulk(e.client_name);
  }
}

}  // namespace bw::server
