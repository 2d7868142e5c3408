// uvscope's loop and thread-pool metrics on a prom-client registry, served at /metrics
// beside prom-client's own defaults. Needs prom-client.
//   node examples/prometheus.js   then   curl localhost:9464/metrics
const http = require('node:http');
const client = require('prom-client');
const { registerUvscopeMetrics } = require('uvscope/prometheus');

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
registerUvscopeMetrics(registry); // histograms per phase and per thread; a scrape resets nothing

const server = http.createServer(async (req, res) => {
  if (req.url !== '/metrics') return res.writeHead(404).end();
  res.setHeader('Content-Type', registry.contentType);
  res.end(await registry.metrics());
});
server.listen(Number(process.env.PORT ?? 9464), () => {
  console.log(`metrics at http://localhost:${server.address().port}/metrics`);
});

// Some loop work: immediates and a 20 ms stall now and then.
setInterval(() => {
  setImmediate(() => {});
  if (Math.random() < 0.05) {
    const end = performance.now() + 20;
    while (performance.now() < end);
  }
}, 10);
// Stops by itself after EXIT_AFTER_MS (when set), so it can run unattended.
if (process.env.EXIT_AFTER_MS) setTimeout(() => process.exit(0), Number(process.env.EXIT_AFTER_MS)).unref();
