#include "sim/linearizability.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "common/assert.h"
#include "kv/store.h"

namespace bw::sim {

namespace {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "failed";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "?";
}

LinearizabilityResult violation(std::string invariant, std::string explanation, uint64_t at_us) {
  return LinearizabilityResult{.linearizable = false,
                               .invariant = std::move(invariant),
                               .explanation = std::move(explanation),
                               .violation_us = at_us};
}

LinearizabilityResult check_not_applied(const std::vector<Operation>& history,
                                        const std::map<uint64_t, CommittedEntry>& log) {
  for (const Operation& op : history) {
    if (!op.not_applied) continue;
    auto it = log.find(op.proposed_index);
    if (it != log.end() && it->second.term == op.proposed_term) {
      return violation("not-applied",
                       fmt::format("{}\n  was answered 'not applied', yet index {} committed with "
                                   "term {}, the term it was proposed in",
                                   describe(op), op.proposed_index, op.proposed_term),
                       op.complete_us);
    }
  }
  return {};
}

LinearizabilityResult check_real_time(const std::vector<Operation>& history,
                                      const std::vector<size_t>& ok) {
  std::vector<size_t> by_invoke = ok;
  std::vector<size_t> by_complete = ok;
  std::sort(by_invoke.begin(), by_invoke.end(),
            [&](size_t a, size_t b) { return history[a].invoke_us < history[b].invoke_us; });
  std::sort(by_complete.begin(), by_complete.end(),
            [&](size_t a, size_t b) { return history[a].complete_us < history[b].complete_us; });
  size_t next = 0;
  const Operation* latest = nullptr;  // completed so far with the highest position
  for (size_t b : by_invoke) {
    const Operation& op = history[b];
    while (next < by_complete.size() && history[by_complete[next]].complete_us < op.invoke_us) {
      const Operation& done = history[by_complete[next++]];
      if (latest == nullptr || done.position > latest->position) latest = &done;
    }
    if (latest == nullptr) continue;
    const bool stale = op.write ? latest->position >= op.position : latest->position > op.position;
    if (stale) {
      return violation(
          "real-time-order",
          fmt::format("{}\n  took effect at log position {}, but before it was invoked this had "
                      "already completed at position {}:\n{}",
                      describe(op), op.position, latest->position, describe(*latest)),
          op.complete_us);
    }
  }
  return {};
}

std::vector<std::string_view> views(const std::vector<std::string>& argv) {
  return {argv.begin(), argv.end()};
}

LinearizabilityResult check_results(const std::vector<Operation>& history, std::vector<size_t> ok,
                                    const std::map<uint64_t, CommittedEntry>& log, uint64_t base) {
  std::sort(ok.begin(), ok.end(), [&](size_t a, size_t b) {
    return history[a].position != history[b].position
               ? history[a].position < history[b].position
               : history[a].write && !history[b].write;  // a write at p, then the reads at p
  });
  kv::Store reference;
  uint64_t applied = base;
  auto entry = log.upper_bound(base);
  for (size_t i : ok) {
    const Operation& op = history[i];
    // Bring the reference to the operation's position (a write: through its own entry).
    kv::Reply write_reply;
    bool have_write_reply = false;
    while (applied < op.position) {
      if (entry == log.end() || entry->first != applied + 1) {
        return {};  // a gap (never applied anywhere by the end): nothing further to compare
      }
      if (entry->second.kv) {
        kv::Reply r = reference.apply(entry->first, entry->second.data);
        if (op.write && entry->first == op.position) {
          write_reply = std::move(r);
          have_write_reply = true;
        }
      }
      applied = entry->first;
      ++entry;
    }
    if (op.write) {
      if (!have_write_reply || write_reply == op.reply) continue;  // (already compared earlier)
      return violation("write-result",
                       fmt::format("{}\n  the committed log's entry {} answers {}", describe(op),
                                   op.position, kv::to_string(write_reply)),
                       op.complete_us);
    }
    const std::vector<std::string_view> argv = views(op.argv);
    const kv::Reply expected = reference.read(argv, op.local_now_ms, 0);
    if (expected == op.reply) continue;
    return violation("read-result",
                     fmt::format("{}\n  the committed log at position {} answers {}", describe(op),
                                 op.position, kv::to_string(expected)),
                     op.complete_us);
  }
  return {};
}

}  // namespace

LinearizabilityResult check_history(const std::vector<Operation>& history,
                                    const std::map<uint64_t, CommittedEntry>& log, uint64_t base) {
  LinearizabilityResult r = check_not_applied(history, log);
  if (!r.linearizable) return r;
  std::vector<size_t> ok;
  for (size_t i = 0; i < history.size(); ++i) {
    if (history[i].outcome == Outcome::kOk) ok.push_back(i);
  }
  r = check_real_time(history, ok);
  if (!r.linearizable) return r;
  return check_results(history, std::move(ok), log, base);
}

std::string describe(const Operation& op) {
  std::string cmd;
  for (const std::string& a : op.argv) {
    if (!cmd.empty()) cmd += ' ';
    cmd += a;
  }
  std::string out = fmt::format("  client {} {} '{}' at node {}: invoked {} us", op.client,
                                op.write ? "write" : "read", cmd, op.node, op.invoke_us);
  if (op.outcome == Outcome::kUnknown) return out + ", outcome unknown";
  out += fmt::format(", completed {} us, {}", op.complete_us, outcome_name(op.outcome));
  if (op.outcome == Outcome::kOk) {
    out += fmt::format(", position {}, reply {}", op.position, kv::to_string(op.reply));
  }
  return out;
}

}  // namespace bw::sim
