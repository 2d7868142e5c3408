// The CLI end to end: the real probe in a real program, read back from the CLI's JSON
// output and its printed summary.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runNode } from './helpers/child.js';
import { root } from './helpers/uvscope.js';

const cli = path.join(root, 'dist', 'cli', 'main.js');
const fixture = (name: string) => path.join(root, 'test', 'fixtures', name);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-cli-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Summary {
  type: 'summary';
  exitCode: number;
  signal: string | null;
  threads: {
    pid: number;
    threadId: number;
    busyMaxMs: number;
    phasesMs: { poll: number; check: number; timers: number };
    slowest: { busyMs: number; pollMs: number; checkMs: number; timersMs: number }[];
    poolSaturation: { peakBusy: number | null; peakQueued: number | null; maxWaitMs: number; size: number }[];
    aliveAtEnd: { handles: number; activeRequests: number; named: { name: string; count: number }[] } | null;
  }[];
}

async function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out = path.join(tmp, `out-${Math.random().toString(36).slice(2)}.jsonl`);
  const result = await runNode([cli, '--out', out, ...args], { env, timeoutMs: 60_000 });
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
  const summary = lines.find((l) => l.type === 'summary') as unknown as Summary;
  return { ...result, lines, summary };
}

describe('uvscope CLI on a program', () => {
  it('puts a 50 ms setImmediate block in the check phase, in the windows and the summary', async () => {
    const { code, lines, summary, stderr } = await runCli(['--interval', '200', '--slow-ms', '20', '--', process.execPath, fixture('cli-block.cjs')]);
    expect(code).toBe(0);
    const windows = lines.filter((l) => l.type === 'window') as unknown as { stats: { phases: Record<string, { maxMs: number }> } }[];
    expect(windows.length).toBeGreaterThanOrEqual(3);
    const checkMax = Math.max(...windows.map((w) => w.stats.phases.check!.maxMs));
    expect(checkMax).toBeGreaterThanOrEqual(49);
    expect(checkMax).toBeLessThan(500);
    // The block is in check, not in the other phases: a misplaced block would put 50 ms
    // there. (Under a sanitizer on a loaded machine, preemption alone has put ~30 ms in them.)
    expect(Math.max(...windows.map((w) => w.stats.phases.poll!.maxMs))).toBeLessThan(45);
    expect(Math.max(...windows.map((w) => w.stats.phases.timers!.maxMs))).toBeLessThan(45);

    const main = summary.threads.find((t) => t.threadId === 0)!;
    expect(main.slowest.length).toBeGreaterThanOrEqual(1);
    const slow = main.slowest[0]!;
    expect(slow.checkMs).toBeGreaterThanOrEqual(49);
    expect(slow.pollMs + slow.timersMs).toBeLessThan(45);
    // The printed summary shows the same iteration with its breakdown.
    expect(stderr).toMatch(/slowest iterations/);
    expect(stderr).toMatch(/= poll \d+\.\d \+ check (49|5\d|[6-9]\d|\d{3})\.\d \+ timers/);
  });

  it('reports a slow iteration that completed after the last interval, at exit', async () => {
    // The default 1 s interval: the program (~900 ms) ends before the first window.
    // --slow-ms 40: only the 50 ms block, whatever a loaded machine does to the others.
    const { code, summary, lines } = await runCli(['--slow-ms', '40', '--', process.execPath, fixture('cli-block.cjs')]);
    expect(code).toBe(0);
    expect(lines.filter((l) => l.type === 'window')).toHaveLength(1);
    const main = summary.threads.find((t) => t.threadId === 0)!;
    expect(main.slowest).toHaveLength(1);
    expect(main.slowest[0]!.checkMs).toBeGreaterThanOrEqual(49);
  });

  it('shows 8 pbkdf2 on a pool of 4 as a saturation period', async () => {
    const { code, summary, stderr } = await runCli(['--interval', '200', '--', process.execPath, fixture('cli-pool.cjs')], { UV_THREADPOOL_SIZE: '4' });
    expect(code).toBe(0);
    const main = summary.threads.find((t) => t.threadId === 0)!;
    expect(main.poolSaturation.length).toBeGreaterThanOrEqual(1);
    const period = main.poolSaturation[0]!;
    expect(period.size).toBe(4);
    expect(period.peakBusy).toBe(4);
    expect(period.peakQueued).toBeGreaterThanOrEqual(1);
    expect(stderr).toMatch(/thread pool saturated\n\s+\+\d+\.\ds to \+\d+\.\ds .*busy 4\/4/);
  });

  it('names what kept the loop alive near the end, from whyAlive()', async () => {
    const { code, stdout, summary, stderr } = await runCli(['--interval', '100', '--', process.execPath, fixture('cli-alive.cjs')]);
    expect(code).toBe(0);
    const port = /port (\d+)/.exec(stdout)![1];
    const main = summary.threads.find((t) => t.threadId === 0)!;
    const names = main.aliveAtEnd!.named.map((n) => n.name);
    expect(names).toContain(`tcp server 127.0.0.1:${port}`);
    // Both ends of the connection, without the client's ephemeral port.
    expect(names).toContain(`tcp 127.0.0.1:${port} <- client`);
    expect(names).toContain(`tcp -> 127.0.0.1:${port}`);
    expect(stderr).toMatch(new RegExp(`alive near the end\\n(    .*\\n)*    tcp server 127\\.0\\.0\\.1:${port}\\n`));
    // The interval and the two 600 ms timeouts, from Node's names (the reporter runs in a timer callback).
    expect(stderr).toMatch(/\n {4}3 JS timers\n {4}Node: Timeout 3, .*TCPServerWrap 1\n/);
  });

  it('passes exit codes through', async () => {
    for (const n of [0, 3, 42]) {
      const { code } = await runNode([cli, '--json', '--no-summary', '--', process.execPath, fixture('cli-exit.cjs'), 'code', String(n)]);
      expect(code).toBe(n);
    }
  });

  it('turns a death by signal into 128 + n', async () => {
    const { code, stderr } = await runNode([cli, '--json', '--', process.execPath, fixture('cli-exit.cjs'), 'signal', 'SIGTERM']);
    expect(code).toBe(128 + os.constants.signals.SIGTERM);
    expect(stderr).toMatch(/killed by SIGTERM \(exit 143\)/);
    const kill = await runNode([cli, '--json', '--no-summary', '--', process.execPath, fixture('cli-exit.cjs'), 'signal', 'SIGKILL']);
    expect(kill.code).toBe(128 + os.constants.signals.SIGKILL);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('forwards %s to the program and exits with its code', async (signal) => {
    const child = spawn(process.execPath, [cli, '--json', '--no-summary', '--', process.execPath, fixture('cli-exit.cjs'), 'wait'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('ready') && !sent) {
        sent = true;
        child.kill(signal);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stdout).toMatch(new RegExp(`got ${signal}`));
    expect(code).toBe(7);
  });

  it('does not leave the program running when the CLI is killed outright', async () => {
    const child = spawn(process.execPath, [cli, '--interval', '200', '--json', '--', process.execPath, fixture('cli-exit.cjs'), 'forever'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = await new Promise<number>((resolve) => {
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const m = /ready (\d+)/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
    });
    child.kill('SIGKILL');
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 10_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  });

  it("leaves the program's stdout byte-identical", async () => {
    const plain = await runNode([fixture('cli-output.cjs')]);
    const observed = await runNode([cli, '--interval', '100', '--', process.execPath, fixture('cli-output.cjs')]);
    expect(observed.code).toBe(0);
    expect(plain.stdout.length).toBeGreaterThan(1000);
    expect(Buffer.from(observed.stdout)).toEqual(Buffer.from(plain.stdout));
    // stderr (not a terminal, no --json): the program's own bytes, untouched, then uvscope's summary.
    const summaryAt = observed.stderr.indexOf('\nuvscope summary');
    expect(summaryAt).toBeGreaterThan(0);
    expect(observed.stderr.slice(0, summaryAt)).toBe(plain.stderr);
  });

  it('keeps the NODE_OPTIONS the user had and reports from worker threads', async () => {
    const { code, lines, stdout } = await runCli(
      ['--interval', '100', '--', process.execPath, '-e', 'new (require("worker_threads").Worker)("setTimeout(()=>{},300)", {eval:true})'],
      { NODE_OPTIONS: '--max-old-space-size=123' },
    );
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const starts = lines.filter((l) => l.type === 'start');
    // threadId 1 is uvscope's stall-capture worker (started before the program's first
    // worker, never reported); the program's worker is 2.
    expect(starts.map((l) => l.threadId).sort()).toEqual([0, 2]);
    const { stdout: title } = await runNode([cli, '--json', '--no-summary', '--', process.execPath, '-p', 'process.title'], {
      env: { NODE_OPTIONS: '--title=uvscope-kept-this' },
    });
    expect(title).toBe('uvscope-kept-this\n');
  });
});
