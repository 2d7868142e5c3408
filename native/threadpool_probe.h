#pragma once

#include <napi.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "histogram.h"
#include "instance.h"

namespace uvscope {

// The thread-pool probe: how long work waits for a libuv pool thread.
//
// Every `period` it submits one no-op uv_queue_work item and records, in ns, the time from
// submission to the moment a pool thread starts it (queue wait) and from the moment it ends
// to its after-work callback on the loop (callback delay). The libuv pool is process-wide,
// so the queue wait is the same whichever thread measures it. On Linux it also records
// how much of each queue wait the pool thread spent waiting for a CPU (schedstat): on a
// CPU-starved machine an idle pool's item waits for a CPU, not for a thread; and where the
// run queue does not explain a long wait, whether another pool thread sat free meanwhile
// (then all of it is counted so). The first
// probes, submitted before any completed, are left out of the queue wait: one of them
// starts the pool, and libuv creates its threads inside that submission.
//
// Loop behaviour: submissions are driven by the loop probe's prepare callback (an
// Instance tick, with the timestamp it already took), so an idle loop is never woken for
// the probe. The tick returns unless a period has elapsed and no probe is in flight; only
// then does it call uv_queue_work, which
// takes the pool's mutex and may signal its condition variable: at most once per period,
// never per iteration. The completion wakes the loop once (libuv's wq_async), so the probe
// adds at most one loop iteration per period, and only while the loop is running anyway.
//
// Liveness: a uv_work_t in flight is an active request and keeps its loop alive. The probe
// is never submitted when the loop has no other active handle or request, and when the
// loop would have ended but for a probe still queued (say, behind a worker's long jobs)
// the tick cancels it; a probe already running completes in microseconds.
//
// Lifetime: the work request is counted with Instance::Retain(); the after-work callback
// calls Release(). Close() cancels a queued probe, so teardown never waits for the pool.
class ThreadpoolProbe : public Component {
 public:
  static constexpr uint64_t kDefaultPeriodNs = 100'000'000;  // 100 ms
  // Kinds of tracked in-flight work (lib/threadpool.ts maps async_hooks types onto them).
  static constexpr int kKinds = 3;  // fs, dns, crypto
  static constexpr uint64_t kUnknownNs = UINT64_MAX;
  // A queue wait this much longer than its CPU wait makes the probe look for a free thread.
  static constexpr uint64_t kFreeCheckNs = 5'000'000;
  // A probe picked up this fast found an idle thread: the moment to learn what idle pool
  // threads wait on.
  static constexpr uint64_t kQuickPickupNs = 1'000'000;

  explicit ThreadpoolProbe(Instance* instance);
  ~ThreadpoolProbe() override;

  void Start();
  void Close() override;

  static void Init(Napi::Env env, Napi::Object exports, Instance* instance);

 private:
  static uint64_t OnTick(void* data, uint64_t now_ns);
  static void OnWork(uv_work_t* req);
  static void OnAfterWork(uv_work_t* req, int status);

  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Configure(const Napi::CallbackInfo& info);
  Napi::Value Threads(const Napi::CallbackInfo& info);
  Napi::Value Track(const Napi::CallbackInfo& info);

  Instance* const instance_;
  uv_work_t work_;
  bool started_ = false;
  bool in_flight_ = false;
  bool cancel_requested_ = false;
  uint64_t period_ns_ = kDefaultPeriodNs;
  uint64_t last_submit_ns_ = 0;
  // Written on the loop thread before uv_queue_work (submit) and on the pool thread that
  // runs the probe (start, done); libuv's queue mutex orders them before the after-work
  // callback. start_ns_ is atomic because Read() looks at it while the probe is queued.
  uint64_t submit_ns_ = 0;
  std::atomic<uint64_t> start_ns_{0};
  uint64_t done_ns_ = 0;
  uint64_t cpu_wait_ns_ = kUnknownNs;  // pool thread writes, like done_ns_
  bool free_thread_ = false;           // pool thread writes: another pool thread was free as it started
  bool startup_ = false;               // loop thread: the probe may have started the pool
  int loop_tid_ = 0;                   // the submitting loop thread (Linux)
  uint64_t loop_delay_ns_ = 0;         // its run_delay at the previous probe's start; pool threads, in turn

  // Loop thread writes; any thread may read (single-writer atomics).
  std::unique_ptr<Histogram> queue_wait_;
  std::unique_ptr<Histogram> callback_delay_;
  std::unique_ptr<Histogram> cpu_wait_;
  std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> cancelled_{0};

  // This environment's share of the process-wide tracked in-flight counters, given back
  // at teardown so a worker that ends with requests in flight leaves no residue.
  int64_t tracked_[kKinds] = {};
};

}  // namespace uvscope
