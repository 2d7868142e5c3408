// Text helpers for the live view and the summary: numbers that fit in a few columns,
// sparklines, colour that can be turned off, and width-exact lines.

const BARS = '▁▂▃▄▅▆▇█';

/** A duration in a short, fixed-precision form: `0.02ms`, `12.3ms`, `812ms`, `4.20s`, `22.3s`. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const v = Math.max(0, value);
  if (v < 1) return `${v.toFixed(2)}ms`;
  if (v < 100) return `${v.toFixed(1)}ms`;
  if (v < 999.5) return `${Math.round(v)}ms`;
  return `${(v / 1000).toFixed(v < 9_995 ? 2 : 1)}s`;
}

/** Seconds with one decimal: `12.3s`; minutes past 10 min: `12m05s`. */
export function seconds(valueMs: number): string {
  const s = Math.max(0, valueMs) / 1000;
  if (s < 600) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s - m * 60)).padStart(2, '0')}s`;
}

/** 0..1 as a whole percentage: `63%`. */
export function percent(ratio: number): string {
  return `${Math.round(Math.max(0, Math.min(1, ratio)) * 100)}%`;
}

/** An integer with thousands separators, or `-` for null. */
export function count(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return Math.round(value).toLocaleString('en-US');
}

/**
 * A sparkline of `values` (oldest first) in `width` columns, newest at the right.
 * Scaled to `max` (default: the largest value); nulls are blanks.
 */
export function sparkline(values: readonly (number | null)[], width: number, max?: number): string {
  const shown = values.slice(-width);
  const top = max ?? Math.max(0, ...shown.map((v) => v ?? 0));
  let out = '';
  for (const v of shown) {
    if (v === null || !Number.isFinite(v)) out += ' ';
    else if (top <= 0 || v <= 0) out += BARS[0];
    else out += BARS[Math.min(BARS.length - 1, Math.floor((v / top) * (BARS.length - 1) + 0.5))];
  }
  return out.padStart(width, ' ');
}

/** ANSI styling that turns into plain text when colour is off. */
export interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  inverse(text: string): string;
}

export function paint(enabled: boolean): Paint {
  const wrap = (open: number, close: number) => (text: string) => (enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), yellow: wrap(33, 39), inverse: wrap(7, 27) };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Visible length: every character the live view uses is one column wide. */
export function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** Cuts `text` to `width` visible columns (escape sequences kept, styles closed). */
export function fit(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  let out = '';
  let shown = 0;
  let styled = false;
  for (let i = 0; i < text.length && shown < width; ) {
    if (text[i] === '\x1b') {
      const end = text.indexOf('m', i);
      out += text.slice(i, end + 1);
      styled = true;
      i = end + 1;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    out += ch;
    i += ch.length;
    shown++;
  }
  return styled ? out + '\x1b[0m' : out;
}

/** A command line for display: arguments with spaces quoted, the node binary shortened. */
export function commandLine(argv: readonly string[]): string {
  return argv
    .map((arg, i) => (i === 0 && /(^|\/)node$/.test(arg) ? 'node' : arg))
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
