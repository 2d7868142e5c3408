#include "thread_state.h"

#include <napi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "napi_util.h"

namespace uvscope {

#if defined(__linux__)
namespace {

// Reads a small /proc file into `buf` (NUL-terminated). Returns the length, or -1.
long Slurp(const char* path, char* buf, size_t size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long total = 0;
  while (static_cast<size_t>(total) < size - 1) {
    const ssize_t n = read(fd, buf + total, size - 1 - total);
    if (n < 0) {
      close(fd);
      return -1;
    }
    if (n == 0) break;
    total += n;
  }
  close(fd);
  buf[total] = '\0';
  return total;
}

struct SyscallEntry {
  long nr;
  const char* name;
};

// The calls a blocked loop thread is found in. Numbers differ per architecture, so they
// come from <sys/syscall.h>; calls an architecture lacks (arm64 has no plain epoll_wait,
// poll, select or wait4-only variants) are left out there.
constexpr SyscallEntry kSyscalls[] = {
    {SYS_read, "read"},
    {SYS_write, "write"},
    {SYS_pread64, "pread64"},
    {SYS_pwrite64, "pwrite64"},
    {SYS_readv, "readv"},
    {SYS_writev, "writev"},
    {SYS_openat, "openat"},
    {SYS_close, "close"},
    {SYS_fsync, "fsync"},
    {SYS_fdatasync, "fdatasync"},
    {SYS_futex, "futex"},
    {SYS_epoll_pwait, "epoll_pwait"},
    {SYS_ppoll, "ppoll"},
    {SYS_pselect6, "pselect6"},
    {SYS_wait4, "wait4"},
    {SYS_waitid, "waitid"},
    {SYS_nanosleep, "nanosleep"},
    {SYS_clock_nanosleep, "clock_nanosleep"},
    {SYS_connect, "connect"},
    {SYS_accept4, "accept4"},
    {SYS_recvfrom, "recvfrom"},
    {SYS_sendto, "sendto"},
    {SYS_recvmsg, "recvmsg"},
    {SYS_sendmsg, "sendmsg"},
    {SYS_flock, "flock"},
    {SYS_fcntl, "fcntl"},
    {SYS_ioctl, "ioctl"},
    {SYS_getrandom, "getrandom"},
    {SYS_sched_yield, "sched_yield"},
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait"},
#endif
#ifdef SYS_epoll_pwait2
    {SYS_epoll_pwait2, "epoll_pwait2"},
#endif
#ifdef SYS_poll
    {SYS_poll, "poll"},
#endif
#ifdef SYS_select
    {SYS_select, "select"},
#endif
#ifdef SYS_open
    {SYS_open, "open"},
#endif
#ifdef SYS_pause
    {SYS_pause, "pause"},
#endif
#ifdef SYS_io_uring_enter
    {SYS_io_uring_enter, "io_uring_enter"},
#endif
};

}  // namespace

int CurrentTid() { return static_cast<int>(syscall(SYS_gettid)); }

bool ReadKernelThreadState(int tid, KernelThreadState* out) {
  *out = KernelThreadState{};
  if (tid <= 0) return false;
  char path[64];
  char buf[512];
  std::snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
  if (Slurp(path, buf, sizeof(buf)) <= 0) return false;
  // "tid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'.
  const char* close_paren = std::strrchr(buf, ')');
  if (close_paren == nullptr || close_paren[1] != ' ' || close_paren[2] == '\0') return false;
  out->state = close_paren[2];
  // Fields after the name: state (3) ... utime (14), stime (15), in clock ticks.
  const char* p = close_paren + 2;
  unsigned long long ticks[2] = {0, 0};
  int field = 3;
  for (; *p != '\0' && field < 15; ++p) {
    if (*p != ' ') continue;
    ++field;
    if (field == 14 || field == 15) ticks[field - 14] = std::strtoull(p + 1, nullptr, 10);
  }
  static const long hz = sysconf(_SC_CLK_TCK);
  if (field == 15 && hz > 0) out->cpu_ns = static_cast<int64_t>((ticks[0] + ticks[1]) * (1000000000ull / static_cast<unsigned long long>(hz)));
  std::snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
  // "running", "-1 sp pc" (blocked outside a system call) or "nr arg1 ... sp pc". Reading
  // another thread's syscall file needs ptrace access to the process; Yama and seccomp
  // setups may refuse it: then the system call stays unknown.
  if (Slurp(path, buf, sizeof(buf)) <= 0) return true;
  if (std::strncmp(buf, "running", 7) == 0) {
    out->syscall = -1;
    return true;
  }
  char* end = nullptr;
  const long nr = std::strtol(buf, &end, 10);
  if (end != buf) out->syscall = nr < 0 ? -1 : nr;
  return true;
}

const char* SyscallName(long nr) {
  for (const SyscallEntry& entry : kSyscalls) {
    if (entry.nr == nr) return entry.name;
  }
  return nullptr;
}

#else

int CurrentTid() { return 0; }
bool ReadKernelThreadState(int, KernelThreadState* out) {
  *out = KernelThreadState{};
  return false;
}
const char* SyscallName(long) { return nullptr; }

#endif

const char* KernelStateName(char state) {
  switch (state) {
    case 'R':
      return "running";
    case 'S':
      return "sleeping";
    case 'D':
      return "disk";
    default:
      return "other";
  }
}

namespace {

// threadKernelState(tid): { state, syscall } for a thread of this process, or null where the
// kernel cannot say (see ReadKernelThreadState).
Napi::Value ThreadKernelState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "uvscope: tid must be a number").ThrowAsJavaScriptException();
    return {};
  }
  const double tid = info[0].As<Napi::Number>().DoubleValue();
  if (!(tid >= 1 && tid <= 2147483647.0) || tid != static_cast<double>(static_cast<int>(tid))) {
    Napi::RangeError::New(env, "uvscope: tid must be an integer from 1 to 2147483647").ThrowAsJavaScriptException();
    return {};
  }
  KernelThreadState state;
  if (!ReadKernelThreadState(static_cast<int>(tid), &state)) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  if (Failed(out) || !out.Set("state", Napi::String::New(env, KernelStateName(state.state)))) return {};
  Napi::Value syscall = env.Null();
  if (state.syscall >= 0) {
    const char* name = SyscallName(state.syscall);
    syscall = name != nullptr ? Napi::String::New(env, name)
                              : Napi::String::New(env, "syscall " + std::to_string(state.syscall));
  }
  if (Failed(syscall) || !out.Set("syscall", syscall)) return {};
  Napi::Value cpu = state.cpu_ns >= 0 ? Napi::Number::New(env, static_cast<double>(state.cpu_ns) / 1e6) : env.Null();
  if (Failed(cpu) || !out.Set("cpuMs", cpu)) return {};
  return out;
}

}  // namespace

void InitThreadState(Napi::Env env, Napi::Object exports) {
  exports.Set("threadKernelState", Napi::Function::New(env, ThreadKernelState, "threadKernelState"));
  exports.Set("currentTid", Napi::Number::New(env, CurrentTid()));
}

}  // namespace uvscope
