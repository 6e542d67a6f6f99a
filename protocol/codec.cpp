#include "protocol/codec.hpp"

#include "egress.pb.h"
#include "request-reply.pb.h"

#include <google/protobuf/arena.h>

namespace hearth::protocol {

namespace pb = io::statefun::sdk::reqreply;

namespace {

void to_pb(const address& a, pb::Address* out) {
  out->set_namespace_(a.type.ns);
  out->set_type(a.type.name);
  out->set_id(a.id);
}

address from_pb(const pb::Address& a) {
  return address{{a.namespace_(), a.type()}, a.id()};
}

void to_pb(const typed_value& v, pb::TypedValue* out) {
  out->set_typename_(v.type_name);
  out->set_has_value(v.has_value);
  out->set_value(v.value.str());
}

typed_value from_pb(const pb::TypedValue& v) {
  return typed_value{v.typename_(), v.has_value(), v.value()};
}

void to_pb(const state_spec& s, pb::FromFunction::PersistedValueSpec* out) {
  out->set_state_name(s.name);
  out->set_type_typename(s.type_name);
  if (s.mode != expire_mode::none) {
    auto* e = out->mutable_expiration_spec();
    e->set_mode(static_cast<pb::FromFunction::ExpirationSpec::ExpireMode>(s.mode));
    e->set_expire_after_millis(s.expire_after_ms);
  }
}

result<state_spec> from_pb(const pb::FromFunction::PersistedValueSpec& s) {
  state_spec out;
  out.name = s.state_name();
  if (out.name.empty())
    return error{errc::malformed, "PersistedValueSpec without state_name"};
  out.type_name = s.type_typename().empty() ? unset_type_name : s.type_typename();
  if (s.has_expiration_spec()) {
    auto mode = s.expiration_spec().mode();
    if (mode < 0 || mode > 2)
      return error{errc::malformed, "state '" + out.name + "': unknown expire mode "
                                      + std::to_string(mode)};
    out.mode = static_cast<expire_mode>(mode);
    out.expire_after_ms = s.expiration_spec().expire_after_millis();
    if (out.mode != expire_mode::none && out.expire_after_ms <= 0)
      return error{errc::malformed, "state '" + out.name
                                      + "': expiration needs expire_after_millis > 0"};
  }
  return out;
}

/// protobuf logs every refused message (invalid UTF-8 in a string field) to
/// stderr on its own: a function answering garbage would flood the log. The
/// codec reports those as errc::malformed instead. Set once, before any
/// thread starts (SetLogHandler is not thread-safe).
const bool quiet_protobuf = [] {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return true;
}();

/// An arena whose first block is `N` bytes inside it: a message of the hot
/// path (a ToFunction, a FromFunction) and its parts are built in it without
/// one heap allocation each (strings longer than the small-string buffer
/// still allocate their bytes).
template <size_t N>
struct local_arena {
  alignas(std::max_align_t) char block[N];
  google::protobuf::Arena arena{options()};

  google::protobuf::ArenaOptions options() {
    google::protobuf::ArenaOptions o;
    o.initial_block = block;
    o.initial_block_size = N;
    return o;
  }
};

bool parse(google::protobuf::MessageLite& msg, std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    return false;
  return msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

} // namespace

std::string encode(const invocation_batch& batch) {
  local_arena<4096> a;
  auto& msg = *google::protobuf::Arena::CreateMessage<pb::ToFunction>(&a.arena);
  auto* req = msg.mutable_invocation();
  to_pb(batch.target, req->mutable_target());
  for (auto& s : batch.states) {
    auto* pv = req->add_state();
    pv->set_state_name(s.name);
    if (s.value)
      to_pb(*s.value, pv->mutable_state_value());
  }
  for (auto& inv : batch.invocations) {
    auto* i = req->add_invocations();
    if (inv.caller)
      to_pb(*inv.caller, i->mutable_caller());
    to_pb(inv.argument, i->mutable_argument());
  }
  return msg.SerializeAsString();
}

result<invocation_batch> decode_to_function(std::string_view bytes) {
  pb::ToFunction msg;
  if (!parse(msg, bytes))
    return error{errc::malformed, "bytes are not a ToFunction message"};
  if (!msg.has_invocation())
    return error{errc::malformed, "ToFunction carries no invocation batch"};
  auto& req = msg.invocation();
  invocation_batch out;
  out.target = from_pb(req.target());
  for (auto& s : req.state()) {
    state_entry e{s.state_name(), std::nullopt};
    if (s.has_state_value())
      e.value = from_pb(s.state_value());
    out.states.push_back(std::move(e));
  }
  for (auto& i : req.invocations()) {
    invocation inv;
    if (i.has_caller())
      inv.caller = from_pb(i.caller());
    inv.argument = from_pb(i.argument());
    out.invocations.push_back(std::move(inv));
  }
  return out;
}

std::string encode(const from_function& response) {
  pb::FromFunction msg;
  if (auto* ctx = std::get_if<incomplete_context>(&response)) {
    auto* out = msg.mutable_incomplete_invocation_context();
    for (auto& s : ctx->missing)
      to_pb(s, out->add_missing_values());
    return msg.SerializeAsString();
  }
  auto& r = std::get<invocation_response>(response);
  auto* out = msg.mutable_invocation_result();
  for (auto& m : r.mutations) {
    auto* pm = out->add_state_mutations();
    pm->set_mutation_type(
      static_cast<pb::FromFunction::PersistedValueMutation::MutationType>(m.op));
    pm->set_state_name(m.name);
    to_pb(m.value, pm->mutable_state_value());
  }
  for (auto& o : r.outgoing) {
    auto* po = out->add_outgoing_messages();
    to_pb(o.target, po->mutable_target());
    to_pb(o.argument, po->mutable_argument());
  }
  for (auto& d : r.delayed) {
    auto* pd = out->add_delayed_invocations();
    pd->set_is_cancellation_request(d.is_cancellation);
    pd->set_cancellation_token(d.cancellation_token);
    pd->set_delay_in_ms(d.delay_ms);
    to_pb(d.target, pd->mutable_target());
    to_pb(d.argument, pd->mutable_argument());
  }
  for (auto& e : r.egresses) {
    auto* pe = out->add_outgoing_egresses();
    pe->set_egress_namespace(e.egress_namespace);
    pe->set_egress_type(e.egress_type);
    to_pb(e.argument, pe->mutable_argument());
  }
  return msg.SerializeAsString();
}

result<from_function> decode_from_function(std::string_view bytes) {
  local_arena<4096> a;
  auto& msg = *google::protobuf::Arena::CreateMessage<pb::FromFunction>(&a.arena);
  if (!parse(msg, bytes))
    return error{errc::malformed, "response body is not a FromFunction message"};
  if (msg.has_incomplete_invocation_context()) {
    incomplete_context ctx;
    for (auto& s : msg.incomplete_invocation_context().missing_values()) {
      auto spec = from_pb(s);
      if (!spec)
        return spec.err();
      ctx.missing.push_back(std::move(*spec));
    }
    return from_function{std::move(ctx)};
  }
  invocation_response out;
  if (!msg.has_invocation_result())
    return from_function{std::move(out)};
  auto& r = msg.invocation_result();
  for (auto& m : r.state_mutations()) {
    state_mutation sm;
    auto t = m.mutation_type();
    if (t != pb::FromFunction::PersistedValueMutation::DELETE
        && t != pb::FromFunction::PersistedValueMutation::MODIFY)
      return error{errc::malformed, "state '" + m.state_name()
                                      + "': unknown mutation type " + std::to_string(t)};
    sm.op = static_cast<state_mutation::kind>(t);
    sm.name = m.state_name();
    sm.value = from_pb(m.state_value());
    out.mutations.push_back(std::move(sm));
  }
  for (auto& o : r.outgoing_messages())
    out.outgoing.push_back({from_pb(o.target()), from_pb(o.argument())});
  for (auto& d : r.delayed_invocations()) {
    delayed_message dm;
    dm.is_cancellation = d.is_cancellation_request();
    dm.cancellation_token = d.cancellation_token();
    dm.delay_ms = d.delay_in_ms();
    dm.target = from_pb(d.target());
    dm.argument = from_pb(d.argument());
    out.delayed.push_back(std::move(dm));
  }
  for (auto& e : r.outgoing_egresses())
    out.egresses.push_back({e.egress_namespace(), e.egress_type(), from_pb(e.argument())});
  return from_function{std::move(out)};
}

std::string encode_specs(const std::vector<state_spec>& specs) {
  return encode(from_function{incomplete_context{specs}});
}

result<std::vector<state_spec>> decode_specs(std::string_view bytes) {
  auto r = decode_from_function(bytes);
  if (!r)
    return r.err();
  auto* ctx = std::get_if<incomplete_context>(&*r);
  if (!ctx)
    return error{errc::malformed, "stored specs are not a spec list"};
  return std::move(ctx->missing);
}

result<kafka_record> decode_kafka_record(const typed_value& v) {
  if (v.type_name != kafka_record_type_name)
    return error{errc::malformed, "egress value has typename '" + v.type_name
                                    + "', expected " + kafka_record_type_name};
  io::statefun::sdk::egress::KafkaProducerRecord rec;
  if (!parse(rec, v.value.str()))
    return error{errc::malformed, "egress value is not a KafkaProducerRecord"};
  return kafka_record{rec.key(), rec.value_bytes(), rec.topic()};
}

typed_value encode_kafka_record(const kafka_record& r) {
  io::statefun::sdk::egress::KafkaProducerRecord rec;
  rec.set_key(r.key);
  rec.set_value_bytes(r.value);
  rec.set_topic(r.topic);
  return typed_value{kafka_record_type_name, true, rec.SerializeAsString()};
}

result<kinesis_record> decode_kinesis_record(const typed_value& v) {
  if (v.type_name != kinesis_record_type_name)
    return error{errc::malformed, "egress value has typename '" + v.type_name
                                    + "', expected " + kinesis_record_type_name};
  io::statefun::sdk::egress::KinesisEgressRecord rec;
  if (!parse(rec, v.value.str()))
    return error{errc::malformed, "egress value is not a KinesisEgressRecord"};
  return kinesis_record{rec.partition_key(), rec.value_bytes(), rec.stream(),
                        rec.explicit_hash_key()};
}

} // namespace hearth::protocol
