#include "instance.h"

#if !defined(_WIN32)
#include <dlfcn.h>
#endif

#include <mutex>

namespace uvscope {

namespace {

// Node unloads an addon (dlclose) when the last environment that loaded it ends, so a
// program whose workers come and go would map, run and unmap this library over and over.
// Its process-wide state (the registry that keeps ended threads' numbers readable, the
// known pool threads, the clock calibration, the in-flight counters) must outlive any one
// environment, so the first load pins it: RTLD_NODELETE on the handle it already has.
// (Windows: not pinned; untested there.)
void PinModule() {
#if !defined(_WIN32)
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&PinModule), &info) != 0 && info.dli_fname != nullptr) {
      dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);  // never closed
    }
  });
#endif
}

// The live instance of this thread's loop. Loop thread only: set at creation, cleared when
// the instance is freed.
thread_local Instance* t_instance = nullptr;

}  // namespace

Instance* Instance::Create(napi_env env) {
  PinModule();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "uvscope: this runtime has no libuv event loop")
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  if (t_instance != nullptr && t_instance->loop_ == loop && !t_instance->closing_) {
    napi_set_instance_data(env, t_instance, nullptr, nullptr);
    return t_instance;
  }
  auto* instance = new Instance(loop);
  if (napi_add_async_cleanup_hook(env, OnCleanup, instance, &instance->hook_) != napi_ok) {
    delete instance;
    Napi::Error::New(env, "uvscope: cannot register an environment cleanup hook")
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  // No finalizer: the instance frees itself after its last close callback.
  napi_set_instance_data(env, instance, nullptr, nullptr);
  t_instance = instance;
  return instance;
}

Instance* Instance::Get(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Instance*>(data);
}

void Instance::OnCleanup(napi_async_cleanup_hook_handle, void* data) {
  auto* self = static_cast<Instance*>(data);
  self->closing_ = true;
  for (auto& component : self->components_) component->Close();
  self->FinishIfDone();
}

void Instance::Release() {
  --pending_;
  FinishIfDone();
}

void Instance::Own(const uv_handle_t* handle) {
  if (IsOwn(handle)) return;
  assert(own_count_ < kMaxOwnHandles);
  if (own_count_ < kMaxOwnHandles) own_[own_count_++] = handle;
}

void Instance::AddTick(TickFn fn, void* data) {
  assert(tick_count_ < kMaxTicks);
  if (tick_count_ < kMaxTicks) ticks_[tick_count_++] = {fn, data};
  next_tick_ns_ = 0;
}

bool Instance::IsOwn(const uv_handle_t* handle) const {
  for (size_t i = 0; i < own_count_; ++i) {
    if (own_[i] == handle) return true;
  }
  return false;
}

void Instance::FinishIfDone() {
  if (!closing_ || pending_ != 0) return;
  napi_remove_async_cleanup_hook(hook_);
  if (t_instance == this) t_instance = nullptr;
  delete this;
}

}  // namespace uvscope
