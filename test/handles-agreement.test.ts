import { describe, expect, it } from 'vitest';

import type { HandleInfo } from '../lib/types.js';
import { runNode } from './helpers/child.js';

interface ReportHandle {
  type: string;
  is_active: boolean;
  is_referenced: boolean;
  fd?: number;
  pid?: number;
  signum?: number;
  filename?: string;
  repeat?: number;
  localEndpoint?: { port: number } | string | null;
  remoteEndpoint?: { port: number } | string | null;
}

interface Zoo {
  ours: HandleInfo[];
  report: ReportHandle[];
  summary: { total: number; active: number; referenced: number; byType: Record<string, number> };
  alive: string;
  expect: { tcpPort: number; tcp6Port: number; clientPort: number; sockPath: string; udpPort: number; pid: number; dir: string; watched: string };
}

/** `type active/referenced` -> count, for comparing two listings as multisets. */
function flagCounts(list: { type: string; active: boolean; referenced: boolean }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of list) {
    const key = `${h.type} active=${h.active} referenced=${h.referenced}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe('handles() against process.report', async () => {
  const result = await runNode(['test/fixtures/handles-zoo.cjs'], { timeoutMs: 60_000 });
  const zoo = JSON.parse(result.stdout) as Zoo;
  const report = zoo.report.filter((h) => h.type !== 'loop');
  const ours = zoo.ours;

  it('lists the same handles with the same flags, type by type', () => {
    expect(result.stderr).toBe('');
    expect(flagCounts(ours)).toEqual(flagCounts(report.map((h) => ({ type: h.type, active: h.is_active, referenced: h.is_referenced }))));
    // The fixture opened every kind it claims to; a listing missing one would pass the above only if both missed it.
    for (const type of ['tcp', 'udp', 'pipe', 'process', 'fs_event', 'fs_poll', 'signal', 'timer']) {
      expect(ours.some((h) => h.type === type), type).toBe(true);
    }
  });

  it('counts agree with the listing: total, active, referenced, byType', () => {
    const byType: Record<string, number> = {};
    for (const h of report) byType[h.type] = (byType[h.type] ?? 0) + 1;
    expect(zoo.summary.byType).toEqual(byType);
    expect(zoo.summary.total).toBe(report.length);
    expect(zoo.summary.active).toBe(report.filter((h) => h.is_active).length);
    expect(zoo.summary.referenced).toBe(report.filter((h) => h.is_active && h.is_referenced).length);
  });

  it('gives the same details as the report, in the same order', () => {
    expect(ours.map((h) => h.type)).toEqual(report.map((h) => h.type));
    ours.forEach((h, i) => {
      const r = report[i]!;
      if ('fd' in r) expect(h.fd, `${h.type} fd`).toBe(r.fd);
      const port = (e: ReportHandle['localEndpoint']) => (e !== null && typeof e === 'object' ? e.port : null);
      const path = (e: ReportHandle['localEndpoint']) => (typeof e === 'string' ? e : null);
      switch (h.type) {
        case 'tcp':
        case 'udp':
          expect(h.local?.port ?? null).toBe(port(r.localEndpoint));
          expect(h.remote?.port ?? null).toBe(port(r.remoteEndpoint));
          break;
        case 'pipe':
          expect(h.path).toBe(path(r.localEndpoint));
          expect(h.peerPath).toBe(path(r.remoteEndpoint));
          break;
        case 'process':
          expect(h.pid).toBe(r.pid);
          break;
        case 'signal':
          expect(h.signum).toBe(r.signum);
          break;
        case 'fs_event':
        case 'fs_poll':
          expect(h.path).toBe(r.filename);
          break;
        case 'timer':
          expect(h.repeatMs).toBe(r.repeat);
          break;
      }
    });
  });

  it('names what it found: endpoints, paths, pid, signal', () => {
    const e = zoo.expect;
    const tcp = ours.filter((h) => h.type === 'tcp');
    expect(tcp.find((h) => h.listening && h.local?.port === e.tcpPort)?.local).toEqual({ address: '127.0.0.1', family: 'IPv4', port: e.tcpPort });
    expect(tcp.find((h) => h.listening && h.local?.port === e.tcp6Port)?.local).toEqual({ address: '::1', family: 'IPv6', port: e.tcp6Port });
    const client = tcp.find((h) => h.local?.port === e.clientPort);
    expect(client?.remote).toEqual({ address: '127.0.0.1', family: 'IPv4', port: e.tcpPort });
    expect(client?.listening).toBe(false);
    const pipes = ours.filter((h) => h.type === 'pipe');
    expect(pipes.find((h) => h.listening)?.path).toBe(e.sockPath);
    expect(pipes.some((h) => h.peerPath === e.sockPath)).toBe(true);
    const udp = ours.find((h) => h.type === 'udp');
    expect(udp?.type === 'udp' && udp.local?.port).toBe(e.udpPort);
    expect(ours.find((h) => h.type === 'process')).toMatchObject({ pid: e.pid, active: true, referenced: true });
    expect(ours.find((h) => h.type === 'signal')).toMatchObject({ signum: 12, signal: 'SIGUSR2', referenced: false });
    expect(ours.find((h) => h.type === 'fs_event')).toMatchObject({ path: e.dir });
    expect(ours.find((h) => h.type === 'fs_poll')).toMatchObject({ path: e.watched });
    // Node's one timer for all JS timers: ref'd because of the setInterval, due within its 60 s.
    const timer = ours.find((h) => h.type === 'timer' && !h.own);
    expect(timer).toMatchObject({ active: true, referenced: true, repeatMs: 0 });
    expect(timer?.type === 'timer' && timer.dueInMs).toBeGreaterThan(50_000);
    expect(timer?.type === 'timer' && timer.dueInMs).toBeLessThanOrEqual(60_000);
  });

  it('marks its own handles and leaves them out by default', () => {
    const own = ours.filter((h) => h.own);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((h) => !h.referenced)).toBe(true);
    expect(zoo.alive).not.toMatch(/prepare|check/);
  });

  it('whyAlive() names each thing in one line', () => {
    const e = zoo.expect;
    expect(zoo.alive).not.toContain('\n');
    expect(zoo.alive).toMatch(/^alive \(\d+ handles, \d+ requests?\): /);
    expect(zoo.alive).toContain(`tcp server 127.0.0.1:${e.tcpPort}`);
    expect(zoo.alive).toContain(`tcp server [::1]:${e.tcp6Port}`);
    expect(zoo.alive).toContain(`tcp 127.0.0.1:${e.clientPort} -> 127.0.0.1:${e.tcpPort}`);
    expect(zoo.alive).toContain(`pipe server ${e.sockPath}`);
    expect(zoo.alive).toContain(`udp 127.0.0.1:${e.udpPort}`);
    expect(zoo.alive).toContain(`child process pid ${e.pid}`);
    expect(zoo.alive).toContain(`fs.watch) ${e.dir}`);
    expect(zoo.alive).toContain(`fs.watchFile) ${e.watched}`);
    expect(zoo.alive).toMatch(/timer due in \d+ ms/);
    expect(zoo.alive).toContain('Timeout');
    // The signal listener is unref'd by Node: it does not keep the process alive.
    expect(zoo.alive).not.toContain('SIGUSR2');
  });
});
