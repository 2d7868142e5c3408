// "Why won't my process exit?" Opens a few things, asks uvscope what keeps the loop alive,
// closes them one by one and asks again. Run: node examples/why-alive.js
const { spawn } = require('node:child_process');
const net = require('node:net');
const { handles, handleSummary, whyAlive } = require('uvscope');

const server = net.createServer((socket) => socket.end());
server.listen(0, '127.0.0.1', () => {
  const interval = setInterval(() => {}, 1000);
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });

  console.log('with a server, an interval and a child process:');
  console.log('  ' + whyAlive());
  console.log('  counts:', JSON.stringify(handleSummary()));
  console.log('  the server in detail:', handles().find((h) => h.type === 'tcp' && h.listening));

  child.kill();
  clearInterval(interval);
  child.on('exit', () => {
    console.log('child and interval gone:\n  ' + whyAlive());
    server.close(() => setTimeout(() => {
      console.log('server closed:\n  ' + whyAlive());
    }, 0));
  });
});
