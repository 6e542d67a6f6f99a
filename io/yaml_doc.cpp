#include "io/yaml_doc.hpp"

#include <yaml.h>

#include <map>

namespace hearth::io::yaml {

namespace {
const std::string empty;
}

bool node::IsNull() const {
  if (!data_)
    return true;
  if (data_->what != data::kind::scalar || !data_->plain)
    return false;
  auto& s = data_->scalar;
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool node::IsScalar() const { return data_ && data_->what == data::kind::scalar; }
bool node::IsMap() const { return data_ && data_->what == data::kind::map; }
bool node::IsSequence() const { return data_ && data_->what == data::kind::sequence; }
const std::string& node::Scalar() const { return IsScalar() ? data_->scalar : empty; }
mark node::Mark() const { return mark{data_ ? data_->line : -1}; }
size_t node::size() const { return data_ && data_->what != data::kind::scalar ? data_->items.size() : 0; }

node node::operator[](const std::string& key) const {
  if (!IsMap())
    return {};
  for (auto& e : data_->items)
    if (e.first.IsScalar() && e.first.Scalar() == key)
      return e.second;
  return {};
}

node node::operator[](size_t i) const {
  if (!IsSequence() || i >= data_->items.size())
    return {};
  return data_->items[i].first;
}

node::iterator node::begin() const { return iterator{data_, 0}; }
node::iterator node::end() const { return iterator{data_, size()}; }

const node::entry& node::iterator::operator*() const { return data_->items[i_]; }

namespace {

/// Builds the tree of one libyaml document; nodes are built once each, so an
/// alias shares the node it names.
class builder {
public:
  explicit builder(yaml_document_t& doc) : doc_(doc) {}

  result<node> build(int index, int depth) {
    if (auto it = built_.find(index); it != built_.end())
      return it->second;
    auto* n = yaml_document_get_node(&doc_, index);
    if (!n)
      return error{errc::malformed, "1: a node refers to nothing"};
    auto d = std::make_shared<node::data>();
    d->line = static_cast<int>(n->start_mark.line);
    if (n->type == YAML_SCALAR_NODE) {
      d->scalar.assign(reinterpret_cast<const char*>(n->data.scalar.value), n->data.scalar.length);
      d->plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    } else {
      if (depth >= max_depth)
        return error{errc::malformed, std::to_string(d->line + 1) + ": nested deeper than "
                                        + std::to_string(max_depth) + " levels"};
      if (n->type == YAML_SEQUENCE_NODE) {
        d->what = node::data::kind::sequence;
        for (auto* i = n->data.sequence.items.start; i < n->data.sequence.items.top; ++i) {
          auto child = build(*i, depth + 1);
          if (!child)
            return child.err();
          d->items.push_back({*child, {}});
        }
      } else {
        d->what = node::data::kind::map;
        for (auto* p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; ++p) {
          auto k = build(p->key, depth + 1);
          if (!k)
            return k.err();
          auto v = build(p->value, depth + 1);
          if (!v)
            return v.err();
          d->items.push_back({*k, *v});
        }
      }
    }
    node out{std::move(d)};
    built_.emplace(index, out);
    return out;
  }

private:
  yaml_document_t& doc_;
  std::map<int, node> built_;
};

} // namespace

result<std::vector<node>> load_all(const std::string& text) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p))
    return error{errc::io, "cannot start the YAML parser"};
  yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  std::vector<node> docs;
  for (;;) {
    yaml_document_t doc;
    if (!yaml_parser_load(&p, &doc)) {
      std::string what = p.problem ? p.problem : "not YAML";
      if (p.context)
        what = std::string{p.context} + ": " + what;
      auto line = p.problem_mark.line + 1;
      yaml_parser_delete(&p);
      return error{errc::malformed, std::to_string(line) + ": " + what};
    }
    auto* root = yaml_document_get_root_node(&doc);
    if (!root) { // the end of the stream
      yaml_document_delete(&doc);
      break;
    }
    builder b{doc};
    auto built = b.build(1, 0);
    yaml_document_delete(&doc);
    if (!built) {
      yaml_parser_delete(&p);
      return built.err();
    }
    docs.push_back(*built);
  }
  yaml_parser_delete(&p);
  return docs;
}

} // namespace hearth::io::yaml
