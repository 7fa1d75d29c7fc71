// Where a node's membership starts: its data directory's MEMBERS file, written at the first start
// from --peers (a founding member) or from the cluster's answer to MEMBER JOIN (a node joining a
// running cluster with --join). See members_file.h.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "server/admin_client.h"
#include "server/node.h"
#include "storage/identity.h"

namespace bw::server {

namespace {

// How long a joining node keeps asking (the cluster may be electing a leader), and how often.
constexpr std::chrono::milliseconds kJoinTimeout{30000};
constexpr std::chrono::milliseconds kJoinRetryDelay{200};
constexpr std::chrono::milliseconds kJoinRequestTimeout{10000};

}  // namespace

Status Node::resolve_membership() {
  BW_RETURN_IF_ERROR(fs_.create_dir(config_.data_dir));
  Result<MemberList> file = read_members_file(fs_, config_.data_dir);
  if (file.ok()) {
    if (file->cluster_id != config_.cluster_id) {
      return absl::FailedPreconditionError(
          fmt::format("data directory {} belongs to cluster '{}', not '{}'", config_.data_dir,
                      file->cluster_id, config_.cluster_id));
    }
    if (config_.id != kNoNode && config_.id != file->self) {
      return absl::FailedPreconditionError(
          fmt::format("data directory {} belongs to node {}, not node {}", config_.data_dir,
                      file->self, config_.id));
    }
    config_.id = file->self;
    seed_ = std::move(*file);
    return OkStatus();
  }
  if (!absl::IsNotFound(file.status())) return file.status();
  if (!config_.join.empty()) {
    BW_ASSIGN_OR_RETURN(seed_, join_cluster());
    config_.id = seed_.self;
  } else {
    // A founding member (or a data directory from before MEMBERS existed, whose membership was
    // --peers all along).
    seed_ = MemberList{.cluster_id = config_.cluster_id, .self = config_.id};
    for (const PeerSpec& p : config_.peers) {
      seed_.members.push_back(MemberLine{
          .id = p.id, .client_address = p.client_address, .peer_address = p.peer_address});
    }
    std::sort(seed_.members.begin(), seed_.members.end(),
              [](const MemberLine& a, const MemberLine& b) { return a.id < b.id; });
  }
  return write_members_file(fs_, config_.data_dir, seed_);
}

// Asks the cluster at --join to add this node as a learner (MEMBER JOIN), retrying while it
// answers TRYAGAIN or cannot be reached, up to kJoinTimeout.
Result<MemberList> Node::join_cluster() {
  std::vector<std::string> argv{"MEMBER", "JOIN", config_.cluster_id, config_.listen,
                                config_.peer_advertise};
  if (config_.join_replaces != kNoNode) {
    argv.insert(argv.end(), {"REPLACE", std::to_string(config_.join_replaces.value())});
  }
  const auto deadline = std::chrono::steady_clock::now() + kJoinTimeout;
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<std::string> answer =
        admin_command(config_.join, argv, kJoinRequestTimeout, member_connect_options());
    if (answer.ok()) {
      Result<MemberList> list = decode_member_list(*answer);
      if (!list.ok()) {
        return absl::DataLossError(
            fmt::format("join {}: bad answer: {}", config_.join, list.status().message()));
      }
      if (list->cluster_id != config_.cluster_id) {
        return absl::FailedPreconditionError(
            fmt::format("join {}: answered for cluster '{}', not '{}'", config_.join,
                        list->cluster_id, config_.cluster_id));
      }
      spdlog::info("joined cluster '{}' through {} as node {} (a learner)", config_.cluster_id,
                   config_.join, list->self);
      return list;
    }
    last = answer.status();
    const std::string message(last.message());
    // An error reply (admin_command: FailedPrecondition) other than TRYAGAIN or TIMEOUT is a
    // refusal: asking again cannot change it. After TIMEOUT the node may have been added; asked
    // again, the cluster answers with that node (Node::add_member).
    if (absl::IsFailedPrecondition(last) && !absl::StartsWith(message, "TRYAGAIN") &&
        !absl::StartsWith(message, "TIMEOUT")) {
      return absl::FailedPreconditionError(
          fmt::format("join {}: refused: {}", config_.join, message));
    }
    spdlog::info("join {}: {}; retrying", config_.join, message);
    std::this_thread::sleep_for(kJoinRetryDelay);
  }
  return absl::DeadlineExceededError(fmt::format("join {}: no answer in {} ms: {}", config_.join,
                                                 kJoinTimeout.count(), last.message()));
}

}  // namespace bw::server
