import { spawn } from 'node:child_process';

import { root } from './uvscope.js';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/**
 * Runs a Node program with the Node that runs the tests (so the version matrix applies),
 * from the repository root so `require('uvscope')` / `import 'uvscope'` resolve to it.
 */
export function runNode(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `source` as a CommonJS program (`node -e`). */
export function runScript(source: string, options?: Parameters<typeof runNode>[1], execArgv: string[] = []): Promise<ChildResult> {
  return runNode([...execArgv, '-e', source], options);
}
