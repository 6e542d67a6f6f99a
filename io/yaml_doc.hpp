#pragma once

// io::yaml: YAML documents read with libyaml, as a small read-only tree: the
// part of a YAML node API that module.yaml loading needs (kind tests,
// scalars, map lookup, iteration, the line of a node). libyaml is a state
// machine fuzzed for years; the tree is built without recursion into the
// parser, aliases share their node (no expansion), and nesting deeper than
// max_depth is refused.

#include "protocol/result.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hearth::io::yaml {

struct mark {
  int line = -1; // 0-based
};

class node {
public:
  struct entry;
  class iterator;

  node() = default;

  explicit operator bool() const { return data_ != nullptr; } // defined
  bool IsNull() const;     // absent, or a plain "", "~", "null", "Null", "NULL"
  bool IsScalar() const;
  bool IsMap() const;
  bool IsSequence() const;
  const std::string& Scalar() const; // "" unless a scalar
  mark Mark() const;
  size_t size() const; // entries of a map, elements of a sequence

  /// The value of `key` in a map (an undefined node when absent).
  node operator[](const std::string& key) const;
  /// Element `i` of a sequence (an undefined node when out of range).
  node operator[](size_t i) const;

  iterator begin() const;
  iterator end() const;

  struct data;
  explicit node(std::shared_ptr<const data> d) : data_(std::move(d)) {}

private:
  std::shared_ptr<const data> data_;
};

/// A map entry; for a sequence element, `first` is the element.
struct node::entry {
  node first;
  node second;
};

class node::iterator {
public:
  iterator(std::shared_ptr<const data> d, size_t i) : data_(std::move(d)), i_(i) {}
  const entry& operator*() const;
  const entry* operator->() const { return &**this; }
  iterator& operator++() {
    ++i_;
    return *this;
  }
  bool operator!=(const iterator& o) const { return i_ != o.i_; }
  bool operator==(const iterator& o) const { return i_ == o.i_; }

private:
  std::shared_ptr<const data> data_;
  size_t i_;
};

struct node::data {
  enum class kind { scalar, map, sequence } what = kind::scalar;
  std::string scalar;
  bool plain = false; // an unquoted scalar (may be null)
  int line = -1;
  std::vector<entry> items; // map entries, or sequence elements in `first`
};

/// Deepest nesting of collections load_all() accepts.
inline constexpr int max_depth = 64;

/// Every document of `text`; errc::malformed with "<line>: <problem>" (1-based
/// line) for invalid YAML.
result<std::vector<node>> load_all(const std::string& text);

} // namespace hearth::io::yaml
