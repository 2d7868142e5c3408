#pragma once

#include <uv.h>

#include <cstdint>

namespace uvscope {

// uv_metrics_t as libuv >= 1.45 lays it out; declared here so the sources also build
// against the headers of a Node whose libuv predates it.
struct UvMetrics {
  uint64_t loop_count;
  uint64_t events;
  uint64_t events_waiting;
  uint64_t* reserved[13];
};

// libuv entry points newer than the oldest supported Node (Node 20.0.0 ships libuv
// 1.44.2). A direct reference would kill the process at its first call there ("symbol
// lookup error"), so each is looked up at run time in the running process and is null
// where the libuv in it lacks the function.
struct UvCompat {
  unsigned int version;                                  // uv_version()
  int (*metrics_info)(uv_loop_t*, UvMetrics*);           // libuv >= 1.45
};

// Resolved once per process; immutable afterwards, so any thread may read it.
const UvCompat& Uv();

}  // namespace uvscope
