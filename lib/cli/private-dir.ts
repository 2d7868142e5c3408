// The CLI's private channel directory, made so that an unusable TMPDIR never stops the
// program: uvscope must never be the reason a program does not run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PrivateDir {
  /** The directory (mode 0700), or null when none could be made: run the program unobserved. */
  dir: string | null;
  /** One line for stderr when the first choice failed (why, and what uvscope did instead); null otherwise. */
  note: string | null;
}

/** Where to try, in order: TMPDIR (os.tmpdir()), then places that exist on most systems. */
export function candidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = [os.tmpdir()];
  if (env.XDG_RUNTIME_DIR) list.push(env.XDG_RUNTIME_DIR);
  if (process.platform !== 'win32') list.push('/tmp', '/var/tmp', '/dev/shm');
  return [...new Set(list.map((d) => path.resolve(d)))];
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ?? (e.message || String(error));
}

/** `mkdtemp` in the first of `places` that takes it. */
export function makePrivateDir(places: readonly string[] = candidates()): PrivateDir {
  const failed: string[] = [];
  for (const place of places) {
    try {
      const dir = fs.mkdtempSync(path.join(place, 'uvscope-'));
      const note = failed.length === 0 ? null : `cannot make a private directory in ${failed.join(', ')}; using ${place}`;
      return { dir, note };
    } catch (error) {
      failed.push(`${place} (${reason(error)})`);
    }
  }
  return { dir: null, note: `cannot make a private directory in ${failed.join(', ')}; running the program unobserved` };
}
