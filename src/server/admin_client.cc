#include "server/admin_client.h"

#include <fmt/format.h>

#include <asio.hpp>
#include <charconv>

#include "net/peer_transport.h"

namespace bw::server {

namespace {

constexpr size_t kAdminReplyBytesMax = 16u << 20;
constexpr int64_t kAdminArrayElementsMax = 1024;

// Parses one scalar reply at buf[*pos]: true with *out set and *pos past it once complete.
Result<bool> parse_scalar_at(const std::string& buf, size_t* pos, std::string* out) {
  const size_t at = *pos;
  size_t eol = buf.find("\r\n", at);
  if (eol == std::string::npos) return false;
  char type = buf[at];
  std::string_view line(buf.data() + at + 1, eol - at - 1);
  switch (type) {
    case '+':
    case ':':
      *out = std::string(line);
      *pos = eol + 2;
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
        *pos = eol + 2;
        return true;
      }
      if (buf.size() < eol + 2 + static_cast<size_t>(len) + 2) return false;
      *out = buf.substr(eol + 2, static_cast<size_t>(len));
      if (type == '=' && out->size() >= 4) out->erase(0, 4);  // "txt:"
      *pos = eol + 2 + static_cast<size_t>(len) + 2;
      return true;
    }
    default:
      return absl::DataLossError(fmt::format("unexpected reply type '{}'", type));
  }
}

// Returns true with *out set once `buf` holds one complete reply: a scalar (one element), or
// with `array`, an array of scalars.
Result<bool> parse_reply(const std::string& buf, bool array, std::vector<std::string>* out) {
  out->clear();
  size_t pos = 0;
  size_t count = 1;
  if (array && !buf.empty() && buf[0] == '*') {
    size_t eol = buf.find("\r\n");
    if (eol == std::string::npos) return false;
    int64_t n = 0;
    auto [p, ec] = std::from_chars(buf.data() + 1, buf.data() + eol, n);
    if (ec != std::errc() || n < 0 || n > kAdminArrayElementsMax) {
      return absl::DataLossError("malformed array length in reply");
    }
    count = static_cast<size_t>(n);
    pos = eol + 2;
  }
  for (size_t i = 0; i < count; ++i) {
    std::string element;
    BW_ASSIGN_OR_RETURN(bool done, parse_scalar_at(buf, &pos, &element));
    if (!done) return false;
    out->push_back(std::move(element));
  }
  return true;
}

Result<std::vector<std::string>> exchange(std::string_view endpoint,
                                          const std::vector<std::string>& argv,
                                          std::chrono::milliseconds timeout, bool array,
                                          const AdminAuth& auth) {
  BW_ASSIGN_OR_RETURN(auto ep, net::parse_endpoint(endpoint));
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  std::string request;
  // AUTH first; its +OK is skipped (an error reply ends the exchange with that error).
  constexpr std::string_view kAuthOk = "+OK\r\n";
  if (!auth.password.empty()) {
    request = fmt::format("*3\r\n$4\r\nAUTH\r\n${}\r\n{}\r\n${}\r\n{}\r\n", auth.user.size(),
                          auth.user, auth.password.size(), auth.password);
  }
  const size_t skip = auth.password.empty() ? 0 : kAuthOk.size();
  request += fmt::format("*{}\r\n", argv.size());
  for (const auto& a : argv) request += fmt::format("${}\r\n{}\r\n", a.size(), a);
  std::string buf;
  std::array<char, 16384> chunk{};
  Status result = absl::DeadlineExceededError(
      fmt::format("{}: no reply within {} ms", endpoint, timeout.count()));
  std::vector<std::string> reply;
  std::function<void()> read_more = [&] {
    sock.async_read_some(asio::buffer(chunk), [&](const asio::error_code& ec, size_t n) {
      if (ec) {
        result = absl::UnavailableError(fmt::format("{}: {}", endpoint, ec.message()));
        return;
      }
      buf.append(chunk.data(), n);
      if (skip > 0 && !buf.empty() && buf[0] == '-') {
        std::vector<std::string> ignored;
        auto auth_reply = parse_reply(buf, false, &ignored);
        if (!auth_reply.ok()) {
          result = auth_reply.status();
          return;
        }
      }
      if (buf.size() < skip || (skip > 0 && buf.compare(0, skip, kAuthOk) != 0)) {
        if (buf.size() >= skip) {
          result = absl::DataLossError("unexpected reply to AUTH");
          return;
        }
        read_more();
        return;
      }
      auto done = parse_reply(buf.substr(skip), array, &reply);
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

}  // namespace

Result<std::string> admin_command(std::string_view endpoint, const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout, const AdminAuth& auth) {
  BW_ASSIGN_OR_RETURN(std::vector<std::string> reply,
                      exchange(endpoint, argv, timeout, false, auth));
  return std::move(reply.at(0));
}

Result<std::vector<std::string>> admin_command_array(std::string_view endpoint,
                                                     const std::vector<std::string>& argv,
                                                     std::chrono::milliseconds timeout,
                                                     const AdminAuth& auth) {
  return exchange(endpoint, argv, timeout, true, auth);
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
                                             std::chrono::milliseconds timeout,
                                             const AdminAuth& auth) {
  std::map<std::string, std::string> m;
  auto r = admin_command(endpoint, {"INFO", "raft"}, timeout, auth);
  if (!r.ok()) return m;
  for (auto& [k, v] : parse_info(*r)) m[k] = v;
  return m;
}

}  // namespace bw::server
