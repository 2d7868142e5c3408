// Command-line parsing and checks. Every message names the option and says what it takes.
import { parseArgs } from 'node:util';

import { INTERVAL_DEFAULT_MS, INTERVAL_MAX_MS, INTERVAL_MIN_MS, SLOW_DEFAULT_MS, SLOW_MAX_MS } from './protocol.js';
import { STALL_DEFAULT_MS, STALL_MAX_MS } from './protocol.js';

export interface CliOptions {
  intervalMs: number;
  json: boolean;
  out: string | null;
  slowMs: number;
  /** Stall capture threshold, ms; 0 turns capture off. */
  stallMs: number;
  summary: boolean;
  color: boolean | null;
}

export type Parsed =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'run'; options: CliOptions; command: string[] };

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const HELP = `Usage: uvscope [options] -- <command> [args...]

Runs <command> (a Node.js program, or anything that starts Node, such as npm) with
uvscope loaded first in every Node process and worker thread it starts, shows what
each event loop is doing while it runs, and prints a summary when it ends.

On a terminal: a live view at the bottom of the screen, refreshed every interval;
the program's own output scrolls above it. Otherwise (or with --json): one JSON
line per thread per interval, on stderr or in the --out file (format: README, "JSON lines").

The program's stdin, stdout and stderr are its own: uvscope reports through files
in a private temporary directory. Signals sent to uvscope (SIGINT, SIGTERM,
SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) are forwarded to the program. uvscope exits
with the program's exit code, or 128 + the signal number if a signal ended it.

Options:
  --interval <ms>   Window length and refresh period, ms; ${INTERVAL_MIN_MS} to ${INTERVAL_MAX_MS}.
                    Default ${INTERVAL_DEFAULT_MS}.
  --json            JSON lines instead of the live view, even on a terminal.
  --out <file>      Write the JSON lines to <file> (created or truncated); the
                    live view stays on the terminal if there is one.
  --slow-ms <ms>    Record the phase breakdown of every iteration at least this
                    busy, ms; 0 to ${SLOW_MAX_MS}. Default ${SLOW_DEFAULT_MS}.
  --stall-ms <ms>   Capture what blocks a loop for longer than this (the stack of
                    the main thread, the thread's system call), ms; 1 to
                    ${STALL_MAX_MS}, 0 turns it off. Default ${STALL_DEFAULT_MS}.
  --no-summary      Print no summary at the end.
  --no-color        No colours (also when NO_COLOR is set).
  --color           Colours even when stderr is not a terminal.
  -h, --help        This help.
  -v, --version     uvscope's version.

Examples:
  uvscope -- node server.js
  uvscope --interval 500 -- npm start
  uvscope --json --out loop.jsonl -- node --test
  npm start          (in the uvscope repository: the bundled demo of loop pitfalls)

Exit codes: the program's; 2 for a usage error; 126/127 when the command cannot be
run or is not found.`;

/** Options that take a value: their values are never mistaken for the start of the command. */
const WITH_VALUE = new Set(['--interval', '--out', '--slow-ms', '--stall-ms']);

function splitCommand(argv: readonly string[]): { own: string[]; command: string[] } {
  const dashes = argv.indexOf('--');
  if (dashes !== -1) return { own: argv.slice(0, dashes), command: argv.slice(dashes + 1) };
  // Without `--`, the command starts at the first word that is not an option or its value.
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) break;
    i += WITH_VALUE.has(arg) ? 2 : 1;
  }
  return { own: argv.slice(0, i), command: argv.slice(i) };
}

function integerMs(raw: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const trimmed = raw.trim();
  const value = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a number of milliseconds from ${min} to ${max}; got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function parse(argv: readonly string[]): Parsed {
  const { own, command } = splitCommand(argv);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: own,
      strict: true,
      allowPositionals: false,
      options: {
        interval: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        'slow-ms': { type: 'string' },
        'stall-ms': { type: 'string' },
        summary: { type: 'boolean' },
        'no-summary': { type: 'boolean' },
        color: { type: 'boolean' },
        'no-color': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }));
  } catch (error) {
    // parseArgs' messages name the option; drop its advice about `--` which is ours to give.
    const message = (error as Error).message.replace(/;? ?To specify a positional argument.*$/s, '');
    throw new UsageError(message);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (command.length === 0 || command[0] === '') {
    throw new UsageError('no command to run: put it after `--`, for example `uvscope -- node app.js`');
  }
  const intervalMs = integerMs(values.interval as string | undefined, '--interval', INTERVAL_DEFAULT_MS, INTERVAL_MIN_MS, INTERVAL_MAX_MS);
  const slowMs = integerMs(values['slow-ms'] as string | undefined, '--slow-ms', SLOW_DEFAULT_MS, 0, SLOW_MAX_MS);
  const stallMs = integerMs(values['stall-ms'] as string | undefined, '--stall-ms', STALL_DEFAULT_MS, 0, STALL_MAX_MS);
  const out = values.out as string | undefined;
  if (out !== undefined && out.trim() === '') throw new UsageError('--out must name a file; got an empty string');
  return {
    kind: 'run',
    command,
    options: {
      intervalMs,
      json: values.json === true,
      out: out ?? null,
      slowMs,
      stallMs,
      summary: values['no-summary'] !== true,
      color: values['no-color'] === true ? false : values.color === true ? true : null,
    },
  };
}
