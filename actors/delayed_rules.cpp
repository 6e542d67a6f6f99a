#include "actors/delayed_rules.hpp"

#include "actors/routing.hpp"

#include <algorithm>
#include <set>

namespace hearth::actors {

delayed_outcome apply_delayed(state::store& store, const io::module_config& module,
                              protocol::key_group kg, const protocol::address& sender,
                              const std::vector<protocol::delayed_message>& delayed,
                              std::int64_t now_ms, state::write_batch& wb) {
  delayed_outcome out;
  std::set<std::string> tokens_added; // tokens registered earlier in this same batch
  std::set<std::string> tokens_cancelled;
  std::vector<state::delayed_record> added;
  auto pending_in_store = [&](const std::string& token) -> std::optional<state::delayed_record> {
    auto found = store.find_token(kg, sender, token);
    if (found && *found)
      return std::move(**found);
    return std::nullopt;
  };
  for (auto& d : delayed) {
    if (d.is_cancellation) {
      if (d.cancellation_token.empty()) {
        out.rejected.push_back({sender, {}, "cancellation of a delayed message without a token"});
        continue;
      }
      // A token added earlier in this batch: drop it from the batch.
      auto pos = std::find_if(added.begin(), added.end(), [&](const state::delayed_record& r) {
        return r.token == d.cancellation_token;
      });
      if (pos != added.end()) {
        wb.delete_delayed(*pos);
        tokens_added.erase(pos->token);
        added.erase(pos);
        continue;
      }
      if (d.cancellation_token.size() > max_name_bytes)
        continue; // never stored, so nothing to cancel
      if (!tokens_cancelled.count(d.cancellation_token))
        if (auto found = pending_in_store(d.cancellation_token)) {
          wb.delete_delayed(*found);
          tokens_cancelled.insert(d.cancellation_token);
        }
      // Unknown token (already delivered or cancelled): a no-op, as in StateFun.
      continue;
    }
    auto dead = [&](std::string why) {
      out.rejected.push_back({d.target, {protocol::invocation{sender, d.argument}}, std::move(why)});
    };
    if (d.delay_ms < 0) {
      dead("delayed message with a negative delay");
      continue;
    }
    if (d.delay_ms > max_delay_ms) {
      dead("delayed message with a delay over " + std::to_string(max_delay_ms) + " ms");
      continue;
    }
    if (d.cancellation_token.size() > max_name_bytes) {
      dead("cancellation token longer than " + std::to_string(max_name_bytes) + " bytes");
      continue;
    }
    if (auto problem = check_target(module, d.target); !problem.empty()) {
      dead(problem);
      continue;
    }
    if (!d.cancellation_token.empty()) {
      bool pending = !tokens_cancelled.count(d.cancellation_token)
                     && pending_in_store(d.cancellation_token).has_value();
      if (tokens_added.count(d.cancellation_token) || pending) {
        dead("cancellation token '" + d.cancellation_token + "' is already pending for "
             + sender.to_string());
        continue;
      }
      tokens_added.insert(d.cancellation_token);
    }
    state::delayed_record r;
    r.kg = kg;
    r.due_ms = now_ms + d.delay_ms;
    r.seq = store.next_seq();
    r.sender = sender;
    r.token = d.cancellation_token;
    r.target = d.target;
    r.argument = d.argument;
    wb.put_delayed(r);
    if (!out.earliest || r.due_ms < *out.earliest)
      out.earliest = r.due_ms;
    added.push_back(std::move(r));
  }
  out.staged = added.size();
  return out;
}

} // namespace hearth::actors
