#include "loop_probe.h"

#include <cmath>
#include <limits>

#include "clock.h"
#include "instance.h"
#include "registry.h"
#include "uv_compat.h"

namespace uvscope {
namespace {

constexpr size_t kReadHeader = LoopRecorder::kReadHeader;
constexpr size_t kImages = LoopRecorder::kImages;
constexpr size_t kReadSize = LoopRecorder::kReadSize;
constexpr size_t kSlotDoubles = 8;

// Offsets into loop->internal_fields (libuv's uv__loop_internal_fields_t), 64-bit
// platforms: { unsigned flags; uv__loop_metrics_t loop_metrics; ... } where loop_metrics is
// { uv_metrics_t metrics (>= 1.45: 3 counters + 13 pointers); uint64_t provider_entry_time;
// uint64_t provider_idle_time; uv_mutex_t lock; }. Used only after being checked against
// uv_metrics_idle_time() and uv_metrics_info() on the running loop.
constexpr size_t kMetricsOffset = 8;
constexpr size_t kIdleOffset145 = kMetricsOffset + sizeof(UvMetrics) + sizeof(uint64_t);
constexpr size_t kIdleOffset144 = kMetricsOffset + sizeof(uint64_t);
constexpr int kSamplesToTrust = 3;

LoopProbe* From(const Napi::CallbackInfo& info) { return static_cast<LoopProbe*>(info.Data()); }

double EventsOrNaN(uint64_t value) {
  return value == LoopRecorder::kUnknownEvents ? std::numeric_limits<double>::quiet_NaN()
                                               : static_cast<double>(value);
}

}  // namespace

void LoopRecorder::Fold() {
  const uint32_t seq = fold_seq.load(std::memory_order_relaxed);
  fold_seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  Histogram* histograms[] = {&busy, &poll, &poll_wait, &check, &timers};
  for (size_t h = 0; h < kImages; ++h) {
    for (size_t i = 0; i < staged; ++i) histograms[h]->Record(stage[i][h]);
  }
  iterations.store(iterations.load(std::memory_order_relaxed) + staged, std::memory_order_relaxed);
  staged = 0;
  fold_seq.store(seq + 2, std::memory_order_release);
}

void LoopRecorder::End(uint64_t idle_ns) {
  std::lock_guard<std::mutex> lock(mutex);
  loop = nullptr;
  end_hr_ns = uv_hrtime();
  final_idle_ns = idle_ns;
  ended = true;
}

void LoopRecorder::Read(double* data) {
  uint64_t now_hr;
  uint64_t idle;
  bool has_ended;
  double id;
  {
    std::lock_guard<std::mutex> lock(mutex);
    has_ended = ended;
    id = thread_id;
    now_hr = ended ? end_hr_ns : uv_hrtime();
    // uv_metrics_idle_time() is safe from any thread; the loop is alive while `loop` is set.
    idle = ended ? final_idle_ns : uv_metrics_idle_time(loop) - idle_at_start;
  }
  // Copy the counters and histograms from one side of a fold (see fold_seq).
  double* image;
  for (;;) {
    const uint32_t before = fold_seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    data[4] = static_cast<double>(iterations.load(std::memory_order_relaxed));
    image = data + kReadHeader;
    for (const Histogram* h : {&busy, &poll, &poll_wait, &check, &timers}) {
      h->CopyTo(image);
      image += Histogram::kCopySize;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (fold_seq.load(std::memory_order_relaxed) == before) break;
  }
  data[0] = static_cast<double>(Clock::Get().kind());
  data[1] = static_cast<double>(Clock::Get().NowNs());
  data[2] = static_cast<double>(now_hr);
  data[3] = static_cast<double>(start_hr_ns);
  data[5] = static_cast<double>(idle);
  data[6] = EventsOrNaN(events.load(std::memory_order_relaxed));
  data[7] = EventsOrNaN(events_waiting.load(std::memory_order_relaxed));
  data[8] = 0;  // the reader fills in how the idle time is read
  data[9] = has_ended ? 1 : 0;
  data[10] = id;
  for (size_t i = 11; i < kReadHeader; ++i) data[i] = 0;
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
    : instance_(instance), recorder_(std::make_shared<LoopRecorder>()) {}

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

  uv_check_init(loop, &check_);
  check_.data = this;
  uv_check_start(&check_, OnCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  instance_->Own(reinterpret_cast<uv_handle_t*>(&check_));
  instance_->Retain();

  instance_->Own(reinterpret_cast<uv_handle_t*>(&marker_));
  started_ = true;
  Registry::Add(recorder_);
}

void LoopProbe::Close() {
  if (!started_) return;
  started_ = false;
  Fold();
  recorder_->End(uv_metrics_idle_time(instance_->loop()) - recorder_->idle_at_start);
  uv_prepare_stop(&prepare_);
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), OnHandleClosed);
  uv_check_stop(&check_);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), OnHandleClosed);
  // A marker closing now still gets its close callback, which releases it.
}

void LoopProbe::OnHandleClosed(uv_handle_t* handle) {
  static_cast<LoopProbe*>(handle->data)->instance_->Release();  // may free the probe
}

uint64_t LoopProbe::IdleNs() {
  if (idle_read_ == IdleRead::kDirect) return *static_cast<const volatile uint64_t*>(idle_field_);
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
  const uint64_t now = Clock::Get().NowNs();
  if (self->completed_) {
    LoopRecorder& r = *self->recorder_;
    const uint64_t duration = now - self->start_ns_;
    const uint64_t timers = now - self->check_end_ns_;
    const uint64_t busy = duration > self->poll_wait_ns_ ? duration - self->poll_wait_ns_ : 0;
    uint64_t* staged = r.stage[r.staged];
    staged[0] = busy;
    staged[1] = self->poll_ns_;
    staged[2] = self->poll_wait_ns_;
    staged[3] = self->check_ns_;
    staged[4] = timers;
    // Fold when the stage is full, and before the loop may sleep: other threads read the
    // histograms, and staged iterations would stay invisible to them for the whole sleep.
    if (++r.staged == LoopRecorder::kStageSize || uv_backend_timeout(self->instance_->loop()) != 0) {
      self->Fold();
    }
    if (self->ring_enabled_ && busy >= self->ring_min_busy_ns_) {
      IterationSlot& slot = r.ring[r.ring_written & (LoopRecorder::kRingSize - 1)];
      slot = {self->index_, self->start_ns_, duration, self->poll_wait_ns_,
              self->poll_ns_, self->check_ns_, timers, self->iteration_events_};
      ++r.ring_written;
    }
  }
  self->instance_->RunTicks(now);
  ++self->index_;
  self->in_iteration_ = true;
  self->completed_ = false;
  self->start_ns_ = now;
  self->idle_at_prepare_ = self->IdleNs();
}

void LoopProbe::OnCheck(uv_check_t* handle) {
  auto* self = static_cast<LoopProbe*>(handle->data);
  if (!self->in_iteration_ || self->marker_closing_) return;
  const uint64_t now = Clock::Get().NowNs();
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
  // The marker's close callback runs in this iteration's closing phase: the end of check.
  uv_idle_init(self->instance_->loop(), &self->marker_);
  self->marker_.data = self;
  uv_close(reinterpret_cast<uv_handle_t*>(&self->marker_), OnMarkerClosed);
  self->marker_closing_ = true;
  self->instance_->Retain();
}

void LoopProbe::OnMarkerClosed(uv_handle_t* handle) {
  auto* self = static_cast<LoopProbe*>(handle->data);
  const uint64_t now = Clock::Get().NowNs();
  self->marker_closing_ = false;
  self->check_end_ns_ = now;
  self->check_ns_ = now - self->check_start_ns_;
  self->completed_ = true;
  self->instance_->Release();  // last: may free the probe during teardown
}

Napi::Value LoopProbe::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "uvscope: out must be a Float64Array").ThrowAsJavaScriptException();
    return {};
  }
  Napi::Float64Array out = info[0].As<Napi::Float64Array>();
  if (out.ElementLength() < kReadSize) {
    Napi::RangeError::New(env, "uvscope: out is too small").ThrowAsJavaScriptException();
    return {};
  }
  Fold();  // JavaScript runs on the loop thread: the single writer may fold here
  recorder_->Read(out.Data());
  out.Data()[8] = static_cast<double>(idle_read_);
  return env.Undefined();
}

// readIterations(cursor, out): copies ring slots from sequence number `cursor` on, as many
// as fit in `out` (8 doubles each). Returns [count, nextCursor, dropped, clockNowNs, hrNowNs].
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
  if (!(cursor_arg >= 0) || cursor_arg > static_cast<double>(r.ring_written) ||
      std::floor(cursor_arg) != cursor_arg) {
    Napi::RangeError::New(env, "uvscope: cursor must be an integer between 0 and the records written")
        .ThrowAsJavaScriptException();
    return {};
  }
  Napi::Float64Array out = info[1].As<Napi::Float64Array>();
  uint64_t cursor = static_cast<uint64_t>(cursor_arg);
  const uint64_t oldest = r.ring_written > LoopRecorder::kRingSize ? r.ring_written - LoopRecorder::kRingSize : 0;
  const uint64_t dropped = cursor < oldest ? oldest - cursor : 0;
  if (cursor < oldest) cursor = oldest;
  uint64_t count = r.ring_written - cursor;
  const uint64_t room = out.ElementLength() / kSlotDoubles;
  if (count > room) count = room;
  double* data = out.Data();
  for (uint64_t i = 0; i < count; ++i) {
    const IterationSlot& s = r.ring[(cursor + i) & (LoopRecorder::kRingSize - 1)];
    double* o = data + i * kSlotDoubles;
    o[0] = static_cast<double>(s.index);
    o[1] = static_cast<double>(s.start_ns);
    o[2] = static_cast<double>(s.duration_ns);
    o[3] = static_cast<double>(s.poll_wait_ns);
    o[4] = static_cast<double>(s.poll_ns);
    o[5] = static_cast<double>(s.check_ns);
    o[6] = static_cast<double>(s.timers_ns);
    o[7] = EventsOrNaN(s.events);
  }
  Napi::Array result = Napi::Array::New(env, 5);
  result.Set(0u, Napi::Number::New(env, static_cast<double>(count)));
  result.Set(1u, Napi::Number::New(env, static_cast<double>(cursor + count)));
  result.Set(2u, Napi::Number::New(env, static_cast<double>(dropped)));
  result.Set(3u, Napi::Number::New(env, static_cast<double>(Clock::Get().NowNs())));
  result.Set(4u, Napi::Number::New(env, static_cast<double>(uv_hrtime())));
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
  ring_enabled_ = info[0].As<Napi::Boolean>().Value();
  ring_min_busy_ns_ = min_busy >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(min_busy);
  return Napi::Number::New(env, static_cast<double>(recorder_->ring_written));
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

// readThreads(): [{ threadId, current, data: Float64Array }] for every listed recorder.
Napi::Value LoopProbe::ReadThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Fold();
  const auto recorders = Registry::List();
  Napi::Array result = Napi::Array::New(env, recorders.size());
  uint32_t i = 0;
  for (const auto& recorder : recorders) {
    Napi::Float64Array data = Napi::Float64Array::New(env, kReadSize);
    recorder->Read(data.Data());
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("current", Napi::Boolean::New(env, recorder == recorder_));
    entry.Set("data", data);
    result.Set(i++, entry);
  }
  return result;
}

void LoopProbe::Init(Napi::Env env, Napi::Object exports, Instance* instance) {
  LoopProbe* probe = instance->Add<LoopProbe>(instance);
  probe->Start();
  exports.Set("loopRead", Napi::Function::New(
      env, [](const Napi::CallbackInfo& info) { return From(info)->Read(info); }, "loopRead", probe));
  exports.Set("loopReadIterations", Napi::Function::New(
      env, [](const Napi::CallbackInfo& info) { return From(info)->ReadIterations(info); },
      "loopReadIterations", probe));
  exports.Set("loopSetThreadId", Napi::Function::New(
      env, [](const Napi::CallbackInfo& info) { return From(info)->SetThreadId(info); },
      "loopSetThreadId", probe));
  exports.Set("loopReadThreads", Napi::Function::New(
      env, [](const Napi::CallbackInfo& info) { return From(info)->ReadThreads(info); },
      "loopReadThreads", probe));
  exports.Set("loopConfigureRing", Napi::Function::New(
      env, [](const Napi::CallbackInfo& info) { return From(info)->ConfigureRing(info); },
      "loopConfigureRing", probe));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("header", Napi::Number::New(env, static_cast<double>(kReadHeader)));
  layout.Set("images", Napi::Number::New(env, static_cast<double>(kImages)));
  layout.Set("size", Napi::Number::New(env, static_cast<double>(kReadSize)));
  layout.Set("ringSize", Napi::Number::New(env, static_cast<double>(LoopRecorder::kRingSize)));
  layout.Set("slotSize", Napi::Number::New(env, static_cast<double>(kSlotDoubles)));
  exports.Set("loopLayout", layout);
}

}  // namespace uvscope
