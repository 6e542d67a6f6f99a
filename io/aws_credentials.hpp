#pragma once

// io::aws credentials and endpoints: where a connector's AWS keys and
// service URL come from, given module.yaml's awsCredentials and awsRegion
// (io::aws_credentials, io::aws_region), resolved the way AWS's SDKs do for
// the sources Hearth supports: given keys, the environment, and the shared
// credentials file. Not supported: ~/.aws/config, SSO, web identity,
// credential_process, and the ECS/EC2 metadata services.
//
// Reads the environment and files: call at start-up (or when a connector
// opens), not on a CAF scheduler thread in a loop. Thread-safe as long as
// nobody changes the environment meanwhile.

#include "io/aws_sigv4.hpp"
#include "io/module.hpp"
#include "protocol/result.hpp"

#include <string>

namespace hearth::io::aws {

/// The keys `spec` names.
///  - basic: the given access key id and secret (errc::malformed when either
///    is empty).
///  - profile: the section [profile_name] (empty name: "default") of the
///    INI file profile_path, else $AWS_SHARED_CREDENTIALS_FILE, else
///    $HOME/.aws/credentials; keys aws_access_key_id, aws_secret_access_key
///    and, optionally, aws_session_token.
///  - default chain: $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY (with
///    $AWS_SESSION_TOKEN when set), else the profile $AWS_PROFILE (else
///    "default") of the shared credentials file as above.
/// Errors: errc::unknown when no credentials are found (the message names
/// every variable and file looked at); errc::io when the credentials file
/// exists but cannot be read; errc::malformed when a profile lacks one of
/// the two keys.
result<credentials> resolve_credentials(const io::aws_credentials& spec);

/// The base URL ("https://host[:port]", no trailing slash) of AWS `service`
/// ("kinesis", "s3", ...) for `region`, and in `*region_id` (when not null)
/// the region to sign with.
///  - specific: https://<service>.<id>.amazonaws.com (amazonaws.com.cn for
///    cn-* regions); errc::malformed when the id is not a region name
///    (lower-case letters, digits and '-').
///  - custom-endpoint: the given endpoint (errc::malformed unless it starts
///    with http:// or https://); signed for `id`, else as the default region
///    below, else "us-east-1" (local test peers do not check).
///  - default: as specific for $AWS_REGION, else $AWS_DEFAULT_REGION;
///    errc::unknown when neither is set.
result<std::string> endpoint_for(const io::aws_region& region, const std::string& service,
                                 std::string* region_id);

} // namespace hearth::io::aws
