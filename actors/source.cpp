#include "actors/source.hpp"

#include <deque>
#include <iostream>

namespace hearth::actors {

namespace {

struct source_state {
  source_config cfg;
  std::uint64_t next = 0; // first offset not yet sent
  // Records handed over while an earlier gap could not be read yet: sent, in
  // order, once the gap is filled (never skipped: they are acknowledged).
  std::deque<std::vector<state::ingress_record>> waiting;
};

void send_record(caf::event_based_actor* self, source_state& st, state::ingress_record& r) {
  auto kg = protocol::key_group_of(r.target.id, st.cfg.max_key_groups);
  auto p = protocol::partition_of(kg, st.cfg.max_key_groups,
                                  static_cast<std::uint32_t>(st.cfg.partitions.size()));
  self->send(st.cfg.partitions[p], ingress_atom::value, r.offset,
             envelope{std::move(r.target), protocol::invocation{std::nullopt, std::move(r.value)}});
  st.next = r.offset + 1;
}

/// Sends everything in the log from st.next up to `until` (exclusive); false
/// when the log could not be read that far.
bool catch_up(caf::event_based_actor* self, source_state& st, std::uint64_t until) {
  while (st.next < until) {
    auto batch = st.cfg.log->read(st.next, 4096);
    if (!batch || batch->empty()) {
      if (!batch)
        std::cerr << "hearth-node: cannot read the ingress log: " << batch.err().message
                  << std::endl;
      return false;
    }
    for (auto& r : *batch) {
      if (r.offset >= until)
        return true;
      if (r.offset >= st.next)
        send_record(self, st, r);
    }
  }
  return true;
}

using retry_atom = caf::atom_constant<caf::atom("retry")>;

} // namespace

caf::behavior source_actor(caf::event_based_actor* self, source_config cfg) {
  auto st = std::make_shared<source_state>();
  st->next = cfg.position;
  st->cfg = std::move(cfg);
  return {
    [=](start_atom) {
      catch_up(self, *st, st->cfg.log->next_offset());
      return caf::ok_atom::value;
    },
    [=](log_atom, std::vector<state::ingress_record>& records) {
      if (records.empty())
        return;
      bool idle = st->waiting.empty();
      st->waiting.push_back(std::move(records));
      if (idle)
        self->send(self, retry_atom::value);
    },
    [=](retry_atom) {
      while (!st->waiting.empty()) {
        auto& group = st->waiting.front();
        // A gap (records appended while the replay ran) is read from the log.
        if (group.front().offset > st->next && !catch_up(self, *st, group.front().offset)) {
          self->delayed_send(self, std::chrono::milliseconds{100}, retry_atom::value);
          return;
        }
        for (auto& r : group)
          if (r.offset >= st->next)
            send_record(self, *st, r);
        st->waiting.pop_front();
      }
    },
    [=](barrier_atom, std::uint64_t id) {
      for (auto& p : st->cfg.partitions)
        self->send(p, barrier_atom::value, id);
      return st->next;
    },
  };
}

} // namespace hearth::actors
