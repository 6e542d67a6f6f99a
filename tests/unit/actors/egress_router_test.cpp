#include "actors/egress_router.hpp"
#include "actors/kafka_egress.hpp"
#include "protocol/codec.hpp"

#include "unit/actors/partition_parts.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;
using hearth::testing::addr;
using hearth::testing::egress_value;

namespace {
protocol::egress_message to_playground(protocol::typed_value v) {
  return {"io.statefun.playground", "egress", std::move(v)};
}
} // namespace

TEST_CASE("good egress records are numbered in order; bad ones become dead letters") {
  hearth::testing::partition_parts parts;
  egress_router router{parts.module, true};
  auto source = addr("cart", "a");
  auto routed = router.route(*parts.store, source,
                             {to_playground(egress_value("out", "one")),
                              to_playground(egress_value("elsewhere", "x")),
                              {"com.example", "kafka", egress_value("out", "x")},
                              to_playground(protocol::make_string("not a record")),
                              to_playground(egress_value("out", "two"))});
  REQUIRE(routed.records.size() == 2);
  CHECK(routed.records[0].payload == "one");
  CHECK(routed.records[1].payload == "two");
  CHECK(routed.records[0].seq < routed.records[1].seq);
  REQUIRE(routed.rejected.size() == 3);
  CHECK(routed.rejected[0].reason == "unknown egress topic 'elsewhere'");
  CHECK(routed.rejected[1].reason == "unknown egress 'com.example/kafka'");
  CHECK(routed.rejected[2].reason.find("the playground egress accepts only") == 0);
  CHECK(routed.rejected[1].target.id.empty()); // the egress, not an address
  CHECK(routed.rejected[1].invocations[0].caller == source);
}

TEST_CASE("without an egress store every egress message is a dead letter") {
  hearth::testing::partition_parts parts;
  egress_router router{parts.module, false};
  auto routed = router.route(*parts.store, addr("cart", "a"), {to_playground(egress_value("out", "x"))});
  CHECK(routed.records.empty());
  CHECK(routed.rejected.size() == 1);
  // Nothing to append to, whatever the module asks for.
  parts.module.egress->at_least_once = true;
  auto again = egress_router{parts.module, false}.route(*parts.store, addr("cart", "a"),
                                                       {to_playground(egress_value("out", "x"))});
  CHECK(again.now.empty());
  CHECK(again.rejected.size() == 1);
}

TEST_CASE("exactly-once records are held until the checkpoint that contains them completes") {
  hearth::testing::partition_parts parts;
  egress_router router{parts.module, true};
  auto routed = router.route(*parts.store, addr("cart", "a"), {to_playground(egress_value("out", "x"))});
  CHECK(routed.records.size() == 1);
  CHECK(routed.now.empty());
  router.hold({{1, "out", "a"}}, 4);
  router.hold({{2, "out", "b"}, {3, "out", "c"}}, 5);
  CHECK(router.held().size() == 3);
  router.completed(3); // older than both
  CHECK(router.held_count() == 3);
  router.completed(4);
  auto left = router.held();
  REQUIRE(left.size() == 2);
  CHECK(left[0].payload == "b");
  router.completed(5);
  CHECK(router.held_count() == 0);
}

TEST_CASE("at-least-once delivery is the module's choice") {
  hearth::testing::partition_parts parts;
  parts.module.egress->at_least_once = true;
  auto routed = egress_router{parts.module, true}.route(*parts.store, addr("cart", "a"),
                                                        {to_playground(egress_value("out", "x"))});
  CHECK(routed.records.empty());
  REQUIRE(routed.now.size() == 1);
  CHECK(routed.now[0].payload == "x");
}

TEST_CASE("Kafka egress records go to the egress's queue, held or at once by its delivery semantic") {
  hearth::testing::partition_parts parts;
  io::kafka_egress_spec exactly, least;
  exactly.id = {"com.example", "exactly"};
  exactly.semantic = io::kafka_egress_spec::delivery::exactly_once;
  least.id = {"com.example", "least"};
  least.semantic = io::kafka_egress_spec::delivery::at_least_once;
  parts.module.kafka_egresses = {exactly, least};
  egress_router router{parts.module, true};
  auto rec = protocol::encode_kafka_record({"k1", "v1", "topic-a"});
  auto no_topic = protocol::encode_kafka_record({"k1", "v1", ""});
  auto routed = router.route(*parts.store, addr("cart", "a"),
                             {{"com.example", "exactly", rec},
                              {"com.example", "least", rec},
                              {"com.example", "least", no_topic},
                              {"com.example", "least", egress_value("out", "x")},
                              {"com.example", "other", rec}});
  REQUIRE(routed.records.size() == 1);
  CHECK(routed.records[0].topic == kafka_queue({"com.example", "exactly"}));
  auto back = decode_kafka_entry(routed.records[0].payload);
  REQUIRE(back);
  CHECK(back->key == "k1");
  CHECK(back->value == "v1");
  CHECK(back->topic == "topic-a");
  REQUIRE(routed.now.size() == 1);
  CHECK(routed.now[0].topic == kafka_queue({"com.example", "least"}));
  REQUIRE(routed.rejected.size() == 3);
  CHECK(routed.rejected[0].reason == "the KafkaProducerRecord names no topic");
  CHECK(routed.rejected[1].reason.find("KafkaProducerRecord") != std::string::npos);
  CHECK(routed.rejected[2].reason == "unknown egress 'com.example/other'");
}
