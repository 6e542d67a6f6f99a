#pragma once

// actors::use_lean_scheduler: CAF's work-stealing scheduler with the same
// policy, settings (scheduler.max-threads, scheduler.max-throughput,
// work-stealing.*) and behaviour, built here without one cost. CAF 0.17.6 as
// Debian builds it defines CAF_LOG_LEVEL (at QUIET), so before every actor
// run its worker finds the actor behind the job with a dynamic_cast across
// CAF's class hierarchy, only to tag the thread for log lines that level
// never writes: about 1,300 instructions per run, 4 to 5 runs per
// invocation, 5% of the node's instructions per invocation (callgrind,
// docs/benchmarks.md). This worker skips that tag; nothing else changes.
//
// Call before constructing the actor system.

namespace caf {
class actor_system_config;
}

namespace hearth::actors {

void use_lean_scheduler(caf::actor_system_config& cfg);

} // namespace hearth::actors
