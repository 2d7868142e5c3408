#pragma once

#include <uv.h>

#include <cstdint>

#if defined(__x86_64__) || defined(_M_X64)
#ifdef _MSC_VER
#include <intrin.h>
#else
#include <x86intrin.h>
#endif
#define UVSCOPE_HAVE_TSC 1
#define UVSCOPE_HAVE_COUNTER 1
#elif defined(__aarch64__) && !defined(_MSC_VER)
// The Arm generic timer's virtual count (CNTVCT_EL0): what the arm64 kernel's vDSO reads
// for clock_gettime, readable from user space wherever the kernel uses it as clocksource.
#define UVSCOPE_HAVE_CNTVCT 1
#define UVSCOPE_HAVE_COUNTER 1
#endif

namespace uvscope {

// The clock of the per-iteration path: nanoseconds on uv_hrtime()'s time base.
//
// uv_hrtime() is a clock_gettime(CLOCK_MONOTONIC) call (~20-30 ns in a KVM guest); the
// loop probe takes three stamps per iteration. Where the kernel itself uses the TSC as its
// clocksource (so it is invariant and synchronised across cores), the probe reads the TSC
// and converts ticks with a 32.32 fixed-point multiply calibrated once per process against
// uv_hrtime() (what the kernel's vDSO does, minus the system call path). Durations are then
// within the calibration error (~1e-5); absolute times are re-anchored on uv_hrtime() when
// read, so drift between the two clocks never accumulates into timestamps.
// On arm64 the same holds for the generic timer's virtual counter when the kernel's
// clocksource is arch_sys_counter: read without the ISB the vDSO puts before it (like
// RDTSC, not RDTSCP: a stamp may move by a few instructions, never by a callback). Its
// frequency (CNTFRQ_EL0, often 25-50 MHz, 1 GHz from Armv8.6) also bounds clock_gettime's
// resolution there, so the probe loses none by reading it.
// Elsewhere (other architectures, other clocksources) it is uv_hrtime() itself.
//
// A Clock is a small immutable value: each probe keeps its own copy next to its hot state.
class Clock {
 public:
  enum class Kind { kHrtime = 0, kTsc = 1, kCntvct = 2 };

  // The raw counter (TSC ticks or generic-timer counts); 0 where there is none.
  static uint64_t ReadCounter() {
#if defined(UVSCOPE_HAVE_TSC)
    return __rdtsc();
#elif defined(UVSCOPE_HAVE_CNTVCT)
    uint64_t value;
    asm volatile("mrs %0, cntvct_el0" : "=r"(value));
    return value;
#else
    return 0;
#endif
  }

  // The process's calibrated clock. The first call calibrates it (a ~1 ms spin: make it at
  // module load, never from a loop callback); any thread, any time after. Hot paths keep a
  // copy (a Clock is 32 bytes, immutable) next to their own state.
  static const Clock& Get();

  uint64_t NowNs() const {
#ifdef UVSCOPE_HAVE_COUNTER
    if (kind_ != Kind::kHrtime) return anchor_ns_ + Scale(ReadCounter() - anchor_tsc_);
#endif
    return uv_hrtime();
  }

  Kind kind() const { return kind_; }

 private:
  uint64_t Scale(uint64_t ticks) const {
#if defined(__SIZEOF_INT128__)
    return static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * mult_) >> 32);
#else
    return static_cast<uint64_t>(static_cast<double>(ticks) * (static_cast<double>(mult_) / 4294967296.0));
#endif
  }

  Kind kind_ = Kind::kHrtime;
  uint64_t anchor_tsc_ = 0;
  uint64_t anchor_ns_ = 0;
  uint64_t mult_ = 0;  // ns per tick, times 2^32
};

}  // namespace uvscope
