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

  // Checked from the close callback: inside a setImmediate callback Node's own idle handle is
  // still active (it is stopped after the immediate queue drains), and inside a timer
  // callback Node counts the running timer among its resources; whyAlive() shows both.
  it('says nothing keeps the loop alive once everything is closed, and the process exits', async () => {
    const result = await runScript(`
      const net = require('node:net');
      const { whyAlive } = require('uvscope');
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const during = whyAlive();
        server.close(() => {
          const after = whyAlive();
          process.stderr.write(JSON.stringify({ during: String(during), duringAlive: during.alive, after: String(after), afterAlive: after.alive, json: JSON.parse(JSON.stringify(after)) }));
        });
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

  it('inside a timer callback, sees Node\'s timer handle stopped and the JavaScript timers in nodeResources', async () => {
    const result = await runScript(`
      const { whyAlive } = require('uvscope');
      setTimeout(() => {
        const inTimer = whyAlive();
        setImmediate(() => {
          const inImmediate = whyAlive();
          const pick = (r) => ({ alive: r.alive, timers: r.handles.filter((h) => h.type === 'timer').length, node: r.nodeResources, text: String(r) });
          process.stderr.write(JSON.stringify({ inTimer: pick(inTimer), inImmediate: pick(inImmediate) }));
        });
      }, 5);
      setTimeout(() => {}, 300);
    `);
    const out = JSON.parse(result.stderr);
    expect(out.inTimer.timers).toBe(0); // libuv stops a timer before its callback; Node re-arms it after
    expect(out.inTimer.node.Timeout).toBe(2); // the pending 300 ms timer and the running one
    expect(out.inTimer.alive).toBe(false);
    expect(out.inTimer.text).toBe("no active ref'd handle or request (0 handles, 0 requests) | Node: Timeout x2");
    expect(out.inImmediate.timers).toBe(1);
    expect(out.inImmediate.alive).toBe(true);
    expect(out.inImmediate.node.Timeout).toBe(1);
    expect(out.inImmediate.text).toMatch(/timer due in \d+ ms/);
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
