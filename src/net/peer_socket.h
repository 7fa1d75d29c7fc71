// The byte stream of one peer link: plain TCP, or TLS over TCP once start_tls() is called. The
// plain path costs one branch per operation; gather writes stay gather writes on both.
//
// Lifetime: handlers of pending operations must hold a shared_ptr to the PeerSocket (a TLS
// stream's operations use its state until they complete, also after close()).
// Thread safety: none; used on the io_context's single thread.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <memory>
#include <optional>
#include <utility>

namespace bw::net {

class PeerSocket {
 public:
  explicit PeerSocket(asio::io_context& io) : tcp_(io) {}
  explicit PeerSocket(asio::ip::tcp::socket socket) : tcp_(std::move(socket)) {}

  // The TCP socket underneath (connect, options, endpoints, close).
  asio::ip::tcp::socket& tcp() { return tls_ ? tls_->next_layer() : tcp_; }
  bool is_tls() const { return tls_ != nullptr; }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }

  // Wraps the connected socket in a TLS stream using `context` (kept alive with the stream).
  void start_tls(std::shared_ptr<asio::ssl::context> context) {
    context_ = std::move(context);
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(tcp_), *context_);
  }

  template <typename Handler>
  void async_handshake(asio::ssl::stream_base::handshake_type type, Handler&& handler) {
    tls_->async_handshake(type, std::forward<Handler>(handler));
  }

  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      tcp_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <typename Buffers, typename Handler>
  void async_write(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      asio::async_write(*tls_, buffers, std::forward<Handler>(handler));
    } else {
      asio::async_write(tcp_, buffers, std::forward<Handler>(handler));
    }
  }

  void close() {
    asio::error_code ignored;
    tcp().close(ignored);
  }

 private:
  asio::ip::tcp::socket tcp_;
  std::shared_ptr<asio::ssl::context> context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
};

}  // namespace bw::net
