// Writing and reading snapshots: the format and the contracts are in snapshot.hpp.
//
// Explained in: docs/10-spindle-kv.md (snapshots).
// Read next: examples/kv/persistence.hpp.
#include "snapshot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

namespace spindle_kv {
namespace {

constexpr std::string_view magic = "SPKV";
constexpr std::uint32_t format_version = 1;
constexpr char record_tag = 'K';
constexpr char end_tag = 'E';

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> crc_table = make_crc_table();

[[noreturn]] void fail_system(const std::string& what, const std::filesystem::path& path) {
  throw SnapshotError(what + " " + path.string() + ": " + std::strerror(errno));
}

// Buffered writes to a new file, keeping the CRC of everything written.
class FileWriter {
 public:
  explicit FileWriter(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_system("cannot create", path);
  }
  ~FileWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void put(std::string_view bytes) {
    crc_ = crc32(crc_, bytes);
    buffer_.append(bytes);
    if (buffer_.size() >= 64 * 1024) flush();
  }
  void put_u32(std::uint32_t value) { put_little_endian(value, 4); }
  void put_u64(std::uint64_t value) { put_little_endian(value, 8); }
  std::uint32_t crc() const { return crc_; }

  // Writes what is buffered, forces the file to the disk, and closes it.
  void sync_and_close() {
    flush();
    if (::fsync(fd_) != 0) fail_system("cannot fsync", path_);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail_system("cannot close", path_);
  }

 private:
  void put_little_endian(std::uint64_t value, int size) {
    char bytes[8];
    for (int i = 0; i < size; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
    put(std::string_view(bytes, size));
  }
  void flush() {
    std::string_view rest = buffer_;
    while (!rest.empty()) {
      ssize_t written = ::write(fd_, rest.data(), rest.size());
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) fail_system("cannot write", path_);
      rest.remove_prefix(static_cast<std::size_t>(written));
    }
    buffer_.clear();
  }

  std::filesystem::path path_;
  int fd_ = -1;
  std::string buffer_;
  std::uint32_t crc_ = 0;
};

void put_sized(FileWriter& out, std::string_view bytes, const std::filesystem::path& path) {
  if (bytes.size() > std::numeric_limits<std::uint32_t>::max())
    throw SnapshotError("cannot write " + path.string() + ": a string is over 4 GiB");
  out.put_u32(static_cast<std::uint32_t>(bytes.size()));
  out.put(bytes);
}

void sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_system("cannot open directory", dir);
  int result = ::fsync(fd);
  ::close(fd);
  if (result != 0) fail_system("cannot fsync directory", dir);
}

std::size_t write_records(FileWriter& out, const Store& store, const std::filesystem::path& path) {
  out.put(magic);
  out.put_u32(format_version);
  std::uint64_t count = 0;
  store.for_each_live([&](std::string_view key, const Entry& entry) {
    out.put(std::string_view(&record_tag, 1));
    out.put_u64(static_cast<std::uint64_t>(entry.expires_at));
    put_sized(out, key, path);
    put_sized(out, entry.value, path);
    ++count;
  });
  out.put(std::string_view(&end_tag, 1));
  out.put_u64(count);
  out.put_u32(out.crc());
  return count;
}

// Reads a snapshot file front to back, keeping the CRC of everything read. Every read
// is checked against the file's size first, so a damaged length can neither run past
// the end nor make it allocate more than the file holds.
class FileReader {
 public:
  explicit FileReader(const std::filesystem::path& path)
      : path_(path), in_(path, std::ios::binary) {
    if (!in_) fail_system("cannot open", path);
    std::error_code error;
    size_ = std::filesystem::file_size(path, error);
    if (error) throw SnapshotError("cannot stat " + path.string() + ": " + error.message());
  }

  std::string take(std::size_t size) {
    if (size > size_ - offset_) corrupt("truncated");
    std::string bytes(size, '\0');
    if (!in_.read(bytes.data(), static_cast<std::streamsize>(size)))
      fail_system("cannot read", path_);
    offset_ += size;
    crc_ = crc32(crc_, bytes);
    return bytes;
  }
  char take_tag() { return take(1)[0]; }
  std::uint32_t take_u32() { return static_cast<std::uint32_t>(take_little_endian(4)); }
  std::uint64_t take_u64() { return take_little_endian(8); }

  std::uint32_t crc() const { return crc_; }
  bool at_end() const { return offset_ == size_; }

  [[noreturn]] void corrupt(const std::string& reason) const {
    throw SnapshotError("snapshot " + path_.string() + " is corrupt: " + reason + " (at byte " +
                        std::to_string(offset_) + ")");
  }

 private:
  std::uint64_t take_little_endian(int size) {
    std::string bytes = take(static_cast<std::size_t>(size));
    std::uint64_t value = 0;
    for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
    return value;
  }

  std::filesystem::path path_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
  std::uint32_t crc_ = 0;
};

// Reads one 'K' record, its tag already taken, into store unless it has expired.
void read_record(FileReader& in, Store& store, LoadReport& report) {
  auto expires_at = static_cast<std::int64_t>(in.take_u64());
  if (expires_at < no_expiry) in.corrupt("negative expiry time");
  std::string key = in.take(in.take_u32());
  std::string value = in.take(in.take_u32());
  if (store.find(key) != nullptr) in.corrupt("key stored twice");
  if (expires_at != no_expiry && store.now() > expires_at) {
    ++report.keys_expired;
    return;
  }
  store.set(key, std::move(value));
  if (expires_at != no_expiry) store.set_expiry(key, expires_at);
  ++report.keys_loaded;
}

// Checks the end: the record count, the checksum, and that nothing follows.
void read_end(FileReader& in, std::uint64_t records) {
  std::uint64_t count = in.take_u64();
  std::uint32_t computed = in.crc();
  if (in.take_u32() != computed) in.corrupt("checksum mismatch");
  if (count != records) in.corrupt("record count mismatch");
  if (!in.at_end()) in.corrupt("bytes after the end");
}

}  // namespace

std::uint32_t crc32(std::uint32_t crc, std::string_view data) {
  crc = ~crc;
  for (char byte : data)
    crc = crc_table[(crc ^ static_cast<unsigned char>(byte)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::filesystem::path temporary_snapshot_path(const std::filesystem::path& dir, long pid) {
  return dir / ("temp-" + std::to_string(pid) + ".spkv");
}

std::size_t write_snapshot(const Store& store, const std::filesystem::path& dir) {
  std::filesystem::path temp = temporary_snapshot_path(dir, ::getpid());
  std::filesystem::path final_path = dir / snapshot_file_name;
  try {
    FileWriter out(temp);
    std::size_t count = write_records(out, store, temp);
    out.sync_and_close();
    if (::rename(temp.c_str(), final_path.c_str()) != 0)
      fail_system("cannot rename to", final_path);
    sync_directory(dir);
    return count;
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
}

LoadReport load_snapshot(const std::filesystem::path& dir, Store& store) {
  std::filesystem::path path = dir / snapshot_file_name;
  LoadReport report;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    if (error) throw SnapshotError("cannot look for " + path.string() + ": " + error.message());
    return report;
  }
  report.found = true;
  FileReader in(path);
  if (in.take(magic.size()) != magic) in.corrupt("not a spindle-kv snapshot");
  if (std::uint32_t version = in.take_u32(); version != format_version)
    in.corrupt("unsupported format version " + std::to_string(version));

  Store loaded(store.clock());
  std::uint64_t records = 0;
  for (char tag = in.take_tag(); tag != end_tag; tag = in.take_tag()) {
    if (tag != record_tag) in.corrupt("unknown record type");
    read_record(in, loaded, report);
    ++records;
  }
  read_end(in, records);
  loaded.forget_changes(loaded.changes_since_save());
  store = std::move(loaded);
  return report;
}

}  // namespace spindle_kv
