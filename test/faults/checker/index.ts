/** Linearizability checking of raftkv KV histories recorded by fault runs (DESIGN.md, tests item 4). */
export * from './history.js';
export * from './check.js';
export * from './search.js';
export * from './shrink.js';
export * from './timeline.js';
export * from './violation-file.js';
export * from './generate.js';
export { compileKey, stepRegister, Opcode } from './compile.js';
export type { CompiledKey, EventList } from './compile.js';
export { removalIsSound, pruneIdleUnknownWrites, writtenValueOf, observedValueOf } from './sound-removal.js';
