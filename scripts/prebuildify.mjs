#!/usr/bin/env node
// Builds the binary that ships: prebuilds/<platform>-<arch>/uvscope.node, one Node-API
// build for every supported Node. Offline: the target is this Node, its headers local.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { nodedir } from './nodedir.mjs';

const require = createRequire(import.meta.url);
const bin = path.join(path.dirname(require.resolve('prebuildify/package.json')), 'bin.js');

// prebuildify spawns node-gyp; use the one npm runs scripts with (npm sets
// npm_config_node_gyp), else the copy bundled with the npm beside this Node.
function nodeGyp() {
  if (process.env.PREBUILD_NODE_GYP) return process.env.PREBUILD_NODE_GYP;
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const bundled = path.resolve(process.execPath, '../../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (existsSync(bundled)) return bundled;
  throw new Error('node-gyp not found: set PREBUILD_NODE_GYP to its bin/node-gyp.js');
}

execFileSync(process.execPath, [bin, '--napi', '--strip', `--target=${process.versions.node}`], {
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir(), PREBUILD_NODE_GYP: nodeGyp() },
});
