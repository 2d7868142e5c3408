// Registration only: each component exposes Init(env, exports, instance).
#include <napi.h>

#include "handle_walker.h"
#include "histogram_binding.h"
#include "instance.h"
#include "loop_probe.h"
#include "runtime.h"
#include "signal_origin.h"
#include "stall_watchdog.h"
#include "thread_state.h"
#include "threadpool_probe.h"

namespace uvscope {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Instance* instance = Instance::Create(env);
  if (instance == nullptr) return exports;
  InitRuntime(env, exports, instance);
  InitHistogram(env, exports, instance);
  LoopProbe::Init(env, exports, instance);
  ThreadpoolProbe::Init(env, exports, instance);
  InitHandleWalker(env, exports, instance);
  InitThreadState(env, exports);
  InitSignalOrigin(env, exports);
  InitStallWatchdog(env, exports, instance);
  return exports;
}

}  // namespace uvscope

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return uvscope::Init(env, exports);
}

NODE_API_MODULE(uvscope, InitModule)
