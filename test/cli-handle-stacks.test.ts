import { describe, expect, it } from 'vitest';

import { fixture, runCliJson } from './helpers/cli.js';

interface Summary {
  threads: { threadId: number; aliveAtEnd: { named: { name: string; count: number }[] } | null }[];
}

describe('uvscope --handle-stacks', () => {
  it('names where each thing that kept the program alive was created', async () => {
    const { code, stdout, summary } = await runCliJson<Summary>(['--handle-stacks', '--interval', '100', '--', process.execPath, fixture('cli-alive.cjs')]);
    expect(code).toBe(0);
    const port = /port (\d+)/.exec(stdout)![1];
    const names = summary.threads.find((t) => t.threadId === 0)!.aliveAtEnd!.named.map((n) => n.name);
    const at = (line: number) => `${fixture('cli-alive.cjs').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:\\d+`;
    expect(names).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^tcp server 127\\.0\\.0\\.1:${port} \\(created at ${at(5)}\\)$`)),
      expect.stringMatching(new RegExp(`^tcp -> 127\\.0\\.0\\.1:${port} \\(created at ${at(8)}\\)$`)),
      expect.stringMatching(new RegExp(`^tcp 127\\.0\\.0\\.1:${port} <- client \\(accepted by a server created at ${at(5)}\\)$`)),
    ]));
  });

  it('adds nothing without the flag', async () => {
    const { code, summary } = await runCliJson<Summary>(['--interval', '100', '--', process.execPath, fixture('cli-alive.cjs')]);
    expect(code).toBe(0);
    const names = summary.threads.find((t) => t.threadId === 0)!.aliveAtEnd!.named.map((n) => n.name);
    expect(names.some((n) => n.includes('created'))).toBe(false);
  });
});
