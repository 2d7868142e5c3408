#pragma once

#include <uv.h>

#include <cstdint>

namespace uvscope {

// The clock of the per-iteration path, in nanoseconds.
//
// uv_hrtime() is a clock_gettime(CLOCK_MONOTONIC) call: ~28 ns in a KVM guest, and the loop
// probe takes three stamps per iteration. Where the kernel itself uses the TSC as its
// clocksource (so it is invariant and synchronised across cores), the probe reads the TSC
// (~11 ns) and scales it with a ratio calibrated once per process against uv_hrtime().
// Durations are then within the ratio's error (< 0.01%); absolute times are re-anchored on
// uv_hrtime() when read (see NowPair), so TSC drift never accumulates into timestamps.
// Elsewhere (other architectures, other clocksources) it is uv_hrtime() itself.
class Clock {
 public:
  enum class Kind { kHrtime = 0, kTsc = 1 };

  // Calibrated on first use (a ~1 ms spin, once per process); immutable afterwards.
  static const Clock& Get();

  uint64_t NowNs() const {
#if defined(__x86_64__) || defined(_M_X64)
    if (kind_ == Kind::kTsc) {
      return anchor_ns_ + static_cast<uint64_t>(static_cast<double>(ReadTsc() - anchor_tsc_) * ns_per_tick_);
    }
#endif
    return uv_hrtime();
  }

  Kind kind() const { return kind_; }
  double ns_per_tick() const { return ns_per_tick_; }

 private:
  Clock();
  static uint64_t ReadTsc();

  Kind kind_ = Kind::kHrtime;
  uint64_t anchor_tsc_ = 0;
  uint64_t anchor_ns_ = 0;
  double ns_per_tick_ = 1.0;
};

}  // namespace uvscope
