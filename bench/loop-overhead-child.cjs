// One measurement: a workload under one variant. Prints a JSON line: { iterations, wallNs,
// cpuNs }, times per unit of work: per loop iteration for 'immediate', per request for 'http'.
// Usage: node loop-overhead-child.cjs <variant> <workload> <count>
//   workload 'immediate': a setImmediate chain of <count> iterations (one callback each);
//   workload 'http': <count> keep-alive HTTP requests over loopback, 16 in flight, client
//   and server in this process (bounded load, no other process competing for the CPU).
const http = require('node:http');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');

const [variant, workload, countArg] = process.argv.slice(2);
const count = Number(countArg);
let stop = () => {};

switch (variant) {
  case 'none':
    break;
  case 'uvscope':
    require('uvscope');
    break;
  case 'baseline':
    // Another checkout's build (loop-overhead.mjs --baseline <dir>).
    require(process.env.UVSCOPE_BASELINE);
    break;
  case 'uvscope+iterations': {
    const stream = require('uvscope').iterations();
    stop = () => stream.return();
    break;
  }
  case 'floor':
    // Three empty addon callbacks (bench/floor/floor.c, built by loop-overhead.mjs): what the
    // loop charges any probe that sits where uvscope's does.
    require(process.env.UVSCOPE_FLOOR_ADDON).start();
    break;
  case 'datadog': {
    const metrics = require('@datadog/native-metrics');
    metrics.start();
    stop = () => metrics.stop();
    break;
  }
  case 'eld-10ms': {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    stop = () => h.disable();
    break;
  }
  case 'eld-per-iteration': {
    // Node 26.5+ (and a 24.x backport): one sample per iteration. Older Nodes ignore the
    // option silently, so check that it took.
    const h = monitorEventLoopDelay({ samplePerIteration: true });
    h.enable();
    stop = () => h.disable();
    const probe = () => new Promise((resolve) => setImmediate(resolve));
    globalThis.__checkPerIteration = async () => {
      const before = h.count;
      for (let i = 0; i < 10; i++) await probe();
      return h.count - before >= 5;
    };
    break;
  }
  default:
    throw new Error(`unknown variant ${variant}`);
}

// Loop iterations from libuv itself where available (Node 20.18+), whatever the variant.
const loopCount = () => performance.nodeTiming.uvMetricsInfo?.loopCount ?? NaN;

function measure(run, done) {
  const iterations0 = loopCount();
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  run(() => {
    const wallNs = Number(process.hrtime.bigint() - wall0);
    const cpu = process.cpuUsage(cpu0);
    const iterations = workload === 'immediate' ? count : loopCount() - iterations0;
    stop();
    done({ iterations, wallNs: wallNs / count, cpuNs: ((cpu.user + cpu.system) * 1000) / count });
  });
}

function chain(n, done) {
  let left = n;
  const step = () => (--left > 0 ? setImmediate(step) : done());
  setImmediate(step);
}

function httpLoad(n, done) {
  const server = http.createServer((req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1', () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const { port } = server.address();
    let sent = 0;
    let finished = 0;
    const one = () => {
      if (sent >= n) return;
      sent++;
      http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (++finished === n) {
            agent.destroy();
            server.close();
            done();
          } else one();
        });
      });
    };
    for (let i = 0; i < 16; i++) one();
  });
}

async function main() {
  if (globalThis.__checkPerIteration && !(await globalThis.__checkPerIteration())) {
    console.log(JSON.stringify({ unsupported: true }));
    stop();
    return;
  }
  const run = workload === 'http' ? (done) => httpLoad(count, done) : (done) => chain(count, done);
  // Warm-up: the same workload, smaller, so the JIT has settled for every variant alike.
  const warm = workload === 'http' ? (done) => httpLoad(Math.min(2000, count), done) : (done) => chain(Math.min(200_000, count), done);
  warm(() => measure(run, (result) => console.log(JSON.stringify(result))));
}

main();
