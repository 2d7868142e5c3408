import { spawn } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { type ChildResult, runScript } from './helpers/child.js';
import { root, uvscope } from './helpers/uvscope.js';

// Situations found by an audit that crashed the process or made uvscope report something
// wrong (issue 10, item 5). Each runs in a child where a crash is possible, so a SIGSEGV
// fails the test instead of the runner.

/** Runs `source` under a shell that first lowers the open-file limit to `fds`. */
function runWithFdLimit(fds: number, source: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/bin/sh', ['-c', `ulimit -n ${fds} && exec "$0" -e "$1"`, process.execPath, source], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

describe('native safety', () => {
  it('survives workers calling threads() in a loop while they are terminate()d', async () => {
    // The terminating environment refuses every allocation: the typed array threads()
    // fills came back empty and was written through (SIGSEGV).
    const result = await runScript(
      `const { Worker } = require('node:worker_threads');
       const total = 60;
       let ended = 0;
       const body = "const u = require('uvscope'); require('node:worker_threads').parentPort.postMessage(0); for (;;) u.threads();";
       function start() {
         const w = new Worker(body, { eval: true });
         w.on('message', () => setTimeout(() => w.terminate(), Math.random() * 20));
         w.on('error', (e) => { console.error('worker error', e); process.exitCode = 1; });
         w.on('exit', () => { if (++ended === total) console.log('ended', ended); });
       }
       for (let i = 0; i < total; i++) setTimeout(start, i * 10);`,
      { timeoutMs: 60_000 },
    );
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('ended 60');
  });

  it('lets workers that run out of memory while reading end with ERR_WORKER_OUT_OF_MEMORY', async () => {
    // Two bodies: threads() with ended workers retained, as found; and a raw native read
    // that returns a fresh typed array per call (histogramOf), where the heap limit is
    // reached inside the native call nearly every time: V8 then refuses the next
    // allocation, and on main the refused array was written through (SIGSEGV).
    const result = await runScript(
      `const { Worker } = require('node:worker_threads');
       const codes = {};
       let ended = 0;
       for (let i = 0; i < 50; i++) {
         const w = new Worker("require('uvscope')", { eval: true });
         w.on('exit', () => { if (++ended === 50) next(0); });
       }
       const bodies = [
         "const u = require('uvscope'); let keep = null; for (;;) keep = { r: u.threads(), next: keep };",
         "require('uvscope'); const b = require(process.cwd() + '/dist/binding.js').binding(); const v = new Float64Array([1, 2, 3]);" +
           "let keep = null; for (;;) keep = { r: b.histogramOf(v), next: keep };",
       ];
       function next(n) {
         if (n === 6) return console.log(JSON.stringify(codes));
         const w = new Worker(bodies[n % 2], {
           eval: true,
           resourceLimits: { maxOldGenerationSizeMb: 8 + (n % 8), maxYoungGenerationSizeMb: 1 + (n % 3) },
         });
         w.on('error', (e) => { codes[e.code] = (codes[e.code] ?? 0) + 1; });
         w.on('exit', () => next(n + 1));
       }`,
      { timeoutMs: 120_000 },
    );
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ERR_WORKER_OUT_OF_MEMORY: 6 });
  }, 130_000);

  it.runIf(process.platform === 'linux')('reports busy as null, not the pool size, when /proc cannot be read (every fd in use)', async () => {
    const result = await runWithFdLimit(
      256,
      `const u = require('uvscope');
       const fs = require('node:fs');
       const keep = setInterval(() => {}, 10);
       // Let the probe learn the pool's threads, then use up every file descriptor.
       setTimeout(() => {
         const before = u.threadpool();
         const fds = [];
         try { for (;;) fds.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
         const during = u.threadpool();
         for (const fd of fds) fs.closeSync(fd);
         const after = u.threadpool();
         clearInterval(keep);
         const pick = (s) => ({ busy: s.busy, size: s.size, threads: s.threads && s.threads.map((t) => t.busy) });
         console.log(JSON.stringify({ before: pick(before), during: pick(during), after: pick(after) }));
       }, 1500);`,
    );
    expect(result.stderr).toBe('');
    const { before, during, after } = JSON.parse(result.stdout) as Record<string, { busy: number | null; size: number; threads: (boolean | null)[] | null }>;
    expect(before!.busy).toBe(0); // the pool is idle and known
    expect(during!.threads).not.toBeNull();
    expect(during!.threads!.every((busy) => busy === null)).toBe(true);
    expect(during!.busy).toBeNull();
    expect(after!.busy).toBe(0);
  });

  it("rejects loopStats(since) given another thread's snapshot, with a RangeError naming since", async () => {
    const result = await runScript(
      `const u = require('uvscope');
       const { Worker } = require('node:worker_threads');
       const w = new Worker("require('uvscope'); require('node:worker_threads').parentPort.postMessage(0); setInterval(() => {}, 1000);", { eval: true });
       w.on('message', () => {
         const other = u.threads().find((t) => !t.current);
         const own = u.threads().find((t) => t.current);
         let error;
         try { u.loopStats(other); } catch (e) { error = { name: e.name, code: e.code, message: e.message }; }
         // This thread's own entry from threads() is a valid base.
         const window = u.loopStats(own);
         console.log(JSON.stringify({ error, ownWindowMs: window.windowMs }));
         w.terminate();
       });`,
    );
    expect(result.stderr).toBe('');
    const { error, ownWindowMs } = JSON.parse(result.stdout) as { error: { name: string; code: string; message: string }; ownWindowMs: number };
    expect(error).toMatchObject({ name: 'RangeError', code: 'ERR_UVSCOPE_INVALID_ARG_VALUE' });
    expect(error.message).toMatch(/^uvscope: since must be/);
    expect(ownWindowMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps one recorder per thread when the addon is loaded twice (fresh module registry, process.dlopen)', async () => {
    const result = await runScript(
      `const path = require('node:path');
       const a = require('uvscope');
       const ownBefore = a.handles({ includeOwn: true }).length;
       const others = a.handles().length;
       // A test runner's fresh module registry: the package and its loader evaluated again.
       for (const key of Object.keys(require.cache)) if (key.includes(path.sep + 'dist' + path.sep)) delete require.cache[key];
       const b = require('uvscope');
       // A raw second load of the binary, as into a vm context.
       const m = { exports: {} };
       process.dlopen(m, require.resolve('./build/Release/uvscope.node', { paths: [process.cwd()] }));
       console.log(JSON.stringify({
         fresh: a !== b,
         threadsA: a.threads().length,
         threadsB: b.threads().length,
         threadsRaw: (() => { const out = new Float64Array(1 << 16); m.exports.loopReadThreads(out, new Float64Array(0)); return out[0]; })(),
         ownBefore,
         ownAfter: b.handles({ includeOwn: true }).length,
         othersA: a.handles().length,
         othersB: b.handles().length,
         others,
       }));`,
    );
    expect(result.stderr).toBe('');
    const r = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(r.fresh).toBe(true);
    expect(r).toMatchObject({ threadsA: 1, threadsB: 1, threadsRaw: 1 });
    expect(r.ownAfter).toBe(r.ownBefore); // no second set of probe handles
    expect(r.othersA).toBe(r.others); // and none of them listed as the program's
    expect(r.othersB).toBe(r.others);
  });

  it('answers a revoked Proxy, as options or an option, with its own TypeError and code', () => {
    const revoked = () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    };
    const calls: [string, () => unknown][] = [
      ['options', () => uvscope.handles(revoked() as never)],
      ['options', () => uvscope.watch(revoked() as never)],
      ['options', () => uvscope.iterations(revoked() as never)],
      ['options', () => uvscope.configureThreadpool(revoked() as never)],
      ['options.signal', () => uvscope.watch({ signal: revoked() as never })],
      ['options.intervalMs', () => uvscope.watch({ intervalMs: revoked() as never })],
      ['since', () => uvscope.loopStats(revoked() as never)],
      ['since', () => uvscope.threads(revoked() as never)],
    ];
    for (const [name, call] of calls) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(TypeError);
      expect((error as { code?: string }).code, name).toBe('ERR_UVSCOPE_INVALID_ARG_TYPE');
      expect((error as Error).message, name).toMatch(new RegExp(`^uvscope: ${name.replace('.', '\\.')} must be .*; got a revoked Proxy$`));
    }
  });

  it('says addons are disallowed under the permission model, and how to allow them', async () => {
    const flag = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
    const result = await runScript(
      `try { require('uvscope'); console.log('loaded'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
      {},
      [flag, '--allow-fs-read=*', '--no-warnings'],
    );
    const error = JSON.parse(result.stdout) as { code: string; message: string };
    expect(error.code).toBe('ERR_UVSCOPE_PERMISSION_DENIED');
    expect(error.message).toContain(`disallows native addons`);
    expect(error.message).toContain('--allow-addons');
    expect(error.message).not.toMatch(/rebuild|not found/i);
    const allowed = await runScript(`require('uvscope'); console.log('loaded');`, {}, [flag, '--allow-fs-read=*', '--allow-addons', '--no-warnings']);
    expect(allowed.stdout.trim()).toBe('loaded');
  });
});
