#include "threadpool_probe.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

#include "clock.h"
#include "instance.h"
#include "napi_util.h"
#include "thread_state.h"

#ifdef __linux__
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace uvscope {
namespace {

// threadpoolRead() layout: a header of kReadHeader doubles, then the queue-wait and
// callback-delay histogram images.
constexpr size_t kReadHeader = 16;
constexpr size_t kImages = 3;  // queue wait, callback delay, CPU wait
constexpr size_t kReadSize = kReadHeader + kImages * Histogram::kCopySize;
// threadpoolThreads() writes kThreadDoubles per pool thread: [tid, busy, cpuNs].
constexpr size_t kThreadDoubles = 3;
constexpr size_t kMaxPoolThreads = 1024;  // libuv's MAX_THREADPOOL_SIZE
constexpr unsigned kNamedThreadsVersion = 0x013200;  // libuv 1.50: threads named libuv-worker


// libuv's own rule (src/threadpool.c init_threads): atoi, then 0 -> 1, above 1024 -> 1024
// (a negative value wraps to a huge unsigned and becomes 1024).
unsigned ConfiguredSize() {
  unsigned n = 4;
  const char* value = std::getenv("UV_THREADPOOL_SIZE");
  if (value != nullptr) n = static_cast<unsigned>(std::atoi(value));
  if (n == 0) n = 1;
  if (n > kMaxPoolThreads) n = kMaxPoolThreads;
  return n;
}

// Process-wide: the tracked in-flight counters summed over every environment, and the size
// the pool started with (the libuv rule applied when a probe first completed, so after the
// pool started; 0 until then).
std::atomic<int64_t> g_tracked[ThreadpoolProbe::kKinds];
std::atomic<unsigned> g_configured_size{0};

#ifdef __linux__
#if defined(__x86_64__)
constexpr long kFutexSyscall = 202;
#elif defined(__aarch64__)
constexpr long kFutexSyscall = 98;
#else
constexpr long kFutexSyscall = -1;
#endif

// What the kernel says one thread is doing (/proc/self/task/<tid>/syscall).
struct ThreadState {
  bool readable = false;
  bool futex_wait = false;  // blocked in futex(); `key` is its address rounded down to 8
  uint64_t key = 0;
};

ssize_t ReadSmall(const char* path, char* buffer, size_t size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const ssize_t n = read(fd, buffer, size - 1);
  close(fd);
  if (n >= 0) buffer[n] = '\0';
  return n;
}

ThreadState ReadState(int tid) {
  ThreadState state;
  char path[64];
  char text[256];
  snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
  if (ReadSmall(path, text, sizeof(text)) <= 0) return state;
  state.readable = true;
  // "running", or "<nr> <arg0> <arg1> ... <sp> <pc>" while blocked in a system call.
  char* end = nullptr;
  const long nr = std::strtol(text, &end, 10);
  if (end == text || nr != kFutexSyscall) return state;
  const unsigned long long address = std::strtoull(end, &end, 16);
  const unsigned long long op = std::strtoull(end, &end, 16);
  const unsigned command = static_cast<unsigned>(op) & 0x7f;  // less PRIVATE and CLOCK_REALTIME
  if (command != 0 /* FUTEX_WAIT */ && command != 9 /* FUTEX_WAIT_BITSET */) return state;
  state.futex_wait = true;
  // A glibc condition variable is waited on at one of two adjacent words (its two groups).
  state.key = static_cast<uint64_t>(address) & ~uint64_t{7};
  return state;
}

double CpuNs(int tid) {
  char path[64];
  char text[128];
  snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
  if (ReadSmall(path, text, sizeof(text)) <= 0) return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(text, nullptr);
}

// A thread's time spent runnable but waiting for a CPU since it started, ns (schedstat's
// run_delay; tid 0: the calling thread); kUnknownNs where the kernel does not say.
uint64_t RunDelayNs(int tid) {
  char path[64];
  char text[128];
  if (tid == 0) {
    snprintf(path, sizeof(path), "/proc/thread-self/schedstat");
  } else {
    snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
  }
  if (ReadSmall(path, text, sizeof(text)) <= 0) return ThreadpoolProbe::kUnknownNs;
  char* end = nullptr;
  std::strtoull(text, &end, 10);  // time on a CPU
  const char* delay = end;
  const unsigned long long value = std::strtoull(delay, &end, 10);
  return end == delay ? ThreadpoolProbe::kUnknownNs : static_cast<uint64_t>(value);
}

bool IsNamedWorker(int tid) {
  char path[64];
  char text[32];
  snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
  return ReadSmall(path, text, sizeof(text)) > 0 && std::strcmp(text, "libuv-worker\n") == 0;
}

long ThreadCount() {
  char text[1024];
  if (ReadSmall("/proc/self/stat", text, sizeof(text)) <= 0) return -1;
  const char* p = std::strrchr(text, ')');  // the name may hold spaces and parentheses
  if (p == nullptr) return -1;
  // Fields after the name: state(3) ppid ... num_threads is field 20.
  int field = 2;
  for (; *p != '\0'; ++p) {
    if (*p == ' ' && ++field == 20) return std::strtol(p + 1, nullptr, 10);
  }
  return -1;
}

template <typename F>
void ForEachTask(F f) {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    f(static_cast<int>(std::strtol(entry->d_name, nullptr, 10)));
  }
  closedir(dir);
}

// Which threads are the pool's. Pool threads live until the process exits, so the set only
// grows. Sources: the thread that ran a probe (certain); on libuv >= 1.50 the name
// `libuv-worker` (certain); else a thread blocked on the pool's condition variable, once
// that variable's address is confirmed by two known pool threads waiting on it.
class PoolThreads {
 public:
  static PoolThreads& Get() {
    static PoolThreads* pool = new PoolThreads();  // never destroyed: pool threads use it
    return *pool;
  }

  // On a pool thread, from the probe. Returns the thread's id.
  int AddCurrentThread() {
    thread_local int tid = 0;
    if (tid != 0) return tid;
    tid = static_cast<int>(syscall(SYS_gettid));
    std::lock_guard<std::mutex> lock(mutex_);
    Add(tid);
    return tid;
  }

  // On a pool thread, from a probe that has just started after a long wait: whether another
  // known pool thread is blocked on the pool's condition variable now and has run for less
  // than kFreeCpuNs since the last look at it (here or in Sample()), i.e. it was free all
  // along rather than just done with a task. A free thread beside the waiting probe means
  // the pool was not short of threads: the probe's own thread was slow to run (waiting for
  // a CPU in ways the run queue does not show, such as the hypervisor running another
  // guest). False while the variable's address is not known yet, or a state is unreadable.
  bool OtherThreadFree(int self_tid) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cond_key_ == 0) return false;
    bool free = false;
    for (size_t i = 0; i < count_; ++i) {
      if (tids_[i] == self_tid) continue;
      const ThreadState state = ReadState(tids_[i]);
      const double cpu = CpuNs(tids_[i]);
      const bool idle = state.readable && state.futex_wait && state.key == cond_key_;
      // NaN compares false: an unread or first-seen CPU time never counts as free.
      if (idle && cpu - last_cpu_ns_[i] < kFreeCpuNs) free = true;
      last_cpu_ns_[i] = cpu;
    }
    return free;
  }

  // On a pool thread, from a probe picked up at once (the pool had an idle thread): while
  // the condition variable is not known, look at the other pool threads; if they all wait
  // on one key, that is it. System calls only until the key is known.
  void LearnKey(int self_tid) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cond_key_ != 0 || !AllKnownLocked()) return;
    ThreadState states[kMaxPoolThreads];
    for (size_t i = 0; i < count_; ++i) {
      if (tids_[i] != self_tid) states[i] = ReadState(tids_[i]);
    }
    LearnKeyLocked(states, self_tid);
  }

  // Fills `out` with [tid, busy, cpuNs] per known pool thread; returns how many, and
  // through `idle_waiters` the threads now blocked on the pool's condition variable
  // (-1 while its address is unknown).
  size_t Sample(double* out, size_t room, long* idle_waiters) {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool named = uv_version() >= kNamedThreadsVersion;
    // Reading /proc/self/stat costs ~10 us (the kernel sums over every thread), and only
    // named pool threads need it. Once every pool thread the configured size calls for is
    // known, look at most once a second (in case the size was misjudged); until then, on
    // every read.
    const uint64_t now = uv_hrtime();
    const bool complete = count_ >= g_configured_size.load() && count_ > 0 && stable_;
    const bool look = named && (!complete || now - last_count_ns_ >= kRecountNs);
    const long threads = look ? ThreadCount() : last_thread_count_;
    if (look) last_count_ns_ = now;
    if (look && (threads != last_thread_count_ || !stable_)) {
      stable_ = threads == last_thread_count_;
      last_thread_count_ = threads;
      ForEachTask([&](int tid) {
        if (!Known(tid) && IsNamedWorker(tid)) Add(tid);
      });
    }

    // The condition variable idle pool threads wait on. Once every pool thread is known:
    // the key they all wait on at once (LearnKeyLocked). Until then (libuv without thread
    // names finds its threads one by one): a key two known pool threads share, a
    // known thread's key being a candidate meanwhile (or the key of a single-thread pool).
    ThreadState states[kMaxPoolThreads];
    for (size_t i = 0; i < count_; ++i) states[i] = ReadState(tids_[i]);
    const unsigned expected = g_configured_size.load();
    if (cond_key_ == 0 && AllKnownLocked()) LearnKeyLocked(states, -1);
    uint64_t candidate = cond_key_;
    for (size_t i = 0; i < count_ && cond_key_ == 0 && !AllKnownLocked(); ++i) {
      if (!states[i].futex_wait) continue;
      if (candidate == 0) candidate = states[i].key;
      for (size_t j = i + 1; j < count_; ++j) {
        if (states[j].futex_wait && states[j].key == states[i].key) cond_key_ = states[i].key;
      }
    }
    if (cond_key_ != 0) candidate = cond_key_;
    if (cond_key_ == 0 && candidate != 0 && count_ == 1 && expected == 1) cond_key_ = candidate;

    // Without names, idle pool threads not yet known are found by what they wait on.
    if (!named && candidate != 0 && count_ < expected) {
      size_t found = 0;
      ForEachTask([&](int tid) {
        if (Known(tid) || count_ >= kMaxPoolThreads) return;
        const ThreadState state = ReadState(tid);
        if (state.futex_wait && state.key == candidate) {
          states[count_] = state;
          Add(tid);
          ++found;
        }
      });
      if (found > 0) cond_key_ = candidate;
    }

    // A thread whose state could not be read (every file descriptor in use, /proc not
    // mounted) may be idle or busy: then the count is unknown, never a guess.
    long idle = -1;
    bool all_read = true;
    for (size_t i = 0; i < count_; ++i) all_read = all_read && states[i].readable;
    if (cond_key_ != 0 && all_read) {
      idle = 0;
      for (size_t i = 0; i < count_; ++i) idle += states[i].futex_wait && states[i].key == cond_key_;
    }
    *idle_waiters = idle;

    const size_t n = count_ < room ? count_ : room;
    for (size_t i = 0; i < n; ++i) {
      double* o = out + i * kThreadDoubles;
      o[0] = tids_[i];
      // Busy: anything but blocked on the pool's condition variable. A futex wait elsewhere
      // is a work item waiting on a lock (busy); unknown while the variable is.
      const ThreadState& st = states[i];
      o[1] = !st.readable || (st.futex_wait && cond_key_ == 0)
                 ? std::numeric_limits<double>::quiet_NaN()
                 : (st.futex_wait && st.key == cond_key_ ? 0.0 : 1.0);
      o[2] = CpuNs(tids_[i]);
      last_cpu_ns_[i] = o[2];
    }
    return count_;
  }

 private:
  bool Known(int tid) const {
    for (size_t i = 0; i < count_; ++i) {
      if (tids_[i] == tid) return true;
    }
    return false;
  }
  // Every thread of a pool of two or more is known.
  bool AllKnownLocked() const {
    // The size the pool started with (known once a probe completed); known threads mean
    // the pool has started, with the size libuv's rule gives.
    unsigned size = g_configured_size.load();
    if (size == 0 && count_ > 0) size = ConfiguredSize();
    return size >= 2 && count_ >= size;
  }
  // The condition variable is the key every known pool thread but `skip_tid` waits on at
  // once: a lock some of them contend on is held by one that runs, so they are not all on
  // it (a key two threads share can be such a lock: CI's sanitizer build read three
  // threads inside one allocator lock as idle, and `busy` 1 of 4 from then on).
  void LearnKeyLocked(const ThreadState* states, int skip_tid) {
    uint64_t key = 0;
    for (size_t i = 0; i < count_; ++i) {
      if (tids_[i] == skip_tid) continue;
      if (!states[i].readable || !states[i].futex_wait || (key != 0 && states[i].key != key)) return;
      key = states[i].key;
    }
    cond_key_ = key;
  }
  void Add(int tid) {
    if (count_ >= kMaxPoolThreads || Known(tid)) return;
    last_cpu_ns_[count_] = std::numeric_limits<double>::quiet_NaN();
    tids_[count_++] = tid;
  }

  std::mutex mutex_;
  int tids_[kMaxPoolThreads] = {};
  double last_cpu_ns_[kMaxPoolThreads] = {};  // each thread's CPU time at the last look (NaN: none)
  size_t count_ = 0;
  static constexpr double kFreeCpuNs = 1e6;
  uint64_t cond_key_ = 0;
  static constexpr uint64_t kRecountNs = 1000000000;
  long last_thread_count_ = -1;
  uint64_t last_count_ns_ = 0;
  bool stable_ = false;
};
#endif  // __linux__

}  // namespace

ThreadpoolProbe::ThreadpoolProbe(Instance* instance)
    : instance_(instance),
      queue_wait_(std::make_unique<Histogram>()),
      callback_delay_(std::make_unique<Histogram>()),
      cpu_wait_(std::make_unique<Histogram>()) {}

ThreadpoolProbe::~ThreadpoolProbe() = default;

void ThreadpoolProbe::Start() {
  // Submissions are driven by the loop probe's per-iteration hook: no handle of our own,
  // and no clock read of our own per iteration.
  instance_->AddTick(OnTick, this);
  work_.data = this;
#ifdef __linux__
  loop_tid_ = CurrentTid();
#endif
  // The first probe goes out a period after load, never while the program's first
  // synchronous run could still set UV_THREADPOOL_SIZE before the pool starts.
  last_submit_ns_ = Clock::Get().NowNs();
  started_ = true;
}

void ThreadpoolProbe::Close() {
  if (!started_) return;
  started_ = false;
  // A queued probe completes with UV_ECANCELED on the next loop turn; a running one in
  // microseconds. Either way its after-work callback releases it.
  if (in_flight_) uv_cancel(reinterpret_cast<uv_req_t*>(&work_));
  for (int i = 0; i < kKinds; ++i) {
    g_tracked[i].fetch_sub(tracked_[i], std::memory_order_relaxed);
    tracked_[i] = 0;
  }
}

uint64_t ThreadpoolProbe::OnTick(void* data, uint64_t now) {
  auto* self = static_cast<ThreadpoolProbe*>(data);
  if (!self->started_) return UINT64_MAX;
  uv_loop_t* loop = self->instance_->loop();
  if (self->in_flight_) {
    // Nothing but the probe keeps the loop alive: let it end.
    if (!self->cancel_requested_ && loop->active_handles == 0 && loop->active_reqs.count == 1) {
      self->cancel_requested_ = true;
      uv_cancel(reinterpret_cast<uv_req_t*>(&self->work_));
    }
    return 0;  // every iteration until it completes
  }
  if (self->period_ns_ == 0) return UINT64_MAX;  // ConfigurePeriod wakes the ticks
  if (now - self->last_submit_ns_ < self->period_ns_) return self->last_submit_ns_ + self->period_ns_;
  if (loop->active_handles == 0 && loop->active_reqs.count == 0) return 0;  // the loop is ending
  self->last_submit_ns_ = now;
  self->submit_ns_ = now;
  // Until a probe has completed, this submission may be the one that starts the pool:
  // libuv creates its threads inside uv_queue_work and waits for them, so the wait would
  // be thread creation, not queueing.
  self->startup_ = g_configured_size.load(std::memory_order_relaxed) == 0;
  self->cpu_wait_ns_ = kUnknownNs;
  self->free_thread_ = false;
  self->start_ns_.store(0, std::memory_order_relaxed);
  if (uv_queue_work(loop, &self->work_, OnWork, OnAfterWork) != 0) return now + self->period_ns_;
  self->in_flight_ = true;
  self->cancel_requested_ = false;
  self->submitted_.store(self->submitted_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  self->instance_->Retain();
  return 0;
}

void ThreadpoolProbe::OnWork(uv_work_t* req) {
  auto* self = static_cast<ThreadpoolProbe*>(req->data);
  self->start_ns_.store(Clock::Get().NowNs(), std::memory_order_relaxed);
#ifdef __linux__
  const int tid = PoolThreads::Get().AddCurrentThread();  // a system call once per pool thread
  // How long the probe's two threads waited for a CPU: this pool thread since it last ran
  // a probe (or since it started; woken from an idle pool, that is its wake-up wait), and
  // the submitting loop thread since this probe's previous start (preempted between its
  // timestamp and the submission). An upper bound of the part of the queue wait spent
  // waiting for a CPU rather than for a thread: the intervals are longer than the wait.
  // Five system calls per probe, on the pool thread, never on the loop.
  thread_local uint64_t last_delay = 0;
  const uint64_t delay = RunDelayNs(0);
  const uint64_t loop_delay = self->loop_tid_ > 0 ? RunDelayNs(self->loop_tid_) : kUnknownNs;
  if (delay != kUnknownNs && loop_delay != kUnknownNs) {
    const uint64_t own = delay > last_delay ? delay - last_delay : 0;
    const uint64_t loop = loop_delay > self->loop_delay_ns_ ? loop_delay - self->loop_delay_ns_ : 0;
    self->cpu_wait_ns_ = own + loop;
  }
  if (delay != kUnknownNs) last_delay = delay;
  if (loop_delay != kUnknownNs) self->loop_delay_ns_ = loop_delay;
  // A long wait the run queue does not explain: look whether the pool had a free thread
  // (a few system calls per pool thread, only then).
  const uint64_t started = self->start_ns_.load(std::memory_order_relaxed);
  const uint64_t waited = started > self->submit_ns_ ? started - self->submit_ns_ : 0;
  if (waited < kQuickPickupNs) PoolThreads::Get().LearnKey(tid);
  if (waited >= kFreeCheckNs && (self->cpu_wait_ns_ == kUnknownNs || self->cpu_wait_ns_ + kFreeCheckNs <= waited)) {
    self->free_thread_ = PoolThreads::Get().OtherThreadFree(tid);
  }
#endif
  self->done_ns_ = Clock::Get().NowNs();
}

void ThreadpoolProbe::OnAfterWork(uv_work_t* req, int status) {
  auto* self = static_cast<ThreadpoolProbe*>(req->data);
  self->in_flight_ = false;
  if (status == 0) {
    const uint64_t now = Clock::Get().NowNs();
    const uint64_t start = self->start_ns_.load(std::memory_order_relaxed);
    const uint64_t wait = start > self->submit_ns_ ? start - self->submit_ns_ : 0;
    if (!self->startup_) {
      self->queue_wait_->Record(wait);
      // With a free thread beside it, none of the wait was for a thread.
      if (self->free_thread_) {
        self->cpu_wait_->Record(wait);
      } else if (self->cpu_wait_ns_ != kUnknownNs) {
        self->cpu_wait_->Record(self->cpu_wait_ns_ < wait ? self->cpu_wait_ns_ : wait);
      }
    }
    self->callback_delay_->Record(now > self->done_ns_ ? now - self->done_ns_ : 0);
    self->completed_.store(self->completed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    // The pool has started by now: the size it started with is libuv's rule applied to
    // UV_THREADPOOL_SIZE as it is now (exact unless the variable changed in between).
    if (g_configured_size.load(std::memory_order_relaxed) == 0) {
      unsigned expected = 0;
      g_configured_size.compare_exchange_strong(expected, ConfiguredSize());
    }
  } else {
    self->cancelled_.store(self->cancelled_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  self->instance_->Release();  // last: may free the probe during teardown
}

// threadpoolRead(out): fills `out` (threadpoolLayout.size doubles).
Napi::Value ThreadpoolProbe::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array out;
  if (!Float64ArrayArg(info, 0, "out", kReadSize, &out)) return {};
  double* data = out.Data();
  const uint64_t now = Clock::Get().NowNs();
  const uint64_t start = start_ns_.load(std::memory_order_relaxed);
  data[0] = static_cast<double>(uv_hrtime());
  data[1] = static_cast<double>(submitted_.load(std::memory_order_relaxed));
  data[2] = static_cast<double>(completed_.load(std::memory_order_relaxed));
  data[3] = static_cast<double>(cancelled_.load(std::memory_order_relaxed));
  // How long the probe now in the queue has waited so far (0 when none is waiting).
  data[4] = in_flight_ && start == 0 && now > submit_ns_ ? static_cast<double>(now - submit_ns_) : 0.0;
  data[5] = static_cast<double>(period_ns_);
  // The size the pool started with once a probe has seen it started; before that, the
  // size it would start with now.
  const unsigned started_size = g_configured_size.load(std::memory_order_relaxed);
  data[6] = static_cast<double>(started_size != 0 ? started_size : ConfiguredSize());
  data[10] = started_size != 0 ? 1.0 : 0.0;
  for (int i = 0; i < kKinds; ++i) data[7 + i] = static_cast<double>(g_tracked[i].load(std::memory_order_relaxed));
  for (size_t i = 11; i < kReadHeader; ++i) data[i] = 0;
  queue_wait_->CopyTo(data + kReadHeader);
  callback_delay_->CopyTo(data + kReadHeader + Histogram::kCopySize);
  cpu_wait_->CopyTo(data + kReadHeader + 2 * Histogram::kCopySize);
  return env.Undefined();
}

// threadpoolConfigure(periodNs): 0 stops probing; returns the period in force.
Napi::Value ThreadpoolProbe::Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "uvscope: periodNs must be a number").ThrowAsJavaScriptException();
    return {};
  }
  const double period = info[0].As<Napi::Number>().DoubleValue();
  if (!(period >= 0) || !std::isfinite(period) || period > 3.6e12) {
    Napi::RangeError::New(env, "uvscope: periodNs must be between 0 and 1 hour").ThrowAsJavaScriptException();
    return {};
  }
  period_ns_ = static_cast<uint64_t>(period);
  instance_->WakeTicks();
  return Napi::Number::New(env, static_cast<double>(period_ns_));
}

// threadpoolThreads(out): [count, idle waiters] and per pool thread [tid, busy, cpuNs] in
// `out`; count -1 where the platform has no per-thread view (not Linux).
Napi::Value ThreadpoolProbe::Threads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array out;
  if (!Float64ArrayArg(info, 0, "out", 0, &out)) return {};
  Napi::Array result = Napi::Array::New(env, 2);
  if (Failed(result)) return {};
#ifdef __linux__
  long idle = -1;
  const double count = static_cast<double>(
      PoolThreads::Get().Sample(out.Data(), out.ElementLength() / kThreadDoubles, &idle));
#else
  const double count = -1;
  const long idle = -1;
#endif
  if (!result.Set(0u, Napi::Number::New(env, count)) ||
      !result.Set(1u, Napi::Number::New(env, static_cast<double>(idle)))) {
    return {};
  }
  return result;
}

// threadpoolTrack(kind, delta): adds to the process-wide in-flight counter of `kind`.
Napi::Value ThreadpoolProbe::Track(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "uvscope: threadpoolTrack(kind: number, delta: number)").ThrowAsJavaScriptException();
    return {};
  }
  const int32_t kind = info[0].As<Napi::Number>().Int32Value();
  const int32_t delta = info[1].As<Napi::Number>().Int32Value();
  if (kind < 0 || kind >= kKinds || delta < -1 || delta > 1) {
    Napi::RangeError::New(env, "uvscope: kind out of range or delta not -1, 0 or 1").ThrowAsJavaScriptException();
    return {};
  }
  if (instance_->closing()) return env.Undefined();
  tracked_[kind] += delta;
  g_tracked[kind].fetch_add(delta, std::memory_order_relaxed);
  return env.Undefined();
}

void ThreadpoolProbe::Init(Napi::Env env, Napi::Object exports, Instance* instance) {
  ThreadpoolProbe* probe = instance->Find<ThreadpoolProbe>();
  if (probe == nullptr) {
    probe = instance->Add<ThreadpoolProbe>(instance);
    probe->Start();
  }
  ExportMethod<ThreadpoolProbe, &ThreadpoolProbe::Read>(env, exports, "threadpoolRead", probe);
  ExportMethod<ThreadpoolProbe, &ThreadpoolProbe::Configure>(env, exports, "threadpoolConfigure", probe);
  ExportMethod<ThreadpoolProbe, &ThreadpoolProbe::Threads>(env, exports, "threadpoolThreads", probe);
  ExportMethod<ThreadpoolProbe, &ThreadpoolProbe::Track>(env, exports, "threadpoolTrack", probe);
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("header", Napi::Number::New(env, static_cast<double>(kReadHeader)));
  layout.Set("images", Napi::Number::New(env, static_cast<double>(kImages)));
  layout.Set("size", Napi::Number::New(env, static_cast<double>(kReadSize)));
  layout.Set("threadSize", Napi::Number::New(env, static_cast<double>(kThreadDoubles)));
  layout.Set("maxThreads", Napi::Number::New(env, static_cast<double>(kMaxPoolThreads)));
  layout.Set("kinds", Napi::Number::New(env, static_cast<double>(kKinds)));
  layout.Set("defaultPeriodNs", Napi::Number::New(env, static_cast<double>(kDefaultPeriodNs)));
  exports.Set("threadpoolLayout", layout);
}

}  // namespace uvscope
