// How a thread is named in the live view and the summary: a worker by its script
// (`pid 41 worker 1 (pool.js)`), a process by its whole command line, Node's own flags
// included (`node --test --test-concurrency=1 test/`), which `process.argv` leaves out.
import * as path from 'node:path';

import { commandLine } from './format.js';

interface Named {
  pid: number;
  threadId: number;
  argv: readonly string[];
  execArgv?: readonly string[];
}

/** The worker's script as its own `process.argv[1]` has it: `pool.js`, `eval` for `{ eval: true }`, null before it is known. */
export function workerScript(argv: readonly string[]): string | null {
  const script = argv[1];
  if (script === undefined || script === '') return null;
  if (script === '[worker eval]') return 'eval';
  return path.basename(script.startsWith('file:') ? new URL(script).pathname : script);
}

/** `pid 41` for a main thread, `pid 41 worker 1 (pool.js)` for a worker. */
export function threadLabel(t: Named): string {
  if (t.threadId === 0) return `pid ${t.pid}`;
  const script = workerScript(t.argv);
  return `pid ${t.pid} worker ${t.threadId}${script === null ? '' : ` (${script})`}`;
}

/** The command line that started the thread's process: `node`, Node's flags, then the rest of argv. */
export function programLine(t: Named): string {
  const [node, ...rest] = t.argv;
  if (node === undefined) return '';
  return commandLine([node, ...(t.execArgv ?? []), ...rest]);
}

/** Package managers and launchers that start the application: `npx`, `npm run`, yarn, pnpm, corepack. */
export function isLauncher(argv: readonly string[]): boolean {
  const script = argv[1];
  if (script === undefined) return false;
  const name = path.basename(script).replace(/\.(c|m)?js$/, '');
  return /^(npm|npx|npm-cli|npx-cli|yarn|yarnpkg|pnpm|pnpx|corepack)$/.test(name) || /[\\/]node_modules[\\/](npm|corepack)[\\/]bin[\\/]/.test(script);
}

/** A main thread counts as having done work when it has at least this share of its busiest worker's. */
export const MAIN_WORK_SHARE = 0.1;

/**
 * The thread to show in detail, from `candidates` ordered best first by `work`: the
 * application's, so not a launcher's (npx, npm) while an application process reported,
 * and its process's main thread rather than a pool worker when the main thread did work
 * too (at least `MAIN_WORK_SHARE` of the worker's).
 */
export function applicationThread<T extends Named>(candidates: readonly T[], work: (t: T) => number, all: readonly T[] = candidates): T | undefined {
  const best = candidates.find((t) => !isLauncher(t.argv)) ?? candidates[0];
  if (best === undefined || best.threadId === 0) return best;
  const main = all.find((t) => t.pid === best.pid && t.threadId === 0);
  return main !== undefined && work(main) > 0 && work(main) >= MAIN_WORK_SHARE * work(best) ? main : best;
}
