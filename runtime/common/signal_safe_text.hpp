// runtime/common/signal_safe_text.hpp — a line of text built inside a signal handler.
//
// Concept: a signal may interrupt malloc or stdio halfway, so a handler that reports
// something must not call either: this builds the report in a fixed buffer (on the
// handler's stack) from text, decimal numbers and addresses, and writes it with write(2),
// which is async-signal-safe. What does not fit is cut off. Used by the stack overflow
// reports of both backends (runtime/common/overflow.cpp, and runtime/green/overflow.cpp's
// pooled-stack check) and by the green watchdog (runtime/green/watchdog.cpp).
// Explained in: docs/04-stacks.md (what an overflow looks like) and docs/08-reactor.md
// (the watchdog). Read next: runtime/common/overflow.hpp.
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
  signal_safe_text& number(std::uint64_t n) noexcept { return digits(n, 10); }
  // `thousandths` / 1000 with one decimal, rounded down: 2049 is "2.0".
  signal_safe_text& one_decimal(std::uint64_t thousandths) noexcept {
    number(thousandths / 1000).text(".");
    return number(thousandths % 1000 / 100);
  }
  signal_safe_text& address(const void* p) noexcept {
    text("0x");
    return digits(reinterpret_cast<std::uintptr_t>(p), 16);
  }
  // Writes everything built so far to `fd`, again after EINTR; gives up on other errors.
  void write_to(int fd) const noexcept {
    for (std::size_t done = 0; done < used_;) {
      ssize_t n = ::write(fd, buffer_ + done, used_ - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EINTR) {
        return;
      }
    }
  }

 private:
  signal_safe_text& digits(std::uint64_t n, unsigned base) noexcept {
    char reversed[20];
    std::size_t count = 0;
    do reversed[count++] = "0123456789abcdef"[n % base];
    while ((n /= base) != 0);
    while (count > 0 && used_ < sizeof buffer_) buffer_[used_++] = reversed[--count];
    return *this;
  }

  char buffer_[1024];
  std::size_t used_ = 0;
};

}  // namespace spindle::detail
