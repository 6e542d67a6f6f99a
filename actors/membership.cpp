#include "actors/membership.hpp"

#include <algorithm>

namespace hearth::actors {

namespace {

/// "at line N: 'theirs' (the cluster has 'ours')", lines cut to 80 bytes for
/// display only.
std::string first_difference(const std::string& theirs, const std::string& ours) {
  auto line_at = [](const std::string& text, size_t& pos) -> std::optional<std::string> {
    if (pos >= text.size())
      return std::nullopt;
    auto end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    return line;
  };
  auto show = [](const std::optional<std::string>& l) {
    return l ? "'" + l->substr(0, 80) + (l->size() > 80 ? "...'" : "'") : std::string{"the end"};
  };
  size_t a = 0, b = 0;
  for (size_t n = 1;; ++n) {
    auto x = line_at(theirs, a);
    auto y = line_at(ours, b);
    if (!x && !y)
      return "in its line endings"; // the same lines, a trailing newline differs
    if (x != y)
      return "at line " + std::to_string(n) + ": " + show(x) + " (the cluster has " + show(y) + ")";
  }
}

} // namespace

const member_info* cluster_view::find(const std::string& id) const {
  for (auto& m : members)
    if (m.id == id)
      return &m;
  return nullptr;
}

placement cluster_view::layout() const {
  std::vector<placement::slot> slots;
  for (auto& m : members)
    slots.push_back({m.id, m.draining ? 0 : m.partitions});
  return placement{std::move(slots), max_key_groups};
}

membership::membership(member_info first, cluster_terms terms) : terms_(std::move(terms)) {
  view_.epoch = 1;
  view_.coordinator = first.id;
  view_.max_key_groups = terms_.max_key_groups;
  view_.members.push_back(std::move(first));
}

membership::membership(cluster_view view, cluster_terms terms)
  : view_(std::move(view)), terms_(std::move(terms)) {}

cluster_view membership::next(std::vector<member_info> members) {
  std::sort(members.begin(), members.end(),
            [](const member_info& a, const member_info& b) { return a.id < b.id; });
  view_.members = std::move(members);
  ++view_.epoch;
  return view_;
}

result<cluster_view> membership::join(const member_info& m, const cluster_terms& terms) {
  auto refuse = [&](const std::string& why) {
    return error{errc::conflict, "node '" + m.id + "' cannot join: " + why};
  };
  if (terms.max_key_groups != terms_.max_key_groups)
    return refuse("its max_key_groups is " + std::to_string(terms.max_key_groups)
                  + ", the cluster's is " + std::to_string(terms_.max_key_groups));
  if (terms.module != terms_.module)
    return refuse("its module.yaml differs from the cluster's " + first_difference(terms.module, terms_.module));
  if (m.id.empty())
    return refuse("it has no node id");
  if (m.partitions == 0)
    return refuse("it runs no partitions");
  auto members = view_.members;
  auto it = std::find_if(members.begin(), members.end(),
                         [&](const member_info& x) { return x.id == m.id; });
  if (m.id == view_.coordinator)
    return refuse("it has the coordinator's node id");
  if (it != members.end()) {
    if (m.incarnation == it->incarnation && m.host == it->host && m.port == it->port
        && m.partitions == it->partitions)
      return view_; // asked again (an answer was lost or late)
    if (m.incarnation <= it->incarnation)
      return refuse("incarnation " + std::to_string(m.incarnation) + " is not newer than "
                    + std::to_string(it->incarnation) + ", already a member");
    *it = m;
  } else {
    size_t owning = 1;
    for (auto& x : members)
      owning += x.draining ? 0 : 1;
    if (owning > terms_.max_key_groups)
      return refuse("the cluster would have more nodes than its " + std::to_string(terms_.max_key_groups)
                    + " key groups");
    members.push_back(m);
  }
  return next(std::move(members));
}

cluster_view membership::resume(const member_info& self) {
  auto members = view_.members;
  auto it = std::find_if(members.begin(), members.end(),
                         [&](const member_info& x) { return x.id == self.id; });
  if (it != members.end())
    *it = self;
  else
    members.push_back(self);
  view_.coordinator = self.id;
  view_.max_key_groups = terms_.max_key_groups;
  return next(std::move(members));
}

std::optional<cluster_view> membership::remove(const std::string& id, std::uint64_t incarnation) {
  if (id == view_.coordinator)
    return std::nullopt;
  auto members = view_.members;
  auto it = std::find_if(members.begin(), members.end(), [&](const member_info& x) {
    return x.id == id && x.incarnation == incarnation;
  });
  if (it == members.end())
    return std::nullopt;
  members.erase(it);
  return next(std::move(members));
}

cluster_view membership::renew() { return next(view_.members); }

result<cluster_view> membership::drain(const std::string& id) {
  auto members = view_.members;
  auto it = std::find_if(members.begin(), members.end(),
                         [&](const member_info& x) { return x.id == id; });
  if (it == members.end())
    return error{errc::unknown, "node '" + id + "' is not a member"};
  if (id == view_.coordinator)
    return error{errc::conflict, "node '" + id + "' is the coordinator and cannot be drained"};
  if (it->draining)
    return view_;
  size_t owning = 0;
  for (auto& x : members)
    owning += x.draining ? 0 : 1;
  if (owning <= 1)
    return error{errc::conflict, "node '" + id + "' is the last one owning key groups"};
  it->draining = true;
  return next(std::move(members));
}

epoch_fence::verdict epoch_fence::check(std::uint64_t epoch) const {
  if (fenced_ || !view_)
    return verdict::fenced;
  auto mine = this->epoch();
  if (epoch < mine)
    return verdict::stale;
  if (epoch > mine)
    return verdict::ahead;
  return verdict::current;
}

bool epoch_fence::adopt(const cluster_view& v) {
  if (view_ && v.epoch <= view_->epoch)
    return false;
  view_ = v;
  auto* me = v.find(self_);
  fenced_ = !me || me->incarnation != incarnation_;
  return true;
}

} // namespace hearth::actors
