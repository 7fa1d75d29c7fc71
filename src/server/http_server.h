// The node's operations HTTP endpoint: Prometheus metrics, health, and any other page an
// operator reads (a dashboard, a JSON API) on one port.
//
// Threads: cpp-httplib serves requests on its own threads (OpsHttpOptions::threads), never on
// the node's event loop. A handler that needs node state asks the loop for a copy with
// run_on_loop(), which posts the work to the loop and waits at most loop_timeout_ms for it: a
// stopped or stuck loop makes the page answer 503 instead of hanging its client, and the node
// itself stays single-threaded.
//
// Adding a page: register it in Node::start_ops_http() (node_metrics.cc) with add_get(), before
// the server starts; take what it shows from the node inside run_on_loop() and render it on the
// HTTP thread.
//
// Limits: cpp-httplib 0.11 queues accepted connections for its threads without a bound; the
// endpoint is meant for an operations network, not for untrusted clients.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace bw::server {

struct HttpRequest {
  std::string path;
  std::multimap<std::string, std::string> params;  // the query string, decoded
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct OpsHttpOptions {
  // How long a request waits for the event loop to hand over what it asked for.
  uint32_t loop_timeout_ms = 1000;
  // Threads serving requests (one request each at a time); more connections wait for one.
  size_t threads = 2;
  // A request not read (or a reply not written) within this is dropped with its connection.
  uint32_t read_timeout_ms = 5000;
  // An idle keep-alive connection holds its thread this long before it is closed: short, so that
  // a scraper keeping its connection open between scrapes does not hold a thread meanwhile.
  uint32_t keep_alive_s = 1;
  // Request bodies (the pages are GETs) are refused beyond this.
  size_t body_bytes_max = 64 << 10;
};

class OpsHttpServer {
 public:
  // `loop` is the node's event loop, the thread run_on_loop() runs work on.
  OpsHttpServer(asio::io_context& loop, OpsHttpOptions options = {});
  ~OpsHttpServer();  // stop()s
  OpsHttpServer(const OpsHttpServer&) = delete;
  OpsHttpServer& operator=(const OpsHttpServer&) = delete;

  // Answers GET `path` (exact match) with `handler`, on a server thread.
  // REQUIRES: before start().
  void add_get(std::string path, HttpHandler handler);
  // Binds host:port (port 0: any free one, see port()) and starts serving. Errors name the
  // address.
  Status start(std::string_view listen);
  // Stops serving and joins the server threads. Work posted by run_on_loop() and not yet run is
  // dropped. REQUIRES: called on the loop's thread (or while the loop is not running).
  void stop();
  int port() const { return port_; }

  // Runs `fn` on the loop's thread and returns its result, or nullopt if the loop did not run it
  // within loop_timeout_ms (stopped, or busy) or the server is stopping. Called from a handler.
  template <typename T>
  std::optional<T> run_on_loop(std::function<T()> fn) const {
    if (loop_.stopped()) return std::nullopt;
    auto promise = std::make_shared<std::promise<T>>();
    std::future<T> result = promise->get_future();
    asio::post(loop_, [open = open_, promise, fn = std::move(fn)] {
      if (*open) promise->set_value(fn());
    });
    if (result.wait_for(std::chrono::milliseconds(options_.loop_timeout_ms)) !=
        std::future_status::ready) {
      return std::nullopt;
    }
    try {
      return result.get();
    } catch (const std::future_error&) {  // dropped unrun: the server stopped
      return std::nullopt;
    }
  }

  // A 503 for a page whose data the loop did not hand over.
  static HttpResponse unavailable();

 private:
  asio::io_context& loop_;
  const OpsHttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  int port_ = 0;
  // Read and written on the loop's thread only: false once stop() ran, so that work posted
  // before then no longer calls into the node.
  std::shared_ptr<bool> open_ = std::make_shared<bool>(true);
};

}  // namespace bw::server
