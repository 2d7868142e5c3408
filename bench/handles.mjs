// Handle listing cost at 100, 1,000 and 10,000 handles (TCP sockets over loopback), against
// Node's own listings measured in the same run:
//   handles()                     uvscope, every handle with details (1 system call for all the
//                                 TCP sockets it has seen, 3 for each one it has not)
//   handles({ endpoints: false }) uvscope, every handle, no system call
//   handleSummary()               uvscope, counts only
//   report                        process.report.getReport() (reverse DNS on endpoints)
//   report excludeNetwork         the same with process.report.excludeNetwork = true
//   getActiveResourcesInfo        process.getActiveResourcesInfo() (names of ref'd JS resources)
// Prints the median time of each and the ratios to handles().
//
//   node bench/handles.mjs [--sizes 100,1000,10000]
//   node bench/handles.mjs --servers 1008     N listening TCP servers instead; CPU time of
//                                             this thread (steadier than wall time on a
//                                             shared machine): first call, later calls,
//                                             no endpoints, the report with excludeNetwork
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const sizesArg = args.indexOf('--sizes');
const sizes = (sizesArg >= 0 ? args[sizesArg + 1] : '100,1000,10000').split(',').map(Number);
const largest = Math.max(...sizes);

// 10,000 sockets need more descriptors than some shells allow: re-run under a raised limit.
if (process.env.UVSCOPE_BENCH_CHILD === undefined) {
  const self = fileURLToPath(import.meta.url);
  const quoted = [process.execPath, self, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const result = spawnSync('sh', ['-c', `ulimit -n $(ulimit -Hn) 2>/dev/null; exec ${quoted}`], {
    stdio: 'inherit',
    env: { ...process.env, UVSCOPE_BENCH_CHILD: '1' },
  });
  process.exit(result.status ?? 1);
}

const require = createRequire(import.meta.url);
const uvscope = require('../dist/index.js');

/** Median of repeated runs: at least `min` runs and until `budgetMs` is spent (max 1001). */
function measure(fn, { min = 5, budgetMs = 300 } = {}) {
  for (let i = 0; i < 3; i++) fn(); // warm up
  const times = [];
  const started = performance.now();
  while (times.length < min || (performance.now() - started < budgetMs && times.length < 1001)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[times.length >> 1], runs: times.length };
}

const fmt = (ms) => (ms < 0.1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(ms < 10 ? 3 : 1)} ms`);
const ratio = (a, b) => `${(a / b).toFixed(a / b < 10 ? 1 : 0)}x`;
const serversArg = args.indexOf('--servers');
if (serversArg >= 0) {
  const n = Number(args[serversArg + 1]);
  const cpuMs = (fn, runs) => {
    const start = process.cpuUsage();
    for (let i = 0; i < runs; i++) fn();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000 / runs;
  };
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    servers.push(s);
    await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  }
  uvscope.handleSummary(); // loads the addon: not part of the first listing
  const coldMs = cpuMs(() => uvscope.handles(), 1);
  for (let i = 0; i < 3; i++) uvscope.handles();
  const warmMs = cpuMs(() => uvscope.handles(), 200);
  const leanMs = cpuMs(() => uvscope.handles({ endpoints: false }), 200);
  process.report.excludeNetwork = true;
  process.report.getReport();
  const reportMs = cpuMs(() => process.report.getReport(), 10);
  console.log(`${n} tcp servers, Node ${process.version}, CPU ms per call:`);
  console.log(`  handles(), first call ${fmt(coldMs).padStart(10)}   report excludeNetwork is ${ratio(reportMs, coldMs)} that`);
  console.log(`  handles()             ${fmt(warmMs).padStart(10)}   ${ratio(reportMs, warmMs)}`);
  console.log(`  handles({ endpoints: false }) ${fmt(leanMs).padStart(10)}   ${ratio(reportMs, leanMs)}`);
  console.log(`  report, excludeNetwork ${fmt(reportMs).padStart(10)}`);
  for (const s of servers) s.close();
  process.exit(0);
}

const server = net.createServer((socket) => sockets.push(socket));
const sockets = [];
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();

/** Opens loopback connections until this loop has about `target` tcp handles. */
let connections = 0;
async function growTo(target) {
  const tcp = () => uvscope.handleSummary().byType.tcp ?? 0;
  while (tcp() < target - 1) {
    const batch = Math.max(1, Math.min(200, Math.floor((target - tcp()) / 2)));
    await Promise.all(
      Array.from({ length: batch }, () => new Promise((resolve, reject) => {
        connections++;
        const socket = net.connect(port, '127.0.0.1', resolve);
        socket.on('error', reject);
        sockets.push(socket);
      })),
    );
    // Let the server side accept them (each connection is two sockets; one tcp is the server).
    while (tcp() - 1 < 2 * connections) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
  }
}


console.log(`uvscope handles bench: Node ${process.version}, libuv ${process.versions.uv}, ${largest} handles at most`);
console.log('times are medians; ratios are (other / handles()) — higher means uvscope is faster\n');
const rows = [];
for (const size of sizes) {
  await growTo(size);
  // The first listing after the sockets opened reads every new socket's endpoints (cold);
  // later ones check one remembered socket's cookie (warm, what the medians show).
  const t0 = performance.now();
  uvscope.handles();
  const coldMs = performance.now() - t0;
  const lean = measure(() => uvscope.handles({ endpoints: false }), { budgetMs: size >= 10000 ? 1500 : 400 });
  const summary = uvscope.handleSummary();
  const listed = uvscope.handles();
  const budget = size >= 10000 ? 1500 : 400;
  const details = measure(() => uvscope.handles(), { budgetMs: budget });
  const counts = measure(() => uvscope.handleSummary(), { budgetMs: budget });
  process.report.excludeNetwork = false;
  const report = measure(() => process.report.getReport(), { min: 3, budgetMs: budget });
  process.report.excludeNetwork = true;
  const reportNoNet = measure(() => process.report.getReport(), { min: 3, budgetMs: budget });
  process.report.excludeNetwork = false;
  const resources = measure(() => process.getActiveResourcesInfo(), { budgetMs: budget });
  rows.push({ size, handles: summary.total, listed: listed.length, coldMs, details, lean, counts, report, reportNoNet, resources });

  console.log(`${summary.total} handles (${summary.byType.tcp} tcp):`);
  console.log(`  handles()                         ${fmt(details.medianMs).padStart(10)}`);
  console.log(`  handles(), first call (cold)      ${fmt(coldMs).padStart(10)}   one sample; report excludeNetwork is ${ratio(reportNoNet.medianMs, coldMs)} that`);
  console.log(`  handles({ endpoints: false })     ${fmt(lean.medianMs).padStart(10)}   (no system call)`);
  console.log(`  handleSummary()                   ${fmt(counts.medianMs).padStart(10)}   ${ratio(details.medianMs, counts.medianMs)} faster than handles()`);
  console.log(`  report                            ${fmt(report.medianMs).padStart(10)}   ${ratio(report.medianMs, details.medianMs)}`);
  console.log(`  report, excludeNetwork            ${fmt(reportNoNet.medianMs).padStart(10)}   ${ratio(reportNoNet.medianMs, details.medianMs)}   (target >= 20x at 1,000; ${ratio(reportNoNet.medianMs, lean.medianMs)} without endpoints)`);
  console.log(`  getActiveResourcesInfo()          ${fmt(resources.medianMs).padStart(10)}   ${ratio(resources.medianMs, details.medianMs)}`);
  console.log(`  per handle: handles() ${((details.medianMs * 1e6) / summary.total).toFixed(0)} ns, handleSummary() ${((counts.medianMs * 1e6) / summary.total).toFixed(1)} ns`);
}

if (process.env.UVSCOPE_BENCH_JSON) console.log(JSON.stringify(rows));
for (const socket of sockets) socket.destroy();
server.close();
