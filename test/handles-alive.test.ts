import { describe, expect, it } from 'vitest';

import type { HandleInfo } from '../lib/types.js';
import { runNode, runScript } from './helpers/child.js';

describe('whyAlive()', () => {
  it('finds a ref\'d raw handle that no JavaScript listing shows (c-ares\'s poll handle)', async () => {
    // A DNS query to a server that never answers: c-ares opens a UDP socket and watches it
    // with a raw uv_poll handle (and a timer) that Node wraps in no JavaScript object.
    const result = await runNode(['test/fixtures/handles-cares.cjs'], { timeoutMs: 30_000 });
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as { after: string[]; handles: string[]; alive: HandleInfo[]; str: string };
    const poll = out.alive.find((h) => h.type === 'poll');
    expect(poll).toMatchObject({ active: true, referenced: true });
    expect(poll?.fd).toBeGreaterThan(2);
    expect(out.after.some((name) => /poll|ares|dns/i.test(name))).toBe(false);
    expect(out.handles).toEqual([]);
    expect(out.str).toContain(`poll fd ${poll?.fd}`);
  });

  // Checked from a timer callback: inside a setImmediate callback Node's own idle handle is
  // still active (it is stopped after the immediate queue drains), which whyAlive() shows.
  it('says nothing keeps the loop alive once everything is closed, and the process exits', async () => {
    const result = await runScript(`
      const net = require('node:net');
      const { whyAlive } = require('uvscope');
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const during = whyAlive();
        server.close(() => setTimeout(() => {
          const after = whyAlive();
          process.stderr.write(JSON.stringify({ during: String(during), duringAlive: during.alive, after: String(after), afterAlive: after.alive, json: JSON.parse(JSON.stringify(after)) }));
        }, 0));
      });
    `, { timeoutMs: 20_000 });
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stderr);
    expect(out.duringAlive).toBe(true);
    expect(out.during).toMatch(/tcp server 127\.0\.0\.1:\d+/);
    expect(out.afterAlive).toBe(false);
    expect(out.after).toMatch(/^nothing keeps the loop alive/);
    expect(out.json).toMatchObject({ alive: false, handles: [], activeRequests: 0 });
  });

  it('counts requests in flight', async () => {
    const result = await runScript(`
      const { whyAlive } = require('uvscope');
      require('node:fs').stat(__filename, () => {});
      const report = whyAlive();
      process.stderr.write(JSON.stringify({ requests: report.activeRequests, text: String(report), node: report.nodeResources }));
    `);
    const out = JSON.parse(result.stderr);
    expect(out.requests).toBeGreaterThanOrEqual(1);
    expect(out.text).toMatch(/\d+ active requests?/);
    expect(out.node.FSReqCallback).toBe(1);
  });
});
