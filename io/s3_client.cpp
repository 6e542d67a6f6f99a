#include "io/s3_client.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <set>

namespace hearth::io {

namespace {

using header_list = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------------------
// XML, as much as S3's answers need: the text of elements found by name.
// S3's documents have no attributes we read, no CDATA and no prefixes.

/// The inner text of the next element `<tag>` at or after `pos` (`<tag/>`
/// gives ""), and `pos` moved past it; nullopt when there is none.
std::optional<std::string_view> next_element(std::string_view xml, std::string_view tag, size_t& pos) {
  while (pos < xml.size()) {
    auto open = xml.find('<', pos);
    if (open == std::string_view::npos)
      break;
    auto after = open + 1 + tag.size();
    if (xml.compare(open + 1, tag.size(), tag) != 0 || after >= xml.size()
        || !(xml[after] == '>' || xml[after] == '/' || xml[after] == ' ' || xml[after] == '\t'
             || xml[after] == '\r' || xml[after] == '\n')) {
      pos = open + 1;
      continue;
    }
    auto end_of_open = xml.find('>', after);
    if (end_of_open == std::string_view::npos)
      break;
    if (xml[end_of_open - 1] == '/') { // <tag/>
      pos = end_of_open + 1;
      return std::string_view{};
    }
    std::string close = "</" + std::string{tag} + ">";
    auto end = xml.find(close, end_of_open + 1);
    if (end == std::string_view::npos)
      break;
    pos = end + close.size();
    return xml.substr(end_of_open + 1, end - end_of_open - 1);
  }
  pos = xml.size();
  return std::nullopt;
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Text with the five predefined entities and character references decoded.
std::string xml_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    auto semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    auto ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      unsigned long cp = 0;
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      auto digits = ent.substr(hex ? 2 : 1);
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (ec != std::errc{} || p != digits.data() + digits.size() || cp > 0x10FFFF) {
        out += s[i];
        continue;
      }
      append_utf8(out, cp);
    } else {
      out += s[i];
      continue;
    }
    i = semi;
  }
  return out;
}

/// The decoded text of the first `<tag>` in `xml` ("" when absent).
std::string first_text(std::string_view xml, std::string_view tag) {
  size_t pos = 0;
  auto e = next_element(xml, tag, pos);
  return e ? xml_text(*e) : std::string{};
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

std::string base64_md5(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(b64), static_cast<size_t>(n));
}

// ---------------------------------------------------------------------------
// One HTTP exchange.

struct reply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers; // names in lower case
};

struct exchange {
  reply r;
  std::uint64_t cap = 0;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<exchange*>(user);
  size_t bytes = size * n;
  if (x->r.body.size() + bytes > x->cap) {
    x->too_large = true;
    return 0;
  }
  x->r.body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<exchange*>(user);
  std::string_view line{data, size * n};
  if (line.rfind("HTTP/", 0) == 0) { // a new response (after a 1xx): start over
    x->r.headers.clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return size * n;
  std::string name{line.substr(0, colon)};
  for (auto& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  x->r.headers[name] = std::string{value};
  return size * n;
}

/// S3 error codes that say "try again later" although their status is 4xx.
bool retryable_code(const std::string& code) {
  static const std::set<std::string> codes{"SlowDown", "RequestTimeout", "Throttling",
                                           "ThrottlingException", "RequestLimitExceeded",
                                           "ServiceUnavailable", "InternalError",
                                           "RequestThrottled", "TooManyRequestsException"};
  return codes.count(code) > 0;
}

} // namespace

// ---------------------------------------------------------------------------

struct s3_client::impl {
  s3_options opts;
  std::string scheme;    // "http" or "https"
  std::string host_port; // as in the endpoint
  std::mutex mtx;
  std::vector<CURL*> idle; // handles to reuse (each keeps its connections)

  ~impl() {
    for (auto* e : idle)
      curl_easy_cleanup(e);
  }

  /// One request. `op` and `what` name it in messages ("PutObject",
  /// "s3://bucket/key").
  struct call {
    const char* op;
    std::string what;
    std::string method;
    std::string host; // Host header
    std::string path; // not encoded
    header_list query;
    header_list headers; // signed and sent
    std::string_view body;
    const char* content_type = nullptr;
    std::uint64_t cap = 16ull << 20; // the answer's body
  };

  CURL* take() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!idle.empty()) {
        auto* e = idle.back();
        idle.pop_back();
        curl_easy_reset(e); // keeps its live connections
        return e;
      }
    }
    return curl_easy_init();
  }

  void give_back(CURL* e) {
    std::lock_guard<std::mutex> guard{mtx};
    if (idle.size() < 8)
      idle.push_back(e);
    else
      curl_easy_cleanup(e);
  }

  result<reply> perform(const call& c) {
    aws::request req;
    req.method = c.method;
    req.host = c.host;
    req.path = c.path;
    req.query = c.query;
    req.headers = c.headers;
    req.payload_sha256 = aws::sha256_hex(c.body);
    auto sig = aws::sign(req, opts.credentials, opts.region, "s3", std::chrono::system_clock::now());

    std::string url = scheme + "://" + c.host + aws::uri_encode(c.path, true);
    if (!c.query.empty())
      url += "?" + aws::canonical_query(c.query);

    CURL* e = take();
    if (!e)
      return error{errc::io, std::string{"S3 "} + c.op + " " + c.what + ": cannot start an HTTP request"};
    curl_slist* list = nullptr;
    auto add = [&](const std::string& line) { list = curl_slist_append(list, line.c_str()); };
    add("Host: " + c.host);
    for (auto& [n, v] : sig)
      add(n + ": " + v);
    for (auto& [n, v] : c.headers)
      add(n + ": " + v);
    add("Expect:"); // no 100-continue round trip
    if (c.content_type)
      add(std::string{"Content-Type: "} + c.content_type);
    else if (c.method == "POST" || c.method == "PUT")
      add("Content-Type:"); // not curl's form default

    exchange x;
    x.cap = c.cap;
    char detail[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); // keys may hold "." and ".." segments
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hearth");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(opts.request_timeout.count()));
    if (!opts.ca_file.empty())
      curl_easy_setopt(e, CURLOPT_CAINFO, opts.ca_file.c_str());
    if (c.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (c.method == "PUT" || c.method == "POST") {
      // Never null: a null POSTFIELDS makes curl read the body from stdin.
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, c.body.empty() ? "" : c.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body.size()));
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c.method.c_str());
    } else if (c.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c.method.c_str());
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
    CURLcode code = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x.r.status);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(list);
    give_back(e);

    std::string prefix = std::string{"S3 "} + c.op + " " + c.what + ": ";
    if (x.too_large)
      return error{errc::too_large, prefix + "the answer exceeds " + std::to_string(c.cap) + " bytes"};
    if (code != CURLE_OK) {
      std::string why = curl_easy_strerror(code);
      if (detail[0] && why != detail)
        why += std::string{": "} + detail;
      return error{errc::unavailable, prefix + "cannot reach " + opts.endpoint + ": " + why};
    }
    return std::move(x.r);
  }

  /// The error an error answer means (see the header for the categories).
  error failure(const call& c, const reply& r) const {
    std::string code = first_text(r.body, "Code");
    std::string message = first_text(r.body, "Message");
    std::string text = std::string{"S3 "} + c.op + " " + c.what + ": HTTP " + std::to_string(r.status);
    if (!code.empty())
      text += " " + code;
    if (!message.empty())
      text += ": " + message;
    bool retry = r.status >= 500 || r.status == 429 || retryable_code(code);
    return error{retry ? errc::unavailable : errc::io, std::move(text)};
  }

  /// A 200 answer whose body is an <Error> document (S3 does this for
  /// CompleteMultipartUpload and CopyObject).
  static bool error_document(const reply& r) {
    auto start = r.body.find('<');
    while (start != std::string::npos && r.body.compare(start, 2, "<?") == 0)
      start = r.body.find('<', start + 2);
    return start != std::string::npos && r.body.compare(start, 7, "<Error>") == 0;
  }

  call object_call(const char* op, std::string method, const std::string& bucket,
                   const std::string& key) const {
    call c;
    c.op = op;
    c.what = "s3://" + bucket + "/" + key;
    c.method = std::move(method);
    if (opts.path_style) {
      c.host = host_port;
      c.path = "/" + bucket + "/" + key;
    } else {
      c.host = bucket + "." + host_port;
      c.path = "/" + key;
    }
    return c;
  }

  call bucket_call(const char* op, std::string method, const std::string& bucket) const {
    call c;
    c.op = op;
    c.what = "s3://" + bucket;
    c.method = std::move(method);
    if (opts.path_style) {
      c.host = host_port;
      c.path = "/" + bucket;
    } else {
      c.host = bucket + "." + host_port;
      c.path = "/";
    }
    return c;
  }

  status check_names(const std::string& bucket, const std::string* key) const {
    if (bucket.empty() || bucket.find('/') != std::string::npos)
      return error{errc::malformed, "S3: invalid bucket name '" + bucket + "'"};
    if (key && key->empty())
      return error{errc::malformed, "S3: empty object key in bucket '" + bucket + "'"};
    return ok();
  }

  status put_single(const std::string& bucket, const std::string& key, std::string_view bytes) {
    auto c = object_call("PutObject", "PUT", bucket, key);
    c.body = bytes;
    c.content_type = "application/octet-stream";
    auto r = perform(c);
    if (!r)
      return r.err();
    if (r->status != 200)
      return failure(c, *r);
    return ok();
  }

  status put_multipart(const std::string& bucket, const std::string& key, std::string_view bytes) {
    auto create = object_call("CreateMultipartUpload", "POST", bucket, key);
    create.query = {{"uploads", ""}};
    create.content_type = "application/octet-stream"; // the object's type
    auto created = perform(create);
    if (!created)
      return created.err();
    if (created->status != 200)
      return failure(create, *created);
    std::string upload_id = first_text(created->body, "UploadId");
    if (upload_id.empty())
      return error{errc::malformed, "S3 CreateMultipartUpload " + create.what + ": no UploadId in the answer"};

    auto outcome = upload_parts(bucket, key, bytes, upload_id);
    if (!outcome) {
      auto abort = object_call("AbortMultipartUpload", "DELETE", bucket, key);
      abort.query = {{"uploadId", upload_id}};
      (void)perform(abort); // best effort: the first error is the one to report
    }
    return outcome;
  }

  status upload_parts(const std::string& bucket, const std::string& key, std::string_view bytes,
                      const std::string& upload_id) {
    const std::uint64_t part = std::max<std::uint64_t>(opts.part_size, 5ull << 20);
    std::string complete = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    int number = 0;
    for (std::uint64_t offset = 0; offset < bytes.size(); offset += part) {
      ++number;
      if (number > 10000)
        return error{errc::too_large, "S3 UploadPart s3://" + bucket + "/" + key
                                        + ": more than 10000 parts; raise part_size"};
      auto c = object_call("UploadPart", "PUT", bucket, key);
      c.what += " part " + std::to_string(number);
      c.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
      c.body = bytes.substr(offset, part);
      c.content_type = "application/octet-stream";
      auto r = perform(c);
      if (!r)
        return r.err();
      if (r->status != 200)
        return failure(c, *r);
      auto etag = r->headers.find("etag");
      if (etag == r->headers.end() || etag->second.empty())
        return error{errc::malformed, "S3 UploadPart " + c.what + ": no ETag in the answer"};
      complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>"
                  + xml_escape(etag->second) + "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    auto c = object_call("CompleteMultipartUpload", "POST", bucket, key);
    c.query = {{"uploadId", upload_id}};
    c.body = complete;
    c.content_type = "application/xml";
    auto r = perform(c);
    if (!r)
      return r.err();
    if (r->status != 200 || error_document(*r))
      return failure(c, *r);
    return ok();
  }
};

result<std::unique_ptr<s3_client>> s3_client::open(s3_options options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto p = std::make_unique<impl>();
  std::string ep = options.endpoint;
  while (!ep.empty() && ep.back() == '/')
    ep.pop_back();
  auto sep = ep.find("://");
  if (sep == std::string::npos)
    return error{errc::malformed, "S3 endpoint '" + options.endpoint + "' must start with http:// or https://"};
  p->scheme = ep.substr(0, sep);
  p->host_port = ep.substr(sep + 3);
  if ((p->scheme != "http" && p->scheme != "https") || p->host_port.empty())
    return error{errc::malformed, "S3 endpoint '" + options.endpoint + "' must start with http:// or https://"};
  if (p->host_port.find_first_of("/?#@ ") != std::string::npos)
    return error{errc::malformed, "S3 endpoint '" + options.endpoint + "' must be scheme://host[:port] only"};
  if (options.region.empty())
    return error{errc::malformed, "S3: no region to sign requests for"};
  p->opts = std::move(options);
  return std::unique_ptr<s3_client>{new s3_client{std::move(p)}};
}

s3_client::s3_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
s3_client::~s3_client() = default;

status s3_client::create_bucket(const std::string& bucket) {
  if (auto ok_names = impl_->check_names(bucket, nullptr); !ok_names)
    return ok_names;
  auto c = impl_->bucket_call("CreateBucket", "PUT", bucket);
  std::string body;
  if (impl_->opts.region != "us-east-1") {
    body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
           "<LocationConstraint>" + xml_escape(impl_->opts.region) + "</LocationConstraint>"
           "</CreateBucketConfiguration>";
    c.content_type = "application/xml";
  }
  c.body = body;
  auto r = impl_->perform(c);
  if (!r)
    return r.err();
  if (r->status == 200)
    return ok();
  auto code = first_text(r->body, "Code");
  if (code == "BucketAlreadyOwnedByYou")
    return ok();
  auto err = impl_->failure(c, *r);
  if (code == "BucketAlreadyExists")
    err.code = errc::conflict;
  return err;
}

status s3_client::put_object(const std::string& bucket, const std::string& key, std::string_view bytes) {
  if (auto ok_names = impl_->check_names(bucket, &key); !ok_names)
    return ok_names;
  if (bytes.size() > impl_->opts.multipart_threshold)
    return impl_->put_multipart(bucket, key, bytes);
  return impl_->put_single(bucket, key, bytes);
}

result<std::optional<std::string>> s3_client::get_object(const std::string& bucket, const std::string& key) {
  if (auto ok_names = impl_->check_names(bucket, &key); !ok_names)
    return ok_names.err();
  auto c = impl_->object_call("GetObject", "GET", bucket, key);
  c.cap = impl_->opts.max_object_bytes;
  auto r = impl_->perform(c);
  if (!r)
    return r.err();
  if (r->status == 200)
    return std::optional<std::string>{std::move(r->body)};
  if (r->status == 404) {
    auto code = first_text(r->body, "Code");
    if (code.empty() || code == "NoSuchKey")
      return std::optional<std::string>{};
  }
  return impl_->failure(c, *r);
}

result<std::optional<s3_object_info>> s3_client::head_object(const std::string& bucket,
                                                            const std::string& key) {
  if (auto ok_names = impl_->check_names(bucket, &key); !ok_names)
    return ok_names.err();
  auto c = impl_->object_call("HeadObject", "HEAD", bucket, key);
  auto r = impl_->perform(c);
  if (!r)
    return r.err();
  if (r->status == 404)
    return std::optional<s3_object_info>{};
  if (r->status != 200)
    return impl_->failure(c, *r);
  s3_object_info info;
  info.key = key;
  auto len = r->headers.find("content-length");
  auto size = len == r->headers.end() ? std::nullopt : to_u64(len->second);
  if (!size)
    return error{errc::malformed, "S3 HeadObject " + c.what + ": no Content-Length in the answer"};
  info.size = *size;
  if (auto etag = r->headers.find("etag"); etag != r->headers.end())
    info.etag = etag->second;
  return std::optional<s3_object_info>{std::move(info)};
}

status s3_client::delete_object(const std::string& bucket, const std::string& key) {
  if (auto ok_names = impl_->check_names(bucket, &key); !ok_names)
    return ok_names;
  auto c = impl_->object_call("DeleteObject", "DELETE", bucket, key);
  auto r = impl_->perform(c);
  if (!r)
    return r.err();
  if (r->status == 204 || r->status == 200)
    return ok();
  if (r->status == 404 && first_text(r->body, "Code") == "NoSuchKey")
    return ok();
  return impl_->failure(c, *r);
}

status s3_client::delete_objects(const std::string& bucket, const std::vector<std::string>& keys) {
  if (auto ok_names = impl_->check_names(bucket, nullptr); !ok_names)
    return ok_names;
  for (size_t start = 0; start < keys.size(); start += 1000) {
    std::string body = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>";
    for (size_t i = start; i < std::min(keys.size(), start + 1000); ++i) {
      if (keys[i].empty())
        return error{errc::malformed, "S3 DeleteObjects s3://" + bucket + ": an empty key"};
      body += "<Object><Key>" + xml_escape(keys[i]) + "</Key></Object>";
    }
    body += "</Delete>";
    auto c = impl_->bucket_call("DeleteObjects", "POST", bucket);
    c.query = {{"delete", ""}};
    c.headers = {{"Content-MD5", base64_md5(body)}}; // S3 requires it for this call
    c.body = body;
    c.content_type = "application/xml";
    auto r = impl_->perform(c);
    if (!r)
      return r.err();
    if (r->status != 200 || impl::error_document(*r))
      return impl_->failure(c, *r);
    // Keys that failed are listed as <Error> elements of the <DeleteResult>.
    size_t pos = 0;
    if (auto e = next_element(r->body, "Error", pos)) {
      auto key = first_text(*e, "Key");
      auto code = first_text(*e, "Code");
      auto message = first_text(*e, "Message");
      bool retry = retryable_code(code);
      return error{retry ? errc::unavailable : errc::io,
                   "S3 DeleteObjects s3://" + bucket + "/" + key + ": " + code
                     + (message.empty() ? "" : ": " + message)};
    }
  }
  return ok();
}

result<std::vector<s3_object_info>> s3_client::list(const std::string& bucket, const std::string& prefix,
                                                    int page_size) {
  if (auto ok_names = impl_->check_names(bucket, nullptr); !ok_names)
    return ok_names.err();
  page_size = std::clamp(page_size, 1, 1000);
  std::vector<s3_object_info> out;
  std::string token;
  std::set<std::string> seen_tokens;
  for (;;) {
    auto c = impl_->bucket_call("ListObjectsV2", "GET", bucket);
    if (!prefix.empty())
      c.what += "/" + prefix;
    c.query = {{"list-type", "2"}, {"max-keys", std::to_string(page_size)}};
    if (!prefix.empty())
      c.query.emplace_back("prefix", prefix);
    if (!token.empty())
      c.query.emplace_back("continuation-token", token);
    auto r = impl_->perform(c);
    if (!r)
      return r.err();
    if (r->status != 200)
      return impl_->failure(c, *r);
    std::string_view body = r->body;
    if (body.find("<ListBucketResult") == std::string_view::npos)
      return error{errc::malformed, "S3 ListObjectsV2 " + c.what + ": not a ListBucketResult"};
    size_t pos = 0;
    while (auto contents = next_element(body, "Contents", pos)) {
      s3_object_info info;
      info.key = first_text(*contents, "Key");
      auto size = to_u64(first_text(*contents, "Size"));
      if (info.key.empty() || !size)
        return error{errc::malformed, "S3 ListObjectsV2 " + c.what + ": an entry without Key or Size"};
      info.size = *size;
      info.etag = first_text(*contents, "ETag");
      out.push_back(std::move(info));
    }
    if (first_text(body, "IsTruncated") != "true")
      break;
    token = first_text(body, "NextContinuationToken");
    if (token.empty() || !seen_tokens.insert(token).second)
      return error{errc::malformed, "S3 ListObjectsV2 " + c.what
                                      + ": truncated, without a new NextContinuationToken"};
  }
  return out;
}

} // namespace hearth::io
