#include "io/aws_credentials.hpp"
#include "unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <optional>

using namespace hearth;
using namespace hearth::io;

namespace {

/// Sets (or unsets, with nullopt) environment variables for one test and
/// puts the old values back at the end.
class env_guard {
public:
  env_guard(std::initializer_list<std::pair<const char*, std::optional<std::string>>> vars) {
    for (auto& [name, value] : vars) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>{old} : std::nullopt);
      set(name, value);
    }
  }
  ~env_guard() {
    for (auto& [name, value] : saved_)
      set(name.c_str(), value);
  }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;

private:
  static void set(const char* name, const std::optional<std::string>& value) {
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

const char* credentials_ini = R"(# a comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret/default+key

; another comment
[ci]
AWS_ACCESS_KEY_ID=AKIDCI
aws_secret_access_key=ci-secret
aws_session_token = token/with+slash==

[broken]
aws_access_key_id = ONLYID
)";

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  auto path = dir + "/" + name;
  std::ofstream{path} << text;
  return path;
}

aws_credentials chain() { return {}; }

aws_credentials profile(std::string name, std::string path = {}) {
  aws_credentials c;
  c.type = aws_credentials::kind::profile;
  c.profile_name = std::move(name);
  c.profile_path = std::move(path);
  return c;
}

} // namespace

TEST_CASE("basic credentials are taken as given") {
  aws_credentials spec;
  spec.type = aws_credentials::kind::basic;
  spec.access_key_id = "AKID";
  spec.secret_access_key = "secret";
  auto c = aws::resolve_credentials(spec);
  REQUIRE(c);
  CHECK(c->access_key_id == "AKID");
  CHECK(c->secret_access_key == "secret");
  CHECK(c->session_token.empty());
  spec.secret_access_key.clear();
  auto bad = aws::resolve_credentials(spec);
  REQUIRE(!bad);
  CHECK(bad.err().code == errc::malformed);
}

TEST_CASE("a profile is read from profilePath, with an optional session token") {
  testing::temp_dir dir{true};
  auto file = write_file(dir.path, "credentials", credentials_ini);
  env_guard env{{"AWS_SHARED_CREDENTIALS_FILE", std::nullopt}};

  auto ci = aws::resolve_credentials(profile("ci", file));
  REQUIRE(ci);
  CHECK(ci->access_key_id == "AKIDCI"); // key names are case-insensitive
  CHECK(ci->secret_access_key == "ci-secret");
  CHECK(ci->session_token == "token/with+slash==");

  auto def = aws::resolve_credentials(profile("", file)); // no name: "default"
  REQUIRE(def);
  CHECK(def->access_key_id == "AKIDDEFAULT");
  CHECK(def->secret_access_key == "secret/default+key");

  auto missing = aws::resolve_credentials(profile("nope", file));
  REQUIRE(!missing);
  CHECK(missing.err().code == errc::unknown);
  CHECK(missing.err().message.find("'nope'") != std::string::npos);
  CHECK(missing.err().message.find(file) != std::string::npos);

  auto broken = aws::resolve_credentials(profile("broken", file));
  REQUIRE(!broken);
  CHECK(broken.err().code == errc::malformed);
  CHECK(broken.err().message.find("aws_secret_access_key") != std::string::npos);

  auto no_file = aws::resolve_credentials(profile("ci", dir.path + "/absent"));
  REQUIRE(!no_file);
  CHECK(no_file.err().message.find("no such file") != std::string::npos);
}

TEST_CASE("a profile without profilePath comes from $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws") {
  testing::temp_dir dir{true};
  auto file = write_file(dir.path, "shared", credentials_ini);
  {
    env_guard env{{"AWS_SHARED_CREDENTIALS_FILE", file}};
    auto ci = aws::resolve_credentials(profile("ci"));
    REQUIRE(ci);
    CHECK(ci->access_key_id == "AKIDCI");
  }
  std::filesystem::create_directories(dir.path + "/home/.aws");
  write_file(dir.path + "/home/.aws", "credentials", "[ci]\naws_access_key_id=HOMEID\naws_secret_access_key=s\n");
  env_guard env{{"AWS_SHARED_CREDENTIALS_FILE", std::nullopt}, {"HOME", dir.path + "/home"}};
  auto ci = aws::resolve_credentials(profile("ci"));
  REQUIRE(ci);
  CHECK(ci->access_key_id == "HOMEID");
}

TEST_CASE("the default chain takes the environment first, then the profile") {
  testing::temp_dir dir{true};
  auto file = write_file(dir.path, "credentials", credentials_ini);
  {
    env_guard env{{"AWS_ACCESS_KEY_ID", "ENVID"},
                  {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                  {"AWS_SESSION_TOKEN", "envtoken"},
                  {"AWS_SHARED_CREDENTIALS_FILE", file}};
    auto c = aws::resolve_credentials(chain());
    REQUIRE(c);
    CHECK(c->access_key_id == "ENVID");
    CHECK(c->secret_access_key == "envsecret");
    CHECK(c->session_token == "envtoken");
  }
  {
    // Half the keys in the environment: on to the file's default profile.
    env_guard env{{"AWS_ACCESS_KEY_ID", "ENVID"},
                  {"AWS_SECRET_ACCESS_KEY", std::nullopt},
                  {"AWS_PROFILE", std::nullopt},
                  {"AWS_SHARED_CREDENTIALS_FILE", file}};
    auto c = aws::resolve_credentials(chain());
    REQUIRE(c);
    CHECK(c->access_key_id == "AKIDDEFAULT");
  }
  {
    env_guard env{{"AWS_ACCESS_KEY_ID", std::nullopt},
                  {"AWS_SECRET_ACCESS_KEY", std::nullopt},
                  {"AWS_PROFILE", "ci"},
                  {"AWS_SHARED_CREDENTIALS_FILE", file}};
    auto c = aws::resolve_credentials(chain());
    REQUIRE(c);
    CHECK(c->access_key_id == "AKIDCI");
    CHECK(c->session_token == "token/with+slash==");
  }
}

TEST_CASE("the default chain names what it looked at when it finds nothing") {
  testing::temp_dir dir{true};
  env_guard env{{"AWS_ACCESS_KEY_ID", std::nullopt},
                {"AWS_SECRET_ACCESS_KEY", std::nullopt},
                {"AWS_PROFILE", std::nullopt},
                {"AWS_SHARED_CREDENTIALS_FILE", std::nullopt},
                {"HOME", dir.path}};
  auto c = aws::resolve_credentials(chain());
  REQUIRE(!c);
  CHECK(c.err().code == errc::unknown);
  auto& m = c.err().message;
  INFO(m);
  CHECK(m.find("AWS_ACCESS_KEY_ID") != std::string::npos);
  CHECK(m.find("'default'") != std::string::npos);
  CHECK(m.find(dir.path + "/.aws/credentials") != std::string::npos);
  CHECK(m.find("no such file") != std::string::npos);
}

TEST_CASE("endpoints: specific, custom and the region from the environment") {
  env_guard env{{"AWS_REGION", std::nullopt}, {"AWS_DEFAULT_REGION", std::nullopt}};
  std::string id;
  aws_region r;
  r.type = aws_region::kind::specific;
  r.id = "eu-west-1";
  auto url = aws::endpoint_for(r, "kinesis", &id);
  REQUIRE(url);
  CHECK(*url == "https://kinesis.eu-west-1.amazonaws.com");
  CHECK(id == "eu-west-1");
  CHECK(*aws::endpoint_for(r, "s3", nullptr) == "https://s3.eu-west-1.amazonaws.com");
  r.id = "cn-north-1";
  CHECK(*aws::endpoint_for(r, "s3", nullptr) == "https://s3.cn-north-1.amazonaws.com.cn");
  r.id = "evil.com/x";
  CHECK(aws::endpoint_for(r, "s3", nullptr).err().code == errc::malformed);

  r.type = aws_region::kind::custom_endpoint;
  r.id = "us-west-2";
  r.endpoint = "http://127.0.0.1:4567/";
  url = aws::endpoint_for(r, "kinesis", &id);
  REQUIRE(url);
  CHECK(*url == "http://127.0.0.1:4567");
  CHECK(id == "us-west-2");
  r.id.clear();
  REQUIRE(aws::endpoint_for(r, "kinesis", &id));
  CHECK(id == "us-east-1");
  r.endpoint = "127.0.0.1:4567";
  CHECK(aws::endpoint_for(r, "kinesis", &id).err().code == errc::malformed);

  r = {}; // default
  auto none = aws::endpoint_for(r, "kinesis", &id);
  REQUIRE(!none);
  CHECK(none.err().code == errc::unknown);
  CHECK(none.err().message.find("AWS_REGION") != std::string::npos);
  {
    env_guard more{{"AWS_DEFAULT_REGION", "ap-south-1"}};
    url = aws::endpoint_for(r, "kinesis", &id);
    REQUIRE(url);
    CHECK(*url == "https://kinesis.ap-south-1.amazonaws.com");
    CHECK(id == "ap-south-1");
  }
  env_guard both{{"AWS_DEFAULT_REGION", "ap-south-1"}, {"AWS_REGION", "eu-central-1"}};
  url = aws::endpoint_for(r, "s3", &id);
  REQUIRE(url);
  CHECK(*url == "https://s3.eu-central-1.amazonaws.com");
  CHECK(id == "eu-central-1");
}
