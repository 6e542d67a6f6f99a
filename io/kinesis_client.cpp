#include "io/kinesis_client.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>

namespace hearth::io::kinesis {

namespace {

using json = nlohmann::json;

constexpr const char* content_type = "application/x-amz-json-1.1";
constexpr const char* api_prefix = "Kinesis_20131202.";
constexpr std::size_t max_response_bytes = 64u << 20; // GetRecords answers at most 10 MiB
constexpr int max_list_pages = 100000;

// ---------------------------------------------------------------------------
// base64 (RFC 4648, padded), as JSON 1.1 carries blobs

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8)
                      | std::uint8_t(in[i + 2]);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
    out += b64_alphabet[v & 63];
  }
  if (std::size_t rest = in.size() - i) {
    std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
    if (rest == 2)
      v |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += rest == 2 ? b64_alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/// Strict: a multiple of 4 characters, '=' only as the last one or two.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    int pad = 0;
    if (last && in[i + 3] == '=')
      pad = in[i + 2] == '=' ? 2 : 1;
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int d = k >= 4 - pad ? 0 : b64_value(in[i + k]);
      if (d < 0)
        return std::nullopt;
      v = (v << 6) | std::uint32_t(d);
    }
    out += char((v >> 16) & 0xff);
    if (pad < 2)
      out += char((v >> 8) & 0xff);
    if (pad < 1)
      out += char(v & 0xff);
  }
  return out;
}

// ---------------------------------------------------------------------------
// JSON fields: absent and null read as empty; a wrong type throws
// nlohmann::json::type_error, which call sites turn into errc::malformed.

std::string str(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null())
    return {};
  return it->get<std::string>();
}

std::chrono::system_clock::time_point epoch_seconds(const json& v) {
  double s = v.get<double>();
  return std::chrono::system_clock::time_point{std::chrono::milliseconds{std::llround(s * 1000.0)}};
}

const char* iterator_type_name(position::kind k) {
  switch (k) {
  case position::kind::trim_horizon: return "TRIM_HORIZON";
  case position::kind::latest: return "LATEST";
  case position::kind::at_sequence_number: return "AT_SEQUENCE_NUMBER";
  case position::kind::after_sequence_number: return "AFTER_SEQUENCE_NUMBER";
  case position::kind::at_timestamp: return "AT_TIMESTAMP";
  }
  return "LATEST";
}

std::string trimmed(std::string s, std::size_t n = 300) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  if (s.size() > n)
    s = s.substr(0, n) + "...";
  return s;
}

/// One AWS answer that is not a success, as a hearth::error (the single
/// place that maps Kinesis's error types; see the header).
error classify(const std::string& op, long status, const std::string& body, const std::string& type_header) {
  std::string type, message;
  auto j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto it = j.find("__type"); it != j.end() && it->is_string())
      type = it->get<std::string>();
    for (const char* key : {"message", "Message"})
      if (auto it = j.find(key); it != j.end() && it->is_string())
        message = it->get<std::string>();
  }
  if (type.empty() && !type_header.empty())
    type = type_header.substr(0, type_header.find(':'));
  if (auto hash = type.rfind('#'); hash != std::string::npos)
    type = type.substr(hash + 1);
  if (message.empty() && !j.is_object())
    message = trimmed(body);

  std::string text = "Kinesis " + op + ": ";
  if (!type.empty())
    text += type + ": ";
  text += message.empty() ? "(no message)" : message;
  text += " (HTTP " + std::to_string(status) + ")";

  errc code = errc::io;
  if (status >= 500 || status == 429)
    code = errc::unavailable;
  else if (status == 413)
    code = errc::too_large;
  else if (type == "ProvisionedThroughputExceededException" || type == "LimitExceededException"
           || type == "ThrottlingException" || type == "KMSThrottlingException")
    code = errc::unavailable;
  else if (type == "ExpiredIteratorException" || type == "ExpiredNextTokenException")
    code = errc::conflict;
  else if (type == "ResourceNotFoundException")
    code = errc::unknown;
  return error{code, std::move(text)};
}

struct response {
  std::string body;
  std::string error_type; // x-amzn-ErrorType
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<response*>(user);
  size_t bytes = size * n;
  if (r->body.size() + bytes > max_response_bytes) {
    r->too_large = true;
    return 0;
  }
  r->body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<response*>(user);
  std::string_view line{data, size * n};
  constexpr std::string_view name = "x-amzn-errortype:";
  if (line.size() > name.size()) {
    bool match = true;
    for (std::size_t i = 0; i < name.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    if (match) {
      auto value = line.substr(name.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
      r->error_type = std::string{value};
    }
  }
  return size * n;
}

void global_init() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

class curl_kinesis_client final : public client {
public:
  curl_kinesis_client(client_options opts, std::string host, std::string path)
    : opts_(std::move(opts)), host_(std::move(host)), path_(std::move(path)) {
    easy_ = curl_easy_init();
  }

  ~curl_kinesis_client() override {
    if (easy_)
      curl_easy_cleanup(easy_);
  }

  curl_kinesis_client(const curl_kinesis_client&) = delete;
  curl_kinesis_client& operator=(const curl_kinesis_client&) = delete;

  result<std::vector<shard>> list_shards(const std::string& stream) override {
    std::vector<shard> out;
    json req = {{"StreamName", stream}};
    for (int page = 0; page < max_list_pages; ++page) {
      auto r = call("ListShards", req);
      if (!r)
        return r.err();
      try {
        for (auto& s : r->at("Shards")) {
          shard sh;
          sh.id = s.at("ShardId").get<std::string>();
          sh.parent_id = str(s, "ParentShardId");
          sh.adjacent_parent_id = str(s, "AdjacentParentShardId");
          if (auto h = s.find("HashKeyRange"); h != s.end() && h->is_object()) {
            sh.starting_hash_key = str(*h, "StartingHashKey");
            sh.ending_hash_key = str(*h, "EndingHashKey");
          }
          if (auto q = s.find("SequenceNumberRange"); q != s.end() && q->is_object()) {
            sh.starting_sequence_number = str(*q, "StartingSequenceNumber");
            sh.ending_sequence_number = str(*q, "EndingSequenceNumber");
          }
          out.push_back(std::move(sh));
        }
        auto next = str(*r, "NextToken");
        if (next.empty())
          return out;
        req = {{"NextToken", next}}; // never with StreamName: AWS refuses both at once
      } catch (const json::exception& e) {
        return malformed("ListShards", e);
      }
    }
    return error{errc::malformed, "Kinesis ListShards: more than " + std::to_string(max_list_pages)
                                    + " pages of shards for stream " + stream};
  }

  result<std::string> shard_iterator(const std::string& stream, const std::string& shard_id,
                                     const position& from) override {
    json req = {{"StreamName", stream},
                {"ShardId", shard_id},
                {"ShardIteratorType", iterator_type_name(from.type)}};
    if (from.type == position::kind::at_sequence_number || from.type == position::kind::after_sequence_number)
      req["StartingSequenceNumber"] = from.sequence_number;
    if (from.type == position::kind::at_timestamp) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(from.timestamp.time_since_epoch()).count();
      req["Timestamp"] = static_cast<double>(ms) / 1000.0;
    }
    auto r = call("GetShardIterator", req);
    if (!r)
      return r.err();
    try {
      auto it = r->at("ShardIterator").get<std::string>();
      if (it.empty())
        return error{errc::malformed, "Kinesis GetShardIterator: an empty ShardIterator"};
      return it;
    } catch (const json::exception& e) {
      return malformed("GetShardIterator", e);
    }
  }

  result<records_batch> get_records(const std::string& iterator, std::uint32_t limit) override {
    json req = {{"ShardIterator", iterator}};
    if (limit > 0)
      req["Limit"] = limit;
    auto r = call("GetRecords", req);
    if (!r)
      return r.err();
    try {
      records_batch out;
      for (auto& rec : r->at("Records")) {
        record x;
        x.sequence_number = rec.at("SequenceNumber").get<std::string>();
        x.partition_key = str(rec, "PartitionKey");
        auto data = base64_decode(str(rec, "Data"));
        if (!data)
          return error{errc::malformed, "Kinesis GetRecords: record " + x.sequence_number
                                          + " has Data that is not base64"};
        x.data = std::move(*data);
        if (auto t = rec.find("ApproximateArrivalTimestamp"); t != rec.end() && !t->is_null())
          x.arrival = epoch_seconds(*t);
        out.records.push_back(std::move(x));
      }
      auto next = str(*r, "NextShardIterator");
      if (!next.empty())
        out.next_iterator = std::move(next);
      if (auto m = r->find("MillisBehindLatest"); m != r->end() && !m->is_null())
        out.millis_behind_latest = m->get<std::int64_t>();
      if (auto c = r->find("ChildShards"); c != r->end() && c->is_array())
        for (auto& child : *c)
          out.child_shards.push_back(child.at("ShardId").get<std::string>());
      return out;
    } catch (const json::exception& e) {
      return malformed("GetRecords", e);
    }
  }

  result<put_result> put_records(const std::string& stream, const std::vector<put_entry>& entries) override {
    if (entries.empty())
      return put_result{};
    if (entries.size() > 500)
      return error{errc::too_large, "Kinesis PutRecords: " + std::to_string(entries.size())
                                      + " records in one request (at most 500)"};
    json records = json::array();
    for (auto& e : entries) {
      json rec = {{"Data", base64_encode(e.data)}, {"PartitionKey", e.partition_key}};
      if (!e.explicit_hash_key.empty())
        rec["ExplicitHashKey"] = e.explicit_hash_key;
      records.push_back(std::move(rec));
    }
    auto r = call("PutRecords", json{{"StreamName", stream}, {"Records", std::move(records)}});
    if (!r)
      return r.err();
    try {
      put_result out;
      auto& recs = r->at("Records");
      if (!recs.is_array() || recs.size() != entries.size())
        return error{errc::malformed, "Kinesis PutRecords: " + std::to_string(recs.size())
                                        + " outcomes for " + std::to_string(entries.size()) + " records"};
      std::uint32_t failed = 0;
      for (auto& rec : recs) {
        put_outcome o;
        o.shard_id = str(rec, "ShardId");
        o.sequence_number = str(rec, "SequenceNumber");
        o.error_code = str(rec, "ErrorCode");
        o.error_message = str(rec, "ErrorMessage");
        if (o.error_code.empty() && o.sequence_number.empty())
          return error{errc::malformed, "Kinesis PutRecords: an outcome with neither a sequence number nor an error"};
        failed += o.ok() ? 0 : 1;
        out.records.push_back(std::move(o));
      }
      out.failed = failed; // counted, rather than trusting FailedRecordCount to agree
      return out;
    } catch (const json::exception& e) {
      return malformed("PutRecords", e);
    }
  }

  status create_stream(const std::string& stream, std::uint32_t shards) override {
    return done(call("CreateStream", json{{"StreamName", stream}, {"ShardCount", shards}}));
  }

  result<stream_summary> describe_stream_summary(const std::string& stream) override {
    auto r = call("DescribeStreamSummary", json{{"StreamName", stream}});
    if (!r)
      return r.err();
    try {
      auto& d = r->at("StreamDescriptionSummary");
      stream_summary out;
      out.status = d.at("StreamStatus").get<std::string>();
      if (auto n = d.find("OpenShardCount"); n != d.end() && !n->is_null())
        out.open_shards = n->get<std::uint32_t>();
      if (auto n = d.find("RetentionPeriodHours"); n != d.end() && !n->is_null())
        out.retention_hours = n->get<std::uint32_t>();
      return out;
    } catch (const json::exception& e) {
      return malformed("DescribeStreamSummary", e);
    }
  }

  status split_shard(const std::string& stream, const std::string& shard_id,
                     const std::string& new_starting_hash_key) override {
    return done(call("SplitShard", json{{"StreamName", stream},
                                        {"ShardToSplit", shard_id},
                                        {"NewStartingHashKey", new_starting_hash_key}}));
  }

  status merge_shards(const std::string& stream, const std::string& shard_id,
                      const std::string& adjacent_shard_id) override {
    return done(call("MergeShards", json{{"StreamName", stream},
                                         {"ShardToMerge", shard_id},
                                         {"AdjacentShardToMerge", adjacent_shard_id}}));
  }

  status delete_stream(const std::string& stream) override {
    return done(call("DeleteStream", json{{"StreamName", stream}}));
  }

private:
  static status done(result<json> r) {
    if (!r)
      return r.err();
    return ok();
  }

  static error malformed(const char* op, const json::exception& e) {
    return error{errc::malformed, std::string{"Kinesis "} + op + ": unexpected answer: " + e.what()};
  }

  /// One signed request; the answer's JSON (null for an empty 2xx body).
  result<json> call(const std::string& op, const json& body) {
    std::string text;
    try {
      text = body.dump();
    } catch (const json::exception& e) { // a string that is not UTF-8
      return error{errc::malformed, "Kinesis " + op + ": cannot encode the request: " + e.what()};
    }
    std::string target = api_prefix + op;

    aws::request req;
    req.method = "POST";
    req.host = host_;
    req.path = path_;
    req.headers = {{"Content-Type", content_type}, {"X-Amz-Target", target}};
    req.payload_sha256 = aws::sha256_hex(text);
    auto signed_headers = aws::sign(req, opts_.credentials, opts_.region, "kinesis",
                                    std::chrono::system_clock::now());

    std::lock_guard<std::mutex> guard{mtx_};
    if (!easy_)
      return error{errc::io, "Kinesis " + op + ": cannot start an HTTP request"};
    curl_slist* headers = nullptr;
    auto add = [&](const std::string& line) { headers = curl_slist_append(headers, line.c_str()); };
    add("Host: " + host_); // exactly what was signed
    add(std::string{"Content-Type: "} + content_type);
    add("X-Amz-Target: " + target);
    for (auto& [name, value] : signed_headers)
      add(name + ": " + value);
    add("Expect:");

    response resp;
    char detail[CURL_ERROR_SIZE] = {};
    CURL* e = easy_;
    curl_easy_setopt(e, CURLOPT_URL, opts_.endpoint.c_str());
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, text.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(text.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hearth");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (!opts_.ca_file.empty())
      curl_easy_setopt(e, CURLOPT_CAINFO, opts_.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, opts_.request_timeout.count())));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<long long>(1, opts_.connect_timeout.count())));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, detail);
    CURLcode code = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    // Nothing of this call may outlive it in the reused handle.
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, nullptr);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, nullptr);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, nullptr);
    curl_slist_free_all(headers);

    if (resp.too_large)
      return error{errc::too_large, "Kinesis " + op + ": answer larger than "
                                      + std::to_string(max_response_bytes) + " bytes"};
    if (code != CURLE_OK) {
      std::string why = curl_easy_strerror(code);
      if (detail[0] != '\0' && why != detail)
        why += std::string{": "} + detail;
      return error{errc::unavailable, "Kinesis " + op + ": cannot reach " + opts_.endpoint + ": " + why};
    }
    if (status < 200 || status >= 300)
      return classify(op, status, resp.body, resp.error_type);
    if (resp.body.empty())
      return json{};
    auto j = json::parse(resp.body, nullptr, false);
    if (!j.is_object())
      return error{errc::malformed, "Kinesis " + op + ": HTTP " + std::to_string(status)
                                      + " with a body that is not a JSON object: " + trimmed(resp.body)};
    return j;
  }

  client_options opts_;
  std::string host_; // Host header: "host" or "host:port"
  std::string path_;
  std::mutex mtx_; // guards easy_
  CURL* easy_ = nullptr;
};

// ---------------------------------------------------------------------------
// 128-bit decimal hash keys

using u128 = unsigned __int128;

std::optional<u128> parse_u128(const std::string& s) {
  if (s.empty() || s.size() > 39)
    return std::nullopt;
  u128 v = 0;
  const u128 max = ~u128{0};
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    unsigned d = unsigned(c - '0');
    if (v > (max - d) / 10)
      return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::string format_u128(u128 v) {
  if (v == 0)
    return "0";
  std::string out;
  while (v > 0) {
    out += char('0' + int(v % 10));
    v /= 10;
  }
  return {out.rbegin(), out.rend()};
}

} // namespace

std::string default_endpoint(const std::string& region) {
  std::string suffix = region.rfind("cn-", 0) == 0 ? ".amazonaws.com.cn" : ".amazonaws.com";
  return "https://kinesis." + region + suffix;
}

result<std::unique_ptr<client>> make_client(client_options opts) {
  if (opts.region.empty())
    return error{errc::malformed, "Kinesis client: no region"};
  global_init();
  CURLU* u = curl_url();
  if (!u)
    return error{errc::io, "Kinesis client: out of memory"};
  auto bad = [&](const std::string& why) {
    curl_url_cleanup(u);
    return error{errc::malformed, "Kinesis endpoint '" + opts.endpoint + "': " + why};
  };
  if (curl_url_set(u, CURLUPART_URL, opts.endpoint.c_str(), 0) != CURLUE_OK)
    return bad("not a URL");
  auto get = [&](CURLUPart part, unsigned flags) -> std::optional<std::string> {
    char* p = nullptr;
    if (curl_url_get(u, part, &p, flags) != CURLUE_OK || !p)
      return std::nullopt;
    std::string s{p};
    curl_free(p);
    return s;
  };
  auto scheme = get(CURLUPART_SCHEME, 0);
  if (!scheme || (*scheme != "http" && *scheme != "https"))
    return bad("the scheme must be http or https");
  auto host = get(CURLUPART_HOST, 0);
  if (!host || host->empty())
    return bad("no host");
  if (get(CURLUPART_QUERY, 0) || get(CURLUPART_FRAGMENT, 0))
    return bad("a query or fragment is not allowed");
  if (get(CURLUPART_USER, 0))
    return bad("credentials in the URL are not allowed");
  auto port = get(CURLUPART_PORT, CURLU_NO_DEFAULT_PORT);
  auto path = get(CURLUPART_PATH, CURLU_URLDECODE).value_or("/");
  curl_url_cleanup(u);
  if (path.empty())
    path = "/";
  std::string host_header = *host + (port ? ":" + *port : "");
  auto c = std::make_unique<curl_kinesis_client>(std::move(opts), std::move(host_header), std::move(path));
  return std::unique_ptr<client>{std::move(c)};
}

std::string middle_hash_key(const std::string& starting, const std::string& ending) {
  auto a = parse_u128(starting);
  auto b = parse_u128(ending);
  if (!a || !b || *b < *a || *b - *a < 4)
    return {};
  return format_u128(*a + (*b - *a) / 2);
}

} // namespace hearth::io::kinesis
