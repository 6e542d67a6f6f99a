#pragma once

// A fresh directory name under the system's temp dir, removed with
// everything in it when the test ends.

#include <filesystem>
#include <random>
#include <string>

namespace hearth::testing {

struct temp_dir {
  std::string path = (std::filesystem::temp_directory_path()
                      / ("hearth-test-" + std::to_string(std::random_device{}())))
                       .string();
  temp_dir() = default;
  /// `create`: make the directory now (else whoever uses it does).
  explicit temp_dir(bool create) {
    if (create)
      std::filesystem::create_directories(path);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() { std::filesystem::remove_all(path); }
};

} // namespace hearth::testing
