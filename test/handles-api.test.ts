import { describe, expect, it } from 'vitest';

import type { NativeBinding } from '../lib/binding.js';
import { loadInternal, uvscope } from './helpers/uvscope.js';

const { makeHandles } = loadInternal<typeof import('../lib/handles.js')>('handles.js');
const { binding } = loadInternal<typeof import('../lib/binding.js')>('binding.js');

describe('handles() arguments', () => {
  it('rejects bad options with errors naming them', () => {
    expect(() => uvscope.handles(5 as never)).toThrow(TypeError);
    expect(() => uvscope.handles(5 as never)).toThrow(/options must be an object/);
    expect(() => uvscope.handles({ includeOwn: 'yes' as never })).toThrow(/options\.includeOwn must be a boolean/);
    expect(() => uvscope.handles({ referencedOnly: 1 as never })).toThrow(/options\.referencedOnly must be a boolean/);
    expect(() => uvscope.handles({ endpoints: null as never })).toThrow(/options\.endpoints must be a boolean/);
    expect(() => uvscope.handleSummary({ includeOwn: 0 as never })).toThrow(/options\.includeOwn must be a boolean/);
  });

  it('the native functions re-check their arguments', () => {
    const native = binding();
    expect(() => native.handlesWalk(new Float64Array(2), new Uint8Array(8), 0, new Float64Array(0))).toThrow(TypeError);
    expect(() => native.handlesWalk([] as never, new Uint8Array(8), 0, new Float64Array(0))).toThrow(TypeError);
    expect(() => native.handlesWalk(new Float64Array(64), new Float64Array(8) as never, 0, new Float64Array(0))).toThrow(TypeError);
    expect(() => native.handlesWalk(new Float64Array(64), new Uint8Array(8), 0, undefined as never)).toThrow(TypeError);
    expect(() => native.handlesWalk(new Float64Array(64), new Uint8Array(8), 0, new Float64Array([2, 5, 1, 1, 5, 1]))).toThrow(/ascend/);
    expect(() => native.handlesWalk(new Float64Array(64), new Uint8Array(8), 0, new Float64Array([1, 5]))).toThrow(/triples/);
    expect(() => native.handlesCount(new Float64Array(3), false)).toThrow(TypeError);
    expect(() => native.handlesCount(new Float64Array(64), 'no' as never)).toThrow(TypeError);
  });

  it('includeOwn, referencedOnly and endpoints filter as documented', () => {
    const all = uvscope.handles({ includeOwn: true });
    const visible = uvscope.handles();
    expect(all.filter((h) => !h.own)).toEqual(visible);
    expect(all.some((h) => h.own)).toBe(true);
    expect(visible.some((h) => h.own)).toBe(false);
    expect(uvscope.handles({ referencedOnly: true })).toEqual(visible.filter((h) => h.active && h.referenced));
    const lean = uvscope.handles({ endpoints: false });
    expect(lean.map((h) => h.type)).toEqual(visible.map((h) => h.type));
    for (const h of lean) if (h.type === 'tcp' || h.type === 'udp') expect([h.local, h.remote]).toEqual([null, null]);
    expect(uvscope.loopStats().handles).toEqual(uvscope.handleSummary());
  });
});

describe('decoding the walker records', () => {
  // A fake binding: the TypeScript layer takes the native side as a parameter.
  function fake(records: number[][], names: (string | null)[], pool = ''): NativeBinding {
    const real = binding();
    const layout = { ...real.handlesLayout, typeNames: names };
    return {
      ...real,
      handlesLayout: layout,
      handlesWalk(out: Float64Array, bytes: Uint8Array) {
        const needed = layout.header + records.length * layout.stride;
        out[0] = records.length;
        out[1] = pool.length;
        out[2] = 3;
        if (needed > out.length || pool.length > bytes.length) return;
        bytes.set(Buffer.from(pool, 'utf8'));
        records.forEach((r, i) => out.set(r, layout.header + i * layout.stride));
      },
    } as NativeBinding;
  }
  const NaN_ = Number.NaN;

  it('reports a handle type it does not know by the running libuv\'s name, with the common fields', () => {
    const names = [...binding().handlesLayout.typeNames];
    names[20] = 'quic';
    const { handles } = makeHandles(fake([[20, 1 | 2, 7, NaN_, NaN_, NaN_, NaN_, -1, NaN_, -1, NaN_, NaN_, NaN_], [21, 0, NaN_, NaN_, NaN_, NaN_, NaN_, -1, NaN_, -1, NaN_, NaN_, NaN_]], names));
    expect(handles()).toEqual([
      { type: 'unknown', typeName: 'quic', active: true, referenced: true, closing: false, own: false, fd: 7 },
      { type: 'unknown', typeName: '#21', active: false, referenced: false, closing: false, own: false, fd: null },
    ]);
  });

  it('grows its buffers when the walk needs more room, and decodes UTF-8 paths', () => {
    const names = binding().handlesLayout.typeNames;
    const fsEvent = names.indexOf('fs_event');
    const path = '/tmp/ünïcødé/' + 'x'.repeat(40_000);
    const bytes = Buffer.byteLength(path);
    const records = Array.from({ length: 1000 }, () => [fsEvent, 1, NaN_, NaN_, NaN_, NaN_, 0, bytes, NaN_, -1, NaN_, NaN_, NaN_]);
    const { handles, whyAlive } = makeHandles(fake(records, names, path));
    const list = handles();
    expect(list).toHaveLength(1000);
    expect(list[999]).toMatchObject({ type: 'fs_event', path });
    expect(whyAlive().activeRequests).toBe(3);
  });
});

describe('endpoints of sockets that come and go', () => {
  it('never reports a closed socket\'s endpoints for a new socket on the same descriptor', async () => {
    const net = await import('node:net');
    const server = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const fds = new Set<number | null>();
    try {
      for (let i = 0; i < 30; i++) {
        const socket = await new Promise<import('node:net').Socket>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
        });
        const mine = uvscope.handles().filter((h) => h.type === 'tcp' && h.local?.port === socket.localPort);
        expect(mine).toHaveLength(1);
        expect(mine[0]).toMatchObject({ remote: { address: '127.0.0.1', family: 'IPv4', port } });
        fds.add(mine[0]!.fd);
        const all = uvscope.handles().filter((h) => h.type === 'tcp' && !h.listening);
        // Every connected socket's local port is one the kernel really gave (no stale entry).
        const live = new Set([socket.localPort, port]);
        for (const h of all) if (h.type === 'tcp' && h.remote !== null) expect(live.has(h.local!.port) || live.has(h.remote.port)).toBe(true);
        await new Promise<void>((resolve) => { socket.once('close', () => resolve()); socket.destroy(); });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      server.close();
    }
    // The point of the test: descriptors (and likely handle memory) were reused.
    expect(fds.size).toBeLessThan(30);
  });
});

describe('endpoints of cached sockets while others come and go', () => {
  it('lists each socket with its own endpoints when sockets among the cached ones close and new ones open', async () => {
    const net = await import('node:net');
    type Socket = import('node:net').Socket;
    const accepted = new Set<Socket>();
    const server = net.createServer((s) => {
      accepted.add(s);
      s.on('error', () => {});
      s.on('close', () => accepted.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 500 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
      expect(done()).toBe(true);
    };
    const clients: Socket[] = [];
    const open = async (n: number) => {
      for (let i = 0; i < n; i++) {
        clients.push(await new Promise<Socket>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', () => {});
        }));
      }
      await until(() => accepted.size === clients.length);
    };
    const fdOf = (s: Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const fdsReused = new Set<string>();
    try {
      await open(12);
      uvscope.handles(); // fills the cache
      for (let round = 0; round < 40; round++) {
        // Close one to three sockets, mostly the newest (their handle memory and descriptors
        // are the ones a new socket gets), sometimes one from the middle; open as many.
        const n = 1 + random(3);
        for (let i = 0; i < n; i++) {
          const at = random(4) === 0 ? random(clients.length) : clients.length - 1;
          const [gone] = clients.splice(at, 1);
          fdsReused.add(`${fdOf(gone!)}`);
          gone!.destroy();
        }
        await until(() => accepted.size === clients.length);
        await open(n);
        const listed = uvscope.handles();
        const byFd = new Map(listed.filter((h) => h.type === 'tcp' && h.fd !== null).map((h) => [h.fd!, h]));
        for (const c of clients) {
          expect(byFd.get(fdOf(c))).toMatchObject({ local: { port: c.localPort }, remote: { port } });
        }
        for (const a of accepted) {
          expect(byFd.get(fdOf(a))).toMatchObject({ local: { port }, remote: { port: a.remotePort } });
        }
        expect(byFd.get(fdOf(server as unknown as Socket))).toMatchObject({ listening: true, local: { port } });
      }
    } finally {
      for (const c of clients) c.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
    // The point of the test: new sockets got the descriptors of closed ones.
    expect(fdsReused.size).toBeLessThan(40);
  });
});

describe('the first listing of many handles', () => {
  it('walks the loop once: sized from the counts-only walk, not grown after asking the kernel', async () => {
    const net = await import('node:net');
    const servers: import('node:net').Server[] = [];
    try {
      for (let i = 0; i < 400; i++) {
        const server = net.createServer();
        servers.push(server);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      }
      const native = binding();
      let walks = 0;
      const counted: NativeBinding = {
        ...native,
        handlesWalk: (...args: Parameters<NativeBinding['handlesWalk']>) => {
          walks++;
          native.handlesWalk(...args);
        },
      };
      const fresh = makeHandles(counted);
      const listed = fresh.handles();
      expect(walks).toBe(1);
      const tcp = listed.filter((h) => h.type === 'tcp');
      expect(tcp.length).toBeGreaterThanOrEqual(400);
      // Servers are told from connection_cb without asking the kernel; still listening.
      const ports = new Set(servers.map((s) => (s.address() as import('node:net').AddressInfo).port));
      const listening = tcp.filter((h) => h.type === 'tcp' && h.listening && h.remote === null && ports.has(h.local?.port ?? -1));
      expect(listening.length).toBe(400);
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
