'use strict';
// The uvscope demo: a loopback HTTP server and a bounded load generator, walking through
// five classic event-loop pitfalls and then the fixed version of each. Run it under the CLI
// (`npm start` = `uvscope -- node examples/demo.js`) and watch the live view change with
// each labelled stage; the summary at the end points back at the worst ones.
//
// Everything stays on 127.0.0.1 (an ephemeral port). It ends by itself in about 40 s;
// DEMO_STAGE_MS shortens each stage (default 3500).
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const STAGE_MS = Math.max(500, Number(process.env.DEMO_STAGE_MS) || 3500);
const CLIENTS = 8; // concurrent keep-alive connections
const started = performance.now();
const bigFile = path.join(os.tmpdir(), `uvscope-demo-${process.pid}.bin`);

// --- the pitfalls and their fixes: one request handler each -------------------------------

function spin(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x++;
  return x;
}

// Work that fixed versions hand out in slices, yielding to I/O between them.
function inSlices(totalMs, sliceMs, done) {
  let left = totalMs;
  const step = () => {
    spin(Math.min(sliceMs, left));
    left -= sliceMs;
    if (left > 0) setImmediate(step);
    else done();
  };
  step();
}

// A limit on concurrent thread-pool work: the pool's 4 threads are shared with fs and dns.
function limiter(max) {
  let running = 0;
  const waiting = [];
  const release = () => {
    running--;
    if (waiting.length > 0) waiting.shift()();
  };
  return (task) => {
    const run = () => {
      running++;
      task(release);
    };
    if (running < max) run();
    else waiting.push(run);
  };
}
const pbkdf2Limit = limiter(2);

// A cache of up to 10,000 entries, each expiring after 1-2 s.
const cache = new Map();
let sweeper = null;

const stages = [
  {
    title: 'a handler with a long synchronous loop (25 ms of CPU per request)',
    expect: 'utilization near 100%, busy max ~25 ms+ per iteration, all in poll',
    handle: (req, res) => res.end(String(spin(25))),
  },
  {
    title: 'readFileSync of a 32 MB file in a handler',
    expect: 'each request blocks the loop for the whole read: poll p99 in the ms',
    handle: (req, res) => res.end(String(fs.readFileSync(bigFile).length)),
  },
  {
    title: 'a burst of crypto.pbkdf2 saturating the thread pool (16 at once)',
    expect: 'pool 4/4 busy, work queued, queue wait of several pbkdf2 durations',
    handle: (req, res) => {
      let left = 2;
      for (let i = 0; i < 2; i++) {
        crypto.pbkdf2('secret', 'salt', 60_000, 32, 'sha256', () => {
          if (--left === 0) res.end('ok');
        });
      }
    },
  },
  {
    title: '10,000 pending timers: a setTimeout per cache entry',
    expect: 'Timeout x10,000 keeping the loop alive; expiry bursts in the timers phase',
    handle: (req, res) => {
      // Up to 10,000 entries, each with its own timer of 1-2 s (1,000 distinct durations).
      for (let i = 0; i < 100 && cache.size < 10_000; i++) {
        const key = `${Math.random()}`;
        cache.set(key, i);
        setTimeout(() => cache.delete(key), 1000 + (cache.size % 1000));
      }
      res.end(String(cache.size));
    },
  },
  {
    title: 'a process.nextTick chain that starves I/O (200,000 ticks per request)',
    expect: 'looks asynchronous, but no I/O runs until the chain ends: long poll iterations',
    handle: (req, res) => {
      let left = 200_000;
      const tick = () => {
        Math.sqrt(left);
        if (--left > 0) process.nextTick(tick);
        else res.end('done');
      };
      process.nextTick(tick);
    },
  },
  {
    title: 'FIXED: the loop work cut into 1 ms slices with setImmediate',
    expect: 'same CPU, but iterations stay short (8 jobs x 1 ms, in check): the ping gets through',
    handle: (req, res) => inSlices(25, 1, () => res.end('ok')),
  },
  {
    title: 'FIXED: fs.promises.readFile (the read runs on the thread pool)',
    expect: 'poll stays short; the pool does the reading',
    handle: (req, res) => {
      fs.promises.readFile(bigFile).then((b) => res.end(String(b.length)), (e) => res.end(String(e)));
    },
  },
  {
    title: 'FIXED: pbkdf2 limited to 2 at a time, leaving pool threads for fs and dns',
    expect: 'pool at most 2 busy, nothing queued, queue wait near zero',
    handle: (req, res) => {
      let left = 2;
      for (let i = 0; i < 2; i++) {
        pbkdf2Limit((release) =>
          crypto.pbkdf2('secret', 'salt', 60_000, 32, 'sha256', () => {
            release();
            if (--left === 0) res.end('ok');
          }),
        );
      }
    },
  },
  {
    title: 'FIXED: one sweeping interval expires the whole cache',
    expect: 'one Timeout instead of 10,000; the timers phase stays short',
    setup: () => {
      sweeper = setInterval(() => {
        const now = Date.now();
        for (const [key, expires] of cache) if (expires <= now) cache.delete(key);
      }, 500);
    },
    handle: (req, res) => {
      for (let i = 0; i < 100 && cache.size < 10_000; i++) cache.set(`${Math.random()}`, Date.now() + 1000 + (cache.size % 1000));
      res.end(String(cache.size));
    },
    teardown: () => clearInterval(sweeper),
  },
  {
    title: 'FIXED: the chain in batches of 5,000, setImmediate between batches',
    expect: 'the same work; iterations stay short and the ping gets through',
    handle: (req, res) => {
      let left = 200_000;
      const batch = () => {
        for (let i = 0; i < 5000 && left > 0; i++, left--) Math.sqrt(left);
        if (left > 0) setImmediate(batch);
        else res.end('done');
      };
      batch();
    },
  },
];

// --- server and load generator ----------------------------------------------------------

let current = null;
// /ping stats a file first, as health checks often do: it needs the loop AND a pool thread.
const server = http.createServer((req, res) =>
  req.url === '/ping' ? fs.stat(__filename, () => res.end('pong')) : current.handle(req, res),
);
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
// The health check on its own connection: how long a trivial request waits.
const pingAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const PING_EVERY_MS = 50;

function request(port, url, via = agent) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: url, agent: via }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', () => resolve(null));
  });
}

function percentile(sorted, q) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function runStage(port, stage, n) {
  const label = stage.title.startsWith('FIXED') ? stage.title : `PITFALL: ${stage.title}`;
  const at = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\n[demo +${at}s] ${n}/${stages.length} ${label}`);
  console.log(`[demo]   watch for: ${stage.expect}`);
  current = stage;
  stage.setup?.();
  const latencies = [];
  const until = performance.now() + STAGE_MS;
  const pings = [];
  const client = async () => {
    while (performance.now() < until) {
      const ms = await request(port, '/');
      if (ms !== null) latencies.push(ms);
    }
  };
  const pinger = async () => {
    while (performance.now() < until) {
      const ms = await request(port, '/ping', pingAgent);
      if (ms !== null) pings.push(ms);
      await new Promise((resolve) => setTimeout(resolve, PING_EVERY_MS));
    }
  };
  await Promise.all([pinger(), ...Array.from({ length: CLIENTS }, client)]);
  stage.teardown?.();
  cache.clear();
  latencies.sort((a, b) => a - b);
  pings.sort((a, b) => a - b);
  console.log(
    `[demo]   ${latencies.length} requests (p50 ${percentile(latencies, 0.5).toFixed(1)} ms); ` +
      `ping p50 ${percentile(pings, 0.5).toFixed(1)} ms, max ${(pings[pings.length - 1] ?? 0).toFixed(1)} ms`,
  );
}

async function main() {
  fs.writeFileSync(bigFile, Buffer.alloc(32 * 1024 * 1024, 7));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  console.log(`[demo] HTTP server on 127.0.0.1:${port}; ${CLIENTS} clients; ${stages.length} stages of ${STAGE_MS / 1000}s`);
  try {
    for (let i = 0; i < stages.length; i++) await runStage(port, stages[i], i + 1);
  } finally {
    agent.destroy();
    pingAgent.destroy();
    server.close();
    fs.rmSync(bigFile, { force: true });
  }
  // Timers left from the timers pitfall still hold the loop for up to 2 s: let them drain.
  console.log('\n[demo] done; the loop ends when the last timers expire');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
