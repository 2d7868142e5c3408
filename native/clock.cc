#include "clock.h"

#include <cstdio>
#include <cstring>

namespace uvscope {
namespace {

// The kernel switches away from the TSC when it finds it unstable; trust it only while
// it is the clocksource.
bool KernelUsesTsc() {
#ifdef __linux__
  FILE* file = std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  if (file == nullptr) return false;
  char name[32] = {};
  const bool ok = std::fgets(name, sizeof(name), file) != nullptr;
  std::fclose(file);
  return ok && std::strncmp(name, "tsc", 3) == 0 && (name[3] == '\n' || name[3] == '\0');
#else
  return false;
#endif
}

#ifdef UVSCOPE_HAVE_TSC
// One (tsc, ns) pair: the TSC read on both sides of uv_hrtime(), the tighter of a few tries.
struct Pair {
  uint64_t tsc;
  uint64_t ns;
};
Pair ReadPair() {
  Pair best{0, 0};
  uint64_t best_width = UINT64_MAX;
  for (int i = 0; i < 5; ++i) {
    const uint64_t before = __rdtsc();
    const uint64_t ns = uv_hrtime();
    const uint64_t after = __rdtsc();
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
#ifdef UVSCOPE_HAVE_TSC
    if (!KernelUsesTsc()) return c;
    const Pair start = ReadPair();
    while (uv_hrtime() - start.ns < 1000000) {
    }
    const Pair end = ReadPair();
    if (end.tsc <= start.tsc || end.ns <= start.ns) return c;
    const double ns_per_tick = static_cast<double>(end.ns - start.ns) / static_cast<double>(end.tsc - start.tsc);
    if (!(ns_per_tick > 0.01 && ns_per_tick < 100)) return c;  // not a plausible TSC
    c.mult_ = static_cast<uint64_t>(ns_per_tick * 4294967296.0 + 0.5);
    c.anchor_tsc_ = end.tsc;
    c.anchor_ns_ = end.ns;
    c.kind_ = Kind::kTsc;
#endif
    return c;
  }();
  return clock;
}

}  // namespace uvscope
