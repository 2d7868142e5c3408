#include "signal_origin.h"

#include <napi.h>

#include <atomic>
#include <cstdint>

#if !defined(_WIN32)
#include <signal.h>
#endif

namespace uvscope {

#if !defined(_WIN32)
namespace {

constexpr int kSignals = 65;

// Process-wide on purpose: signal dispositions are per process, not per environment. Only
// lock-free atomics are touched in the handler (async-signal-safe); `previous` is written
// before the handler is installed and never again.
struct Origin {
  std::atomic<uint32_t> from_kernel{0};
  std::atomic<uint32_t> from_process{0};
  std::atomic<int32_t> last_pid{0};
  std::atomic<bool> installed{false};
  struct sigaction previous {};
};

Origin origins[kSignals];

void Handler(int signum, siginfo_t* info, void* context) {
  if (signum <= 0 || signum >= kSignals) return;
  Origin& o = origins[signum];
  // SI_KERNEL: the tty (Ctrl-C, Ctrl-\, hangup) or another kernel source; SI_USER (kill),
  // SI_QUEUE (sigqueue), SI_TKILL (tgkill): a process chose to send it.
  if (info != nullptr && info->si_code <= 0) {
    o.from_process.fetch_add(1, std::memory_order_relaxed);
    o.last_pid.store(static_cast<int32_t>(info->si_pid), std::memory_order_relaxed);
  } else {
    o.from_kernel.fetch_add(1, std::memory_order_relaxed);
  }
  const struct sigaction& prev = o.previous;
  if ((prev.sa_flags & SA_SIGINFO) != 0) {
    if (prev.sa_sigaction != nullptr) prev.sa_sigaction(signum, info, context);
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler != nullptr) {
    prev.sa_handler(signum);
  }
}

int SignumArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), "uvscope: signum must be a number").ThrowAsJavaScriptException();
    return -1;
  }
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n < kSignals) || n != static_cast<int>(n)) {
    Napi::RangeError::New(info.Env(), "uvscope: signum must be an integer from 1 to 64").ThrowAsJavaScriptException();
    return -1;
  }
  return static_cast<int>(n);
}

Napi::Value Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int signum = SignumArg(info);
  if (signum < 0) return env.Undefined();
  Origin& o = origins[signum];
  if (o.installed.load()) return Napi::Boolean::New(env, true);
  struct sigaction current {};
  if (sigaction(signum, nullptr, &current) != 0) return Napi::Boolean::New(env, false);
  // Only on top of a handler that is there to chain to (libuv's, once process.on() has
  // run): replacing a default disposition would change what the signal does.
  const bool has_handler = (current.sa_flags & SA_SIGINFO) != 0
                               ? current.sa_sigaction != nullptr
                               : current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN;
  if (!has_handler) return Napi::Boolean::New(env, false);
  o.previous = current;
  struct sigaction mine = current;
  mine.sa_flags = (current.sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
  mine.sa_sigaction = Handler;
  if (sigaction(signum, &mine, nullptr) != 0) return Napi::Boolean::New(env, false);
  o.installed.store(true);
  return Napi::Boolean::New(env, true);
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int signum = SignumArg(info);
  if (signum < 0) return env.Undefined();
  const Origin& o = origins[signum];
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, o.from_kernel.load(std::memory_order_relaxed)));
  out.Set(1u, Napi::Number::New(env, o.from_process.load(std::memory_order_relaxed)));
  out.Set(2u, Napi::Number::New(env, o.last_pid.load(std::memory_order_relaxed)));
  return out;
}

}  // namespace

void InitSignalOrigin(Napi::Env env, Napi::Object exports) {
  exports.Set("signalOriginWatch", Napi::Function::New(env, Watch, "signalOriginWatch"));
  exports.Set("signalOriginRead", Napi::Function::New(env, Read, "signalOriginRead"));
}

#else

void InitSignalOrigin(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

#endif

}  // namespace uvscope
