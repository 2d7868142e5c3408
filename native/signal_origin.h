#pragma once

#include <napi.h>

namespace uvscope {

// Where the signals a process receives come from, for the CLI's forwarding: Node's
// process.on(signal) gives no siginfo, so a terminal's Ctrl-C (sent by the kernel to the
// whole foreground process group, si_code SI_KERNEL) cannot be told from `kill -INT <pid>`
// (SI_USER, this pid alone). A SA_SIGINFO handler counts each kind and chains to the
// handler it replaced (libuv's), so Node's listeners still run.
//
// Exports signalOriginWatch(signum) -> boolean (installed; false where the platform has no
// sigaction or no handler is installed yet to chain to) and signalOriginRead(signum) ->
// [from the kernel, from a process (kill/sigqueue/tgkill), last sender pid].
void InitSignalOrigin(Napi::Env env, Napi::Object exports);

}  // namespace uvscope
