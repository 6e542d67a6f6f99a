#include "actors/address_actor.hpp"

#include "actors/batcher.hpp"
#include "protocol/codec.hpp"

#include <chrono>

namespace hearth::actors {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Handshake rounds allowed per batch before the batch is given up.
constexpr int max_handshakes = 3;

struct address_state {
  address_actor_config cfg;
  std::string url;
  instance_state values;
  batcher batch;
  std::vector<state_change> pending_changes; // expirations noticed while attaching
  int handshakes = 0;
  std::chrono::steady_clock::time_point sent_at; // of the request in flight
  bool frozen = false;
  bool committing = false; // a finished batch is with the partition, not yet committed
  std::uint64_t generation = 0; // tags requests so a late reply is recognised
};

void send_batch(caf::event_based_actor* self, const std::shared_ptr<address_state>& st) {
  io::function_request req;
  req.url = st->url;
  req.transport = st->cfg.endpoint.transport;
  protocol::invocation_batch b;
  b.target = st->cfg.self;
  b.states = st->values.attach(st->cfg.specs, now_ms(), st->pending_changes);
  b.invocations = st->batch.in_flight();
  req.body = protocol::encode(b);
  auto gen = ++st->generation;
  st->sent_at = std::chrono::steady_clock::now();
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st->cfg.client->invoke(std::move(req), [me, gen](io::function_reply reply) {
    caf::anon_send(me, reply_atom::value, gen, std::move(reply));
  });
}

void next(caf::event_based_actor* self, const std::shared_ptr<address_state>& st) {
  if (st->frozen || st->committing)
    return;
  if (st->batch.next_batch()) {
    st->handshakes = 0;
    send_batch(self, st);
  }
}

/// Hands a finished batch (effects or failure) to the partition and sends
/// nothing more until the partition confirms its commit: the next request is
/// built from this actor's memory, which must not run ahead of the store. A
/// failed commit is never confirmed: the partition stops, and this actor with it.
template <class Atom, class Payload>
void hand_over(caf::event_based_actor* self, const std::shared_ptr<address_state>& st, Atom atom,
               Payload payload) {
  st->committing = true;
  self->request(st->cfg.partition, caf::infinite, atom, std::move(payload))
    .then(
      [=](caf::ok_atom) {
        st->committing = false;
        next(self, st);
      },
      [=](caf::error&) {
        st->frozen = true; // not committed: wait to be stopped with the partition
      });
}

std::uint32_t elapsed_ms(const std::shared_ptr<address_state>& st) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - st->sent_at)
                                      .count());
}

void give_up(caf::event_based_actor* self, const std::shared_ptr<address_state>& st,
             std::string reason) {
  failure f;
  f.source = st->cfg.self;
  f.latency_ms = elapsed_ms(st);
  f.invocations = st->batch.in_flight();
  f.reason = std::move(reason);
  f.changes = std::move(st->pending_changes);
  st->pending_changes.clear();
  st->batch.complete();
  hand_over(self, st, failed_atom::value, std::move(f));
}

void on_response(caf::event_based_actor* self, const std::shared_ptr<address_state>& st,
                 protocol::invocation_response& r) {
  effects e;
  e.source = st->cfg.self;
  e.latency_ms = elapsed_ms(st);
  e.changes = std::move(st->pending_changes);
  st->pending_changes.clear();
  if (auto s = st->values.apply(r.mutations, st->cfg.specs, now_ms(), e.changes); !s) {
    // Nothing of the response is applied; expirations still are.
    failure f{st->cfg.self, e.latency_ms, st->batch.in_flight(), s.err().message,
              std::move(e.changes)};
    st->batch.complete();
    hand_over(self, st, failed_atom::value, std::move(f));
    return;
  }
  e.completed = static_cast<std::uint32_t>(st->batch.complete());
  e.outgoing = std::move(r.outgoing);
  e.delayed = std::move(r.delayed);
  e.egresses = std::move(r.egresses);
  hand_over(self, st, effects_atom::value, std::move(e));
}

} // namespace

caf::behavior address_actor(caf::event_based_actor* self, address_actor_config cfg) {
  auto st = std::make_shared<address_state>();
  st->url = cfg.endpoint.url_for(cfg.self.type);
  st->values = instance_state{std::move(cfg.values)};
  st->batch = batcher{cfg.endpoint.max_batch};
  st->cfg = std::move(cfg);
  return {
    [=](invoke_atom, protocol::invocation& inv) {
      st->batch.enqueue(std::move(inv));
      next(self, st);
    },
    [=](reply_atom, std::uint64_t gen, io::function_reply& reply) {
      if (st->frozen || gen != st->generation || !st->batch.busy())
        return;
      if (!reply.response) {
        give_up(self, st, reply.response.err().message);
        return;
      }
      auto& resp = *reply.response;
      if (auto* ctx = std::get_if<protocol::incomplete_context>(&resp)) {
        if (++st->handshakes > max_handshakes) {
          give_up(self, st, "the function keeps reporting missing state after registration");
          return;
        }
        self->request(st->cfg.partition, caf::infinite, register_atom::value,
                      st->cfg.self.type, spec_list{ctx->missing})
          .then(
            [=](registration& reg) {
              if (st->frozen)
                return;
              if (!reg.accepted) {
                give_up(self, st, reg.reason);
                return;
              }
              st->cfg.specs = std::move(reg.specs);
              send_batch(self, st); // the same batch, now with the states attached
            },
            [=](caf::error& err) {
              give_up(self, st, "state registration failed: " + self->system().render(err));
            });
        return;
      }
      on_response(self, st, std::get<protocol::invocation_response>(resp));
    },
    [=](stop_atom) { self->quit(); },
  };
}

} // namespace hearth::actors
