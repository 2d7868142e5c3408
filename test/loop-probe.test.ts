import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';
import { uvscope } from './helpers/uvscope.js';

function kernelClocksource(): string | null {
  try {
    return readFileSync('/sys/devices/system/clocksource/clocksource0/current_clocksource', 'utf8').trim();
  } catch {
    return null;
  }
}

describe('how the loop probe measures', () => {
  it('says which clock and which pollWait read it uses, and verifies the direct read on a running loop', async () => {
    const result = await runScript(`
      const { runtime } = require('uvscope');
      const first = runtime().pollWaitSource;
      let n = 0;
      const spin = () => (++n < 20 ? setImmediate(spin) : setTimeout(() => console.log(JSON.stringify({ first, later: runtime() })), 20));
      setImmediate(spin);
    `);
    expect(result.stderr).toBe('');
    const { first, later } = JSON.parse(result.stdout);
    expect(first).toBe('verifying'); // nothing is trusted before the loop has run
    // On x64 Linux (every layout uvscope knows) the in-place read must pass its check.
    if (process.arch === 'x64' && process.platform === 'linux') expect(later.pollWaitSource).toBe('direct');
    else expect(['direct', 'locked']).toContain(later.pollWaitSource);
    // The counter exactly where the kernel's clocksource is that counter (under qemu-user
    // /sys is the host's: an arm64 Node there reads 'tsc' and must use uv_hrtime()).
    const counter = process.arch === 'x64' ? 'tsc' : process.arch === 'arm64' ? 'arch_sys_counter' : null;
    const expected = process.arch === 'x64' ? 'tsc' : 'cntvct';
    expect(later.loopClock).toBe(counter !== null && kernelClocksource() === counter ? expected : 'hrtime');
  });

  it('puts iteration times on the performance.now() time base', async () => {
    // A timer callback notes performance.now() on entry, then blocks: its iteration's
    // timers phase starts (end of check) just before that moment.
    const result = await runScript(`
      const { iterations } = require('uvscope');
      const stream = iterations({ minBusyMs: 20, ref: true });
      let enteredMs = 0;
      setTimeout(() => {
        enteredMs = performance.now();
        const end = enteredMs + 30; while (performance.now() < end);
      }, 20);
      stream.next().then(({ value }) => { console.log(JSON.stringify({ enteredMs, record: value })); return stream.return(); });
    `);
    expect(result.stderr).toBe('');
    const { enteredMs, record } = JSON.parse(result.stdout);
    const checkEndMs = record.startMs + record.pollWaitMs + record.pollMs + record.checkMs;
    expect(enteredMs).toBeGreaterThanOrEqual(checkEndMs - 0.05);
    expect(enteredMs).toBeLessThan(checkEndMs + 3); // libuv and Node's RunTimers before the callback
    expect(record.startMs + record.durationMs).toBeGreaterThan(enteredMs + 29);
  });

  it('reads the same numbers the loop thread recorded, in one call per read', () => {
    const stats = uvscope.loopStats();
    for (const phase of ['poll', 'pollWait', 'check', 'timers'] as const) {
      expect(stats.phases[phase].count).toBe(stats.iterations);
    }
    expect(stats.busy.count).toBe(stats.iterations);
  });
});
