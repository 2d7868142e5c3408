#pragma once

#include <napi.h>
#include <uv.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "histogram.h"
#include "instance.h"

namespace uvscope {
class Instance;

// One completed loop iteration, durations in ns. kUnknownEvents where libuv cannot say.
struct IterationSlot {
  uint64_t index;
  uint64_t start_ns;  // Clock::NowNs() at prepare
  uint64_t duration_ns;
  uint64_t poll_wait_ns;
  uint64_t poll_ns;
  uint64_t check_ns;
  uint64_t timers_ns;
  uint64_t events;
};

// Everything the probe records on one loop. Fixed size, allocated once per environment.
// Single writer: the loop thread. The histograms and counters are atomics that any thread
// may read (see Histogram); the ring is read only on the loop thread (from JavaScript).
//
// Lifetime: shared by the probe and the process-wide Registry, so a worker's final numbers
// stay readable from other threads after its environment is gone (End()). Other threads see
// staged iterations once they are folded in: at most kStageSize - 1 iterations late.
struct LoopRecorder {
  static constexpr size_t kRingSize = 4096;  // power of two
  // Iterations are staged here and folded into the histograms kStageSize at a time:
  // between iterations JavaScript evicts the histograms from the cache, and five
  // scattered updates per iteration cost more than everything else the probe does.
  static constexpr size_t kStageSize = 32;
  static constexpr uint64_t kUnknownEvents = UINT64_MAX;

  Histogram busy;
  Histogram poll;
  Histogram poll_wait;
  Histogram check;
  Histogram timers;
  std::atomic<uint64_t> iterations{0};

  // Staged iterations (busy, poll, pollWait, check, timers), loop thread only.
  uint64_t stage[kStageSize][5];
  size_t staged = 0;
  void Fold();  // loop thread: staged iterations into the histograms
  // Seqlock over Fold(): odd while a fold is under way. Readers on other threads retry
  // until they copy every histogram and counter from the same side of a fold.
  std::atomic<uint32_t> fold_seq{0};

  // Read() layout: a header of kReadHeader doubles, then the histogram images in the order
  // busy, poll, pollWait, check, timers. Any thread.
  static constexpr size_t kReadHeader = 16;
  static constexpr size_t kImages = 5;
  static constexpr size_t kReadSize = kReadHeader + kImages * Histogram::kCopySize;
  void Read(double* out);

  // Identity and what a reader on another thread needs. Set before the recorder is shared.
  double thread_id = 0;
  uint64_t start_hr_ns = 0;
  uint64_t idle_at_start = 0;
  // Published by the loop thread at each Fold(): events and events_waiting since start.
  std::atomic<uint64_t> events{kUnknownEvents};
  std::atomic<uint64_t> events_waiting{kUnknownEvents};

  // Guards the fields below. Taken by readers and once at teardown, never per iteration.
  std::mutex mutex;
  uv_loop_t* loop = nullptr;  // null once the environment has ended
  uint64_t end_hr_ns = 0;
  uint64_t final_idle_ns = 0;
  bool ended = false;
  void End(uint64_t idle_ns);  // loop thread, at teardown

  // Ring of iterations, written only while a JavaScript reader wants it.
  IterationSlot ring[kRingSize];
  uint64_t ring_written = 0;  // slots ever written; next slot is ring_written % kRingSize
};

// The loop probe: an unref'd prepare handle (start of an iteration), an unref'd check handle
// started after Node's (so at the head of the check queue: end of poll, start of check),
// and a close marker closed in the check callback (its close callback runs in the closing
// phase of the same iteration: end of check). All three callbacks are purely native, take no
// lock, allocate nothing and make no system call, except that the idle time is read with
// uv_metrics_idle_time() (a mutex) until a direct read of the same counter is verified.
class LoopProbe : public Component {
 public:
  explicit LoopProbe(Instance* instance);
  ~LoopProbe() override = default;

  void Start();
  void Close() override;

  static void Init(Napi::Env env, Napi::Object exports, Instance* instance);

  const std::shared_ptr<LoopRecorder>& recorder() const { return recorder_; }

 private:
  enum class IdleRead { kUnverified, kDirect, kLocked };

  static void OnPrepare(uv_prepare_t* handle);
  static void OnCheck(uv_check_t* handle);
  static void OnMarkerClosed(uv_handle_t* handle);
  static void OnHandleClosed(uv_handle_t* handle);

  uint64_t IdleNs();
  void Verify(uint64_t locked);
  void Fold();  // recorder_->Fold() and publish the event counters
  uint64_t EventsNow() const;
  void ResolveInternals();

  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value ReadIterations(const Napi::CallbackInfo& info);
  Napi::Value ConfigureRing(const Napi::CallbackInfo& info);
  Napi::Value SetThreadId(const Napi::CallbackInfo& info);
  Napi::Value ReadThreads(const Napi::CallbackInfo& info);

  Instance* const instance_;
  std::shared_ptr<LoopRecorder> recorder_;
  uv_prepare_t prepare_;
  uv_check_t check_;
  uv_idle_t marker_;
  bool marker_closing_ = false;
  bool started_ = false;

  // Per-iteration state (loop thread only).
  bool in_iteration_ = false;   // a prepare was seen
  bool completed_ = false;      // check end was seen for the current iteration
  uint64_t index_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t idle_at_prepare_ = 0;
  uint64_t check_start_ns_ = 0;
  uint64_t check_end_ns_ = 0;
  uint64_t poll_wait_ns_ = 0;
  uint64_t poll_ns_ = 0;
  uint64_t check_ns_ = 0;
  uint64_t events_at_check_ = 0;
  uint64_t iteration_events_ = LoopRecorder::kUnknownEvents;

  // Ring filter: record iterations with busy >= ring_min_busy_ns_ while ring_enabled_.
  bool ring_enabled_ = false;
  uint64_t ring_min_busy_ns_ = 0;

  // Direct reads of libuv's loop metrics (loop->internal_fields), verified at run time.
  IdleRead idle_read_ = IdleRead::kUnverified;
  const uint64_t* idle_field_ = nullptr;    // provider_idle_time
  const uint64_t* events_field_ = nullptr;  // metrics.events (libuv >= 1.45)
  const uint64_t* waiting_field_ = nullptr; // metrics.events_waiting (libuv >= 1.45)
  int verified_samples_ = 0;

  // Recording start, for cumulative snapshots.
  uint64_t events_at_start_ = 0;
  uint64_t waiting_at_start_ = 0;
};

}  // namespace uvscope
