#pragma once

// Branch hints for the per-iteration callbacks: the rare paths move out of line, so the
// instructions an iteration runs stay in as few cache lines as the compiler can manage.
#if defined(__GNUC__) || defined(__clang__)
#define UVSCOPE_LIKELY(condition) __builtin_expect(!!(condition), 1)
#define UVSCOPE_UNLIKELY(condition) __builtin_expect(!!(condition), 0)
#define UVSCOPE_COLD __attribute__((cold, noinline))
#else
#define UVSCOPE_LIKELY(condition) (condition)
#define UVSCOPE_UNLIKELY(condition) (condition)
#define UVSCOPE_COLD
#endif
