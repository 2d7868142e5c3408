#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#ifdef _MSC_VER
#include <intrin.h>
#endif

namespace uvscope {

// Log-linear histogram of non-negative integer durations (nanoseconds, or clock ticks
// converted at read time: the layout is scale invariant). HdrHistogram's layout with 6 bits
// of sub-bucket resolution: values below 64 have a bucket each; above, each power of two
// is split into 64 equal buckets, so a bucket is at most 1/64 of any value in it and its
// midpoint is within 0.8% of each of them. Buckets cover [0, 2^42) — 73 minutes in ns;
// larger values count in the last bucket while max and sum keep the true value.
//
// Threading: exactly one writer (the thread that owns the loop); any thread may read.
// Every field is an atomic written with relaxed single-writer stores (plain moves on
// x86-64 and arm64, no read-modify-write), so a reader never sees a torn number. A reader
// running concurrently with the writer may see one record counted in some fields and not
// yet in others; distributions tolerate that. Fixed size, no allocation after construction.
class Histogram {
 public:
  static constexpr unsigned kSubBits = 6;
  static constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;
  static constexpr unsigned kMaxBits = 42;
  static constexpr size_t kBuckets = kSubCount + (kMaxBits - kSubBits) * kSubCount;
  // CopyTo() layout: [count, sum, min, max, bucket 0 .. kBuckets-1], as doubles (exact to 2^53).
  static constexpr size_t kHeader = 4;
  static constexpr size_t kCopySize = kHeader + kBuckets;

  // Branch-free: bucket = shift * kSubCount + (value >> shift), where shift is how far the
  // value's top bit lies above kSubBits (0 for values below 2 * kSubCount, which index
  // themselves: setting bit kSubBits gives them that top bit without a compare); values of
  // 2^kMaxBits and more land in the last bucket.
  static size_t BucketOf(uint64_t value) {
    const unsigned shift = HighestBit(value | kSubCount) - kSubBits;
    const uint64_t index = static_cast<uint64_t>(shift) * kSubCount + (value >> shift);
    return static_cast<size_t>(index < kBuckets ? index : kBuckets - 1);
  }

  void Record(uint64_t value) {
    Add(counts_[BucketOf(value)], 1);
    Add(count_, 1);
    Add(sum_, value);
    if (value > max_.load(std::memory_order_relaxed)) max_.store(value, std::memory_order_relaxed);
    if (value < min_.load(std::memory_order_relaxed)) min_.store(value, std::memory_order_relaxed);
  }

  // The same as Record() of values[0], values[stride], ... values[(n-1) * stride], with
  // count, sum, min and max stored once for the batch (the atomics keep the compiler from
  // doing that itself).
  void RecordMany(const uint64_t* values, size_t stride, size_t n) {
    if (n == 0) return;
    uint64_t sum = 0;
    uint64_t lo = UINT64_MAX;
    uint64_t hi = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t value = values[i * stride];
      Add(counts_[BucketOf(value)], 1);
      sum += value;
      lo = value < lo ? value : lo;
      hi = value > hi ? value : hi;
    }
    Add(count_, n);
    Add(sum_, sum);
    if (hi > max_.load(std::memory_order_relaxed)) max_.store(hi, std::memory_order_relaxed);
    if (lo < min_.load(std::memory_order_relaxed)) min_.store(lo, std::memory_order_relaxed);
  }

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

  // Any thread. min is 0 while the histogram is empty.
  void CopyTo(double* out) const {
    const uint64_t count = count_.load(std::memory_order_relaxed);
    const uint64_t min = min_.load(std::memory_order_relaxed);
    out[0] = static_cast<double>(count);
    out[1] = static_cast<double>(sum_.load(std::memory_order_relaxed));
    out[2] = count == 0 || min == UINT64_MAX ? 0.0 : static_cast<double>(min);
    out[3] = static_cast<double>(max_.load(std::memory_order_relaxed));
    for (size_t i = 0; i < kBuckets; ++i) {
      out[kHeader + i] = static_cast<double>(counts_[i].load(std::memory_order_relaxed));
    }
  }

 private:
  static void Add(std::atomic<uint64_t>& field, uint64_t delta) {
    field.store(field.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }

  static unsigned HighestBit(uint64_t value) {
#ifdef _MSC_VER
    unsigned long index;
    _BitScanReverse64(&index, value);
    return static_cast<unsigned>(index);
#else
    return 63u ^ static_cast<unsigned>(__builtin_clzll(value));  // compiles to bsr
#endif
  }

  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
  std::atomic<uint64_t> counts_[kBuckets] = {};
};

}  // namespace uvscope
