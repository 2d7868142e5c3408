// Builds a test addon from one C file with the system C compiler against the headers of the
// Node that runs the tests (its own include/node, else npm's nodedir). Returns its path in a
// fresh temporary directory.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function buildAddon(source: string): string {
  const own = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  const nodedir = path.join(process.env.npm_config_nodedir ?? '/usr', 'include', 'node');
  const headers = fs.existsSync(path.join(own, 'node_api.h')) ? own : nodedir;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-addon-'));
  const out = path.join(dir, `${path.basename(source, '.c')}.node`);
  execFileSync('cc', ['-O2', '-shared', '-fPIC', `-I${headers}`, source, '-o', out, '-lpthread'], { stdio: 'pipe' });
  return out;
}
