#pragma once

#include <napi.h>

namespace uvscope {
class Instance;

// Stall detection (SPEC: stalls()). One watchdog thread per process, started by the first
// consumer (a stalls() stream on any thread, or the CLI) and joined when the last goes. It
// samples every loop recorder in the Registry a few times per threshold from what the loop
// thread already publishes (the live seqlock, libuv's wait stamp, the last completed
// iteration): the loop path gains two relaxed stores, nothing else. An iteration whose busy
// time passes the threshold is a stall episode; the watchdog reads the stalled thread's
// kernel state while it lasts, asks uvscope's capture worker (lib/stall-capture.ts) for the
// main thread's JavaScript stack, and hands each finished episode to every consumer through
// a thread-safe function into the consumer's own loop.
//
// It also credits waits libuv lost to EINTR (issue 10): libuv's poll restarts its wait
// stamp after a signal, so the wait before it vanishes from the idle counter. A stamp seen
// set and then replaced within one iteration, with the idle counter not covering it, was a
// wait: credited to that iteration (LoopRecorder::credit_*) and to the idle total.
//
// Exports stallSubscribe, stallUnsubscribe, stallAttachCapture, stallCaptureResult,
// stallLiveIndex and stallLayout.
void InitStallWatchdog(Napi::Env env, Napi::Object exports, Instance* instance);

}  // namespace uvscope
