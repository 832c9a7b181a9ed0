// Snapshots: the whole keyspace written to one file, DIR/dump.spkv, and read back when
// the server starts.
//
// The file format (integers are little-endian):
//
//   "SPKV"  u32 version (1)                                   the header
//   'K'  i64 expires_at  u32 key size  key  u32 value size  value    one record per key
//   'E'  u64 number of 'K' records  u32 checksum              the end
//
// expires_at is unix time in ms, or -1 for a key without one. The checksum is the
// CRC-32 (the one of zlib and Ethernet) of every byte before it, so a file that was cut
// short or damaged is refused as a whole, never loaded in part.
//
// A crash must never leave a torn snapshot behind. So the snapshot is written to a
// temporary file, DIR/temp-PID.spkv, which is flushed to the disk (fsync), then renamed
// over dump.spkv, then the directory is flushed too, so that the rename itself survives
// a power cut. rename() replaces a name atomically: a reader sees the old file or the
// new one. A temporary file left by a crash is never read.
//
// Explained in: docs/10-spindle-kv.md (snapshots).
// Read next: examples/kv/snapshot.cpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include "store.hpp"

namespace spindle_kv {

inline constexpr std::string_view snapshot_file_name = "dump.spkv";

// A snapshot could not be written or read. what() names the file and the reason.
class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadReport {
  bool found = false;  // false: dir held no snapshot; the store is left as it was
  std::size_t keys_loaded = 0;
  std::size_t keys_expired = 0;  // keys whose expiry time had passed, left out
};

// Writes every live key of store to dir/dump.spkv, replacing it atomically as above.
// Returns the number of keys written. Throws SnapshotError, leaving no temporary file
// and the previous dump.spkv untouched. Safe to call in a child made by fork(): it uses
// only malloc (which glibc makes safe after fork) and system calls.
std::size_t write_snapshot(const Store& store, const std::filesystem::path& dir);

// Replaces the contents of store with the snapshot in dir, if there is one. Throws
// SnapshotError, leaving store untouched, if the file cannot be read or is not an
// intact snapshot (wrong magic or version, truncated, bad checksum, bad record).
// The loaded keys do not count as changes since the last save.
LoadReport load_snapshot(const std::filesystem::path& dir, Store& store);

// The temporary file that process pid writes before renaming it to dump.spkv.
std::filesystem::path temporary_snapshot_path(const std::filesystem::path& dir, long pid);

// The CRC-32 of data continued from crc (start from 0), as zlib's crc32() computes it.
std::uint32_t crc32(std::uint32_t crc, std::string_view data);

}  // namespace spindle_kv
