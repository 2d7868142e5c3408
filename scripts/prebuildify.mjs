#!/usr/bin/env node
// Builds the binaries that ship: prebuilds/linux-<arch>/node.glibc.node, one Node-API build per
// architecture for every supported Node. Offline: the headers are the local ones (Node-API
// and libuv's headers are the same for every architecture), the arm64 binary is
// cross-compiled with Debian's g++-aarch64-linux-gnu.
//
//   node scripts/prebuildify.mjs [--arch x64,arm64]     (default: x64 and arm64)
//
// The file is named node.glibc.node, not uvscope.node: node-gyp-build reads each
// dot-separated part of a prebuild's name as a tag, and a part starting with "uv" is taken
// for the libuv ABI tag ("uvscope" -> uv=scope), which never matches, so the prebuild would
// be skipped. The glibc tag keeps node-gyp-build from picking these binaries on musl
// (Alpine), where they cannot load: there uvscope says there is no binary for musl and how
// to build one, instead of passing on a dynamic loader error.
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

// The GNU triplet of each Linux architecture we ship; its tools are <triplet>-gcc etc.
const triplets = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

const archArg = process.argv.indexOf('--arch');
const archs = (archArg >= 0 ? process.argv[archArg + 1] : 'x64,arm64').split(',');
for (const arch of archs) {
  if (!(arch in triplets)) throw new Error(`prebuildify: unknown --arch ${arch} (one of ${Object.keys(triplets).join(', ')})`);
}
if (process.platform !== 'linux') throw new Error('prebuildify: the shipped binaries are built on Linux');

// prebuildify spawns node-gyp; use the one npm runs scripts with (npm sets
// npm_config_node_gyp), else the copy bundled with the npm beside this Node.
function nodeGyp() {
  if (process.env.PREBUILD_NODE_GYP) return process.env.PREBUILD_NODE_GYP;
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const bundled = path.resolve(process.execPath, '../../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (existsSync(bundled)) return bundled;
  throw new Error('node-gyp not found: set PREBUILD_NODE_GYP to its bin/node-gyp.js');
}

function onPath(tool) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, tool)));
}

// The host builds its own architecture with the default compiler; another architecture
// needs the cross toolchain, which the build refuses to do without (a package missing
// one architecture's binary would compile, or fail, at install on that machine).
function toolchain(arch) {
  if (arch === process.arch) return {};
  const prefix = `${triplets[arch]}-`;
  if (!onPath(`${prefix}g++`)) {
    throw new Error(
      `prebuildify: no ${prefix}g++ on PATH to cross-compile linux-${arch}; on Debian: ` +
        `apt-get install g++-${triplets[arch].replace(/-linux-gnu$/, '').replace('_', '-')}-linux-gnu ` +
        `(or build only this host's binary: --arch ${process.arch})`,
    );
  }
  return {
    CC: `${prefix}gcc`,
    CXX: `${prefix}g++`,
    LINK: `${prefix}g++`,
    AR: `${prefix}ar`,
    PREBUILD_STRIP_BIN: `${prefix}strip`,
  };
}

for (const arch of archs) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'uvscope-prebuild-'));
  try {
    for (const entry of ['binding.gyp', 'package.json', 'native']) {
      cpSync(path.join(root, entry), path.join(scratch, entry), { recursive: true });
    }
    symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
    execFileSync(
      process.execPath,
      [bin, '--napi', '--strip', '--name', 'node', '--tag-libc=glibc', `--arch=${arch}`, '--platform=linux', `--target=${process.versions.node}`, '--cwd', scratch, '--out', root],
      {
        stdio: 'inherit',
        cwd: scratch,
        env: { ...process.env, npm_config_nodedir: nodedir(), PREBUILD_NODE_GYP: nodeGyp(), ...toolchain(arch) },
      },
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
