#pragma once

// Questions that may cross nodes, answered to a handle named in the question.
//
// CAF 0.17.6 can deliver the messages of one pair of nodes without their
// sender (docs/cluster.md, "Known issue"). CAF's request/response answers the
// sender, so such an answer is lost while everything else between the two
// nodes still gets through. A handle carried inside a message names its node
// itself and does not depend on that mapping. So every question an actor may
// be asked by another node carries a `reply_to` as its last element and is
// answered with `answer(r, value)`, that is `(answer_atom, tag, message)` sent
// to `r.to`, whose message holds the value (or a caf::error).
//
// Asking:
// - from a blocking caller (a scoped actor of one call): `ask_all` / `ask_one`;
// - from an event-based actor: a `questions` member, whose `on_answer` and
//   `on_silence` the actor's behavior calls for answer_atom and silent_atom.
//
// CAF's own request/response stays for questions that never leave the node.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hearth::actors {

/// Who gets the answer to a question, and the tag that says which question.
struct reply_to {
  caf::actor to;
  std::uint64_t tag = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply_to& x) {
  return f(caf::meta::type_name("hearth::reply_to"), x.to, x.tag);
}

using answer_atom = caf::atom_constant<caf::atom("answer")>; // -> reply_to.to: tag, message
using silent_atom = caf::atom_constant<caf::atom("silent")>; // asker -> itself: tag (timeout)

/// Answers question `r` with `value` (a caf::error to refuse it). Nothing to
/// do for an empty `r.to`.
template <class T>
void answer(const reply_to& r, T value) {
  if (r.to)
    caf::anon_send(r.to, answer_atom::value, r.tag, caf::make_message(std::move(value)));
}

/// The answer of one question as a T: an error for an answer that is an
/// error or of another type.
template <class T>
caf::expected<T> answer_as(caf::message& m) {
  if (m.match_elements<T>())
    return std::move(m.get_mutable_as<T>(0));
  if (m.match_elements<caf::error>())
    return std::move(m.get_mutable_as<caf::error>(0));
  return caf::make_error(caf::sec::unexpected_response);
}

/// Asks every target at once `(question..., reply_to{self, i})` and waits at
/// most `timeout` for all answers. Answer i is targets[i]'s;
/// sec::request_receiver_down for a target that ended (or whose node was
/// lost) before it answered; sec::request_timeout for one that did not
/// answer in time. `self` is a scoped actor of this call only, so no late
/// answer of another call can be taken for one of this call's.
template <class T, class... Ts>
std::vector<caf::expected<T>> ask_all(caf::scoped_actor& self, const std::vector<caf::actor>& targets,
                                      std::chrono::milliseconds timeout, const Ts&... question) {
  std::vector<caf::expected<T>> out(targets.size(), caf::make_error(caf::sec::request_timeout));
  std::vector<bool> heard(targets.size(), false);
  auto me = caf::actor_cast<caf::actor>(self);
  size_t left = targets.size();
  auto settle = [&](size_t i, caf::expected<T> x) {
    if (heard[i])
      return;
    heard[i] = true;
    --left;
    out[i] = std::move(x);
  };
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!targets[i]) {
      settle(i, caf::make_error(caf::sec::request_receiver_down));
      continue;
    }
    self->monitor(targets[i]);
    self->send(targets[i], question..., reply_to{me, i});
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (left > 0) {
    auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (rest.count() < 0)
      break;
    bool silent = false;
    self->receive(
      [&](answer_atom, std::uint64_t tag, caf::message& m) {
        if (tag < out.size())
          settle(tag, answer_as<T>(m));
      },
      // An answer sent before the end arrives before this (one sender, in order).
      [&](caf::down_msg& down) {
        for (size_t i = 0; i < targets.size(); ++i)
          if (targets[i].address() == down.source)
            settle(i, caf::make_error(caf::sec::request_receiver_down));
      },
      caf::after(rest) >> [&] { silent = true; });
    if (silent)
      break;
  }
  // A monitor stays on its target until the target ends, whatever becomes
  // of this caller: taken off again, or every call would leave one behind.
  for (auto& t : targets)
    if (t)
      self->demonitor(t);
  return out;
}

/// ask_all with one target.
template <class T, class... Ts>
caf::expected<T> ask_one(caf::scoped_actor& self, const caf::actor& target,
                         std::chrono::milliseconds timeout, const Ts&... question) {
  return std::move(ask_all<T>(self, std::vector<caf::actor>{target}, timeout, question...).front());
}

/// The open questions of one event-based actor. Its behavior must pass
/// `(answer_atom, tag, message)` to on_answer and `(silent_atom, tag)` to
/// on_silence. Each question is settled once: by its answer, or by
/// sec::request_timeout once `timeout` passed without one. The callbacks
/// usually hold the actor's state, which holds this: `forget_at_exit`
/// drops the open ones when the actor ends, or the state would never be freed.
class questions {
public:
  /// Asks `target` `(question..., reply_to{self, tag})`; calls `on_value`
  /// with the answer as a T&, or `on_error` with a caf::error& (a refusal,
  /// or the timeout).
  template <class T, class OnValue, class OnError, class Rep, class Period, class... Ts>
  void ask(caf::event_based_actor* self, const caf::actor& target,
           std::chrono::duration<Rep, Period> timeout,
           OnValue on_value, OnError on_error, Ts&&... question) {
    auto tag = ++next_;
    open_.emplace(tag, [on_value = std::move(on_value),
                        on_error = std::move(on_error)](caf::message& m) mutable {
      auto x = answer_as<T>(m);
      if (x)
        on_value(*x);
      else
        on_error(x.error());
    });
    self->send(target, std::forward<Ts>(question)...,
               reply_to{caf::actor_cast<caf::actor>(self), tag});
    self->delayed_send(self, timeout, silent_atom::value, tag);
  }

  void on_answer(std::uint64_t tag, caf::message& m) { settle(tag, m); }

  void on_silence(std::uint64_t tag) {
    auto m = caf::make_message(caf::make_error(caf::sec::request_timeout));
    settle(tag, m);
  }

  size_t open() const { return open_.size(); }

  /// Drops the open questions (their callbacks are not called) when `self`
  /// ends. `owner` holds this object and is kept until then.
  template <class Owner>
  static void forget_at_exit(caf::event_based_actor* self, std::shared_ptr<Owner> owner,
                             questions Owner::*member) {
    self->attach_functor([owner, member](const caf::error&) { ((*owner).*member).open_.clear(); });
  }

private:
  void settle(std::uint64_t tag, caf::message& m) {
    auto i = open_.find(tag);
    if (i == open_.end())
      return; // settled already
    auto f = std::move(i->second);
    open_.erase(i);
    f(m);
  }

  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, std::function<void(caf::message&)>> open_;
};

} // namespace hearth::actors
