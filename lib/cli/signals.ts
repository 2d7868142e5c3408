// Which signals the CLI passes on to the program, so it sees each one exactly once.
//
// A terminal sends Ctrl-C (SIGINT), Ctrl-\ (SIGQUIT) and a hangup's SIGHUP to its whole
// foreground process group: the program, started in uvscope's group, already has it, and
// forwarding it again would make one Ctrl-C two (graceful-shutdown code treats a second
// SIGINT as "force quit"). A signal `kill`ed to uvscope's pid alone (a supervisor's SIGTERM,
// `kill -INT <pid>`) reaches only uvscope, and must be passed on.
//
// Node gives no siginfo, so the addon counts each signal's origin (si_code: SI_KERNEL from
// the tty, SI_USER/SI_QUEUE/SI_TKILL from a process; native/signal_origin.cc). Rule:
//   - from a process: forward;
//   - from the kernel: forward only when the program is not in uvscope's process group nor
//     in its terminal's foreground group (it made its own group, so the tty's signal
//     missed it);
//   - origin unknown (no addon, not Linux): SIGINT/SIGQUIT while uvscope and the program
//     share the terminal's foreground group are taken for the terminal's; anything else is
//     forwarded.
// Not told apart: a signal sent to the whole process group by a process (`kill -- -PGID`,
// timeout(1) without --foreground, a shell's SIGHUP to its jobs) reached the program too
// and is forwarded once more; run uvscope as the group's only target, or give the program
// its own group, where that matters.
import * as fs from 'node:fs';
import * as os from 'node:os';

export type SignalOrigin = 'kernel' | 'process' | 'unknown';

interface OriginBinding {
  signalOriginWatch?(signum: number): boolean;
  signalOriginRead?(signum: number): [number, number, number];
}

/** `pgrp` and `tpgid` from /proc/<pid>/stat (Linux), null where unreadable. */
export function processGroups(pid: number | 'self'): { pgrp: number; tpgid: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': fields after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8).
  const pgrp = Number(fields[2]);
  const tpgid = Number(fields[5]);
  return Number.isInteger(pgrp) && Number.isInteger(tpgid) ? { pgrp, tpgid } : null;
}

/** Whether the program received the signal itself, given where it came from. */
export function programGotItItself(
  signal: NodeJS.Signals,
  origin: SignalOrigin,
  own: { pgrp: number; tpgid: number } | null,
  child: { pgrp: number; tpgid: number } | null,
): boolean {
  if (origin === 'process') return false;
  if (child === null) return false;
  const inForeground = child.tpgid > 0 && child.pgrp === child.tpgid;
  if (origin === 'kernel') return (own !== null && child.pgrp === own.pgrp) || inForeground;
  // Unknown origin: only the signals a terminal generates, only when both are in its foreground group.
  return (signal === 'SIGINT' || signal === 'SIGQUIT') && inForeground && own !== null && own.pgrp === child.pgrp;
}

/**
 * Passes `signals` that reach this process on to `child` unless it got them itself; returns
 * the function that stops. `native`: the addon's counters, null where it does not load.
 */
export function forwardSignals(
  child: { pid?: number | undefined; kill(signal: NodeJS.Signals): boolean },
  signals: readonly NodeJS.Signals[],
  native: OriginBinding | null,
  ended: () => boolean,
): () => void {
  const origins = new SignalOrigins(native);
  const forward = (signal: NodeJS.Signals) => {
    const origin = origins.take(signal);
    if (ended() || child.pid === undefined) return;
    if (programGotItItself(signal, origin, processGroups('self'), processGroups(child.pid))) return;
    child.kill(signal);
  };
  for (const signal of signals) process.on(signal, forward);
  // After process.on(): the native handler chains to the one libuv has just installed.
  origins.watch(signals);
  return () => {
    for (const signal of signals) process.removeListener(signal, forward);
  };
}

/**
 * Tells, for each signal event Node delivers, whether it came from the kernel or a process.
 * `watch` must run after `process.on(signal)` (the native handler chains to libuv's).
 */
export class SignalOrigins {
  private readonly seen = new Map<number, [number, number]>();

  constructor(private readonly native: OriginBinding | null) {}

  watch(signals: readonly NodeJS.Signals[]): void {
    for (const signal of signals) {
      const signum = os.constants.signals[signal];
      try {
        if (this.native?.signalOriginWatch?.(signum) === true) this.seen.set(signum, [0, 0]);
      } catch {
        // origin stays unknown for this signal
      }
    }
  }

  /**
   * The origin of one delivery of `signal`. The handler counts before Node's listener
   * runs, so a delivery not yet consumed is there; a process's signal wins when both
   * arrived (never drop one a supervisor sent).
   */
  take(signal: NodeJS.Signals): SignalOrigin {
    const signum = os.constants.signals[signal];
    const seen = this.seen.get(signum);
    if (seen === undefined || this.native?.signalOriginRead === undefined) return 'unknown';
    let counts: [number, number, number];
    try {
      counts = this.native.signalOriginRead(signum);
    } catch {
      return 'unknown';
    }
    if (counts[1] > seen[1]) {
      seen[1]++;
      return 'process';
    }
    if (counts[0] > seen[0]) {
      seen[0]++;
      return 'kernel';
    }
    // Two deliveries the kernel merged into one, both already consumed: nothing new.
    return 'unknown';
  }
}
