// runtime/green/trace.cpp — recording the scheduler, and writing Chrome trace-event JSON.
//
// The JSON has one track (a "tid") per green thread, named after it; the scheduler
// loop is track 0. Each stretch of time a thread ran becomes a complete event ("X"),
// from the switch to it until the next switch away; spawn, park, wake, exit and timer
// events are instant events ("i") on the thread they concern.
// Explained in: docs/05-scheduler.md (seeing the scheduler). Read next: runtime/green/tracer.hpp.
#include "spindle/green/trace.hpp"

#include <cstdio>
#include <string>

#include "scheduler.hpp"
#include "tracer.hpp"

namespace spindle::green::detail {
namespace {

void write_string(std::ostream& out, const std::string& text) {
  out << '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out << '\\' << c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out << escaped;
    } else {
      out << c;
    }
  }
  out << '"';
}

const char* label(event_kind kind) {
  switch (kind) {
    case event_kind::spawn:
      return "spawn";
    case event_kind::run:
      return "run";
    case event_kind::park:
      return "park";
    case event_kind::wake:
      return "wake";
    case event_kind::exit:
      return "exit";
    case event_kind::timer:
      return "timer fired";
    case event_kind::preempt:
      return "preempted";
  }
  return "?";
}

void write_instant(std::ostream& out, const event& e, double us) {
  std::string name = label(e.kind);
  if (e.what) name += std::string(": ") + e.what;
  out << "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":" << e.thread << ",\"ts\":" << us
      << ",\"name\":";
  write_string(out, name);
  if (e.kind == event_kind::spawn) out << ",\"args\":{\"parent\":" << e.argument << '}';
  if (e.kind == event_kind::wake) out << ",\"args\":{\"by\":" << e.argument << '}';
  out << "},\n";
}

}  // namespace

void tracer::add(event_kind kind, std::uint64_t thread, const char* what,
                 std::uint64_t argument) noexcept {
  if (events_.size() == events_.capacity()) {
    ++dropped_;
    return;
  }
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  events_.push_back({std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(), thread,
                     kind, what, argument});
}

void tracer::write_chrome_json(std::ostream& out) const {
  out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  for (const auto& [id, name] : names_) {
    out << "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":" << id
        << ",\"args\":{\"name\":";
    write_string(out, name + " (id " + std::to_string(id) + ")");
    out << "}},\n";
  }
  std::int64_t origin = events_.empty() ? 0 : events_.front().ns;
  auto us = [origin](std::int64_t ns) { return static_cast<double>(ns - origin) / 1000.0; };
  const event* running = nullptr;
  for (const event& e : events_) {
    if (e.kind != event_kind::run) {
      write_instant(out, e, us(e.ns));
      continue;
    }
    if (running) {
      out << "{\"ph\":\"X\",\"name\":\"running\",\"pid\":1,\"tid\":" << running->thread
          << ",\"ts\":" << us(running->ns) << ",\"dur\":" << us(e.ns) - us(running->ns) << "},\n";
    }
    running = &e;
  }
  out << "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":\"spindle green "
         "scheduler\"}}\n]}\n";
}

void scheduler::start_trace(std::size_t capacity) {
  tracer_ = std::make_unique<tracer>(capacity);
  tracer_->name(0, "scheduler");
  for (record* r = all_; r; r = r->all_next) tracer_->name(r->id, r->name);
  tracing_ = true;
  update_gate();
  note(event_kind::run, running_);
}

void scheduler::stop_trace() noexcept {
  tracing_ = false;
  update_gate();
}

// Records a spawn; apart from the event, keeps the new thread's name (which allocates).
void scheduler::note_spawn(const record* fresh) noexcept {
  note(event_kind::spawn, fresh, nullptr, running_->id);
  try {
    tracer_->name(fresh->id, fresh->name.empty() ? "unnamed" : fresh->name);
  } catch (...) {
    // No memory for the name: the track shows only its id.
  }
}

}  // namespace spindle::green::detail

namespace spindle::green::trace {

void start(std::size_t capacity) { detail::scheduler::here().start_trace(capacity); }
void stop() { detail::scheduler::here().stop_trace(); }

std::size_t recorded() {
  const detail::tracer* t = detail::scheduler::here().trace_log();
  return t ? t->recorded() : 0;
}

std::size_t dropped() {
  const detail::tracer* t = detail::scheduler::here().trace_log();
  return t ? t->dropped() : 0;
}

void write_chrome_json(std::ostream& out) {
  const detail::tracer* t = detail::scheduler::here().trace_log();
  if (!t) {
    out << "{\"traceEvents\":[]}\n";
    return;
  }
  t->write_chrome_json(out);
}

}  // namespace spindle::green::trace
