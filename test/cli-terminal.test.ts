// The live view in a real terminal: tmux at 80x24 runs the CLI on a program that prints a
// numbered line every 40 ms; the captured screen must hold the program's lines intact
// above the panel, the panel rows at the bottom, nothing wider than 80 columns and no
// stray escape sequences. Needs tmux (`apt-get install -y tmux`).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { root } from './helpers/uvscope.js';

const socket = `uvscope-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
});

const capture = () => tmux('capture-pane', '-p', '-t', 'cli').replace(/\n$/, '').split('\n');
// The screen and what scrolled off it (the summary is taller than 24 rows).
const captureAll = () => tmux('capture-pane', '-p', '-S', '-', '-t', 'cli').replace(/\n$/, '').split('\n');

async function waitFor(test: (screen: string[]) => boolean, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = capture();
    if (test(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`screen never matched:\n${screen.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
// Escape sequences that leaked as text: ESC itself, or the tail of a CSI sequence.
const garbage = /\x1b|\[\d*(;\d+)*[A-HJKmrsu]|\x07/;

describe('live view in a terminal', () => {
  it('renders at 80x24 without garbage, program output scrolling above it', async () => {
    const cli = path.join(root, 'dist', 'cli', 'main.js');
    const program = path.join(root, 'test', 'fixtures', 'cli-lines.cjs');
    const command = `${quote(process.execPath)} ${quote(cli)} --interval 200 -- ${quote(process.execPath)} ${quote(program)}; echo EXIT=$?; sleep 60`;
    tmux('new-session', '-d', '-x', '80', '-y', '24', '-s', 'cli', '-c', root, 'sh', '-c', command);

    const live = await waitFor((s) => s.some((l) => /^program line (3\d|4\d)$/.test(l)) && s.some((l) => l.startsWith('loop ')), 30_000);
    expect(live).toHaveLength(24);
    for (const line of live) {
      expect([...line].length).toBeLessThanOrEqual(80);
      expect(line).not.toMatch(garbage);
    }
    // The panel: its rows at the bottom of the screen, in order.
    const top = live.findIndex((l) => l.startsWith(' uvscope · '));
    expect(top).toBe(24 - 12);
    const labels = live.slice(top).map((l) => l.trim().split(/\s+/)[0]);
    expect(labels).toEqual(['uvscope', 'loop', 'busy', 'phase', 'poll', 'check', 'timers', 'slowest', 'pool', 'handles', 'alive', '']);
    // Above it: only the program's lines, whole and consecutive.
    const above = live.slice(0, top).filter((l) => l !== '');
    expect(above.length).toBeGreaterThanOrEqual(5);
    const numbers = above.map((l) => {
      expect(l).toMatch(/^program line \d+$/);
      return Number(l.split(' ')[2]);
    });
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe(numbers[i - 1]! + 1);

    const done = await waitFor((s) => s.some((l) => l.startsWith('EXIT=')), 30_000);
    expect(done.find((l) => l.startsWith('EXIT='))).toBe('EXIT=0');
    const all = captureAll();
    expect(all.join('\n')).toMatch(/uvscope summary/);
    for (const line of all) {
      expect([...line].length).toBeLessThanOrEqual(80);
      expect(line).not.toMatch(garbage);
    }
  });
});
