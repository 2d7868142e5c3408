// trackHandles(): where the handles that keep a loop alive were created (opt-in, per thread).
//
// An async_hooks `init` callback keeps, for each new handle-backed resource (sockets, servers,
// pipes, child processes, watchers, signal handlers, JavaScript timers), the resource and a
// captured call stack. The stack is captured structured and formatted only when whyAlive()
// asks for it, so tracking costs one captureStackTrace per handle created. No destroy hook:
// a destroy hook makes Node track every promise's collection. Entries whose resource is gone
// (closed: fd -1, timers destroyed) are dropped when the table is pruned.
import { createHook, executionAsyncId, type AsyncHook } from 'node:async_hooks';
import { sep } from 'node:path';

import type { HandleInfo, HandleOrigin, StackFrame } from './types.js';
import { booleanOption } from './validate.js';

/** The async_hooks resource types tracked, by the uv handle type they stand behind. */
const RESOURCE_HANDLE: Record<string, HandleInfo['type']> = {
  TCPWRAP: 'tcp',
  TCPSERVERWRAP: 'tcp',
  PIPEWRAP: 'pipe',
  PIPESERVERWRAP: 'pipe',
  TTYWRAP: 'tty',
  UDPWRAP: 'udp',
  PROCESSWRAP: 'process',
  SIGNALWRAP: 'signal',
  FSEVENTWRAP: 'fs_event',
  STATWATCHER: 'fs_poll',
  // Node runs every JavaScript timer on one uv timer: each ref'd Timeout is an origin of it.
  Timeout: 'timer',
};

/** Frames kept per origin (user frames first; Node's own frames only when there is no other). */
const FRAMES_KEPT = 8;
/** Frames captured: node:net and node:http add a dozen between the user's call and the hook. */
const FRAMES_CAPTURED = 40;

/**
 * Resources from whose callbacks Node creates handles, where the handle's own stack holds
 * only Node's frames: `listen()`/`connect()` with a host look it up first (a
 * GETADDRINFOREQWRAP, or a TickObject for an IP address). Their creation stacks are kept in
 * a small ring, only long enough for a handle created in their callback to take theirs.
 */
const PRECURSORS = new Set(['TickObject', 'GETADDRINFOREQWRAP']);
const PRECURSOR_RING = 256;
/** Frames captured for a precursor: enough to reach the application's call through net/dns. */
const PRECURSOR_FRAMES = 16;

interface Site {
  type: string;
  site: { stack?: unknown };
}

interface Tracked {
  type: string;
  handle: HandleInfo['type'];
  /** A handle that triggered this one (a server for its accepted connections), by asyncId. */
  trigger: number;
  /** The precursor in whose callback this handle was created, if one was seen. */
  cause: Site | null;
  // Weak: a closed handle's wrap is collected, and with it the entry (at the next prune).
  resource: WeakRef<object>;
  site: { stack?: unknown };
}

/** This package's own directory (the CommonJS build; the ESM entry re-exports it): uvscope's
 * own frames are never an origin. */
const ownDir = __dirname;

const isInternal = (file: string): boolean => file === '' || file.startsWith('node:') || file.startsWith(ownDir + sep);

interface CallSiteLike {
  getFunctionName(): string | null;
  getMethodName(): string | null;
  getTypeName(): string | null;
  getFileName(): string | null;
  getScriptNameOrSourceURL?(): string | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  isConstructor(): boolean;
  isToplevel(): boolean;
}

function frameOf(site: CallSiteLike): StackFrame {
  const fn = site.getFunctionName();
  let functionName = fn ?? '';
  if (site.isConstructor()) functionName = `new ${fn ?? '<anonymous>'}`;
  else if (!site.isToplevel()) {
    const type = site.getTypeName();
    const method = site.getMethodName();
    if (type !== null && type !== 'Object' && fn !== null && !fn.startsWith(`${type}.`)) functionName = `${type}.${fn}`;
    else if (fn === null && method !== null) functionName = `${type ?? '<anonymous>'}.${method}`;
  }
  return {
    functionName,
    url: site.getScriptNameOrSourceURL?.() ?? site.getFileName() ?? '',
    line: site.getLineNumber() ?? 0,
    column: site.getColumnNumber() ?? 0,
  };
}

/**
 * A captured site's frames: the application's, or with `orNode` Node's when there is no
 * other. V8 keeps the call sites until the first read and the array after it.
 */
function framesOf(site: { stack?: unknown }, orNode: boolean): StackFrame[] {
  const saved = Error.prepareStackTrace;
  let sites: CallSiteLike[] | undefined;
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const value = site.stack;
    if (Array.isArray(value)) sites = value as CallSiteLike[];
  } finally {
    Error.prepareStackTrace = saved;
  }
  if (sites === undefined) return [];
  const user: StackFrame[] = [];
  const all: StackFrame[] = [];
  for (const callSite of sites) {
    const frame = frameOf(callSite);
    if (frame.url === '' && frame.functionName === '') continue;
    if (all.length < FRAMES_KEPT) all.push(frame);
    if (!isInternal(frame.url) && user.length < FRAMES_KEPT) user.push(frame);
  }
  return user.length > 0 || !orNode ? user : all;
}

/**
 * Node's wraps point to the object that owns them (`net.Socket`, `net.Server`, a
 * `ChildProcess`, an `FSWatcher`...) through an internal symbol, and the owner lets go of
 * its wrap when it closes. Only a wrap its owner still holds may be asked for its fd: Node's
 * `fd` getter reads freed memory on a wrap whose handle was closed and freed.
 */
let ownerSymbol: symbol | null | undefined;
function ownerOf(resource: object): object | null {
  if (ownerSymbol === undefined) {
    const found = Object.getOwnPropertySymbols(resource).find((sym) => sym.description === 'owner_symbol');
    if (found === undefined) return null;
    ownerSymbol = found;
  }
  if (ownerSymbol === null) return null;
  const owner = (resource as Record<symbol, unknown>)[ownerSymbol];
  return typeof owner === 'object' && owner !== null ? owner : null;
}

/** Whether the wrap's owner still holds it (`_handle`, or dgram's state `handle`); null without an owner. */
function held(resource: object): boolean | null {
  const owner = ownerOf(resource);
  if (owner === null) return null;
  if ((owner as { _handle?: unknown })._handle === resource) return true;
  for (const sym of Object.getOwnPropertySymbols(owner)) {
    const state = (owner as Record<symbol, unknown>)[sym];
    if (typeof state === 'object' && state !== null && (state as { handle?: unknown }).handle === resource) return true;
  }
  return false;
}

/** A held wrap's file descriptor (-1 before bind/connect), or null when it may not be read. */
function fdOf(resource: object): number | null {
  if (held(resource) !== true) return null;
  const fd = (resource as { fd?: unknown }).fd;
  return typeof fd === 'number' ? fd : null;
}

function pidOf(resource: object): number | null {
  const pid = (resource as { pid?: unknown }).pid;
  return typeof pid === 'number' && pid > 0 ? pid : null;
}

/** A JavaScript timer that is still pending and ref'd (one that keeps the loop alive). */
function timeoutAlive(resource: object): boolean {
  const t = resource as { _destroyed?: unknown; hasRef?: () => boolean };
  if (t._destroyed === true) return false;
  try {
    return typeof t.hasRef === 'function' ? t.hasRef() : true;
  } catch {
    return false;
  }
}

export interface HandleTracker {
  /** Turns creation tracking on (default) or off for this thread. */
  trackHandles(enabled?: boolean): void;
  /** Whether tracking is on on this thread. */
  tracking(): boolean;
  /** Origins for each of `alive` (in order); empty arrays where none is known. */
  originsOf(alive: readonly HandleInfo[]): HandleOrigin[][];
}

export function makeHandleTracker(): HandleTracker {
  let hook: AsyncHook | undefined;
  let entries = new Map<number, Tracked>();
  // Pruned when the table doubles since the last prune, so its size follows the live handles.
  let pruneAt = 1024;
  // Sockets read fd -1 between their creation and their bind/connect (the same tick), and
  // again once closed: one prune's grace tells the two apart.
  let graced = new WeakSet<object>();

  const ringIds = new Array<number>(PRECURSOR_RING).fill(-1);
  const ringSites = new Array<Site | null>(PRECURSOR_RING).fill(null);
  let ringNext = 0;
  const precursor = (id: number): Site | null => {
    for (let i = 0; i < PRECURSOR_RING; i++) if (ringIds[i] === id) return ringSites[i]!;
    return null;
  };

  const capture = (frames: number): { stack?: unknown } => {
    const site: { stack?: unknown } = {};
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = frames;
    Error.captureStackTrace(site, init);
    Error.stackTraceLimit = limit;
    return site;
  };

  const init = (asyncId: number, type: string, trigger: number, resource: object): void => {
    const handle = RESOURCE_HANDLE[type];
    if (handle === undefined) {
      if (PRECURSORS.has(type)) {
        ringIds[ringNext] = asyncId;
        ringSites[ringNext] = { type, site: capture(PRECURSOR_FRAMES) };
        ringNext = (ringNext + 1) % PRECURSOR_RING;
      }
      return;
    }
    const site = capture(FRAMES_CAPTURED);
    const cause = precursor(trigger) ?? precursor(executionAsyncId());
    entries.set(asyncId, { type, handle, trigger, cause, resource: new WeakRef(resource), site });
    if (entries.size >= pruneAt) prune();
  };

  /** The entry's resource if it may still stand behind an open handle. */
  const current = (entry: Tracked, pruning: boolean): object | undefined => {
    const resource = entry.resource.deref();
    if (resource === undefined) return undefined;
    if (entry.handle === 'timer') return timeoutAlive(resource) ? resource : undefined;
    const state = held(resource);
    if (state === true || (state === null && entry.handle === 'signal')) return resource;
    // A wrap gets its owner just after it is created (the same tick): one prune's grace.
    if (state === null && pruning && !graced.has(resource)) {
      graced.add(resource);
      return resource;
    }
    return undefined;
  };

  const prune = (): void => {
    const kept = new Map<number, Tracked>();
    for (const [id, entry] of entries) if (current(entry, true) !== undefined) kept.set(id, entry);
    entries = kept;
    pruneAt = Math.max(1024, kept.size * 2);
  };

  function trackHandles(enabled?: boolean): void {
    const on = booleanOption(enabled, 'enabled', true);
    if (on && hook === undefined) {
      // trackPromises: false (Node 26.1+; ignored before) spares every promise the hook call.
      hook = createHook({ init, trackPromises: false } as Parameters<typeof createHook>[0]).enable();
    } else if (!on && hook !== undefined) {
      hook.disable();
      hook = undefined;
      entries = new Map();
      graced = new WeakSet();
      pruneAt = 1024;
    }
  }

  function originsOf(alive: readonly HandleInfo[]): HandleOrigin[][] {
    const byFd = new Map<number, Tracked[]>();
    const byPid = new Map<number, Tracked[]>();
    const timers: Tracked[] = [];
    // Handles with no key to match on (signal, fs_event, fs_poll): by creation order.
    const ordered = new Map<string, Tracked[]>();
    const add = <K>(map: Map<K, Tracked[]>, key: K, entry: Tracked) => {
      const list = map.get(key);
      if (list === undefined) map.set(key, [entry]);
      else list.push(entry);
    };
    for (const entry of entries.values()) {
      const resource = current(entry, false);
      if (resource === undefined) continue;
      switch (entry.handle) {
        case 'tcp':
        case 'pipe':
        case 'tty':
        case 'udp': {
          const fd = fdOf(resource);
          if (fd !== null) add(byFd, fd, entry);
          break;
        }
        case 'process': {
          const pid = pidOf(resource);
          if (pid !== null) add(byPid, pid, entry);
          break;
        }
        case 'timer':
          timers.push(entry);
          break;
        default:
          add(ordered, entry.handle, entry);
      }
    }
    // Created from a callback (a listen() after a lookup, an accepted connection): the
    // application's frames are where what it was created in was created.
    const traced = (entry: Tracked, depth: number): { stack: StackFrame[]; via: string } | null => {
      const own = framesOf(entry.site, false);
      if (own.length > 0) return { stack: own, via: entry.type };
      if (entry.cause !== null) {
        const frames = framesOf(entry.cause.site, false);
        if (frames.length > 0) return { stack: frames, via: entry.cause.type };
      }
      const trigger = entries.get(entry.trigger);
      if (trigger === undefined || depth >= 4) return null;
      const found = traced(trigger, depth + 1);
      return found === null ? null : { stack: found.stack, via: trigger.type };
    };
    const origin = (entry: Tracked): HandleOrigin => {
      const found = traced(entry, 0);
      if (found === null) return { resource: entry.type, stack: framesOf(entry.site, true), via: null };
      return { resource: entry.type, stack: found.stack, via: found.via === entry.type ? null : found.via };
    };
    const countOf = new Map<string, number>();
    for (const h of alive) countOf.set(h.type, (countOf.get(h.type) ?? 0) + 1);
    const nth = new Map<string, number>();
    return alive.map((h) => {
      switch (h.type) {
        case 'tcp':
        case 'pipe':
        case 'tty':
        case 'udp':
          return h.fd === null ? [] : (byFd.get(h.fd) ?? []).filter((e) => e.handle === h.type).map(origin);
        case 'process':
          return (byPid.get(h.pid) ?? []).map(origin);
        case 'timer':
          return h.own ? [] : timers.map(origin);
        case 'signal':
        case 'fs_event':
        case 'fs_poll': {
          // Matched one to one only when every listed handle of the type has a tracked
          // creation (all were created while tracking was on): otherwise the order says nothing.
          const tracked = ordered.get(h.type) ?? [];
          const i = nth.get(h.type) ?? 0;
          nth.set(h.type, i + 1);
          return tracked.length === countOf.get(h.type) ? [origin(tracked[i]!)] : [];
        }
        default:
          return [];
      }
    });
  }

  return { trackHandles, tracking: () => hook !== undefined, originsOf };
}
