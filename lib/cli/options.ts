// Command-line parsing and checks. Every message names the option and says what it takes.
import { parseArgs } from 'node:util';

import { INTERVAL_DEFAULT_MS, INTERVAL_MAX_MS, INTERVAL_MIN_MS, SLOW_DEFAULT_MS, SLOW_MAX_MS } from './protocol.js';
import { STALL_DEFAULT_MS, STALL_MAX_MS } from './protocol.js';

export interface CliOptions {
  intervalMs: number;
  json: boolean;
  out: string | null;
  slowMs: number;
  handleStacks: boolean;
  /** Stall capture threshold, ms; 0 turns capture off. */
  stallMs: number;
  summary: boolean;
  color: boolean | null;
  /** `--trace <file>`: a Chrome/Perfetto JSON trace (gzipped when the name ends in `.gz`). */
  trace: string | null;
  /** `--trace-all`: every iteration in the trace, not only the slow ones. */
  traceAll: boolean;
  /** `--trace-node`: Node's own trace events (`node.environment`) merged into the trace. */
  traceNode: boolean;
  /** `--report <file.html>`: a self-contained HTML report at the end. */
  report: string | null;
}

export type Parsed =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'report'; input: string; output: string }
  | { kind: 'run'; options: CliOptions; command: string[] };

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const HELP = `Usage: uvscope [options] -- <command> [args...]
       uvscope report <run.jsonl> -o <report.html>

Runs <command> (a Node.js program, or anything that starts Node, such as npm) with
uvscope loaded first in every Node process and worker thread it starts, shows what
each event loop is doing while it runs, and prints a summary when it ends.

On a terminal: a live view at the bottom of the screen, refreshed every interval;
the program's own output scrolls above it. Otherwise: only the summary, on stderr
once the program has ended. --json: one JSON line per thread per interval on stderr
(between the program's own stderr lines) instead of the live view; --out <file>: the
same lines in a file (format: README, "JSON lines").

The program's stdin, stdout and stderr are its own: uvscope reports through files
in a private temporary directory. Signals sent to uvscope (SIGINT, SIGTERM,
SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) are forwarded to the program, except those it
got itself from the terminal (Ctrl-C reaches it once). uvscope exits
with the program's exit code, or 128 + the signal number if a signal ended it.

Options:
  --interval <ms>   Window length and refresh period, ms; ${INTERVAL_MIN_MS} to ${INTERVAL_MAX_MS}.
                    Default ${INTERVAL_DEFAULT_MS}.
  --json            JSON lines on stderr (instead of the live view on a terminal).
  --out <file>      Write the JSON lines to <file> (created or truncated); the
                    live view stays on the terminal if there is one.
  --slow-ms <ms>    Record the phase breakdown of every iteration at least this
                    busy, ms; 0 to ${SLOW_MAX_MS}. Default ${SLOW_DEFAULT_MS}.
  --handle-stacks   Name where each handle that keeps the program alive was
                    created (trackHandles(): a stack per handle created; see the
                    README for the cost). Off by default.
  --trace <file>    Write a timeline for ui.perfetto.dev (Chrome JSON trace; gzipped
                    when <file> ends in .gz): slow iterations with their phases,
                    stalls, per-window counters. Clock: Node's trace-event clock.
  --trace-all       Every iteration in the trace, not only the slow ones (~34 MB
                    per 100k iterations; use a .gz name).
  --trace-node      Also record Node's own trace events (node.environment: RunTimers,
                    CheckImmediate, ...) and merge them into the trace at the end.
  --report <file>   Write a self-contained HTML report (charts, verdicts) at the end.
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
  uvscope --trace run.json --report run.html -- node server.js
  uvscope report loop.jsonl -o report.html   (a report from a saved --json --out run)
  npm start          (in the uvscope repository: the bundled demo of loop pitfalls)

Exit codes: the program's; 2 for a usage error; 126/127 when the command cannot be
run or is not found.`;

/** Options that take a value: their values are never mistaken for the start of the command. */
const WITH_VALUE = new Set(['--interval', '--out', '--slow-ms', '--trace', '--report', '--stall-ms']);

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

/** `uvscope report <run.jsonl> -o <out.html>`. */
function parseReport(argv: readonly string[]): Parsed {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    throw new UsageError(`report: ${(error as Error).message}`);
  }
  if (values.help) return { kind: 'help' };
  if (positionals.length !== 1 || positionals[0]!.trim() === '') throw new UsageError('report takes one saved run: `uvscope report <run.jsonl> -o <report.html>`');
  const output = values.out as string | undefined;
  if (output === undefined || output.trim() === '') throw new UsageError('report: -o must name the HTML file to write');
  return { kind: 'report', input: positionals[0]!, output };
}

function fileOption(raw: string | boolean | undefined, flag: string): string | null {
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || raw.trim() === '') throw new UsageError(`${flag} must name a file; got an empty string`);
  return raw;
}

export function parse(argv: readonly string[]): Parsed {
  if (argv[0] === 'report') return parseReport(argv.slice(1));
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
        'handle-stacks': { type: 'boolean' },
        'stall-ms': { type: 'string' },
        summary: { type: 'boolean' },
        'no-summary': { type: 'boolean' },
        color: { type: 'boolean' },
        'no-color': { type: 'boolean' },
        trace: { type: 'string' },
        'trace-all': { type: 'boolean' },
        'trace-node': { type: 'boolean' },
        report: { type: 'string' },
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
  const trace = fileOption(values.trace, '--trace');
  if (values['trace-all'] === true && trace === null) throw new UsageError('--trace-all needs --trace <file>');
  if (values['trace-node'] === true && trace === null) throw new UsageError('--trace-node needs --trace <file>');
  return {
    kind: 'run',
    command,
    options: {
      intervalMs,
      json: values.json === true,
      out: out ?? null,
      slowMs,
      handleStacks: values['handle-stacks'] === true,
      stallMs,
      summary: values['no-summary'] !== true,
      color: values['no-color'] === true ? false : values.color === true ? true : null,
      trace,
      traceAll: values['trace-all'] === true,
      traceNode: values['trace-node'] === true,
      report: fileOption(values.report, '--report'),
    },
  };
}
