import { describe, expect, it } from 'vitest';

import type { HandleInfo, HandleOrigin } from '../lib/types.js';
import { runNode, runScript } from './helpers/child.js';

interface Out {
  refusedCode: string | null;
  text: string;
  handles: HandleInfo[];
  plainHasCreatedAt: boolean;
  earlyPort: number;
  serverPort: number;
  clientPort: number;
  childPid: number;
}

const top = (origins: HandleOrigin[] | undefined) => origins?.[0]?.stack[0];

describe('whyAlive({ stacks: true }) with trackHandles()', () => {
  it('names the function and line where each handle that keeps the loop alive was created', async () => {
    const result = await runNode(['test/fixtures/handles-origins.cjs'], { timeoutMs: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as Out;
    expect(out.refusedCode).toBe('ERR_UVSCOPE_HANDLE_TRACKING_OFF');
    expect(out.plainHasCreatedAt).toBe(false);
    const fixture = /handles-origins\.cjs$/;
    const tcp = out.handles.filter((h): h is Extract<HandleInfo, { type: 'tcp' }> => h.type === 'tcp');
    const server = tcp.find((h) => h.listening && h.local?.port === out.serverPort);
    expect(top(server?.createdAt)).toMatchObject({ functionName: 'startServer', url: expect.stringMatching(fixture), line: 22 });
    expect(server?.createdAt?.[0]?.resource).toBe('TCPSERVERWRAP');
    // listen() with a host looks it up first (a tick for an IP): the handle is made in that
    // callback, and the stack is the one of the call that scheduled it.
    expect(server?.createdAt?.[0]?.via).toBe('TickObject');
    const client = tcp.find((h) => !h.listening && h.local?.port === out.clientPort);
    expect(top(client?.createdAt)).toMatchObject({ functionName: 'connectClient', line: 34 });
    expect(client?.createdAt?.[0]?.via).toBeNull();
    const accepted = tcp.find((h) => !h.listening && h.remote?.port === out.clientPort);
    expect(accepted?.createdAt?.[0]).toMatchObject({ resource: 'TCPWRAP', via: 'TCPSERVERWRAP' });
    expect(top(accepted?.createdAt)).toMatchObject({ functionName: 'startServer', line: 22 });
    // Created before tracking began: honestly unknown.
    const early = tcp.find((h) => h.listening && h.local?.port === out.earlyPort);
    expect(early?.createdAt).toEqual([]);
    const timer = out.handles.find((h) => h.type === 'timer');
    expect(timer?.createdAt?.map((o) => o.stack[0]?.functionName)).toContain('startHeartbeat');
    const child = out.handles.find((h) => h.type === 'process' && h.pid === out.childPid);
    expect(top(child?.createdAt)).toMatchObject({ functionName: 'startChild', line: 28 });
    const watcher = out.handles.find((h) => h.type === 'fs_event');
    expect(top(watcher?.createdAt)).toMatchObject({ functionName: 'startWatcher', line: 31 });
    // No frame of Node's or uvscope's own where the application's exist.
    for (const h of out.handles) for (const o of h.createdAt ?? []) for (const f of o.stack) expect(f.url).toMatch(fixture);
    expect(out.text).toMatch(/tcp server 127\.0\.0\.1:\d+ \(created at startServer \(.*handles-origins\.cjs:22:\d+\)\)/);
    expect(out.text).toMatch(/tcp server \[::\]:\d+ \(created: not seen\)/);
    expect(out.text).toMatch(/\(accepted by a server created at startServer \(/);
  });

  it('validates its argument, and turning tracking off forgets what was kept', async () => {
    const result = await runScript(`
      const net = require('node:net');
      const { trackHandles, whyAlive } = require('uvscope');
      const codes = [];
      for (const bad of ['yes', 1, null]) {
        try { trackHandles(bad); } catch (e) { codes.push(e.name + ':' + e.code + ':' + /enabled/.test(e.message)); }
      }
      try { whyAlive({ stacks: 'yes' }); } catch (e) { codes.push(e.name + ':' + e.code); }
      trackHandles();
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const on = whyAlive({ stacks: true }).handles.find((h) => h.type === 'tcp');
        trackHandles(false);
        let off = null;
        try { whyAlive({ stacks: true }); } catch (e) { off = e.code; }
        trackHandles(true);
        const again = whyAlive({ stacks: true }).handles.find((h) => h.type === 'tcp');
        process.stdout.write(JSON.stringify({ codes, on: on.createdAt.length, off, again: again.createdAt.length }));
        server.close();
      });
    `);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      codes: [
        'TypeError:ERR_UVSCOPE_INVALID_ARG_TYPE:true',
        'TypeError:ERR_UVSCOPE_INVALID_ARG_TYPE:true',
        'TypeError:ERR_UVSCOPE_INVALID_ARG_TYPE:true',
        'TypeError:ERR_UVSCOPE_INVALID_ARG_TYPE',
      ],
      on: 1,
      off: 'ERR_UVSCOPE_HANDLE_TRACKING_OFF',
      again: 0,
    });
  });

  it('keeps no entry for closed handles and ended timers (the table follows the live ones)', async () => {
    const result = await runScript(`
      const net = require('node:net');
      const { trackHandles, whyAlive } = require('uvscope');
      trackHandles();
      let n = 0;
      const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1', function churn() {
        if (n++ === 3000) {
          setTimeout(() => {
            globalThis.gc?.();
            const report = whyAlive({ stacks: true });
            const tcp = report.handles.filter((h) => h.type === 'tcp');
            process.stdout.write(JSON.stringify({ tcp: tcp.length, origins: tcp.map((h) => h.createdAt.length) }));
            server.close();
          }, 50);
          return;
        }
        setTimeout(() => {}, 0);
        const c = net.connect(server.address().port, '127.0.0.1', () => c.destroy());
        c.on('close', churn);
      });
    `, { timeoutMs: 60_000 }, ['--expose-gc']);
    expect(result.stderr).toBe('');
    // Only the server is left, and only its own origin is named (no closed socket that
    // once had its descriptor).
    expect(JSON.parse(result.stdout)).toEqual({ tcp: 1, origins: [1] });
  });
});
