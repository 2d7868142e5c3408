// Preloaded (NODE_OPTIONS=--require) into every Node that CI runs under qemu-user without
// binfmt_misc: a child process started from one (vitest's forks, the tests' own children,
// the CLI's program) is the same foreign executable, which the kernel cannot run, so it is
// started through the emulator too. Only process.execPath is rewritten.
'use strict';
const { ChildProcess } = require('node:child_process');

const emulator = process.env.UVSCOPE_QEMU;
if (emulator) {
  const spawn = ChildProcess.prototype.spawn;
  ChildProcess.prototype.spawn = function (options) {
    if (options && options.file === process.execPath) {
      options = { ...options, file: emulator, args: [emulator, process.execPath, ...options.args.slice(1)] };
    }
    return spawn.call(this, options);
  };
}
