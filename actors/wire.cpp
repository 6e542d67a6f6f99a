#include "actors/wire.hpp"

#include "actors/ask.hpp"
#include "actors/remote_gate.hpp"

#include "protocol/primitives.hpp"

#include <functional>
#include <vector>

namespace hearth::actors {

void add_wire_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<protocol::function_type>("hearth::function_type");
  cfg.add_message_type<protocol::address>("hearth::address");
  cfg.add_message_type<protocol::typed_value>("hearth::typed_value");
  cfg.add_message_type<protocol::invocation>("hearth::invocation");
  cfg.add_message_type<envelope>("hearth::envelope");
  cfg.add_message_type<ingress_batch>("hearth::ingress_batch");
  cfg.add_message_type<cluster_terms>("hearth::cluster_terms");
  cfg.add_message_type<member_info>("hearth::member_info");
  cfg.add_message_type<cluster_view>("hearth::cluster_view");
  cfg.add_message_type<invocation_record>("hearth::invocation_record");
  cfg.add_message_type<gate_reports>("hearth::gate_reports");
  cfg.add_message_type<part_ack>("hearth::part_ack");
  cfg.add_message_type<source_position>("hearth::source_position");
  cfg.add_message_type<checkpoint_info>("hearth::checkpoint_info");
  cfg.add_message_type<std::vector<checkpoint_info>>("hearth::checkpoint_infos");
  cfg.add_message_type<actor_query>("hearth::actor_query");
  cfg.add_message_type<actor_page>("hearth::actor_page");
  cfg.add_message_type<address_detail>("hearth::address_detail");
  cfg.add_message_type<dead_letter_list>("hearth::dead_letters");
  cfg.add_message_type<node_wiring>("hearth::node_wiring");
  cfg.add_message_type<cluster_wiring>("hearth::cluster_wiring");
  cfg.add_message_type<reply_to>("hearth::reply_to");
}

namespace {

/// Sends `value` through the binary format inside a message, as BASP does,
/// and compares what comes back with `same`.
template <class T>
status round_trip(caf::actor_system& sys, const char* name, const T& value,
                  const std::function<bool(const T&, const T&)>& same) {
  auto fail = [&](const std::string& why) {
    return error{errc::malformed, std::string{"wire type "} + name + ": " + why};
  };
  auto out = caf::make_message(value);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(out))
    return fail("cannot be serialized: " + sys.render(err));
  caf::binary_deserializer source{sys, buf};
  caf::message back;
  if (auto err = source(back))
    return fail("cannot be deserialized (is it registered?): " + sys.render(err));
  if (back.size() != 1 || !back.match_element<T>(0))
    return fail("comes back as another type");
  if (!same(value, back.get_as<T>(0)))
    return fail("comes back with other content");
  return ok();
}

bool same_invocation(const protocol::invocation& a, const protocol::invocation& b) { return a == b; }

bool same_member(const member_info& a, const member_info& b) {
  return a.id == b.id && a.incarnation == b.incarnation && a.host == b.host && a.port == b.port
         && a.partitions == b.partitions && a.draining == b.draining;
}

} // namespace

status check_wire_types(caf::actor_system& sys) {
  protocol::address target{{"com.example", "cart"}, "alice"};
  protocol::invocation from_ingress{std::nullopt, protocol::typed_value{"com.example/Add", true, std::string("\x01\x00x", 3)}};
  protocol::invocation from_function{target, protocol::make_int(7)};
  member_info m{"n1", 3, "127.0.0.1", 7000, 2, true};
  cluster_view v{9, "n1", 128, {m, member_info{"n2", 1, "::1", 7001, 4, false}}};
  std::vector<std::function<status()>> all = {
    [&] { return round_trip<protocol::function_type>(sys, "function_type", target.type, std::equal_to<>{}); },
    [&] { return round_trip<protocol::address>(sys, "address", target, std::equal_to<>{}); },
    [&] {
      return round_trip<protocol::typed_value>(sys, "typed_value", from_ingress.argument,
                                               std::equal_to<>{});
    },
    [&] { return round_trip<protocol::invocation>(sys, "invocation", from_ingress, same_invocation); },
    [&] { return round_trip<protocol::invocation>(sys, "invocation", from_function, same_invocation); },
    [&] {
      return round_trip<envelope>(sys, "envelope", envelope{target, from_function},
                                  [](const envelope& a, const envelope& b) {
                                    return a.target == b.target && a.inv == b.inv;
                                  });
    },
    [&] {
      return round_trip<ingress_batch>(
        sys, "ingress_batch", ingress_batch{{7, no_ticket}, {envelope{target, from_ingress}, envelope{target, from_function}}},
        [](const ingress_batch& a, const ingress_batch& b) {
          return a.offsets == b.offsets && a.envelopes.size() == 2 && b.envelopes.size() == 2
                 && a.envelopes[0].target == b.envelopes[0].target
                 && a.envelopes[0].inv == b.envelopes[0].inv && a.envelopes[1].inv == b.envelopes[1].inv;
        });
    },
    [&] {
      return round_trip<cluster_terms>(sys, "cluster_terms", cluster_terms{"abc", 128},
                                       [](const cluster_terms& a, const cluster_terms& b) {
                                         return a.module == b.module
                                                && a.max_key_groups == b.max_key_groups;
                                       });
    },
    [&] { return round_trip<member_info>(sys, "member_info", m, same_member); },
    [&] {
      return round_trip<cluster_view>(sys, "cluster_view", v, [](const cluster_view& a, const cluster_view& b) {
        if (a.epoch != b.epoch || a.coordinator != b.coordinator || a.max_key_groups != b.max_key_groups
            || a.members.size() != b.members.size())
          return false;
        for (size_t i = 0; i < a.members.size(); ++i)
          if (!same_member(a.members[i], b.members[i]))
            return false;
        return true;
      });
    },
  };
  // Types carrying many fields: compared by a few that cover every nested type.
  gate_reports reports{{1, 2},
                       {{3, invocation_record{5, 2, true, {"count"}, 1, 0, 0, "why"}}},
                       {4},
                       {{"ns/t:k", true}},
                       {{6, false}}};
  all.push_back([&] {
    return round_trip<gate_reports>(sys, "gate_reports", reports, [](const gate_reports& a, const gate_reports& b) {
      return a.accepted == b.accepted && a.applied.size() == 1 && b.applied.size() == 1
             && a.applied[0].offset == b.applied[0].offset
             && a.applied[0].batch.failure == b.applied[0].batch.failure
             && a.applied[0].batch.states_changed == b.applied[0].batch.states_changed
             && a.lost == b.lost && b.full.size() == 1 && b.full[0].key == "ns/t:k" && b.full[0].full
             && b.partitions_full.size() == 1 && b.partitions_full[0].partition == 6
             && !b.partitions_full[0].full;
    });
  });
  part_ack ack{7, 3, {"part-a", "part-b"}, {{5, "out", "payload"}}, 2, 99};
  all.push_back([&] {
    return round_trip<part_ack>(sys, "part_ack", ack, [](const part_ack& a, const part_ack& b) {
      return a.checkpoint == b.checkpoint && a.partition == b.partition && a.chain == b.chain
             && a.egress.size() == 1 && b.egress.size() == 1 && a.egress[0].seq == b.egress[0].seq
             && a.egress[0].payload == b.egress[0].payload && a.messages == b.messages
             && a.bytes == b.bytes;
    });
  });
  address_detail detail;
  detail.known = true;
  detail.states["count"] = state::stored_value{protocol::make_int(3), 10, 20};
  detail.specs.push_back(protocol::state_spec{"count", "io.statefun.types/int",
                                              protocol::expire_mode::after_write, 500});
  detail.delayed.push_back(state::delayed_record{protocol::key_group{4}, 100, 1, target, "t", target,
                                                 protocol::make_int(1)});
  detail.recent.push_back(invocation_record{5, 1, false, {"count"}, 1, 0, 0, {}});
  detail.summary.node = "n2";
  all.push_back([&] {
    return round_trip<address_detail>(
      sys, "address_detail", detail, [](const address_detail& a, const address_detail& b) {
        return b.known && b.states.size() == 1 && b.states.at("count").value == a.states.at("count").value
               && b.specs == a.specs && b.delayed.size() == 1 && b.delayed[0].kg == a.delayed[0].kg
               && b.delayed[0].token == "t" && b.recent.size() == 1
               && b.recent[0].states_changed == a.recent[0].states_changed && b.summary.node == "n2";
      });
  });
  // Fields of a type declared unsafe would be skipped silently: the
  // partitions (a vector of handles) must come back. The handles are of a
  // live actor (the middleman cannot carry an invalid one).
  // (Spawned with an argument: CAF 0.17 dereferences a null tuple for a
  // function spawned without one.)
  auto probe = sys.spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; }, 0);
  cluster_wiring wiring{4, 2, probe, {node_wiring{4, "n1", {probe, probe}, probe, probe, probe}}};
  all.push_back([&] {
    return round_trip<cluster_wiring>(sys, "cluster_wiring", wiring,
                                      [](const cluster_wiring& a, const cluster_wiring& b) {
                                        return a.epoch == b.epoch && a.restored == b.restored
                                               && b.nodes.size() == 1 && b.nodes[0].node == "n1"
                                               && b.nodes[0].partitions.size() == 2
                                               && b.nodes[0].partitions[1] == a.nodes[0].partitions[1]
                                               && b.coordinator == a.coordinator;
                                      });
  });
  all.push_back([&] {
    return round_trip<reply_to>(sys, "reply_to", reply_to{probe, 42},
                                [](const reply_to& a, const reply_to& b) {
                                  return b.to == a.to && b.tag == 42;
                                });
  });
  status outcome = ok();
  for (auto& check : all)
    if (auto s = check(); !s) {
      outcome = s;
      break;
    }
  caf::anon_send_exit(probe, caf::exit_reason::user_shutdown);
  return outcome;
}

} // namespace hearth::actors
