/** Stable codes carried by every error uvscope throws. */
export type UvscopeErrorCode =
  /** Not Node.js (Bun, Deno, a browser), or a Node without the Node-API uvscope needs. */
  | 'ERR_UVSCOPE_UNSUPPORTED_RUNTIME'
  /** No prebuilt or locally built binary fits this platform, architecture and Node. */
  | 'ERR_UVSCOPE_BINARY_NOT_FOUND'
  /**
   * Node's permission model (`--permission`) forbids what loading uvscope needs: native
   * addons (`--allow-addons`) or reading its own package directory (`--allow-fs-read`).
   */
  | 'ERR_UVSCOPE_PERMISSION_DENIED'
  /** An argument or option has the wrong type (thrown as a `TypeError`). */
  | 'ERR_UVSCOPE_INVALID_ARG_TYPE'
  /** An argument or option has the right type but a value out of range (a `RangeError`). */
  | 'ERR_UVSCOPE_INVALID_ARG_VALUE'
  /** `whyAlive({ stacks: true })` while handle creation tracking is off (see `trackHandles()`). */
  | 'ERR_UVSCOPE_HANDLE_TRACKING_OFF';

const brand = Symbol.for('uvscope.error');

interface Branded {
  readonly [brand]: true;
  readonly code: UvscopeErrorCode;
}

/**
 * The class of every error uvscope throws. Argument errors are real `TypeError` or
 * `RangeError` instances (so `instanceof TypeError` holds) and still pass
 * `instanceof UvscopeError`; check `code` to tell them apart.
 */
export class UvscopeError extends Error {
  readonly code: UvscopeErrorCode;
  declare readonly [brand]: true;

  constructor(code: UvscopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UvscopeError';
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Partial<Branded>)[brand] === true;
  }
}

function mark<E extends Error>(error: E, code: UvscopeErrorCode): E & { code: UvscopeErrorCode } {
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  Object.defineProperty(error, brand, { value: true });
  return error as E & { code: UvscopeErrorCode };
}

/**
 * `Array.isArray(value)`, or null for a revoked Proxy: every operation on one throws V8's
 * own TypeError (without a `code`), including the checks that format uvscope's errors.
 */
export function arrayOrRevoked(value: object): boolean | null {
  try {
    return Array.isArray(value);
  } catch {
    return null;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') {
    const array = arrayOrRevoked(value);
    return array === null ? 'a revoked Proxy' : array ? 'an array' : 'an object';
  }
  return typeof value;
}

/** A TypeError naming the argument, e.g. `options.intervalMs must be a number; got string "5"`. */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  return mark(new TypeError(`uvscope: ${name} must be ${expected}; got ${describe(actual)}`), 'ERR_UVSCOPE_INVALID_ARG_TYPE');
}

/** A RangeError naming the argument, e.g. `options.intervalMs must be >= 1; got -5`. */
export function invalidArgValue(name: string, constraint: string, actual: unknown): RangeError {
  return mark(new RangeError(`uvscope: ${name} must be ${constraint}; got ${describe(actual)}`), 'ERR_UVSCOPE_INVALID_ARG_VALUE');
}
