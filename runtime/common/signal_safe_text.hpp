// runtime/common/signal_safe_text.hpp — a line of text built inside a signal handler.
//
// Concept: a handler for a fault may interrupt malloc or stdio halfway, so it must not
// call them: it formats its report by hand into a fixed buffer (on the signal stack) and
// writes it with write(2), which is async-signal-safe. What does not fit is cut off.
// Used by both backends' stack overflow reports (runtime/common/overflow.cpp, and
// runtime/green/overflow.cpp's pooled-stack check).
// Explained in: docs/04-stacks.md (what an overflow looks like).
// Read next: runtime/common/overflow.hpp.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spindle::detail {

class signal_safe_text {
 public:
  signal_safe_text& text(std::string_view s) noexcept {
    std::size_t n = std::min(s.size(), sizeof buffer_ - used_);
    std::copy_n(s.data(), n, buffer_ + used_);
    used_ += n;
    return *this;
  }
  signal_safe_text& number(std::uint64_t n) noexcept { return digits(n, 10, ""); }
  signal_safe_text& address(const void* p) noexcept {
    return digits(reinterpret_cast<std::uintptr_t>(p), 16, "0x");
  }
  // Writes the whole line to `fd`, retrying after EINTR and short writes.
  void write_to(int fd) const noexcept {
    for (std::size_t done = 0; done < used_;) {
      ssize_t n = write(fd, buffer_ + done, used_ - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EINTR) {
        return;
      }
    }
  }

 private:
  signal_safe_text& digits(std::uint64_t n, unsigned base, std::string_view prefix) noexcept {
    char reversed[20];
    std::size_t count = 0;
    do reversed[count++] = "0123456789abcdef"[n % base];
    while ((n /= base) != 0);
    text(prefix);
    while (count > 0 && used_ < sizeof buffer_) buffer_[used_++] = reversed[--count];
    return *this;
  }

  char buffer_[768];
  std::size_t used_ = 0;
};

}  // namespace spindle::detail
