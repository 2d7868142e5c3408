// Issue 10 item 3: libuv's epoll loop restarts its wait stamp when a signal interrupts the
// wait (EINTR), so the wait before the signal vanishes from the idle time: an idle server
// stopped by SIGTERM read utilization 1.0 for its last window and a slow "poll" iteration.
// uvscope credits that wait back (the watchdog saw the loop in it).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { cli, fixture } from './helpers/cli.js';
import { root } from './helpers/uvscope.js';

interface Line {
  type: string;
  threadId?: number;
  final?: boolean;
  stats?: { utilization: number; windowMs: number; busy: { maxMs: number }; phases: { poll: { maxMs: number } } };
  slowest?: { busyMs: number; pollMs: number }[];
}

async function idleServerStoppedBySigterm(): Promise<{ lines: Line[]; stderr: string; code: number | null }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-lost-wait-'));
  const out = path.join(dir, 'out.jsonl');
  try {
    const child = spawn(process.execPath, [cli, '--out', out, '--interval', '5000', '--', process.execPath, fixture('idle-sigterm.cjs')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      // Idle for 1.5 s in one wait, then SIGTERM, well inside the 5 s window.
      if (stdout.includes('listening')) setTimeout(() => child.kill('SIGTERM'), 1500);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    return { lines, stderr, code };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('lost waits (EINTR) are counted as waiting', () => {
  it('an idle server stopped by SIGTERM under the CLI: its last window is idle, no slow poll iteration', async () => {
    const { lines, code } = await idleServerStoppedBySigterm();
    expect(code).toBe(0);
    const last = lines.filter((l) => l.type === 'window' && l.threadId === 0 && l.final).at(-1)!;
    expect(last).toBeDefined();
    expect(last.stats!.windowMs).toBeGreaterThan(1400);
    // Before: ~1.0 (the 1.5 s wait lost). The loop did only start-up work in this window.
    expect(last.stats!.utilization).toBeLessThan(0.3);
    expect(last.stats!.busy.maxMs).toBeLessThan(300);
    for (const s of last.slowest ?? []) expect(s.pollMs).toBeLessThan(300);
    const summary = lines.find((l) => l.type === 'summary') as unknown as { threads: { slowest: { busyMs: number }[] }[] };
    for (const t of summary?.threads ?? []) for (const s of t.slowest ?? []) expect(s.busyMs).toBeLessThan(300);
  });
});
