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

// Returns true with *out set once `buf` from `pos` holds one complete reply: a scalar (one
// element), or with `array`, an array of scalars.
Result<bool> parse_reply(const std::string& buf, size_t pos, bool array,
                         std::vector<std::string>* out) {
  out->clear();
  size_t count = 1;
  if (array && buf.size() > pos && buf[pos] == '*') {
    size_t eol = buf.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    int64_t n = 0;
    auto [p, ec] = std::from_chars(buf.data() + pos + 1, buf.data() + eol, n);
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

void append_command(std::string* request, const std::vector<std::string>& argv) {
  *request += fmt::format("*{}\r\n", argv.size());
  for (const auto& a : argv) *request += fmt::format("${}\r\n{}\r\n", a.size(), a);
}

// One request and its reply, on a plain or a TLS stream.
struct Conversation {
  std::string_view endpoint;
  bool array = false;
  bool auth = false;  // the request starts with AUTH, whose reply comes first
  std::string request;
  std::string buf;
  std::array<char, 16384> chunk{};
  std::vector<std::string> reply;
  Status result;
};

// What has arrived so far: the AUTH reply (it must be OK), then the command's.
Result<bool> parse_replies(Conversation& c) {
  size_t pos = 0;
  if (c.auth) {
    std::string ok;
    auto done = parse_scalar_at(c.buf, &pos, &ok);
    if (!done.ok()) {
      return absl::PermissionDeniedError(
          fmt::format("{}: AUTH: {}", c.endpoint, done.status().message()));
    }
    if (!*done) return false;
  }
  return parse_reply(c.buf, pos, c.array, &c.reply);
}

template <typename Stream>
void read_more(Stream& stream, Conversation& c) {
  stream.async_read_some(asio::buffer(c.chunk), [&stream, &c](const asio::error_code& ec,
                                                              size_t n) {
    if (ec) {
      c.result = absl::UnavailableError(fmt::format("{}: {}", c.endpoint, net::tls_error_text(ec)));
      return;
    }
    c.buf.append(c.chunk.data(), n);
    auto done = parse_replies(c);
    if (!done.ok()) {
      c.result = done.status();
    } else if (*done) {
      c.result = OkStatus();
    } else if (c.buf.size() > kAdminReplyBytesMax) {
      c.result = absl::ResourceExhaustedError("reply too large");
    } else {
      read_more(stream, c);
    }
  });
}

template <typename Stream>
void send(Stream& stream, Conversation& c) {
  asio::async_write(
      stream, asio::buffer(c.request), [&stream, &c](const asio::error_code& ec, size_t) {
        if (ec) {
          c.result =
              absl::UnavailableError(fmt::format("{}: {}", c.endpoint, net::tls_error_text(ec)));
          return;
        }
        read_more(stream, c);
      });
}

std::string host_of(std::string_view endpoint) {
  std::string_view host = endpoint.substr(0, endpoint.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

Result<std::vector<std::string>> exchange(std::string_view endpoint,
                                          const std::vector<std::string>& argv,
                                          std::chrono::milliseconds timeout, bool array,
                                          const ClientConnectOptions& connect) {
  BW_ASSIGN_OR_RETURN(auto ep, net::parse_endpoint(endpoint));
  std::shared_ptr<asio::ssl::context> tls_context;
  net::TlsOptions tls_options = connect.tls_options;
  if (connect.tls) {
    if (tls_options.verify_host.empty()) tls_options.verify_host = host_of(endpoint);
    BW_ASSIGN_OR_RETURN(tls_context, net::make_tls_context(tls_options, net::TlsRole::kClient));
  }
  Conversation c;
  c.endpoint = endpoint;
  c.array = array;
  if (!connect.pass.empty()) {
    c.auth = true;
    if (connect.user.empty()) {
      append_command(&c.request, {"AUTH", connect.pass});
    } else {
      append_command(&c.request, {"AUTH", connect.user, connect.pass});
    }
  }
  append_command(&c.request, argv);
  c.result = absl::DeadlineExceededError(
      fmt::format("{}: no reply within {} ms", endpoint, timeout.count()));
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls;
  if (tls_context != nullptr) {
    tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(sock, *tls_context);
    BW_RETURN_IF_ERROR(net::prepare_client_stream(tls->native_handle(), tls_options));
  }
  sock.async_connect(ep, [&](const asio::error_code& ec) {
    if (ec) {
      c.result =
          absl::UnavailableError(fmt::format("cannot connect to {}: {}", endpoint, ec.message()));
      return;
    }
    if (tls == nullptr) {
      send(sock, c);
      return;
    }
    tls->async_handshake(asio::ssl::stream_base::client, [&](const asio::error_code& hec) {
      if (hec) {
        c.result = absl::UnauthenticatedError(
            fmt::format("{}: TLS handshake failed: {}", endpoint, net::tls_error_text(hec)));
        return;
      }
      send(*tls, c);
    });
  });
  io.run_for(timeout);
  if (!c.result.ok()) return c.result;
  return std::move(c.reply);
}

}  // namespace

Result<std::string> admin_command(std::string_view endpoint, const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout,
                                  const ClientConnectOptions& connect) {
  BW_ASSIGN_OR_RETURN(std::vector<std::string> reply,
                      exchange(endpoint, argv, timeout, false, connect));
  return std::move(reply.at(0));
}

Result<std::vector<std::string>> admin_command_array(std::string_view endpoint,
                                                     const std::vector<std::string>& argv,
                                                     std::chrono::milliseconds timeout,
                                                     const ClientConnectOptions& connect) {
  return exchange(endpoint, argv, timeout, true, connect);
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
                                             const ClientConnectOptions& connect) {
  std::map<std::string, std::string> m;
  auto r = admin_command(endpoint, {"INFO", "raft"}, timeout, connect);
  if (!r.ok()) return m;
  for (auto& [k, v] : parse_info(*r)) m[k] = v;
  return m;
}

}  // namespace bw::server
