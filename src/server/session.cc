#include "server/session.h"

#include <spdlog/spdlog.h>

#include "common/assert.h"
#include "resp/writer.h"
#include "server/args.h"
#include "server/node.h"
#include "server/slowlog.h"

namespace bw::server {

namespace {
constexpr size_t kReadBytesMin = 16 * 1024;
}  // namespace

Session::Session(Node* node, asio::ip::tcp::socket socket, uint64_t id, SessionLimits limits,
                 resp::ParserLimits protocol_limits, std::shared_ptr<asio::ssl::context> tls)
    : node_(node),
      socket_(std::move(socket)),
      tls_context_(std::move(tls)),
      id_(id),
      limits_(limits),
      parser_(protocol_limits) {
  if (tls_context_ != nullptr) {
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_context_);
  }
  asio::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) {
    peer_address = remote.address().to_string() + ":" + std::to_string(remote.port());
    const asio::ip::address a = remote.address();
    // An IPv4 loopback reached over an IPv6 socket counts too (::ffff:127.0.0.1).
    local = a.is_loopback() ||
            (a.is_v6() && a.to_v6().is_v4_mapped() &&
             asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback());
  }
  auto local_ep = socket_.local_endpoint(ec);
  if (!ec) local_address = local_ep.address().to_string() + ":" + std::to_string(local_ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void Session::start() {
  if (tls_ == nullptr) {
    read();
    return;
  }
  auto self = shared_from_this();
  handshake_timer_ =
      std::make_unique<asio::steady_timer>(socket_.get_executor(), net::kTlsHandshakeTimeout);
  handshake_timer_->async_wait([this, self](const asio::error_code& ec) {
    if (ec || closed_ || handshake_done_) return;
    spdlog::info("client {} ({}): no TLS handshake within {} ms; closing", id_, peer_address,
                 net::kTlsHandshakeTimeout.count());
    close();
  });
  tls_->async_handshake(asio::ssl::stream_base::server, [this, self](const asio::error_code& ec) {
    handshake_done_ = true;
    handshake_timer_->cancel();
    if (closed_) return;
    if (ec) {
      spdlog::info("client {} ({}): TLS handshake failed: {}", id_, peer_address,
                   net::tls_error_text(ec));
      close();
      return;
    }
    tls_peer_subject = net::peer_certificate_subject(tls_->native_handle());
    read();
  });
}

void Session::read() {
  if (reading_ || closing_ || closed_ || paused_ || output_cut_) return;
  if (slots_.size() >= limits_.pending_replies_max) return;  // resumed by drain_ready_slots
  reading_ = true;
  std::span<char> space = parser_.prepare(kReadBytesMin);
  auto handler = [self = shared_from_this()](const asio::error_code& ec, size_t n) {
    self->on_read(ec, n);
  };
  // One test per read keeps the plain path as it was: no type erasure, no extra layer.
  if (tls_ != nullptr) {
    tls_->async_read_some(asio::buffer(space.data(), space.size()), std::move(handler));
  } else {
    socket_.async_read_some(asio::buffer(space.data(), space.size()), std::move(handler));
  }
}

void Session::on_read(const asio::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    close();
    return;
  }
  parser_.commit(n);
  process_input();
  read();
}

void Session::process_input() {
  while (!closing_ && !closed_ && !paused_ && !output_cut_) {
    resp::Parser::State st = parser_.next(&argv_);
    if (st == resp::Parser::State::kNeedMore) break;
    if (st == resp::Parser::State::kError && parser_.query_buffer_limit_hit()) {
      // As Redis: logged and closed, no reply.
      spdlog::warn("Closing client that reached max query buffer length: id={} addr={} qbuf={}",
                   id_, peer_address, parser_.buffered_bytes());
      close();
      break;
    }
    if (st == resp::Parser::State::kError) {
      std::string bytes;
      resp::Writer(&bytes, protocol).error("ERR " + parser_.error());
      fulfil(reserve(), std::move(bytes));
      spdlog::debug("client {} ({}): {}; closing", id_, peer_address, parser_.error());
      close_after_flush();
      break;
    }
    if (node_->pause_holds(*this, argv_)) {
      paused_argv_ = copy_args(argv_);
      paused_ = true;
      node_->hold_paused(shared_from_this());
      break;
    }
    run(argv_);
    if (slots_.size() >= limits_.pending_replies_max) break;
  }
  node_->end_of_input();
}

void Session::run(std::span<const std::string_view> argv) {
  receipt_ = std::chrono::steady_clock::now();
  executing_ = true;
  running_argv_ = argv;
  node_->execute(shared_from_this(), argv);
  executing_ = false;
  if (node_->config().slowlog_log_slower_than_us < 0) return;
  // The command's slot is the last one unless it pushed something after it (pub/sub).
  Slot* slot = !slots_.empty() && slots_.back().seq == executing_seq_ ? &slots_.back()
                                                                      : find_slot(executing_seq_);
  if (slot == nullptr || slot->ready || !slot->command) return;
  const size_t before = argv_arena_.size();
  slowlog_pack_argv(&argv_arena_, argv);
  slot->argv_begin = argv_arena_base_ + static_cast<uint32_t>(before);  // modulo 2^32
  slot->argv_bytes = static_cast<uint32_t>(argv_arena_.size() - before);
}

void Session::resume_paused() {
  if (!paused_ || closed_) return;
  paused_ = false;
  std::vector<std::string> held = std::move(paused_argv_);
  paused_argv_.clear();
  run(views(held));
  process_input();
  read();
}

uint64_t Session::reserve() {
  slots_.push_back(Slot{.seq = next_seq_});
  return next_seq_++;
}

uint64_t Session::reserve_command(const resp::CommandSpec* spec) {
  Slot& slot = slots_.emplace_back(Slot{.seq = next_seq_, .command = true, .spec = spec});
  slot.received = receipt_;
  if (reply_mode == ReplyMode::kOff) {
    slot.silent = true;
  } else if (skip_next_reply_) {
    slot.silent = true;
    skip_next_reply_ = false;
  }
  executing_seq_ = next_seq_;
  return next_seq_++;
}

Session::Slot* Session::find_slot(uint64_t seq) {
  if (slots_.empty() || seq < slots_.front().seq) return nullptr;
  const size_t pos = seq - slots_.front().seq;
  return pos < slots_.size() ? &slots_[pos] : nullptr;
}

const Session::Slot* Session::find_slot(uint64_t seq) const {
  return const_cast<Session*>(this)->find_slot(seq);
}

void Session::mark_rejected(uint64_t seq) {
  if (Slot* slot = find_slot(seq)) slot->rejected = true;
}

void Session::mark_queued(uint64_t seq) {
  if (Slot* slot = find_slot(seq)) slot->queued = true;
}

std::vector<std::string> Session::slowlog_argv(uint64_t seq) const {
  if (executing_ && seq == executing_seq_) return slowlog_trim_argv(running_argv_);
  const Slot* slot = find_slot(seq);
  if (slot == nullptr || slot->argv_bytes == 0) return {};
  const uint32_t offset = slot->argv_begin - argv_arena_base_;  // modulo 2^32
  BW_ASSERT(size_t{offset} + slot->argv_bytes <= argv_arena_.size());
  return slowlog_unpack_argv(std::string_view(argv_arena_).substr(offset, slot->argv_bytes));
}

void Session::release_argv(const Slot& slot) {
  if (slot.argv_bytes == 0) return;
  // Slots drain in order, so everything before this slot's line is released already.
  BW_ASSERT(slot.argv_begin == argv_arena_released_, "released to {}, slot line at {}",
            argv_arena_released_, slot.argv_begin);
  argv_arena_released_ = slot.argv_begin + slot.argv_bytes;  // modulo 2^32
  const uint32_t released = argv_arena_released_ - argv_arena_base_;
  if (released == argv_arena_.size()) {
    argv_arena_.clear();
    argv_arena_base_ = argv_arena_released_;
  } else if (released >= kArgvArenaCompactBytes) {
    argv_arena_.erase(0, released);
    argv_arena_base_ = argv_arena_released_;
  }
}

void Session::set_reply_mode(ReplyMode mode, uint64_t seq) {
  Slot* slot = find_slot(seq);
  switch (mode) {
    case ReplyMode::kOn:
      reply_mode = ReplyMode::kOn;
      if (slot != nullptr) slot->silent = false;
      break;
    case ReplyMode::kOff:
      reply_mode = ReplyMode::kOff;
      if (slot != nullptr) slot->silent = true;
      break;
    case ReplyMode::kSkip:
      if (reply_mode == ReplyMode::kOff) break;
      skip_next_reply_ = true;
      if (slot != nullptr) slot->silent = true;
      break;
  }
}

void Session::fulfil(uint64_t seq, std::string bytes) {
  if (closed_) return;
  BW_ASSERT(!slots_.empty());
  BW_ASSERT(seq >= slots_.front().seq, "slot {} already written", seq);
  size_t pos = seq - slots_.front().seq;
  BW_ASSERT(pos < slots_.size());
  Slot& slot = slots_[pos];
  BW_ASSERT(!slot.ready, "slot {} fulfilled twice", seq);
  slot.ready = true;
  if (slot.command) {
    const auto now = std::chrono::steady_clock::now();
    const auto usec =
        std::chrono::duration_cast<std::chrono::microseconds>(now - slot.received).count();
    node_->command_replied(*this, CommandReplied{.seq = seq,
                                                 .spec = slot.spec,
                                                 .rejected = slot.rejected,
                                                 .queued = slot.queued,
                                                 .usec = static_cast<uint64_t>(usec),
                                                 .reply = bytes});
  }
  slot.bytes = std::move(bytes);
  if (pos == 0) drain_ready_slots();
}

void Session::push(std::string bytes) {
  if (closed_ || output_cut_ || reply_mode == ReplyMode::kOff) return;
  if (slots_.empty()) {
    out_.append(bytes);
    if (check_output_limits()) return;
    schedule_write();
    return;
  }
  // Pushes must not overtake replies still pending: park it as a fulfilled slot at the end.
  slots_.push_back(Slot{.seq = next_seq_++, .ready = true, .bytes = std::move(bytes)});
}

void Session::drain_ready_slots() {
  bool was_full = slots_.size() >= limits_.pending_replies_max;
  while (!slots_.empty() && slots_.front().ready) {
    Slot& slot = slots_.front();
    release_argv(slot);
    if (slot.silent) {
      // CLIENT REPLY OFF / SKIP: answered, never written.
    } else if (out_.empty()) {
      out_ = std::move(slot.bytes);
    } else {
      out_.append(slot.bytes);
    }
    slots_.pop_front();
  }
  if (check_output_limits()) return;
  schedule_write();
  if (was_full && slots_.size() < limits_.pending_replies_max) resume_input();
}

void Session::resume_input() {
  if (resume_scheduled_) return;
  resume_scheduled_ = true;
  // Commands already received wait in the parser's buffer: run them before reading more (the
  // client may have sent everything and be waiting for these replies). Posted, so a reply given
  // while a command executes never re-enters process_input.
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->resume_scheduled_ = false;
    if (self->closed_ || self->closing_) return;
    self->process_input();
    self->read();
  });
}

void Session::schedule_write() {
  if (write_scheduled_ || writing_now_ || out_.empty()) return;
  write_scheduled_ = true;
  // Deferred to the end of this event-loop pass so every reply produced in it leaves in one write.
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->write_scheduled_ = false;
    self->write();
  });
}

void Session::write() {
  if (closed_ || writing_now_ || out_.empty()) return;
  writing_now_ = true;
  writing_.swap(out_);
  out_.clear();
  writing_bytes_ = writing_.size();
  auto handler = [self = shared_from_this()](const asio::error_code& ec, size_t) {
    self->on_written(ec);
  };
  if (tls_ != nullptr) {
    asio::async_write(*tls_, asio::buffer(writing_), std::move(handler));
  } else {
    asio::async_write(socket_, asio::buffer(writing_), std::move(handler));
  }
}

void Session::on_written(const asio::error_code& ec) {
  writing_now_ = false;
  writing_bytes_ = 0;
  writing_.clear();
  if (closed_) return;
  if (ec) {
    close();
    return;
  }
  if (!out_.empty()) {
    write();
  } else if (closing_ && slots_.empty()) {
    close();
  }
}

bool Session::check_output_limits() {
  if (output_cut_) return true;
  const size_t bytes = output_bytes();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  const OutputLimit& limit = node_->config().output_limits.of(node_->client_class(*this));
  const bool broken = output_limit_reached(limit, bytes, now_ms, &output_limit_state_) ||
                      bytes > limits_.output_bytes_max;
  if (!broken) return false;
  output_cut_ = true;
  node_->output_limit_reached(*this);
  out_.clear();
  out_.shrink_to_fit();
  // Closed at the end of this pass, as Redis's "ASAP": the caller may be walking the subscribers
  // of a channel, or fulfilling replies of several clients.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
  return true;
}

void Session::close_after_flush() {
  closing_ = true;
  if (!writing_now_ && out_.empty() && slots_.empty()) {
    // Give a reply queued by schedule_write a chance to go first.
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->writing_now_ && self->out_.empty()) self->close();
    });
  }
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ignored;
  if (handshake_timer_ != nullptr) handshake_timer_->cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  slots_.clear();
  argv_arena_.clear();
  paused_argv_.clear();
  node_->session_closed(this);
}

}  // namespace bw::server
