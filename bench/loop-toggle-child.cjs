// One process of bench/loop-toggle.mjs: uvscope, @datadog/native-metrics and the floor's
// callbacks (bench/floor/floor.c: empty, or each taking a stamp) all loaded, one of them
// running at a time; blocks of a setImmediate chain under each, in a shuffled order every round. Prints a JSON line:
// { cpuNs: { none: [...], floor: [...], stamps: [...], uvscope: [...], datadog: [...] }, recorded, expected,
// counterNs } (counterNs: one read of the counter uvscope's clock uses).
// Usage: node loop-toggle-child.cjs <floor addon> <iterations per block> <rounds>
const [floorPath, blockArg, roundsArg] = process.argv.slice(2);
const block = Number(blockArg);
const rounds = Number(roundsArg);
const floor = require(floorPath);
const uvscope = require('uvscope');
const metrics = require('@datadog/native-metrics');
metrics.start();

// The other addons' loop callbacks, found while they run; uvscope's own file is uvscope.node.
const groups = { uvscope: floor.collect('uvscope.node'), datadog: floor.collect('native-metrics') };
const toggles = {
  none: { on() {}, off() {} },
  floor: { on: () => floor.start(false), off: () => floor.stop() },
  stamps: { on: () => floor.start(true), off: () => floor.stop() },
  uvscope: { on: () => floor.resume(groups.uvscope), off: () => floor.pause(groups.uvscope) },
  datadog: { on: () => floor.resume(groups.datadog), off: () => floor.pause(groups.datadog) },
};
const chain = (n) =>
  new Promise((resolve) => {
    let left = n;
    const step = () => (--left > 0 ? setImmediate(step) : resolve());
    setImmediate(step);
  });
const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

async function main() {
  for (const g of Object.values(groups)) if (g < 0) throw new Error('a probe had no active prepare or check handle');
  toggles.uvscope.off();
  toggles.datadog.off();
  const out = Object.fromEntries(Object.keys(toggles).map((k) => [k, []]));
  // uvscope counts iterations only while its callbacks run: proof that the toggle took.
  const recorded = { uvscope: 0, others: 0 };
  await chain(200_000); // warm-up, nothing running
  for (let round = 0; round < rounds; round++) {
    const order = Object.keys(toggles).sort(() => Math.random() - 0.5);
    for (const name of order) {
      toggles[name].on();
      await chain(2000); // let the first iterations after a switch go by
      const before = uvscope.loopStats().iterations;
      const t0 = cpuNs();
      await chain(block);
      const spent = cpuNs() - t0;
      const counted = uvscope.loopStats().iterations - before;
      toggles[name].off();
      if (name === 'uvscope') recorded.uvscope += counted;
      else recorded.others += counted;
      out[name].push(spent / block);
    }
  }
  const counterNs = [1, 2, 3].map(() => floor.counterReadNs()).sort((a, b) => a - b)[1];
  console.log(JSON.stringify({ cpuNs: out, recorded, expected: rounds * block, counterNs }));
  metrics.stop();
}
main();
