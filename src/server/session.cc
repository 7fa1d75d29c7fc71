#include "server/session.h"

#include <spdlog/spdlog.h>

#include "common/assert.h"
#include "resp/writer.h"
#include "server/node.h"

namespace bw::server {

namespace {
constexpr size_t kReadBytesMin = 16 * 1024;
}  // namespace

Session::Session(Node* node, asio::ip::tcp::socket socket, uint64_t id, SessionLimits limits,
                 resp::ParserLimits protocol_limits)
    : node_(node), socket_(std::move(socket)), id_(id), limits_(limits), parser_(protocol_limits) {
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
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void Session::start() {
  read();
}

void Session::read() {
  if (reading_ || closing_ || closed_) return;
  if (slots_.size() >= limits_.pending_replies_max) return;  // resumed by drain_ready_slots
  reading_ = true;
  std::span<char> space = parser_.prepare(kReadBytesMin);
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(space.data(), space.size()),
                          [this, self](const asio::error_code& ec, size_t n) {
                            reading_ = false;
                            if (closed_) return;
                            if (ec) {
                              close();
                              return;
                            }
                            parser_.commit(n);
                            process_input();
                            read();
                          });
}

void Session::process_input() {
  while (!closing_ && !closed_) {
    resp::Parser::State st = parser_.next(&argv_);
    if (st == resp::Parser::State::kNeedMore) break;
    if (st == resp::Parser::State::kError) {
      std::string bytes;
      resp::Writer(&bytes, protocol).error("ERR " + parser_.error());
      fulfil(reserve(), std::move(bytes));
      spdlog::debug("client {} ({}): {}; closing", id_, peer_address, parser_.error());
      close_after_flush();
      break;
    }
    node_->execute(shared_from_this(), argv_);
    if (slots_.size() >= limits_.pending_replies_max) break;
  }
  node_->end_of_input();
}

uint64_t Session::reserve() {
  slots_.push_back(Slot{.seq = next_seq_});
  return next_seq_++;
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
  slot.bytes = std::move(bytes);
  if (pos == 0) drain_ready_slots();
}

void Session::push(std::string bytes) {
  if (closed_) return;
  if (slots_.empty()) {
    out_.append(bytes);
    schedule_write();
    return;
  }
  // Pushes must not overtake replies still pending: park it as a fulfilled slot at the end.
  slots_.push_back(Slot{.seq = next_seq_++, .ready = true, .bytes = std::move(bytes)});
}

void Session::drain_ready_slots() {
  bool was_full = slots_.size() >= limits_.pending_replies_max;
  while (!slots_.empty() && slots_.front().ready) {
    if (out_.empty()) {
      out_ = std::move(slots_.front().bytes);
    } else {
      out_.append(slots_.front().bytes);
    }
    slots_.pop_front();
  }
  if (output_bytes() > limits_.output_bytes_max) {
    spdlog::warn("client {} ({}): output buffer over {} bytes; closing", id_, peer_address,
                 limits_.output_bytes_max);
    close();
    return;
  }
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
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(writing_),
                    [this, self](const asio::error_code& ec, size_t) {
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
                    });
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
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  slots_.clear();
  node_->session_closed(this);
}

}  // namespace bw::server
