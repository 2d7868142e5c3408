// `busy` counts a pool thread blocked on a lock inside its work as busy. Idle pool threads
// are told by the futex key of the pool's condition variable, learned from what the pool's
// threads wait on. A key two threads share can be a lock: CI's sanitizer build once learned
// an allocator lock that way (three threads inside it at the first look) and read `busy` 1
// of 4 from then on. Now, once every pool thread is known, the key is the one all of them
// wait on at once, which a lock held by one of them never is.
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildAddon } from './helpers/build-addon.js';
import { runNode } from './helpers/child.js';
import { root } from './helpers/uvscope.js';

const named = (uv: string) => {
  const [major, minor] = uv.split('.').map(Number);
  return major! > 1 || minor! >= 50; // libuv names its pool threads from 1.50
};

describe('thread pool: threads waiting on a lock', () => {
  it('are busy, even when the pool is first looked at while they wait', async () => {
    const addon = buildAddon(path.join(root, 'test', 'fixtures', 'pool-lock', 'pool-lock.c'));
    const { code, stdout, stderr } = await runNode([path.join(root, 'test', 'fixtures', 'pool-lock.cjs'), addon], { env: { UV_THREADPOOL_SIZE: '4' } });
    expect(code, stderr).toBe(0);
    const { reads, uv } = JSON.parse(stdout.trim()) as { reads: (number | null)[]; uv: string };
    const [first, idle, again] = reads;
    // Never a count that is wrong: all four are at work in both contended reads.
    expect([null, 4], JSON.stringify(reads)).toContain(first);
    expect([null, 0], JSON.stringify(reads)).toContain(idle);
    expect([null, 4], JSON.stringify(reads)).toContain(again);
    if (named(uv)) {
      // Every pool thread is known by name: the idle read learns the key, and from then on
      // the counts are exact.
      expect(reads.slice(1)).toEqual([0, 4]);
    }
  });
});
