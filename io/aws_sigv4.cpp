#include "io/aws_sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

// Signature Version 4 as AWS specifies it
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
//
//   canonical request = method \n canonical path \n canonical query \n
//                       canonical headers \n signed headers \n payload hash
//   string to sign    = "AWS4-HMAC-SHA256" \n timestamp \n scope \n hex(sha256(canonical request))
//   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
//   signature         = hex(HMAC(signing key, string to sign))
//
// Choices the header leaves open, fixed here:
// - An empty `payload_sha256` means an empty payload (the SHA-256 of "").
// - Headers in `r.headers` named like those sign() sets (host, x-amz-date,
//   x-amz-security-token, and x-amz-content-sha256 for "s3") are ignored:
//   sign()'s own values are the ones sent and signed. Every other header
//   given is signed; leave out those that a proxy may change.
// - Duplicate header names are signed as one line, values joined with ','
//   in the order given; values are trimmed and inner runs of spaces
//   collapsed to one.

namespace hearth::io::aws {

namespace {

constexpr const char* hex_digits = "0123456789abcdef";

std::string to_hex(const unsigned char* data, size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += hex_digits[data[i] >> 4];
    out += hex_digits[data[i] & 0xf];
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
         || c == '_' || c == '.' || c == '~';
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Trimmed, with every run of spaces (and tabs) inside collapsed to one space.
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string timestamp(std::chrono::system_clock::time_point now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

} // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += "0123456789ABCDEF"[c >> 4];
      out += "0123456789ABCDEF"[c & 0xf];
    }
  }
  return out;
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> query) {
  for (auto& [name, value] : query) {
    name = uri_encode(name, false);
    value = uri_encode(value, false);
  }
  std::sort(query.begin(), query.end()); // by encoded name, then encoded value (byte order)
  std::string out;
  for (auto& [name, value] : query) {
    if (!out.empty())
      out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return to_hex(out, len);
}

std::vector<std::pair<std::string, std::string>> sign(const request& r, const credentials& c,
                                                      const std::string& region,
                                                      const std::string& service,
                                                      std::chrono::system_clock::time_point now) {
  const bool s3 = service == "s3";
  const std::string amz_date = timestamp(now);
  const std::string date = amz_date.substr(0, 8);
  const std::string payload = r.payload_sha256.empty() ? sha256_hex("") : r.payload_sha256;

  std::vector<std::pair<std::string, std::string>> added;
  added.emplace_back("X-Amz-Date", amz_date);
  if (!c.session_token.empty())
    added.emplace_back("X-Amz-Security-Token", c.session_token);
  if (s3)
    added.emplace_back("x-amz-content-sha256", payload);

  // Canonical headers: lowercase names, sorted; repeated names joined.
  std::map<std::string, std::string> headers;
  auto add = [&](std::string_view name, std::string_view value) {
    auto [it, fresh] = headers.try_emplace(lower(name), canonical_value(value));
    if (!fresh)
      it->second += ',' + canonical_value(value);
  };
  add("host", r.host);
  for (auto& [name, value] : added)
    add(name, value);
  for (auto& [name, value] : r.headers) {
    auto n = lower(name);
    if (n == "host" || n == "x-amz-date" || n == "authorization"
        || (n == "x-amz-security-token" && !c.session_token.empty())
        || (n == "x-amz-content-sha256" && s3))
      continue;
    add(n, value);
  }
  std::string canonical_headers, signed_headers;
  for (auto& [name, value] : headers) {
    canonical_headers += name + ':' + value + '\n';
    if (!signed_headers.empty())
      signed_headers += ';';
    signed_headers += name;
  }

  std::string path = r.path.empty() ? std::string{"/"} : uri_encode(r.path, true);
  if (!s3)
    path = uri_encode(path, true);

  const std::string canonical_request = r.method + '\n' + path + '\n' + canonical_query(r.query)
                                        + '\n' + canonical_headers + '\n' + signed_headers + '\n'
                                        + payload;
  const std::string scope = date + '/' + region + '/' + service + "/aws4_request";
  const std::string string_to_sign =
    "AWS4-HMAC-SHA256\n" + amz_date + '\n' + scope + '\n' + sha256_hex(canonical_request);

  std::string key = hmac("AWS4" + c.secret_access_key, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  const std::string mac = hmac(key, string_to_sign);
  const std::string signature = to_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());

  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + c.access_key_id + '/' + scope
                                      + ", SignedHeaders=" + signed_headers
                                      + ", Signature=" + signature);
  for (auto& h : added)
    out.push_back(std::move(h));
  return out;
}

} // namespace hearth::io::aws
