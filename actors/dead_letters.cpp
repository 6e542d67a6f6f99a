#include "actors/dead_letters.hpp"

namespace hearth::actors {

void dead_letters::stage(state::write_batch& wb, protocol::key_group kg, undeliverable r,
                         std::int64_t now_ms) {
  state::dead_letter d;
  d.kg = kg;
  d.seq = store_.next_seq();
  d.time_ms = now_ms;
  d.reason = std::move(r.reason);
  d.target = std::move(r.target);
  d.invocations = std::move(r.invocations);
  wb.put_dead_letter(d);
  ++staged_;
  if (observer_)
    observer_(d);
}

std::optional<state::dead_letter> dead_letters::find(protocol::key_group kg, std::uint64_t seq) {
  auto d = store_.find_dead_letter(kg, seq);
  if (!d || !*d)
    return std::nullopt;
  return std::move(**d);
}

dead_letters::replay_check dead_letters::take_for_replay(protocol::key_group kg, std::uint64_t seq,
                                                         state::write_batch& wb,
                                                         state::dead_letter& out) {
  auto d = find(kg, seq);
  if (!d)
    return replay_check::absent;
  if (d->target.id.empty() || d->invocations.empty())
    return replay_check::nothing_to_deliver;
  wb.delete_dead_letter(d->kg, d->seq);
  out = std::move(*d);
  return replay_check::ready;
}

bool dead_letters::stage_drop(protocol::key_group kg, std::uint64_t seq, state::write_batch& wb) {
  if (!find(kg, seq))
    return false;
  wb.delete_dead_letter(kg, seq);
  return true;
}

} // namespace hearth::actors
