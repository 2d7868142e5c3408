#pragma once

#include <napi.h>

#include <cstdint>

namespace uvscope {

// What the kernel says a thread is doing (Linux: /proc/self/task/<tid>/{stat,syscall}).
// Explains blocks no JavaScript stack can: a loop thread blocked in read(), futex()
// (Atomics.wait, a lock), epoll_wait() of a nested loop (execSync), wait4()...
struct KernelThreadState {
  // The stat state letter: 'R' running or runnable, 'S' sleeping (interruptible wait),
  // 'D' uninterruptible (disk), others as the kernel has them; 0 where unknown.
  char state = 0;
  // The system call the thread is blocked in (its number on this architecture), -1 when it
  // is not in one (running, or blocked outside a system call), -2 where unknown.
  long syscall = -2;
  // CPU time the thread has used since it started (user + system), ns, at the kernel's
  // clock-tick resolution (usually 10 ms); -1 where unknown.
  int64_t cpu_ns = -1;
};

// The thread's Linux id, for the calling thread. 0 where the platform has none.
int CurrentTid();

// Any thread; two small /proc reads into stack buffers, no allocation. False (state left
// unknown) where the thread is gone, /proc is unreadable (EMFILE, no procfs) or the
// platform is not Linux.
bool ReadKernelThreadState(int tid, KernelThreadState* out);

// The name of a system call number on this architecture ("read", "futex", "epoll_wait"...),
// or nullptr for one uvscope does not name (callers print the number).
const char* SyscallName(long nr);

// The stat state letter as uvscope names it: "running", "sleeping", "disk" or "other".
const char* KernelStateName(char state);

// Exports threadKernelState(tid) and currentTid (the loading thread's id).
void InitThreadState(Napi::Env env, Napi::Object exports);

}  // namespace uvscope
