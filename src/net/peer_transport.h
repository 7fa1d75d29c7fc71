// Persistent TCP links between the nodes of a cluster.
//
// Each node keeps one outbound connection to every peer (reconnecting with capped exponential
// backoff) and accepts inbound connections from peers on its peer address. A link carries frames
// (net/frame.h), optionally over mutual TLS (set_tls). It opens with the handshake of
// net/peer_auth.h (kHello, kHelloAck, kAuth): both sides prove the cluster secret and the cluster
// id, and a peer that fails, or does not finish within handshake_timeout_ms, is refused with one
// rate-limited log line naming its address and the reason. Frames flow only after it; frames sent
// on an inbound link are never accepted. Frames queued for one peer while its link is
// busy are written together with one gather write; the queue is bounded (queue_bytes_max) and
// frames beyond the bound are dropped, which Raft tolerates as message loss. Frames dropped before
// they reached a socket are reported to an optional handler (forwarded commands are re-sent).
//
// Thread safety: all methods and callbacks run on the io_context's single thread.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/ids.h"
#include "net/frame.h"
#include "net/peer_auth.h"

namespace bw::net {

// A link whose handshake (TCP connect, TLS, secret) has not completed by then is closed.
inline constexpr uint32_t kPeerHandshakeTimeoutMs = 5000;
// Inbound links still in their handshake, at most; connections beyond are closed at once.
inline constexpr size_t kPeerHandshakesPendingMax = 64;
// The largest handshake frame either side reads (the hello's cluster id is the longest field).
inline constexpr size_t kPeerHandshakeFrameBytesMax = 1024;

struct PeerTransportOptions {
  std::string cluster_id;
  NodeId self;
  ClusterSecrets secrets;  // none: the handshake checks cluster id and node ids only
  size_t queue_bytes_max = 64u << 20;
  size_t frame_bytes_max = 80u << 20;
  uint32_t reconnect_delay_ms_min = 20;
  uint32_t reconnect_delay_ms_max = 1000;
  uint32_t handshake_timeout_ms = kPeerHandshakeTimeoutMs;
  size_t handshakes_pending_max = kPeerHandshakesPendingMax;
};

struct PeerStats {
  bool connected = false;
  uint64_t frames_sent = 0;  // handed to the socket
  uint64_t writes = 0;       // gather writes completed
  uint64_t frames_dropped = 0;
  uint64_t bytes_queued = 0;
  uint64_t bytes_sent = 0;       // written to the socket, frame headers included
  uint64_t frames_received = 0;  // from this peer, over any of its inbound links
  uint64_t bytes_received = 0;   // frame headers included
};

class PeerTransport {
 public:
  using FrameHandler = std::function<void(NodeId from, FrameType type, std::string_view payload)>;
  // Told of every frame dropped before any byte of it reached a socket (queue full, or still
  // queued when its link failed): such a frame certainly never arrived. Frames handed to a socket
  // whose link then failed are not reported; they may or may not have arrived. The handler may
  // call send().
  using UndeliveredHandler =
      std::function<void(NodeId to, FrameType type, std::string_view payload)>;

  PeerTransport(asio::io_context& io, PeerTransportOptions options, FrameHandler on_frame);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Starts accepting peers on `endpoint`. Errors if the address cannot be bound.
  Status listen(const asio::ip::tcp::endpoint& endpoint);
  // Adds (or re-points) the address of a peer; connection is made lazily on first send.
  void set_peer(NodeId id, asio::ip::tcp::endpoint endpoint);
  void remove_peer(NodeId id);
  void set_undelivered_handler(UndeliveredHandler handler) { on_undelivered_ = std::move(handler); }
  // If the link to `id` is down (connecting or waiting to reconnect), drops the frames queued for
  // it now and reports them undelivered, instead of when the next connection attempt fails.
  void drop_queued_if_down(NodeId id);
  // Queues one frame for `to`. Dropped (and counted) if the peer is unknown or its queue is full.
  void send(NodeId to, FrameType type, std::string_view payload);
  PeerStats stats(NodeId id) const;
  // Handshakes this node refused (either side of a link) since it started.
  uint64_t handshakes_refused() const { return handshakes_refused_; }
  // The secrets proven and accepted by links opened from now on.
  void set_secrets(ClusterSecrets secrets) { options_.secrets = std::move(secrets); }
  // Mutual TLS for links opened from now on: `server` for inbound links, `client` for outbound
  // ones; both must verify the other side's certificate. Null (both): plain TCP.
  void set_tls(std::shared_ptr<asio::ssl::context> server,
               std::shared_ptr<asio::ssl::context> client);
  // The bound peer address (useful after listening on port 0).
  asio::ip::tcp::endpoint local_endpoint() const;
  void close();

 private:
  class Outbound;
  class Inbound;

  asio::io_context& io_;
  PeerTransportOptions options_;
  FrameHandler on_frame_;
  UndeliveredHandler on_undelivered_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::map<NodeId, std::shared_ptr<Outbound>> outbound_;
  std::map<Inbound*, std::shared_ptr<Inbound>> inbound_;
  struct Received {
    uint64_t frames = 0;
    uint64_t bytes = 0;
  };
  // Per configured peer (a key of outbound_): bounded by the peer list.
  std::map<NodeId, Received> received_;
  std::shared_ptr<asio::ssl::context> tls_server_;
  std::shared_ptr<asio::ssl::context> tls_client_;
  RefusalLogLimiter refusal_log_;
  uint64_t handshakes_refused_ = 0;
  size_t handshakes_pending_ = 0;  // inbound links not yet authenticated
  bool closed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with the transport

  void accept();
  void drop_inbound(Inbound* in);
  // One rate-limited warning: the link with `address` was refused for `reason`.
  void log_refusal(std::string_view address, std::string_view reason);
  friend class Inbound;
};

// An acceptor bound and listening on `endpoint` (address reuse on). Errors name `what`
// ("clients", "peers") and the address.
Result<std::unique_ptr<asio::ip::tcp::acceptor>> listen_on(asio::io_context& io,
                                                           const asio::ip::tcp::endpoint& endpoint,
                                                           std::string_view what);

// Parses "host:port" into an endpoint. Only numeric IPv4/IPv6 hosts and "localhost".
Result<asio::ip::tcp::endpoint> parse_endpoint(std::string_view text);

}  // namespace bw::net
