// Builds bench/floor/floor.c (the empty-callback floor, and the toggle of other addons' loop
// callbacks) with the system C compiler against this Node's headers, into a temporary file
// removed at exit. Returns its path; throws when the compiler fails.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export function buildFloor() {
  const addon = path.join(os.tmpdir(), `uvscope-floor-${process.pid}.node`);
  const headers = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  const nodedir = process.env.npm_config_nodedir ? path.join(process.env.npm_config_nodedir, 'include', 'node') : headers;
  execFileSync('cc', ['-O2', '-shared', '-fPIC', `-I${fs.existsSync(headers) ? headers : nodedir}`, path.join(here, 'floor.c'), '-o', addon], { stdio: 'pipe' });
  process.on('exit', () => fs.rmSync(addon, { force: true }));
  return addon;
}
