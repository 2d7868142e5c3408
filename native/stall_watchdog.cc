#include "stall_watchdog.h"

#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "clock.h"
#include "instance.h"
#include "loop_probe.h"
#include "napi_util.h"
#include "registry.h"
#include "thread_state.h"

namespace uvscope {

// Caller holds `mutex`. A wait seen under way (watch_stamp) that has since been replaced
// (a new stamp, or 0) in the same iteration, while the stored idle counter grew by less than
// the part of it that was certainly spent (watch_hr - watch_stamp), was lost by libuv: only
// the certain part, minus what was counted, is credited, so a real wait is never counted
// twice and a busy iteration never gains idle time.
void LoopRecorder::SettleLostWaitLocked(uint64_t live_index, bool record) {
  const uint64_t* entry = entry_field.load(std::memory_order_acquire);
  if (entry == nullptr || loop == nullptr) return;
  // Written by the loop thread under libuv's metrics lock; aligned 8-byte loads.
  const uint64_t stamp = __atomic_load_n(entry, __ATOMIC_RELAXED);
  const uint64_t stored = __atomic_load_n(entry + 1, __ATOMIC_RELAXED);
  if (watch_stamp != 0 && stamp != watch_stamp) {
    if (live_index == watch_index && live_index != 0) {
      const uint64_t end = stamp != 0 && stamp > watch_hr ? stamp : watch_hr;
      const uint64_t certain = end > watch_stamp ? end - watch_stamp : 0;
      const uint64_t counted = stored > watch_idle ? stored - watch_idle : 0;
      if (certain > counted) {
        const uint64_t lost = certain - counted;
        if (credit_index.load(std::memory_order_relaxed) == live_index) {
          credit_ns.store(credit_ns.load(std::memory_order_relaxed) + lost, std::memory_order_relaxed);
        } else {
          credit_ns.store(lost, std::memory_order_relaxed);
          credit_index.store(live_index, std::memory_order_release);
        }
        credited_idle_ns.fetch_add(lost, std::memory_order_relaxed);
      }
    }
    watch_stamp = 0;
  }
  if (record && stamp != 0 && live_index != 0 && stamp != watch_stamp) {
    watch_stamp = stamp;
    watch_idle = stored;
    watch_index = live_index;
  }
  if (record && watch_stamp != 0) watch_hr = uv_hrtime();
}

namespace {

constexpr size_t kStackBytes = 3072;  // the capture worker trims frames to fit
constexpr size_t kQueue = 16;         // finished episodes a consumer has not read yet
constexpr size_t kMaxConsumers = 64;
constexpr size_t kMaxEpisodes = 16;
constexpr uint64_t kMs = 1000000;
// A capture that lands within this of the request ran while the blocking code ran: V8
// serviced the interrupt at once (JS, regexp, Atomics.wait). Measured landings of such
// blocks were 0.4-9 ms on a loaded 2-core machine (STALLS.md); natives that defer
// interrupts land when they return, 100 ms and more later.
constexpr uint64_t kExactNs = 20 * kMs;
constexpr uint64_t kCaptureDeadlineNs = 3000 * kMs;
// Each capture costs the main thread a session and an evaluate (0.1-0.7 ms, STALLS.md): at
// most this many a second (a low threshold on a busy loop), the others recorded without one.
constexpr uint64_t kCaptureIntervalNs = 50 * kMs;

enum Capture : int { kExact = 0, kDeferred = 1, kStale = 2, kNone = 3, kUnavailable = 4, kPending = 5 };

struct Event {
  uint64_t episode = 0;
  double thread_id = 0;
  uint64_t iteration = 0;
  uint64_t start_ns = 0;    // probe clock
  uint64_t blocked_ns = 0;  // busy time when the stack was taken (or last seen)
  uint64_t busy_ns = 0;     // final busy time, once `done`
  bool done = false;
  int phase = -1;
  int capture = kPending;
  char state = 0;
  long syscall = -2;
  double landed_after_ns = -1;
  bool has_stack = false;
  char stack[kStackBytes] = {};
};

struct Consumer;
void CallJs(Napi::Env env, Napi::Function callback, Consumer* consumer, void*);
using Tsfn = Napi::TypedThreadSafeFunction<Consumer, void, CallJs>;

class StallPort;

struct Consumer {
  uint64_t id = 0;
  // The environment's port while it is open (loop thread only): the function's finalizer,
  // which Node may run before or after the port's Close(), takes the consumer out of it.
  StallPort* port = nullptr;
  uint64_t threshold_ns = 0;
  bool capture = false;  // the capture worker
  Tsfn tsfn;
  bool notified = false;  // a call is queued and not yet drained
  Event queue[kQueue];
  size_t head = 0;
  size_t count = 0;
  uint64_t dropped = 0;
  // Capture worker only: the request it has not taken yet.
  bool request = false;
  uint64_t request_episode = 0;
  uint64_t request_iteration = 0;
};

struct Episode {
  bool used = false;
  std::shared_ptr<LoopRecorder> recorder;
  Event event;
  uint64_t request_hr = 0;  // 0: no capture asked
  uint64_t blocked_at_request = 0;
  bool ended = false;
};

struct Tracked {
  std::weak_ptr<LoopRecorder> recorder;
  uint64_t reported_index = 0;  // the last iteration an episode was opened for
};

class Watchdog {
 public:
  static Watchdog& Get() {
    static Watchdog* watchdog = new Watchdog();  // never destroyed: threads may outlive exit
    return *watchdog;
  }

  uint64_t Subscribe(Consumer* consumer) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t slot = kMaxConsumers;
    for (size_t i = 0; i < kMaxConsumers; ++i) {
      if (consumers_[i] == nullptr) {
        slot = i;
        break;
      }
    }
    if (slot == kMaxConsumers) return 0;
    consumer->id = ++next_id_;
    consumers_[slot] = consumer;
    if (!consumer->capture && ++watchers_ == 1) {
      // A new generation: a thread of an earlier one that has not seen its stop yet (its
      // Remove() is joining it) cannot be revived by this start.
      const uint64_t generation = ++generation_;
      thread_ = std::thread([this, generation] { Run(generation); });
    }
    return consumer->id;
  }

  // Removes `consumer` if listed; joins the thread when it was the last watcher. Returns
  // whether it was listed. Called on the consumer's thread (unsubscribe, teardown).
  bool Remove(Consumer* consumer) {
    std::thread done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      bool found = false;
      for (auto& c : consumers_) {
        if (c == consumer) {
          c = nullptr;
          found = true;
        }
      }
      if (!found) return false;
      if (!consumer->capture && --watchers_ == 0) {
        ++generation_;
        cv_.notify_all();
        done = std::move(thread_);
      }
    }
    if (done.joinable()) done.join();
    return true;
  }

  // The capture worker's answer for `episode`.
  // Returns the episode as it stands (for a record written at once), false if it is gone.
  bool CaptureResult(uint64_t episode, uint64_t main_iteration, uint64_t landed_hr, bool unavailable,
                     const std::string& stack, Event* out) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Episode& e : episodes_) {
      if (!e.used || e.event.episode != episode || e.event.capture != kPending) continue;
      if (unavailable) {
        e.event.capture = kUnavailable;
      } else if (main_iteration != e.event.iteration) {
        e.event.capture = kStale;  // the iteration had ended: the stack is someone else's
      } else {
        const uint64_t after = landed_hr > e.request_hr ? landed_hr - e.request_hr : 0;
        e.event.capture = after <= kExactNs ? kExact : kDeferred;
        e.event.landed_after_ns = static_cast<double>(after);
        e.event.blocked_ns = e.blocked_at_request + after;
        const size_t n = std::min(stack.size(), kStackBytes - 1);
        std::memcpy(e.event.stack, stack.data(), n);
        e.event.stack[n] = '\0';
        e.event.has_stack = n > 0;
      }
      e.event.thread_id = e.recorder->thread_id;
      *out = e.event;
      return true;
    }
    return false;
  }

  // Drains `consumer`'s queue (its own thread) into `out`; returns how many.
  size_t Drain(Consumer* consumer, Event* out, size_t room, uint64_t* dropped, bool* request,
               uint64_t* req_episode, uint64_t* req_iteration) {
    std::lock_guard<std::mutex> lock(mutex_);
    consumer->notified = false;
    size_t n = 0;
    while (consumer->count > 0 && n < room) {
      out[n++] = consumer->queue[consumer->head];
      consumer->head = (consumer->head + 1) % kQueue;
      --consumer->count;
    }
    *dropped = consumer->dropped;
    consumer->dropped = 0;
    *request = consumer->request;
    *req_episode = consumer->request_episode;
    *req_iteration = consumer->request_iteration;
    consumer->request = false;
    return n;
  }

 private:
  Watchdog() = default;

  uint64_t MinThresholdLocked() const {
    uint64_t min = UINT64_MAX;
    for (const Consumer* c : consumers_) {
      if (c != nullptr && !c->capture) min = std::min(min, c->threshold_ns);
    }
    return min == UINT64_MAX ? 50 * kMs : min;
  }

  Consumer* CaptureLocked() const {
    for (Consumer* c : consumers_) {
      if (c != nullptr && c->capture) return c;
    }
    return nullptr;
  }

  void Notify(Consumer* c) {
    if (c->notified) return;
    if (c->tsfn.NonBlockingCall() == napi_ok) c->notified = true;
  }

  void Run(uint64_t generation) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (generation_ == generation) {
      const uint64_t threshold = MinThresholdLocked();
      // A few looks per threshold: detection within a fifth of it after it passes.
      const uint64_t period = std::clamp<uint64_t>(threshold / 5, kMs, 20 * kMs);
      cv_.wait_for(lock, std::chrono::nanoseconds(period));
      if (generation_ != generation) break;
      Sweep(threshold);
    }
  }

  Tracked& Track(const std::shared_ptr<LoopRecorder>& recorder) {
    Tracked* free_slot = nullptr;
    for (Tracked& t : tracked_) {
      auto r = t.recorder.lock();
      if (r == recorder) return t;
      if (!r && free_slot == nullptr) free_slot = &t;
    }
    if (free_slot == nullptr) free_slot = &tracked_[next_tracked_++ % kMaxTracked];
    *free_slot = Tracked{recorder, 0};
    return *free_slot;
  }

  // One look at every loop. Caller holds mutex_.
  void Sweep(uint64_t threshold) {
    const uint64_t now_hr = uv_hrtime();
    for (const auto& recorder : Registry::List()) {
      if (recorder->hidden.load(std::memory_order_relaxed)) continue;
      LoopRecorder::Live live;
      {
        std::lock_guard<std::mutex> rl(recorder->mutex);
        if (recorder->ended || recorder->loop == nullptr) continue;
        live = recorder->LiveLocked();
        recorder->SettleLostWaitLocked(live.index, true);
      }
      Episode* open = nullptr;
      for (Episode& e : episodes_) {
        if (e.used && e.recorder == recorder && !e.ended) open = &e;
      }
      if (open != nullptr) {
        if (live.index == open->event.iteration) {
          if (open->event.capture != kExact && open->event.capture != kDeferred) open->event.blocked_ns = live.busy_ns;
          SampleKernel(*recorder, open->event);
          continue;
        }
        Finish(*recorder, *open);
      }
      if (live.index == 0 || live.waiting == 1 || live.busy_ns < threshold) continue;
      Tracked& tracked = Track(recorder);
      if (tracked.reported_index == live.index) continue;
      tracked.reported_index = live.index;
      Open(recorder, live, now_hr);
    }
    for (Episode& e : episodes_) {
      if (!e.used) continue;
      if (e.event.capture == kPending && e.request_hr != 0 && now_hr - e.request_hr > kCaptureDeadlineNs) {
        e.event.capture = kNone;
      }
      if (e.ended && e.event.capture != kPending) Deliver(e);
    }
  }

  void SampleKernel(const LoopRecorder& recorder, Event& event) {
    KernelThreadState state;
    if (!ReadKernelThreadState(recorder.tid, &state)) return;
    // Keep a sample that names a system call: it says what a deferred block was doing.
    if (state.syscall >= 0 || event.syscall < 0) {
      event.state = state.state;
      event.syscall = state.syscall;
    }
  }

  void Open(const std::shared_ptr<LoopRecorder>& recorder, const LoopRecorder::Live& live, uint64_t now_hr) {
    Episode* slot = nullptr;
    for (Episode& e : episodes_) {
      if (!e.used) {
        slot = &e;
        break;
      }
    }
    if (slot == nullptr) return;  // more loops stalled at once than slots: rate limit
    slot->used = true;
    slot->recorder = recorder;
    slot->ended = false;
    slot->request_hr = 0;
    Event& ev = slot->event;
    ev = Event{};
    ev.episode = ++next_episode_;
    ev.thread_id = recorder->thread_id;
    ev.iteration = live.index;
    ev.start_ns = live.start_ns;
    ev.blocked_ns = live.busy_ns;
    recorder->stall_index.store(live.index, std::memory_order_relaxed);
    SampleKernel(*recorder, ev);
    Consumer* capture = CaptureLocked();
    if (recorder->thread_id != 0) {
      // Worker threads get no stack (their isolate has no session a worker can reach). The
      // capture worker is told at once, so the CLI shows the stall while it lasts (the
      // record itself reaches consumers when the iteration ends, as every record does).
      ev.capture = kUnavailable;
      if (capture != nullptr) Announce(capture, ev);
      return;
    }
    if (capture != nullptr && last_capture_hr_ != 0 && now_hr - last_capture_hr_ < kCaptureIntervalNs) {
      ev.capture = kNone;  // rate-limited: detected and counted, no stack
      return;
    }
    if (capture == nullptr) {
      ev.capture = kUnavailable;  // the main thread gets none without a capture worker
      return;
    }
    slot->request_hr = now_hr;
    last_capture_hr_ = now_hr;
    slot->blocked_at_request = live.busy_ns;
    capture->request = true;
    capture->request_episode = ev.episode;
    capture->request_iteration = ev.iteration;
    Notify(capture);
  }

  // Queues a worker's stall, as it stands, for the capture worker (which skips records
  // otherwise: Deliver() passes it by).
  void Announce(Consumer* capture, const Event& ev) {
    if (capture->count == kQueue) {
      ++capture->dropped;
    } else {
      capture->queue[(capture->head + capture->count) % kQueue] = ev;
      ++capture->count;
    }
    Notify(capture);
  }

  void Finish(LoopRecorder& recorder, Episode& e) {
    e.ended = true;
    e.event.done = true;
    // stall_done is stored after stall_busy_phase (release): a match means the pair is this
    // iteration's. Without one (the thread ended inside it) the last busy time seen stands.
    if (recorder.stall_done.load(std::memory_order_acquire) == e.event.iteration) {
      const uint64_t packed = recorder.stall_busy_phase.load(std::memory_order_relaxed);
      e.event.busy_ns = packed >> 2;
      e.event.phase = static_cast<int>(packed & 3);
    } else {
      e.event.busy_ns = e.event.blocked_ns;
    }
  }

  void Deliver(Episode& e) {
    const uint64_t longest = std::max(e.event.busy_ns, e.event.blocked_ns);
    for (Consumer* c : consumers_) {
      if (c == nullptr || c->capture || longest < c->threshold_ns) continue;
      if (c->count == kQueue) {
        ++c->dropped;
      } else {
        c->queue[(c->head + c->count) % kQueue] = e.event;
        ++c->count;
      }
      Notify(c);
    }
    e.used = false;
    e.recorder.reset();
  }

  static constexpr size_t kMaxTracked = 1024;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
  uint64_t generation_ = 0;  // the running thread's; a change stops it
  Consumer* consumers_[kMaxConsumers] = {};
  size_t watchers_ = 0;
  uint64_t next_id_ = 0;
  uint64_t next_episode_ = 0;
  uint64_t last_capture_hr_ = 0;
  Episode episodes_[kMaxEpisodes];
  Tracked tracked_[kMaxTracked];
  size_t next_tracked_ = 0;
};

const char* CaptureName(int capture) {
  switch (capture) {
    case kExact: return "exact";
    case kDeferred: return "deferred";
    case kStale: return "stale";
    case kNone: return "none";
    default: return "unavailable";
  }
}

// Per environment: its consumers, detached at teardown.
class StallPort : public Component {
 public:
  explicit StallPort(Instance* instance) : instance_(instance), tid_(CurrentTid()) {}

  void Close() override {
    for (Consumer*& c : consumers_) {
      if (c == nullptr) continue;
      Consumer* consumer = c;
      c = nullptr;
      consumer->port = nullptr;
      Detach(consumer);
    }
  }

  // The function's finalizer, on this environment's thread.
  void Forget(Consumer* consumer) {
    for (Consumer*& c : consumers_) {
      if (c == consumer) c = nullptr;
    }
  }

  Napi::Value Subscribe(const Napi::CallbackInfo& info);
  Napi::Value Unsubscribe(const Napi::CallbackInfo& info);
  Napi::Value AttachCapture(const Napi::CallbackInfo& info);
  Napi::Value CaptureResult(const Napi::CallbackInfo& info);
  Napi::Value LiveIndex(const Napi::CallbackInfo& info);

 private:
  static constexpr size_t kMaxPerEnv = 16;

  Napi::Value Add(Napi::Env env, Consumer* consumer, Napi::Function callback, bool ref);
  static void Detach(Consumer* consumer) {
    Watchdog::Get().Remove(consumer);
    // The finalizer frees the consumer once Node has drained the function's queue.
    consumer->tsfn.Abort();
  }
  LoopRecorder* Recorder();

  Instance* const instance_;
  const int tid_;
  std::shared_ptr<LoopRecorder> recorder_;  // this thread's, found at first use
  Consumer* consumers_[kMaxPerEnv] = {};
};

// A finished (or, for the capture worker, current) episode as a JS object.
Napi::Object EventObject(Napi::Env env, const Event& ev) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("episode", static_cast<double>(ev.episode));
  o.Set("threadId", ev.thread_id);
  o.Set("iteration", static_cast<double>(ev.iteration));
  o.Set("startNs", static_cast<double>(ev.start_ns));
  o.Set("blockedNs", static_cast<double>(ev.blocked_ns));
  o.Set("busyNs", ev.done ? Napi::Value(Napi::Number::New(env, static_cast<double>(ev.busy_ns))) : env.Null());
  static const char* const kPhases[] = {"poll", "check", "timers"};
  o.Set("phase", ev.phase >= 0 && ev.phase < 3 ? Napi::Value(Napi::String::New(env, kPhases[ev.phase])) : env.Null());
  o.Set("capture", CaptureName(ev.capture));
  o.Set("stack", ev.has_stack ? Napi::Value(Napi::String::New(env, ev.stack)) : env.Null());
  o.Set("landedAfterNs", ev.landed_after_ns >= 0 ? Napi::Value(Napi::Number::New(env, ev.landed_after_ns)) : env.Null());
  if (ev.state != 0) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("state", KernelStateName(ev.state));
    if (ev.syscall >= 0) {
      const char* name = SyscallName(ev.syscall);
      t.Set("syscall", name != nullptr ? std::string(name) : "syscall " + std::to_string(ev.syscall));
    } else {
      t.Set("syscall", env.Null());
    }
    o.Set("thread", t);
  } else {
    o.Set("thread", env.Null());
  }
  return o;
}

// This thread's recorder: the newest live one with its thread id (the Registry lists them
// oldest first). Found once, on the thread itself.
LoopRecorder* StallPort::Recorder() {
  if (!recorder_) {
    for (const auto& r : Registry::List()) {
      std::lock_guard<std::mutex> lock(r->mutex);
      if (!r->ended && r->tid == tid_) recorder_ = r;
    }
  }
  return recorder_.get();
}

void CallJs(Napi::Env env, Napi::Function callback, Consumer* consumer, void*) {
  if (env == nullptr || callback.IsEmpty()) return;
  static thread_local std::unique_ptr<Event[]> scratch;
  if (!scratch) scratch.reset(new Event[kQueue]);
  uint64_t dropped = 0;
  bool request = false;
  uint64_t req_episode = 0;
  uint64_t req_iteration = 0;
  const size_t n = Watchdog::Get().Drain(consumer, scratch.get(), kQueue, &dropped, &request, &req_episode, &req_iteration);
  if (consumer->capture && !request && n == 0) return;
  Napi::Array records = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; ++i) {
    Napi::Object o = EventObject(env, scratch[i]);
    records.Set(static_cast<uint32_t>(i), o);
  }
  if (consumer->capture) {
    // The capture worker: the main thread's stall to capture (episode -1: none), and the
    // workers' stalls begun since the last call.
    callback.Call({Napi::Number::New(env, request ? static_cast<double>(req_episode) : -1.0),
                   Napi::Number::New(env, static_cast<double>(req_iteration)),
                   Napi::Number::New(env, static_cast<double>(uv_hrtime())), records,
                   Napi::Number::New(env, static_cast<double>(Clock::Get().NowNs())),
                   Napi::Number::New(env, static_cast<double>(uv_hrtime()))});
    return;
  }
  callback.Call({records, Napi::Number::New(env, static_cast<double>(dropped)),
                 Napi::Number::New(env, static_cast<double>(Clock::Get().NowNs())),
                 Napi::Number::New(env, static_cast<double>(uv_hrtime()))});
}

Napi::Value StallPort::Add(Napi::Env env, Consumer* consumer, Napi::Function callback, bool ref) {
  size_t slot = kMaxPerEnv;
  for (size_t i = 0; i < kMaxPerEnv; ++i) {
    if (consumers_[i] == nullptr) {
      slot = i;
      break;
    }
  }
  if (slot == kMaxPerEnv || instance_->closing()) {
    delete consumer;
    Napi::RangeError::New(env, "uvscope: too many stall streams on this thread").ThrowAsJavaScriptException();
    return {};
  }
  consumer->tsfn = Tsfn::New(env, callback, "uvscope-stalls", 0, 1, consumer, [](Napi::Env, void*, Consumer* c) {
    // Node finalizes the function at teardown, possibly before the port's Close(): nothing
    // may reach the consumer after this.
    Watchdog::Get().Remove(c);
    if (c->port != nullptr) c->port->Forget(c);
    delete c;
  });
  if (env.IsExceptionPending()) return {};
  if (!ref) consumer->tsfn.Unref(env);
  if (Watchdog::Get().Subscribe(consumer) == 0) {
    consumer->tsfn.Abort();
    Napi::RangeError::New(env, "uvscope: too many stall streams in this process").ThrowAsJavaScriptException();
    return {};
  }
  consumers_[slot] = consumer;
  consumer->port = this;
  return Napi::Number::New(env, static_cast<double>(consumer->id));
}

// stallSubscribe(thresholdNs, callback(records, dropped, clockNowNs, hrNowNs), ref): id.
Napi::Value StallPort::Subscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsFunction() || !info[2].IsBoolean()) {
    Napi::TypeError::New(env, "uvscope: stallSubscribe(thresholdNs: number, callback: Function, ref: boolean)")
        .ThrowAsJavaScriptException();
    return {};
  }
  const double threshold = info[0].As<Napi::Number>().DoubleValue();
  if (!(threshold >= 1e6) || !(threshold <= 3.6e15)) {
    Napi::RangeError::New(env, "uvscope: thresholdNs must be between 1e6 and 3.6e15").ThrowAsJavaScriptException();
    return {};
  }
  auto* consumer = new Consumer();
  consumer->threshold_ns = static_cast<uint64_t>(threshold);
  return Add(env, consumer, info[1].As<Napi::Function>(), info[2].As<Napi::Boolean>().Value());
}

Napi::Value StallPort::Unsubscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "uvscope: id must be a number").ThrowAsJavaScriptException();
    return {};
  }
  const double id = info[0].As<Napi::Number>().DoubleValue();
  for (Consumer*& c : consumers_) {
    if (c != nullptr && static_cast<double>(c->id) == id) {
      Consumer* consumer = c;
      c = nullptr;
      consumer->port = nullptr;
      Detach(consumer);
    }
  }
  return env.Undefined();
}

// stallAttachCapture(callback(episode, iteration, requestHrNs, workerStalls, clockNowNs,
// hrNowNs)): this thread becomes the capture worker, hidden from threads() and from
// detection. episode is -1 when the call only brings workers' stalls begun. Its function stays ref'd: the
// worker lives for its requests, and the worker object itself is unref'd by its creator.
Napi::Value StallPort::AttachCapture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "uvscope: callback must be a function").ThrowAsJavaScriptException();
    return {};
  }
  if (LoopRecorder* recorder = Recorder()) recorder->hidden.store(true, std::memory_order_relaxed);
  auto* consumer = new Consumer();
  consumer->capture = true;
  return Add(env, consumer, info[0].As<Napi::Function>(), true);
}

// stallCaptureResult(episode, mainIteration, landedHrNs, unavailable, stackJson). The worker
// passes the landing shifted so that landed - request is the time from its post to the
// landing (its own wake-up delay left out).
Napi::Value StallPort::CaptureResult(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsBoolean() || !info[4].IsString()) {
    Napi::TypeError::New(env, "uvscope: stallCaptureResult(episode, iteration, landedHrNs, unavailable, stack)")
        .ThrowAsJavaScriptException();
    return {};
  }
  static thread_local std::unique_ptr<Event> event;
  if (!event) event.reset(new Event());
  if (!Watchdog::Get().CaptureResult(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()),
                                     static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue()),
                                     static_cast<uint64_t>(info[2].As<Napi::Number>().DoubleValue()),
                                     info[3].As<Napi::Boolean>().Value(), info[4].As<Napi::String>().Utf8Value(),
                                     event.get())) {
    return env.Null();
  }
  Napi::Object o = EventObject(env, *event);
  o.Set("clockNowNs", static_cast<double>(Clock::Get().NowNs()));
  o.Set("hrNowNs", static_cast<double>(uv_hrtime()));
  return o;
}

// stallLiveIndex(): the iteration this thread's loop is in (the capture expression's answer).
Napi::Value StallPort::LiveIndex(const Napi::CallbackInfo& info) {
  LoopRecorder* recorder = Recorder();
  const uint64_t index = recorder != nullptr ? recorder->live_index.load(std::memory_order_relaxed) : 0;
  return Napi::Number::New(info.Env(), static_cast<double>(index));
}

}  // namespace

void InitStallWatchdog(Napi::Env env, Napi::Object exports, Instance* instance) {
  StallPort* port = instance->Add<StallPort>(instance);
  ExportMethod<StallPort, &StallPort::Subscribe>(env, exports, "stallSubscribe", port);
  ExportMethod<StallPort, &StallPort::Unsubscribe>(env, exports, "stallUnsubscribe", port);
  ExportMethod<StallPort, &StallPort::AttachCapture>(env, exports, "stallAttachCapture", port);
  ExportMethod<StallPort, &StallPort::CaptureResult>(env, exports, "stallCaptureResult", port);
  ExportMethod<StallPort, &StallPort::LiveIndex>(env, exports, "stallLiveIndex", port);
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("stackBytes", Napi::Number::New(env, static_cast<double>(kStackBytes)));
  layout.Set("exactNs", Napi::Number::New(env, static_cast<double>(kExactNs)));
  exports.Set("stallLayout", layout);
}

}  // namespace uvscope
