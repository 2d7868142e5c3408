// `--report` and `uvscope report`: the HTML report of a real run, opened in headless Chromium
// (Debian's /usr/bin/chromium through playwright-core; nothing downloads a browser).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { embedJson, MAX_POINTS, ReportBuilder, renderHtml, SLOW_CAP } from '../lib/cli/report.js';
import { runNode } from './helpers/child.js';
import { root } from './helpers/uvscope.js';

const cli = path.join(root, 'dist', 'cli', 'main.js');
const fixture = path.join(root, 'test', 'fixtures', 'cli-timeline.cjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-report-test-'));
const SCRIPT = '</script><script>alert(1)</script>';
const IMG = '<img src=x onerror=alert(2)>';

type Browser = import('playwright-core').Browser;
let browser: Browser;
beforeAll(async () => {
  const { chromium } = await import('playwright-core');
  // The browser is not what is under test: never run it with the sanitizer runtime that
  // scripts/sanitize.sh preloads into the test processes (it hangs Chromium's start-up).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(LD_PRELOAD|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS)$/.test(k))) as Record<string, string>;
  browser = await chromium.launch({
    env,
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Opens a report from disk; everything the page did that it must not do is returned. */
async function open(file: string) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  const url = 'file://' + file;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { uvscopeCharts?: number }).uvscopeCharts !== undefined, null, { timeout: 30_000 });
  // Pixels drawn on each chart's canvas (uPlot paints series, axes and grid there).
  const canvases = await page.evaluate(() =>
    [...document.querySelectorAll('section.chart')].filter((s) => s.querySelector('canvas')).map((s) => {
      const c = s.querySelector('canvas')!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) painted++;
      return { id: s.id, painted, width: c.width };
    }),
  );
  const text = await page.evaluate(() => document.body.innerText);
  const injected = await page.evaluate(() => document.querySelectorAll('img, script:not([type="application/json"])').length);
  return { page, problems, requests, canvases, text, injected };
}

describe('uvscope --report', () => {
  it('writes one offline page: every chart drawn, verdicts on top, no request, no error, markup shown as text', async () => {
    const pipeDir = fs.mkdtempSync(path.join(tmp, 'p-'));
    const pipe = path.join(pipeDir, `${IMG}.sock`);
    const html = path.join(tmp, 'run.html');
    const out = path.join(tmp, 'run.jsonl');
    const r = await runNode([cli, '--interval', '200', '--slow-ms', '20', '--out', out, '--no-summary', '--report', html, '--', process.execPath, fixture, SCRIPT, IMG], { env: { TIMELINE_PIPE: pipe }, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const source = fs.readFileSync(html, 'utf8');
    // The page's own markup: the data is inert JSON, escaped; no inline handler; a CSP by hash.
    expect(source).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-[^']+' 'sha256-[^']+'; style-src 'sha256-[^']+';/);
    expect(source).not.toContain('unsafe-inline');
    expect(source).not.toContain(SCRIPT);
    expect(source).not.toContain(IMG);
    expect(source.match(/<\/script/gi)!.length).toBe(3); // data, uPlot, the page's script
    expect(source).not.toMatch(/https?:\/\/(?!github\.com\/leeoniya)/); // no URL to fetch (uPlot's comment names its repo)

    const { page, problems, requests, canvases, text, injected } = await open(html);
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      expect(injected).toBe(2); // uPlot and the page's script; nothing from the data
      // Main thread: utilization, phases, p99/max, slow iterations, pool, handles; the worker: all but the pool.
      expect(canvases.length).toBe(6 + 5);
      for (const c of canvases) expect(c.painted, c.id).toBeGreaterThan(500);
      // Verdicts from the run's own evidence: the blocks, where the busy time went, the pool.
      expect(text).toContain('The event loop was blocked');
      expect(text).toMatch(/Busy time went to (timers|check|poll)/);
      expect(text).toContain('Thread pool saturated');
      expect(text).toMatch(/Utilization \d+% median/);
      // The markup in argv and in the pipe path is text on the page.
      expect(text).toContain(SCRIPT);
      expect(text).toContain(IMG);
      expect(text).toContain(`pipe server ${pipe}`);
      // Each verdict links to a chart that exists.
      const links = await page.evaluate(() => [...document.querySelectorAll('#verdicts a')].map((a) => a.getAttribute('href')!));
      expect(links.length).toBeGreaterThan(4);
      for (const l of links) expect(await page.locator(l.replace(/([^#\w-])/g, '\\$1')).count(), l).toBe(1);
      // Hovering a slow iteration shows its phase breakdown.
      const plot = page.locator(`[id$="-slow"] .u-over`).first();
      await plot.scrollIntoViewIfNeeded();
      const box = (await plot.boundingBox())!;
      let detail = '';
      for (let x = 2; x < box.width && !detail.includes('poll wait'); x += 3) {
        await page.mouse.move(box.x + x, box.y + box.height / 2);
        detail = await page.locator(`[id$="-slow"] .detail`).first().innerText();
      }
      expect(detail).toMatch(/busy of .*\n {2}poll wait .*\n {2}poll .*\n {2}check .*\n {2}timers/);
    } finally {
      await page.close();
    }

    // The same run as a saved --out file: `uvscope report` builds a page from it.
    const again = path.join(tmp, 'again.html');
    const b = await runNode([cli, 'report', out, '-o', again]);
    expect(b.code).toBe(0);
    expect(b.stderr).toContain(`wrote ${again}`);
    const second = await open(again);
    try {
      expect(second.problems).toEqual([]);
      expect(second.requests).toEqual([]);
      expect(second.canvases.length).toBe(11);
      for (const c of second.canvases) expect(c.painted, c.id).toBeGreaterThan(500);
      expect(second.text).toContain('Thread pool saturated');
      expect(second.text).toContain(SCRIPT);
    } finally {
      await second.page.close();
    }
  }, 120_000);

  it('uvscope report: usage errors and a file with no uvscope lines', async () => {
    const a = await runNode([cli, 'report', path.join(tmp, 'x.jsonl')]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('-o must name the HTML file');
    const empty = path.join(tmp, 'empty.jsonl');
    fs.writeFileSync(empty, 'hello\n');
    const b = await runNode([cli, 'report', empty, '-o', path.join(tmp, 'e.html')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('holds no uvscope JSON lines');
    const c = await runNode([cli, '--report', '', '--', process.execPath, '-e', '0']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('--report must name a file');
  });
});

/** A LoopStats for synthetic lines: every number `x`. */
function statsOf(timestamp: number, x: number) {
  const d = (v: number) => ({ count: 1, totalMs: v, minMs: v, maxMs: v, meanMs: v, p50Ms: v, p90Ms: v, p99Ms: v, p999Ms: v });
  return { timestamp, windowMs: 1000, iterations: 10, utilization: 0.5, activeMs: 500, idleMs: 500, events: 1, eventsWaiting: 0, busy: d(x), phases: { poll: d(x), pollWait: d(500), check: d(1), timers: d(1) }, handles: { total: 3, active: 3, referenced: 3, byType: { tcp: 2, timer: 1 } }, threadpool: { timestamp: 0, size: 4, started: false, busy: 0, queued: 0, busySource: null, queueWait: d(0), cpuWait: d(0) } };
}

describe('uvscope --report: workers', () => {
  it('gives every worker a section, silent ones from the main thread view, and never calls a frozen or killed-while-busy worker healthy', async () => {
    const html = path.join(tmp, 'threads.html');
    const r = await runNode([cli, '--interval', '200', '--no-summary', '--json', '--out', path.join(tmp, 'threads.jsonl'), '--report', html, '--', process.execPath, path.join(root, 'test', 'fixtures', 'cli-threads.cjs')], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const ids = JSON.parse(r.stdout.trim()) as { parked: number[]; terminated: number; running: number };
    const { page, problems, requests, canvases } = await open(html);
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      const section = async (threadId: number) => page.evaluate((id) => {
        const s = [...document.querySelectorAll('section.thread')].find((e) => e.id.endsWith('t' + id));
        const h = [...document.querySelectorAll('#verdicts h3')].find((e) => e.textContent!.endsWith('worker ' + id));
        const verdicts: string[] = [];
        for (let n = h?.nextElementSibling; n && n.tagName === 'UL'; n = n.nextElementSibling) for (const li of n.querySelectorAll('li')) verdicts.push(li.textContent!);
        return { text: s?.textContent ?? '', verdicts };
      }, threadId);
      for (const id of ids.parked) {
        const s = await section(id);
        expect(s.verdicts.some((v) => v.startsWith('Waiting inside one iteration at the end') && v.includes('futex')), JSON.stringify(s.verdicts)).toBe(true);
        expect(s.verdicts.some((v) => v.startsWith('No long blocking'))).toBe(false);
      }
      const killed = await section(ids.terminated);
      expect(killed.verdicts.some((v) => v.startsWith('Ended inside a long iteration')), JSON.stringify(killed.verdicts)).toBe(true);
      expect(killed.verdicts.some((v) => v.startsWith('No long blocking'))).toBe(false);
      const running = await section(ids.running);
      expect(running.verdicts.some((v) => v.startsWith('Running inside one iteration at the end')), JSON.stringify(running.verdicts)).toBe(true);
      expect(running.verdicts.some((v) => v.startsWith('No long blocking'))).toBe(false);
      // The main thread and the 4 workers each have their charts (at least utilization, phases, p99/max), drawn.
      const perThread = new Map<string, number>();
      for (const c of canvases) perThread.set(c.id.replace(/-[a-z0-9]+$/, ''), (perThread.get(c.id.replace(/-[a-z0-9]+$/, '')) ?? 0) + 1);
      expect(perThread.size).toBe(5);
      for (const n of perThread.values()) expect(n).toBeGreaterThanOrEqual(3);
      for (const c of canvases) expect(c.painted, c.id).toBeGreaterThan(500);
    } finally {
      await page.close();
    }
  }, 120_000);
});

describe('uvscope report: workers that end inside one iteration', () => {
  // The main thread's view of a worker (`thread` lines): seen inside one iteration, then ended.
  function ended(last: { state: 'blocked' | 'running'; cpuMs: number }) {
    const b = new ReportBuilder();
    const base = { uvscope: 1, pid: 3 };
    b.add({ ...base, threadId: 0, type: 'start', ppid: 1, argv: ['node', 'server.js'], node: 'v24', uv: '1', time: 1_000 });
    const kernel = { state: last.state === 'blocked' ? 'sleeping' : 'running', syscall: last.state === 'blocked' ? 'futex' : null, cpuMs: last.cpuMs };
    const stats = { ...statsOf(1000, 0), iterations: 0, utilization: 1, activeMs: 1000, idleMs: 0 };
    b.add({ ...base, threadId: 5, type: 'thread', time: 2_000, stats, total: stats, activity: { state: last.state, iteration: 1, elapsedMs: 900, busyMs: 900, waiting: false, kernel } });
    const end = { ...statsOf(2000, 1500), iterations: 1, utilization: 1, activeMs: 500, idleMs: 0, ended: true };
    b.add({ ...base, threadId: 5, type: 'thread', time: 2_500, stats: end, total: end, activity: { state: 'ended', iteration: null, elapsedMs: 0, busyMs: 1500, waiting: null, kernel: null } });
    return b.data().threads.find((t) => t.threadId === 5)!.verdicts;
  }

  it('a piscina worker parked in Atomics.wait (blocked, little CPU): waiting, not a blocked loop without headroom', () => {
    const verdicts = ended({ state: 'blocked', cpuMs: 120 });
    const parked = verdicts.find((v) => v.title === 'Ended while parked in one iteration');
    expect(parked, JSON.stringify(verdicts)).toMatchObject({ level: 'info' });
    expect(parked!.text).toContain('futex');
    expect(parked!.text).toContain('It used 120 ms of CPU since it started');
    expect(verdicts.map((v) => v.title)).not.toContain('The event loop was blocked');
    expect(verdicts.map((v) => v.title)).not.toContain('The loop had no headroom');
  });

  it('a worker that computed through it (CPU time close to the iteration): a problem', () => {
    const verdicts = ended({ state: 'running', cpuMs: 1400 });
    expect(verdicts.find((v) => v.title === 'Ended inside a long iteration'), JSON.stringify(verdicts)).toMatchObject({ level: 'problem' });
    expect(verdicts.map((v) => v.title)).toContain('The event loop was blocked');
  });
});

describe('uvscope report: stalls', () => {
  it('shows a stall stack (function names as text) on hover over its slow iteration, and its top frame in the verdict', async () => {
    const b = new ReportBuilder();
    const base = { uvscope: 1, pid: 7, threadId: 0 };
    b.add({ ...base, type: 'start', ppid: 1, argv: ['node', 'app.js'], node: 'v22', uv: '1', time: 1_000_000 });
    b.add({ ...base, type: 'timeline', time: 1_000_000, hrOriginUs: 5e9, iterations: [], dropped: 0 });
    for (let i = 1; i <= 5; i++) {
      b.add({ ...base, type: 'window', time: 1_000_000 + i * 1000, stats: statsOf(i * 1000, i === 3 ? 130 : 2), slowest: [], keepAlive: {}, alive: null, final: i === 5 });
      if (i === 3) {
        b.add({ ...base, type: 'timeline', time: 1_003_000, hrOriginUs: 5e9, iterations: [{ index: 40, startMs: 2500, durationMs: 131, busyMs: 130, pollWaitMs: 1, pollMs: 128, checkMs: 1, timersMs: 1, events: 1 }], dropped: 0 });
        b.add({ ...base, type: 'stall', startMs: 2505, blockedMs: 120, phase: 'poll', capture: 'exact', stack: [{ functionName: IMG, url: 'file:///a.js', line: 3, column: 9 }, { functionName: SCRIPT, url: '', line: 1, column: 1 }] });
      }
    }
    const file = path.join(tmp, 'stall.html');
    fs.writeFileSync(file, renderHtml(b.data()));
    const { page, problems, requests, text, injected } = await open(file);
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      expect(injected).toBe(2);
      expect(text).toContain('1 stall captured');
      expect(text).toContain(`Top frames: ${IMG} (a.js:3) (1×, longest 120 ms)`); // as the summary groups them
      const plot = page.locator('[id$="-slow"] .u-over').first();
      await plot.scrollIntoViewIfNeeded();
      const box = (await plot.boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const detail = await page.locator('[id$="-slow"] .detail').first().innerText();
      expect(detail).toContain('130 ms busy of 131 ms');
      expect(detail).toContain('stall: 120 ms in poll');
      expect(detail).toContain(`at ${IMG} (file:///a.js:3:9)`);
      expect(detail).toContain(`at ${SCRIPT}`);
    } finally {
      await page.close();
    }
  }, 60_000);
});

describe('report data', () => {
  it('counts a stall episode once: its at-once line and its final line are one, a frozen one (no final line) still counts', () => {
    const b = new ReportBuilder();
    const base = { uvscope: 1, pid: 3, threadId: 0 };
    const stack = [{ functionName: 'handler', url: '/app/server.js', line: 4, column: 3 }];
    b.add({ ...base, type: 'start', ppid: 1, argv: ['node', 'server.js'], node: 'v22', uv: '1', time: 1_000 });
    const stall = (iteration: number, time: number, busyMs: number | null) =>
      b.add({ ...base, type: 'stall', time, iteration, startMs: time - 1_000, blockedMs: 60, busyMs, phase: busyMs === null ? null : 'poll', capture: 'exact', stack, landedAfterMs: 1, thread: null });
    stall(10, 2_000, null);
    stall(10, 2_000, 230);
    stall(11, 3_000, null);
    stall(11, 3_000, 150);
    stall(12, 4_000, null); // frozen: the program was killed before this iteration ended
    for (let i = 1; i <= 3; i++) b.add({ ...base, type: 'window', time: 1_000 + i * 1000, stats: statsOf(i * 1000, 2), slowest: [], keepAlive: {}, alive: null, final: i === 3 });
    const t = b.data().threads[0]!;
    expect(t.stallsSeen).toBe(3);
    expect(t.stalls).toHaveLength(3);
    const verdict = t.verdicts.find((v) => v.title === '3 stalls captured');
    expect(verdict?.text).toBe('Top frames: handler (server.js:4) (3×, longest 230 ms).');
  });

  it('escapes what could end the data element or read as markup', () => {
    const text = embedJson({ s: '</script><!-- & \u2028\u2029 >' });
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual({ s: '</script><!-- & \u2028\u2029 >' });
  });

  it('stays bounded on a long run: windows merged past MAX_POINTS, slow iterations capped at the slowest SLOW_CAP', () => {
    const b = new ReportBuilder();
    const d = (x: number) => ({ count: 1, totalMs: x, minMs: x, maxMs: x, meanMs: x, p50Ms: x, p90Ms: x, p99Ms: x, p999Ms: x });
    b.add({ uvscope: 1, type: 'start', pid: 1, ppid: 0, threadId: 0, argv: ['node', 'a.js'], node: 'v22', uv: '1', time: 0 });
    const windows = 36_000; // 10 hours of 1 s windows
    for (let i = 1; i <= windows; i++) {
      const stats = { timestamp: i * 1000, windowMs: 1000, iterations: 10, utilization: 0.5, activeMs: 500, idleMs: 500, events: 1, eventsWaiting: 0, busy: d(i === 20_000 ? 900 : 5), phases: { poll: d(300), pollWait: d(500), check: d(100), timers: d(100) }, handles: { total: 3, active: 3, referenced: 3, byType: { tcp: 2, timer: 1 } }, threadpool: { timestamp: 0, size: 4, started: false, busy: 0, queued: 0, busySource: null, queueWait: d(0), cpuWait: d(0) } };
      const slowest = [{ index: i, startMs: i * 1000 - 500, durationMs: 30 + (i % 100), busyMs: 20 + (i % 100), pollWaitMs: 10, pollMs: 20, checkMs: 0, timersMs: 0, events: 1, time: i * 1000 - 500 }];
      b.add({ uvscope: 1, type: 'window', pid: 1, threadId: 0, time: i * 1000, stats, slowest, keepAlive: {}, alive: null, final: false });
    }
    const data = b.data();
    const t = data.threads[0]!;
    expect(t.series.t.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(t.series.t.length).toBeGreaterThan(MAX_POINTS / 2);
    // Merged, the worst iteration is still there.
    expect(Math.max(...t.series.max)).toBe(900);
    expect(t.slow.t.length).toBe(SLOW_CAP);
    expect(t.slow.seen).toBe(windows);
    expect(Math.min(...t.slow.busy)).toBeGreaterThanOrEqual(20 + 99 - Math.ceil((SLOW_CAP * 100) / windows));
    expect(t.verdicts.some((v) => v.title === 'The event loop was blocked' && v.text.includes('900 ms'))).toBe(true);
    expect(t.verdicts.some((v) => v.title === 'Busy time went to poll' && v.text.includes('60%'))).toBe(true);
    const html = renderHtml(data);
    expect(html.length).toBeLessThan(1_000_000);
  });
});
