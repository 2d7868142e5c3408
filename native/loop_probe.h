#pragma once

#include <napi.h>
#include <uv.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "clock.h"
#include "histogram.h"
#include "instance.h"

namespace uvscope {
class Instance;

// One completed loop iteration, durations in ns. Written by the loop thread with relaxed
// stores and published through LoopRecorder's ring counters (a seqlock over the ring).
struct IterationSlot {
  std::atomic<uint64_t> index;
  std::atomic<uint64_t> start_ns;  // probe clock (uv_hrtime base) at prepare
  std::atomic<uint64_t> duration_ns;
  std::atomic<uint64_t> poll_wait_ns;
  std::atomic<uint64_t> poll_ns;
  std::atomic<uint64_t> check_ns;
  std::atomic<uint64_t> timers_ns;
  std::atomic<uint64_t> events;  // LoopRecorder::kUnknownEvents where libuv cannot say
};

// Everything the probe records on one loop. Fixed size, allocated once per environment.
//
// Threading: one writer, the loop thread, which takes no lock. Any thread may read:
//  - histograms and counters through Read(): a seqlock over Fold() (fold_seq) gives a copy
//    from one side of a fold; staged iterations become visible at the next fold (when the
//    stage is full, before the loop may sleep, and at every read from JavaScript);
//  - the ring through ReadRing(): a seqlock over each slot write (ring_claimed_ before,
//    ring_written_ after); what the writer may have overwritten during a copy is dropped.
// Lifetime: shared (refcounted) by the probe and the process-wide Registry, so a worker's
// final numbers stay readable from other threads after its environment is gone (End()).
struct LoopRecorder {
  static constexpr size_t kRingSize = 4096;  // power of two
  static constexpr size_t kSlotDoubles = 8;
  // Iterations are staged and folded into the histograms kStageSize at a time: between
  // iterations JavaScript evicts the histograms from the cache, and five scattered
  // updates per iteration cost more than everything else the probe does.
  static constexpr size_t kStageSize = 32;
  static constexpr size_t kImages = 5;  // busy, poll, pollWait, check, timers
  static constexpr uint64_t kUnknownEvents = UINT64_MAX;

  Histogram histograms[kImages];
  std::atomic<uint64_t> iterations{0};  // folded into the histograms
  // Seqlock over Fold(): odd while a fold is under way.
  std::atomic<uint32_t> fold_seq{0};

  // Ring filter, set by readers: record iterations with busy >= ring_min_busy_ns while
  // ring_enabled. Relaxed: a change applies from some iteration on.
  std::atomic<bool> ring_enabled{false};
  std::atomic<uint64_t> ring_min_busy_ns{0};

 private:
  size_t staged_ = 0;  // rows in stage_; here, beside the other fields each iteration touches

 public:

  // Loop thread only.
  void Stage(uint64_t busy, uint64_t poll, uint64_t poll_wait, uint64_t check, uint64_t timers) {
    uint64_t* row = stage_[staged_++];
    row[0] = busy;
    row[1] = poll;
    row[2] = poll_wait;
    row[3] = check;
    row[4] = timers;
  }
  bool stage_full() const { return staged_ == kStageSize; }
  size_t staged() const { return staged_; }
  void Fold();
  void Append(uint64_t index, uint64_t start_ns, uint64_t duration_ns, uint64_t poll_wait_ns,
              uint64_t poll_ns, uint64_t check_ns, uint64_t timers_ns, uint64_t events);

  // Read() layout: a header of kReadHeader doubles, then the histogram images in the order
  // busy, poll, pollWait, check, timers. Any thread. Header: 0 clock kind, 1 clock now,
  // 2 hrtime now (or at end), 3 start, 4 iterations, 5 idle ns, 6 events, 7 events waiting,
  // 8 idle read mode, 9 ended, 10 threadId, 11 tid, 12 live index, 13 live busy ns (ended:
  // unfinished busy ns), 14 waiting (1, 0, -1 unknown), 15 live start ns (probe clock),
  // 16 ended: busy ns of the last iteration it completed (0 while it runs).
  static constexpr size_t kReadHeader = 17;
  static constexpr size_t kReadSize = kReadHeader + kImages * Histogram::kCopySize;
  void Read(double* out);

  // Any thread. Copies the records from sequence number `*cursor` on that are still in the
  // ring, at most `room`, into `out` (kSlotDoubles each); advances `*cursor` and returns how
  // many were copied. Records the writer overwrote before they were read are skipped and
  // added to `*dropped`.
  uint64_t ReadRing(uint64_t* cursor, double* out, uint64_t room, uint64_t* dropped) const;
  uint64_t ring_written() const { return ring_written_.load(std::memory_order_acquire); }
  // Loop thread, before ring_enabled is first set: the ring's storage; false where it
  // cannot be allocated.
  bool AllocateRing();

  // The iteration under way, for readers on other threads (threads(), the stall watchdog).
  // The loop thread writes them at each prepare under a seqlock (live_seq odd while it
  // writes): four plain stores on x86, no lock, no system call.
  std::atomic<uint32_t> live_seq{0};
  std::atomic<uint64_t> live_index{0};     // 0 before the first prepare
  std::atomic<uint64_t> live_start_ns{0};  // probe clock
  std::atomic<uint64_t> live_idle_ns{0};   // the loop's idle counter at that prepare
  // libuv's wait stamp (provider_entry_time, nonzero while the loop is blocked in its poll),
  // published once the in-place layout of the loop's metrics is verified; null until then
  // and where it cannot be read in place.
  std::atomic<const uint64_t*> entry_field{nullptr};
  void PublishLive(uint64_t index, uint64_t start_ns, uint64_t idle_ns) {
    const uint32_t seq = live_seq.load(std::memory_order_relaxed);
    live_seq.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    live_index.store(index, std::memory_order_relaxed);
    live_start_ns.store(start_ns, std::memory_order_relaxed);
    live_idle_ns.store(idle_ns, std::memory_order_relaxed);
    live_seq.store(seq + 2, std::memory_order_release);
  }

  // The iteration under way as another thread sees it. Any thread.
  struct Live {
    uint64_t index = 0;     // 0: no iteration seen yet, or the thread has ended
    uint64_t start_ns = 0;  // probe clock
    uint64_t busy_ns = 0;   // time since its start minus the time the loop waited in it
    int waiting = -1;       // 1 blocked in the loop's poll wait now, 0 not, -1 unknown
  };
  // Takes `mutex`. For an ended thread: index 0, and `unfinished_busy_ns` says whether it
  // ended inside an iteration.
  Live ReadLive();
  Live LiveLocked() const;  // caller holds `mutex`

  // For the stall watchdog (stall_watchdog.cc): the iteration it saw stalled (stall_index)
  // and, once that iteration completes, its busy time and dominant phase packed as
  // busy_ns << 2 | phase (0 poll, 1 check, 2 timers), then its index (stall_done, release).
  // The loop path pays one relaxed load and a compare.
  std::atomic<uint64_t> stall_index{0};
  std::atomic<uint64_t> stall_busy_phase{0};
  std::atomic<uint64_t> stall_done{0};
  // A wait libuv lost to EINTR (its poll restarts the wait stamp), seen by the watchdog in
  // the iteration under way: the loop thread folds credit_ns into that iteration's poll
  // wait when it completes; credited_idle_ns (cumulative) is added to every idle read.
  std::atomic<uint64_t> credit_index{0};
  std::atomic<uint64_t> credit_ns{0};
  std::atomic<uint64_t> credited_idle_ns{0};
  // The poll wait the watchdog last saw under way (guarded by `mutex`): its stamp, the stored
  // idle counter then, when it looked (uv_hrtime) and in which iteration. SettleLostWait()
  // compares them with the loop now; a reader calls it too, so a signal handler reading
  // loopStats() right after the EINTR sees the wait credited.
  uint64_t watch_stamp = 0;
  uint64_t watch_idle = 0;
  uint64_t watch_hr = 0;
  uint64_t watch_index = 0;
  // Caller holds `mutex`, the loop is alive and entry_field is set. `record`: remember the
  // wait under way now (the watchdog). Implemented in stall_watchdog.cc.
  void SettleLostWaitLocked(uint64_t live_index, bool record);
  // uvscope's own capture worker: left out of threads() and of stall detection.
  std::atomic<bool> hidden{false};

  // Identity and what a reader on another thread needs. Set before the recorder is shared.
  double thread_id = 0;
  uint64_t serial = 0;  // process-unique, ascending in registration order (Registry::Add)
  int tid = 0;  // the loop thread's Linux id (0 elsewhere)
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
  // The busy time of an iteration the thread was still inside when its environment ended
  // (a worker terminated while running JavaScript); 0 when it ended between iterations.
  uint64_t unfinished_busy_ns = 0;
  // The busy time of the last iteration the thread completed before it ended. A worker
  // terminate()d inside a long callback still completes that iteration during teardown
  // (V8 unwinds, a teardown prepare runs), so this, not unfinished_busy_ns, is what it was
  // doing then.
  uint64_t final_last_busy_ns = 0;
  bool ended = false;
  void End(uint64_t idle_ns, uint64_t unfinished_busy_ns);  // loop thread, at teardown

 private:
  uint64_t stage_[kStageSize][kImages];  // one row per iteration: 40 bytes written each
  uint64_t last_busy_ns_ = 0;  // the last folded iteration's busy time; loop thread only

  // kRingSize slots (256 KB): allocated by the thread's first iterations() reader, freed
  // when the thread ends, so threads that never stream, and ended ones kept for threads(),
  // do not carry it.
  std::unique_ptr<IterationSlot[]> ring_;
  std::atomic<uint64_t> ring_claimed_{0};  // slots whose writing has begun
  std::atomic<uint64_t> ring_written_{0};  // slots completely written
};

// The loop probe. Three unref'd handles, callbacks purely native (they may run during
// teardown), no lock, no allocation and no system call per iteration:
//  - a prepare handle at the head of the prepare queue: start of an iteration;
//  - a check handle at the HEAD of the check queue: end of poll, start of check;
//  - a check handle at the TAIL of the check queue: end of check (after Node's
//    CheckImmediate has run every setImmediate callback and its microtasks).
// libuv inserts started handles at the head and re-appends each handle in run order, so a
// handle moved to the tail once stays there; OnPrepare checks both ends (two compares)
// and restores them if some other code started or restarted a check handle.
class LoopProbe : public Component {
 public:
  explicit LoopProbe(Instance* instance);
  ~LoopProbe() override = default;

  void Start();
  void Close() override;

  static void Init(Napi::Env env, Napi::Object exports, Instance* instance);

  const std::shared_ptr<LoopRecorder>& recorder() const { return shared_recorder_; }

 private:
  enum class IdleRead { kUnverified = 0, kDirect = 1, kLocked = 2 };

  static void OnPrepare(uv_prepare_t* handle);
  static void OnCheckStart(uv_check_t* handle);
  static void OnCheckEnd(uv_check_t* handle);
  static void OnHandleClosed(uv_handle_t* handle);
  static void OnWake(uv_timer_t* handle);

  void Complete(uint64_t now);
  void Fold();  // recorder_->Fold() and publish the event counters
  UVSCOPE_COLD void OrderChecks();
  bool MaySleep() const;
  uint64_t IdleNs();
  void Verify(uint64_t locked);
  uint64_t EventsNow() const;
  void ResolveInternals();

  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value ReadIterations(const Napi::CallbackInfo& info);
  Napi::Value ConfigureRing(const Napi::CallbackInfo& info);
  Napi::Value RingWait(const Napi::CallbackInfo& info);
  Napi::Value RingOnWake(const Napi::CallbackInfo& info);
  void CallWake();
  Napi::Value SetThreadId(const Napi::CallbackInfo& info);
  Napi::Value ReadThreads(const Napi::CallbackInfo& info);

  std::shared_ptr<LoopRecorder> shared_recorder_;  // owns *recorder_

  // Hot state, loop thread only, kept together: what every iteration reads or writes lies
  // between clock_ and iteration_events_, so it spans as few cache lines as it can.
  const Clock clock_;
  LoopRecorder* const recorder_;
  Instance* const instance_;
  // Direct reads of libuv's loop metrics (loop->internal_fields), verified at run time.
  const uint64_t* idle_field_ = nullptr;     // provider_idle_time
  const uint64_t* events_field_ = nullptr;   // metrics.events (libuv >= 1.45)
  void* check_queue_ = nullptr;              // &loop->check_handles
  const void* idle_queue_ = nullptr;         // &loop->idle_handles
  bool in_iteration_ = false;   // a prepare was seen
  bool in_check_ = false;       // the start of this iteration's check was seen
  bool completed_ = false;      // the end of this iteration's check was seen
  IdleRead idle_read_ = IdleRead::kUnverified;
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
  const uint64_t* waiting_field_ = nullptr;  // metrics.events_waiting (libuv >= 1.45), read at folds
  // Hand-off to a waiting iterations() consumer (same thread: no atomics needed). Armed by
  // JavaScript while a consumer waits; the first ring record at least wake_min_busy_ns_
  // busy disarms it and starts wake_, due now: the loop does not sleep in that iteration's
  // poll and runs the consumer in its timers phase. No system call, no allocation.
  bool wake_armed_ = false;
  uint64_t wake_min_busy_ns_ = 0;
  // The iteration in which the last hand-off ran. Its record never wakes the consumer: it
  // exists because of the hand-off, and waking for it would keep an unfiltered stream's
  // loop turning forever. It is handed over with the next record that does wake.
  uint64_t handoff_index_ = 0;
  // A passing record was written while the loop did not go to sleep after it (a busy
  // loop): the hand-off waits until the loop may sleep or kHandOffBatchNs have passed, so
  // a consumer of a busy loop is woken about once a millisecond, not every iteration.
  bool handoff_pending_ = false;
  uint64_t handoff_since_ns_ = 0;
  uv_prepare_t prepare_;
  uv_check_t check_start_;
  uv_check_t check_end_;
  uv_timer_t wake_;  // unref'd; started only by a hand-off
  napi_env env_ = nullptr;
  napi_ref wake_fn_ = nullptr;  // JavaScript's hand-off callback; deleted at teardown
  napi_async_context wake_context_ = nullptr;  // its async_hooks resource; destroyed at teardown
  bool started_ = false;
  int verified_samples_ = 0;

  // Recording start, for cumulative snapshots.
  uint64_t events_at_start_ = 0;
  uint64_t waiting_at_start_ = 0;
};

}  // namespace uvscope
