#include "apps/s3_checkpoints.hpp"

#include <thread>

namespace hearth::apps {

namespace {

using namespace std::chrono_literals;

/// Runs `call` until it succeeds, fails for good, or failed four times.
template <class F>
auto retried(F call) -> decltype(call()) {
  auto wait = 200ms;
  for (int attempt = 1;; ++attempt) {
    auto r = call();
    if (r || r.err().code != errc::unavailable || attempt == 4)
      return r;
    std::this_thread::sleep_for(wait);
    wait *= 2;
  }
}

class s3_store : public state::object_store {
public:
  s3_store(std::shared_ptr<io::s3_client> client, s3_location where)
    : client_(std::move(client)), where_(std::move(where)) {}

  status put(const std::string& name, const std::string& bytes) override {
    return retried([&] { return client_->put_object(where_.bucket, key(name), bytes); });
  }

  result<std::string> get(const std::string& name) override {
    auto r = retried([&] { return client_->get_object(where_.bucket, key(name)); });
    if (!r)
      return r.err();
    if (!*r)
      return error{errc::unknown, "no object " + key(name) + " in bucket " + where_.bucket};
    return std::move(**r);
  }

  result<std::vector<std::string>> list(const std::string& prefix) override {
    auto r = retried([&] { return client_->list(where_.bucket, key(prefix)); });
    if (!r)
      return r.err();
    std::vector<std::string> names;
    auto skip = key("").size();
    for (auto& o : *r)
      if (o.key.size() > skip && o.key.find('/', skip) == std::string::npos)
        names.push_back(o.key.substr(skip));
    return names;
  }

  status remove(const std::vector<std::string>& names) override {
    if (names.empty())
      return ok();
    std::vector<std::string> keys;
    for (auto& n : names)
      keys.push_back(key(n));
    return retried([&] { return client_->delete_objects(where_.bucket, keys); });
  }

  std::string where() const override {
    return "s3://" + where_.bucket + (where_.prefix.empty() ? "" : "/" + where_.prefix);
  }

private:
  std::string key(const std::string& name) const {
    return where_.prefix.empty() ? name : where_.prefix + "/" + name;
  }

  std::shared_ptr<io::s3_client> client_;
  s3_location where_;
};

} // namespace

result<std::optional<s3_location>> parse_s3_url(const std::string& url) {
  if (url.rfind("s3://", 0) != 0)
    return std::optional<s3_location>{};
  auto rest = url.substr(5);
  auto slash = rest.find('/');
  s3_location where;
  where.bucket = rest.substr(0, slash);
  if (slash != std::string::npos)
    where.prefix = rest.substr(slash + 1);
  while (!where.prefix.empty() && where.prefix.back() == '/')
    where.prefix.pop_back();
  if (where.bucket.empty())
    return error{errc::malformed, "'" + url + "' names no bucket (s3://bucket/prefix)"};
  return std::optional<s3_location>{std::move(where)};
}

std::shared_ptr<state::object_store> s3_checkpoint_store(std::shared_ptr<io::s3_client> client,
                                                         s3_location where) {
  return std::make_shared<s3_store>(std::move(client), std::move(where));
}

} // namespace hearth::apps
