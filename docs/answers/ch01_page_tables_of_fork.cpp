// docs/answers/ch01_page_tables_of_fork.cpp — the answer to docs/01-three-models.md,
// exercise 7: measure yourself what fork copies. The program maps and touches N MiB
// (4 KiB pages: it asks for no huge pages), forks, and reads VmPTE, the size of the page
// tables, from /proc/self/status in the parent and in the child, for several N.
//
// What it shows: the child starts with page tables as large as its parent's, and both
// grow with N by about 2 KiB per MiB (one 8-byte entry per 4 KiB page, in 4 KiB tables
// that each map 2 MiB): the copy that makes fork's cost grow with memory
// (examples/compare/fork_cost.cpp measures its time).
// Explained in: docs/01-three-models.md (exercises), answer 01.7 in docs/appendix-answers.md.
// Read next: examples/compare/fork_cost.cpp.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "claim.hpp"

namespace {

// The VmPTE line of /proc/self/status, in KiB; exits if the kernel has none.
long vm_pte_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmPTE:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  std::fprintf(stderr, "no VmPTE line in /proc/self/status\n");
  std::exit(2);
}

struct page_tables {
  long parent_kib;
  long child_kib;
};

// Maps `mib` MiB of private anonymous memory, writes one byte to each 4 KiB page (so that
// each has a page-table entry), forks, and returns both processes' VmPTE. The child
// reads its own at once and sends it through a pipe.
page_tables page_tables_after_fork(std::size_t mib) {
  std::size_t bytes = mib << 20;
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    std::perror("mmap");
    std::exit(2);
  }
  madvise(memory, bytes, MADV_NOHUGEPAGE);  // one entry per 4 KiB page, not per 2 MiB
  auto* bytes_of = static_cast<char*>(memory);
  for (std::size_t offset = 0; offset < bytes; offset += 4096) bytes_of[offset] = 1;

  int channel[2];
  if (pipe(channel) != 0) {
    std::perror("pipe");
    std::exit(2);
  }
  pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    std::exit(2);
  }
  if (child == 0) {
    long kib = vm_pte_kib();
    ssize_t written = write(channel[1], &kib, sizeof kib);
    _exit(written == sizeof kib ? 0 : 1);
  }
  page_tables result{vm_pte_kib(), -1};
  if (read(channel[0], &result.child_kib, sizeof result.child_kib) != sizeof result.child_kib) {
    std::fprintf(stderr, "the child sent no VmPTE\n");
    std::exit(2);
  }
  waitpid(child, nullptr, 0);
  close(channel[0]);
  close(channel[1]);
  munmap(memory, bytes);
  return result;
}

}  // namespace

int main() {
  const std::vector<std::size_t> sizes{16, 64, 256, 1024};
  std::vector<page_tables> measured;
  std::printf("touched MiB  parent VmPTE kB  child VmPTE kB\n");
  for (std::size_t mib : sizes) {
    measured.push_back(page_tables_after_fork(mib));
    std::printf("%11zu  %15ld  %14ld\n", mib, measured.back().parent_kib,
                measured.back().child_kib);
  }

  bool grows = true;
  for (std::size_t i = 1; i < sizes.size(); ++i) {
    grows = grows && measured[i].child_kib > measured[i - 1].child_kib;
  }
  answer::claim(grows, "the child's page tables grow with the memory its parent touched");

  // From the smallest to the largest size: about 2 KiB of tables per MiB; allow half to
  // twice that (other mappings, and tables the kernel shares or frees lazily).
  double per_mib = static_cast<double>(measured.back().child_kib - measured.front().child_kib) /
                   static_cast<double>(sizes.back() - sizes.front());
  std::printf("child page tables per MiB touched: %.2f KiB\n", per_mib);
  answer::claim(per_mib >= 1.0 && per_mib <= 4.0,
                "fork copies about 2 KiB of page tables per MiB (one 8-byte entry per page)");

  long largest_gap = 0;
  for (const page_tables& m : measured) {
    largest_gap = std::max(largest_gap, std::labs(m.parent_kib - m.child_kib));
  }
  answer::claim(largest_gap * 4 < measured.back().child_kib,
                "the child's page tables are about as large as its parent's");
  return answer::claims_failed();
}
