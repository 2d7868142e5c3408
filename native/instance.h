#pragma once

#include <napi.h>
#include <uv.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "hints.h"

namespace uvscope {

// A part of uvscope that owns libuv handles or requests on one environment's loop.
class Component {
 public:
  virtual ~Component() = default;
  // Environment teardown, on the loop thread: stop and uv_close every handle, and make
  // sure every request in flight will complete. Each handle or request was counted with
  // Instance::Retain(); its last callback ends with Instance::Release().
  virtual void Close() = 0;
};

// Per-environment state: one for the main thread, one for each worker that loads uvscope.
//
// Lifetime rules:
//  - Created by module init on the environment's own thread and stored as instance data.
//    One per thread's loop: a second load of the addon on the same thread (a fresh module
//    registry in a test runner or hot reload, process.dlopen into a vm context) gets its
//    own napi_env but shares this instance and its components, so the thread has one
//    recorder and one set of handles.
//  - Teardown starts in an async cleanup hook (Node-API 8): every component closes its
//    handles. Node keeps the environment's loop running until the hook is removed.
//  - Every handle or request whose callback may run later is counted with Retain() and
//    matched by Release() in its last callback. The Release() that brings the count to
//    zero during teardown removes the hook and deletes the instance (and its components).
//  - The instance data has no finalizer: Node may free the napi_env before the last close
//    callback runs, so nothing reachable from a libuv callback may call Node-API after
//    teardown began.
class Instance {
 public:
  // This thread's instance for `env`'s loop, created on first use; nullptr with a JS
  // exception pending.
  static Instance* Create(napi_env env);
  static Instance* Get(napi_env env);

  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  uv_loop_t* loop() const { return loop_; }
  bool closing() const { return closing_; }

  // Constructs a component owned by this instance; it lives until the instance is freed.
  template <typename T, typename... Args>
  T* Add(Args&&... args) {
    auto component = std::make_unique<T>(std::forward<Args>(args)...);
    T* raw = component.get();
    components_.push_back(std::move(component));
    kinds_.push_back(Kind<T>());
    return raw;
  }

  // The component of type T added earlier (by a previous load on this thread), or nullptr.
  // (Node builds addons without RTTI: each type is told by the address of its own tag.)
  template <typename T>
  T* Find() const {
    for (size_t i = 0; i < components_.size(); ++i) {
      if (kinds_[i] == Kind<T>()) return static_cast<T*>(components_[i].get());
    }
    return nullptr;
  }

  void Retain() { ++pending_; }
  void Release();

  // uvscope's own handles, left out of every listing unless asked for. A component
  // registers each handle it initialises (a handle re-initialised in place, like a close
  // marker, once). At most kMaxOwnHandles per environment.
  static constexpr size_t kMaxOwnHandles = 16;

  // Per-iteration hooks: the loop probe's prepare callback runs them with the timestamp it
  // took, so every component shares one callback and one clock read per iteration. Each
  // returns when it next needs to run (probe clock ns; 0 = next iteration, UINT64_MAX =
  // until WakeTicks()), and until the earliest of those the prepare pays one compare.
  // Loop thread only; native code only; at most kMaxTicks.
  using TickFn = uint64_t (*)(void* data, uint64_t now_ns);
  static constexpr size_t kMaxTicks = 4;
  void AddTick(TickFn fn, void* data);
  void RunTicks(uint64_t now_ns) {
    if (UVSCOPE_LIKELY(now_ns < next_tick_ns_)) return;
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < tick_count_; ++i) {
      const uint64_t due = ticks_[i].fn(ticks_[i].data, now_ns);
      next = due < next ? due : next;
    }
    next_tick_ns_ = next;
  }
  // A tick's schedule changed (loop thread): run every tick at the next iteration.
  void WakeTicks() { next_tick_ns_ = 0; }

  void Own(const uv_handle_t* handle);
  bool IsOwn(const uv_handle_t* handle) const;

 private:
  explicit Instance(uv_loop_t* loop) : loop_(loop) {}
  ~Instance() = default;

  static void OnCleanup(napi_async_cleanup_hook_handle hook, void* data);
  void FinishIfDone();

  uv_loop_t* const loop_;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  template <typename T>
  static const void* Kind() {
    static const char tag = 0;
    return &tag;
  }

  std::vector<std::unique_ptr<Component>> components_;
  std::vector<const void*> kinds_;  // Kind<T>() of each component
  size_t pending_ = 0;
  bool closing_ = false;
  const uv_handle_t* own_[kMaxOwnHandles] = {};
  size_t own_count_ = 0;
  struct Tick {
    TickFn fn;
    void* data;
  };
  uint64_t next_tick_ns_ = 0;
  Tick ticks_[kMaxTicks] = {};
  size_t tick_count_ = 0;
};

}  // namespace uvscope
