// What users hit in the field with the CLI's output: JSON lines in the program's own
// stderr, lines cut at 80 columns where nothing wraps them.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from './helpers/child.js';
import { cli, fixture, runCliJson } from './helpers/cli.js';
import { root } from './helpers/uvscope.js';

describe('output without a terminal', () => {
  it("no --json: nothing between the halves of the program's partial stderr line; only the summary after it", async () => {
    const { code, stderr } = await runNode([cli, '--interval', '100', '--', process.execPath, fixture('cli-partial.cjs')]);
    expect(code).toBe(0);
    expect(stderr.startsWith(`progress ${'.'.repeat(20)} done\n`)).toBe(true);
    expect(stderr).not.toMatch(/"uvscope":1/);
    expect(stderr).toMatch(/\nuvscope summary · /);
  });

  it('--json: the JSON lines on stderr, whole lines', async () => {
    const { code, stderr } = await runNode([cli, '--json', '--interval', '100', '--', process.execPath, fixture('cli-exit.cjs'), 'code', '0']);
    expect(code).toBe(0);
    const json = stderr.split('\n').filter((l) => l.startsWith('{"uvscope":1,'));
    expect(json.some((l) => (JSON.parse(l) as { type: string }).type === 'summary')).toBe(true);
  });

  it('the summary is not cut at 80 columns when stderr is a pipe', async () => {
    const long = 'an-argument-long-enough-to-push-the-command-line-well-past-eighty-columns';
    const { code, stderr } = await runNode([cli, '--', process.execPath, fixture('cli-exit.cjs'), 'code', '0', long]);
    expect(code).toBe(0);
    const header = stderr.split('\n').find((l) => l.startsWith('uvscope summary · '))!;
    expect(header.length).toBeGreaterThan(80);
    expect(header.endsWith(long)).toBe(true);
  });
});

describe("the README's first example", () => {
  it('runs as a script on its own: windows arrive, no silent exit 13', async () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const block = /```js\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(block).toMatch(/for await \(const stats of watch\(/);
    // `report` is the reader's; here it prints and ends the run after two windows.
    const source =
      block.replace(/intervalMs: 1000/, 'intervalMs: 100') +
      '\nfunction report(s) { console.log(`window ${Math.round(s.windowMs)}`); if ((globalThis.seen = (globalThis.seen ?? 0) + 1) === 2) process.exit(0); }\n';
    const file = path.join(root, `readme-example-${process.pid}.mjs`);
    fs.writeFileSync(file, source);
    try {
      const { code, stdout } = await runNode([file]);
      expect(code).toBe(0);
      expect(stdout.trim().split('\n').filter((l) => /^window \d+$/.test(l))).toHaveLength(2);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});

describe("the handles row agrees with what keeps the loop alive", () => {
  it("a program kept alive by one JS timer shows it ref'd, not `0 ref'd`", async () => {
    const { code, lines } = await runCliJson(['--interval', '200', '--', process.execPath, '-e', 'setTimeout(() => {}, 1500)']);
    expect(code).toBe(0);
    type W = { type: string; threadId: number; final: boolean; keepAlive: Record<string, number>; stats: { handles: { referenced: number; active: number } } };
    const windows = (lines as unknown as W[]).filter((l) => l.type === 'window' && l.threadId === 0 && !l.final);
    expect(windows.length).toBeGreaterThanOrEqual(4);
    for (const w of windows) {
      expect(w.keepAlive['Timeout']).toBe(1);
      expect(w.stats.handles.referenced).toBe(1);
    }
  });

  it("an unref'd timer alone adds an active handle, not a ref'd one", async () => {
    const { outsideOwnTimer } = await import('../lib/cli/reporter.js');
    const h = { total: 8, active: 5, referenced: 0, byType: { timer: 1 } };
    expect(outsideOwnTimer(h, {})).toEqual({ ...h, active: 6, referenced: 0 });
    expect(outsideOwnTimer(h, { Timeout: 3, TCPServerWrap: 1 })).toEqual({ ...h, active: 6, referenced: 1 });
  });
});

describe('connections grouped like a server', () => {
  it("a node:cluster worker's accepted connections: `tcp 127.0.0.1:<port> <- client x13`", async () => {
    const { code, lines } = await runCliJson(['--interval', '200', '--', process.execPath, fixture('cli-cluster.cjs')]);
    expect(code).toBe(0);
    type Start = { type: 'start'; pid: number; ppid: number; threadId: number };
    type W = { type: 'window'; pid: number; threadId: number; alive: { named: { name: string; count: number }[] } | null };
    const starts = (lines as unknown as Start[]).filter((l) => l.type === 'start' && l.threadId === 0);
    const primary = starts.find((s) => !starts.some((o) => o.pid === s.ppid))!;
    const worker = starts.find((s) => s.ppid === primary.pid)!;
    expect(worker).toBeDefined();
    const named = (lines as unknown as W[])
      .filter((l) => l.type === 'window' && l.pid === worker.pid && l.alive !== null)
      .flatMap((l) => l.alive!.named);
    expect(named).toContainEqual({ name: expect.stringMatching(/^tcp 127\.0\.0\.1:\d+ <- client$/) as unknown as string, count: 13 });
  });

  it('outgoing connections to one backend stay grouped by the backend', async () => {
    const { aliveLine } = await import('../lib/cli/reporter.js');
    const tcp = (localPort: number, remote: string, remotePort: number) => ({
      type: 'tcp', listening: false, local: { address: '10.0.0.1', family: 'IPv4', port: localPort }, remote: { address: remote, family: 'IPv4', port: remotePort },
    });
    const report = { handles: [tcp(40001, '10.0.0.5', 5432), tcp(40002, '10.0.0.5', 5432), tcp(40003, '10.0.0.5', 5432)], activeRequests: 0 };
    expect(aliveLine(report as never).named).toEqual([{ name: 'tcp -> 10.0.0.5:5432', count: 3 }]);
  });
});

describe('thread names end to end', () => {
  it('a worker is named by its script and the process by its Node flags', async () => {
    const { code, stdout, stderr } = await runNode([cli, '--interval', '100', '--', process.execPath, '--no-warnings', fixture('cli-worker-script.cjs')]);
    expect(code).toBe(0);
    // Its own threadId (the stall capture worker, started first, takes one too).
    const id = /worker threadId (\d+)/.exec(stdout)![1];
    expect(stderr).toContain(`worker ${id} (cli-worker-script.cjs)`);
    // The main thread is detailed only when its slowest iteration reached 10 ms (its start-up
    // usually does; a fast start lists it under "also observed"): either way, named by its flags.
    expect(stderr).toMatch(/^\s*pid \d+: (?:\d+ iterations.* · )?node --no-warnings \S*cli-worker-script\.cjs$/m);
  });
});
