// Signals under `uvscope -- <program>`: the program sees each signal exactly once. A
// terminal's Ctrl-C reaches the whole foreground process group (the program too), so the
// CLI must not pass it on again; a `kill` to uvscope's pid alone must be passed on. The
// program (test/fixtures/cli-graceful.cjs) exits 130 after its first SIGINT, 143 after its
// first SIGTERM, 129 after its first SIGHUP, and 99 ("force quit") on a second signal. Needs tmux.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

import { afterAll, describe, expect, it } from 'vitest';

import { cli, fixture } from './helpers/cli.js';
import { root } from './helpers/uvscope.js';

const socket = `uvscope-signals-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
});

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function waitFor(session: string, test: (screen: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = tmux('capture-pane', '-p', '-S', '-200', '-t', session);
    if (test(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`screen never matched:\n${screen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `uvscope -- node cli-graceful.cjs` in a tmux session; resolves with the program's pid and uvscope's. */
async function startInTerminal(session: string): Promise<{ program: number; uvscope: number }> {
  // The shell is in the terminal's foreground group too: it traps SIGINT (its children get
  // the default action back) so it lives on to print the exit code.
  const command =
    `trap : INT; ${quote(process.execPath)} ${quote(cli)} --interval 200 -- ${quote(process.execPath)} ${quote(fixture('cli-graceful.cjs'))}` +
    '; echo EXIT=$?; sleep 60';
  tmux('new-session', '-d', '-x', '120', '-y', '40', '-s', session, '-c', root, 'sh', '-c', command);
  const screen = await waitFor(session, (s) => /ready \d+ \d+/.test(s), 30_000);
  const [, program, uvscope] = /ready (\d+) (\d+)/.exec(screen)!;
  // Let uvscope's own setup (signal handlers, first window) finish.
  await new Promise((r) => setTimeout(r, 500));
  return { program: Number(program), uvscope: Number(uvscope) };
}

// The terminal echoes Ctrl-C as `^C` in front of the program's next line.
const signalsSeen = (screen: string) => [...screen.matchAll(/got SIG\w+ \d+/g)].map((m) => m[0]);

describe('signals reach the program exactly once', () => {
  it('one Ctrl-C on a terminal: the program sees one SIGINT and exits with its graceful code', async () => {
    await startInTerminal('ctrlc');
    tmux('send-keys', '-t', 'ctrlc', 'C-c');
    const screen = await waitFor('ctrlc', (s) => /EXIT=\d+/.test(s), 30_000);
    expect(signalsSeen(screen)).toEqual(['got SIGINT 1']);
    expect(/EXIT=(\d+)/.exec(screen)![1]).toBe('130');
  });

  it('kill -INT to uvscope on a terminal (not from the tty): passed on once', async () => {
    const { uvscope } = await startInTerminal('killint');
    process.kill(uvscope, 'SIGINT');
    const screen = await waitFor('killint', (s) => /EXIT=\d+/.test(s), 30_000);
    expect(signalsSeen(screen)).toEqual(['got SIGINT 1']);
    expect(/EXIT=(\d+)/.exec(screen)![1]).toBe('130');
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s from a supervisor to uvscope (no terminal): the program sees it once', async (signal, exitCode) => {
    const child = spawn(process.execPath, [cli, '--no-summary', '--', process.execPath, fixture('cli-graceful.cjs')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (/ready \d+/.test(stdout)) resolve();
      }),
    );
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await ready;
    await new Promise((r) => setTimeout(r, 300));
    child.kill(signal);
    const code = await exited;
    expect(signalsSeen(stdout)).toEqual([`got ${signal} 1`]);
    expect(code).toBe(exitCode);
  });
});

describe('which signals are passed on', () => {
  const group = { pgrp: 100, tpgid: 100 };
  it('a process sent it: always passed on; the terminal sent it: only to a program outside both groups', async () => {
    const { programGotItItself } = await import('../lib/cli/signals.js');
    expect(programGotItItself('SIGINT', 'process', group, group)).toBe(false);
    expect(programGotItItself('SIGINT', 'kernel', group, group)).toBe(true);
    // The program made its own group, in the background: the tty's signal missed it.
    expect(programGotItItself('SIGINT', 'kernel', group, { pgrp: 200, tpgid: 100 })).toBe(false);
    // Its own group, made the foreground group: it got it.
    expect(programGotItItself('SIGINT', 'kernel', group, { pgrp: 200, tpgid: 200 })).toBe(true);
    // Origin unknown: only SIGINT/SIGQUIT with both in the foreground group count as the terminal's.
    expect(programGotItItself('SIGINT', 'unknown', group, group)).toBe(true);
    expect(programGotItItself('SIGTERM', 'unknown', group, group)).toBe(false);
    expect(programGotItItself('SIGINT', 'unknown', { pgrp: 100, tpgid: -1 }, { pgrp: 100, tpgid: -1 })).toBe(false);
    expect(programGotItItself('SIGINT', 'kernel', group, null)).toBe(false);
  });

  it('the native counters reject a bad signum by name', async () => {
    const { binding } = await import('../lib/binding.js');
    const b = binding();
    expect(() => b.signalOriginRead!('2' as unknown as number)).toThrow(TypeError);
    expect(() => b.signalOriginRead!(0)).toThrow(/signum/);
    expect(() => b.signalOriginWatch!(65)).toThrow(RangeError);
    // A signal with no handler installed: nothing to chain to, so nothing is replaced.
    expect(b.signalOriginWatch!(os.constants.signals.SIGSYS)).toBe(false);
  });
});
