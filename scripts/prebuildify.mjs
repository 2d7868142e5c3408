#!/usr/bin/env node
// Builds the binary that ships: prebuilds/<platform>-<arch>/node.node, one Node-API build
// for every supported Node. Offline: the target is this Node, its headers local.
//
// The file is named node.node, not uvscope.node: node-gyp-build reads each dot-separated
// part of a prebuild's name as a tag, and a part starting with "uv" is taken for the libuv
// ABI tag ("uvscope" -> uv=scope), which never matches, so the prebuild would be skipped.
//
// prebuildify moves build/Release/<addon>.node into prebuilds/, so it runs on a temporary
// copy of the sources and leaves the developer's build/ alone.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { nodedir } from './nodedir.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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

const scratch = mkdtempSync(path.join(os.tmpdir(), 'uvscope-prebuild-'));
try {
  for (const entry of ['binding.gyp', 'package.json', 'native']) {
    cpSync(path.join(root, entry), path.join(scratch, entry), { recursive: true });
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  execFileSync(
    process.execPath,
    [bin, '--napi', '--strip', '--name', 'node', `--target=${process.versions.node}`, '--cwd', scratch, '--out', root],
    { stdio: 'inherit', cwd: scratch, env: { ...process.env, npm_config_nodedir: nodedir(), PREBUILD_NODE_GYP: nodeGyp() } },
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
