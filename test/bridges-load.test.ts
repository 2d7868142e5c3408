// The bridges' subpaths load without the SDK or prom-client (optional peers), from
// CommonJS and ESM, and share one uvscope instance with the package root.
import { describe, expect, it } from 'vitest';

import { runNode, runScript } from './helpers/child.js';

describe('uvscope/otel and uvscope/prometheus at load', () => {
  it('import neither an OpenTelemetry package nor prom-client (CommonJS)', async () => {
    const result = await runScript(`
      const otel = require('uvscope/otel');
      const prom = require('uvscope/prometheus');
      new otel.UvscopeMetricProducer();
      const peers = Object.keys(require.cache).filter((k) => /@opentelemetry|prom-client/.test(k));
      console.log(JSON.stringify({ peers, producer: typeof otel.UvscopeMetricProducer, register: typeof prom.registerUvscopeMetrics }));
    `);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ peers: [], producer: 'function', register: 'function' });
  });

  it('load as ESM, sharing the CommonJS build (one uvscope instance)', async () => {
    const result = await runNode([
      '--input-type=module',
      '-e',
      `
      import { createRequire } from 'node:module';
      import { UvscopeMetricProducer } from 'uvscope/otel';
      import { registerUvscopeMetrics } from 'uvscope/prometheus';
      const require = createRequire(process.cwd() + '/x.js');
      const cjs = require('uvscope/otel');
      const peers = Object.keys(require.cache).filter((k) => /@opentelemetry|prom-client/.test(k));
      console.log(JSON.stringify({ same: UvscopeMetricProducer === cjs.UvscopeMetricProducer, register: typeof registerUvscopeMetrics, peers }));
    `,
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ same: true, register: 'function', peers: [] });
  });
});
