// The live view and the summary as pure functions of constructed windows: widths, labels,
// and that known behaviour (a slow check-phase iteration, a saturated pool) is reported.
import { describe, expect, it } from 'vitest';

import { loadInternal } from './helpers/uvscope.js';

type Types = typeof import('../lib/types.js');
type Model = typeof import('../lib/cli/model.js');
type Render = typeof import('../lib/cli/render.js');
type Summary = typeof import('../lib/cli/summary.js');
type Format = typeof import('../lib/cli/format.js');
type Distribution = import('../lib/types.js').Distribution;
type LoopStats = import('../lib/types.js').LoopStats;

const { Run } = loadInternal<Model>('cli/model.js');
const { renderLive } = loadInternal<Render>('cli/render.js');
const { renderSummary, summaryData } = loadInternal<Summary>('cli/summary.js');
const { fit, sparkline, visibleLength } = loadInternal<Format>('cli/format.js');
void ({} as Types);

function dist(maxMs: number, totalMs = maxMs, count = 10): Distribution {
  return { count, totalMs, minMs: 0, maxMs, meanMs: totalMs / count, p50Ms: maxMs / 10, p90Ms: maxMs / 2, p99Ms: maxMs, p999Ms: maxMs };
}

function stats(o: { util?: number; checkMaxMs?: number; busy?: number | null; queued?: number | null; waitMs?: number }): LoopStats {
  const windowMs = 1000;
  const checkMax = o.checkMaxMs ?? 1;
  return {
    timestamp: 0, windowMs, iterations: 100, utilization: o.util ?? 0.5, activeMs: (o.util ?? 0.5) * windowMs, idleMs: 500,
    events: 40, eventsWaiting: 0, busy: dist(checkMax + 1, 400),
    phases: { poll: dist(1, 100), pollWait: dist(100, 500), check: dist(checkMax, 250), timers: dist(1, 50) },
    handles: { total: 7, active: 5, referenced: 3, byType: { tcp: 4, timer: 2, pipe: 1 } },
    threadpool: { size: 4, busy: o.busy ?? 0, queued: o.queued ?? 0, queueWait: dist(o.waitMs ?? 0.1, 1, 5) },
  };
}

const start = 1_000_000;
function feed(run: InstanceType<typeof Run>) {
  run.add({ uvscope: 1, type: 'start', pid: 42, ppid: 1, threadId: 0, argv: ['/usr/bin/node', 'app.js', '--port', '8080'], node: 'v20', uv: '1.46.0', time: start });
  for (let i = 1; i <= 40; i++) {
    const slow = i === 12;
    const saturated = i >= 20 && i <= 23;
    run.add({
      uvscope: 1, type: 'window', pid: 42, threadId: 0, time: start + i * 1000, final: false,
      stats: stats({ util: slow ? 0.97 : 0.2 + (i % 5) / 10, checkMaxMs: slow ? 250 : 2, busy: saturated ? 4 : 1, queued: saturated ? 6 : 0, waitMs: saturated ? 300 : 0.2 }),
      slowest: slow ? [{ index: 500, startMs: 0, durationMs: 251, busyMs: 250.5, pollWaitMs: 0.5, pollMs: 0.2, checkMs: 250, timersMs: 0.1, events: 3, time: start + 11_500 }] : [],
      keepAlive: { TCPServerWrap: 1, Timeout: 2 },
      alive: { handles: 3, activeRequests: 1, named: [{ name: 'timer every 100 ms', count: 2 }, { name: 'tcp server 127.0.0.1:8080', count: 1 }] },
    });
  }
}

describe('live view', () => {
  it.each([80, 60, 120])('fits %i columns, labels in order', (width) => {
    const run = new Run(start);
    feed(run);
    const lines = renderLive(run, { width, now: start + 40_500, command: ['node', 'app.js', '--port', '8080'], color: true });
    expect(lines.length).toBeLessThanOrEqual(12);
    for (const line of lines) expect(visibleLength(line)).toBeLessThanOrEqual(width);
    const plain = renderLive(run, { width, now: start + 40_500, command: ['node', 'app.js'], color: false });
    expect(plain.map((l) => l.trim().split(/\s+/)[0])).toEqual(['uvscope', 'loop', 'busy', 'phase', 'poll', 'check', 'timers', 'slowest', 'pool', 'handles', 'alive']);
    if (width >= 80) {
      expect(plain[0]).toMatch(/pid 42 · 40\.5s $/);
      expect(plain[8]).toMatch(/1\/4 busy\s+0 queued/);
      expect(plain[9]).toMatch(/7 open, 3 ref'd: tcp 4 timer 2 pipe 1/);
      expect(plain[10]).toMatch(/alive\s+timer every 100 ms x2, tcp server 127\.0\.0\.1:8080, 1 request, 2 JS timers$/);
    }
  });

  it('says it is waiting before the first window, and shows a load failure', () => {
    const run = new Run(start);
    expect(renderLive(run, { width: 80, now: start, command: ['node'], color: false })[1]).toMatch(/waiting/);
    run.add({ uvscope: 1, type: 'error', pid: 9, threadId: 0, time: start, message: 'uvscope: no native binary' });
    expect(renderLive(run, { width: 80, now: start, command: ['node'], color: false })[1]).toMatch(/pid 9: uvscope: no native binary/);
  });
});

describe('summary', () => {
  const run = new Run(start);
  feed(run);
  const outcome = { endTime: start + 41_000, exitCode: 0, signal: null };

  it('names the slow iteration with its phases, and the saturation period', () => {
    const text = renderSummary(run, outcome, { command: ['node', 'app.js'], width: 80, color: false }).join('\n');
    expect(text).toMatch(/\+11\.5s\s+251ms = poll 0\.2 \+ check 250\.0 \+ timers 0\.1 \+ other 0\.2/);
    expect(text).toMatch(/\+19\.0s to \+23\.0s \(4\.0s\) · busy 4\/4 · queued up to 6 · wait max 300ms/);
    expect(text).toMatch(/\+11\.0s\s+util\s+97% · slowest 251ms · mostly check/);
    expect(text).toMatch(/alive near the end\n {4}timer every 100 ms x2\n {4}tcp server 127\.0\.0\.1:8080\n {4}1 request\n {4}2 JS timers\n {4}Node: Timeout 2, TCPServerWrap 1\n/);
    for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
  });

  it('as data', () => {
    const data = summaryData(run, outcome, ['node', 'app.js']);
    const t = data.threads[0]!;
    expect(t.slowest[0]!.checkMs).toBe(250);
    expect(t.poolSaturation).toEqual([{ fromTime: start + 19_000, toTime: start + 23_000, size: 4, peakBusy: 4, peakQueued: 6, maxWaitMs: 300, maxCpuWaitMs: null }]);
    expect(t.iterations).toBe(4000);
    expect(t.aliveAtEnd?.named[1]).toEqual({ name: 'tcp server 127.0.0.1:8080', count: 1 });
  });
});

describe('alive row', () => {
  const { aliveText } = loadInternal<Render>('cli/render.js');
  it('names what whyAlive() found, counts what did not fit, and falls back to Node\'s names', () => {
    const named = [{ name: 'tcp 127.0.0.1:80 -> 127.0.0.1:5000', count: 1 }];
    expect(aliveText({ keepAlive: {}, alive: { handles: 4, activeRequests: 0, named } })).toBe('tcp 127.0.0.1:80 -> 127.0.0.1:5000, 3 more');
    expect(aliveText({ keepAlive: {}, alive: { handles: 0, activeRequests: 2, named: [] } })).toBe('2 requests');
    expect(aliveText({ keepAlive: {}, alive: { handles: 0, activeRequests: 0, named: [] } })).toBe('nothing');
    expect(aliveText({ keepAlive: { TCPSocketWrap: 300 }, alive: null })).toBe('TCPSocketWrap 300');
  });
});

describe('format', () => {
  it('sparkline scales to the maximum and keeps its width', () => {
    expect(sparkline([0, 1, 2, 4], 6)).toBe('  ▁▃▅█');
    expect(sparkline([null, 1], 2, 1)).toBe(' █');
  });
  it('fit cuts visible text and closes styles', () => {
    expect(fit('\x1b[1mabcdef\x1b[22m', 3)).toBe('\x1b[1mabc\x1b[0m');
    expect(fit('abc', 5)).toBe('abc');
  });
});
