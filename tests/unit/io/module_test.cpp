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
  CHECK(error_of("kind: io.statefun.kafka.v1/ingress\nspec: {id: a/b}\n").find("not supported")
        != std::string::npos);
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
