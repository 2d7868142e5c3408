import { arrayOrRevoked, invalidArgType, invalidArgValue } from './errors.js';

/** `undefined` becomes `{}`; anything but a plain object throws a TypeError naming `name`. */
export function optionsObject<T extends object>(value: T | undefined, name = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || arrayOrRevoked(value) !== false) {
    throw invalidArgType(name, 'an object', value);
  }
  return value;
}

export interface NumberRange {
  min?: number;
  max?: number;
  integer?: boolean;
}

/** A finite number within `range`, or `fallback` when `value` is undefined. */
export function numberOption(value: unknown, name: string, fallback: number, range: NumberRange = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'a number', value);
  if (!Number.isFinite(value)) throw invalidArgValue(name, 'a finite number', value);
  if (range.integer && !Number.isInteger(value)) throw invalidArgValue(name, 'an integer', value);
  if (range.min !== undefined && value < range.min) throw invalidArgValue(name, `>= ${range.min}`, value);
  if (range.max !== undefined && value > range.max) throw invalidArgValue(name, `<= ${range.max}`, value);
  return value;
}

/** A boolean, or `fallback` when `value` is undefined. */
export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'a boolean', value);
  return value;
}

/** An AbortSignal, or undefined. */
export function signalOption(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  let signal = false;
  try {
    signal = value instanceof AbortSignal;
  } catch {
    // A revoked Proxy: instanceof reads its prototype, which throws.
  }
  if (!signal) throw invalidArgType(name, 'an AbortSignal', value);
  return value as AbortSignal;
}
