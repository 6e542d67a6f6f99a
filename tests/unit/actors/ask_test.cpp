#include "actors/ask.hpp"
#include "actors/wire.hpp"

#include <caf/io/all.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

using namespace hearth::actors;
using namespace std::chrono_literals;

namespace {

using echo_atom = caf::atom_constant<caf::atom("echo")>;
using later_atom = caf::atom_constant<caf::atom("later")>;
using refuse_atom = caf::atom_constant<caf::atom("refuse")>;
using quiet_atom = caf::atom_constant<caf::atom("quiet")>;
using go_atom = caf::atom_constant<caf::atom("go")>;
using result_atom = caf::atom_constant<caf::atom("result")>;

/// Answers questions the way the runtime's actors do: at once (echo), after
/// a delay (later), with a refusal (refuse), or never (quiet).
caf::behavior answerer(caf::event_based_actor* self, int) {
  return {
    [=](echo_atom, std::string& s, reply_to& r) { answer(r, s + "!"); },
    [=](later_atom, int ms, std::string& s, reply_to& r) {
      self->delayed_send(self, std::chrono::milliseconds{ms}, echo_atom::value, s, r);
    },
    [=](refuse_atom, reply_to& r) {
      answer(r, caf::make_error(caf::sec::runtime_error, "no, thanks"));
    },
    [=](quiet_atom, reply_to&) {},
  };
}

} // namespace

TEST_CASE("ask_all: every answer in the order of the targets, a silent target as a timeout") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = sys.spawn(answerer, 0);
  caf::scoped_actor self{sys};
  SUBCASE("every target answers") {
    auto got = ask_all<std::string>(self, {a, a, a}, 10s, echo_atom::value, std::string{"x"});
    REQUIRE(got.size() == 3);
    for (auto& g : got) {
      REQUIRE(g);
      CHECK(*g == "x!");
    }
  }
  SUBCASE("answers arrive out of order and land at their target's index") {
    auto fast = sys.spawn(answerer, 0);
    auto late = sys.spawn([](caf::event_based_actor* s, int) -> caf::behavior {
      return {[=](echo_atom, std::string& x, reply_to& r) {
        s->delayed_send(s, 100ms, go_atom::value, x, r);
      },
              [=](go_atom, std::string& x, reply_to& r) { answer(r, x + "-late"); }};
    }, 0);
    auto got = ask_all<std::string>(self, {late, fast}, 10s, echo_atom::value, std::string{"y"});
    REQUIRE(got[0]);
    REQUIRE(got[1]);
    CHECK(*got[0] == "y-late");
    CHECK(*got[1] == "y!");
    caf::anon_send_exit(fast, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(late, caf::exit_reason::user_shutdown);
  }
  SUBCASE("a target that never answers is request_timeout after the timeout; the others count") {
    auto quiet = sys.spawn([](caf::event_based_actor*, int) -> caf::behavior {
      return {[](echo_atom, std::string&, reply_to&) {}};
    }, 0);
    auto t0 = std::chrono::steady_clock::now();
    auto got = ask_all<std::string>(self, {a, quiet, a}, 300ms, echo_atom::value, std::string{"z"});
    CHECK(std::chrono::steady_clock::now() - t0 >= 250ms); // CAF may fire a timeout a little early
    REQUIRE(got[0]);
    CHECK(*got[0] == "z!");
    REQUIRE_FALSE(got[1]);
    CHECK(got[1].error() == caf::sec::request_timeout);
    REQUIRE(got[2]);
    caf::anon_send_exit(quiet, caf::exit_reason::user_shutdown);
  }
  SUBCASE("a refusal is the error it carries; an answer of another type is unexpected_response") {
    auto refused = ask_one<std::string>(self, a, 10s, refuse_atom::value);
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == caf::sec::runtime_error);
    CHECK(sys.render(refused.error()).find("no, thanks") != std::string::npos);
    auto wrong = ask_one<int>(self, a, 10s, echo_atom::value, std::string{"w"});
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error() == caf::sec::unexpected_response);
  }
  SUBCASE("a target that ends before it answers is request_receiver_down at once") {
    auto doomed = sys.spawn([](caf::event_based_actor* s, int) -> caf::behavior {
      return {[=](echo_atom, std::string&, reply_to&) { s->quit(); }};
    }, 0);
    auto t0 = std::chrono::steady_clock::now();
    auto got = ask_all<std::string>(self, {a, doomed}, 60s, echo_atom::value, std::string{"d"});
    CHECK(std::chrono::steady_clock::now() - t0 < 30s); // not the timeout
    REQUIRE(got[0]);
    CHECK(*got[0] == "d!");
    REQUIRE_FALSE(got[1]);
    CHECK(got[1].error() == caf::sec::request_receiver_down);
    // One that ended before it was asked, and an empty handle, the same.
    auto gone = ask_one<std::string>(self, doomed, 60s, echo_atom::value, std::string{"e"});
    REQUIRE_FALSE(gone);
    CHECK(gone.error() == caf::sec::request_receiver_down);
    auto none = ask_one<std::string>(self, caf::actor{}, 60s, echo_atom::value, std::string{"f"});
    REQUIRE_FALSE(none);
    CHECK(none.error() == caf::sec::request_receiver_down);
  }
  SUBCASE("an answer sent just before the end counts") {
    auto last = sys.spawn([](caf::event_based_actor* s, int) -> caf::behavior {
      return {[=](echo_atom, std::string& x, reply_to& r) {
        answer(r, x + ".");
        s->quit();
      }};
    }, 0);
    auto got = ask_one<std::string>(self, last, 60s, echo_atom::value, std::string{"g"});
    REQUIRE(got);
    CHECK(*got == "g.");
  }
  SUBCASE("no targets: nothing to wait for") {
    auto t0 = std::chrono::steady_clock::now();
    CHECK(ask_all<std::string>(self, {}, 10s, echo_atom::value, std::string{"n"}).empty());
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  }
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

namespace {

/// An event-based asker: asks `target` (question `q`, `timeout`) on `go` and
/// reports every settlement to `report` as (result_atom, text).
caf::behavior asker(caf::event_based_actor* self, caf::actor target, caf::actor report) {
  auto qs = std::make_shared<questions>();
  return {
    [=](go_atom, caf::message& q, int timeout_ms) {
      auto on_value = [=](std::string& s) { self->send(report, result_atom::value, "value " + s); };
      auto on_error = [=](caf::error& e) {
        self->send(report, result_atom::value, "error " + self->system().render(e));
      };
      if (q.match_elements<echo_atom, std::string>())
        qs->ask<std::string>(self, target, std::chrono::milliseconds{timeout_ms}, on_value, on_error,
                             echo_atom::value, q.get_as<std::string>(1));
      else if (q.match_elements<later_atom, int, std::string>())
        qs->ask<std::string>(self, target, std::chrono::milliseconds{timeout_ms}, on_value, on_error,
                             later_atom::value, q.get_as<int>(1), q.get_as<std::string>(2));
      else
        qs->ask<std::string>(self, target, std::chrono::milliseconds{timeout_ms}, on_value, on_error,
                             quiet_atom::value);
    },
    [=](answer_atom, std::uint64_t tag, caf::message& m) { qs->on_answer(tag, m); },
    [=](silent_atom, std::uint64_t tag) { qs->on_silence(tag); },
    [=](int) { return qs->open(); },
  };
}

/// The next report, or "none" when there is none within `wait`.
std::string next_report(caf::scoped_actor& self, std::chrono::milliseconds wait) {
  std::string out = "none";
  self->receive([&](result_atom, std::string& s) { out = s; },
                caf::after(wait) >> [] {});
  return out;
}

} // namespace

TEST_CASE("questions: each question is settled once, by its answer or by its timeout") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = sys.spawn(answerer, 0);
  caf::scoped_actor self{sys};
  auto who = sys.spawn(asker, a, caf::actor_cast<caf::actor>(self));
  SUBCASE("an answer settles it; its timeout later does nothing") {
    self->send(who, go_atom::value, caf::make_message(echo_atom::value, std::string{"a"}), 200);
    CHECK(next_report(self, 10s) == "value a!");
    CHECK(next_report(self, 400ms) == "none"); // the timeout passed: no second settlement
  }
  SUBCASE("no answer: the timeout settles it; the late answer does nothing") {
    self->send(who, go_atom::value,
               caf::make_message(later_atom::value, 500, std::string{"b"}), 100);
    auto r = next_report(self, 10s);
    CHECK(r.find("error") == 0);
    CHECK(r.find("request_timeout") != std::string::npos);
    CHECK(next_report(self, 800ms) == "none"); // the answer came after: ignored
  }
  SUBCASE("questions are told apart by their tags") {
    self->send(who, go_atom::value, caf::make_message(later_atom::value, 200, std::string{"1"}), 10'000);
    self->send(who, go_atom::value, caf::make_message(echo_atom::value, std::string{"2"}), 10'000);
    CHECK(next_report(self, 10s) == "value 2!");
    CHECK(next_report(self, 10s) == "value 1!");
  }
  // Nothing is left open.
  std::size_t open = 99;
  self->request(who, 10s, 0).receive([&](std::size_t n) { open = n; }, [](caf::error&) {});
  CHECK(open == 0);
  caf::anon_send_exit(who, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("a question crosses nodes over the middleman and its answer comes back to the reply_to") {
  auto config = [] {
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    add_wire_types(cfg);
    return cfg;
  };
  auto cfg_a = config();
  auto cfg_b = config();
  caf::actor_system node_a{cfg_a};
  caf::actor_system node_b{cfg_b};
  auto on_b = node_b.spawn(answerer, 0);
  auto port = node_b.middleman().publish(on_b, 0, "127.0.0.1");
  REQUIRE(port);
  auto remote = node_a.middleman().remote_actor("127.0.0.1", *port);
  REQUIRE(remote);
  CHECK(remote->node() != node_a.node());
  caf::scoped_actor self{node_a};
  auto got = ask_one<std::string>(self, *remote, 30s, echo_atom::value, std::string{"far"});
  REQUIRE(got);
  CHECK(*got == "far!");
  auto quiet = ask_one<std::string>(self, *remote, 200ms, quiet_atom::value);
  REQUIRE_FALSE(quiet);
  CHECK(quiet.error() == caf::sec::request_timeout);
  caf::anon_send_exit(on_b, caf::exit_reason::user_shutdown);
}

TEST_CASE("questions: an actor that ends with a question open frees the state its callbacks hold") {
  struct state {
    questions asked;
  };
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::weak_ptr<state> seen;
  {
    caf::scoped_actor self{sys};
    auto quiet = sys.spawn([](caf::event_based_actor*, int) -> caf::behavior {
      return {[](quiet_atom, reply_to&) {}};
    }, 0);
    auto who = sys.spawn(
      [&seen](caf::event_based_actor* s, caf::actor target) -> caf::behavior {
        auto st = std::make_shared<state>();
        seen = st;
        questions::forget_at_exit(s, st, &state::asked);
        // Open for a minute: the callbacks hold `st`, which holds them.
        st->asked.ask<std::string>(
          s, target, std::chrono::minutes{1}, [st](std::string&) {}, [st](caf::error&) {},
          quiet_atom::value);
        return {[st](answer_atom, std::uint64_t tag, caf::message& m) { st->asked.on_answer(tag, m); },
                [st](silent_atom, std::uint64_t tag) { st->asked.on_silence(tag); },
                [st](int) { return st->asked.open(); }};
      },
      quiet);
    std::size_t open = 0;
    self->request(who, 10s, 0).receive([&](std::size_t n) { open = n; }, [](caf::error&) {});
    CHECK(open == 1);
    CHECK_FALSE(seen.expired());
    self->send_exit(who, caf::exit_reason::user_shutdown);
    self->wait_for(who);
    caf::anon_send_exit(quiet, caf::exit_reason::user_shutdown);
  }
  // The actor's behavior and its attachables are gone once it ended; its
  // delayed silent_atom may still sit in the clock, holding no state.
  for (int i = 0; i < 100 && !seen.expired(); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(seen.expired());
}
