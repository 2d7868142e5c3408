// Tests exercise the built package (dist/), loaded by Node's own require so the
// native addon and its per-thread state are exactly what users get.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const dist = path.join(root, 'dist');
export const uvscope = require(path.join(dist, 'index.js')) as typeof import('../../lib/index.js');
export const loadInternal = <T>(name: string): T => require(path.join(dist, name)) as T;
