// stalls(): worker threads, a debugger attached, process exit, worker churn, argument checks.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as net from 'node:net';

import { describe, expect, it } from 'vitest';

import { runScript } from './helpers/child.js';
import { root, uvscope } from './helpers/uvscope.js';
import type { StallRecord } from '../lib/types.js';

const linux = process.platform === 'linux';
const parse = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as StallRecord);

// A debugger client as DevTools is one: a WebSocket to the inspector (Node 20 has no global
// WebSocket, so the handshake and one masked text frame by hand).
async function attachDebugger(url: string): Promise<net.Socket> {
  const { hostname, port, pathname } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const key = crypto.randomBytes(16).toString('base64');
  socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const head = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  expect(head).toMatch(/^HTTP\/1\.1 101/);
  socket.on('data', () => {});
  return socket;
}
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([header, mask, body]);
}

describe('stalls(): lifecycle and scope', () => {
  it('rejects bad options with errors naming them', () => {
    expect(() => uvscope.stalls({ thresholdMs: 0 })).toThrow(/options\.thresholdMs/);
    expect(() => uvscope.stalls({ thresholdMs: 3_600_001 })).toThrow(RangeError);
    expect(() => uvscope.stalls({ thresholdMs: '5' as unknown as number })).toThrow(TypeError);
    expect(() => uvscope.stalls({ ref: 1 as unknown as boolean })).toThrow(/options\.ref/);
    expect(() => uvscope.stalls({ signal: {} as AbortSignal })).toThrow(/options\.signal/);
  });

  it('a stalled worker thread: detected with its thread state, no stack (unavailable)', async () => {
    const result = await runScript(`
      const { Worker } = require('node:worker_threads');
      const { stalls } = require('uvscope');
      const stream = stalls({ thresholdMs: 50 });
      const w = new Worker("require('uvscope'); setTimeout(() => { const e = Date.now() + 300; while (Date.now() < e); }, 300); setTimeout(() => {}, 800);", { eval: true });
      setTimeout(() => stream.return(), 1500);
      console.log(w.threadId);
      (async () => { for await (const r of stream) console.log(JSON.stringify(r)); })();
    `);
    expect(result.stderr).toBe('');
    const workerId = Number(result.stdout.split('\n')[0]);
    // The worker's own episode (a main-thread stall while workers start is the README's known issue).
    const got = parse(result.stdout).filter((r) => r.threadId !== 0);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ threadId: workerId, capture: 'unavailable', stack: null, landedAfterMs: null });
    expect(got[0]!.busyMs).toBeGreaterThanOrEqual(290);
    if (linux) expect(got[0]!.thread).toEqual({ state: 'running', syscall: null });
  });

  it('counts the records a consumer could not take in `dropped`: workers stall while its loop is blocked', async () => {
    // Two workers stall 25 times each while the main thread's loop (the consumer) is blocked
    // for their whole run: the watchdog keeps 16 records for it and counts the rest.
    const result = await runScript(`
      const { Worker } = require('node:worker_threads');
      const { stalls } = require('uvscope');
      const stream = stalls({ thresholdMs: 50 });
      const source = "require('uvscope'); const { parentPort } = require('node:worker_threads');" +
        "parentPort.once('message', () => { let n = 0; const spin = (ms) => { const e = Date.now() + ms; while (Date.now() < e); };" +
        "const step = () => { spin(70); if (++n < 25) setImmediate(step); else parentPort.postMessage('done'); }; setImmediate(step); });" +
        "parentPort.postMessage('ready');";
      const workers = [0, 1].map(() => new Worker(source, { eval: true }));
      const once = (w, what) => new Promise((r) => w.on('message', (m) => m === what && r()));
      Promise.all(workers.map((w) => once(w, 'ready'))).then(() => {
        const done = Promise.all(workers.map((w) => once(w, 'done')));
        for (const w of workers) w.postMessage('go');
        // Read once this loop runs again and both workers are done.
        done.then(async () => {
          await new Promise((r) => setTimeout(r, 200));
          const got = [];
          for (;;) {
            const r = await Promise.race([stream.next(), new Promise((r) => setTimeout(() => r(null), 300))]);
            if (r === null) break;
            got.push(r.value);
          }
          console.log(JSON.stringify({ workers: got.filter((r) => r.threadId !== 0).length, dropped: stream.dropped }));
          await stream.return();
          for (const w of workers) w.terminate();
        });
        // The consumer's loop blocked for about the workers' whole run (1.75 s each).
        const spin = (ms) => { const e = Date.now() + ms; while (Date.now() < e); };
        spin(25 * 70 * 1.5 + 500);
      });
    `);
    expect(result.stderr).toBe('');
    const { workers, dropped } = JSON.parse(result.stdout) as { workers: number; dropped: number };
    expect(dropped).toBeGreaterThan(0);
    // 50 worker stalls (and the main thread's own): kept plus counted, none silently gone.
    expect(workers + dropped).toBeGreaterThanOrEqual(45);
    expect(workers + dropped).toBeLessThanOrEqual(51);
  });

  it('the capture worker is not listed in threads() and never keeps the process alive', async () => {
    const result = await runScript(`
      const { stalls, threads } = require('uvscope');
      const stream = stalls();
      setTimeout(() => { console.log(JSON.stringify(threads().map((t) => t.threadId))); }, 500);
    `);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([0]);
    expect(result.elapsedMs).toBeLessThan(5000);
  });

  it('exits at once with captures done and a stream open: no "Waiting for the debugger" message', async () => {
    const result = await runScript(`
      const { stalls } = require('uvscope');
      const stream = stalls({ thresholdMs: 20 });
      (async () => { for await (const r of stream) console.log(r.capture); })();
      setTimeout(() => { const e = Date.now() + 100; while (Date.now() < e); }, 500);
      setTimeout(() => { const e = Date.now() + 100; while (Date.now() < e); }, 700);
      setTimeout(() => process.exit(3), 900);
    `);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(3);
    // (A stall while the program and the capture worker start is 'unavailable'.)
    expect(result.stdout.trim().split('\n').filter((c) => c !== 'unavailable')).toEqual(['exact', 'exact']);
    expect(result.elapsedMs).toBeLessThan(3000);
  });

  it("a debugger client attached: unavailable, never the breakpoint's stack", async () => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        `
        const inspector = require('node:inspector');
        const { stalls } = require('uvscope');
        inspector.open(0, '127.0.0.1');
        console.log(inspector.url());
        const stream = stalls({ thresholdMs: 50, ref: true });
        (async () => { for await (const r of stream) { if (r.busyMs < 250) continue; console.log(JSON.stringify(r)); stream.return(); inspector.close(); } })();
        function blockedWhileDebugged() { const e = Date.now() + 300; while (Date.now() < e); }
        process.stdin.once('data', () => { process.stdin.destroy(); setTimeout(blockedWhileDebugged, 200); });
      `,
      ],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const url = await new Promise<string>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
        if (stdout.includes('\n') && !stdout.startsWith('{')) resolve(stdout.split('\n')[0]!);
      });
    });
    const ws = await attachDebugger(url);
    ws.write(frame(JSON.stringify({ id: 1, method: 'Runtime.enable' })));
    ws.write(frame(JSON.stringify({ id: 2, method: 'Debugger.enable' })));
    await new Promise((r) => setTimeout(r, 300));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write('go\n');
    // The child closes its inspector after the record: the client lets go.
    await new Promise<void>((resolve) => {
      const check = () => (stdout.includes('\n{') ? resolve() : setTimeout(check, 20));
      check();
    });
    ws.destroy();
    const code = await closed;
    if (process.env.DEBUG_STALLS) console.log({ stdout, stderr });
    ws.destroy();
    clearTimeout(killer);
    expect(code).toBe(0);
    const got = parse(stdout.split('\n').slice(1).join('\n'));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ capture: 'unavailable', stack: null });
    expect(stderr).not.toMatch(/Waiting for the debugger/);
  });

  it('a flood of short stalls: every episode recorded, stack captures at most one per 50 ms', async () => {
    const result = await runScript(`
      const { stalls } = require('uvscope');
      const s = stalls({ thresholdMs: 5 });
      const got = [];
      (async () => { for await (const r of s) got.push(r); })();
      function spin(ms) { const e = Date.now() + ms; while (Date.now() < e); }
      setTimeout(() => { let n = 0; const step = () => { spin(12); if (++n < 40) setImmediate(step); }; step(); }, 800);
      setTimeout(() => { s.return(); console.log(JSON.stringify(got.filter((r) => r.iteration > 3))); }, 2500);
    `);
    expect(result.stderr).toBe('');
    const got = JSON.parse(result.stdout) as StallRecord[];
    // 40 iterations of 12 ms each (480 ms and more on a loaded machine).
    expect(got.length).toBeGreaterThanOrEqual(36);
    const captured = got.filter((r) => r.capture === 'exact' || r.capture === 'deferred' || r.capture === 'stale');
    const spanMs = got.at(-1)!.startMs - got[0]!.startMs;
    expect(captured.length).toBeLessThanOrEqual(Math.floor(spanMs / 50) + 2);
    expect(got.filter((r) => r.capture === 'none').length).toBeGreaterThan(0);
  });

  it('200 workers started and terminated while stall capture runs: no crash, stalls still captured', async () => {
    const result = await runScript(
      `
      const { Worker } = require('node:worker_threads');
      const { stalls, threads } = require('uvscope');
      const stream = stalls({ thresholdMs: 30 });
      const seen = [];
      (async () => { for await (const r of stream) seen.push(r); })();
      function mainBlock() { const e = Date.now() + 80; while (Date.now() < e); }
      (async () => {
        await new Promise((r) => setTimeout(r, 400));
        for (let i = 0; i < 200; i += 10) {
          const batch = Array.from({ length: 10 }, (_, k) => new Worker(
            "require('uvscope'); const e = Date.now() + " + (k % 2 ? 60 : 5) + "; while (Date.now() < e); setTimeout(() => {}, 1000);",
            { eval: true }));
          await new Promise((r) => setTimeout(r, 40));
          threads();
          await Promise.all(batch.map((w) => w.terminate()));
        }
        mainBlock();
        await new Promise((r) => setTimeout(r, 300));
        stream.return();
        const main = seen.filter((r) => r.threadId === 0);
        console.log(JSON.stringify({ main: main.map((r) => [r.capture, r.stack && r.stack.length > 0 ? r.stack[0].functionName : null]), workers: seen.length - main.length }));
      })();
    `,
      { timeoutMs: 120_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { main: [string, string | null][]; workers: number };
    expect(out.main).toContainEqual(['exact', 'mainBlock']);
  }, 150_000);
});
