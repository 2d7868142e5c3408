// An unusable TMPDIR never stops the program: the CLI makes its private directory
// elsewhere and says why in one line, or runs the program unobserved; the exit code is
// the program's own.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { fixture, runCliJson } from './helpers/cli.js';
import { makePrivateDir } from '../lib/cli/private-dir.js';

describe('the private directory', () => {
  it('TMPDIR=/nonexistent: one line saying why, the program runs observed, its exit code kept', async () => {
    const { code, stderr, summary } = await runCliJson<{ exitCode: number; threads: unknown[] }>(
      ['--no-summary', '--', process.execPath, fixture('cli-exit.cjs'), 'code', '3'],
      { TMPDIR: '/nonexistent' },
    );
    expect(code).toBe(3);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^uvscope: cannot make a private directory in \/nonexistent \(ENOENT\); using \//);
    expect(summary.exitCode).toBe(3);
    expect(summary.threads.length).toBe(1);
  });

  it('nowhere to make one: null, and the line says the program runs unobserved', () => {
    const { dir, note } = makePrivateDir(['/nonexistent/a', '/nonexistent/b']);
    expect(dir).toBeNull();
    expect(note).toBe('cannot make a private directory in /nonexistent/a (ENOENT), /nonexistent/b (ENOENT); running the program unobserved');
  });

  it('the first usable place wins, mode 0700', () => {
    const { dir, note } = makePrivateDir([os.tmpdir()]);
    try {
      expect(note).toBeNull();
      expect(dir!.startsWith(path.join(os.tmpdir(), 'uvscope-'))).toBe(true);
      expect(fs.statSync(dir!).mode & 0o777).toBe(0o700);
    } finally {
      fs.rmSync(dir!, { recursive: true, force: true });
    }
  });
});
