// handles(), handleSummary(), whyAlive(): the handles on this thread's loop, from uv_walk.
import { constants as osConstants } from 'node:os';

import type { HandlesLayout, NativeBinding } from './binding.js';
import type { HandleTracker } from './handle-origins.js';
import type { AliveReport, HandleInfo, HandleInfoCommon, HandleSummary, SocketEndpoint, StackFrame } from './types.js';
import { UvscopeError } from './errors.js';
import { booleanOption, optionsObject } from './validate.js';

/** Options of `handles()`. */
export interface HandlesOptions {
  /** Also list uvscope's own handles (marked `own: true`). Default false. */
  includeOwn?: boolean;
  /** Only handles that keep the loop alive: active and referenced. Default false. */
  referencedOnly?: boolean;
  /**
   * Ask the kernel for what libuv does not keep: socket endpoints (`local`, `remote`),
   * `listening`, and a tty's `columns`/`rows`. Up to three system calls for a TCP socket not
   * seen before and one per listing for all those already seen; two per UDP or Unix socket.
   * With false those fields are null/false and `handles()` makes no system call. Default true.
   */
  endpoints?: boolean;
}

/** Options of `whyAlive()`. */
export interface WhyAliveOptions {
  /**
   * Name where each handle was created (`createdAt`), from the creation stacks kept since
   * `trackHandles()` turned tracking on. Throws `ERR_UVSCOPE_HANDLE_TRACKING_OFF` while it is
   * off. Default false.
   */
  stacks?: boolean;
}

/** Options of `handleSummary()`. */
export interface HandleSummaryOptions {
  /** Also count uvscope's own handles. Default false. */
  includeOwn?: boolean;
}

// Record layout and flag bits of native/handle_walker.cc (checked against its handlesLayout
// when the module loads).
const F_TYPE = 0;
const F_FLAGS = 1;
const F_FD = 2;
const F_A = 3;
const F_B = 4;
const F_C = 5;
const F_STR0 = 6;
const F_STR0_LEN = 7;
const F_STR1 = 8;
const F_STR1_LEN = 9;
const F_QUEUE = 10;
const F_COOKIE = 11;
const F_ID = 12;

const ACTIVE = 1;
const REFERENCED = 2;
const CLOSING = 4;
const OWN = 8;
const READABLE = 16;
const WRITABLE = 32;
const LISTENING = 64;
const LOCAL_IPV6 = 128;
const REMOTE_IPV6 = 256;
const KNOWN = 512;

const OPT_INCLUDE_OWN = 1;
const OPT_REFERENCED_ONLY = 2;
const OPT_KERNEL = 4;

const signalNames: Record<number, string> = {};
for (const [name, number] of Object.entries(osConstants.signals)) signalNames[number] ??= name;

const orNull = (value: number): number | null => (Number.isNaN(value) ? null : value);

/** What a connected or listening TCP socket keeps for its whole life. */
interface KnownTcp {
  listening: boolean;
  local: SocketEndpoint | null;
  remote: SocketEndpoint | null;
}

/** A cached socket: its handle's address (the key), descriptor and cookie, and endpoints. */
interface CachedTcp {
  id: number;
  fd: number;
  cookie: number;
  tcp: KnownTcp;
}

const FIELDS = { type: F_TYPE, flags: F_FLAGS, fd: F_FD, a: F_A, b: F_B, c: F_C, str0: F_STR0, str0Len: F_STR0_LEN, str1: F_STR1, str1Len: F_STR1_LEN, queue: F_QUEUE, cookie: F_COOKIE, id: F_ID };
const BITS = {
  active: ACTIVE, referenced: REFERENCED, closing: CLOSING, own: OWN, readable: READABLE, writable: WRITABLE,
  listening: LISTENING, localIPv6: LOCAL_IPV6, remoteIPv6: REMOTE_IPV6, known: KNOWN, includeOwn: OPT_INCLUDE_OWN, referencedOnly: OPT_REFERENCED_ONLY, kernel: OPT_KERNEL,
};

function checkLayout(layout: HandlesLayout): void {
  for (const [expected, actual] of [[FIELDS, layout.fields], [BITS, layout.bits]] as const) {
    for (const [name, value] of Object.entries(expected)) {
      if (actual[name] !== value) {
        // A binary from another version of uvscope: none that fits this JavaScript was found.
        throw new UvscopeError('ERR_UVSCOPE_BINARY_NOT_FOUND', `uvscope: the native binary does not match this uvscope (handle record ${name}): rebuild the addon`);
      }
    }
  }
}

export function makeHandles(native: NativeBinding, tracker?: HandleTracker) {
  const layout = native.handlesLayout;
  checkLayout(layout);
  const { header, stride } = layout;
  // Type ids -> the names the running libuv gives them; the id of each kind we detail.
  const typeNames = layout.typeNames.map((name, id) => name ?? `#${id}`);
  const idOf = (name: string): number => layout.typeNames.indexOf(name);
  const T = {
    tcp: idOf('tcp'),
    udp: idOf('udp'),
    pipe: idOf('pipe'),
    tty: idOf('tty'),
    timer: idOf('timer'),
    process: idOf('process'),
    signal: idOf('signal'),
    fs_event: idOf('fs_event'),
    fs_poll: idOf('fs_poll'),
    poll: idOf('poll'),
    async: idOf('async'),
    check: idOf('check'),
    idle: idOf('idle'),
    prepare: idOf('prepare'),
  };

  // Reused across calls (this module's state is per thread); grown when a walk reports
  // that it needed more room, never shrunk below the high-water mark.
  let records = new Float64Array(header + 256 * stride);
  let pool = Buffer.alloc(16 * 1024);
  const counts = new Float64Array(layout.countSize);
  // Endpoints of the connected and listening TCP sockets seen by the last full handles()
  // call that found a change, by handle address. The walker reads the kernel only for the
  // last of these it meets (one getsockopt proves the ones before it: see Confirm in
  // native/handle_walker.cc) and for sockets not in here.
  let known = new Map<number, CachedTcp>();
  let knownTriples = new Float64Array(0);
  const noTriples = new Float64Array(0);
  let sized = false;
  const walk = (options: number, cache: Float64Array): number => {
    // Size the records from a counts-only walk (no system call) the first time, so the
    // first listing of many handles walks once instead of asking the kernel about the
    // first 256 sockets twice.
    if (!sized) {
      sized = true;
      native.handlesCount(counts, (options & OPT_INCLUDE_OWN) !== 0);
      const total = counts[0]!;
      if (total > (records.length - header) / stride) records = new Float64Array(header + Math.ceil(total * 1.25 + 16) * stride);
    }
    for (;;) {
      native.handlesWalk(records, pool, options, cache);
      const count = records[0]!;
      const poolNeeded = records[1]!;
      const capacity = (records.length - header) / stride;
      if (count <= capacity && poolNeeded <= pool.length) return count;
      if (count > capacity) records = new Float64Array(header + Math.ceil(count * 1.25 + 16) * stride);
      if (poolNeeded > pool.length) pool = Buffer.alloc(Math.ceil(poolNeeded * 1.25) + 1024);
    }
  };

  const text = (offset: number, length: number): string | null =>
    length < 0 ? null : pool.toString('utf8', offset, offset + length);
  // The walker writes each distinct address once (see Interned): decode each once.
  const addresses = new Map<number, string>();
  const address = (offset: number, length: number): string => {
    let value = addresses.get(offset);
    if (value === undefined) addresses.set(offset, (value = pool.toString('latin1', offset, offset + length)));
    return value;
  };
  // Frozen: a TCP socket's endpoints are shared between the results of successive calls.
  const endpoint = (offset: number, length: number, port: number, ipv6: boolean): SocketEndpoint | null =>
    length < 0 ? null : Object.freeze({ address: address(offset, length), family: ipv6 ? 'IPv6' : 'IPv4', port });

  // Cacheable TCP sockets met while decoding, and how many of them were not known yet.
  const seen: CachedTcp[] = [];
  let seenNew = 0;
  const decode = (at: number): HandleInfo => {
    const r = records;
    const type = r[at + F_TYPE]!;
    const flags = r[at + F_FLAGS]!;
    const active = (flags & ACTIVE) !== 0;
    const referenced = (flags & REFERENCED) !== 0;
    const closing = (flags & CLOSING) !== 0;
    const own = (flags & OWN) !== 0;
    const fd = orNull(r[at + F_FD]!);
    switch (type) {
      case T.tcp: {
        const id = r[at + F_ID]!;
        const cached = (flags & KNOWN) !== 0 ? known.get(id) : undefined;
        let tcp = cached?.tcp;
        if (tcp === undefined) {
          tcp = {
            listening: (flags & LISTENING) !== 0,
            local: endpoint(r[at + F_STR0]!, r[at + F_STR0_LEN]!, r[at + F_A]!, (flags & LOCAL_IPV6) !== 0),
            remote: endpoint(r[at + F_STR1]!, r[at + F_STR1_LEN]!, r[at + F_B]!, (flags & REMOTE_IPV6) !== 0),
          };
        }
        if (cached !== undefined) {
          seen.push(cached);
        } else {
          const cookie = r[at + F_COOKIE]!;
          if (!Number.isNaN(cookie) && !Number.isNaN(id) && fd !== null && !closing && (tcp.listening || (tcp.local !== null && tcp.remote !== null))) {
            seen.push({ id, fd, cookie, tcp });
            seenNew++;
          }
        }
        return {
          type: 'tcp', active, referenced, closing, own, fd,
          listening: tcp.listening,
          local: tcp.local,
          remote: tcp.remote,
          writeQueueBytes: r[at + F_QUEUE]!,
          readable: (flags & READABLE) !== 0,
          writable: (flags & WRITABLE) !== 0,
        };
      }
      case T.udp:
        return {
          type: 'udp', active, referenced, closing, own, fd,
          local: endpoint(r[at + F_STR0]!, r[at + F_STR0_LEN]!, r[at + F_A]!, (flags & LOCAL_IPV6) !== 0),
          remote: endpoint(r[at + F_STR1]!, r[at + F_STR1_LEN]!, r[at + F_B]!, (flags & REMOTE_IPV6) !== 0),
          sendQueueBytes: r[at + F_QUEUE]!,
          sendQueueCount: r[at + F_C]!,
        };
      case T.pipe:
        return {
          type: 'pipe', active, referenced, closing, own, fd,
          listening: (flags & LISTENING) !== 0,
          path: text(r[at + F_STR0]!, r[at + F_STR0_LEN]!),
          peerPath: text(r[at + F_STR1]!, r[at + F_STR1_LEN]!),
          writeQueueBytes: r[at + F_QUEUE]!,
          readable: (flags & READABLE) !== 0,
          writable: (flags & WRITABLE) !== 0,
        };
      case T.tty:
        return {
          type: 'tty', active, referenced, closing, own, fd,
          columns: orNull(r[at + F_A]!),
          rows: orNull(r[at + F_B]!),
          writeQueueBytes: r[at + F_QUEUE]!,
          readable: (flags & READABLE) !== 0,
          writable: (flags & WRITABLE) !== 0,
        };
      case T.timer:
        return { type: 'timer', active, referenced, closing, own, fd, dueInMs: orNull(r[at + F_A]!), repeatMs: r[at + F_B]! };
      case T.process:
        return { type: 'process', active, referenced, closing, own, fd, pid: r[at + F_A]! };
      case T.signal: {
        const signum = orNull(r[at + F_A]!);
        return { type: 'signal', active, referenced, closing, own, fd, signum, signal: signum === null ? null : (signalNames[signum] ?? null) };
      }
      case T.fs_event:
        return { type: 'fs_event', active, referenced, closing, own, fd, path: text(r[at + F_STR0]!, r[at + F_STR0_LEN]!) };
      case T.fs_poll:
        return { type: 'fs_poll', active, referenced, closing, own, fd, path: text(r[at + F_STR0]!, r[at + F_STR0_LEN]!) };
      case T.poll:
        return { type: 'poll', active, referenced, closing, own, fd };
      case T.async:
      case T.check:
      case T.idle:
      case T.prepare:
        return { type: typeNames[type] as 'async' | 'check' | 'idle' | 'prepare', active, referenced, closing, own, fd };
      default:
        return { type: 'unknown', active, referenced, closing, own, fd, typeName: typeNames[type] ?? `#${type}` };
    }
  };

  /** Every handle on this thread's loop (uv_walk), in libuv's order (oldest first). */
  function handles(options?: HandlesOptions): HandleInfo[] {
    const opts = optionsObject(options);
    const includeOwn = booleanOption(opts.includeOwn, 'options.includeOwn', false);
    const referencedOnly = booleanOption(opts.referencedOnly, 'options.referencedOnly', false);
    const endpoints = booleanOption(opts.endpoints, 'options.endpoints', true);
    const bits = (includeOwn ? OPT_INCLUDE_OWN : 0) | (referencedOnly ? OPT_REFERENCED_ONLY : 0) | (endpoints ? OPT_KERNEL : 0);
    const count = walk(bits, endpoints ? knownTriples : noTriples);
    const out = new Array<HandleInfo>(count);
    seen.length = 0;
    seenNew = 0;
    for (let i = 0, at = header; i < count; i++, at += stride) out[i] = decode(at);
    addresses.clear();
    // Only a full listing can tell which sockets are gone, so only it renews the cache, and
    // only when a socket came or went.
    if (endpoints && !referencedOnly && (seenNew > 0 || seen.length !== known.size)) {
      known = new Map();
      for (const entry of seen) known.set(entry.id, entry);
      const ids = Float64Array.from(known.keys()).sort();
      knownTriples = new Float64Array(ids.length * 3);
      for (let i = 0; i < ids.length; i++) {
        const entry = known.get(ids[i]!)!;
        knownTriples[i * 3] = entry.id;
        knownTriples[i * 3 + 1] = entry.fd;
        knownTriples[i * 3 + 2] = entry.cookie;
      }
    }
    seen.length = 0;
    return out;
  }

  /** Handle counts now, without building per-handle objects (no system call). */
  function handleSummary(options?: HandleSummaryOptions): HandleSummary {
    const opts = optionsObject(options);
    const includeOwn = booleanOption(opts.includeOwn, 'options.includeOwn', false);
    native.handlesCount(counts, includeOwn);
    const byType: Record<string, number> = {};
    for (let id = 0; id < layout.countSize - layout.countHeader; id++) {
      const n = counts[layout.countHeader + id]!;
      if (n > 0) byType[typeNames[id]!] = n;
    }
    return { total: counts[0]!, active: counts[1]!, referenced: counts[2]!, byType };
  }

  /** What keeps this thread's loop alive now: active referenced handles and requests in flight. */
  function whyAlive(options?: WhyAliveOptions): AliveReport {
    const opts = optionsObject(options);
    const stacks = booleanOption(opts.stacks, 'options.stacks', false);
    if (stacks && tracker?.tracking() !== true) {
      throw new UvscopeError('ERR_UVSCOPE_HANDLE_TRACKING_OFF', 'uvscope: whyAlive({ stacks: true }) needs handle creation tracking: call trackHandles() before the handles are created');
    }
    const alive = handles({ referencedOnly: true });
    if (stacks) {
      const origins = tracker!.originsOf(alive);
      for (let i = 0; i < alive.length; i++) alive[i]!.createdAt = origins[i]!;
    }
    const activeRequests = records[2]!;
    const nodeResources: Record<string, number> = {};
    for (const name of process.getActiveResourcesInfo()) nodeResources[name] = (nodeResources[name] ?? 0) + 1;
    return new Alive(alive.length > 0 || activeRequests > 0, alive, activeRequests, nodeResources);
  }

  return { handles, handleSummary, whyAlive };
}

class Alive implements AliveReport {
  constructor(
    readonly alive: boolean,
    readonly handles: HandleInfo[],
    readonly activeRequests: number,
    readonly nodeResources: Record<string, number>,
  ) {}

  toString(): string {
    const counts = `${plural(this.handles.length, 'handle')}, ${plural(this.activeRequests, 'request')}`;
    const named = (names: string[]) => names.map((name) => (this.nodeResources[name] === 1 ? name : `${name} x${this.nodeResources[name]}`));
    const node = named(Object.keys(this.nodeResources));
    const nodeText = node.length > 0 ? `Node: ${node.join(', ')}` : '';
    if (!this.alive) {
      // JavaScript timers without an active timer handle: called inside a timer callback,
      // Node re-arms its handle when the callback returns.
      const timers = named(['Timeout', 'Immediate'].filter((name) => this.nodeResources[name] !== undefined));
      if (timers.length === 0) return `nothing keeps the loop alive (${counts})`;
      return `no active ref'd handle or request (${counts}) | Node: ${timers.join(', ')}`;
    }
    const parts = this.handles.map((h) => describeHandle(h) + originText(h));
    if (this.activeRequests > 0) parts.push(plural(this.activeRequests, 'active request'));
    return `alive (${counts}): ${[parts.join('; '), nodeText].filter((x) => x !== '').join(' | ')}`;
  }

  toJSON(): Omit<AliveReport, 'toString'> {
    return { alive: this.alive, handles: this.handles, activeRequests: this.activeRequests, nodeResources: this.nodeResources };
  }
}

/** `1 handle`, `2 handles`. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `127.0.0.1:80`, `[::1]:80`, or `?` when unknown. */
export const endpointText = (e: SocketEndpoint | null): string => (e === null ? '?' : e.family === 'IPv6' ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);
const fdText = (h: HandleInfoCommon): string => (h.fd === null ? '' : ` fd ${h.fd}`);

/** Handle types whose creation trackHandles() can see (the others are Node's or addons' own). */
const TRACKABLE = new Set<HandleInfo['type']>(['tcp', 'udp', 'pipe', 'tty', 'timer', 'process', 'signal', 'fs_event', 'fs_poll']);

/** `fn (file:line:column)`, or `file:line:column` for top-level and anonymous code. */
export const frameText = (f: StackFrame): string => (f.functionName === '' ? `${f.url}:${f.line}:${f.column}` : `${f.functionName} (${f.url}:${f.line}:${f.column})`);

/** ` (created at listen (server.js:12:10))`, `+2 more` for a timer with several; '' without stacks. */
export function originText(h: HandleInfo): string {
  const origins = h.createdAt;
  if (origins === undefined) return '';
  if (origins.length === 0) return TRACKABLE.has(h.type) ? ' (created: not seen)' : '';
  const { stack, via, resource } = origins[0]!;
  const site = stack[0] === undefined ? resource : frameText(stack[0]);
  const more = origins.length > 1 ? ` +${origins.length - 1} more` : '';
  if (via === 'TCPSERVERWRAP' || via === 'PIPESERVERWRAP') return ` (accepted by a server created at ${site}${more})`;
  return ` (created at ${site}${via === 'GETADDRINFOREQWRAP' ? ', after a host lookup' : ''}${more})`;
}

/** A short phrase naming one handle so a person recognizes it. */
export function describeHandle(h: HandleInfo): string {
  switch (h.type) {
    case 'tcp':
      if (h.listening) return `tcp server ${endpointText(h.local)}`;
      if (h.remote !== null) return `tcp ${endpointText(h.local)} -> ${endpointText(h.remote)}`;
      return `tcp${h.local === null ? fdText(h) : ` ${endpointText(h.local)}`} (not connected)`;
    case 'udp':
      return `udp ${endpointText(h.local)}${h.remote === null ? '' : ` -> ${endpointText(h.remote)}`}`;
    case 'pipe':
      if (h.listening) return `pipe server ${h.path ?? '?'}`;
      if (h.peerPath !== null) return `pipe -> ${h.peerPath}`;
      if (h.path !== null) return `pipe ${h.path}`;
      return `pipe${fdText(h)}`;
    case 'tty':
      return `tty${fdText(h)}`;
    case 'timer':
      return `timer${h.dueInMs === null ? '' : ` due in ${h.dueInMs} ms`}${h.repeatMs > 0 ? ` every ${h.repeatMs} ms` : ''}`;
    case 'process':
      return `child process pid ${h.pid}`;
    case 'signal':
      return `signal ${h.signal ?? h.signum ?? '?'}`;
    case 'fs_event':
      return `fs_event (fs.watch) ${h.path ?? '?'}`;
    case 'fs_poll':
      return `fs_poll (fs.watchFile) ${h.path ?? '?'}`;
    case 'poll':
      return `poll${fdText(h)}`;
    case 'unknown':
      return `${h.typeName}${fdText(h)}`;
    default:
      return h.type;
  }
}
