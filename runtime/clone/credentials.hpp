// runtime/clone/credentials.hpp — making setuid() and friends reach clone threads.
//
// Concept: Linux keeps credentials (uids, gids, supplementary groups) per thread. POSIX
// wants them per process, so glibc's setuid changes its own thread and then signals each
// thread on its list to make the same system call ("setxid broadcast"). Clone threads are
// not on glibc's list: without help they would silently keep root after the process
// dropped privileges. So this backend defines setuid, setgid, seteuid, setegid,
// setreuid, setregid, setresuid, setresgid, setgroups and initgroups itself (the
// program's definitions come before libc's in symbol lookup), calls libc's through
// dlsym(RTLD_NEXT), and then broadcasts the change to every listed clone thread with a
// reserved real-time signal (SIGRTMAX, or the highest one without a handler). It also
// keeps that signal out of the masks set with sigprocmask and pthread_sigmask, as glibc
// does for its own broadcast signal, so that a thread blocking "every" signal cannot
// stall a broadcast. If a thread fails to apply
// a change that succeeded in the caller, the process aborts with a message: threads with
// different credentials must never run on silently.
// Explained in: docs/09-clone-backend.md. Read next: runtime/clone/kernel_thread.cpp.
#pragma once

namespace spindle::clone::detail {

// The real-time signal reserved for credential broadcasts; 0 before ensure_ready.
int credential_signal() noexcept;

// Reserves the highest real-time signal that has no handler yet (SIGRTMAX unless the
// program or a tool such as valgrind took it) and installs the broadcast handler. Throws
// std::runtime_error when every real-time signal is taken. Called once by ensure_ready.
void install_credential_broadcast();

}  // namespace spindle::clone::detail
