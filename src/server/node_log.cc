// The node's side of structured logs (log_format.h): its id and Raft term for every line.
#include "server/log_format.h"
#include "server/node.h"

namespace bw::server {

void Node::set_log_context(std::shared_ptr<LogContext> context) {
  log_context_ = std::move(context);
}

void Node::note_term(Term term) {
  if (!log_context_) return;
  log_context_->node.store(config_.id.value(), std::memory_order_relaxed);
  log_context_->term.store(term.value(), std::memory_order_relaxed);
}

}  // namespace bw::server
