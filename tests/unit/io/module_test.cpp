#include "io/module.hpp"
#include "io/playground.hpp"
#include "protocol/primitives.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::io;

namespace {
const char* good = R"(kind: io.statefun.endpoints.v2/http
spec:
  functions: com.example/*
  urlPathTemplate: http://127.0.0.1:8000/{function.name}
  maxNumBatchRequests: 50
  transport:
    type: io.statefun.transports.v1/async
    call: 30s
    connect: 2 sec
---
kind: io.statefun.endpoints.v2/http
spec:
  functions: com.example/special
  urlPathTemplate: http://127.0.0.1:9000/special
---
kind: io.statefun.playground.v1/ingress
spec:
  port: 8090
---
kind: io.statefun.playground.v1/egress
spec:
  port: 8091
  topics: [out, more]
)";

std::string error_of(const std::string& yaml) {
  auto r = parse_module(yaml, "m.yaml");
  REQUIRE(!r);
  return r.err().message;
}
} // namespace

TEST_CASE("a StateFun module loads with endpoints, ingress and egress") {
  auto m = parse_module(good, "m.yaml");
  REQUIRE(m);
  REQUIRE(m->endpoints.size() == 2);
  auto& ep = m->endpoints[0];
  CHECK(ep.wildcard());
  CHECK(ep.max_batch == 50);
  CHECK(ep.transport.call == std::chrono::seconds{30});
  CHECK(ep.transport.connect == std::chrono::seconds{2});
  CHECK(m->find_endpoint({"com.example", "special"}) == &m->endpoints[1]);
  CHECK(m->find_endpoint({"com.example", "cart"}) == &ep);
  CHECK(m->find_endpoint({"com.other", "cart"}) == nullptr);
  CHECK(ep.url_for({"com.example", "cart"}) == "http://127.0.0.1:8000/cart");
  CHECK(m->ingress->port == 8090);
  CHECK(m->egress->topics.size() == 2);
}

TEST_CASE("defaults follow StateFun's async transport") {
  auto m = parse_module("kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/b\n"
                        "  urlPathTemplate: http://h/\n",
                        "m.yaml");
  REQUIRE(m);
  CHECK(m->endpoints[0].max_batch == 1000);
  CHECK(m->endpoints[0].transport.call == std::chrono::minutes{2});
  CHECK(m->endpoints[0].transport.payload_max_bytes == 32u << 20);
}

TEST_CASE("malformed modules name the file, the line and the field") {
  CHECK(error_of("kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/*\n")
        == "m.yaml:3: field 'spec.urlPathTemplate': is missing");
  CHECK(error_of("kind: io.statefun.bogus/thing\nspec: {}\n").find("m.yaml:1: field 'kind'")
        == 0);
  CHECK(error_of("kind: io.statefun.kafka.v1/ingress\nspec: {id: a/b}\n")
        == "m.yaml:2: field 'spec.topics': is missing");
  CHECK(error_of("kind: io.statefun.kafka/ingress\nspec: {}\n").find("io.statefun.kafka.v1/ingress")
        != std::string::npos); // the unknown-kind message lists the supported kinds
  CHECK(error_of("kind: [unclosed\n").find("m.yaml:") == 0);
  CHECK(error_of(std::string{good} + "---\nkind: io.statefun.endpoints.v2/http\nspec:\n"
                                     "  functions: com.example/*\n  urlPathTemplate: http://x/\n")
          .find("already served")
        != std::string::npos);
  CHECK(error_of("kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a*/b\n"
                 "  urlPathTemplate: http://h/\n")
          .find("spec.functions")
        != std::string::npos);
  CHECK(error_of("kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/b\n"
                 "  urlPathTemplate: http://h/\n  transport:\n    call: 0s\n")
          .find("m.yaml:6: field 'spec.transport.call'")
        == 0);
  CHECK(error_of("kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/b\n"
                 "  urlPathTemplate: http://h/\n  maxNumBatchRequests: lots\n")
          .find("spec.maxNumBatchRequests")
        != std::string::npos);
  CHECK(error_of("kind: io.statefun.playground.v1/egress\nspec:\n  topics: []\n")
          .find("spec.topics")
        != std::string::npos);
  CHECK(error_of("version: \"3.0\"\nmodule: {}\n").find("legacy") != std::string::npos);
}

TEST_CASE("durations parse like Flink's TimeUtils") {
  CHECK(*parse_duration("2m") == std::chrono::minutes{2});
  CHECK(*parse_duration("1 min") == std::chrono::minutes{1});
  CHECK(*parse_duration("10 sec") == std::chrono::seconds{10});
  CHECK(*parse_duration("1minute") == std::chrono::minutes{1});
  CHECK(*parse_duration("250") == std::chrono::milliseconds{250});
  CHECK(!parse_duration("0s"));
  CHECK(!parse_duration("fast"));
  CHECK(!parse_duration("5 fortnights"));
}

TEST_CASE("playground ingress paths and content types") {
  auto a = parse_ingress_path("/com.example/cart/alice");
  REQUIRE(a);
  CHECK(a->to_string() == "com.example/cart/alice");
  CHECK(!parse_ingress_path("/com.example/cart"));
  CHECK(!parse_ingress_path("/a/b/c/d"));
  CHECK(!parse_ingress_path("/a//c"));
  CHECK(*ingress_value("", "hi") == protocol::make_string("hi"));
  CHECK(*ingress_value("text/plain; charset=utf-8", "hi") == protocol::make_string("hi"));
  auto typed = ingress_value("application/vnd.com.example/AddToCart", "\x01raw");
  REQUIRE(typed);
  CHECK(*typed == protocol::typed_value{"com.example/AddToCart", true, "\x01raw"});
  CHECK(!ingress_value("application/vnd.noslash", "x"));
}

TEST_CASE("egress records are decoded from their JSON") {
  auto rec = decode_egress_record({playground_record_type, true, R"({"topic":"out","payload":"hi"})"});
  REQUIRE(rec);
  CHECK(rec->topic == "out");
  CHECK(rec->payload == "hi");
  auto obj = decode_egress_record({playground_record_type, true, R"({"topic":"out","payload":{"a":1}})"});
  REQUIRE(obj);
  CHECK(obj->payload == R"({"a":1})");
  CHECK(!decode_egress_record({"other/type", true, "{}"}));
  CHECK(!decode_egress_record({playground_record_type, true, "not json"}));
}

TEST_CASE("the egress delivery semantic is exactly-once unless the module says otherwise") {
  auto m = parse_module(std::string{good} + "  deliverySemantic: at-least-once\n", "m.yaml");
  REQUIRE(m);
  CHECK(m->egress->at_least_once);
  CHECK(!parse_module(good, "m.yaml")->egress->at_least_once);
  auto bad = parse_module(std::string{good} + "  deliverySemantic: sometimes\n", "m.yaml");
  REQUIRE(!bad);
  CHECK(bad.err().message.find("spec.deliverySemantic") != std::string::npos);
}

TEST_CASE("ingress paths and typenames must be valid UTF-8") {
  CHECK(parse_ingress_path("/ns/type/caf\xc3\xa9"));
  CHECK(parse_ingress_path("/ns/type/\xe2\x82\xac\xf0\x9f\x98\x80"));
  CHECK(!parse_ingress_path("/ns/type/\xff"));
  CHECK(!parse_ingress_path("/ns/type/\xc3"));
  CHECK(!parse_ingress_path("/ns/type/\xe2\x82"));
  CHECK(!ingress_value("application/vnd.a/\xc3(", "x"));
}

#include "io/endpoint_url.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace {
std::string endpoint_with(const std::string& url, const std::string& transport_lines) {
  return "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/b\n  urlPathTemplate: " + url
         + "\n  transport:\n" + transport_lines;
}
} // namespace

TEST_CASE("TLS options: readable files, cert with key, a password file, no classpath") {
  auto dir = std::filesystem::temp_directory_path() / "hearth-module-tls-test";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream{dir / name} << text;
    return (dir / name).string();
  };
  auto ca = write("ca.pem", "x"), cert = write("c.pem", "x"), key = write("k.pem", "x");
  auto pw = write("pw", "secret\n"), empty_pw = write("empty", "");
  auto m = parse_module(endpoint_with("https://h/{function.name}",
                                      "    trust_cacerts: " + ca + "\n    client_cert: file://" + cert
                                        + "\n    client_key: file:" + key
                                        + "\n    client_key_password: " + pw + "\n"),
                        "m.yaml");
  REQUIRE(m);
  auto& tls = m->endpoints[0].transport.tls;
  REQUIRE(tls);
  CHECK(tls->trust_cacerts == ca);
  CHECK(tls->client_cert == cert);
  CHECK(tls->client_key == key);
  CHECK(tls->client_key_password == "secret");
  CHECK(!parse_module(endpoint_with("https://h/", "    call: 1s\n"), "m.yaml")->endpoints[0].transport.tls);

  CHECK(error_of(endpoint_with("https://h/", "    trust_cacerts: classpath:ca.pem\n"))
        == "m.yaml:6: field 'spec.transport.trust_cacerts': 'classpath:' resources exist only in "
           "a JVM; give the path of a file");
  CHECK(error_of(endpoint_with("https://h/", "    trust_cacerts: /no/such/ca.pem\n"))
        == "m.yaml:6: field 'spec.transport.trust_cacerts': cannot read '/no/such/ca.pem'");
  CHECK(error_of(endpoint_with("https://h/", "    client_cert: " + cert + "\n"))
          .find("client_cert and client_key must be given together")
        != std::string::npos);
  CHECK(error_of(endpoint_with("https://h/", "    client_cert: " + cert + "\n    client_key: " + key
                                               + "\n    client_key_password: " + empty_pw + "\n"))
          .find("holds no password")
        != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("endpoint URLs: http, https, and UNIX sockets named by their first '.sock' segment") {
  CHECK(parse_endpoint_url("http://h:1/x")->url == "http://h:1/x");
  CHECK(parse_endpoint_url("HTTPS://h/x")->unix_socket.empty());
  auto u = parse_endpoint_url("http+unix:///run/fns.sock/counter");
  REQUIRE(u);
  CHECK(u->unix_socket == "/run/fns.sock");
  CHECK(u->url == "http://localhost/counter");
  auto s = parse_endpoint_url("https+unix:///a.sockets/b.sock");
  REQUIRE(s);
  CHECK(s->unix_socket == "/a.sockets/b.sock");
  CHECK(s->url == "https://localhost/");
  CHECK(!parse_endpoint_url("http+unix:///run/fns/counter"));
  CHECK(!parse_endpoint_url("http+unix://fns.sock/x"));
  CHECK(!parse_endpoint_url("ftp://h/"));
  CHECK(error_of("kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/b\n"
                 "  urlPathTemplate: http+unix:///no/socket/here\n")
          .find("m.yaml:4: field 'spec.urlPathTemplate': a http+unix URL needs")
        == 0);
}

// ---------------------------------------------------------------------------
// Kafka and Kinesis connectors.

namespace {
// The playground's javascript/showcase/module.yaml (without its license header).
const char* showcase = R"(kind: io.statefun.endpoints.v2/http
spec:
  functions: showcase/*
  urlPathTemplate: http://host-machine:8000/statefun
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: showcase/names
  address: kafka:9092
  consumerGroupId: my-group-id
  topics:
    - topic: names
      valueType: showcase/GreetRequest
      targets:
        - showcase/serving
---
kind: io.statefun.kafka.v1/egress
spec:
  id: showcase/greets
  address: kafka:9092
  deliverySemantic:
    type: exactly-once
    transactionTimeoutMillis: 100000
)";

// Lines 1-5: an endpoint; the connector document starts at line 6, its spec
// entries at line 8.
const std::string endpoint_doc = "kind: io.statefun.endpoints.v2/http\nspec:\n"
                                 "  functions: com.example/*\n"
                                 "  urlPathTemplate: http://h/{function.name}\n---\n";

std::string document(const std::string& kind, const std::string& spec_lines) {
  return endpoint_doc + "kind: " + kind + "\nspec:\n" + spec_lines;
}

// Spec lines 8-13 of a minimal Kafka ingress.
const std::string kafka_in = "  id: com.example/in\n"
                             "  address: k:9092\n"
                             "  topics:\n"
                             "    - topic: t1\n"
                             "      valueType: com.example/V\n"
                             "      targets: [com.example/f]\n";
// Spec lines 8-9 of a minimal Kafka egress.
const std::string kafka_out = "  id: com.example/out\n  address: k:9092\n";

kafka_ingress_spec ingress_of(const std::string& spec_lines) {
  auto m = parse_module(document("io.statefun.kafka.v1/ingress", spec_lines), "m.yaml");
  if (!m)
    FAIL(m.err().message);
  REQUIRE(m->kafka_ingresses.size() == 1);
  return m->kafka_ingresses[0];
}

kafka_egress_spec egress_of(const std::string& spec_lines) {
  auto m = parse_module(document("io.statefun.kafka.v1/egress", spec_lines), "m.yaml");
  if (!m)
    FAIL(m.err().message);
  REQUIRE(m->kafka_egresses.size() == 1);
  return m->kafka_egresses[0];
}

bool has(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos)
    return true;
  MESSAGE("'" << text << "' does not contain '" << part << "'");
  return false;
}
} // namespace

TEST_CASE("the playground showcase module loads with its Kafka ingress and egress") {
  auto m = parse_module(showcase, "module.yaml");
  REQUIRE(m);
  REQUIRE(m->kafka_ingresses.size() == 1);
  auto& in = m->kafka_ingresses[0];
  CHECK(in.id == protocol::function_type{"showcase", "names"});
  CHECK(in.address == "kafka:9092");
  CHECK(in.group_id == "my-group-id");
  REQUIRE(in.topics.size() == 1);
  CHECK(in.topics[0].name == "names");
  CHECK(in.topics[0].value_type == "showcase/GreetRequest");
  CHECK(in.topics[0].targets == std::vector<protocol::function_type>{{"showcase", "serving"}});
  CHECK(!in.reset_earliest);
  CHECK(in.startup.type == kafka_startup::kind::latest);
  CHECK(in.properties.empty());
  CHECK(in.origin == "module.yaml:6");
  REQUIRE(m->kafka_egresses.size() == 1);
  auto& out = m->kafka_egresses[0];
  CHECK(out.id == protocol::function_type{"showcase", "greets"});
  CHECK(out.address == "kafka:9092");
  CHECK(out.semantic == kafka_egress_spec::delivery::exactly_once);
  CHECK(out.transaction_timeout == std::chrono::milliseconds{100000});
  CHECK(out.origin == "module.yaml:17");
  CHECK(m->find_kafka_egress({"showcase", "greets"}) == &out);
  CHECK(m->find_kafka_egress({"showcase", "names"}) == nullptr);
}

TEST_CASE("a Kafka ingress with two topics, fan-out and properties") {
  auto in = ingress_of("  id: com.example/in\n"
                       "  address: k:9092\n"
                       "  autoOffsetResetPosition: EARLIEST\n"
                       "  topics:\n"
                       "    - topic: t1\n"
                       "      valueType: com.example/A\n"
                       "      targets: [com.example/f, com.example/g]\n"
                       "    - topic: t2\n"
                       "      valueType: io.statefun.types/string\n"
                       "      targets:\n"
                       "        - com.example/g\n"
                       "  properties:\n"
                       "    - fetch.min.bytes: 2\n"          // line 20
                       "    - isolation.level: read_committed\n");
  CHECK(in.reset_earliest);
  CHECK(in.group_id.empty());
  REQUIRE(in.topics.size() == 2);
  CHECK(in.topics[0].targets.size() == 2);
  CHECK(in.topics[0].targets[1] == protocol::function_type{"com.example", "g"});
  CHECK(in.topics[1].name == "t2");
  CHECK(in.topics[1].value_type == "io.statefun.types/string");
  REQUIRE(in.properties.size() == 2);
  CHECK(in.properties[0].key == "fetch.min.bytes");
  CHECK(in.properties[0].value == "2");
  CHECK(in.properties[0].origin == "m.yaml:20");
  CHECK(in.properties[1].key == "isolation.level");
  CHECK(in.properties[1].origin == "m.yaml:21");

  // A plain map is accepted too; bootstrap.servers may stand for the address.
  auto plain = ingress_of("  id: com.example/in\n  topics:\n    - topic: t1\n"
                          "      valueType: com.example/V\n      targets: [com.example/f]\n"
                          "  properties: {bootstrap.servers: 'b1:9092,b2:9092', fetch.min.bytes: 3}\n");
  CHECK(plain.address == "b1:9092,b2:9092");
  REQUIRE(plain.properties.size() == 2);
  CHECK(plain.properties[1].key == "fetch.min.bytes");
  CHECK(plain.properties[1].value == "3");
  CHECK(ingress_of(kafka_in + "  autoOffsetResetPosition: latest\n").reset_earliest == false);
}

TEST_CASE("each Kafka startup position") {
  using kind = kafka_startup::kind;
  auto with = [](const std::string& lines) {
    return ingress_of(kafka_in + "  consumerGroupId: g\n" + lines).startup;
  };
  CHECK(with("").type == kind::latest);
  CHECK(with("  startupPosition: {type: group-offsets}\n").type == kind::group_offsets);
  CHECK(with("  startupPosition: {type: earliest}\n").type == kind::earliest);
  CHECK(with("  startupPosition:\n    type: latest\n").type == kind::latest);

  auto specific = with("  startupPosition:\n    type: specific-offsets\n    offsets:\n"
                       "      - \"t1/0\": 91\n      - t1/007: 5\n");
  CHECK(specific.type == kind::specific_offsets);
  CHECK(specific.offsets == std::map<std::string, std::int64_t>{{"t1/0", 91}, {"t1/7", 5}});

  auto date = with("  startupPosition:\n    type: date\n    date: 2020-02-01 04:15:00.000 Z\n");
  CHECK(date.type == kind::date);
  CHECK(date.date_ms == 1580530500000);
  CHECK(with("  startupPosition: {type: date, date: '2021-03-04 05:06:07.890 +0200'}\n").date_ms
        == 1614827167890);
  CHECK(with("  startupPosition: {type: date, date: '2021-03-04 05:06:07.890 -05:00'}\n").date_ms
        == 1614852367890);
}

TEST_CASE("each Kafka delivery semantic") {
  using delivery = kafka_egress_spec::delivery;
  auto dflt = egress_of(kafka_out);
  CHECK(dflt.semantic == delivery::at_least_once);
  CHECK(dflt.transaction_timeout == std::chrono::minutes{15});
  CHECK(egress_of(kafka_out + "  deliverySemantic: {type: none}\n").semantic == delivery::none);
  CHECK(egress_of(kafka_out + "  deliverySemantic: none\n").semantic == delivery::none);
  CHECK(egress_of(kafka_out + "  deliverySemantic:\n    type: at-least-once\n").semantic
        == delivery::at_least_once);
  auto eo = egress_of(kafka_out + "  deliverySemantic:\n    type: exactly-once\n"
                                  "    transactionTimeout: 5min\n");
  CHECK(eo.semantic == delivery::exactly_once);
  CHECK(eo.transaction_timeout == std::chrono::minutes{5});
  auto both = egress_of(kafka_out + "  deliverySemantic:\n    type: exactly-once\n"
                                    "    transactionTimeout: 5min\n"
                                    "    transactionTimeoutMillis: 60000\n");
  CHECK(both.transaction_timeout == std::chrono::minutes{1}); // the millis win, as in StateFun
  auto props = egress_of(kafka_out + "  properties:\n    - linger.ms: 5\n    - acks: all\n");
  REQUIRE(props.properties.size() == 2);
  CHECK(props.properties[0].origin == "m.yaml:11");

  CHECK(has(error_of(document("io.statefun.kafka.v1/egress",
                              kafka_out + "  deliverySemantic: {type: twice}\n")),
            "m.yaml:10: field 'spec.deliverySemantic.type': unknown delivery semantic 'twice'"));
  CHECK(has(error_of(document("io.statefun.kafka.v1/egress",
                              kafka_out + "  deliverySemantic:\n    type: exactly-once\n"
                                          "    transactionTimeoutMillis: 10\n")),
            "m.yaml:12: field 'spec.deliverySemantic.transactionTimeoutMillis'"));
}

TEST_CASE("the Kinesis examples of StateFun's tests load with all their fields") {
  auto m = parse_module(endpoint_doc + R"(kind: io.statefun.kinesis.v1/ingress
spec:
  id: com.foo.bar/test-ingress
  awsRegion: {type: specific, id: us-west-2}
  awsCredentials: {type: basic, accessKeyId: my-key-id, secretAccessKey: my-secret}
  startupPosition: {type: earliest}
  streams:
    - stream: stream-1
      valueType: com.example/MessageA
      targets: [com.mycomp.foo/function-1]
    - stream: stream-2
      valueType: com.example/MessageB
      targets:
        - com.mycomp.foo/function-1
        - com.mycomp.foo/function-2
  clientConfigProperties:
    - SocketTimeout: 9999
    - MaxConnections: 15
---
kind: io.statefun.kinesis.v1/egress
spec:
  id: com.foo.bar/test-egress
  awsRegion: {type: custom-endpoint, endpoint: "https://localhost:4567", id: us-west-1}
  awsCredentials: {type: profile, profileName: john-doe, profilePath: /path/to/profile/config}
  maxOutstandingRecords: 9999
  clientConfigProperties:
    - ThreadingModel: POOLED
)",
                        "m.yaml");
  REQUIRE(m);
  REQUIRE(m->kinesis_ingresses.size() == 1);
  auto& in = m->kinesis_ingresses[0];
  CHECK(in.id == protocol::function_type{"com.foo.bar", "test-ingress"});
  CHECK(in.region.type == aws_region::kind::specific);
  CHECK(in.region.id == "us-west-2");
  CHECK(in.credentials.type == aws_credentials::kind::basic);
  CHECK(in.credentials.access_key_id == "my-key-id");
  CHECK(in.credentials.secret_access_key == "my-secret");
  CHECK(in.startup == kinesis_ingress_spec::start::earliest);
  REQUIRE(in.streams.size() == 2);
  CHECK(in.streams[0].name == "stream-1");
  CHECK(in.streams[0].value_type == "com.example/MessageA");
  CHECK(in.streams[1].targets.size() == 2);
  REQUIRE(in.client_properties.size() == 2);
  CHECK(in.client_properties[0].key == "SocketTimeout");
  CHECK(in.client_properties[0].value == "9999");
  CHECK(in.client_properties[0].origin == "m.yaml:22");
  CHECK(in.origin == "m.yaml:6");
  REQUIRE(m->kinesis_egresses.size() == 1);
  auto& out = m->kinesis_egresses[0];
  CHECK(out.id == protocol::function_type{"com.foo.bar", "test-egress"});
  CHECK(out.region.type == aws_region::kind::custom_endpoint);
  CHECK(out.region.endpoint == "https://localhost:4567");
  CHECK(out.region.id == "us-west-1");
  CHECK(out.credentials.type == aws_credentials::kind::profile);
  CHECK(out.credentials.profile_name == "john-doe");
  CHECK(out.credentials.profile_path == "/path/to/profile/config");
  CHECK(out.max_outstanding == 9999);
  REQUIRE(out.client_properties.size() == 1);
  CHECK(out.client_properties[0].value == "POOLED");

  // Defaults: the AWS default chains, latest, 1000 outstanding records.
  auto d = parse_module(document("io.statefun.kinesis.v1/ingress",
                                 "  id: a/in\n  streams:\n    - stream: s\n      valueType: a/V\n"
                                 "      targets: [a/f]\n")
                          + "---\nkind: io.statefun.kinesis.v1/egress\nspec:\n  id: a/out\n",
                        "m.yaml");
  REQUIRE(d);
  CHECK(d->kinesis_ingresses[0].region.type == aws_region::kind::default_chain);
  CHECK(d->kinesis_ingresses[0].credentials.type == aws_credentials::kind::default_chain);
  CHECK(d->kinesis_ingresses[0].startup == kinesis_ingress_spec::start::latest);
  CHECK(d->kinesis_egresses[0].max_outstanding == 1000);
  auto date = parse_module(document("io.statefun.kinesis.v1/ingress",
                                    "  id: a/in\n  streams:\n    - stream: s\n      valueType: a/V\n"
                                    "      targets: [a/f]\n"
                                    "  startupPosition: {type: date, date: '2020-02-01 04:15:00.000 Z'}\n"),
                           "m.yaml");
  REQUIRE(date);
  CHECK(date->kinesis_ingresses[0].startup == kinesis_ingress_spec::start::date);
  CHECK(date->kinesis_ingresses[0].date_ms == 1580530500000);
}

TEST_CASE("bad connector documents name the file, the line and the field") {
  auto kafka = [](const std::string& lines) {
    return error_of(document("io.statefun.kafka.v1/ingress", lines));
  };
  // Missing id (the spec map starts at line 8).
  CHECK(kafka("  address: k:9092\n  topics: []\n") == "m.yaml:8: field 'spec.id': is missing");
  // A bad target.
  CHECK(has(kafka("  id: com.example/in\n  address: k:9092\n  topics:\n    - topic: t1\n"
                  "      valueType: com.example/V\n      targets: [com.example/f, nonamespace]\n"),
            "m.yaml:13: field 'spec.topics[0].targets[1]': must be '<namespace>/<name>', got "
            "'nonamespace'"));
  CHECK(has(kafka("  id: com.example/in\n  address: k:9092\n  topics:\n    - topic: t1\n"
                  "      valueType: /V\n      targets: [com.example/f]\n"),
            "m.yaml:12: field 'spec.topics[0].valueType'"));
  // Empty topics.
  CHECK(has(kafka("  id: com.example/in\n  address: k:9092\n  topics: []\n"),
            "m.yaml:10: field 'spec.topics': must be a non-empty list"));
  CHECK(has(kafka("  id: com.example/in\n  address: k:9092\n  topics:\n    - topic: t1\n"
                  "      valueType: com.example/V\n      targets: []\n"),
            "m.yaml:13: field 'spec.topics[0].targets': must be a non-empty list"));
  // Properties librdkafka does not know (Java client settings, typos).
  auto unknown = kafka(kafka_in + "  properties:\n    - key.deserializer: org.apache.Foo\n");
  CHECK(has(unknown, "m.yaml:15: field 'spec.properties[0]': librdkafka refuses 'key.deserializer'"));
  CHECK(has(unknown, "No such configuration property"));
  CHECK(has(kafka(kafka_in + "  properties:\n    - fetch.min.bytes: many\n"),
            "m.yaml:15: field 'spec.properties[0]': librdkafka refuses 'fetch.min.bytes': Invalid"));
  // Properties Hearth manages itself, with the reason and what to use instead.
  auto managed = kafka(kafka_in + "  properties:\n    - fetch.min.bytes: 2\n"
                                  "    - enable.auto.commit: true\n");
  CHECK(has(managed, "m.yaml:16: field 'spec.properties[1]': 'enable.auto.commit' cannot be set "
                     "here: Hearth keeps the offsets in its checkpoints"));
  CHECK(has(kafka(kafka_in + "  properties:\n    - group.id: g\n"), "use spec.consumerGroupId"));
  CHECK(has(kafka(kafka_in + "  properties:\n    - auto.offset.reset: earliest\n"),
            "use spec.autoOffsetResetPosition"));
  CHECK(has(kafka(kafka_in + "  properties:\n    - bootstrap.servers: other:9092\n"),
            "spec.address already gives the brokers"));
  CHECK(has(kafka(kafka_in + "  properties:\n    - linger.ms: 5\n"),
            "'linger.ms' is a producer setting; a Kafka ingress would ignore it"));
  CHECK(has(kafka(kafka_in + "  properties:\n    - foo\n"),
            "m.yaml:15: field 'spec.properties[0]': must be a single 'key: value' entry"));
  auto egress = [](const std::string& lines) {
    return error_of(document("io.statefun.kafka.v1/egress", lines));
  };
  CHECK(has(egress(kafka_out + "  properties:\n    - transactional.id: x\n"),
            "m.yaml:11: field 'spec.properties[0]': 'transactional.id' cannot be set here"));
  CHECK(has(egress(kafka_out + "  properties:\n    - transaction.timeout.ms: 60000\n"),
            "use spec.deliverySemantic.transactionTimeout"));
  CHECK(has(egress(kafka_out + "  properties:\n    - enable.idempotence: false\n"),
            "always idempotent"));
  CHECK(has(egress(kafka_out + "  properties:\n    - acks: 1\n"), "needs acks=all"));
  CHECK(has(egress(kafka_out + "  properties:\n    - fetch.min.bytes: 2\n"),
            "'fetch.min.bytes' is a consumer setting; a Kafka egress would ignore it"));
  // No brokers at all.
  CHECK(egress("  id: com.example/out\n")
        == "m.yaml:8: field 'spec.address': is missing (give the brokers here or as "
           "bootstrap.servers in spec.properties)");
  // Bad dates, offsets and startup positions.
  CHECK(has(kafka(kafka_in + "  startupPosition: {type: date, date: '2020-02-30 04:15:00.000 Z'}\n"),
            "m.yaml:14: field 'spec.startupPosition.date': '2020-02-30 04:15:00.000 Z' is not a "
            "date in the pattern 'yyyy-MM-dd HH:mm:ss.SSS Z'"));
  CHECK(has(kafka(kafka_in + "  startupPosition: {type: date, date: '2020-02-01T04:15:00Z'}\n"),
            "field 'spec.startupPosition.date'"));
  CHECK(has(kafka(kafka_in + "  startupPosition: {type: date}\n"),
            "m.yaml:14: field 'spec.startupPosition.date': is missing"));
  CHECK(has(kafka(kafka_in + "  startupPosition: {type: group-offsets}\n"),
            "'group-offsets' needs spec.consumerGroupId"));
  CHECK(has(kafka(kafka_in + "  startupPosition: {type: sometime}\n"),
            "m.yaml:14: field 'spec.startupPosition.type': unknown startup position 'sometime'"));
  CHECK(has(kafka(kafka_in + "  startupPosition:\n    type: specific-offsets\n    offsets:\n"
                             "      - t1/x: 3\n"),
            "m.yaml:17: field 'spec.startupPosition.offsets[0]'"));
  CHECK(has(kafka(kafka_in + "  startupPosition:\n    type: specific-offsets\n    offsets:\n"
                             "      - other/0: 3\n"),
            "not one of this ingress's spec.topics"));
  CHECK(has(kafka(kafka_in + "  startupPosition:\n    type: specific-offsets\n    offsets:\n"
                             "      - t1/0: -3\n"),
            "m.yaml:17: field 'spec.startupPosition.offsets[0]': must be a non-negative integer"));
  CHECK(has(kafka(kafka_in + "  autoOffsetResetPosition: middle\n"),
            "m.yaml:14: field 'spec.autoOffsetResetPosition': must be 'earliest' or 'latest'"));

  // Kinesis.
  auto kinesis = [](const std::string& lines) {
    return error_of(document("io.statefun.kinesis.v1/egress", "  id: a/out\n" + lines));
  };
  CHECK(has(kinesis("  awsRegion: {type: mars}\n"),
            "m.yaml:9: field 'spec.awsRegion.type': unknown AWS region type 'mars' (supported: "
            "default, specific, custom-endpoint)"));
  CHECK(has(kinesis("  awsRegion:\n    type: specific\n"),
            "m.yaml:10: field 'spec.awsRegion.id': is missing"));
  CHECK(has(kinesis("  awsRegion: {type: custom-endpoint, id: x, endpoint: 'localhost:4567'}\n"),
            "field 'spec.awsRegion.endpoint': must start with http:// or https://"));
  CHECK(has(kinesis("  awsCredentials: {type: basic, accessKeyId: k}\n"),
            "m.yaml:9: field 'spec.awsCredentials.secretAccessKey': is missing"));
  CHECK(has(kinesis("  awsCredentials: {type: profile}\n"),
            "field 'spec.awsCredentials.profileName': is missing"));
  CHECK(has(kinesis("  awsCredentials: {type: magic}\n"), "unknown AWS credentials type 'magic'"));
  CHECK(has(kinesis("  maxOutstandingRecords: 0\n"),
            "m.yaml:9: field 'spec.maxOutstandingRecords': must be at least 1"));
  CHECK(has(error_of(document("io.statefun.kinesis.v1/ingress", "  id: a/in\n  streams: []\n")),
            "m.yaml:9: field 'spec.streams': must be a non-empty list"));
}

TEST_CASE("connector ids are unique per direction") {
  auto twice = [](const std::string& kind1, const std::string& spec1, const std::string& kind2,
                  const std::string& spec2) {
    return error_of(document(kind1, spec1) + "---\nkind: " + kind2 + "\nspec:\n" + spec2);
  };
  auto kinesis_in = std::string{"  id: com.example/in\n  streams:\n    - stream: s\n"
                                "      valueType: a/V\n      targets: [a/f]\n"};
  // Kafka then Kafka; the second document's id is on line 17.
  CHECK(has(twice("io.statefun.kafka.v1/ingress", kafka_in, "io.statefun.kafka.v1/ingress", kafka_in),
            "m.yaml:17: field 'spec.id': 'com.example/in' is already the id of the ingress at "
            "m.yaml:6"));
  CHECK(has(twice("io.statefun.kafka.v1/ingress", kafka_in, "io.statefun.kinesis.v1/ingress",
                  kinesis_in),
            "m.yaml:17: field 'spec.id': 'com.example/in' is already the id of the ingress"));
  CHECK(has(twice("io.statefun.kafka.v1/egress", kafka_out, "io.statefun.kinesis.v1/egress",
                  "  id: com.example/out\n"),
            "m.yaml:13: field 'spec.id': 'com.example/out' is already the id of the egress at "
            "m.yaml:6"));
  CHECK(has(error_of(document("io.statefun.kafka.v1/egress",
                              "  id: io.statefun.playground/egress\n  address: k:9092\n")),
            "m.yaml:8: field 'spec.id': 'io.statefun.playground/egress' is the playground egress's "
            "id"));
  // An ingress and an egress may share an id, as in StateFun.
  auto m = parse_module(document("io.statefun.kafka.v1/ingress", kafka_in)
                          + "---\nkind: io.statefun.kafka.v1/egress\nspec:\n  id: com.example/in\n"
                            "  address: k:9092\n",
                        "m.yaml");
  CHECK(m);
}
