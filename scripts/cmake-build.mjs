#!/usr/bin/env node
// cmake-js build of the same sources as binding.gyp, offline against local Node headers.
//   node scripts/cmake-build.mjs [--sanitize] [--out DIR] [--debug]
// Output: DIR/Release/uvscope.node (DIR/Debug with --debug); DIR defaults to build-cmake.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { nodedir } from './nodedir.mjs';

const { values } = parseArgs({
  options: {
    sanitize: { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
    out: { type: 'string', default: 'build-cmake' },
  },
});
const require = createRequire(import.meta.url);
const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const args = [cmakeJs, 'rebuild', '--out', values.out];
if (values.debug) args.push('--debug');
if (values.sanitize) args.push('--CDUVSCOPE_SANITIZE=ON');
execFileSync(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir() },
});
