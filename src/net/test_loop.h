// Helpers of the net tests: a loopback endpoint on a free port, and running an io_context until
// a condition holds.
#pragma once

#include <asio.hpp>
#include <chrono>

namespace bw::net {

inline asio::ip::tcp::endpoint any_port() {
  return asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
}

// Runs the loop until `done` holds or `limit` passes; returns done().
template <typename Pred>
bool run_until(asio::io_context& io, Pred done,
               std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  return done();
}

}  // namespace bw::net
