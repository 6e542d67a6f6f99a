#include "actors/effect_plan.hpp"

#include "actors/delayed_rules.hpp"

#include <algorithm>

namespace hearth::actors {

void stage_changes(state::write_batch& wb, protocol::key_group kg, const protocol::address& a,
                   const std::vector<state_change>& changes) {
  for (auto& [name, value] : changes) {
    if (value)
      wb.put_state(kg, a, name, *value);
    else
      wb.delete_state(kg, a, name);
  }
}

planned_batch plan_effects(const effect_context& ctx, effects& fx) {
  planned_batch p;
  auto kg = ctx.route.kg_of(fx.source);
  auto dead = [&](undeliverable r) { ctx.letters.stage(p.writes, kg, std::move(r), ctx.now_ms); };
  // 1. Outgoing messages.
  for (auto& m : fx.outgoing) {
    protocol::invocation inv{fx.source, std::move(m.argument)};
    if (auto problem = check_target(ctx.module, m.target); !problem.empty()) {
      dead({std::move(m.target), {std::move(inv)}, std::move(problem)});
      continue;
    }
    p.out.push_back(envelope{std::move(m.target), std::move(inv)});
  }
  // 2. Delayed messages, in list order.
  auto delayed = apply_delayed(ctx.store, ctx.module, kg, fx.source, fx.delayed, ctx.now_ms, p.writes);
  for (auto& r : delayed.rejected)
    dead(std::move(r));
  p.earliest = delayed.earliest;
  // 3. Egress records.
  auto egress = ctx.egress.route(ctx.store, fx.source, fx.egresses);
  for (auto& r : egress.rejected)
    dead(std::move(r));
  p.records = std::move(egress.records);
  p.now = std::move(egress.now);
  // 4. State mutations.
  stage_changes(p.writes, kg, fx.source, fx.changes);

  auto& r = p.record;
  r.time_ms = ctx.now_ms;
  r.invocations = fx.completed;
  for (auto& [name, value] : fx.changes)
    if (std::find(r.states_changed.begin(), r.states_changed.end(), name) == r.states_changed.end())
      r.states_changed.push_back(name);
  r.messages_sent = static_cast<std::uint32_t>(p.out.size());
  r.delayed = static_cast<std::uint32_t>(fx.delayed.size());
  r.egress_records = static_cast<std::uint32_t>(p.records.size() + p.now.size());
  return p;
}

planned_batch plan_failure(const effect_context& ctx, failure& f) {
  planned_batch p;
  auto kg = ctx.route.kg_of(f.source);
  auto& r = p.record;
  r.time_ms = ctx.now_ms;
  r.invocations = static_cast<std::uint32_t>(f.invocations.size());
  r.failed = true;
  r.failure = f.reason;
  stage_changes(p.writes, kg, f.source, f.changes);
  ctx.letters.stage(p.writes, kg, {f.source, std::move(f.invocations), f.reason}, ctx.now_ms);
  return p;
}

} // namespace hearth::actors
