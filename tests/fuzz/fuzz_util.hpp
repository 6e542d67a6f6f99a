#pragma once

// Helpers shared by the fuzz targets: a scratch folder per process, and a
// reader that cuts one input into fields.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>

namespace hearth::fuzz {

/// A folder of this process's own, emptied on each call.
inline std::string fresh_dir(const std::string& name) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("hearth-fuzz-" + name + "-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  return dir.string();
}

/// Cuts an input into fields separated by "\n--\n"; the last field takes the rest.
class fields {
public:
  fields(const std::uint8_t* data, size_t size)
    : rest_(reinterpret_cast<const char*>(data), size) {}
  std::string next() {
    auto pos = rest_.find("\n--\n");
    std::string out{rest_.substr(0, pos)};
    rest_ = pos == std::string_view::npos ? std::string_view{} : rest_.substr(pos + 4);
    return out;
  }
  std::string rest() {
    std::string out{rest_};
    rest_ = {};
    return out;
  }

private:
  std::string_view rest_;
};

} // namespace hearth::fuzz
