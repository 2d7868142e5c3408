#include "clock.h"

#include <cstdio>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#ifdef _MSC_VER
#include <intrin.h>
#else
#include <x86intrin.h>
#endif
#endif

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

}  // namespace

uint64_t Clock::ReadTsc() {
#if defined(__x86_64__) || defined(_M_X64)
  return __rdtsc();
#else
  return 0;
#endif
}

Clock::Clock() {
#if defined(__x86_64__) || defined(_M_X64)
  if (!KernelUsesTsc()) return;
  const uint64_t tsc0 = ReadTsc();
  const uint64_t ns0 = uv_hrtime();
  uint64_t ns1 = ns0;
  while (ns1 - ns0 < 1000000) ns1 = uv_hrtime();
  const uint64_t tsc1 = ReadTsc();
  if (tsc1 <= tsc0) return;
  ns_per_tick_ = static_cast<double>(ns1 - ns0) / static_cast<double>(tsc1 - tsc0);
  anchor_tsc_ = tsc1;
  anchor_ns_ = ns1;
  kind_ = Kind::kTsc;
#endif
}

const Clock& Clock::Get() {
  static const Clock clock;
  return clock;
}

}  // namespace uvscope
