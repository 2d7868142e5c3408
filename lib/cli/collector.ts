// Tails the channel directory: every `<pid>-<threadId>.jsonl` file, from where it was last
// read, complete lines only. Reads are synchronous and small (what was appended since the
// last read), so the CLI's own loop stays responsive to the child's exit and to signals.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

interface Tail {
  offset: number;
  partial: string;
  decoder: StringDecoder;
}

export class Collector {
  private readonly tails = new Map<string, Tail>();
  private readonly buffer = Buffer.allocUnsafe(1 << 16);

  constructor(private readonly dir: string) {}

  /** New complete lines since the last call, as raw text, in file order per file. */
  read(): string[] {
    const lines: string[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return lines;
    }
    for (const name of names.sort()) {
      if (!name.endsWith('.jsonl')) continue;
      let tail = this.tails.get(name);
      if (tail === undefined) this.tails.set(name, (tail = { offset: 0, partial: '', decoder: new StringDecoder('utf8') }));
      let fd: number;
      try {
        fd = fs.openSync(path.join(this.dir, name), 'r');
      } catch {
        continue;
      }
      try {
        for (;;) {
          const n = fs.readSync(fd, this.buffer, 0, this.buffer.length, tail.offset);
          if (n <= 0) break;
          tail.offset += n;
          const text = tail.partial + tail.decoder.write(this.buffer.subarray(0, n));
          const parts = text.split('\n');
          tail.partial = parts.pop() ?? '';
          for (const part of parts) if (part !== '') lines.push(part);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    return lines;
  }
}
