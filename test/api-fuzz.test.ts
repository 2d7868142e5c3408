import { describe, expect, it } from 'vitest';

import { uvscope } from './helpers/uvscope.js';

// Wrong types, NaN, negatives, huge numbers and junk options, fed to every exported
// function (so a new export is covered the day it lands). Each call must either succeed
// or throw a TypeError/RangeError with a uvscope code whose message names the argument;
// afterwards the process must still work.
const junk: unknown[] = [
  null,
  Number.NaN,
  -1,
  0,
  1e308,
  -Infinity,
  Infinity,
  '',
  'x',
  true,
  [],
  [1, 2],
  () => 1,
  Symbol('s'),
  10n,
  new Date(0),
  Object.create(null),
];
const optionJunk = ['intervalMs', 'minBusyMs', 'signal', 'ref', 'includeOwn', 'referencedOnly', 'track', 'bufferSize', 'stacks'].flatMap(
  (key) => [Number.NaN, -5, 1e308, 'x', {}, null, true].map((value) => ({ [key]: value })),
);

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterator<unknown>).next === 'function';
}

const exported = Object.entries(uvscope).filter(
  ([name, value]) => typeof value === 'function' && name !== 'UvscopeError',
) as [string, (...args: unknown[]) => unknown][];

describe('every public function under bad input', () => {
  it('has functions to test', () => {
    expect(exported.map(([name]) => name)).toContain('runtime');
  });

  for (const [name, fn] of exported) {
    it(`${name}() fails cleanly or works`, async () => {
      for (const value of [...junk, ...optionJunk]) {
        let result: unknown;
        try {
          result = fn(value);
        } catch (error) {
          const e = error as Error & { code?: string };
          // A valid option that needs a state turned on first (documented).
          if (name === 'whyAlive' && e.code === 'ERR_UVSCOPE_HANDLE_TRACKING_OFF' && (value as { stacks?: unknown })?.stacks === true) continue;
          const kindOk = e instanceof TypeError || e instanceof RangeError;
          if (!kindOk || !/^ERR_UVSCOPE_INVALID_ARG_(TYPE|VALUE)$/.test(e.code ?? '')) {
            throw new Error(`${name}(${String(typeof value === 'symbol' ? 'Symbol' : JSON.stringify(value))}) threw ${e?.name}: ${e?.message}`);
          }
          expect(e).toBeInstanceOf(uvscope.UvscopeError);
          expect(e.message).toMatch(/uvscope: \S+ must be/);
          continue;
        }
        if (result instanceof Promise) await result.catch(() => undefined);
        if (isAsyncIterator(result)) await result.return?.();
      }
    });
  }

  it('still works afterwards', () => {
    expect(uvscope.runtime().uvVersion).toBe(process.versions.uv);
  });
});
