// Every export, exercised with plain Node and node:assert: for the Node versions the test
// runner does not support (Node 18), and for a package installed from its tarball.
//
//   node scripts/smoke.cjs [module]     (default: this checkout)
//
// UVSCOPE_SMOKE_SCALE=<n> stretches the timed block and its thresholds n times, for an
// emulated CPU (qemu-user), where JavaScript is compiled so slowly that other phases of
// the same iterations reach the 25 ms the block is told apart by.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const target = process.argv[2] ?? path.join(__dirname, '..');
const uvscope = require(target);
const checks = [];
const check = (name, ok) => {
  assert.ok(ok, name);
  checks.push(name);
};
const scale = Number(process.env.UVSCOPE_SMOKE_SCALE ?? 1);
const spin = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

async function main() {
  const rt = uvscope.runtime();
  check('runtime() names the running libuv', rt.uvVersion === process.versions.uv && rt.mainLoop === true);
  // uv_metrics_info arrived in libuv 1.45: events are counted from there on, null before.
  const hasEvents = rt.uvVersionHex >= 0x012d00;
  check('runtime().metricsInfo follows the libuv version', rt.metricsInfo === hasEvents);

  // From a timer callback inside a running loop: a timer already due when uv_run() is
  // entered runs before the first iteration (libuv >= 1.45), outside any phase, which a slow
  // start (an emulated CPU) reaches; and what follows here, slow when emulated, must not
  // land in the check phase the next check says is short.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const base = uvscope.loopStats();
  const slow = uvscope.iterations({ minBusyMs: 25 * scale });
  await new Promise((resolve) => setTimeout(() => (spin(30 * scale), resolve()), 5));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const window = uvscope.loopStats(base);
  check('a 30 ms setTimeout block lands in timers', window.phases.timers.maxMs >= 29 * scale && window.phases.check.maxMs < 25 * scale);
  check('events are numbers exactly where libuv counts them', hasEvents ? typeof window.events === 'number' : window.events === null);
  check('utilization is a fraction', window.utilization > 0 && window.utilization <= 1);
  const records = slow.readNow();
  // Every record passed the filter; under emulation other iterations pass it too.
  check('iterations() recorded the slow iteration', records.some((r) => r.timersMs >= 29 * scale) && records.every((r) => r.busyMs >= 25 * scale));
  await slow.return();

  const watched = uvscope.watch({ intervalMs: 20, ref: true });
  const first = await watched.next();
  check('watch() yields a window', !first.done && first.value.windowMs >= 15);
  await watched.return();

  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  const tcp = uvscope.handles().filter((h) => h.type === 'tcp');
  check('handles() lists the server with its endpoint', tcp.some((h) => h.listening && h.local?.port === port));
  check('whyAlive() names it', String(uvscope.whyAlive()).includes(`tcp server 127.0.0.1:${port}`));
  check('handleSummary() counts it', uvscope.handleSummary().byType.tcp >= 1);
  await new Promise((resolve) => server.close(resolve));

  uvscope.configureThreadpool({ track: true });
  fs.stat(__filename, () => {});
  const pool = uvscope.threadpool();
  check('threadpool() counts fs work in flight', pool.size >= 1 && pool.inFlight?.fs >= 1);
  uvscope.configureThreadpool({ track: false });

  const workerStats = await new Promise((resolve, reject) => {
    const w = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const { loopStats } = require(${JSON.stringify(require.resolve(target))});
       setTimeout(() => parentPort.postMessage(loopStats().iterations), 20);`,
      { eval: true },
    );
    w.once('message', (n) => w.terminate().then(() => resolve(n)));
    w.once('error', reject);
  });
  check('a worker records its own loop', workerStats >= 1);
  const all = uvscope.threads();
  check('threads() lists this thread and the ended worker', all.some((t) => t.current && t.threadId === 0) && all.some((t) => t.ended));

  assert.throws(() => uvscope.loopStats('x'), (e) => e instanceof TypeError && e.code === 'ERR_UVSCOPE_INVALID_ARG_TYPE');
  assert.throws(() => uvscope.watch({ intervalMs: -1 }), (e) => e instanceof RangeError && /intervalMs/.test(e.message));
  checks.push('bad arguments throw TypeError/RangeError naming them');

  console.log(`smoke on Node ${process.version} (libuv ${rt.uvVersion}): ${checks.length} checks passed`);
}

let finished = false;
main().then(
  () => (finished = true),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
// A promise that never settles lets the loop run dry and exit 0: not a pass.
process.on('exit', (code) => {
  if (!finished && code === 0) {
    console.error(`smoke: the loop ran dry after ${checks.length} checks, before the last one`);
    process.exitCode = 1;
  }
});
