#include "server/http_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "common/assert.h"
#include "net/peer_transport.h"

namespace bw::server {

namespace {

// start() returns once the listener runs (httplib's stop() does nothing to a listener that has
// not started yet, which would then never end); it is a matter of microseconds.
constexpr auto kListenerStartWait = std::chrono::seconds(2);
constexpr auto kListenerStartPoll = std::chrono::milliseconds(1);

}  // namespace

OpsHttpServer::OpsHttpServer(asio::io_context& loop, OpsHttpOptions options)
    : loop_(loop), options_(options), server_(std::make_unique<httplib::Server>()) {
  const size_t threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_read_timeout(std::chrono::milliseconds(options_.read_timeout_ms));
  server_->set_write_timeout(std::chrono::milliseconds(options_.read_timeout_ms));
  server_->set_keep_alive_timeout(options_.keep_alive_s);
  server_->set_payload_max_length(options_.body_bytes_max);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second node bind
  // the same port silently and take half of the scrapes.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
}

OpsHttpServer::~OpsHttpServer() {
  stop();
}

void OpsHttpServer::add_get(std::string path, HttpHandler handler) {
  BW_ASSERT(!listener_.joinable(), "add_get({}) after start", path);
  server_->Get(path,
               [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                 HttpRequest request{.path = req.path};
                 for (const auto& [k, v] : req.params) request.params.emplace(k, v);
                 HttpResponse response = handler(request);
                 res.status = response.status;
                 res.set_content(std::move(response.body), response.content_type.c_str());
               });
}

Status OpsHttpServer::start(std::string_view listen) {
  // Port 0 (any free port) is not an address a node is configured with, so parse_endpoint
  // refuses it: the host is checked on its own.
  const bool any_port = listen.ends_with(":0");
  BW_ASSIGN_OR_RETURN(
      asio::ip::tcp::endpoint endpoint,
      net::parse_endpoint(any_port ? fmt::format("{}1", listen.substr(0, listen.size() - 1))
                                   : std::string(listen)));
  const std::string host = endpoint.address().to_string();
  if (any_port) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, endpoint.port()) ? endpoint.port() : -1;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(fmt::format("cannot listen for HTTP on {}", listen));
  }
  listener_ = std::thread([this] {
    if (!server_->listen_after_bind()) spdlog::warn("ops http: the listener stopped on an error");
  });
  const auto deadline = std::chrono::steady_clock::now() + kListenerStartWait;
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kListenerStartPoll);
  }
  if (!server_->is_running()) {
    spdlog::warn("ops http: the listener on {} did not start in time", listen);
  }
  return OkStatus();
}

void OpsHttpServer::stop() {
  *open_ = false;
  if (!listener_.joinable()) return;
  server_->stop();
  listener_.join();
}

HttpResponse OpsHttpServer::unavailable() {
  return HttpResponse{.status = 503, .body = "the node did not answer in time\n"};
}

}  // namespace bw::server
