import { describe, expect, it } from 'vitest';
import { Inflights } from '../../src/raft/inflights.js';

describe('Inflights', () => {
  it('is full at the message limit', () => {
    const f = new Inflights(3, 1000);
    for (const i of [1, 2]) f.add(i, 10);
    expect([f.count(), f.full()]).toEqual([2, false]);
    f.add(3, 10);
    expect([f.count(), f.full()]).toEqual([3, true]);
  });

  it('is full at the byte limit, whatever the count', () => {
    const f = new Inflights(100, 25);
    f.add(1, 10);
    f.add(2, 10);
    expect(f.full()).toBe(false);
    f.add(3, 5);
    expect(f.full()).toBe(true);
  });

  it.each<[number, number]>([
    [0, 5],
    [1, 4],
    [3, 2],
    [4, 1],
    [9, 0],
  ])('freeLE(%i) frees every message ending at or below it, leaving %i', (upTo, left) => {
    const f = new Inflights(5, 1000);
    for (const i of [1, 2, 3, 4, 5]) f.add(i, 10);
    f.freeLE(upTo);
    expect(f.count()).toBe(left);
    expect(f.full()).toBe(left === 5);
  });

  it('freeing releases the bytes of the freed messages', () => {
    const f = new Inflights(100, 30);
    for (const i of [1, 2, 3]) f.add(i, 10);
    expect(f.full()).toBe(true);
    f.freeLE(1);
    expect(f.full()).toBe(false);
    f.add(4, 10);
    expect(f.full()).toBe(true);
  });

  it('freeFirstOne frees exactly the oldest message', () => {
    const f = new Inflights(2, 100);
    f.add(4, 10);
    f.add(7, 10);
    f.freeFirstOne();
    expect(f.count()).toBe(1);
    f.freeLE(6);
    expect(f.count()).toBe(1);
    f.freeLE(7);
    expect(f.count()).toBe(0);
    f.freeFirstOne();
    expect(f.count()).toBe(0);
  });

  it('reset empties it', () => {
    const f = new Inflights(1, 100);
    f.add(1, 100);
    f.reset();
    expect([f.count(), f.full()]).toEqual([0, false]);
  });
});
