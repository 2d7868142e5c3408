// Runs the built CLI on a program with JSON lines written to a file, and reads them back.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { runNode } from './child.js';
import { root } from './uvscope.js';

export const cli = path.join(root, 'dist', 'cli', 'main.js');
export const fixture = (name: string) => path.join(root, 'test', 'fixtures', name);

export interface CliLine {
  type: string;
  [key: string]: unknown;
}

/** `uvscope --out <file> ...args`: its exit, output, the JSON lines and the summary line. */
export async function runCliJson<S = CliLine>(args: string[], env: NodeJS.ProcessEnv = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-cli-test-'));
  try {
    const out = path.join(dir, 'out.jsonl');
    const result = await runNode([cli, '--out', out, ...args], { env, timeoutMs: 60_000 });
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CliLine);
    const summary = lines.find((l) => l.type === 'summary') as unknown as S;
    return { ...result, lines, summary };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
