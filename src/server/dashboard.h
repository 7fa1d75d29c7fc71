// The live dashboard every node serves on its HTTP (metrics) port: a page (GET /) that polls
// GET /api/cluster, the cluster as the serving node finds it by asking every member (the probes
// of `bellwether status`). It keeps working while any member is down, the leader included.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/status.h"

namespace bw::server {

// INFO sections each member is asked for, beside `raft`.
inline const std::vector<std::string> kDashboardInfoSections = {"stats", "commandstats",
                                                                "latencystats"};

// The address the node's own dashboard asks first: its client address, with a wildcard host
// (0.0.0.0, ::, empty) replaced by loopback.
std::string dashboard_probe_address(std::string_view listen);

// The page: HTML with its script and style inline (no other request but /api/cluster).
std::string_view dashboard_page();

// The JSON document of /api/cluster for `probes` (probe_cluster's result) as seen by node
// `self_id` at `now_ms` (unix ms). Pure. Format: docs/monitoring.md, "Dashboard".
std::string cluster_json(const std::vector<NodeProbe>& probes, const std::string& self_id,
                         int64_t now_ms);
// The document when the serving node cannot answer itself (`error` says why).
std::string cluster_error_json(std::string_view error, int64_t now_ms);

}  // namespace bw::server
