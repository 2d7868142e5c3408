#include "clock.h"

#include <cstdio>
#include <cstring>

namespace uvscope {
namespace {

// The kernel switches away from the TSC when it finds it unstable (and on arm64 traps
// counter reads on CPUs with counter errata); trust the counter only while the kernel's
// clocksource is it.
#ifdef UVSCOPE_HAVE_COUNTER
#if defined(UVSCOPE_HAVE_TSC)
constexpr char kCounterSource[] = "tsc";
#else
constexpr char kCounterSource[] = "arch_sys_counter";
#endif
bool KernelUsesCounter() {
#ifdef __linux__
  FILE* file = std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  if (file == nullptr) return false;
  char name[32] = {};
  const bool ok = std::fgets(name, sizeof(name), file) != nullptr;
  std::fclose(file);
  const size_t n = sizeof(kCounterSource) - 1;
  return ok && std::strncmp(name, kCounterSource, n) == 0 && (name[n] == '\n' || name[n] == '\0');
#else
  return false;
#endif
}

// One (tsc, ns) pair: the counter read on both sides of uv_hrtime(), the tighter of a few tries.
struct Pair {
  uint64_t tsc;
  uint64_t ns;
};
Pair ReadPair() {
  Pair best{0, 0};
  uint64_t best_width = UINT64_MAX;
  for (int i = 0; i < 5; ++i) {
    const uint64_t before = Clock::ReadCounter();
    const uint64_t ns = uv_hrtime();
    const uint64_t after = Clock::ReadCounter();
    if (after - before < best_width) {
      best_width = after - before;
      best = {before + (after - before) / 2, ns};
    }
  }
  return best;
}
#endif

}  // namespace

const Clock& Clock::Get() {
  static const Clock clock = [] {
    Clock c;
#ifdef UVSCOPE_HAVE_COUNTER
    if (!KernelUsesCounter()) return c;
    const Pair start = ReadPair();
    while (uv_hrtime() - start.ns < 1000000) {
    }
    const Pair end = ReadPair();
    if (end.tsc <= start.tsc || end.ns <= start.ns) return c;
    const double ns_per_tick = static_cast<double>(end.ns - start.ns) / static_cast<double>(end.tsc - start.tsc);
    // Not a plausible counter: TSCs tick at ~1-5 GHz, generic timers at 1 MHz-1 GHz.
    if (!(ns_per_tick > 0.01 && ns_per_tick <= 1000)) return c;
    c.mult_ = static_cast<uint64_t>(ns_per_tick * 4294967296.0 + 0.5);
    c.anchor_tsc_ = end.tsc;
    c.anchor_ns_ = end.ns;
#ifdef UVSCOPE_HAVE_TSC
    c.kind_ = Kind::kTsc;
#else
    c.kind_ = Kind::kCntvct;
#endif
#endif
    return c;
  }();
  return clock;
}

}  // namespace uvscope
