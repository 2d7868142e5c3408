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
// Elsewhere (other architectures, other clocksources) it is uv_hrtime() itself.
//
// A Clock is a small immutable value: each probe keeps its own copy next to its hot state.
class Clock {
 public:
  enum class Kind { kHrtime = 0, kTsc = 1 };

  // The process's calibrated clock. The first call calibrates it (a ~1 ms spin: make it at
  // module load, never from a loop callback); any thread, any time after. Hot paths keep a
  // copy (a Clock is 32 bytes, immutable) next to their own state.
  static const Clock& Get();

  uint64_t NowNs() const {
#ifdef UVSCOPE_HAVE_TSC
    if (kind_ == Kind::kTsc) return anchor_ns_ + Scale(__rdtsc() - anchor_tsc_);
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
