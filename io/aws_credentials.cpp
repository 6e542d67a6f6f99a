#include "io/aws_credentials.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace hearth::io::aws {

namespace {

/// The variable's value; nullopt when unset or empty (as the SDKs treat it).
std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v)
    return std::nullopt;
  return std::string{v};
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string{s.substr(b, e - b + 1)};
}

/// Where the shared credentials file is, and why (for messages).
struct credentials_file {
  std::string path; // empty: none can be named ($HOME unset)
  std::string from; // "profilePath", "$AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"
};

credentials_file locate_file(const std::string& profile_path) {
  if (!profile_path.empty())
    return {profile_path, "profilePath"};
  if (auto p = env("AWS_SHARED_CREDENTIALS_FILE"))
    return {*p, "$AWS_SHARED_CREDENTIALS_FILE"};
  if (auto home = env("HOME"))
    return {*home + "/.aws/credentials", "~/.aws/credentials"};
  return {{}, "~/.aws/credentials"};
}

using section = std::map<std::string, std::string>;

/// The sections of an INI file: "[name]" headers, "key = value" (or
/// "key: value") lines; lines starting with '#' or ';' are comments. Keys
/// are compared in lower case.
std::map<std::string, section> parse_ini(std::istream& in) {
  std::map<std::string, section> out;
  section* current = nullptr;
  std::string line;
  while (std::getline(in, line)) {
    auto t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';')
      continue;
    if (t.front() == '[') {
      auto close = t.find(']');
      current = close == std::string::npos ? nullptr : &out[trim(t.substr(1, close - 1))];
      continue;
    }
    auto eq = t.find_first_of("=:");
    if (!current || eq == std::string::npos)
      continue;
    std::string key = trim(t.substr(0, eq));
    for (auto& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    (*current)[key] = trim(t.substr(eq + 1));
  }
  return out;
}

/// Outcome of looking a profile up: found, or why not (errc::unknown when
/// absent, so that the default chain can say what it looked at).
result<credentials> from_profile(const std::string& name, const credentials_file& file,
                                 const char* name_from = nullptr) {
  std::string where = "profile '" + name + "'" + (name_from ? std::string{" (from "} + name_from + ")" : "")
                      + " in " + (file.path.empty() ? file.from : file.path);
  if (file.from != "~/.aws/credentials")
    where += " (" + file.from + ")";
  if (file.path.empty())
    return error{errc::unknown, where + ": $HOME is not set"};
  std::error_code ec;
  if (!std::filesystem::exists(file.path, ec))
    return error{errc::unknown, where + ": no such file"};
  std::ifstream in{file.path};
  if (!in)
    return error{errc::io, where + ": cannot read the file"};
  auto sections = parse_ini(in);
  if (in.bad())
    return error{errc::io, where + ": cannot read the file"};
  auto it = sections.find(name);
  if (it == sections.end())
    return error{errc::unknown, where + ": no such profile"};
  auto& s = it->second;
  credentials c;
  if (auto k = s.find("aws_access_key_id"); k != s.end())
    c.access_key_id = k->second;
  if (auto k = s.find("aws_secret_access_key"); k != s.end())
    c.secret_access_key = k->second;
  if (auto k = s.find("aws_session_token"); k != s.end())
    c.session_token = k->second;
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return error{errc::malformed, where + ": needs both aws_access_key_id and aws_secret_access_key"};
  return c;
}

bool region_name(const std::string& id) {
  if (id.empty())
    return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  return true;
}

std::optional<std::string> env_region() {
  if (auto r = env("AWS_REGION"))
    return r;
  return env("AWS_DEFAULT_REGION");
}

std::string service_url(const std::string& service, const std::string& id) {
  const char* domain = id.rfind("cn-", 0) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
  return "https://" + service + "." + id + "." + domain;
}

} // namespace

result<credentials> resolve_credentials(const io::aws_credentials& spec) {
  using kind = io::aws_credentials::kind;
  switch (spec.type) {
  case kind::basic:
    if (spec.access_key_id.empty() || spec.secret_access_key.empty())
      return error{errc::malformed,
                   "awsCredentials of type basic need both accessKeyId and secretAccessKey"};
    return credentials{spec.access_key_id, spec.secret_access_key, {}};
  case kind::profile:
    return from_profile(spec.profile_name.empty() ? "default" : spec.profile_name,
                        locate_file(spec.profile_path));
  case kind::default_chain:
    break;
  }
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (id && secret)
    return credentials{*id, *secret, env("AWS_SESSION_TOKEN").value_or("")};
  std::string env_note = id       ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                         : secret ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
                                  : "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set";
  auto profile = env("AWS_PROFILE");
  auto found = from_profile(profile.value_or("default"), locate_file({}),
                            profile ? "$AWS_PROFILE" : nullptr);
  if (found || found.err().code != errc::unknown)
    return found;
  return error{errc::unknown, "no AWS credentials found: in the environment, " + env_note
                                + "; in the shared credentials file, " + found.err().message};
}

result<std::string> endpoint_for(const io::aws_region& region, const std::string& service,
                                 std::string* region_id) {
  using kind = io::aws_region::kind;
  std::string id;
  std::string url;
  switch (region.type) {
  case kind::specific:
    id = region.id;
    if (!region_name(id))
      return error{errc::malformed, "awsRegion '" + id + "' is not a region name (like us-east-1)"};
    url = service_url(service, id);
    break;
  case kind::custom_endpoint: {
    url = region.endpoint;
    while (!url.empty() && url.back() == '/')
      url.pop_back();
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      return error{errc::malformed,
                   "awsRegion endpoint '" + region.endpoint + "' must start with http:// or https://"};
    id = !region.id.empty() ? region.id : env_region().value_or("us-east-1");
    break;
  }
  case kind::default_chain: {
    auto r = env_region();
    if (!r)
      return error{errc::unknown,
                   "no AWS region: awsRegion is 'default' and neither AWS_REGION nor "
                   "AWS_DEFAULT_REGION is set"};
    id = *r;
    if (!region_name(id))
      return error{errc::malformed, "AWS region '" + id + "' from the environment is not a region name"};
    url = service_url(service, id);
    break;
  }
  }
  if (region_id)
    *region_id = id;
  return url;
}

} // namespace hearth::io::aws
