// spindle/green/watchdog.hpp — the watchdog: a word on stderr when a green thread has
// blocked its scheduler in a system call, or has computed too long without yielding.
//
// Concept: a green thread that makes a blocking system call (libc's read on a pipe, a
// lock of a clone or std mutex) stops every green thread of its kernel thread, without a
// sound. The watchdog notices that the scheduler has made no hand-over for `threshold()`
// while the running green thread sits in a system call and other green threads could run,
// and writes once per such stall, for example:
//
//     spindle: green thread 3 "reader" has blocked its scheduler for 1.0 s in the system
//     call read(2) ... use spindle::green::io::read ...
//
// It is on by default with a threshold of one second; the environment variable
// SPINDLE_WATCHDOG, read once when spindle first needs the threshold (the first spawn),
// sets another (SPINDLE_WATCHDOG=0.2 is 200 ms, SPINDLE_WATCHDOG=off turns it off), and
// set_threshold overrides both. It creates no kernel thread: a per-kernel-thread timer
// sends that kernel thread a realtime signal (SIGRTMAX-1 unless that one has a handler
// already), whose handler looks. Like any signal, a tick ends some calls early with
// EINTR (nanosleep, poll, epoll_wait: signal(7)); spindle's calls retry.
// The same tick watches for hogs: a green thread that computes (no system call) for
// `hog_limit()` without yielding while others could run is named, with how long and the
// instruction the tick interrupted, symbolised:
//
//     spindle: green thread 4 "spinner" has run for at least 1.0 s without yielding; it was
//     at 0x55d0c2a4b1f3 (spin+0x13 in ./program) ...
//
// It is reported, never stopped. The hog limit is also on by default, at one second;
// SPINDLE_HOG_LIMIT (seconds, or off) and set_hog_limit set it as for the threshold.
// Preemption (spindle/green/preemption.hpp) cures what it reports. The clone
// backend needs no watchdog: the kernel schedules each of its threads, so a blocking
// call blocks only the thread that made it.
// Explained in: docs/08-reactor.md (the watchdog). Read next: runtime/green/watchdog.hpp.
#pragma once

#include <chrono>

namespace spindle::green::watchdog {

// The threshold when neither SPINDLE_WATCHDOG nor set_threshold says otherwise.
inline constexpr std::chrono::milliseconds default_threshold{1000};

// Sets the process's threshold; zero (or less) turns the watchdog off. Takes effect at
// once on the calling kernel thread's scheduler, and on the schedulers of other kernel
// threads at their next tick, spawn or return from idle. Callable from any thread.
void set_threshold(std::chrono::milliseconds threshold);

// The process's threshold now; zero when the watchdog is off.
std::chrono::milliseconds threshold();

// The hog limit when neither SPINDLE_HOG_LIMIT nor set_hog_limit says otherwise.
inline constexpr std::chrono::milliseconds default_hog_limit{1000};

// Sets the process's hog limit; zero (or less) turns the hog watchdog off. Takes effect
// as set_threshold does.
void set_hog_limit(std::chrono::milliseconds limit);

// The process's hog limit now; zero when the hog watchdog is off.
std::chrono::milliseconds hog_limit();

}  // namespace spindle::green::watchdog
