#include "io/http_client.hpp"

#include <curl/curl.h>

namespace hearth::io {

namespace {
size_t append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}
} // namespace

result<http_reply> http_call(const std::string& method, const std::string& url,
                             const std::string& body, const std::vector<std::string>& headers,
                             std::chrono::milliseconds timeout, const std::string& ca_file) {
  CURL* e = curl_easy_init();
  if (!e)
    return error{errc::io, "cannot start an HTTP request"};
  http_reply reply;
  curl_slist* list = nullptr;
  for (auto& h : headers)
    list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST" || method == "PUT") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (!ca_file.empty())
    curl_easy_setopt(e, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &reply.body);
  auto code = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(e);
  if (code != CURLE_OK)
    return error{errc::unavailable, std::string{"cannot reach "} + url + ": " + curl_easy_strerror(code)};
  return reply;
}

} // namespace hearth::io
