#include "loop_probe.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <new>

#include "instance.h"
#include "napi_util.h"
#include "registry.h"
#include "thread_state.h"
#include "uv_compat.h"

namespace uvscope {
namespace {

constexpr size_t kReadHeader = LoopRecorder::kReadHeader;
constexpr size_t kReadSize = LoopRecorder::kReadSize;
// readThreads() layout: [count, needed], then per recorder [serial, flags] and its data.
constexpr size_t kThreadsHeader = 2;
constexpr size_t kThreadRecordHeader = 2;

// Offsets into loop->internal_fields (libuv's uv__loop_internal_fields_t), 64-bit
// platforms: { unsigned flags; uv__loop_metrics_t loop_metrics; ... } where loop_metrics is
// { uv_metrics_t metrics (>= 1.45: 3 counters + 13 pointers); uint64_t provider_entry_time;
// uint64_t provider_idle_time; uv_mutex_t lock; }. Used only after being checked against
// uv_metrics_idle_time() and uv_metrics_info() on the running loop.
constexpr size_t kMetricsOffset = 8;
constexpr size_t kIdleOffset145 = kMetricsOffset + sizeof(UvMetrics) + sizeof(uint64_t);
constexpr size_t kIdleOffset144 = kMetricsOffset + sizeof(uint64_t);
constexpr int kSamplesToTrust = 3;
constexpr uint64_t kHandOffBatchNs = 1000000;

// libuv's intrusive queues (loop->check_handles, uv_check_t::queue): a circular doubly
// linked list through a sentinel, { next, prev } in every libuv 1.x, whether the header
// spells it `void* [2]` (<= 1.46) or `struct uv__queue` (>= 1.47).
struct QueueLink {
  QueueLink* next;
  QueueLink* prev;
};
static_assert(sizeof(uv_check_t::queue) == sizeof(QueueLink), "libuv queue layout");
static_assert(sizeof(uv_loop_t::check_handles) == sizeof(QueueLink), "libuv queue layout");
static_assert(sizeof(uv_loop_t::idle_handles) == sizeof(QueueLink), "libuv queue layout");

QueueLink* Link(void* queue) { return static_cast<QueueLink*>(queue); }
const QueueLink* Link(const void* queue) { return static_cast<const QueueLink*>(queue); }

void Unlink(QueueLink* q) {
  q->prev->next = q->next;
  q->next->prev = q->prev;
}

void InsertHead(QueueLink* head, QueueLink* q) {
  q->next = head->next;
  q->prev = head;
  q->next->prev = q;
  head->next = q;
}

void InsertTail(QueueLink* head, QueueLink* q) {
  q->next = head;
  q->prev = head->prev;
  q->prev->next = q;
  head->prev = q;
}

double EventsOrNaN(uint64_t value) {
  return value == LoopRecorder::kUnknownEvents ? std::numeric_limits<double>::quiet_NaN()
                                               : static_cast<double>(value);
}

}  // namespace

void LoopRecorder::Fold() {
  const uint32_t seq = fold_seq.load(std::memory_order_relaxed);
  fold_seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t h = 0; h < kImages; ++h) histograms[h].RecordMany(&stage_[0][h], kImages, staged_);
  if (staged_ > 0) last_busy_ns_ = stage_[staged_ - 1][0];
  iterations.store(iterations.load(std::memory_order_relaxed) + staged_, std::memory_order_relaxed);
  staged_ = 0;
  fold_seq.store(seq + 2, std::memory_order_release);
}

void LoopRecorder::End(uint64_t idle_ns, uint64_t unfinished_ns) {
  std::lock_guard<std::mutex> lock(mutex);
  loop = nullptr;
  end_hr_ns = uv_hrtime();
  final_idle_ns = idle_ns;
  unfinished_busy_ns = unfinished_ns;
  final_last_busy_ns = last_busy_ns_;  // the caller folded the stage first
  ended = true;
  // Only this thread's iterations() readers use the ring, and they are gone with it.
  ring_enabled.store(false, std::memory_order_relaxed);
  ring_.reset();
}

LoopRecorder::Live LoopRecorder::ReadLive() {
  std::lock_guard<std::mutex> lock(mutex);
  return LiveLocked();
}

LoopRecorder::Live LoopRecorder::LiveLocked() const {
  Live live;
  if (ended || loop == nullptr) return live;
  uint64_t start;
  uint64_t idle_at_start;
  for (;;) {
    const uint32_t before = live_seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    live.index = live_index.load(std::memory_order_relaxed);
    start = live_start_ns.load(std::memory_order_relaxed);
    idle_at_start = live_idle_ns.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (live_seq.load(std::memory_order_relaxed) == before) break;
  }
  if (live.index == 0) return live;
  // uv_metrics_idle_time() counts the wait under way too, so busy time does not grow while
  // the loop sleeps. The loop is alive while `loop` is set (under `mutex`).
  const uint64_t idle = uv_metrics_idle_time(loop);
  const uint64_t now = Clock::Get().NowNs();
  const uint64_t elapsed = now > start ? now - start : 0;
  const uint64_t waited = idle > idle_at_start ? idle - idle_at_start : 0;
  live.start_ns = start;
  live.busy_ns = elapsed > waited ? elapsed - waited : 0;
  if (const uint64_t* entry = entry_field.load(std::memory_order_acquire)) {
    // Written by the loop thread under libuv's metrics lock; an aligned 8-byte load.
    live.waiting = __atomic_load_n(entry, __ATOMIC_RELAXED) != 0 ? 1 : 0;
  }
  return live;
}

bool LoopRecorder::AllocateRing() {
  // nothrow: built without C++ exceptions, a failed new would abort the process.
  if (!ring_) ring_.reset(new (std::nothrow) IterationSlot[kRingSize]());
  return ring_ != nullptr;
}

void LoopRecorder::Read(double* data) {
  uint64_t now_hr;
  uint64_t idle;
  bool has_ended;
  double id;
  Live live;
  uint64_t unfinished;
  uint64_t last_busy;
  {
    std::lock_guard<std::mutex> lock(mutex);
    has_ended = ended;
    id = thread_id;
    live = LiveLocked();
    if (!ended && loop != nullptr && entry_field.load(std::memory_order_acquire) != nullptr) {
      SettleLostWaitLocked(live.index, false);
    }
    unfinished = unfinished_busy_ns;
    last_busy = final_last_busy_ns;
    now_hr = ended ? end_hr_ns : uv_hrtime();
    // uv_metrics_idle_time() is safe from any thread; the loop is alive while `loop` is set.
    idle = ended ? final_idle_ns : uv_metrics_idle_time(loop) - idle_at_start;
  }
  idle += credited_idle_ns.load(std::memory_order_relaxed);
  // Copy the counters and histograms from one side of a fold (see fold_seq).
  for (;;) {
    const uint32_t before = fold_seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    data[4] = static_cast<double>(iterations.load(std::memory_order_relaxed));
    double* image = data + kReadHeader;
    for (const Histogram& h : histograms) {
      h.CopyTo(image);
      image += Histogram::kCopySize;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (fold_seq.load(std::memory_order_relaxed) == before) break;
  }
  const Clock& clock = Clock::Get();
  data[0] = static_cast<double>(clock.kind());
  data[1] = static_cast<double>(clock.NowNs());
  data[2] = static_cast<double>(now_hr);
  data[3] = static_cast<double>(start_hr_ns);
  data[5] = static_cast<double>(idle);
  data[6] = EventsOrNaN(events.load(std::memory_order_relaxed));
  data[7] = EventsOrNaN(events_waiting.load(std::memory_order_relaxed));
  data[8] = 0;  // the reader fills in how the idle time is read
  data[9] = has_ended ? 1 : 0;
  data[10] = id;
  data[11] = static_cast<double>(tid);
  // The iteration under way (index 0: none, or ended), or for an ended thread the busy
  // time of the iteration it ended inside.
  data[12] = static_cast<double>(live.index);
  data[13] = static_cast<double>(has_ended ? unfinished : live.busy_ns);
  data[14] = static_cast<double>(live.waiting);
  data[15] = static_cast<double>(live.start_ns);
  data[16] = static_cast<double>(has_ended ? last_busy : 0);
}

void LoopRecorder::Append(uint64_t index, uint64_t start_ns, uint64_t duration_ns, uint64_t poll_wait_ns,
                          uint64_t poll_ns, uint64_t check_ns, uint64_t timers_ns, uint64_t events) {
  const uint64_t n = ring_written_.load(std::memory_order_relaxed);
  ring_claimed_.store(n + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  IterationSlot& slot = ring_[n & (kRingSize - 1)];
  constexpr auto kRelaxed = std::memory_order_relaxed;
  slot.index.store(index, kRelaxed);
  slot.start_ns.store(start_ns, kRelaxed);
  slot.duration_ns.store(duration_ns, kRelaxed);
  slot.poll_wait_ns.store(poll_wait_ns, kRelaxed);
  slot.poll_ns.store(poll_ns, kRelaxed);
  slot.check_ns.store(check_ns, kRelaxed);
  slot.timers_ns.store(timers_ns, kRelaxed);
  slot.events.store(events, kRelaxed);
  ring_written_.store(n + 1, std::memory_order_release);
}

uint64_t LoopRecorder::ReadRing(uint64_t* cursor, double* out, uint64_t room, uint64_t* dropped) const {
  if (!ring_) return 0;  // no reader has enabled it yet
  const uint64_t written = ring_written_.load(std::memory_order_acquire);
  uint64_t from = *cursor;
  const uint64_t oldest = written > kRingSize ? written - kRingSize : 0;
  if (from < oldest) {
    *dropped += oldest - from;
    from = oldest;
  }
  uint64_t count = written - from;
  if (count > room) count = room;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  for (uint64_t i = 0; i < count; ++i) {
    const IterationSlot& s = ring_[(from + i) & (kRingSize - 1)];
    double* o = out + i * kSlotDoubles;
    o[0] = static_cast<double>(s.index.load(kRelaxed));
    o[1] = static_cast<double>(s.start_ns.load(kRelaxed));
    o[2] = static_cast<double>(s.duration_ns.load(kRelaxed));
    o[3] = static_cast<double>(s.poll_wait_ns.load(kRelaxed));
    o[4] = static_cast<double>(s.poll_ns.load(kRelaxed));
    o[5] = static_cast<double>(s.check_ns.load(kRelaxed));
    o[6] = static_cast<double>(s.timers_ns.load(kRelaxed));
    o[7] = EventsOrNaN(s.events.load(kRelaxed));
  }
  // A writer on another thread may have reused slots while they were copied: those at
  // sequence numbers below claimed - kRingSize are suspect and count as dropped.
  std::atomic_thread_fence(std::memory_order_acquire);
  const uint64_t claimed = ring_claimed_.load(kRelaxed);
  const uint64_t safe_from = claimed > kRingSize ? claimed - kRingSize : 0;
  if (from < safe_from) {
    const uint64_t lost = safe_from - from < count ? safe_from - from : count;
    std::memmove(out, out + lost * kSlotDoubles, (count - lost) * kSlotDoubles * sizeof(double));
    *dropped += lost;
    from += lost;
    count -= lost;
  }
  *cursor = from + count;
  return count;
}

void LoopProbe::Fold() {
  LoopRecorder& r = *recorder_;
  r.Fold();
  const uint64_t events = EventsNow();
  if (events != LoopRecorder::kUnknownEvents) {
    r.events.store(events - events_at_start_, std::memory_order_relaxed);
    UvMetrics metrics{};
    if (waiting_field_ != nullptr && idle_read_ == IdleRead::kDirect) {
      metrics.events_waiting = *static_cast<const volatile uint64_t*>(waiting_field_);
    } else {
      Uv().metrics_info(instance_->loop(), &metrics);
    }
    r.events_waiting.store(metrics.events_waiting - waiting_at_start_, std::memory_order_relaxed);
  }
}

LoopProbe::LoopProbe(Instance* instance)
    : shared_recorder_(std::make_shared<LoopRecorder>()),
      clock_(Clock::Get()),
      recorder_(shared_recorder_.get()),
      instance_(instance) {}

void LoopProbe::ResolveInternals() {
  const auto* base = static_cast<const unsigned char*>(instance_->loop()->internal_fields);
  if (base == nullptr || sizeof(void*) != 8) {
    idle_read_ = IdleRead::kLocked;
    return;
  }
  if (Uv().version >= 0x012D00) {
    idle_field_ = reinterpret_cast<const uint64_t*>(base + kIdleOffset145);
    events_field_ = reinterpret_cast<const uint64_t*>(base + kMetricsOffset + sizeof(uint64_t));
    waiting_field_ = reinterpret_cast<const uint64_t*>(base + kMetricsOffset + 2 * sizeof(uint64_t));
  } else {
    idle_field_ = reinterpret_cast<const uint64_t*>(base + kIdleOffset144);
  }
}

void LoopProbe::Start() {
  uv_loop_t* loop = instance_->loop();
  ResolveInternals();
  check_queue_ = &loop->check_handles;
  idle_queue_ = &loop->idle_handles;
  recorder_->start_hr_ns = uv_hrtime();
  recorder_->idle_at_start = uv_metrics_idle_time(loop);
  recorder_->loop = loop;
  const uint64_t events = EventsNow();
  events_at_start_ = events;
  events_at_check_ = events;
  if (Uv().metrics_info != nullptr) {
    UvMetrics metrics{};
    Uv().metrics_info(loop, &metrics);
    waiting_at_start_ = metrics.events_waiting;
    recorder_->events.store(0, std::memory_order_relaxed);
    recorder_->events_waiting.store(0, std::memory_order_relaxed);
  }

  uv_prepare_init(loop, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, OnPrepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
  instance_->Own(reinterpret_cast<uv_handle_t*>(&prepare_));
  instance_->Retain();

  // Both check handles go to the head now; OnPrepare moves check_end_ to the tail (not
  // here: uvscope may be loaded from a setImmediate callback, in the middle of the check
  // phase, when loop->check_handles holds only the handles that already ran).
  for (uv_check_t* check : {&check_end_, &check_start_}) {
    uv_check_init(loop, check);
    check->data = this;
    uv_check_start(check, check == &check_start_ ? OnCheckStart : OnCheckEnd);
    uv_unref(reinterpret_cast<uv_handle_t*>(check));
    instance_->Own(reinterpret_cast<uv_handle_t*>(check));
    instance_->Retain();
  }
  uv_timer_init(loop, &wake_);
  wake_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&wake_));
  instance_->Own(reinterpret_cast<uv_handle_t*>(&wake_));
  instance_->Retain();
  recorder_->tid = CurrentTid();
  started_ = true;
  Registry::Add(shared_recorder_);
}

void LoopProbe::Close() {
  if (!started_) return;
  started_ = false;
  Fold();
  const uint64_t idle = uv_metrics_idle_time(instance_->loop());
  uint64_t unfinished = 0;
  if (in_iteration_) {
    // Teardown inside an iteration: the thread never returned to its loop (a worker
    // terminated while running JavaScript). Its busy time so far is what it was doing.
    const uint64_t elapsed = clock_.NowNs() - start_ns_;
    const uint64_t waited = idle - idle_at_prepare_;
    unfinished = elapsed > waited ? elapsed - waited : 0;
  }
  recorder_->End(idle - recorder_->idle_at_start, unfinished);
  uv_prepare_stop(&prepare_);
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), OnHandleClosed);
  for (uv_check_t* check : {&check_start_, &check_end_}) {
    uv_check_stop(check);
    uv_close(reinterpret_cast<uv_handle_t*>(check), OnHandleClosed);
  }
  wake_armed_ = false;
  handoff_pending_ = false;
  uv_timer_stop(&wake_);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), OnHandleClosed);
  // The environment is still whole in its cleanup hook; after it, nothing may call Node-API.
  if (wake_fn_ != nullptr) napi_delete_reference(env_, wake_fn_);
  wake_fn_ = nullptr;
  if (wake_context_ != nullptr) napi_async_destroy(env_, wake_context_);
  wake_context_ = nullptr;
}

void LoopProbe::OnHandleClosed(uv_handle_t* handle) {
  static_cast<LoopProbe*>(handle->data)->instance_->Release();  // may free the probe
}

// Puts check_start_ first and check_end_ last in the check queue. Only outside the check
// phase (uv__run_check moves the queue aside while it runs).
void LoopProbe::OrderChecks() {
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&check_start_)) ||
      !uv_is_active(reinterpret_cast<uv_handle_t*>(&check_end_))) {
    return;
  }
  QueueLink* head = Link(check_queue_);
  QueueLink* first = Link(&check_start_.queue);
  QueueLink* last = Link(&check_end_.queue);
  if (head->next != first) {
    Unlink(first);
    InsertHead(head, first);
  }
  if (head->prev != last) {
    Unlink(last);
    InsertTail(head, last);
  }
}

uint64_t LoopProbe::IdleNs() {
  if (UVSCOPE_LIKELY(idle_read_ == IdleRead::kDirect)) return *static_cast<const volatile uint64_t*>(idle_field_);
  const uint64_t locked = uv_metrics_idle_time(instance_->loop());
  if (idle_read_ == IdleRead::kUnverified) Verify(locked);
  return locked;
}

// Called where the loop is not inside poll (provider_entry_time is 0), so `locked` is
// exactly the stored idle counter. The layout is trusted after kSamplesToTrust agreeing
// samples that could not agree by chance: a nonzero idle time, or (libuv >= 1.45) the
// iteration counter, which moves every iteration, with events and events_waiting.
void LoopProbe::Verify(uint64_t locked) {
  if (idle_field_ == nullptr) {
    idle_read_ = IdleRead::kLocked;
    return;
  }
  bool same = *static_cast<const volatile uint64_t*>(idle_field_) == locked;
  bool telling = locked != 0;
  if (same && events_field_ != nullptr && Uv().metrics_info != nullptr) {
    UvMetrics metrics{};
    Uv().metrics_info(instance_->loop(), &metrics);
    const auto* counters = events_field_ - 1;  // loop_count, events, events_waiting
    same = metrics.loop_count == counters[0] && metrics.events == counters[1] &&
           metrics.events_waiting == counters[2];
    telling = telling || metrics.loop_count != 0;
  }
  if (!same) {
    idle_read_ = IdleRead::kLocked;
  } else if (telling && ++verified_samples_ >= kSamplesToTrust) {
    idle_read_ = IdleRead::kDirect;
    // provider_entry_time precedes provider_idle_time in every libuv that has them.
    recorder_->entry_field.store(idle_field_ - 1, std::memory_order_release);
  }
}

uint64_t LoopProbe::EventsNow() const {
  if (idle_read_ == IdleRead::kDirect && events_field_ != nullptr) {
    return *static_cast<const volatile uint64_t*>(events_field_);
  }
  if (Uv().metrics_info == nullptr) return LoopRecorder::kUnknownEvents;
  UvMetrics metrics{};
  Uv().metrics_info(instance_->loop(), &metrics);
  return metrics.events;
}

void LoopProbe::OnPrepare(uv_prepare_t* handle) {
  auto* self = static_cast<LoopProbe*>(handle->data);
  const uint64_t now = self->clock_.NowNs();
  if (UVSCOPE_LIKELY(self->completed_)) self->Complete(now);
  self->instance_->RunTicks(now);
  const QueueLink* head = Link(self->check_queue_);
  if (UVSCOPE_UNLIKELY(head->next != Link(&self->check_start_.queue) ||
                       head->prev != Link(&self->check_end_.queue))) {
    self->OrderChecks();
  }
  ++self->index_;
  self->in_iteration_ = true;
  self->in_check_ = false;
  self->completed_ = false;
  self->start_ns_ = now;
  self->idle_at_prepare_ = self->IdleNs();
  self->recorder_->PublishLive(self->index_, now, self->idle_at_prepare_);
}

// Whether the coming poll may block. libuv polls with a zero timeout while any idle handle
// is active (Node's, while setImmediate callbacks are pending): checking that queue first
// spares busy loops the call.
bool LoopProbe::MaySleep() const {
  const QueueLink* idle = Link(idle_queue_);
  if (idle->next != idle) return false;
  return uv_backend_timeout(instance_->loop()) != 0;
}

// Finishes the iteration that ends at `now` (this prepare).
void LoopProbe::Complete(uint64_t now) {
  LoopRecorder& r = *recorder_;
  const uint64_t duration = now - start_ns_;
  const uint64_t timers = now - check_end_ns_;
  if (UVSCOPE_UNLIKELY(r.credit_index.load(std::memory_order_acquire) == index_)) {
    // The watchdog saw libuv lose a wait of this iteration to EINTR: it was waiting.
    const uint64_t credit = r.credit_ns.load(std::memory_order_relaxed);
    const uint64_t lost = credit < poll_ns_ ? credit : poll_ns_;
    poll_wait_ns_ += lost;
    poll_ns_ -= lost;
  }
  const uint64_t busy = duration - poll_wait_ns_;  // poll_wait_ns_ <= the time in poll
  r.Stage(busy, poll_ns_, poll_wait_ns_, check_ns_, timers);
  if (UVSCOPE_UNLIKELY(r.stall_index.load(std::memory_order_relaxed) == index_)) {
    const uint64_t phase = poll_ns_ >= check_ns_ ? (poll_ns_ >= timers ? 0 : 2) : (check_ns_ >= timers ? 1 : 2);
    r.stall_busy_phase.store(busy << 2 | phase, std::memory_order_relaxed);
    r.stall_done.store(index_, std::memory_order_release);
  }
  // Fold when the stage is full, and before the loop may sleep: other threads read the
  // histograms, and staged iterations would stay invisible to them for the whole sleep.
  if (r.stage_full() || MaySleep()) Fold();
  if (r.ring_enabled.load(std::memory_order_relaxed) &&
      busy >= r.ring_min_busy_ns.load(std::memory_order_relaxed)) {
    r.Append(index_, start_ns_, duration, poll_wait_ns_, poll_ns_, check_ns_, timers, iteration_events_);
    if (wake_armed_ && busy >= wake_min_busy_ns_ && index_ != handoff_index_) {
      wake_armed_ = false;
      handoff_pending_ = true;
      handoff_since_ns_ = now;
    }
  }
  if (handoff_pending_ && (now - handoff_since_ns_ >= kHandOffBatchNs || MaySleep())) {
    handoff_pending_ = false;
    // Due now (loop->time): the poll that follows this prepare does not block, and the
    // timers phase of this same iteration hands the record over (libuv < 1.45: the top of
    // the next one, before its prepare). A heap insert: no system call, no allocation.
    uv_timer_start(&wake_, OnWake, 0, 0);
  }
}

void LoopProbe::OnWake(uv_timer_t* handle) {
  auto* self = static_cast<LoopProbe*>(handle->data);
  self->handoff_index_ = self->index_;
  self->CallWake();
}

// Calls JavaScript from a libuv callback (no JavaScript on the stack): a handle scope and a
// callback scope (napi_make_callback runs the microtasks and nextTicks the hand-off queues).
// Never during teardown, and it returns cleanly where the environment cannot run
// JavaScript any more (a terminating worker) or the callback threw (the exception goes to
// 'uncaughtException', as from any callback).
void LoopProbe::CallWake() {
  if (instance_->closing() || wake_fn_ == nullptr) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env_, &scope) != napi_ok) return;
  napi_value fn;
  napi_value result;
  if (napi_get_reference_value(env_, wake_fn_, &fn) == napi_ok && fn != nullptr &&
      napi_make_callback(env_, wake_context_, fn, fn, 0, nullptr, &result) != napi_ok) {
    bool pending = false;
    napi_value error;
    if (napi_is_exception_pending(env_, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env_, &error) == napi_ok) {
      napi_fatal_exception(env_, error);
    }
  }
  napi_close_handle_scope(env_, scope);
}

void LoopProbe::OnCheckStart(uv_check_t* handle) {
  auto* self = static_cast<LoopProbe*>(handle->data);
  if (!self->in_iteration_) return;
  const uint64_t now = self->clock_.NowNs();
  const uint64_t idle = self->IdleNs();
  const uint64_t in_poll = now - self->start_ns_;
  uint64_t wait = idle - self->idle_at_prepare_;
  if (wait > in_poll) wait = in_poll;  // two clocks: never more wait than time spent
  self->poll_wait_ns_ = wait;
  self->poll_ns_ = in_poll - wait;
  if (self->events_at_check_ != LoopRecorder::kUnknownEvents) {
    const uint64_t events = self->EventsNow();
    self->iteration_events_ = events - self->events_at_check_;
    self->events_at_check_ = events;
  }
  self->check_start_ns_ = now;
  self->in_check_ = true;
}

void LoopProbe::OnCheckEnd(uv_check_t* handle) {
  auto* self = static_cast<LoopProbe*>(handle->data);
  if (!self->in_check_) return;
  const uint64_t now = self->clock_.NowNs();
  self->check_end_ns_ = now;
  self->check_ns_ = now - self->check_start_ns_;
  self->in_check_ = false;
  self->completed_ = true;
}

Napi::Value LoopProbe::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array out;
  if (!Float64ArrayArg(info, 0, "out", kReadSize, &out)) return {};
  Fold();  // JavaScript runs on the loop thread: the single writer may fold here
  recorder_->Read(out.Data());
  out.Data()[8] = static_cast<double>(idle_read_);
  return env.Undefined();
}

// readIterations(cursor, out): copies ring records from sequence number `cursor` on, as
// many as fit in `out`. Returns [count, nextCursor, dropped, clockNowNs, hrNowNs].
Napi::Value LoopProbe::ReadIterations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "uvscope: readIterations(cursor: number, out: Float64Array)")
        .ThrowAsJavaScriptException();
    return {};
  }
  const double cursor_arg = info[0].As<Napi::Number>().DoubleValue();
  const LoopRecorder& r = *recorder_;
  if (!(cursor_arg >= 0) || cursor_arg > static_cast<double>(r.ring_written()) ||
      std::floor(cursor_arg) != cursor_arg) {
    Napi::RangeError::New(env, "uvscope: cursor must be an integer between 0 and the records written")
        .ThrowAsJavaScriptException();
    return {};
  }
  Napi::Float64Array out = info[1].As<Napi::Float64Array>();
  uint64_t cursor = static_cast<uint64_t>(cursor_arg);
  uint64_t dropped = 0;
  const uint64_t count = r.ReadRing(&cursor, out.Data(), out.ElementLength() / LoopRecorder::kSlotDoubles, &dropped);
  const double values[5] = {static_cast<double>(count), static_cast<double>(cursor), static_cast<double>(dropped),
                            static_cast<double>(clock_.NowNs()), static_cast<double>(uv_hrtime())};
  Napi::Array result = Napi::Array::New(env, 5);
  if (Failed(result)) return {};
  for (uint32_t i = 0; i < 5; ++i) {
    if (!result.Set(i, Napi::Number::New(env, values[i]))) return {};
  }
  return result;
}

// configureRing(enabled, minBusyNs): returns the ring's write cursor.
Napi::Value LoopProbe::ConfigureRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBoolean() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "uvscope: configureRing(enabled: boolean, minBusyNs: number)")
        .ThrowAsJavaScriptException();
    return {};
  }
  const double min_busy = info[1].As<Napi::Number>().DoubleValue();
  if (!(min_busy >= 0) || !std::isfinite(min_busy)) {
    Napi::RangeError::New(env, "uvscope: minBusyNs must be finite and >= 0").ThrowAsJavaScriptException();
    return {};
  }
  LoopRecorder& r = *recorder_;
  const bool enabled = info[0].As<Napi::Boolean>().Value();
  // Before the loop thread can see ring_enabled.
  if (enabled && !r.AllocateRing()) {
    Napi::Error::New(env, "uvscope: no memory for the iteration ring").ThrowAsJavaScriptException();
    return {};
  }
  r.ring_min_busy_ns.store(min_busy >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(min_busy),
                           std::memory_order_relaxed);
  r.ring_enabled.store(enabled, std::memory_order_relaxed);
  return Napi::Number::New(env, static_cast<double>(r.ring_written()));
}

// ringWait(waiting, minBusyNs): whether an iterations() consumer waits for a record, and
// the lowest busy time any waiting consumer accepts. Loop thread (JavaScript) only.
Napi::Value LoopProbe::RingWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBoolean() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "uvscope: ringWait(waiting: boolean, minBusyNs: number)").ThrowAsJavaScriptException();
    return {};
  }
  const double min_busy = info[1].As<Napi::Number>().DoubleValue();
  if (!(min_busy >= 0) || !std::isfinite(min_busy)) {
    Napi::RangeError::New(env, "uvscope: minBusyNs must be finite and >= 0").ThrowAsJavaScriptException();
    return {};
  }
  wake_min_busy_ns_ = min_busy >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(min_busy);
  wake_armed_ = info[0].As<Napi::Boolean>().Value() && wake_fn_ != nullptr;
  if (!wake_armed_) handoff_pending_ = false;  // nobody waits any more
  return env.Undefined();
}

// ringOnWake(fn): the function a hand-off calls (once per thread; a later call replaces it).
Napi::Value LoopProbe::RingOnWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "uvscope: ringOnWake(fn) needs a function").ThrowAsJavaScriptException();
    return {};
  }
  // An async resource of its own, so that async_hooks and AsyncLocalStorage see the
  // hand-off as a callback with an id, not as code running outside any.
  if (wake_context_ == nullptr) {
    napi_value name;
    if (napi_create_string_utf8(env, "uvscope.iterations", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_async_init(env, nullptr, name, &wake_context_) != napi_ok) {
      wake_context_ = nullptr;
      return {};
    }
  }
  napi_ref ref;
  if (napi_create_reference(env, info[0], 1, &ref) != napi_ok) return {};
  if (wake_fn_ != nullptr) napi_delete_reference(env, wake_fn_);
  wake_fn_ = ref;
  env_ = env;
  return env.Undefined();
}

// setThreadId(id): the worker_threads threadId of this environment (0 on the main thread).
Napi::Value LoopProbe::SetThreadId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "uvscope: threadId must be a number").ThrowAsJavaScriptException();
    return {};
  }
  std::lock_guard<std::mutex> lock(recorder_->mutex);
  recorder_->thread_id = info[0].As<Napi::Number>().DoubleValue();
  return env.Undefined();
}

// readThreads(out, known): every listed recorder into `out`, a buffer the caller keeps and
// reuses (a call allocates nothing): [count, doubles needed, then per recorder: serial,
// flags (1 current, 2 ended, 4 data omitted), its loopRead() data unless omitted]. An
// ended recorder's numbers never change, so one whose serial is in `known` (ascending: the
// ended ones the caller already holds) is listed without data: with hundreds of ended
// workers retained a call costs about the live threads. What does not fit is counted in
// `needed` and not written; the caller grows `out` and reads again.
Napi::Value LoopProbe::ReadThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array out;
  Napi::Float64Array known;
  if (!Float64ArrayArg(info, 0, "out", kThreadsHeader, &out) || !Float64ArrayArg(info, 1, "known", 0, &known)) {
    return {};
  }
  Fold();
  const auto recorders = Registry::List();
  double* data = out.Data();
  const size_t room = out.ElementLength();
  const double* skip = known.Data();
  const size_t skips = known.ElementLength();
  size_t next_skip = 0;
  size_t at = kThreadsHeader;
  size_t listed = 0;
  for (const auto& recorder : recorders) {
    // The stall capture worker: never in the user's listings.
    if (recorder->hidden.load(std::memory_order_relaxed) && recorder != shared_recorder_) continue;
    ++listed;
    const double serial = static_cast<double>(recorder->serial);
    while (next_skip < skips && skip[next_skip] < serial) ++next_skip;
    const bool omit = next_skip < skips && skip[next_skip] == serial;
    const size_t size = kThreadRecordHeader + (omit ? 0 : kReadSize);
    if (at + size <= room) {
      if (!omit) recorder->Read(data + at + kThreadRecordHeader);
      const bool ended = omit || data[at + kThreadRecordHeader + 9] == 1;
      data[at] = serial;
      data[at + 1] = (recorder == shared_recorder_ ? 1 : 0) + (ended ? 2 : 0) + (omit ? 4 : 0);
    }
    at += size;
  }
  data[0] = static_cast<double>(listed);
  data[1] = static_cast<double>(at);
  return env.Undefined();
}

void LoopProbe::Init(Napi::Env env, Napi::Object exports, Instance* instance) {
  LoopProbe* probe = instance->Find<LoopProbe>();
  if (probe == nullptr) {
    probe = instance->Add<LoopProbe>(instance);
    probe->Start();
  }
  ExportMethod<LoopProbe, &LoopProbe::Read>(env, exports, "loopRead", probe);
  ExportMethod<LoopProbe, &LoopProbe::ReadIterations>(env, exports, "loopReadIterations", probe);
  ExportMethod<LoopProbe, &LoopProbe::SetThreadId>(env, exports, "loopSetThreadId", probe);
  ExportMethod<LoopProbe, &LoopProbe::ReadThreads>(env, exports, "loopReadThreads", probe);
  ExportMethod<LoopProbe, &LoopProbe::ConfigureRing>(env, exports, "loopConfigureRing", probe);
  ExportMethod<LoopProbe, &LoopProbe::RingWait>(env, exports, "loopRingWait", probe);
  ExportMethod<LoopProbe, &LoopProbe::RingOnWake>(env, exports, "loopRingOnWake", probe);
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("header", Napi::Number::New(env, static_cast<double>(kReadHeader)));
  layout.Set("images", Napi::Number::New(env, static_cast<double>(LoopRecorder::kImages)));
  layout.Set("size", Napi::Number::New(env, static_cast<double>(kReadSize)));
  layout.Set("ringSize", Napi::Number::New(env, static_cast<double>(LoopRecorder::kRingSize)));
  layout.Set("slotSize", Napi::Number::New(env, static_cast<double>(LoopRecorder::kSlotDoubles)));
  layout.Set("threadsHeader", Napi::Number::New(env, static_cast<double>(kThreadsHeader)));
  layout.Set("threadRecordHeader", Napi::Number::New(env, static_cast<double>(kThreadRecordHeader)));
  exports.Set("loopLayout", layout);
}

}  // namespace uvscope
