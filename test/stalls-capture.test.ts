// stalls(): each blocking kind is detected and its stack captured while it blocks, classified
// as the design facts say it lands (STALLS.md): JavaScript and Atomics.wait at once (exact),
// fs/child_process sync calls when they return (deferred, caller kept), plus the system call
// the thread was in.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runNode } from './helpers/child.js';
import { fixture } from './helpers/cli.js';
import type { StallRecord } from '../lib/types.js';

const linux = process.platform === 'linux';

async function records(kind: string, ...args: string[]): Promise<StallRecord[]> {
  const result = await runNode([fixture('stalls-kinds.cjs'), kind, ...args], { timeoutMs: 30_000 });
  if (process.env.DEBUG_STALLS) console.log(result);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const parsed = result.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as StallRecord | { ready: number });
  const ready = parsed.find((l): l is { ready: number } => 'ready' in l)!.ready;
  expect(ready).toBeGreaterThan(0);
  return parsed.filter((l): l is StallRecord => !('ready' in l) && l.iteration > ready);
}

const names = (r: StallRecord) => (r.stack ?? []).map((f) => f.functionName);
const fixtureFrame = (r: StallRecord, fn: string) =>
  (r.stack ?? []).find((f) => f.functionName === fn && f.url.endsWith('stalls-kinds.cjs'));

describe('stalls(): capture by blocking kind', () => {
  let dir: string;
  let big: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-stalls-'));
    big = path.join(dir, 'big.bin');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a JavaScript busy loop: exact, the top frame is the loop in spinLoop with its line', async () => {
    const got = await records('spin');
    expect(got).toHaveLength(2);
    for (const r of got) {
      expect(r).toMatchObject({ threadId: 0, capture: 'exact' });
      expect(r.stack![0]).toMatchObject({ functionName: 'spinLoop', line: 13 });
      expect(r.landedAfterMs).toBeLessThanOrEqual(20);
      expect(r.busyMs).toBeGreaterThanOrEqual(240);
      expect(r.blockedMs).toBeGreaterThanOrEqual(50);
      expect(r.blockedMs).toBeLessThanOrEqual(r.busyMs!);
      expect(r.phase).toBe('timers');
      if (linux) expect(r.thread).toMatchObject({ state: 'running', syscall: null });
    }
  });

  it('Atomics.wait: exact, Atomics.wait inside atomicsBlock, blocked in futex', async () => {
    const got = await records('atomics');
    expect(got).toHaveLength(2);
    for (const r of got) {
      expect(r.capture).toBe('exact');
      expect(r.stack![0]!.functionName).toBe('wait');
      expect(fixtureFrame(r, 'atomicsBlock')).toMatchObject({ line: 17 });
      if (linux) expect(r.thread).toEqual({ state: 'sleeping', syscall: 'futex' });
    }
  });

  it.runIf(linux)('readFileSync of a large file not in the page cache: the caller kept, the thread state read', async () => {
    // 256 MB written and dropped from the page cache (dd's nocache: posix_fadvise DONTNEED).
    // On this VM's disk most of the block is on a CPU (page faults, copies): the kernel
    // names no system call for a thread on a CPU, so only the state is asserted here.
    execFileSync('dd', ['if=/dev/zero', `of=${big}`, 'bs=1M', 'count=256', 'conv=fdatasync', 'status=none']);
    execFileSync('dd', [`if=${big}`, 'iflag=nocache', 'count=0', 'status=none']);
    const got = await records('readfile', '50', big);
    expect(got.length).toBeGreaterThanOrEqual(1);
    for (const r of got) {
      expect(['exact', 'deferred']).toContain(r.capture);
      expect(names(r)).toContain('readFileSync');
      expect(fixtureFrame(r, 'readBigFile')).toMatchObject({ line: 20 });
      expect(r.thread).not.toBeNull();
    }
  });

  it.runIf(linux)('readFileSync of a file whose data comes slowly (a FIFO): deferred, the caller kept, blocked in read', async () => {
    const fifo = path.join(dir, 'slow.fifo');
    execFileSync('mkfifo', [fifo]);
    // One writer: it opens the FIFO (waiting for the reader), then writes 8 MB after 400 ms.
    // (Two writers in turn raced: the second could open before the first read saw EOF.)
    const writer = `(sleep 0.4; head -c 8388608 /dev/zero) > ${fifo}`;
    const feeder = (await import('node:child_process')).spawn('sh', ['-c', writer], { stdio: 'ignore' });
    try {
      const got = await records('readfifo', '50', fifo);
      expect(got).toHaveLength(1);
      const r = got[0]!;
      expect(r.capture).toBe('deferred');
      expect(names(r)).toContain('readFileSync');
      expect(fixtureFrame(r, 'readBigFile')).toMatchObject({ line: 20 });
      // Blocked in read (sleeping), or runnable inside it waiting for a CPU once data came.
      expect(r.thread!.syscall).toBe('read');
      expect(['sleeping', 'running']).toContain(r.thread!.state);
    } finally {
      feeder.kill();
    }
  });

  it('execSync("sleep 0.3"): deferred, execSync inside runSleep, blocked in the nested loop\'s wait', async () => {
    const got = await records('exec');
    expect(got).toHaveLength(2);
    for (const r of got) {
      expect(r.capture).toBe('deferred');
      expect(r.landedAfterMs).toBeGreaterThan(20);
      expect(names(r)).toContain('execSync');
      expect(fixtureFrame(r, 'runSleep')).toMatchObject({ line: 23 });
      expect(r.busyMs).toBeGreaterThanOrEqual(290);
      if (linux) expect(r.thread!.syscall).toMatch(/^(epoll_wait|epoll_pwait|epoll_pwait2|wait4|waitid)$/);
    }
  });

  it('an idle loop and blocks under the threshold give no record', async () => {
    expect(await records('idle')).toEqual([]);
    expect(await records('short', '120')).toEqual([]);
  });
});
