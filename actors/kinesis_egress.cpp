#include "actors/kinesis_egress.hpp"

#include "io/aws_credentials.hpp"
#include "io/kinesis_client.hpp"

#include <algorithm>
#include <iostream>
#include <map>

namespace hearth::actors {

using namespace std::chrono_literals;

namespace {
constexpr size_t max_request_bytes = 4u << 20; // PutRecords takes 5 MiB
} // namespace

std::string kinesis_queue(const protocol::function_type& id) { return "kinesis:" + id.to_string(); }

kinesis_egress::kinesis_egress(kinesis_egress_config cfg) : cfg_(std::move(cfg)) {
  auto per_request = std::min<size_t>(500, std::max<std::uint32_t>(1, cfg_.spec.max_outstanding));
  egress_sink sink{[this](const egress_batch& b, egress_pump& pump) { return deliver(b, pump); },
                   nullptr};
  pump_ = std::make_unique<egress_pump>("Kinesis egress " + cfg_.spec.id.to_string(), cfg_.store,
                                        kinesis_queue(cfg_.spec.id), per_request, std::move(sink));
}

kinesis_egress::~kinesis_egress() { pump_.reset(); }

status kinesis_egress::deliver(const egress_batch& batch, egress_pump& pump) {
  auto id = cfg_.spec.id.to_string();
  if (!client_) {
    auto creds = io::aws::resolve_credentials(cfg_.spec.credentials);
    if (!creds)
      return creds.err();
    std::string region;
    auto endpoint = io::aws::endpoint_for(cfg_.spec.region, "kinesis", &region);
    if (!endpoint)
      return endpoint.err();
    io::kinesis::client_options o{*endpoint, region, std::move(*creds)};
    o.request_timeout = 10s; // the node's shutdown waits for a call under way
    auto c = io::kinesis::make_client(std::move(o));
    if (!c)
      return c.err();
    client_ = std::move(*c);
  }
  // Requests per stream, each within PutRecords' limits, in the store's order.
  std::map<std::string, std::vector<std::vector<io::kinesis::put_entry>>> requests;
  for (auto& [n, bytes] : batch) {
    auto rec = protocol::decode_kinesis_record({protocol::kinesis_record_type_name, true, bytes});
    if (!rec) {
      std::cerr << "hearth-node: Kinesis egress " << id << ": record " << n
                << " skipped: " << rec.err().message << std::endl;
      continue;
    }
    auto& list = requests[rec->stream];
    size_t bytes_in = 0;
    if (!list.empty())
      for (auto& e : list.back())
        bytes_in += e.data.size() + e.partition_key.size();
    if (list.empty() || list.back().size() >= 500
        || bytes_in + rec->value.size() > max_request_bytes)
      list.emplace_back();
    list.back().push_back({rec->partition_key, rec->value, rec->explicit_hash_key});
  }
  for (auto& [stream, list] : requests)
    for (auto entries : list) {
      auto backoff = 100ms;
      std::uint64_t put = 0;
      while (!entries.empty()) {
        auto r = client_->put_records(stream, entries);
        if (!r && r.err().code != errc::unavailable)
          return r.err();
        std::vector<io::kinesis::put_entry> refused;
        if (r)
          for (size_t i = 0; i < entries.size() && i < r->records.size(); ++i) {
            if (r->records[i].ok())
              ++put;
            else
              refused.push_back(std::move(entries[i]));
          }
        else
          refused = std::move(entries);
        if (!refused.empty()) {
          // Throttled: the refused ones again, after a backoff.
          cfg_.stats->kinesis_retried(id, refused.size());
          if (!pump.sleep(backoff))
            return error{errc::unavailable, "stopping"};
          backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
        }
        entries = std::move(refused);
      }
      cfg_.stats->kinesis_out(id, stream, put);
    }
  return ok();
}

} // namespace hearth::actors
