import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode, runScript } from './helpers/child.js';
import { loadInternal, root, uvscope } from './helpers/uvscope.js';

describe('loading uvscope', () => {
  it('reports the runtime it runs on', () => {
    const info = uvscope.runtime();
    expect(info.uvVersion).toBe(process.versions.uv);
    expect(info.napiVersion).toBeGreaterThanOrEqual(8);
    expect(info.mainLoop).toBe(true);
    const [major, minor] = process.versions.uv.split('.').map(Number) as [number, number];
    expect(info.metricsInfo).toBe(major > 1 || minor >= 45);
  });

  it('imports as ESM and requires as CommonJS, sharing one module instance', async () => {
    const result = await runNode([
      '--input-type=module',
      '-e',
      `import * as esm from 'uvscope';
       import { createRequire } from 'node:module';
       const cjs = createRequire(import.meta.url)('uvscope');
       console.log(JSON.stringify({ same: esm.runtime === cjs.runtime, uv: esm.runtime().uvVersion }));`,
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ same: true, uv: process.versions.uv });
  });

  it('loads before the application with -r and --import', async () => {
    // The local build (build/Release/uvscope.node) or a prebuild (prebuilds/<target>/node.glibc.node).
    const probe = `console.log(Object.keys(require.cache).some((f) => f.endsWith('uvscope.node') || /prebuilds.*\\.node$/.test(f)))`;
    const cjs = await runScript(probe, {}, ['-r', 'uvscope/register']);
    expect(cjs.stdout.trim()).toBe('true');
    const esm = await runScript(probe, {}, ['--import', 'uvscope/register']);
    expect(esm.stdout.trim()).toBe('true');
  });

  it('says which platform, arch and Node it looked for when no binary fits', () => {
    const { loadBinding } = loadInternal<typeof import('../lib/binding.js')>('binding.js');
    const { UvscopeError } = uvscope;
    let error: unknown;
    try {
      loadBinding('/nonexistent/uvscope');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UvscopeError);
    expect((error as InstanceType<typeof UvscopeError>).code).toBe('ERR_UVSCOPE_BINARY_NOT_FOUND');
    expect(String((error as Error).message)).toContain(`${process.platform}-${process.arch}`);
    expect(String((error as Error).message)).toContain(process.version);
    expect(String((error as Error).message)).toContain('node-gyp rebuild');
  });

  it('says why when a binary is there but does not load', () => {
    const { loadBinding } = loadInternal<typeof import('../lib/binding.js')>('binding.js');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-badbinary-'));
    try {
      fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
      fs.writeFileSync(path.join(root, 'build', 'Release', 'uvscope.node'), 'not an ELF file');
      fs.writeFileSync(path.join(root, 'package.json'), '{"name":"uvscope"}');
      let error: unknown;
      try {
        loadBinding(root);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(uvscope.UvscopeError);
      expect((error as InstanceType<typeof uvscope.UvscopeError>).code).toBe('ERR_UVSCOPE_BINARY_NOT_FOUND');
      expect(String((error as Error).message)).toMatch(/the native binary for .* did not load: .*(invalid ELF header|too short)/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('takes a glibc prebuild on glibc, and on musl says there is none and how to build one', async () => {
    // A package as installed: prebuilds/ only (no build/), the prebuild named as
    // scripts/prebuildify.mjs names it. node-gyp-build reads LIBC when it loads.
    const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscope-libc-'));
    try {
      const dir = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
      fs.mkdirSync(dir, { recursive: true });
      // The binary this process loaded (the local build, or this architecture's prebuild).
      const built = (createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string }).path(root);
      fs.copyFileSync(built, path.join(dir, 'node.glibc.node'));
      fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"uvscope"}');
      const probe = `const { loadBinding } = require(${JSON.stringify(path.join(root, 'dist', 'binding.js'))});
        try { console.log('loaded', loadBinding(${JSON.stringify(pkg)}).runtime().uvVersion); }
        catch (e) { console.log(e.code, e.message); }`;
      const glibc = await runScript(probe, { env: { LIBC: 'glibc' } });
      expect(glibc.stdout.trim()).toBe(`loaded ${process.versions.uv}`);
      const musl = await runScript(probe, { env: { LIBC: 'musl' } });
      expect(musl.stdout).toMatch(/^ERR_UVSCOPE_BINARY_NOT_FOUND uvscope: no native binary for linux-\w+ musl \(Node v/);
      expect(musl.stdout).toContain('ships binaries for linux-x64 and linux-arm64 with glibc');
      expect(musl.stdout).toContain('npx node-gyp rebuild');
    } finally {
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });

  it('refuses a runtime that is not Node with a clear error', async () => {
    const result = await runScript(
      `Object.defineProperty(process.versions, 'bun', { value: '1.2.0' });
       try { require('uvscope'); console.log('loaded'); }
       catch (e) { console.log(e.code, e.message); }`,
    );
    expect(result.stdout).toContain('ERR_UVSCOPE_UNSUPPORTED_RUNTIME');
    expect(result.stdout).toContain('Bun 1.2.0');
  });

  it('never keeps a process alive: a program that only loads uvscope exits at once', async () => {
    const result = await runScript(`require('uvscope'); console.log('done')`);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('done');
    // Generous for a loaded 2-core machine; a kept-alive loop would hit the 30 s kill.
    expect(result.elapsedMs).toBeLessThan(5_000);
  });
});
