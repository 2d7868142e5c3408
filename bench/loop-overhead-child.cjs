// One measurement: a setImmediate chain (one loop iteration per callback) under one
// variant. Prints ns per iteration. Usage: node loop-overhead-child.cjs <variant> <iterations>
const { monitorEventLoopDelay } = require('node:perf_hooks');

const [variant, countArg] = process.argv.slice(2);
const count = Number(countArg);
let stop = () => {};

switch (variant) {
  case 'none':
    break;
  case 'uvscope':
    require('uvscope');
    break;
  case 'uvscope+iterations': {
    const stream = require('uvscope').iterations();
    stop = () => stream.return();
    break;
  }
  case 'datadog': {
    const metrics = require('@datadog/native-metrics');
    metrics.start();
    stop = () => metrics.stop();
    break;
  }
  case 'eld-10ms': {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    stop = () => h.disable();
    break;
  }
  case 'eld-per-iteration': {
    let h;
    try {
      h = monitorEventLoopDelay({ samplePerIteration: true });
    } catch {
      console.log('unsupported');
      process.exit(0);
    }
    if (!('samplePerIteration' in (h.constructor.prototype ?? {})) && process.versions.node.split('.')[0] < 24) {
      console.log('unsupported');
      process.exit(0);
    }
    h.enable();
    stop = () => h.disable();
    break;
  }
  default:
    throw new Error(`unknown variant ${variant}`);
}

function chain(n, done) {
  let left = n;
  const step = () => (--left > 0 ? setImmediate(step) : done());
  setImmediate(step);
}

chain(Math.min(200_000, count), () => {
  const start = process.hrtime.bigint();
  chain(count, () => {
    const ns = Number(process.hrtime.bigint() - start) / count;
    stop();
    console.log(ns.toFixed(2));
  });
});
