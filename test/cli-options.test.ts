// Command-line checks: every mistake gets a message naming the option, exit code 2, and
// nothing is started; --help documents every option.
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from './helpers/child.js';
import { loadInternal, root } from './helpers/uvscope.js';

const cli = path.join(root, 'dist', 'cli', 'main.js');
const { parse } = loadInternal<typeof import('../lib/cli/options.js')>('cli/options.js');
const { nodeOptions } = loadInternal<typeof import('../lib/cli/main.js')>('cli/main.js');

describe('uvscope options', () => {
  it.each([
    [['--interval', 'abc', '--', 'node'], /--interval must be a number of milliseconds from 100 to 60000; got "abc"/],
    [['--interval', '50', '--', 'node'], /--interval must be .* from 100 to 60000; got "50"/],
    [['--interval', '-5', '--', 'node'], /--interval/],
    [['--slow-ms', '1e9', '--', 'node'], /--slow-ms must be a number of milliseconds from 0 to 86400000; got "1e9"/],
    [['--out', '', '--', 'node'], /--out must name a file/],
    [['--bogus', '--', 'node'], /Unknown option '--bogus'/],
    [['--interval'], /--interval/],
    [[], /no command to run: put it after `--`/],
    [['--json', '--'], /no command to run/],
  ])('%j is refused', async (args, message) => {
    const { code, stderr, stdout } = await runNode([cli, ...args]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/Run `uvscope --help`/);
  });

  it('finds the command with or without `--`', () => {
    expect(parse(['--interval', '500', 'node', 'app.js', '--interval', '9'])).toMatchObject({
      kind: 'run', command: ['node', 'app.js', '--interval', '9'], options: { intervalMs: 500 },
    });
    expect(parse(['--json', '--', 'node', '--', 'x'])).toMatchObject({ command: ['node', '--', 'x'], options: { json: true } });
    expect(parse(['--no-summary', '--no-color', '--', 'n'])).toMatchObject({ options: { summary: false, color: false, slowMs: 10, out: null } });
  });

  it('--help documents every option', async () => {
    const { code, stdout } = await runNode([cli, '--help']);
    expect(code).toBe(0);
    for (const option of ['--interval', '--json', '--out', '--slow-ms', '--no-summary', '--no-color', '--help', '--version']) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toMatch(/^Usage: uvscope \[options\] -- <command> \[args\.\.\.\]/);
  });

  it('says when the command cannot be found', async () => {
    const { code, stderr } = await runNode([cli, '--json', '--', 'uvscope-no-such-command-x']);
    expect(code).toBe(127);
    expect(stderr).toMatch(/cannot run "uvscope-no-such-command-x": command not found/);
  });

  it('puts the register entry first in NODE_OPTIONS, quoted, keeping the user’s', () => {
    expect(nodeOptions('/a b/register.js', undefined)).toBe('--require "/a b/register.js"');
    expect(nodeOptions('/x/"q"\\r.js', '--inspect')).toBe('--require "/x/\\"q\\"\\\\r.js" --inspect');
  });
});
