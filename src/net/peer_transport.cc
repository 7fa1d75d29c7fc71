#include "net/peer_transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "common/assert.h"
#include "common/codec.h"

namespace bw::net {

namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr uint64_t kClusterIdBytesMax = 256;

std::string encode_hello(const std::string& cluster_id, NodeId self) {
  std::string out;
  ByteWriter w(&out);
  w.bytes(cluster_id);
  w.u64(self.value());
  return out;
}

}  // namespace

// One outbound link: owns the socket to a peer, the bounded frame queue and the reconnect timer.
class PeerTransport::Outbound : public std::enable_shared_from_this<Outbound> {
 public:
  Outbound(PeerTransport* owner, NodeId id, asio::ip::tcp::endpoint endpoint)
      : owner_(owner), id_(id), endpoint_(endpoint), socket_(owner->io_), timer_(owner->io_) {}

  void set_endpoint(asio::ip::tcp::endpoint e) {
    if (e == endpoint_) return;
    endpoint_ = e;
    reset();
  }

  void send(FrameType type, std::string_view payload) {
    if (queued_bytes_ + payload.size() > owner_->options_.queue_bytes_max) {
      ++stats_.frames_dropped;
      if (owner_->on_undelivered_ && !closed_) owner_->on_undelivered_(id_, type, payload);
      return;
    }
    if (pending_.empty() || pending_.back().size() > kReadChunkBytes) pending_.emplace_back();
    size_t before = pending_.back().size();
    append_frame(&pending_.back(), type, payload);
    queued_bytes_ += pending_.back().size() - before;
    if (!connected_ && !connecting_ && !backing_off_) connect();
    if (connected_ && !writing_) write();
  }

  void drop_queued_if_down() {
    if (connected_ || pending_.empty()) return;
    std::deque<std::string> dropped;
    dropped.swap(pending_);
    queued_bytes_ = 0;  // nothing is in flight while the link is down
    report_dropped(dropped);
  }

  void close() {
    closed_ = true;
    timer_.cancel();
    asio::error_code ignored;
    socket_.close(ignored);
  }

  PeerStats stats() const {
    PeerStats s = stats_;
    s.connected = connected_;
    s.bytes_queued = queued_bytes_;
    return s;
  }

 private:
  void connect() {
    connecting_ = true;
    auto self = shared_from_this();
    uint64_t gen = generation_;
    socket_.async_connect(endpoint_, [this, self, gen](const asio::error_code& ec) {
      connecting_ = false;
      if (closed_ || gen != generation_) return;
      if (ec) {
        fail(ec);
        return;
      }
      asio::error_code ignored;
      socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
      connected_ = true;
      backoff_ms_ = 0;
      spdlog::debug("peer {}: connected to {}:{}", id_, endpoint_.address().to_string(),
                    endpoint_.port());
      // The hello goes first, ahead of anything queued while disconnected.
      std::string hello;
      append_frame(&hello, FrameType::kHello,
                   encode_hello(owner_->options_.cluster_id, owner_->options_.self));
      queued_bytes_ += hello.size();
      pending_.push_front(std::move(hello));
      // A write from the previous connection may still be completing; it starts ours when done.
      if (!writing_) write();
      read_for_close();
    });
  }

  void write() {
    BW_ASSERT(connected_);
    BW_ASSERT(!writing_);
    if (pending_.empty()) return;
    writing_ = true;
    in_flight_.clear();
    std::swap(in_flight_, pending_);
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(in_flight_.size());
    for (const auto& b : in_flight_) buffers.emplace_back(asio::buffer(b));
    stats_.frames_sent += in_flight_.size();
    auto self = shared_from_this();
    uint64_t gen = generation_;
    asio::async_write(socket_, buffers,
                      [this, self, gen](const asio::error_code& ec, size_t bytes) {
                        // Invariant: in_flight_ outlives the operation; it is released only here.
                        writing_ = false;
                        in_flight_.clear();
                        if (closed_) return;
                        if (gen != generation_) {
                          // The connection this write belonged to is gone (its loss was handled
                          // elsewhere).
                          if (connected_ && !pending_.empty()) write();
                          return;
                        }
                        queued_bytes_ -= std::min<uint64_t>(queued_bytes_, bytes);
                        ++stats_.writes;
                        stats_.bytes_sent += bytes;
                        if (ec) {
                          fail(ec);
                          return;
                        }
                        if (connected_ && !pending_.empty()) write();
                      });
  }

  // Peers never send on an outbound link; a read completes only when the peer closes it.
  void read_for_close() {
    auto self = shared_from_this();
    uint64_t gen = generation_;
    socket_.async_read_some(asio::buffer(discard_),
                            [this, self, gen](const asio::error_code& ec, size_t) {
                              if (closed_ || gen != generation_) return;
                              if (ec) {
                                fail(ec);
                                return;
                              }
                              read_for_close();
                            });
  }

  void fail(const asio::error_code& ec) {
    if (connected_) spdlog::info("peer {}: link lost ({})", id_, ec.message());
    reset();
    // Messages queued for a dead link are stale by the time it is back; Raft resends.
    std::deque<std::string> dropped;
    dropped.swap(pending_);
    queued_bytes_ = 0;
    backing_off_ = true;
    const auto& o = owner_->options_;
    backoff_ms_ = std::clamp(backoff_ms_ * 2, o.reconnect_delay_ms_min, o.reconnect_delay_ms_max);
    timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
    auto self = shared_from_this();
    timer_.async_wait([this, self](const asio::error_code& tec) {
      backing_off_ = false;
      if (tec || closed_) return;
      if (!pending_.empty()) connect();
    });
    report_dropped(dropped);
  }

  // Every frame of `chunks` (never handed to a socket) is counted and reported as undelivered.
  void report_dropped(const std::deque<std::string>& chunks) {
    for (const auto& chunk : chunks) {
      FrameReader reader(std::numeric_limits<size_t>::max());
      reader.feed(chunk);
      Frame frame;
      while (true) {
        Result<bool> more = reader.next(&frame);
        BW_ASSERT(more.ok(), "a queued frame does not parse: {}", more.status());
        if (!*more) break;
        if (frame.type == FrameType::kHello) continue;
        ++stats_.frames_dropped;
        if (owner_->on_undelivered_ && !closed_) {
          owner_->on_undelivered_(id_, frame.type, frame.payload);
        }
      }
    }
  }

  void reset() {
    ++generation_;  // completions of the old socket's operations are now ignored
    connected_ = false;
    asio::error_code ignored;
    socket_.close(ignored);
    socket_ = asio::ip::tcp::socket(owner_->io_);
  }

  PeerTransport* owner_;
  NodeId id_;
  asio::ip::tcp::endpoint endpoint_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::deque<std::string> pending_;
  std::deque<std::string> in_flight_;
  uint64_t queued_bytes_ = 0;
  uint32_t backoff_ms_ = 0;
  uint64_t generation_ = 0;
  bool connected_ = false;
  bool connecting_ = false;
  bool writing_ = false;
  bool backing_off_ = false;
  bool closed_ = false;
  PeerStats stats_;
  std::array<char, 64> discard_{};
};

// One inbound link: reads frames, checks the hello, hands frames to the transport's handler.
class PeerTransport::Inbound : public std::enable_shared_from_this<Inbound> {
 public:
  Inbound(PeerTransport* owner, asio::ip::tcp::socket socket)
      : owner_(owner), socket_(std::move(socket)), reader_(owner->options_.frame_bytes_max) {}

  void start() {
    asio::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    read();
  }

  void close() {
    closed_ = true;
    asio::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_), [this, self](const asio::error_code& ec, size_t n) {
      if (closed_) return;
      if (ec) {
        finish();
        return;
      }
      reader_.feed(std::string_view(buf_.data(), n));
      Frame f;
      while (true) {
        Result<bool> got = reader_.next(&f);
        if (!got.ok()) {
          spdlog::warn("peer link from {}: {}; closing", from_, got.status().message());
          finish();
          return;
        }
        if (!*got) break;
        if (!handle(f)) {
          finish();
          return;
        }
        if (closed_) return;
      }
      read();
    });
  }

  bool handle(const Frame& f) {
    if (from_ == kNoNode) {
      if (f.type != FrameType::kHello) {
        spdlog::warn("peer link: first frame is not a hello; closing");
        return false;
      }
      ByteReader r(f.payload);
      auto cluster = r.bytes(kClusterIdBytesMax);
      auto id = r.u64();
      if (!cluster.ok() || !id.ok() || *id == 0) {
        spdlog::warn("peer link: malformed hello; closing");
        return false;
      }
      if (*cluster != owner_->options_.cluster_id) {
        spdlog::warn("peer link: node {} belongs to cluster '{}', not '{}'; closing", *id, *cluster,
                     owner_->options_.cluster_id);
        return false;
      }
      from_ = NodeId(*id);
      return true;
    }
    if (f.type == FrameType::kHello) return false;
    if (owner_->outbound_.contains(from_)) {
      PeerTransport::Received& r = owner_->received_[from_];
      ++r.frames;
      r.bytes += kFrameHeaderBytes + f.payload.size();
    }
    owner_->on_frame_(from_, f.type, f.payload);
    return true;
  }

  void finish() {
    if (closed_) return;
    close();
    owner_->drop_inbound(this);
  }

  PeerTransport* owner_;
  asio::ip::tcp::socket socket_;
  FrameReader reader_;
  NodeId from_;
  bool closed_ = false;
  std::array<char, kReadChunkBytes> buf_{};
};

PeerTransport::PeerTransport(asio::io_context& io, PeerTransportOptions options,
                             FrameHandler on_frame)
    : io_(io), options_(std::move(options)), on_frame_(std::move(on_frame)) {}

PeerTransport::~PeerTransport() {
  close();
}

Result<std::unique_ptr<asio::ip::tcp::acceptor>> listen_on(asio::io_context& io,
                                                           const asio::ip::tcp::endpoint& endpoint,
                                                           std::string_view what) {
  auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(io);
  asio::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format("cannot listen for {} on {}:{}: {}", what,
                                              endpoint.address().to_string(), endpoint.port(),
                                              ec.message()));
  }
  return acceptor;
}

Status PeerTransport::listen(const asio::ip::tcp::endpoint& endpoint) {
  BW_ASSIGN_OR_RETURN(auto acceptor, listen_on(io_, endpoint, "peers"));
  acceptor_ = std::move(acceptor);
  accept();
  return OkStatus();
}

void PeerTransport::accept() {
  // The transport may be destroyed while the accept is pending; the token tells the handler.
  std::weak_ptr<bool> alive = alive_;
  acceptor_->async_accept([this, alive](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (alive.expired() || closed_) return;
    if (!ec) {
      auto in = std::make_shared<Inbound>(this, std::move(socket));
      inbound_[in.get()] = in;
      in->start();
    }
    accept();
  });
}

void PeerTransport::drop_inbound(Inbound* in) {
  inbound_.erase(in);
}

void PeerTransport::set_peer(NodeId id, asio::ip::tcp::endpoint endpoint) {
  auto it = outbound_.find(id);
  if (it != outbound_.end()) {
    it->second->set_endpoint(endpoint);
    return;
  }
  outbound_[id] = std::make_shared<Outbound>(this, id, endpoint);
}

void PeerTransport::remove_peer(NodeId id) {
  auto it = outbound_.find(id);
  if (it == outbound_.end()) return;
  it->second->close();
  outbound_.erase(it);
  received_.erase(id);
}

void PeerTransport::send(NodeId to, FrameType type, std::string_view payload) {
  if (closed_) return;
  auto it = outbound_.find(to);
  if (it == outbound_.end()) return;
  it->second->send(type, payload);
}

void PeerTransport::drop_queued_if_down(NodeId id) {
  auto it = outbound_.find(id);
  if (it != outbound_.end()) it->second->drop_queued_if_down();
}

PeerStats PeerTransport::stats(NodeId id) const {
  auto it = outbound_.find(id);
  PeerStats s = it == outbound_.end() ? PeerStats{} : it->second->stats();
  if (auto r = received_.find(id); r != received_.end()) {
    s.frames_received = r->second.frames;
    s.bytes_received = r->second.bytes;
  }
  return s;
}

asio::ip::tcp::endpoint PeerTransport::local_endpoint() const {
  asio::error_code ec;
  return acceptor_ ? acceptor_->local_endpoint(ec) : asio::ip::tcp::endpoint{};
}

void PeerTransport::close() {
  if (closed_) return;
  closed_ = true;
  if (acceptor_) {
    asio::error_code ignored;
    acceptor_->close(ignored);
  }
  for (auto& [id, out] : outbound_) out->close();
  for (auto& [ptr, in] : inbound_) in->close();
  inbound_.clear();
}

Result<asio::ip::tcp::endpoint> parse_endpoint(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return absl::InvalidArgumentError(fmt::format("'{}' is not host:port", text));
  }
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  std::string port_text(text.substr(colon + 1));
  char* end = nullptr;
  unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (*end != '\0' || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(fmt::format("'{}' has no valid port", text));
  }
  asio::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError(fmt::format("'{}' is not a numeric address", host));
  return asio::ip::tcp::endpoint(addr, static_cast<uint16_t>(port));
}

}  // namespace bw::net
