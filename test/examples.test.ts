// The README's runnable examples run, unattended, and show what they say they show.
import { spawn } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { runNode } from './helpers/child.js';
import { root } from './helpers/uvscope.js';

describe('examples/', () => {
  it('otel.js exports uvscope histograms through the OpenTelemetry SDK', async () => {
    const result = await runNode(['examples/otel.js'], { timeoutMs: 30_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const name of ['nodejs.eventloop.time', 'uvscope.eventloop.phase.duration', 'uvscope.threadpool.work.wait_time']) {
      expect(result.stdout).toContain(`'${name}'`);
    }
    // The console exporter prints an exponential histogram's buckets.
    expect(result.stdout).toMatch(/positive:\s*{[^}]*bucketCounts/);
  });

  it('prometheus.js serves uvscope histograms beside prom-client defaults', async () => {
    const child = spawn(process.execPath, ['examples/prometheus.js'], {
      cwd: root,
      env: { ...process.env, PORT: '0', EXIT_AFTER_MS: '20000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const match = /metrics at (http:\S+)/.exec(out);
          if (match) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      await new Promise((r) => setTimeout(r, 500)); // some iterations to count
      const text = await (await fetch(url)).text();
      expect(text).toMatch(/^uvscope_eventloop_phase_duration_seconds_bucket\{.*phase="poll".*\} \d+$/m);
      expect(text).toMatch(/^nodejs_eventloop_time_seconds_total\{thread_id="0",state="active"\} [\d.e-]+$/m);
      expect(text).toMatch(/^process_cpu_user_seconds_total /m); // prom-client's own
      const again = await (await fetch(url)).text();
      const iterations = (t: string) => Number(/^uvscope_eventloop_iterations_total\{thread_id="0"\} (\d+)$/m.exec(t)![1]);
      expect(iterations(again)).toBeGreaterThan(iterations(text)); // a scrape resets nothing
    } finally {
      child.kill();
    }
  });

  it('loop-stats.js and why-alive.js run to their end', async () => {
    const [stats, alive] = await Promise.all([
      runNode(['examples/loop-stats.js'], { timeoutMs: 30_000 }),
      runNode(['examples/why-alive.js'], { timeoutMs: 30_000 }),
    ]);
    expect(stats.stderr).toBe('');
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/poll/);
    expect(alive.stderr).toBe('');
    expect(alive.code).toBe(0);
    expect(alive.stdout).toMatch(/tcp/);
  });
});
