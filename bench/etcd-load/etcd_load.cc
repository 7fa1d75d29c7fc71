// etcd-load: drives etcd through its v3 gRPC API for the side-by-side benchmark.
//
//   etcd-load put      load of Puts; one JSON line of throughput and latency at the end
//   etcd-load range    load of single-key Ranges (linearizable, or --serializable)
//   etcd-load ycsb     YCSB workload a, b or c: Ranges and Puts mixed, zipfian keys
//   etcd-load probe    failover probe: the wall-clock time of the first Put that succeeds
//   etcd-load wait-key the wall-clock time a member first serves a key
//
// Load model: --clients logical clients, each with its own gRPC channel (its own HTTP/2
// connection), spread round-robin over --endpoints; each keeps --depth requests outstanding.
// Every outstanding request is a Slot; slots are spread over --threads completion queues, and
// each thread both polls its queue and issues the slot's next request, so one thread drives
// thousands of requests in flight without a thread per request. A slot whose request fails
// waits kErrorPauseMs before its next one, so a dead endpoint does not turn into a busy loop.
//
// Output of put/range: {"op","requests","errors","seconds","rps","p50_ms","p99_ms","avg_ms",
// "max_ms"}. requests counts completed requests, failed ones included; errors counts those that
// ended with a non-OK status (deadline included); rps is successful requests per second of
// wall time from the first send to the last completion; latencies are those of the successful
// requests, send to completion on steady_clock.
//
// Output of ycsb: the fields of bench/common/op_stats.h's mixed_summary (totals, then "read" and
// "update" each with requests, errors, p50_ms, p99_ms), as resp-load prints them. Keys come from
// bench/common/zipf.h's scrambled zipfian, each slot (client x depth) from its own fixed seed.
// A ycsb run fails (exit 1) when more than 1% of its requests failed.
#include <fmt/format.h>
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/op_stats.h"
#include "bench/common/ycsb.h"
#include "bench/common/zipf.h"
#include "common/assert.h"
#include "etcd_kv.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using etcdserverpb::KV;

// Named bounds on every input.
constexpr int kClientsMax = 4096;
constexpr int kDepthMax = 1024;
constexpr int kThreadsMax = 16;
constexpr uint64_t kKeyNumberLimit = 1'000'000'000'000;  // keys have 12 digits
constexpr int kValueBytesMax = 1 << 20;                  // etcd's default request limit is 1.5 MiB
constexpr uint64_t kLatencySamplesReserveMax = 1 << 24;  // 64 MiB of samples up front at most
constexpr int kConnectWaitMsMax = 10'000;
// A load slot whose request failed waits this long before its next request.
constexpr int kErrorPauseMs = 10;
// A retry loop (probe, wait-key) whose attempt failed this fast pauses this long, so that
// endpoints that refuse at once do not turn the loop into a busy spin.
constexpr auto kRetryFastFail = std::chrono::milliseconds(1);
constexpr auto kRetryPause = std::chrono::milliseconds(1);
// Reconnect backoff for probe and wait-key: a dead or restarting member is retried this often,
// so its return is seen within ~100 ms instead of gRPC's default backoff of up to 120 s.
constexpr int kReconnectBackoffInitialMs = 50;
constexpr int kReconnectBackoffMaxMs = 100;
// GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is, in gRPC's C core, the minimum time one connection attempt
// (TCP connect plus the server's HTTP/2 SETTINGS) may take before it is abandoned. A member
// replaying its WAL on a busy 2-core machine can take longer than 100 ms to answer; a dead one
// refuses at once whatever this is, and attempts are bounded by --timeout-ms anyway.
constexpr int kConnectTimeoutMinMs = 1000;
// A ycsb run fails when more than this share of its requests failed.
constexpr double kErrorShareMax = 0.01;

enum class Op { kPut, kRange, kMixed };

struct LoadOptions {
  std::string endpoints = "127.0.0.1:2379";
  int clients = 50;
  int depth = 1;
  uint64_t requests = 100'000;
  int value_size = 256;
  uint64_t key_space = 100'000;
  bool sequential = false;
  std::string key_prefix = "key:";
  double duration_s = 0;
  int timeout_ms = 5000;
  bool serializable = false;
  int threads = 1;
  std::string workload = "a";  // ycsb only
  double zipf_theta = bw::bench::kZipfThetaDefault;
  uint64_t seed = 1;
};

struct RetryOptions {
  std::string endpoints = "127.0.0.1:2379";
  std::string key = "probe";
  bool serializable = false;
  int timeout_ms = 100;
  double max_wait_s = 30;
};

int64_t unix_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::chrono::system_clock::time_point deadline_after(int timeout_ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
}

std::vector<std::string> split_endpoints(const std::string& list) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = list.find(',', begin);
    if (end == std::string::npos) end = list.size();
    std::string ep = list.substr(begin, end - begin);
    if (ep.starts_with("http://")) ep = ep.substr(7);
    if (!ep.empty()) out.push_back(ep);
    begin = end + 1;
  }
  return out;
}

// Each channel gets its own subchannel pool and a distinct argument set, so gRPC cannot share
// one TCP connection between two logical clients.
std::shared_ptr<grpc::Channel> make_channel(const std::string& endpoint, int channel_id,
                                            bool fast_reconnect) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("grpc.channel_id", channel_id);
  if (fast_reconnect) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kReconnectBackoffInitialMs);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kConnectTimeoutMinMs);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kReconnectBackoffMaxMs);
  }
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

std::string key_for(const std::string& prefix, uint64_t n) {
  BW_ASSERT(n < kKeyNumberLimit, "key number {}", n);
  return fmt::format("{}{:012}", prefix, n);
}

// ---------------------------------------------------------------------------------------------
// put / range

struct Client {
  std::string endpoint;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<KV::Stub> stub;
};

// One outstanding request. Owned by one thread: only that thread's completion queue carries it.
struct Slot {
  KV::Stub* stub = nullptr;
  std::optional<grpc::ClientContext> ctx;  // a ClientContext serves one call only
  etcdserverpb::PutRequest put_req;
  etcdserverpb::PutResponse put_resp;
  etcdserverpb::RangeRequest range_req;
  etcdserverpb::RangeResponse range_resp;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::PutResponse>> put_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::RangeResponse>> range_reader;
  grpc::Status status;
  Clock::time_point sent;
  grpc::Alarm pause;    // set after a failed request; its expiry comes back on the slot's queue
  bool paused = false;  // the slot's pending event is the alarm, not a call
  std::optional<bw::bench::YcsbChooser> chooser;  // ycsb only
  bool reading = false;                           // the call in flight is a Range
};

struct ThreadStats {
  std::vector<uint32_t> latencies_us;  // successful requests only (put, range)
  bw::bench::OpStats read, update;     // ycsb
  uint64_t completed = 0;
  uint64_t errors = 0;
  std::string first_error;
  Clock::time_point last_completion{};
};

// Shared by all threads: hands out request indexes until the budget or the duration runs out.
class Budget {
 public:
  Budget(uint64_t requests, std::optional<Clock::time_point> stop_at)
      : requests_(requests), stop_at_(stop_at) {}

  // The index of the next request to send, or nullopt once no more may be sent.
  std::optional<uint64_t> claim() {
    if (stop_at_ && Clock::now() >= *stop_at_) return std::nullopt;
    uint64_t index = next_.fetch_add(1, std::memory_order_relaxed);
    if (index >= requests_) return std::nullopt;
    return index;
  }

 private:
  const uint64_t requests_;
  const std::optional<Clock::time_point> stop_at_;
  std::atomic<uint64_t> next_{0};
};

class Worker {
 public:
  Worker(Op op, const LoadOptions& opt, Budget* budget, uint64_t seed)
      : op_(op), opt_(opt), budget_(budget), rng_(seed), key_dist_(0, opt.key_space - 1) {}

  void add_slot(Slot* slot) { slots_.push_back(slot); }

  void run(uint64_t samples_reserve) {
    if (op_ != Op::kMixed) stats_.latencies_us.reserve(samples_reserve);
    size_t outstanding = 0;
    for (Slot* slot : slots_) {
      if (start(slot)) outstanding++;
    }
    while (outstanding > 0) {
      void* tag = nullptr;
      bool ok = false;
      bool got = cq_.Next(&tag, &ok);
      BW_ASSERT(got);  // the queue is shut down only after this loop
      BW_ASSERT(ok);   // a unary Finish always completes with ok == true
      Slot* slot = static_cast<Slot*>(tag);
      if (slot->paused) {
        slot->paused = false;
      } else if (!finish(slot)) {
        // A dead endpoint fails requests at once; without a pause its slots would spin, burn
        // the CPU the servers need and use up --requests in a burst of errors.
        slot->paused = true;
        slot->pause.Set(&cq_, deadline_after(kErrorPauseMs), slot);
        continue;
      }
      if (!start(slot)) outstanding--;
    }
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  const ThreadStats& stats() const { return stats_; }

 private:
  bool start(Slot* slot) {
    std::optional<uint64_t> index = budget_->claim();
    if (!index) return false;
    uint64_t key_number = opt_.sequential ? *index : key_dist_(rng_);
    slot->reading = op_ == Op::kRange;
    if (op_ == Op::kMixed) {
      bw::bench::YcsbRequest req = slot->chooser->next();
      key_number = req.key;
      slot->reading = req.op == bw::bench::YcsbOp::kRead;
    }
    slot->ctx.emplace();
    slot->ctx->set_deadline(deadline_after(opt_.timeout_ms));
    slot->sent = Clock::now();
    if (!slot->reading) {
      slot->put_req.set_key(key_for(opt_.key_prefix, key_number));
      slot->put_reader = slot->stub->AsyncPut(&*slot->ctx, slot->put_req, &cq_);
      slot->put_reader->Finish(&slot->put_resp, &slot->status, slot);
    } else {
      slot->range_req.set_key(key_for(opt_.key_prefix, key_number));
      slot->range_reader = slot->stub->AsyncRange(&*slot->ctx, slot->range_req, &cq_);
      slot->range_reader->Finish(&slot->range_resp, &slot->status, slot);
    }
    return true;
  }

  // Records the completed call; returns whether it succeeded.
  bool finish(Slot* slot) {
    Clock::time_point now = Clock::now();
    stats_.completed++;
    stats_.last_completion = now;
    if (op_ == Op::kMixed) {
      bw::bench::OpStats& op = slot->reading ? stats_.read : stats_.update;
      if (slot->status.ok()) {
        op.ok(now - slot->sent);
        if (slot->reading && slot->range_resp.kvs_size() == 0) op.misses++;
      } else {
        op.failed();
      }
    }
    if (slot->status.ok()) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - slot->sent).count();
      if (op_ != Op::kMixed) {
        stats_.latencies_us.push_back(
            static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX)));
      }
    } else {
      stats_.errors++;
      if (stats_.first_error.empty()) {
        stats_.first_error = fmt::format("code {}: {}", static_cast<int>(slot->status.error_code()),
                                         slot->status.error_message());
      }
    }
    slot->put_reader.reset();
    slot->range_reader.reset();
    slot->ctx.reset();
    return slot->status.ok();
  }

  const Op op_;
  const LoadOptions& opt_;
  Budget* const budget_;
  grpc::CompletionQueue cq_;
  std::vector<Slot*> slots_;
  std::mt19937_64 rng_;
  std::uniform_int_distribution<uint64_t> key_dist_;
  ThreadStats stats_;
};

std::string validate(Op op, const LoadOptions& opt, const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) return "--endpoints: no endpoint given";
  if (opt.clients < 1 || opt.clients > kClientsMax) return "--clients: out of range";
  if (opt.depth < 1 || opt.depth > kDepthMax) return "--depth: out of range";
  if (opt.threads < 1 || opt.threads > kThreadsMax) return "--threads: out of range";
  if (opt.requests < 1) return "--requests: must be at least 1";
  if (opt.value_size < 0 || opt.value_size > kValueBytesMax) return "--value-size: out of range";
  if (opt.key_space < 1 || opt.key_space > kKeyNumberLimit) return "--key-space: out of range";
  if (opt.sequential && opt.requests > kKeyNumberLimit) return "--requests: too many for keys";
  if (opt.timeout_ms < 1) return "--timeout-ms: must be at least 1";
  if (opt.duration_s < 0) return "--duration-s: must not be negative";
  if (op != Op::kMixed) return "";
  auto workload = bw::bench::parse_workload(opt.workload);
  if (!workload || *workload == bw::bench::Workload::kLoad) return "--workload: one of a, b, c";
  if (!(opt.zipf_theta > 0 && opt.zipf_theta < 1)) return "--zipf-theta: must be in (0, 1)";
  if (opt.key_space > bw::bench::kZipfItemsMax) return "--key-space: out of range for ycsb";
  return "";
}

std::vector<Client> connect_clients(const LoadOptions& opt,
                                    const std::vector<std::string>& endpoints) {
  std::vector<Client> clients;
  clients.reserve(static_cast<size_t>(opt.clients));
  for (int i = 0; i < opt.clients; i++) {
    Client c;
    c.endpoint = endpoints[static_cast<size_t>(i) % endpoints.size()];
    c.channel = make_channel(c.endpoint, i, /*fast_reconnect=*/false);
    c.stub = KV::NewStub(c.channel);
    clients.push_back(std::move(c));
  }
  // Connect before the clock starts so that TCP and HTTP/2 setup are not in the figures. A
  // client that cannot connect is reported and left in: its requests count as errors.
  int wait_ms = std::min(opt.timeout_ms, kConnectWaitMsMax);
  for (Client& c : clients) {
    if (!c.channel->WaitForConnected(deadline_after(wait_ms))) {
      fmt::print(stderr, "etcd-load: {} not connected after {} ms\n", c.endpoint, wait_ms);
    }
  }
  return clients;
}

struct Summary {
  uint64_t requests = 0;
  uint64_t errors = 0;
  double seconds = 0;
  std::vector<uint32_t> latencies_us;
  std::string first_error;
};

Summary merge(const std::vector<std::unique_ptr<Worker>>& workers, Clock::time_point start) {
  Summary s;
  Clock::time_point end = start;
  for (const auto& w : workers) {
    const ThreadStats& t = w->stats();
    s.requests += t.completed;
    s.errors += t.errors;
    s.latencies_us.insert(s.latencies_us.end(), t.latencies_us.begin(), t.latencies_us.end());
    if (s.first_error.empty()) s.first_error = t.first_error;
    if (t.completed > 0) end = std::max(end, t.last_completion);
  }
  s.seconds = std::chrono::duration<double>(end - start).count();
  return s;
}

// Nearest-rank percentile of sorted samples, in milliseconds.
double percentile_ms(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1] / 1000.0;
}

void print_summary(Op op, Summary* s) {
  std::sort(s->latencies_us.begin(), s->latencies_us.end());
  double sum_us = 0;
  for (uint32_t us : s->latencies_us) sum_us += us;
  const size_t ok = s->latencies_us.size();
  double avg_ms = ok == 0 ? 0 : sum_us / static_cast<double>(ok) / 1000.0;
  double max_ms = ok == 0 ? 0 : s->latencies_us.back() / 1000.0;
  double rps = s->seconds > 0 ? static_cast<double>(ok) / s->seconds : 0;
  fmt::print(
      "{{\"op\":\"{}\",\"requests\":{},\"errors\":{},\"seconds\":{:.3f},\"rps\":{:.1f},"
      "\"p50_ms\":{:.3f},\"p99_ms\":{:.3f},\"avg_ms\":{:.3f},\"max_ms\":{:.3f}}}\n",
      op == Op::kPut ? "put" : "range", s->requests, s->errors, s->seconds, rps,
      percentile_ms(s->latencies_us, 0.50), percentile_ms(s->latencies_us, 0.99), avg_ms, max_ms);
  std::fflush(stdout);
}

// The ycsb JSON line; exit status 1 when more than kErrorShareMax of the requests failed.
int print_mixed(const LoadOptions& opt, const std::vector<std::unique_ptr<Worker>>& workers,
                const Summary& summary) {
  bw::bench::OpStats read, update;
  for (const auto& w : workers) {
    read.merge(w->stats().read);
    update.merge(w->stats().update);
  }
  nlohmann::ordered_json j =
      bw::bench::mixed_summary(opt.workload, &read, &update, summary.seconds);
  j["clients"] = opt.clients;
  j["depth"] = opt.depth;
  j["serializable"] = opt.serializable;
  j["first_error"] = summary.first_error;
  fmt::print("{}\n", j.dump());
  std::fflush(stdout);
  if (summary.requests == 0) {
    fmt::print(stderr, "etcd-load: no request completed\n");
    return 1;
  }
  if (static_cast<double>(summary.errors) >
      kErrorShareMax * static_cast<double>(summary.requests)) {
    fmt::print(stderr, "etcd-load: {} of {} requests failed; first: {}\n", summary.errors,
               summary.requests, summary.first_error);
    return 1;
  }
  return 0;
}

int run_load(Op op, const LoadOptions& opt) {
  std::vector<std::string> endpoints = split_endpoints(opt.endpoints);
  if (std::string err = validate(op, opt, endpoints); !err.empty()) {
    fmt::print(stderr, "etcd-load: {}\n", err);
    return 2;
  }
  std::vector<Client> clients = connect_clients(opt, endpoints);

  // The value is fixed pseudo-random printable bytes, the same for every Put.
  std::string value(static_cast<size_t>(opt.value_size), '\0');
  std::mt19937 value_rng(12345);
  for (char& ch : value) ch = static_cast<char>('a' + value_rng() % 26);

  const size_t slot_count = static_cast<size_t>(opt.clients) * static_cast<size_t>(opt.depth);
  std::vector<Slot> slots(slot_count);
  std::optional<bw::bench::ZipfianKeys> keys;
  if (op == Op::kMixed) keys.emplace(opt.key_space, opt.zipf_theta);
  for (size_t i = 0; i < slot_count; i++) {
    slots[i].stub = clients[i % clients.size()].stub.get();
    slots[i].put_req.set_value(value);
    slots[i].range_req.set_serializable(opt.serializable);
    if (keys) {
      slots[i].chooser.emplace(&*keys, *bw::bench::parse_workload(opt.workload),
                               bw::bench::client_seed(opt.seed, i));
    }
  }

  const Clock::time_point start = Clock::now();
  std::optional<Clock::time_point> stop_at;
  if (opt.duration_s > 0) {
    stop_at = start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(opt.duration_s));
  }
  Budget budget(opt.requests, stop_at);
  std::random_device seed_source;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < opt.threads; t++) {
    uint64_t seed = (uint64_t{seed_source()} << 32) ^ seed_source();
    workers.push_back(std::make_unique<Worker>(op, opt, &budget, seed));
  }
  for (size_t i = 0; i < slot_count; i++) workers[i % workers.size()]->add_slot(&slots[i]);

  const uint64_t reserve =
      std::min(opt.requests / static_cast<uint64_t>(opt.threads) + 1, kLatencySamplesReserveMax);
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers.size(); t++) {
    threads.emplace_back([&w = *workers[t], reserve] { w.run(reserve); });
  }
  workers[0]->run(reserve);
  for (std::thread& th : threads) th.join();

  Summary summary = merge(workers, start);
  if (op == Op::kMixed) return print_mixed(opt, workers, summary);
  print_summary(op, &summary);
  if (summary.errors > 0) {
    fmt::print(stderr, "etcd-load: {} of {} requests failed; first: {}\n", summary.errors,
               summary.requests, summary.first_error);
  }
  if (summary.requests > 0 && summary.errors == summary.requests) {
    fmt::print(stderr, "etcd-load: every request failed\n");
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// probe / wait-key

// Tries endpoints in turn, one unary call at a time, on the calling thread.
//
// Why asynchronous calls on our own queue: gRPC's synchronous API polls the network only while
// a call is in flight, and a call to a channel in TRANSIENT_FAILURE fails at once. A loop of
// such calls with pauses between them leaves a reconnect to a restarted member unpolled, its
// connect times out, and the member is never seen back (observed with gRPC 1.51). Here the
// thread is always either waiting for a call on the queue or polling it during a pause.
class RoundRobin {
 public:
  explicit RoundRobin(const std::string& endpoint_list) {
    int channel_id = 0;
    for (const std::string& ep : split_endpoints(endpoint_list)) {
      targets_.push_back(
          {ep, KV::NewStub(make_channel(ep, channel_id++, /*fast_reconnect=*/true))});
    }
  }
  RoundRobin(const RoundRobin&) = delete;
  RoundRobin& operator=(const RoundRobin&) = delete;

  ~RoundRobin() {
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // Calls attempt(stub, cq) on each endpoint in turn until it returns true or max_wait_s passes.
  // Returns the endpoint that succeeded.
  template <typename Attempt>
  std::optional<std::string> run(double max_wait_s, Attempt attempt) {
    if (targets_.empty()) return std::nullopt;
    const Clock::time_point give_up = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                         std::chrono::duration<double>(max_wait_s));
    for (size_t i = 0; Clock::now() < give_up; i++) {
      Target& target = targets_[i % targets_.size()];
      Clock::time_point began = Clock::now();
      if (attempt(target.stub.get(), &cq_)) return target.endpoint;
      if (Clock::now() - began < kRetryFastFail) poll_for(kRetryPause);
    }
    return std::nullopt;
  }

 private:
  struct Target {
    std::string endpoint;
    std::unique_ptr<KV::Stub> stub;
  };

  // Sleeps while polling the network, so that connection attempts make progress.
  void poll_for(std::chrono::milliseconds pause) {
    void* tag = nullptr;
    bool ok = false;
    auto until = std::chrono::system_clock::now() + pause;
    grpc::CompletionQueue::NextStatus st = cq_.AsyncNext(&tag, &ok, until);
    BW_ASSERT(st == grpc::CompletionQueue::TIMEOUT);  // no call is outstanding between attempts
  }

  std::vector<Target> targets_;
  grpc::CompletionQueue cq_;
};

// Runs one unary call started by start(ctx, cq) to completion, waiting on cq.
template <typename Response, typename Start>
grpc::Status call(grpc::CompletionQueue* cq, int timeout_ms, Response* resp, Start start) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline_after(timeout_ms));
  grpc::Status status;
  auto reader = start(&ctx, cq);
  reader->Finish(resp, &status, &status);
  void* tag = nullptr;
  bool ok = false;
  bool got = cq->Next(&tag, &ok);
  BW_ASSERT(got);
  BW_ASSERT(tag == &status);  // one call at a time on this queue
  return status;
}

int run_probe(const RetryOptions& opt) {
  int64_t done_ns = 0;
  RoundRobin targets(opt.endpoints);
  std::optional<std::string> endpoint =
      targets.run(opt.max_wait_s, [&](KV::Stub* stub, grpc::CompletionQueue* cq) {
        etcdserverpb::PutRequest req;
        req.set_key(opt.key);
        req.set_value(std::to_string(unix_ns()));
        etcdserverpb::PutResponse resp;
        grpc::Status st = call(cq, opt.timeout_ms, &resp, [&](grpc::ClientContext* ctx, auto* q) {
          return stub->AsyncPut(ctx, req, q);
        });
        if (!st.ok()) return false;
        done_ns = unix_ns();
        return true;
      });
  if (!endpoint) {
    fmt::print("{{\"ok\":false}}\n");
    return 1;
  }
  fmt::print("{{\"ok\":true,\"endpoint\":\"{}\",\"unix_ns\":{}}}\n", *endpoint, done_ns);
  return 0;
}

int run_wait_key(const RetryOptions& opt) {
  int64_t done_ns = 0;
  size_t value_size = 0;
  RoundRobin targets(opt.endpoints);
  std::optional<std::string> endpoint =
      targets.run(opt.max_wait_s, [&](KV::Stub* stub, grpc::CompletionQueue* cq) {
        etcdserverpb::RangeRequest req;
        req.set_key(opt.key);
        req.set_serializable(opt.serializable);
        etcdserverpb::RangeResponse resp;
        grpc::Status st = call(cq, opt.timeout_ms, &resp, [&](grpc::ClientContext* ctx, auto* q) {
          return stub->AsyncRange(ctx, req, q);
        });
        if (!st.ok() || resp.kvs_size() == 0) return false;
        done_ns = unix_ns();
        value_size = resp.kvs(0).value().size();
        return true;
      });
  if (!endpoint) {
    fmt::print("{{\"ok\":false}}\n");
    return 1;
  }
  fmt::print("{{\"ok\":true,\"unix_ns\":{},\"value_size\":{}}}\n", done_ns, value_size);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// command line

void add_load_options(CLI::App* cmd, LoadOptions* opt) {
  cmd->add_option("--endpoints", opt->endpoints, "host:port[,host:port...]")->capture_default_str();
  cmd->add_option("--clients", opt->clients, "Logical clients, one connection each")
      ->capture_default_str();
  cmd->add_option("--depth", opt->depth, "Requests outstanding per client")->capture_default_str();
  cmd->add_option("--requests", opt->requests, "Total requests")->capture_default_str();
  cmd->add_option("--value-size", opt->value_size, "Value bytes (put)")->capture_default_str();
  cmd->add_option("--key-space", opt->key_space, "Random keys are drawn from [0, key-space)")
      ->capture_default_str();
  cmd->add_flag("--sequential", opt->sequential, "Keys 0..requests-1, each exactly once");
  cmd->add_option("--key-prefix", opt->key_prefix, "Key = prefix + 12-digit number")
      ->capture_default_str();
  cmd->add_option("--duration-s", opt->duration_s, "Stop sending after this long (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--timeout-ms", opt->timeout_ms, "Per-request deadline")->capture_default_str();
  cmd->add_option("--threads", opt->threads, "Threads polling completion queues")
      ->capture_default_str();
}

void add_retry_options(CLI::App* cmd, RetryOptions* opt) {
  cmd->add_option("--endpoints", opt->endpoints, "host:port[,host:port...], tried in turn")
      ->capture_default_str();
  cmd->add_option("--timeout-ms", opt->timeout_ms, "Per-attempt deadline")->capture_default_str();
  cmd->add_option("--max-wait-s", opt->max_wait_s, "Give up after this long")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"etcd-load: load generator and failover probe for etcd's v3 gRPC API"};
  app.require_subcommand(1);

  LoadOptions put_opt;
  auto* put = app.add_subcommand("put", "Puts: random keys, or --sequential to fill");
  add_load_options(put, &put_opt);

  LoadOptions range_opt;
  auto* range = app.add_subcommand("range", "Single-key Ranges of random keys");
  add_load_options(range, &range_opt);
  range->add_flag("--serializable", range_opt.serializable, "Serializable (local) reads");

  LoadOptions ycsb_opt;
  auto* ycsb = app.add_subcommand("ycsb", "YCSB workload a, b or c: Ranges and Puts, zipfian keys");
  add_load_options(ycsb, &ycsb_opt);
  ycsb->add_option("--workload", ycsb_opt.workload, "a: 50% reads; b: 95%; c: 100%")
      ->capture_default_str();
  ycsb->add_option("--zipf-theta", ycsb_opt.zipf_theta, "Skew of the key choice")
      ->capture_default_str();
  ycsb->add_option("--seed", ycsb_opt.seed, "Seed; slot i draws from a seed derived from it and i")
      ->capture_default_str();
  ycsb->add_flag("--serializable", ycsb_opt.serializable, "Serializable (local) reads");

  RetryOptions probe_opt;
  auto* probe = app.add_subcommand("probe", "Put to each endpoint in turn until one succeeds");
  add_retry_options(probe, &probe_opt);
  probe->add_option("--key", probe_opt.key, "Key written")->capture_default_str();

  RetryOptions wait_opt;
  wait_opt.max_wait_s = 120;
  auto* wait_key = app.add_subcommand("wait-key", "Range a key until an endpoint returns it");
  add_retry_options(wait_key, &wait_opt);
  wait_key->add_option("--key", wait_opt.key, "Key read")->required();
  wait_key->add_flag("--serializable", wait_opt.serializable, "Serializable (local) reads");

  CLI11_PARSE(app, argc, argv);

  if (put->parsed()) return run_load(Op::kPut, put_opt);
  if (range->parsed()) return run_load(Op::kRange, range_opt);
  if (ycsb->parsed()) return run_load(Op::kMixed, ycsb_opt);
  if (probe->parsed()) return run_probe(probe_opt);
  return run_wait_key(wait_opt);
}
