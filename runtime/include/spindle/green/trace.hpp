// spindle/green/trace.hpp — seeing the scheduler: a record of what it did, for a viewer.
//
// Concept: while tracing is on, the calling kernel thread's scheduler notes every event
// (spawn, switch, park with its reason, wake, exit, a timer firing, a preemption) with a
// timestamp in a buffer, and write_chrome_json turns them into Chrome trace-event JSON, which
// Perfetto (ui.perfetto.dev) and chrome://tracing open: one track per green thread,
// a bar for each time it ran, a mark for each event. When tracing is off an event costs
// one load and one predicted branch.
//
//     spindle::green::trace::start();
//     ...the program...
//     spindle::green::trace::stop();
//     std::ofstream out("trace.json");
//     spindle::green::trace::write_chrome_json(out);
//
// Explained in: docs/05-scheduler.md (seeing the scheduler). Read next: runtime/green/trace.cpp.
#pragma once

#include <cstddef>
#include <ostream>

namespace spindle::green::trace {

// Starts recording the calling kernel thread's scheduler, dropping what an earlier run
// recorded. At most `capacity` events are kept; later ones are counted as dropped.
void start(std::size_t capacity = 1 << 20);
// Stops recording; what was recorded stays until the next start().
void stop();
// How many events were recorded, and how many did not fit.
std::size_t recorded();
std::size_t dropped();
// Writes the recording as Chrome trace-event JSON (the "traceEvents" object form).
void write_chrome_json(std::ostream& out);

}  // namespace spindle::green::trace
