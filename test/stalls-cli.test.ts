// The CLI's stall capture (--stall-ms, default 50): 'stall' lines, the summary's groups by
// the first user frame, and the stall of each slowest iteration in the summary JSON; a
// frozen program is shown frozen with its stack while it is frozen.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { cli, fixture, runCliJson } from './helpers/cli.js';
import { root } from './helpers/uvscope.js';

interface StallLineShape {
  type: 'stall';
  threadId: number;
  iteration: number;
  capture: string;
  busyMs: number | null;
  stack: { functionName: string; url: string; line: number }[] | null;
  thread: { state: string; syscall: string | null } | null;
}

describe('CLI stall capture', () => {
  it('writes a stall line per episode, groups them in the summary, and attaches them to the slowest iterations', async () => {
    const { code, lines, summary, stderr } = await runCliJson<{
      threads: { threadId: number; stalls: { where: string; count: number; longestMs: number }[]; slowest: { index: number; busyMs: number; stall: StallLineShape | null }[] }[];
    }>(['--', process.execPath, fixture('stalls-cli.cjs')]);
    expect(code).toBe(0);
    const stalls = lines.filter((l) => l.type === 'stall') as unknown as StallLineShape[];
    const finals = stalls.filter((s) => s.busyMs !== null);
    expect(finals).toHaveLength(3);
    for (const s of finals) {
      expect(s.capture).toBe('exact');
      expect(s.stack![0]).toMatchObject({ functionName: 'handler', line: 4 });
    }
    const main = summary.threads.find((t) => t.threadId === 0)!;
    expect(main.stalls).toEqual([{ where: 'handler (stalls-cli.cjs:4)', count: 3, longestMs: expect.any(Number), inside: [] }]);
    expect(main.stalls[0]!.longestMs).toBeGreaterThanOrEqual(145);
    const slow = main.slowest.filter((s) => s.busyMs >= 145);
    expect(slow).toHaveLength(3);
    for (const s of slow) expect(s.stall?.stack?.[0]?.functionName).toBe('handler');
    expect(stderr).toMatch(/stalls[^\n]*\n\s+handler \(stalls-cli\.cjs:4\) × 3, longest \d+ms/);
    // No thread of uvscope's own (the capture worker) is reported.
    expect(summary.threads.map((t) => t.threadId)).toEqual([0]);
  });

  it('a frozen program: its stall line, with the stack, is written while it is frozen', async () => {
    const { line, stop } = await whileFrozen('freeze', () => true);
    expect(line).toMatchObject({ threadId: 0, busyMs: null });
    // exact on a quiet machine; a loaded one (or a sanitizer build) can take longer to land.
    expect(['exact', 'deferred']).toContain(line.capture);
    expect(line.stack![0]).toMatchObject({ functionName: 'frozen', line: 7 });
    expect(await stop()).toBe(143);
  });
});

describe('CLI stall capture: a frozen worker', () => {
  it('its stall line (thread state, no stack) is written while it is frozen, and the program stops as it would', async () => {
    const { line, stop } = await whileFrozen('freeze-worker', (l) => l.threadId !== 0);
    // Its iteration has not ended (and never will): the line is the at-once one.
    expect(line).toMatchObject({ busyMs: null, capture: 'unavailable', stack: null });
    if (process.platform === 'linux') expect(line.thread?.state).toBe('running');
    expect(await stop()).toBe(143);
  });
});

/**
 * Runs `uvscope --out <file> -- node stalls-cli.cjs <mode>` and resolves with the first stall
 * line `pick` accepts, read from the file while the program is still frozen; `stop()` sends
 * SIGTERM (no handler runs while frozen: it dies) and resolves with the exit code.
 */
async function whileFrozen(mode: string, pick: (line: StallLineShape) => boolean): Promise<{ line: StallLineShape; stop: () => Promise<number | null> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-frozen-'));
  const out = path.join(dir, 'out.jsonl');
  const child = spawn(process.execPath, [cli, '--out', out, '--', process.execPath, fixture('stalls-cli.cjs'), mode], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const stop = async () => {
    child.kill('SIGTERM');
    const code = await exited;
    fs.rmSync(dir, { recursive: true, force: true });
    return code;
  };
  try {
    const line = await new Promise<StallLineShape>((resolve, reject) => {
      const deadline = Date.now() + 20_000;
      const look = () => {
        const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
        const found = text.split('\n').filter((l) => l.includes('"type":"stall"')).map((l) => JSON.parse(l) as StallLineShape).find(pick);
        if (found !== undefined) resolve(found);
        else if (Date.now() > deadline) reject(new Error(`no stall line: ${text.slice(-500)}`));
        else setTimeout(look, 50);
      };
      look();
    });
    return { line, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

describe('live view: a frozen loop', () => {
  it('shows "blocked <time> in <frames>" while the stall has not ended, nothing once it has', async () => {
    const { loadInternal } = await import('./helpers/uvscope.js');
    const { Run } = loadInternal<typeof import('../lib/cli/model.js')>('cli/model.js');
    const { renderLive } = loadInternal<typeof import('../lib/cli/render.js')>('cli/render.js');
    const start = 1_700_000_000_000;
    const run = new Run(start);
    const stall = {
      uvscope: 1, type: 'stall', pid: 42, threadId: 0, time: start + 1000, iteration: 7, startMs: 900, blockedMs: 60,
      busyMs: null, phase: null, capture: 'exact', landedAfterMs: 1, thread: { state: 'running', syscall: null },
      stack: [
        { functionName: 'frozen', url: '/app/server.js', line: 42, column: 3 },
        { functionName: 'onRequest', url: '/app/server.js', line: 10, column: 5 },
        { functionName: 'emit', url: 'node:events', line: 519, column: 28 },
      ],
    };
    run.add(stall);
    const text = renderLive(run, { width: 120, now: start + 4200, command: ['node', 'server.js'], color: false }).join('\n');
    expect(text).toMatch(/blocked +3\.26s in frozen \(server\.js:42\) ← onRequest \(server\.js:10\)/);
    run.add({ ...stall, time: start + 5000, busyMs: 4000, blockedMs: 4000, phase: 'poll' });
    const after = renderLive(run, { width: 120, now: start + 5200, command: ['node', 'server.js'], color: false }).join('\n');
    expect(after).not.toMatch(/blocked/);
  });
});

describe('CLI stall groups', () => {
  it('groups stalls by the first user frame: one builtin is named in front, several after', async () => {
    const { loadInternal } = await import('./helpers/uvscope.js');
    const { addStall, emptyStallState, stallGroups, stallSummaryLines } = loadInternal<typeof import('../lib/cli/stalls.js')>('cli/stalls.js');
    const state = emptyStallState();
    const handler = { functionName: 'handler', url: '/app/app.js', line: 6, column: 3 };
    const reader = { functionName: 'readConfig', url: '/app/config.js', line: 2, column: 9 };
    let iteration = 0;
    const add = (stack: { functionName: string; url: string; line: number; column: number }[], busyMs: number) =>
      addStall(state, { uvscope: 1, type: 'stall', pid: 1, time: 0, threadId: 0, iteration: ++iteration, startMs: 0, blockedMs: busyMs, busyMs, phase: 'poll', capture: 'exact', stack, landedAfterMs: 1, thread: null });
    for (const inner of ['update', 'digest', 'update', 'createHash', 'repeat']) add([{ functionName: inner, url: 'node:internal/crypto/hash', line: 1, column: 1 }, handler], 80);
    add([handler], 120);
    add([{ functionName: 'readFileSync', url: 'node:fs', line: 1, column: 1 }, reader], 300);
    add([{ functionName: 'readFileSync', url: 'node:fs', line: 1, column: 1 }, reader], 200);
    const groups = stallGroups(state);
    expect(groups).toEqual([
      { where: 'handler (app.js:6)', count: 6, longestMs: 120, inside: ['update', 'digest', 'createHash', 'repeat'] },
      { where: 'readFileSync ← readConfig (config.js:2)', count: 2, longestMs: 300, inside: ['readFileSync'] },
    ]);
    expect(stallSummaryLines(state, (v) => `${v}ms`)).toEqual([
      '    handler (app.js:6) × 6, longest 120ms (in update, digest, createHash, …)',
      '    readFileSync ← readConfig (config.js:2) × 2, longest 300ms',
    ]);
  });

  it("never names uvscope's own code as the user's: its frames are skipped, and a stack of only its frames and Node's says so", async () => {
    const { loadInternal, dist } = await import('./helpers/uvscope.js');
    const { addStall, emptyStallState, stallGroups } = loadInternal<typeof import('../lib/cli/stalls.js')>('cli/stalls.js');
    const state = emptyStallState();
    // As captured on an express server: the stall was detected as pbkdf2Sync returned, and
    // the stack landed in the microtask uvscope's pool tracking runs after a crypto call.
    const settle = { functionName: 'settleCrypto', url: `${dist}/threadpool.js`, line: 53, column: 26 };
    const microtask = { functionName: 'runMicrotask', url: 'node:internal/process/task_queues', line: 137, column: 8 };
    const handler = { functionName: 'handler', url: 'file:///app/server.js', line: 12, column: 5 };
    addStall(state, { uvscope: 1, type: 'stall', pid: 1, time: 0, threadId: 0, iteration: 1, startMs: 0, blockedMs: 57, busyMs: 57, phase: 'poll', capture: 'exact', stack: [settle, microtask], landedAfterMs: 1, thread: { state: 'running', syscall: null } });
    addStall(state, { uvscope: 1, type: 'stall', pid: 1, time: 0, threadId: 0, iteration: 2, startMs: 0, blockedMs: 90, busyMs: 90, phase: 'poll', capture: 'exact', stack: [settle, handler], landedAfterMs: 1, thread: null });
    expect(stallGroups(state).map((g) => g.where)).toEqual([
      'settleCrypto ← handler (server.js:12)',
      "(no frame of yours: the stack was taken after the block, in uvscope's own code, running)",
    ]);
  });
});
