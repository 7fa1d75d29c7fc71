// The simulated network between the nodes of one group: per-message latency (which reorders),
// loss, duplication, and per-direction link cuts (symmetric and asymmetric partitions). It only
// decides the fate of each message; the world schedules the deliveries in virtual time.
//
// Thread safety: none; owned by the world.
#pragma once

#include <cstdint>
#include <vector>

#include "common/ids.h"
#include "sim/rng.h"

namespace bw::sim {

struct NetworkOptions {
  uint64_t latency_us_min = 200;
  uint64_t latency_us_max = 2'000;
  double drop_probability = 0;
  double duplicate_probability = 0;
  double spike_probability = 0;  // a message takes up to latency_spike_us_max instead
  uint64_t latency_spike_us_max = 0;
};

class Network {
 public:
  // Node ids are 1..nodes_max.
  explicit Network(size_t nodes_max);

  void set_options(const NetworkOptions& options) { options_ = options; }
  const NetworkOptions& options() const { return options_; }

  // Cuts or restores the direction from -> to.
  void set_link(NodeId from, NodeId to, bool up);
  bool link_up(NodeId from, NodeId to) const;
  // Restores every link.
  void heal();
  bool partitioned() const;

  // Delivery delays for one message sent now: empty when lost, two entries when duplicated.
  std::vector<uint64_t> fate(Rng& rng, NodeId from, NodeId to) const;

 private:
  size_t slot(NodeId from, NodeId to) const;

  size_t nodes_max_;
  NetworkOptions options_;
  std::vector<bool> down_;  // (from, to) -> link cut
};

}  // namespace bw::sim
