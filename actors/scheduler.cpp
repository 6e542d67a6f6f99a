#include "actors/scheduler.hpp"

// The worker's loop comes from caf/scheduler/worker.hpp, a template expanded
// in this file: the tag's macro must be replaced before that header is read,
// so CAF's logger header comes first and nothing above includes CAF.
#include <caf/logger.hpp>

#undef CAF_PUSH_AID_FROM_PTR
#define CAF_PUSH_AID_FROM_PTR(ptr) static_cast<void>(0)

#include <caf/actor_system_config.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace hearth::actors {

namespace {

/// CAF's work stealing, under a type of its own so that its coordinator and
/// worker are expanded here (with the macro above), not taken from CAF's
/// library.
struct lean_work_stealing : caf::policy::work_stealing {};

} // namespace

void use_lean_scheduler(caf::actor_system_config& cfg) {
  cfg.load<caf::scheduler::coordinator<lean_work_stealing>>();
}

} // namespace hearth::actors
