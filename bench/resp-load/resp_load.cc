// resp-load: YCSB-style mixed workloads over RESP (GET / SET), for the side-by-side benchmark.
// redis-benchmark runs one command per test; this mixes reads and updates in one run.
//
//   resp-load --port 6379 --workload a --duration-s 3      50% GET / 50% SET, zipfian keys
//   resp-load --port 6379 --workload load --key-space 100000  SET key 0..K-1 once, in order
//
// Load model: --clients connections on one thread (Asio), each with --pipeline requests
// outstanding: a reply lets its connection send the next request, and the requests a read pass
// makes go out in one write. Clients connect before the clock starts. The run ends when
// --requests were sent or --duration-s passed, and the requests in flight have their replies;
// a run whose replies stall for --stall-timeout-ms is stopped and the requests in flight count
// as errors.
//
// Keys are `key:<12 digits>` (bench/compare's), chosen by YCSB's scrambled zipfian
// (bench/common/zipf.h) from a fixed seed per client. Values are --value-size fixed printable
// bytes. Any error reply is an error; a GET of a missing key is a miss, not an error. The run
// fails (exit 1) if more than 1% of the requests failed.
//
// Output, one JSON line: {"workload", "requests", "errors", "p50_ms", "p99_ms", "avg_ms",
// "max_ms", "seconds", "rps", "read": {...}, "update": {...}, "clients", "pipeline",
// "first_error"}; see bench/common/op_stats.h.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench/common/op_stats.h"
#include "bench/common/ycsb.h"
#include "bench/common/zipf.h"
#include "reply_reader.h"
#include "resp/writer.h"

namespace bw::bench {
namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

// Named bounds on every input.
constexpr int kClientsMax = 4096;
constexpr int kPipelineMax = 1024;
constexpr int kValueBytesMax = 1 << 20;
constexpr uint64_t kKeyNumberLimit = 1'000'000'000'000;  // keys have 12 digits
constexpr double kDurationSMax = 24 * 3600;
// The run fails when more than this share of its requests failed.
constexpr double kErrorShareMax = 0.01;
constexpr size_t kReadChunkBytes = 64 << 10;
// How often the stall watchdog looks at the run.
constexpr auto kWatchdogPeriod = std::chrono::milliseconds(100);

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  int clients = 50;
  int pipeline = 1;
  double duration_s = 0;
  uint64_t requests = 100'000;
  uint64_t key_space = 100'000;
  int value_size = 256;
  std::string workload = "a";
  double zipf_theta = kZipfThetaDefault;
  uint64_t seed = 1;
  int stall_timeout_ms = 10'000;
};

std::string validate(const Options& o) {
  if (o.port < 1 || o.port > 65535) return "--port: out of range";
  if (o.clients < 1 || o.clients > kClientsMax) return "--clients: out of range (1..4096)";
  if (o.pipeline < 1 || o.pipeline > kPipelineMax) return "--pipeline: out of range (1..1024)";
  if (o.duration_s < 0 || o.duration_s > kDurationSMax) return "--duration-s: out of range";
  if (o.requests < 1) return "--requests: must be at least 1";
  if (o.key_space < 1 || o.key_space > kZipfItemsMax) return "--key-space: out of range";
  if (o.value_size < 0 || o.value_size > kValueBytesMax) return "--value-size: out of range";
  if (!parse_workload(o.workload)) return "--workload: one of a, b, c, load";
  if (!(o.zipf_theta > 0 && o.zipf_theta < 1)) return "--zipf-theta: must be in (0, 1)";
  if (o.stall_timeout_ms < 1) return "--stall-timeout-ms: must be at least 1";
  return "";
}

// What every connection shares: the options, the request budget and the clock.
struct Run {
  Options opt;
  Workload workload = Workload::kA;
  std::string value;
  std::optional<ZipfianKeys> keys;  // mixed workloads only
  uint64_t budget = 0;              // requests that may be sent
  uint64_t claimed = 0;
  Clock::time_point start{};
  std::optional<Clock::time_point> stop_at;
  Clock::time_point last_progress{};
  Clock::time_point last_completion{};
  OpStats read;
  OpStats update;
  std::string first_error;
  bool started = false;

  // The index of the next request to send, or nullopt once no more may be sent.
  std::optional<uint64_t> claim(Clock::time_point now) {
    if (!started || claimed >= budget) return std::nullopt;
    if (stop_at && now >= *stop_at) return std::nullopt;
    return claimed++;
  }

  void note_error(std::string_view what) {
    if (first_error.empty()) first_error = std::string(what.substr(0, 200));
  }
};

std::string_view key_for(uint64_t n, char (&buf)[32]) {
  BW_ASSERT(n < kKeyNumberLimit, "key number {}", n);
  auto r = fmt::format_to_n(buf, sizeof(buf), "key:{:012}", n);
  return {buf, r.size};
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, Run* run, int index) : socket_(io), run_(run), writer_(&out_) {
    if (run->keys) chooser_.emplace(&*run->keys, run->workload, client_seed(run->opt.seed, index));
  }

  template <typename Done>
  void connect(const tcp::resolver::results_type& endpoints, Done done) {
    asio::async_connect(
        socket_, endpoints,
        [self = shared_from_this(), done](const asio::error_code& ec, const tcp::endpoint&) {
          if (ec) {
            // Counted once, as one failed request.
            (self->run_->workload == Workload::kLoad ? self->run_->update : self->run_->read)
                .failed();
            self->run_->note_error(fmt::format("connect: {}", ec.message()));
            self->closed_ = true;
          } else {
            self->socket_.set_option(tcp::no_delay(true));
          }
          done();
        });
  }

  // Starts sending once the run's clock runs.
  void begin() {
    if (closed_) return;
    fill(Clock::now());
    if (inflight_.empty()) return close();  // the other clients took the whole budget
    flush();
    read();
  }

  size_t outstanding() const { return inflight_.size(); }
  bool closed() const { return closed_; }

  // Ends the connection; the requests in flight count as errors.
  void abort(std::string_view why) {
    if (closed_) return;
    closed_ = true;
    if (!inflight_.empty()) run_->note_error(why);
    for (const Pending& p : inflight_) (p.op == YcsbOp::kRead ? run_->read : run_->update).failed();
    inflight_.clear();
    close();
  }

 private:
  struct Pending {
    YcsbOp op;
    Clock::time_point sent;
  };

  // Encodes requests until the pipeline is full or the budget ends.
  void fill(Clock::time_point now) {
    while (inflight_.size() < static_cast<size_t>(run_->opt.pipeline)) {
      std::optional<uint64_t> index = run_->claim(now);
      if (!index) return;
      YcsbRequest req = chooser_ ? chooser_->next() : YcsbRequest{YcsbOp::kUpdate, *index};
      char key[32];
      if (req.op == YcsbOp::kRead) {
        writer_.array(2);
        writer_.bulk("GET");
        writer_.bulk(key_for(req.key, key));
      } else {
        writer_.array(3);
        writer_.bulk("SET");
        writer_.bulk(key_for(req.key, key));
        writer_.bulk(run_->value);
      }
      inflight_.push_back({req.op, now});
    }
  }

  void flush() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    wire_.swap(out_);
    out_.clear();
    asio::async_write(socket_, asio::buffer(wire_),
                      [self = shared_from_this()](const asio::error_code& ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->abort(fmt::format("write: {}", ec.message()));
                        self->flush();
                      });
  }

  void read() {
    if (closed_) return;
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                              if (ec) return self->abort(fmt::format("read: {}", ec.message()));
                              self->on_bytes(n);
                            });
  }

  void on_bytes(size_t n) {
    reader_.feed(std::string_view(chunk_.data(), n));
    const Clock::time_point now = Clock::now();
    Reply reply;
    ReplyReader::State st;
    while ((st = reader_.next(&reply)) == ReplyReader::State::kReply) {
      if (inflight_.empty()) return abort("a reply to no request");
      Pending p = inflight_.front();
      inflight_.pop_front();
      record(p, reply, now);
    }
    if (st == ReplyReader::State::kError) return abort(reader_.error());
    run_->last_progress = now;
    fill(now);
    flush();
    if (inflight_.empty()) return close();  // the budget is spent and every reply is in
    read();
  }

  void close() {
    closed_ = true;
    asio::error_code ignored;
    socket_.close(ignored);
  }

  void record(const Pending& p, const Reply& reply, Clock::time_point now) {
    OpStats& stats = p.op == YcsbOp::kRead ? run_->read : run_->update;
    run_->last_completion = now;
    bool ok = false;
    if (p.op == YcsbOp::kRead) {
      ok = reply.kind == ReplyKind::kBulk || reply.kind == ReplyKind::kNull;
      if (reply.kind == ReplyKind::kNull) stats.misses++;
    } else {
      ok = reply.kind == ReplyKind::kStatus && reply.text == "OK";
    }
    if (ok) {
      stats.ok(now - p.sent);
      return;
    }
    stats.failed();
    run_->note_error(reply.kind == ReplyKind::kError
                         ? reply.text
                         : std::string_view("unexpected reply kind to GET or SET"));
  }

  tcp::socket socket_;
  Run* run_;
  std::optional<YcsbChooser> chooser_;
  std::string out_;   // requests encoded, not yet written
  std::string wire_;  // requests being written
  resp::Writer writer_;
  std::array<char, kReadChunkBytes> chunk_{};
  ReplyReader reader_;
  std::deque<Pending> inflight_;
  bool writing_ = false;
  bool closed_ = false;
};

// Stops a run whose replies stall: a dead or wedged server must not hang the benchmark.
class Watchdog {
 public:
  Watchdog(asio::io_context& io, Run* run, std::vector<std::shared_ptr<Connection>>* conns)
      : timer_(io), run_(run), conns_(conns) {}

  void arm() {
    timer_.expires_after(kWatchdogPeriod);
    timer_.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      size_t outstanding = 0;
      bool all_closed = true;
      for (const auto& c : *conns_) {
        outstanding += c->outstanding();
        all_closed = all_closed && c->closed();
      }
      if (all_closed) return;
      if (outstanding == 0 &&
          (run_->claimed >= run_->budget || (run_->stop_at && Clock::now() >= *run_->stop_at))) {
        return;  // every connection is done or about to close
      }
      if (Clock::now() - run_->last_progress >
          std::chrono::milliseconds(run_->opt.stall_timeout_ms)) {
        for (const auto& c : *conns_) c->abort("no reply within --stall-timeout-ms");
        return;
      }
      arm();
    });
  }

 private:
  asio::steady_timer timer_;
  Run* run_;
  std::vector<std::shared_ptr<Connection>>* conns_;
};

int run_load(const Options& opt) {
  if (std::string err = validate(opt); !err.empty()) {
    fmt::print(stderr, "resp-load: {}\n", err);
    return 2;
  }
  Run run;
  run.opt = opt;
  run.workload = *parse_workload(opt.workload);
  if (run.workload == Workload::kLoad) {
    run.budget = std::min(opt.requests, opt.key_space);  // keys 0..K-1, each once
  } else {
    run.budget = opt.requests;
    run.keys.emplace(opt.key_space, opt.zipf_theta);
  }
  // Fixed pseudo-random printable bytes, the same for every SET.
  run.value.resize(static_cast<size_t>(opt.value_size));
  std::mt19937 value_rng(12345);
  for (char& ch : run.value) ch = static_cast<char>('a' + value_rng() % 26);
  const uint64_t reserve = std::min(run.budget, kLatencySamplesReserveMax);
  if (run.workload != Workload::kLoad) run.read.latencies_us.reserve(reserve);
  if (run.workload != Workload::kC) run.update.latencies_us.reserve(reserve);

  asio::io_context io(1);
  tcp::resolver resolver(io);
  asio::error_code ec;
  auto endpoints = resolver.resolve(opt.host, std::to_string(opt.port), ec);
  if (ec) {
    fmt::print(stderr, "resp-load: {}: {}\n", opt.host, ec.message());
    return 2;
  }
  std::vector<std::shared_ptr<Connection>> conns;
  for (int i = 0; i < opt.clients; i++) conns.push_back(std::make_shared<Connection>(io, &run, i));
  Watchdog watchdog(io, &run, &conns);
  int connecting = opt.clients;
  auto all_connected = [&] {
    if (--connecting > 0) return;
    run.start = Clock::now();
    run.last_progress = run.start;
    run.last_completion = run.start;
    if (opt.duration_s > 0) {
      run.stop_at = run.start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(opt.duration_s));
    }
    run.started = true;
    for (const auto& c : conns) c->begin();
    watchdog.arm();
  };
  for (const auto& c : conns) c->connect(endpoints, all_connected);
  io.run();

  const double seconds = std::chrono::duration<double>(run.last_completion - run.start).count();
  const uint64_t requests = run.read.requests + run.update.requests;
  const uint64_t errors = run.read.errors + run.update.errors;
  nlohmann::ordered_json j = mixed_summary(opt.workload, &run.read, &run.update, seconds);
  j["clients"] = opt.clients;
  j["pipeline"] = opt.pipeline;
  j["first_error"] = run.first_error;
  fmt::print("{}\n", j.dump());
  std::fflush(stdout);
  if (requests == 0) {
    fmt::print(stderr, "resp-load: no request completed\n");
    return 1;
  }
  if (static_cast<double>(errors) > kErrorShareMax * static_cast<double>(requests)) {
    fmt::print(stderr, "resp-load: {} of {} requests failed; first: {}\n", errors, requests,
               run.first_error);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace bw::bench

int main(int argc, char** argv) {
  bw::bench::Options opt;
  CLI::App app{"resp-load: YCSB-style mixed GET/SET workloads over RESP"};
  app.add_option("--host", opt.host, "Server host")->capture_default_str();
  app.add_option("--port", opt.port, "Server port")->capture_default_str();
  app.add_option("--clients", opt.clients, "Connections")->capture_default_str();
  app.add_option("--pipeline", opt.pipeline, "Requests outstanding per connection")
      ->capture_default_str();
  app.add_option("--duration-s", opt.duration_s, "Stop sending after this long (0: no limit)")
      ->capture_default_str();
  app.add_option("--requests", opt.requests, "Requests to send at most")->capture_default_str();
  app.add_option("--key-space", opt.key_space, "Keys key:0..key:K-1")->capture_default_str();
  app.add_option("--value-size", opt.value_size, "Bytes per SET value")->capture_default_str();
  app.add_option("--workload", opt.workload,
                 "a: 50% GET 50% SET; b: 95/5; c: GET only; load: SET every key once, in order")
      ->capture_default_str();
  app.add_option("--zipf-theta", opt.zipf_theta, "Skew of the key choice")->capture_default_str();
  app.add_option("--seed", opt.seed, "Seed; client i draws from a seed derived from it and i")
      ->capture_default_str();
  app.add_option("--stall-timeout-ms", opt.stall_timeout_ms,
                 "Stop the run when no reply came for this long")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return bw::bench::run_load(opt);
}
