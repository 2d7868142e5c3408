#!/usr/bin/env node
// `uvscope [options] -- <command> [args...]`: runs a program with uvscope loaded in every
// Node process and thread it starts, shows its loops live, and summarises at the end.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Collector } from './collector.js';
import { Run } from './model.js';
import { type CliOptions, HELP, parse, UsageError } from './options.js';
import { makePrivateDir } from './private-dir.js';
import { ENV_DIR, ENV_HANDLE_STACKS, ENV_INTERVAL, ENV_PID, ENV_SLOW, ENV_STALL, ENV_TIMELINE } from './protocol.js';
import { LIVE_ROWS, renderLive } from './render.js';
import { ReportBuilder, reportFromFile, writeReport } from './report.js';
import { forwardSignals } from './signals.js';
import { renderSummary, summaryData } from './summary.js';
import { Panel } from './terminal.js';
import { nodeTraceOptions, TraceWriter } from './trace.js';

/** Signals passed on to the program unless it got them itself (lib/cli/signals.ts). SIGWINCH and Ctrl-Z reach it from the tty. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
/** How often the channel files are read, ms. */
const READ_EVERY_MS = 100;

/** `--require <register>` in front of the user's own NODE_OPTIONS (quoted: paths may hold spaces). */
export function nodeOptions(register: string, existing: string | undefined): string {
  const quoted = `"${register.replace(/(["\\])/g, '\\$1')}"`;
  return `--require ${quoted}${existing ? ' ' + existing : ''}`;
}

/** The addon's signal-origin counters in the CLI's own process, or null where it does not load. */
function nativeSignals(): Parameters<typeof forwardSignals>[2] {
  try {
    const native = (require('../binding.js') as typeof import('../binding.js')).binding();
    // The CLI's own pool is not observed: no probe waking its loop every 100 ms.
    native.threadpoolConfigure(0);
    return native;
  } catch {
    return null;
  }
}

function fail(message: string, code: number): never {
  fs.writeSync(2, `uvscope: ${message}\n`);
  process.exit(code);
}

/** The program without uvscope in it (nowhere to report): its signals passed on, its exit code kept. */
function runUnobserved(command: string[]): void {
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit' });
  const unforward = forwardSignals(child, FORWARDED, nativeSignals(), () => child.exitCode !== null || child.signalCode !== null);
  child.on('error', (error: NodeJS.ErrnoException) => {
    const notFound = error.code === 'ENOENT';
    fail(`cannot run ${JSON.stringify(command[0])}: ${notFound ? 'command not found' : error.message}`, notFound ? 127 : 126);
  });
  child.on('exit', (code, signal) => {
    unforward();
    process.exitCode = code ?? 128 + (signal === null ? 0 : (os.constants.signals[signal] ?? 0));
  });
}

function run(command: string[], options: CliOptions): void {
  const { dir, note } = makePrivateDir();
  if (note !== null) fs.writeSync(2, `uvscope: ${note}\n`);
  if (dir === null) {
    runUnobserved(command);
    return;
  }
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  const register = path.join(__dirname, '..', 'register.js');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [ENV_DIR]: dir,
    [ENV_INTERVAL]: String(options.intervalMs),
    [ENV_SLOW]: String(options.slowMs),
    [ENV_STALL]: String(options.stallMs),
    [ENV_PID]: String(process.pid),
    ...(options.handleStacks ? { [ENV_HANDLE_STACKS]: '1' } : {}),
    NODE_OPTIONS: nodeOptions(register, process.env.NODE_OPTIONS),
  };
  if (options.trace !== null || options.report !== null) env[ENV_TIMELINE] = options.traceAll ? 'all' : 'slow';
  if (options.traceNode) env.NODE_OPTIONS += ' ' + nodeTraceOptions(dir);
  let trace: TraceWriter | null = null;
  try {
    if (options.trace !== null) trace = new TraceWriter(options.trace);
  } catch (error) {
    cleanup();
    fail(`--trace: cannot write ${JSON.stringify(options.trace)}: ${(error as Error).message}`, 2);
  }
  const report = options.report === null ? null : new ReportBuilder();

  const stderrTty = process.stderr.isTTY === true;
  const live = stderrTty && !options.json;
  let jsonFd: number | null = null;
  try {
    // Not on a terminal, JSON lines go to stderr only when asked for (--json): they would
    // land in the program's own stderr, between the halves of its partial lines.
    if (options.out !== null) jsonFd = fs.openSync(options.out, 'w');
    else if (options.json) jsonFd = 2;
  } catch (error) {
    cleanup();
    fail(`--out: cannot write ${JSON.stringify(options.out)}: ${(error as Error).message}`, 2);
  }
  const color = options.color ?? (stderrTty && !process.env.NO_COLOR);
  // Cut lines only where a terminal would wrap them: a file or a pipe gets them whole.
  const width = () => (stderrTty ? process.stderr.columns || 80 : Infinity);
  const emit = (text: string) => {
    if (jsonFd === null) return;
    try {
      fs.writeSync(jsonFd, text + '\n');
    } catch {
      jsonFd = null; // a closed pipe: stop writing, keep the program running
    }
  };

  const runState = new Run(Date.now());
  const collector = new Collector(dir);
  const panel = live ? new Panel(2, LIVE_ROWS, () => ({ rows: process.stderr.rows || 24, columns: process.stderr.columns || 80 })) : null;
  const draw = () => panel?.draw(renderLive(runState, { width: panel.width, now: Date.now(), command, color }));

  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
  let exited = false;

  const unforward = forwardSignals(child, FORWARDED, nativeSignals(), () => exited);
  // Last resort if uvscope itself fails: never leave the program running without its parent.
  process.on('exit', () => {
    if (!exited) child.kill('SIGTERM');
    panel?.close();
  });

  let lastDraw = 0;
  const pump = () => {
    let fresh = false;
    for (const text of collector.read()) {
      let line: unknown;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      trace?.add(line);
      report?.add(line);
      // Timeline lines feed --trace/--report only; the JSON output stays as without them.
      if ((line as { type?: unknown }).type === 'timeline') continue;
      if (runState.add(line)) {
        emit(text);
        fresh = true;
      }
    }
    const now = Date.now();
    if (panel !== null && (fresh || now - lastDraw >= 1000)) {
      lastDraw = now;
      draw();
    }
    if (fresh) trace?.flush();
  };
  const timer = setInterval(pump, Math.min(READ_EVERY_MS, options.intervalMs));
  if (panel !== null) {
    draw();
    process.stderr.on('resize', draw);
  }

  child.on('error', (error: NodeJS.ErrnoException) => {
    exited = true;
    clearInterval(timer);
    panel?.close();
    trace?.close();
    cleanup();
    const notFound = error.code === 'ENOENT';
    fail(`cannot run ${JSON.stringify(command[0])}: ${notFound ? 'command not found' : error.message}`, notFound ? 127 : 126);
  });

  child.on('exit', (code, signal) => {
    exited = true;
    clearInterval(timer);
    pump(); // the final windows were written synchronously before the program exited
    panel?.close();
    if (panel !== null) process.stderr.removeListener('resize', draw);
    const signalNumber = signal === null ? 0 : (os.constants.signals[signal] ?? 0);
    const exitCode = code ?? 128 + signalNumber;
    const outcome = { endTime: Date.now(), exitCode, signal };
    const summary = summaryData(runState, outcome, command);
    emit(JSON.stringify(summary));
    if (trace !== null && options.traceNode) trace.addNodeTraces(dir);
    trace?.close();
    if (report !== null && options.report !== null) {
      report.add(summary);
      try {
        writeReport(options.report, report);
      } catch (error) {
        fs.writeSync(2, `uvscope: --report: cannot write ${JSON.stringify(options.report)}: ${(error as Error).message}\n`);
      }
    }
    if (jsonFd !== null && jsonFd !== 2) fs.closeSync(jsonFd);
    if (options.summary) {
      const text = renderSummary(runState, outcome, { command, width: width(), color, stallMs: options.stallMs }).join('\n');
      fs.writeSync(2, `${live ? '' : '\n'}${text}\n`);
    }
    cleanup();
    unforward();
    process.exitCode = exitCode;
  });
}

function main(argv: string[]): void {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (error instanceof UsageError) fail(`${error.message}\nRun \`uvscope --help\` for the options.`, 2);
    throw error;
  }
  if (parsed.kind === 'help') {
    fs.writeSync(1, HELP + '\n');
    return;
  }
  if (parsed.kind === 'version') {
    fs.writeSync(1, `${(require('../../package.json') as { version: string }).version}\n`);
    return;
  }
  if (parsed.kind === 'report') {
    try {
      const { bytes, lines } = reportFromFile(parsed.input, parsed.output);
      fs.writeSync(2, `uvscope: wrote ${parsed.output} (${bytes} bytes from ${lines} lines)\n`);
    } catch (error) {
      fail(`report: ${(error as Error).message}`, 1);
    }
    return;
  }
  run(parsed.command, parsed.options);
}

if (require.main === module) main(process.argv.slice(2));
