#include "actors/ingress_gate.hpp"

#include <utility>
#include <vector>

namespace hearth::actors {

using clock = std::chrono::steady_clock;
using kind = ingress_gate::outcome::kind;

ingress_gate::~ingress_gate() {
  {
    std::lock_guard<std::mutex> g{mtx_};
    timer_stop_ = true;
  }
  timer_cv_.notify_one();
  if (timer_.joinable())
    timer_.join();
}

void ingress_gate::expect(std::uint64_t offset) {
  std::lock_guard<std::mutex> g{mtx_};
  if (!open_)
    waiting_.try_emplace(offset);
}

bool ingress_gate::ready(const entry& e) const {
  if (!e.done)
    return false;
  return open_ || (e.mode == until::accepted ? e.accepted : e.finished);
}

ingress_gate::fired ingress_gate::take(std::unordered_map<std::uint64_t, entry>::iterator it,
                                       bool timed_out) {
  auto& e = it->second;
  fired f{std::move(e.done), {}};
  if (timed_out)
    f.out.what = kind::timeout;
  else if (e.mode == until::accepted)
    f.out.what = e.accepted ? kind::accepted : kind::stopping;
  else if (!e.finished)
    f.out.what = kind::stopping;
  else if (e.lost)
    f.out.what = kind::lost;
  else
    f.out = {kind::applied, std::move(e.batch)};
  if (e.held)
    --held_;
  if (e.timed)
    deadlines_.erase(e.deadline);
  waiting_.erase(it);
  return f;
}

void ingress_gate::settle(std::unordered_map<std::uint64_t, entry>::iterator it,
                          std::vector<fired>& out) {
  if (ready(it->second))
    out.push_back(take(it));
}

void ingress_gate::watch(std::uint64_t offset, until mode, std::chrono::milliseconds timeout,
                         size_t max_waiting, notify done) {
  std::unique_lock<std::mutex> lock{mtx_};
  auto it = waiting_.find(offset);
  if (it == waiting_.end()) {
    auto what = open_ ? kind::stopping : kind::accepted;
    lock.unlock();
    done({what, {}});
    return;
  }
  auto& e = it->second;
  e.mode = mode;
  e.done = std::move(done);
  if (mode == until::accepted && !e.accepted && !open_ && held_ >= max_waiting)
    e.accepted = true; // not held back: too many are already
  if (ready(e)) {
    auto f = take(it);
    lock.unlock();
    f.done(std::move(f.out));
    return;
  }
  if (mode == until::accepted) {
    e.held = true;
    ++held_;
    return;
  }
  auto at = clock::now() + timeout;
  e.timed = true;
  e.deadline = deadlines_.emplace(at, offset);
  if (!timer_.joinable())
    timer_ = std::thread([this] { run_timer(); });
  else if (at < timer_wakes_)
    timer_cv_.notify_one();
}

void ingress_gate::run_timer() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!timer_stop_) {
    auto now = clock::now();
    std::vector<fired> due;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto it = waiting_.find(deadlines_.begin()->second);
      if (it == waiting_.end() || !it->second.timed) { // cannot happen: take() erases both
        deadlines_.erase(deadlines_.begin());
        continue;
      }
      due.push_back(take(it, true));
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& f : due)
        f.done(std::move(f.out));
      lock.lock();
      continue;
    }
    timer_wakes_ = deadlines_.empty() ? clock::time_point::max() : deadlines_.begin()->first;
    if (deadlines_.empty())
      timer_cv_.wait(lock);
    else
      timer_cv_.wait_until(lock, timer_wakes_);
  }
}

void ingress_gate::accept(std::uint64_t offset) {
  std::vector<fired> out;
  {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = waiting_.find(offset);
    if (it == waiting_.end())
      return;
    it->second.accepted = true;
    settle(it, out);
  }
  for (auto& f : out)
    f.done(std::move(f.out));
}

void ingress_gate::applied(std::uint64_t offset, const invocation_record& batch) {
  std::vector<fired> out;
  {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = waiting_.find(offset);
    if (it == waiting_.end())
      return;
    it->second.accepted = it->second.finished = true;
    it->second.batch = batch;
    settle(it, out);
  }
  for (auto& f : out)
    f.done(std::move(f.out));
}

void ingress_gate::lost(std::uint64_t offset) {
  std::vector<fired> out;
  {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = waiting_.find(offset);
    if (it == waiting_.end())
      return;
    it->second.accepted = it->second.finished = it->second.lost = true;
    settle(it, out);
  }
  for (auto& f : out)
    f.done(std::move(f.out));
}

bool ingress_gate::is_accepted(std::uint64_t offset) {
  std::lock_guard<std::mutex> g{mtx_};
  auto it = waiting_.find(offset);
  return it != waiting_.end() && it->second.accepted;
}

void ingress_gate::set_full(const std::string& key, bool full) {
  std::lock_guard<std::mutex> g{mtx_};
  if (full)
    full_.insert(key);
  else
    full_.erase(key);
}

bool ingress_gate::is_full(const std::string& key) {
  std::lock_guard<std::mutex> g{mtx_};
  return full_.count(key) != 0;
}

void ingress_gate::set_partition_full(std::uint32_t p, bool full) {
  std::lock_guard<std::mutex> g{mtx_};
  if (full)
    full_partitions_.insert(p);
  else
    full_partitions_.erase(p);
}

bool ingress_gate::is_partition_full(std::uint32_t p) {
  std::lock_guard<std::mutex> g{mtx_};
  return full_partitions_.count(p) != 0;
}

size_t ingress_gate::waiting() {
  std::lock_guard<std::mutex> g{mtx_};
  return held_;
}

void ingress_gate::release_senders() {
  std::vector<fired> out;
  {
    std::lock_guard<std::mutex> g{mtx_};
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      auto next = std::next(it);
      it->second.accepted = true;
      settle(it, out);
      it = next;
    }
  }
  for (auto& f : out)
    f.done(std::move(f.out));
}

void ingress_gate::open_all() {
  std::vector<fired> out;
  {
    std::lock_guard<std::mutex> g{mtx_};
    open_ = true;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      auto next = std::next(it);
      settle(it, out);
      it = next;
    }
  }
  for (auto& f : out)
    f.done(std::move(f.out));
}

} // namespace hearth::actors
