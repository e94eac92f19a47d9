import { nodeSimOptions, runNodeSeed, type NodeBrokenMode } from './world.js';

const from = Number(process.argv[2] ?? '1');
const count = Number(process.argv[3] ?? '1');
const broken = process.argv[4] as NodeBrokenMode | undefined;
const t0 = performance.now();
let bad = 0;
for (let seed = from; seed < from + count; seed++) {
  const r = await runNodeSeed(nodeSimOptions(seed, { broken }));
  if (r.violations.length > 0) {
    bad++;
    console.log(`seed ${seed}: ${r.violations.join(' | ').slice(0, 600)}`);
  }
}
console.log(`${count} seeds, ${bad} bad, ${(performance.now() - t0).toFixed(0)} ms`);
