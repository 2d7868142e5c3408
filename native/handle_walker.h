#pragma once

#include <napi.h>

namespace uvscope {
class Instance;

// The handle walker: uv_walk over this environment's loop, on demand from JavaScript.
//
// It owns no libuv handle or request, so it is not a Component: it only reads. A walk runs
// on the loop thread (it is called from JavaScript), creates nothing, allocates nothing
// native and calls no JavaScript; it writes into typed arrays the caller hands in:
//  - handlesWalk(records, pool, options): one fixed-size record per handle (Float64Array,
//    layout in handlesLayout) and the strings they refer to (addresses, paths) as bytes in
//    `pool` (Uint8Array). When either is too small the walk still counts everything and
//    reports the sizes it needed, so the caller grows its buffers and walks again.
//  - handlesCount(out, includeOwn): totals and counts per type only, no system call.
// Details that need a system call (getsockname, getpeername, TIOCGWINSZ, SO_ACCEPTCONN)
// are read only for open, non-closing handles; nothing ever resolves a name.
void InitHandleWalker(Napi::Env env, Napi::Object exports, Instance* instance);

}  // namespace uvscope
