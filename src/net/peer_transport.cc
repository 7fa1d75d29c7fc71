#include "net/peer_transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "common/assert.h"
#include "common/codec.h"
#include "net/peer_socket.h"

namespace bw::net {

namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;

std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  return fmt::format("{}:{}", e.address().to_string(), e.port());
}

std::string remote_text(PeerSocket& s) {
  asio::error_code ec;
  auto e = s.tcp().remote_endpoint(ec);
  return ec ? std::string("unknown address") : endpoint_text(e);
}

}  // namespace

// One outbound link: owns the socket to a peer, the bounded frame queue and the reconnect timer.
// A connection goes connect -> (TLS handshake) -> hello -> hello ack checked -> auth, and only
// then is connected_: frames queued before wait in pending_.
class PeerTransport::Outbound : public std::enable_shared_from_this<Outbound> {
 public:
  Outbound(PeerTransport* owner, NodeId id, asio::ip::tcp::endpoint endpoint)
      : owner_(owner),
        id_(id),
        endpoint_(endpoint),
        socket_(std::make_shared<PeerSocket>(owner->io_)),
        timer_(owner->io_),
        handshake_timer_(owner->io_),
        reader_(kPeerHandshakeFrameBytesMax) {}

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
    if (connected_ && !writing_) schedule_write();
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
    handshake_timer_.cancel();
    socket_->close();
  }

  PeerStats stats() const {
    PeerStats s = stats_;
    s.connected = connected_;
    s.bytes_queued = queued_bytes_;
    return s;
  }

 private:
  std::string address() const { return endpoint_text(endpoint_); }

  void connect() {
    connecting_ = true;
    auto self = shared_from_this();
    uint64_t gen = generation_;
    start_handshake_timer(gen);
    socket_->tcp().async_connect(
        endpoint_, [this, self, gen, s = socket_](const asio::error_code& ec) {
          if (closed_ || gen != generation_) return;
          if (ec) {
            connecting_ = false;
            fail(ec);
            return;
          }
          asio::error_code ignored;
          socket_->tcp().set_option(asio::ip::tcp::no_delay(true), ignored);
          if (owner_->tls_client_) {
            socket_->start_tls(owner_->tls_client_);
            socket_->async_handshake(
                asio::ssl::stream_base::client, [this, self, gen, s](const asio::error_code& hec) {
                  if (closed_ || gen != generation_) return;
                  if (hec) {
                    refuse(fmt::format("TLS handshake failed: {}", hec.message()));
                    return;
                  }
                  send_hello(gen);
                });
            return;
          }
          send_hello(gen);
        });
  }

  void start_handshake_timer(uint64_t gen) {
    handshake_timer_.expires_after(
        std::chrono::milliseconds(owner_->options_.handshake_timeout_ms));
    auto self = shared_from_this();
    handshake_timer_.async_wait([this, self, gen](const asio::error_code& ec) {
      if (ec || closed_ || gen != generation_ || connected_) return;
      connecting_ = false;
      if (socket_->tcp().is_open()) {
        refuse(fmt::format("handshake not complete after {} ms",
                           owner_->options_.handshake_timeout_ms));
      } else {
        fail(asio::error::timed_out);
      }
    });
  }

  void send_hello(uint64_t gen) {
    nonce_ = random_nonce();
    handshake_out_.clear();
    append_frame(&handshake_out_, FrameType::kHello,
                 encode_hello(HelloMsg{.cluster_id = owner_->options_.cluster_id,
                                       .from = owner_->options_.self,
                                       .nonce = nonce_}));
    auto self = shared_from_this();
    socket_->async_write(asio::buffer(handshake_out_),
                         [this, self, gen, s = socket_](const asio::error_code& ec, size_t) {
                           if (closed_ || gen != generation_) return;
                           if (ec) {
                             connecting_ = false;
                             fail(ec);
                           }
                         });
    read();
  }

  // Reads the hello ack; the acceptor sends nothing after it, so a later read completes only when
  // it closes the link (or breaks the protocol).
  void read() {
    auto self = shared_from_this();
    uint64_t gen = generation_;
    socket_->async_read_some(asio::buffer(buf_),
                             [this, self, gen, s = socket_](const asio::error_code& ec, size_t n) {
                               if (closed_ || gen != generation_) return;
                               if (ec) {
                                 connecting_ = false;
                                 fail(ec);
                                 return;
                               }
                               reader_.feed(std::string_view(buf_.data(), n));
                               Frame f;
                               Result<bool> got = reader_.next(&f);
                               if (!got.ok()) {
                                 refuse(std::string(got.status().message()));
                                 return;
                               }
                               if (*got) {
                                 if (connected_ || f.type != FrameType::kHelloAck) {
                                   refuse("unexpected frame from the accepting side");
                                   return;
                                 }
                                 if (!check_ack(f.payload)) return;
                               }
                               read();
                             });
  }

  // Checks the acceptor's proof; on success sends ours and the queued frames.
  bool check_ack(std::string_view payload) {
    auto ack = decode_hello_ack(payload);
    if (!ack.ok()) {
      refuse(std::string(ack.status().message()));
      return false;
    }
    if (ack->from != id_) {
      refuse(fmt::format("it answers as node {}, not {}", ack->from, id_));
      return false;
    }
    const PeerTransportOptions& o = owner_->options_;
    HandshakeTranscript t{.cluster_id = o.cluster_id,
                          .dialer = o.self,
                          .acceptor = id_,
                          .dialer_nonce = nonce_,
                          .acceptor_nonce = ack->nonce};
    std::string auth;
    append_frame(&auth, FrameType::kAuth,
                 encode_auth(AuthMsg{.proof = make_proof(o.secrets, ProofSide::kDialer, t)}));
    if (!check_proof(o.secrets, ProofSide::kAcceptor, t, ack->proof)) {
      // Our proof still goes out, so that the accepting node logs the mismatch too; it is bound
      // to that node's fresh nonce and is of no use on any other connection.
      refuse_after_write(std::move(auth), "wrong cluster secret (its proof does not match)");
      return false;
    }
    handshake_timer_.cancel();
    connecting_ = false;
    connected_ = true;
    backoff_ms_ = 0;
    spdlog::debug("peer {}: connected to {}", id_, address());
    queued_bytes_ += auth.size();
    pending_.push_front(std::move(auth));
    // A write from the previous connection may still be completing; it starts ours when done.
    if (!writing_) write();
    return true;
  }

  void refuse_after_write(std::string last_frame, std::string_view reason) {
    ++owner_->handshakes_refused_;
    owner_->log_refusal(fmt::format("node {} at {}", id_, address()), reason);
    handshake_out_ = std::move(last_frame);
    auto self = shared_from_this();
    uint64_t gen = generation_;
    socket_->async_write(asio::buffer(handshake_out_),
                         [this, self, gen, s = socket_](const asio::error_code&, size_t) {
                           if (closed_ || gen != generation_) return;
                           connecting_ = false;
                           fail(asio::error::connection_refused);
                         });
  }

  void refuse(std::string_view reason) {
    ++owner_->handshakes_refused_;
    owner_->log_refusal(fmt::format("node {} at {}", id_, address()), reason);
    connecting_ = false;
    fail(asio::error::connection_refused);
  }

  // Deferred to the end of this event-loop pass, so every frame queued in it (a Ready's appends
  // and commit updates, the next proposals' appends) leaves in one gathered write.
  void schedule_write() {
    if (write_scheduled_) return;
    write_scheduled_ = true;
    asio::post(owner_->io_, [this, self = shared_from_this()] {
      write_scheduled_ = false;
      if (!closed_ && connected_ && !writing_) write();
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
    socket_->async_write(buffers,
                         [this, self, gen, s = socket_](const asio::error_code& ec, size_t bytes) {
                           // Invariant: in_flight_ outlives the operation; it is released only
                           // here.
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
        if (frame.type == FrameType::kAuth) continue;
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
    connecting_ = false;
    handshake_timer_.cancel();
    socket_->close();
    socket_ = std::make_shared<PeerSocket>(owner_->io_);
    reader_ = FrameReader(kPeerHandshakeFrameBytesMax);
  }

  PeerTransport* owner_;
  NodeId id_;
  asio::ip::tcp::endpoint endpoint_;
  std::shared_ptr<PeerSocket> socket_;
  asio::steady_timer timer_;
  asio::steady_timer handshake_timer_;
  FrameReader reader_;
  PeerNonce nonce_{};
  std::string handshake_out_;  // the hello, alive until its write completes or the link resets
  std::deque<std::string> pending_;
  std::deque<std::string> in_flight_;
  uint64_t queued_bytes_ = 0;
  uint32_t backoff_ms_ = 0;
  uint64_t generation_ = 0;
  bool connected_ = false;  // the handshake completed: frames may flow
  bool connecting_ = false;
  bool writing_ = false;
  bool write_scheduled_ = false;
  bool backing_off_ = false;
  bool closed_ = false;
  PeerStats stats_;
  std::array<char, 1024> buf_{};
};

// One inbound link: runs the accepting side of the handshake, then reads frames and hands them
// to the transport's handler.
class PeerTransport::Inbound : public std::enable_shared_from_this<Inbound> {
 public:
  Inbound(PeerTransport* owner, asio::ip::tcp::socket socket)
      : owner_(owner),
        socket_(std::make_shared<PeerSocket>(std::move(socket))),
        timer_(owner->io_),
        reader_(kPeerHandshakeFrameBytesMax) {}

  void start() {
    asio::error_code ignored;
    socket_->tcp().set_option(asio::ip::tcp::no_delay(true), ignored);
    address_ = remote_text(*socket_);
    ++owner_->handshakes_pending_;
    pending_handshake_ = true;
    timer_.expires_after(std::chrono::milliseconds(owner_->options_.handshake_timeout_ms));
    auto self = shared_from_this();
    timer_.async_wait([this, self](const asio::error_code& ec) {
      if (ec || closed_ || authenticated_) return;
      refuse(
          fmt::format("handshake not complete after {} ms", owner_->options_.handshake_timeout_ms));
    });
    if (owner_->tls_server_) {
      socket_->start_tls(owner_->tls_server_);
      socket_->async_handshake(asio::ssl::stream_base::server,
                               [this, self, s = socket_](const asio::error_code& ec) {
                                 if (closed_) return;
                                 if (ec) {
                                   refuse(fmt::format("TLS handshake failed: {}", ec.message()));
                                   return;
                                 }
                                 read();
                               });
      return;
    }
    read();
  }

  void close() {
    closed_ = true;
    timer_.cancel();
    socket_->close();
    if (pending_handshake_) {
      pending_handshake_ = false;
      --owner_->handshakes_pending_;
    }
  }

 private:
  void read() {
    auto self = shared_from_this();
    socket_->async_read_some(
        asio::buffer(buf_), [this, self, s = socket_](const asio::error_code& ec, size_t n) {
          if (closed_) return;
          if (ec) {
            if (!authenticated_)
              refuse(fmt::format("closed during the handshake ({})", ec.message()));
            finish();
            return;
          }
          reader_.feed(std::string_view(buf_.data(), n));
          Frame f;
          while (true) {
            Result<bool> got = reader_.next(&f);
            if (!got.ok()) {
              if (authenticated_) {
                spdlog::warn("peer link from node {} at {}: {}; closing", from_, address_,
                             got.status().message());
              } else {
                refuse(to_std(got.status().message()));
              }
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
    if (!authenticated_) return handle_handshake(f);
    if (f.type == FrameType::kHello || f.type == FrameType::kHelloAck ||
        f.type == FrameType::kAuth) {
      spdlog::warn("peer link from node {} at {}: handshake frame after the handshake; closing",
                   from_, address_);
      return false;
    }
    if (owner_->outbound_.contains(from_)) {
      PeerTransport::Received& r = owner_->received_[from_];
      ++r.frames;
      r.bytes += kFrameHeaderBytes + f.payload.size();
    }
    owner_->on_frame_(from_, f.type, f.payload);
    return true;
  }

  bool handle_handshake(const Frame& f) {
    const PeerTransportOptions& o = owner_->options_;
    if (!hello_seen_) {
      if (f.type != FrameType::kHello) return refuse("first frame is not a hello");
      auto hello = decode_hello(f.payload);
      if (!hello.ok()) return refuse(to_std(hello.status().message()));
      if (hello->cluster_id != o.cluster_id) {
        return refuse(fmt::format("wrong cluster id '{}' (this cluster is '{}'), node {}",
                                  hello->cluster_id, o.cluster_id, hello->from));
      }
      hello_seen_ = true;
      transcript_ = HandshakeTranscript{.cluster_id = o.cluster_id,
                                        .dialer = hello->from,
                                        .acceptor = o.self,
                                        .dialer_nonce = hello->nonce,
                                        .acceptor_nonce = random_nonce()};
      out_.clear();
      append_frame(&out_, FrameType::kHelloAck,
                   encode_hello_ack(HelloAckMsg{
                       .from = o.self,
                       .nonce = transcript_.acceptor_nonce,
                       .proof = make_proof(o.secrets, ProofSide::kAcceptor, transcript_)}));
      auto self = shared_from_this();
      socket_->async_write(asio::buffer(out_),
                           [this, self, s = socket_](const asio::error_code& ec, size_t) {
                             if (ec && !closed_) finish();
                           });
      return true;
    }
    if (f.type != FrameType::kAuth) return refuse("expected the dialer's proof");
    auto auth = decode_auth(f.payload);
    if (!auth.ok()) return refuse(to_std(auth.status().message()));
    if (!check_proof(o.secrets, ProofSide::kDialer, transcript_, auth->proof)) {
      return refuse(
          fmt::format("wrong cluster secret (node {}'s proof does not match)", transcript_.dialer));
    }
    authenticated_ = true;
    from_ = transcript_.dialer;
    timer_.cancel();
    pending_handshake_ = false;
    --owner_->handshakes_pending_;
    reader_.set_frame_bytes_max(o.frame_bytes_max);
    return true;
  }

  // Logs (rate-limited) why the link is refused and closes it. Always false (for handle()).
  bool refuse(std::string_view reason) {
    if (closed_) return false;
    ++owner_->handshakes_refused_;
    owner_->log_refusal(address_, reason);
    finish();
    return false;
  }

  void finish() {
    if (closed_) return;
    close();
    owner_->drop_inbound(this);
  }

  PeerTransport* owner_;
  std::shared_ptr<PeerSocket> socket_;
  asio::steady_timer timer_;
  FrameReader reader_;
  std::string address_;
  HandshakeTranscript transcript_;
  std::string out_;  // the hello ack, alive with the link
  NodeId from_;
  bool hello_seen_ = false;
  bool authenticated_ = false;
  bool pending_handshake_ = false;  // counted in owner_->handshakes_pending_
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
    if (!ec && handshakes_pending_ >= options_.handshakes_pending_max) {
      ++handshakes_refused_;
      asio::error_code ignored;
      auto remote = socket.remote_endpoint(ignored);
      log_refusal(ignored ? "unknown address" : endpoint_text(remote),
                  fmt::format("{} handshakes already pending", handshakes_pending_));
      socket.close(ignored);
    } else if (!ec) {
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

void PeerTransport::log_refusal(std::string_view address, std::string_view reason) {
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  uint64_t suppressed = 0;
  if (!refusal_log_.allow(now_ms, &suppressed)) return;
  if (suppressed > 0) {
    spdlog::warn("peer link with {} refused: {} ({} more refusals not logged)", address, reason,
                 suppressed);
  } else {
    spdlog::warn("peer link with {} refused: {}", address, reason);
  }
}

void PeerTransport::set_tls(std::shared_ptr<asio::ssl::context> server,
                            std::shared_ptr<asio::ssl::context> client) {
  BW_ASSERT((server == nullptr) == (client == nullptr));
  tls_server_ = std::move(server);
  tls_client_ = std::move(client);
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
