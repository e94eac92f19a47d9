export * from './assert.js';
export * from './errors.js';
export * from './random.js';
export * from './clock.js';
export * from './limits.js';
export * from './timers.js';
export * from './host-port.js';
