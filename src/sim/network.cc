#include "sim/network.h"

#include <algorithm>

#include "common/assert.h"

namespace bw::sim {

Network::Network(size_t nodes_max)
    : nodes_max_(nodes_max), down_((nodes_max + 1) * (nodes_max + 1), false) {}

size_t Network::slot(NodeId from, NodeId to) const {
  BW_ASSERT(from.value() >= 1);
  BW_ASSERT(from.value() <= nodes_max_);
  BW_ASSERT(to.value() >= 1);
  BW_ASSERT(to.value() <= nodes_max_);
  return from.value() * (nodes_max_ + 1) + to.value();
}

void Network::set_link(NodeId from, NodeId to, bool up) {
  down_[slot(from, to)] = !up;
}

bool Network::link_up(NodeId from, NodeId to) const {
  return !down_[slot(from, to)];
}

void Network::heal() {
  std::fill(down_.begin(), down_.end(), false);
}

bool Network::partitioned() const {
  return std::find(down_.begin(), down_.end(), true) != down_.end();
}

std::vector<uint64_t> Network::fate(Rng& rng, NodeId from, NodeId to) const {
  std::vector<uint64_t> delays;
  if (!link_up(from, to)) return delays;
  if (rng.chance(options_.drop_probability)) return delays;
  const int copies = rng.chance(options_.duplicate_probability) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    uint64_t delay = rng.range(options_.latency_us_min, options_.latency_us_max);
    if (options_.latency_spike_us_max > delay && rng.chance(options_.spike_probability)) {
      delay = rng.range(delay, options_.latency_spike_us_max);
    }
    delays.push_back(delay);
  }
  return delays;
}

}  // namespace bw::sim
