#include "actors/checkpoint_recorder.hpp"

namespace hearth::actors {

status checkpoint_recorder::record(std::uint64_t id, state::store& store,
                                          state::part_extras extras) {
  status outcome = ok();
  open_recording r;
  r.id = id;
  if (auto view = store.take_snapshot())
    r.view = std::shared_ptr<state::snapshot>{std::move(*view)};
  else
    outcome = view.err();
  auto changes = store.take_changes();
  bool full = changes.overflow || chain_.empty() || last_completed_ != last_recorded_
              || chain_.size() >= full_every_;
  auto name = state::checkpoint_files::part_name(id, route_.self, full, epoch_);
  if (!full) {
    r.changed = std::make_shared<std::unordered_set<std::string>>(std::move(changes.keys));
    r.chain = chain_;
  }
  r.chain.push_back(name);
  r.extras = std::move(extras);
  r.extras.logged.clear();
  r.logs.resize(tracker_.inputs());
  recorded_chains_[id] = r.chain;
  last_recorded_ = id;
  rec_ = std::move(r);
  return outcome;
}

std::optional<snapshot_job> checkpoint_recorder::finish() {
  if (!rec_)
    return std::nullopt;
  auto r = std::move(*rec_);
  rec_.reset();
  if (!r.view)
    return std::nullopt;
  for (auto& channel : r.logs)
    for (auto& env : channel)
      r.extras.logged.push_back({route_.kg_of(env.target), 0, env.target, {std::move(env.inv)}});
  snapshot_job job;
  job.checkpoint = r.id;
  job.epoch = epoch_;
  job.partition = route_.self;
  job.view = std::move(r.view);
  job.changed = std::move(r.changed);
  job.chain = std::move(r.chain);
  job.extras = std::move(r.extras);
  return job;
}

void checkpoint_recorder::completed(std::uint64_t id) {
  if (id <= last_completed_)
    return;
  last_completed_ = id;
  if (auto it = recorded_chains_.find(id); it != recorded_chains_.end())
    chain_ = it->second;
  recorded_chains_.erase(recorded_chains_.begin(), recorded_chains_.upper_bound(id));
}

} // namespace hearth::actors
