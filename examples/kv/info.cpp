// INFO's text: the contract is in info.hpp.
//
// Explained in: docs/10-spindle-kv.md (commands).
// Read next: examples/kv/snapshot.hpp.
#include "info.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>

namespace spindle_kv {
namespace {

constexpr std::array<std::string_view, 7> section_names = {
    "server", "clients", "memory", "persistence", "stats", "keyspace", "spindle"};

// Which sections args ask for, by index in section_names.
std::array<bool, section_names.size()> requested_sections(const Argv& args) {
  std::array<bool, section_names.size()> wanted{};
  for (const std::string& arg : args) {
    bool every = equals_ignoring_case(arg, "default") || equals_ignoring_case(arg, "all") ||
                 equals_ignoring_case(arg, "everything");
    for (std::size_t i = 0; i < section_names.size(); ++i)
      if (every || equals_ignoring_case(arg, section_names[i])) wanted[i] = true;
  }
  if (args.empty()) wanted.fill(true);
  return wanted;
}

void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(":").append(value).append("\r\n");
}

void field(std::string& out, std::string_view name, std::int64_t value) {
  field(out, name, std::to_string(value));
}

// Redis's used_memory_human form: 1023B, 1.00K, 12.35M, 2.00G.
std::string bytes_to_human(std::size_t bytes) {
  static constexpr std::array<char, 5> units = {'K', 'M', 'G', 'T', 'P'};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < units.size()) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%c", value, units[unit]);
  return text;
}

void persistence_fields(std::string& out, const PersistenceStats& stats, const Store& store) {
  field(out, "loading", 0);
  field(out, "rdb_changes_since_last_save", static_cast<std::int64_t>(store.changes_since_save()));
  field(out, "rdb_bgsave_in_progress", stats.rdb_bgsave_in_progress ? 1 : 0);
  field(out, "rdb_last_save_time", stats.rdb_last_save_time);
  field(out, "rdb_last_bgsave_status", stats.rdb_last_bgsave_status_ok ? "ok" : "err");
  field(out, "rdb_last_bgsave_time_sec", stats.rdb_last_bgsave_time_sec);
  field(out, "rdb_current_bgsave_time_sec", stats.rdb_current_bgsave_time_sec);
  field(out, "rdb_saves", stats.rdb_saves);
  field(out, "rdb_last_load_keys_expired", stats.rdb_last_load_keys_expired);
  field(out, "rdb_last_load_keys_loaded", stats.rdb_last_load_keys_loaded);
}

void section(std::string& out, std::size_t index, const Store& store,
             const Persistence& persistence, const ServerFacts& facts) {
  std::string_view name = section_names[index];
  if (name == "server") {
    field(out, "thread_backend", facts.thread_backend);
    field(out, "process_id", static_cast<std::int64_t>(::getpid()));
    field(out, "uptime_in_seconds", facts.uptime_in_seconds);
  } else if (name == "clients") {
    field(out, "connected_clients", facts.connected_clients);
  } else if (name == "memory") {
    field(out, "used_memory", static_cast<std::int64_t>(store.used_memory()));
    field(out, "used_memory_human", bytes_to_human(store.used_memory()));
    field(out, "used_memory_peak", static_cast<std::int64_t>(store.peak_memory()));
    field(out, "used_memory_peak_human", bytes_to_human(store.peak_memory()));
  } else if (name == "persistence") {
    persistence_fields(out, persistence.stats(), store);
  } else if (name == "stats") {
    PersistenceStats stats = persistence.stats();
    field(out, "total_connections_received", facts.total_connections_received);
    field(out, "expired_keys", static_cast<std::int64_t>(store.expired_keys()));
    field(out, "latest_fork_usec", stats.latest_fork_usec);
    field(out, "total_forks", stats.total_forks);
  } else if (name == "spindle" && facts.spindle_section) {
    out += facts.spindle_section();
  } else if (name == "keyspace" && store.size() > 0) {
    field(out, "db0",
          "keys=" + std::to_string(store.size()) + ",expires=" + std::to_string(store.expiring()) +
              ",avg_ttl=" + std::to_string(store.average_ttl()));
  }
}

}  // namespace

std::string render_info(const Argv& args, const Store& store, const Persistence& persistence,
                        const ServerFacts& facts) {
  auto wanted = requested_sections(args);
  std::string out;
  for (std::size_t i = 0; i < section_names.size(); ++i) {
    if (!wanted[i]) continue;
    if (section_names[i] == "spindle" && !facts.spindle_section) continue;
    if (!out.empty()) out += "\r\n";
    std::string title(section_names[i]);
    title[0] = static_cast<char>(title[0] - 'a' + 'A');
    out += "# " + title + "\r\n";
    section(out, i, store, persistence, facts);
  }
  return out;
}

}  // namespace spindle_kv
