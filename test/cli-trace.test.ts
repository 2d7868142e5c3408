// `--trace`: the Chrome/Perfetto JSON trace of a real program run under the CLI.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { afterAll, describe, expect, it } from 'vitest';

import { iterationEvents, TRACK_TID_BASE, TraceWriter } from '../lib/cli/trace.js';
import { runNode } from './helpers/child.js';
import { root } from './helpers/uvscope.js';

const cli = path.join(root, 'dist', 'cli', 'main.js');
const fixture = path.join(root, 'test', 'fixtures', 'cli-timeline.cjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-trace-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Ev {
  ph: string;
  name: string;
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  s?: string;
  args?: Record<string, unknown>;
}

const ns = (us: number) => Math.round(us * 1000);
const MARKUP = '</script><script>alert(1)</script>';

async function traced(extra: string[], file: string) {
  const out = path.join(tmp, `out-${Math.random().toString(36).slice(2)}.jsonl`);
  const result = await runNode([cli, '--interval', '200', '--slow-ms', '20', '--out', out, '--no-summary', '--trace', file, ...extra, '--', process.execPath, fixture, MARKUP], { timeoutMs: 60_000 });
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; stats?: { iterations: number } });
  return { ...result, lines };
}

/** Each slice's phases inside it, in integer ns; returns phase slices by iteration. */
function nested(events: Ev[]) {
  const byTrack = new Map<string, Ev[]>();
  for (const e of events) if (e.ph === 'X') byTrack.set(`${e.pid}-${e.tid}`, [...(byTrack.get(`${e.pid}-${e.tid}`) ?? []), e]);
  const out: { iteration: Ev; phases: Ev[] }[] = [];
  for (const slices of byTrack.values()) {
    let current: { iteration: Ev; phases: Ev[] } | null = null;
    for (const e of slices) {
      if (e.name === 'iteration') {
        current = { iteration: e, phases: [] };
        out.push(current);
        continue;
      }
      expect(current, `${e.name} slice outside an iteration`).not.toBeNull();
      const p = current!.iteration;
      expect(ns(e.ts!)).toBeGreaterThanOrEqual(ns(p.ts!));
      expect(ns(e.ts!) + ns(e.dur!)).toBeLessThanOrEqual(ns(p.ts!) + ns(p.dur!));
      current!.phases.push(e);
    }
  }
  return out;
}

describe('uvscope --trace', () => {
  it('writes a JSON array with named tracks, slow iterations with nested phases on the hrtime µs clock, and counters', async () => {
    const file = path.join(tmp, 'run.json');
    const { code, stdout, lines } = await traced([], file);
    expect(code).toBe(0);
    const marks = JSON.parse(stdout.trim()) as { checkFromUs: number; checkToUs: number };
    const text = fs.readFileSync(file, 'utf8');
    const events = JSON.parse(text) as Ev[];
    expect(Array.isArray(events)).toBe(true);

    // Processes and threads named; argv is data inside a JSON string.
    const proc = events.find((e) => e.ph === 'M' && e.name === 'process_name')!;
    expect(proc.args!.name).toContain('cli-timeline.cjs');
    expect(proc.args!.name).toContain(MARKUP);
    const threads = events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name);
    expect(threads).toContain('main thread event loop (uvscope)');
    expect(threads.some((n) => /^worker \d+ event loop \(uvscope\)$/.test(String(n)))).toBe(true);

    const its = nested(events);
    const main = its.filter((i) => i.iteration.tid === TRACK_TID_BASE);
    const phaseOf = (i: { phases: Ev[] }, name: string) => i.phases.find((p) => p.name === name)?.dur ?? 0;
    // One slow iteration per block, with the block in its phase.
    expect(main.some((i) => phaseOf(i, 'timers') >= 39_000)).toBe(true);
    expect(main.some((i) => phaseOf(i, 'check') >= 29_000)).toBe(true);
    expect(main.some((i) => phaseOf(i, 'poll') >= 24_000)).toBe(true);
    expect(its.some((i) => i.iteration.tid !== TRACK_TID_BASE && phaseOf(i, 'timers') >= 29_000)).toBe(true);
    for (const i of its) expect(i.iteration.args!.busyMs as number).toBeGreaterThanOrEqual(20);

    // The check slice holds the block as process.hrtime saw it (the clock of Node's trace events).
    const check = main.map((i) => i.phases.find((p) => p.name === 'check')!).find((p) => p !== undefined && p.dur! >= 29_000)!;
    expect(check.ts!).toBeLessThanOrEqual(marks.checkFromUs + 1);
    expect(check.ts! + check.dur!).toBeGreaterThanOrEqual(marks.checkToUs - 1);
    expect(marks.checkFromUs - check.ts!).toBeLessThan(5_000);

    // Counters per window, the thread in the name; the pool saw 8 pbkdf2 on 4 threads.
    const counters = events.filter((e) => e.ph === 'C');
    const windows = lines.filter((l) => l.type === 'window').length;
    expect(counters.filter((c) => c.name === 'utilization % (main thread)').length).toBe(lines.filter((l) => l.type === 'window' && (l as { threadId?: number }).threadId === 0).length);
    expect(windows).toBeGreaterThan(3);
    const pool = counters.filter((c) => c.name === 'thread pool');
    expect(Math.max(...pool.map((c) => c.args!.busy as number))).toBe(4);
    expect(Math.max(...pool.map((c) => c.args!.queued as number))).toBeGreaterThanOrEqual(1);
    expect(counters.some((c) => c.name === 'busy ms by phase (main thread)')).toBe(true);
    expect(counters.some((c) => c.name.startsWith('handles ('))).toBe(true);
    // Counters and slices share the clock: the windows span the slow iterations.
    const cts = counters.map((c) => c.ts!);
    for (const i of main) {
      expect(i.iteration.ts!).toBeGreaterThan(Math.min(...cts));
      expect(i.iteration.ts!).toBeLessThan(Math.max(...cts) + 200_000);
    }

    // Whole events, one per line: cut after any line, it still parses once closed.
    const body = text.split('\n');
    expect(body[0]).toBe('[');
    for (let n = 2; n < body.length - 2; n++) {
      const cut = body.slice(0, n).join('\n') + '\n]';
      expect(() => JSON.parse(cut), `cut after line ${n}`).not.toThrow();
    }
    // The JSON output stays as without --trace: no timeline lines in it.
    expect(lines.some((l) => l.type === 'timeline')).toBe(false);
  }, 90_000);

  it('--trace-all records every iteration, gzipped for a .gz name', async () => {
    const file = path.join(tmp, 'all.json.gz');
    const { code, lines } = await traced(['--trace-all'], file);
    expect(code).toBe(0);
    const events = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')) as Ev[];
    const its = nested(events).filter((i) => i.iteration.tid === TRACK_TID_BASE);
    const main = lines.filter((l) => l.type === 'window' && (l as { threadId?: number }).threadId === 0);
    const counted = main.reduce((n, l) => n + l.stats!.iterations, 0);
    expect(counted).toBeGreaterThan(10);
    // Every iteration the windows counted is a slice (the first, before recording, may differ by one or two).
    expect(its.length).toBeGreaterThanOrEqual(counted - 2);
    expect(its.length).toBeLessThanOrEqual(counted + 2);
    expect(its.filter((i) => (i.iteration.args!.busyMs as number) < 20).length).toBeGreaterThan(0);
  }, 90_000);

  it('a trace cut short by SIGKILL of the CLI loads up to its last line', async () => {
    const file = path.join(tmp, 'killed.json');
    const program = 'setInterval(() => { const e = performance.now() + 30; while (performance.now() < e); }, 100); setTimeout(() => process.exit(0), 20000);';
    const child = spawn(process.execPath, [cli, '--interval', '200', '--slow-ms', '20', '--json', '--out', path.join(tmp, 'killed.jsonl'), '--trace', file, '--', process.execPath, '-e', program], { cwd: root, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !(fs.existsSync(file) && (fs.readFileSync(file, 'utf8').match(/"name":"iteration"/g)?.length ?? 0) >= 3)) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await exited;
    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().endsWith(']')).toBe(false); // cut short: never closed
    const events = JSON.parse(text + ']') as Ev[];
    expect(nested(events).length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('shows workers whose own reporter is silent from the main thread view: a named track, counters, where they were at the end', async () => {
    const file = path.join(tmp, 'threads.json');
    const r = await runNode([cli, '--interval', '200', '--no-summary', '--json', '--out', path.join(tmp, 'threads.jsonl'), '--trace', file, '--', process.execPath, path.join(root, 'test', 'fixtures', 'cli-threads.cjs')], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const ids = JSON.parse(r.stdout.trim()) as { parked: number[] };
    const events = JSON.parse(fs.readFileSync(file, 'utf8')) as Ev[];
    for (const id of ids.parked) {
      const tid = TRACK_TID_BASE + id;
      expect(events.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.tid === tid && e.args!.name === `worker ${id} event loop (uvscope)`)).toBe(true);
      expect(events.some((e) => e.ph === 'C' && e.name === `utilization % (worker ${id}, seen from main thread)`)).toBe(true);
      const end = events.find((e) => e.ph === 'i' && e.tid === tid && /^blocked in futex, \d+ ms into its iteration$/.test(e.name));
      expect(end, `worker ${id}`).toBeDefined();
    }
  }, 90_000);

  it('--trace-node merges Node\'s own trace events, and its CheckImmediate slice lines up with uvscope\'s check phase', async () => {
    const file = path.join(tmp, 'node.json');
    const { code } = await traced(['--trace-node'], file);
    expect(code).toBe(0);
    const events = JSON.parse(fs.readFileSync(file, 'utf8')) as Ev[];
    const nodeCheck = events.filter((e) => e.ph === 'X' && e.name === 'CheckImmediate' && e.dur! >= 29_000);
    const ours = events.filter((e) => e.ph === 'X' && e.name === 'check' && e.tid === TRACK_TID_BASE && e.dur! >= 29_000);
    expect(nodeCheck.length).toBe(1);
    expect(ours.length).toBe(1);
    // Same clock: the two views of the 30 ms setImmediate agree within a millisecond (measured: tens of µs).
    expect(Math.abs(nodeCheck[0]!.ts! - ours[0]!.ts!)).toBeLessThan(1000);
    expect(Math.abs(nodeCheck[0]!.ts! + nodeCheck[0]!.dur! - (ours[0]!.ts! + ours[0]!.dur!))).toBeLessThan(1000);
    // Node's events keep their real thread ids, apart from uvscope's tracks.
    expect(nodeCheck[0]!.tid).toBeLessThan(TRACK_TID_BASE);
    expect(events.some((e) => e.name === 'RunTimers')).toBe(true);
  }, 90_000);

  it('rejects --trace-all or --trace-node without --trace, and an empty --trace', async () => {
    const a = await runNode([cli, '--trace-all', '--', process.execPath, '-e', '0']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--trace-all needs --trace');
    const b = await runNode([cli, '--trace', '', '--', process.execPath, '-e', '0']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--trace must name a file');
    const c = await runNode([cli, '--trace-node', '--', process.execPath, '-e', '0']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('--trace-node needs --trace');
  });
});

describe('trace events', () => {
  it('keeps every phase inside its iteration in integer ns, whatever the rounding of the ms values', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let n = 0; n < 2000; n++) {
      const pollWaitMs = rnd() * 50, pollMs = rnd() * 30, checkMs = rnd() * 30, timersMs = rnd() * 30;
      // durationMs a hair short of the sum, as 0.1 µs rounding of each number makes it.
      const durationMs = pollWaitMs + pollMs + checkMs + timersMs - rnd() * 0.0003;
      const startMs = 1e6 * rnd() + 0.33333;
      const ev = iterationEvents({ index: n, startMs, durationMs, busyMs: durationMs - pollWaitMs, pollWaitMs, pollMs, checkMs, timersMs, events: 1 }, 1, TRACK_TID_BASE, 123456789.123 + rnd());
      nested(ev as Ev[]);
    }
  });

  it('shows a stall line as a marker with its stack as text', () => {
    const file = path.join(tmp, 'stall.json');
    const w = new TraceWriter(file);
    w.add({ uvscope: 1, type: 'start', pid: 5, ppid: 1, threadId: 0, argv: ['node', 'x.js'], node: 'v22', uv: '1', time: 0 });
    w.add({ uvscope: 1, type: 'timeline', pid: 5, threadId: 0, time: 0, hrOriginUs: 1000, iterations: [], dropped: 0 });
    w.add({ uvscope: 1, type: 'stall', pid: 5, threadId: 0, startMs: 2, blockedMs: 120, phase: 'poll', capture: 'exact', stack: [{ functionName: '<img src=x onerror=alert(2)>', url: 'file:///a.js', line: 3, column: 9 }] });
    w.close();
    const events = JSON.parse(fs.readFileSync(file, 'utf8')) as Ev[];
    const stall = events.find((e) => e.ph === 'i')!;
    expect(stall.name).toBe('stall 120 ms in poll');
    expect(stall.ts).toBe(3000);
    expect(stall.tid).toBe(TRACK_TID_BASE);
    expect(stall.args!.stack).toEqual(['<img src=x onerror=alert(2)> (file:///a.js:3:9)']);
  });
});
