// Workers whose own reporter cannot write (they never return to their loop, park in
// Atomics.wait, or are terminated) are reported from the main thread's threads(): their
// whole-run numbers, "ended while busy", and blocked vs running at exit.
import { describe, expect, it } from 'vitest';

import { fixture, runCliJson } from './helpers/cli.js';

interface Summary {
  threads: {
    threadId: number;
    iterations: number;
    utilization: number;
    busyMaxMs: number;
    endedWhileBusy: boolean;
    activity: { state: string; elapsedMs: number; busyMs: number; kernel: { state: string; syscall: string | null; cpuMs: number | null } | null; atExit: boolean } | null;
    stalls: { where: string; count: number; longestMs: number; unended?: boolean }[];
  }[];
}

describe('uvscope CLI: threads that never return to their loop', () => {
  it('reports a worker terminated while busy, piscina workers parked in Atomics.wait, and a worker running at exit', async () => {
    const { code, stdout, stderr, summary, lines } = await runCliJson<Summary>(['--interval', '200', '--', process.execPath, fixture('cli-threads.cjs')]);
    expect(code).toBe(0);
    const ids = JSON.parse(stdout.trim().split('\n').pop()!) as { parked: number[]; terminated: number; running: number };
    const thread = (id: number) => summary.threads.find((t) => t.threadId === id)!;

    // Terminated 450 ms into a busy loop: busy, not "0 iterations, util 0%".
    const terminated = thread(ids.terminated);
    expect(terminated.iterations).toBeGreaterThanOrEqual(1);
    expect(terminated.busyMaxMs).toBeGreaterThanOrEqual(400);
    expect(terminated.utilization).toBeGreaterThan(0.3);
    expect(terminated.endedWhileBusy).toBe(true);
    expect(terminated.activity).toMatchObject({ state: 'ended' });
    expect(terminated.activity!.busyMs).toBeGreaterThanOrEqual(400);
    expect(stderr).toMatch(new RegExp(`worker ${ids.terminated}\\b.*\\n(.*\\n)*?.*ended while busy: last iteration [0-9.]+m?s`));
    // Its stall never ended: as long as the iteration it ended in, not the blocked time at detection.
    expect(terminated.stalls).toHaveLength(1);
    expect(terminated.stalls[0]).toMatchObject({ count: 1, unended: true });
    expect(terminated.stalls[0]!.longestMs).toBeGreaterThanOrEqual(400);
    expect(stderr).toMatch(/× 1, longest [0-9.]+m?s \(never ended: still in it at the end\)/);

    // Piscina's idle workers: blocked in a futex, not running, although libuv counts the wait as busy.
    expect(ids.parked).toHaveLength(2);
    for (const id of ids.parked) {
      const parked = thread(id);
      expect(parked.activity).toMatchObject({ state: 'blocked', atExit: true, kernel: { syscall: 'futex' } });
      expect(parked.activity!.elapsedMs).toBeGreaterThan(500);
      // Waiting, not computing: its CPU time is a fraction of the iteration (two 100 ms tasks).
      expect(parked.activity!.kernel!.cpuMs).toBeGreaterThanOrEqual(0);
      expect(parked.activity!.kernel!.cpuMs!).toBeLessThan(parked.activity!.elapsedMs / 2);
    }
    expect(stderr).toMatch(/at exit blocked [0-9.]+m?s in futex \(Atomics\.wait or a lock\), not running; [0-9.]+m?s on a CPU since it started/);
    // No iteration of theirs ended: no "slowest 0.00ms".
    expect(stderr).toMatch(/0 iterations, util [0-9]+%, no iteration ended/);
    expect(stderr).not.toMatch(/0 iterations[^\n]*slowest/);
    expect(stderr).toMatch(/util 100% · no iteration ended in it/);

    // Still spinning at process.exit(): running JavaScript.
    const running = thread(ids.running);
    expect(running.activity).toMatchObject({ state: 'running', atExit: true, kernel: { state: 'running' } });
    expect(running.activity!.elapsedMs).toBeGreaterThan(300);
    expect(running.activity!.kernel!.cpuMs).toBeGreaterThan(200); // spinning from 600 ms to 1,500 ms
    expect(running.utilization).toBeGreaterThan(0.3);

    // Seen through the main thread's lines, not double counted with the workers' own.
    const observed = lines.filter((l) => l.type === 'thread');
    expect(observed.length).toBeGreaterThan(0);
    expect(observed.filter((l) => l.threadId === ids.terminated && (l.total as { ended: boolean }).ended)).toHaveLength(1);
  });
});
