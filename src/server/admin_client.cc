#include "server/admin_client.h"

#include <fmt/format.h>

#include <asio.hpp>
#include <charconv>

#include "net/peer_transport.h"

namespace bw::server {

namespace {

constexpr size_t kAdminReplyBytesMax = 16u << 20;

// Returns true with *out set once `buf` holds one complete scalar reply.
Result<bool> parse_scalar_reply(const std::string& buf, std::string* out) {
  size_t eol = buf.find("\r\n");
  if (eol == std::string::npos) return false;
  char type = buf[0];
  std::string_view line(buf.data() + 1, eol - 1);
  switch (type) {
    case '+':
    case ':':
      *out = std::string(line);
      return true;
    case '-':
      return absl::FailedPreconditionError(std::string(line));
    case '$':
    case '=': {
      int64_t len = 0;
      auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), len);
      if (ec != std::errc() || len < -1)
        return absl::DataLossError("malformed bulk length in reply");
      if (len == -1) {
        *out = "";
        return true;
      }
      if (buf.size() < eol + 2 + static_cast<size_t>(len) + 2) return false;
      *out = buf.substr(eol + 2, static_cast<size_t>(len));
      if (type == '=' && out->size() >= 4) out->erase(0, 4);  // "txt:"
      return true;
    }
    default:
      return absl::DataLossError(fmt::format("unexpected reply type '{}'", type));
  }
}

}  // namespace

Result<std::string> admin_command(std::string_view endpoint, const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout) {
  BW_ASSIGN_OR_RETURN(auto ep, net::parse_endpoint(endpoint));
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  std::string request = fmt::format("*{}\r\n", argv.size());
  for (const auto& a : argv) request += fmt::format("${}\r\n{}\r\n", a.size(), a);
  std::string buf;
  std::array<char, 16384> chunk{};
  Status result = absl::DeadlineExceededError(
      fmt::format("{}: no reply within {} ms", endpoint, timeout.count()));
  std::string reply;
  std::function<void()> read_more = [&] {
    sock.async_read_some(asio::buffer(chunk), [&](const asio::error_code& ec, size_t n) {
      if (ec) {
        result = absl::UnavailableError(fmt::format("{}: {}", endpoint, ec.message()));
        return;
      }
      buf.append(chunk.data(), n);
      auto done = parse_scalar_reply(buf, &reply);
      if (!done.ok()) {
        result = done.status();
      } else if (*done) {
        result = OkStatus();
      } else if (buf.size() > kAdminReplyBytesMax) {
        result = absl::ResourceExhaustedError("reply too large");
      } else {
        read_more();
      }
    });
  };
  sock.async_connect(ep, [&](const asio::error_code& ec) {
    if (ec) {
      result =
          absl::UnavailableError(fmt::format("cannot connect to {}: {}", endpoint, ec.message()));
      return;
    }
    asio::async_write(sock, asio::buffer(request), [&](const asio::error_code& wec, size_t) {
      if (wec) {
        result = absl::UnavailableError(fmt::format("{}: {}", endpoint, wec.message()));
        return;
      }
      read_more();
    });
  });
  io.run_for(timeout);
  if (!result.ok()) return result;
  return reply;
}

std::vector<std::pair<std::string, std::string>> parse_info(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

std::map<std::string, std::string> info_raft(std::string_view endpoint,
                                             std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> m;
  auto r = admin_command(endpoint, {"INFO", "raft"}, timeout);
  if (!r.ok()) return m;
  for (auto& [k, v] : parse_info(*r)) m[k] = v;
  return m;
}

}  // namespace bw::server
