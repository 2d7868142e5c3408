// The live panel at the bottom of the terminal.
//
// The program keeps the terminal: its stdout and stderr are inherited, never piped (so it
// still sees a TTY and its output stays byte-identical). uvscope sets a scroll region
// (DECSTBM, as apt's progress bar does) over the rows above the panel, so the program's
// output scrolls there while the panel stays put. Each frame is ONE write(2) that saves
// the cursor, draws the panel rows and restores the cursor: the tty layer does not
// interleave one write with another process's, so the program's cursor and text survive.
import * as fs from 'node:fs';

const ESC = '\x1b';

export class Panel {
  private height = 0;
  private rows = 0;
  private columns = 0;
  private active = false;

  /** `lines`: the panel's height; fixed, so the program's region only changes on a resize. */
  constructor(
    private readonly fd: number,
    private readonly lines: number,
    private readonly size: () => { rows: number; columns: number },
  ) {}

  get width(): number {
    return this.columns || this.size().columns;
  }

  private write(text: string): void {
    try {
      fs.writeSync(this.fd, text);
    } catch {
      // the terminal went away: nothing left to draw on
    }
  }

  /** Draws `lines` (already cut to the width); sets up or resizes the region as needed. */
  draw(lines: readonly string[]): void {
    const { rows, columns } = this.size();
    // Leave the program at least 3 rows; a smaller terminal gets a shortened panel.
    const height = Math.max(1, Math.min(this.lines, rows - 3));
    if (!this.active || height !== this.height || rows !== this.rows || columns !== this.columns) {
      this.setup(height, rows, columns);
    }
    let frame = `${ESC}7`;
    for (let i = 0; i < height; i++) {
      frame += `${ESC}[${rows - height + 1 + i};1H${ESC}[2K${lines[i] ?? ''}`;
    }
    this.write(frame + `${ESC}8`);
  }

  private setup(height: number, rows: number, columns: number): void {
    let text = '';
    if (!this.active) {
      // Make room: scroll what is on screen up by the panel's height (a no-op where the
      // screen has empty rows below the cursor), then come back to where the output goes.
      text += '\n'.repeat(height) + `${ESC}[${height}A`;
    } else {
      // A resize: give the whole screen back, clear the old panel, start over.
      text += `${ESC}7${ESC}[r${ESC}8${ESC}7${ESC}[${Math.max(1, rows - this.height)};1H${ESC}[J${ESC}8`;
      if (height > this.height) text += `${ESC}7${ESC}[${rows};1H` + '\n'.repeat(height - this.height) + `${ESC}8${ESC}[${height - this.height}A`;
    }
    // DECSTBM homes the cursor: save and restore around it.
    text += `${ESC}7${ESC}[1;${rows - height}r${ESC}8`;
    this.write(text);
    this.height = height;
    this.rows = rows;
    this.columns = columns;
    this.active = true;
  }

  /** Gives the whole screen back; the last frame stays visible and the cursor goes below it. */
  close(): void {
    if (!this.active) return;
    this.active = false;
    this.write(`${ESC}7${ESC}[r${ESC}8${ESC}[${this.rows};1H\n`);
  }
}
