// Prints what uvscope knows about this Node while the loop does some work.
const uvscope = require('uvscope');

console.log(uvscope.runtime());
