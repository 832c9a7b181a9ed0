// docs/answers/ch09_clone_flags_seen_from_proc.cpp — the answer to
// docs/09-clone-backend.md, exercise 9: which clone flags were this process's tasks made
// with? The program makes a child with fork, one with vfork, a thread with
// pthread_create (std::thread), a spindle clone thread and a spindle green thread, and
// reads off each one's flags from the kernel's side, without strace: kcmp(2) says
// whether two tasks share an address space (CLONE_VM), a file table (CLONE_FILES),
// working directory and umask (CLONE_FS), signal handlers (CLONE_SIGHAND) and System V
// semaphore undo lists (CLONE_SYSVSEM); /proc/TID/status's Tgid says whether the task
// joined this thread group (CLONE_THREAD); /proc/TID/stat's field 38 is the signal its
// parent gets when it ends (fork's SIGCHLD, -1 for a thread); and a thread pointer (fs
// base) of its own is what CLONE_SETTLS gives.
//
// What it shows: glibc's pthread_create and spindle's clone backend make their threads
// with the same sharing flags (the list in runtime/clone/kernel_thread.cpp:
// clone_flags); fork shares nothing and asks for SIGCHLD; vfork shares only the address
// space; a green thread is no task at all, it runs in main's.
// Explained in: docs/09-clone-backend.md (exercises), answer 09.9 in docs/appendix-answers.md.
// Read next: runtime/clone/kernel_thread.cpp.
#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <latch>
#include <string>
#include <thread>

#include "claim.hpp"
#include "spindle/clone.hpp"
#include "spindle/green.hpp"

namespace {

// What one task shares with main, as kcmp and /proc report it.
struct sharing {
  bool vm, files, fs, sighand, sysvsem, thread_group, own_thread_pointer;
  int exit_signal;
  bool operator==(const sharing&) const = default;
};

bool same(pid_t other, int what) { return syscall(SYS_kcmp, getpid(), other, what, 0, 0) == 0; }

// Field 38 of /proc/TID/stat, read with system calls only (a vfork child calls it too,
// and must not allocate in its parent's heap).
int exit_signal_of(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", tid);
  char text[1024] = {};
  int fd = open(path, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) return -100;
  const char* field = std::strrchr(text, ')');  // the name may hold spaces; fields follow
  for (int number = 2; field != nullptr && number < 38; ++number)
    field = std::strchr(field + 1, ' ');
  return field ? std::atoi(field + 1) : -100;
}

pid_t tgid_of(pid_t tid) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Tgid:", 0) == 0) return std::atoi(line.c_str() + 5);
  }
  return -1;
}

unsigned long thread_pointer() {
  unsigned long fs_base = 0;
  syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_base);
  return fs_base;
}

unsigned long main_thread_pointer = 0;

// Asks the kernel what task `tid` shares with main; `its_thread_pointer` is the fs base
// the task itself read.
sharing sharing_of(pid_t tid, unsigned long its_thread_pointer) {
  return {same(tid, KCMP_VM),
          same(tid, KCMP_FILES),
          same(tid, KCMP_FS),
          same(tid, KCMP_SIGHAND),
          same(tid, KCMP_SYSVSEM),
          tgid_of(tid) == getpid(),
          its_thread_pointer != main_thread_pointer,
          exit_signal_of(tid)};
}

std::string flags_text(const sharing& s) {
  std::string text;
  auto add = [&text](bool on, const char* flag) {
    if (on) text += (text.empty() ? "" : "|") + std::string(flag);
  };
  add(s.vm, "CLONE_VM");
  add(s.fs, "CLONE_FS");
  add(s.files, "CLONE_FILES");
  add(s.sighand, "CLONE_SIGHAND");
  add(s.thread_group, "CLONE_THREAD");
  add(s.sysvsem, "CLONE_SYSVSEM");
  add(s.own_thread_pointer, "CLONE_SETTLS");
  if (text.empty()) text = "(nothing shared)";
  return text + ", exit signal " + std::to_string(s.exit_signal);
}

// A task that publishes its tid and thread pointer and waits until main has looked.
struct published {
  pid_t tid = 0;
  unsigned long thread_pointer = 0;
};

sharing of_fork() {
  int go[2];
  if (pipe(go) != 0) std::exit(2);
  pid_t child = fork();
  if (child == 0) {
    char byte;
    ssize_t got = read(go[0], &byte, 1);  // wait until the parent has looked
    _exit(got == 1 ? 0 : 1);
  }
  sharing s = sharing_of(child, main_thread_pointer);  // fork copies fs base unchanged
  ssize_t sent = write(go[1], "x", 1);
  waitpid(child, nullptr, 0);
  close(go[0]);
  close(go[1]);
  if (sent != 1) std::exit(2);
  return s;
}

// The parent is suspended until a vfork child exits, so the child asks kcmp itself and
// writes the answer into this variable: that the parent then sees it is CLONE_VM at work.
sharing vfork_answer{};

sharing of_vfork() {
  pid_t parent = getpid();
  if (vfork() == 0) {
    pid_t self = static_cast<pid_t>(syscall(SYS_getpid));
    auto shares = [parent, self](int what) {
      return syscall(SYS_kcmp, parent, self, what, 0, 0) == 0;
    };
    vfork_answer = {shares(KCMP_VM),
                    shares(KCMP_FILES),
                    shares(KCMP_FS),
                    shares(KCMP_SIGHAND),
                    shares(KCMP_SYSVSEM),
                    false,
                    false,
                    exit_signal_of(self)};
    _exit(0);
  }
  wait(nullptr);
  return vfork_answer;
}

sharing of_pthread() {
  published task;
  std::latch looked(1), started(1);
  std::thread thread([&] {
    task = {gettid(), thread_pointer()};
    started.count_down();
    looked.wait();
  });
  started.wait();
  sharing s = sharing_of(task.tid, task.thread_pointer);
  looked.count_down();
  thread.join();
  return s;
}

template <spindle::backend B>
published spawn_and_look(sharing* result) {
  published task;
  typename B::latch looked(1), started(1);
  auto thread = B::spawn([&] {
    task = {gettid(), thread_pointer()};
    started.count_down();
    looked.wait();
  });
  started.wait();
  *result = sharing_of(task.tid, task.thread_pointer);
  looked.count_down();
  thread.join();
  return task;
}

}  // namespace

int main() {
  main_thread_pointer = thread_pointer();
  // An undo list for main, so that kcmp can tell shared undo lists from none at all.
  int semaphores = semget(IPC_PRIVATE, 1, 0600);
  sembuf up{0, 1, SEM_UNDO};
  if (semaphores < 0 || semop(semaphores, &up, 1) != 0) {
    std::perror("System V semaphores");
    return 2;
  }

  sharing forked = of_fork(), vforked = of_vfork(), pthread = of_pthread(), cloned{}, green{};
  spawn_and_look<spindle::clone::backend>(&cloned);
  published green_task = spawn_and_look<spindle::green::backend>(&green);
  semctl(semaphores, 0, IPC_RMID);

  std::printf("fork:                %s\n", flags_text(forked).c_str());
  std::printf("vfork:               %s\n", flags_text(vforked).c_str());
  std::printf("pthread_create:      %s\n", flags_text(pthread).c_str());
  std::printf("spindle clone spawn: %s\n", flags_text(cloned).c_str());
  std::printf("spindle green spawn: runs in task %d; main is task %d\n", green_task.tid, getpid());

  const sharing thread_flags{true, true, true, true, true, true, true, -1};
  answer::claim(pthread == thread_flags,
                "pthread_create shares everything kcmp compares, joins the thread group, sets "
                "its own thread pointer, and has no exit signal");
  answer::claim(cloned == pthread, "spindle's clone backend makes its threads with the same flags");
  answer::claim(forked == sharing{false, false, false, false, false, false, false, SIGCHLD},
                "fork is clone with SIGCHLD and no sharing flag");
  answer::claim(vforked.vm && !vforked.files && !vforked.fs && !vforked.sighand &&
                    vforked.exit_signal == SIGCHLD,
                "vfork shares the address space only, and ends with SIGCHLD too");
  answer::claim(green_task.tid == getpid(),
                "a green thread is no task of its own: no clone at all");
  return answer::claims_failed();
}
