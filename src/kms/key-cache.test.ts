import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyCache } from './key-cache.js';

const TTL = 1_000;

function keyOf(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

interface ZeroFill {
  before: Uint8Array;
  buffer: Uint8Array;
}

/** Records every `fill(0)` on a plain typed array (what `wipe` does), with the bytes it overwrote. */
function recordZeroFills(t: TestContext): ZeroFill[] {
  const fills: ZeroFill[] = [];
  type Fill = (this: Uint8Array, value: number, start?: number, end?: number) => Uint8Array;
  const proto = Object.getPrototypeOf(Uint8Array.prototype) as { fill: Fill };
  const original = proto.fill;
  t.mock.method(proto, 'fill', function (this: Uint8Array, value: number, start?: number, end?: number) {
    if (value === 0) fills.push({ before: Uint8Array.from(this), buffer: this });
    return original.call(this, value, start, end);
  });
  return fills;
}

function wasWiped(fills: ZeroFill[], key: Uint8Array): boolean {
  return fills.some(
    (f) => Buffer.from(f.before).equals(Buffer.from(key)) && f.buffer.every((b) => b === 0),
  );
}

test('returns the key it stored', () => {
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL });
  cache.set('v1', keyOf(1));
  assert.deepEqual(cache.get('v1'), keyOf(1));
  assert.equal(cache.get('missing'), undefined);
  assert.equal(cache.size, 1);
});

test('keeps its own copy, so the caller may wipe the buffer it passed to set', () => {
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL });
  const key = keyOf(7);
  cache.set('v1', key);
  key.fill(0);
  assert.deepEqual(cache.get('v1'), keyOf(7));
});

test('hands out copies, so wiping a returned key does not corrupt the cache', () => {
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL });
  cache.set('v1', keyOf(7));
  const first = cache.get('v1');
  assert.ok(first);
  first.fill(0);
  assert.deepEqual(cache.get('v1'), keyOf(7));
});

test('stops returning a key once its TTL has passed', () => {
  const clock = fakeClock();
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL, now: clock.now });
  cache.set('v1', keyOf(1));
  clock.advance(TTL - 1);
  assert.deepEqual(cache.get('v1'), keyOf(1));
  clock.advance(1);
  assert.equal(cache.get('v1'), undefined);
  assert.equal(cache.size, 0);
});

test('does not extend the TTL on reads', () => {
  const clock = fakeClock();
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL, now: clock.now });
  cache.set('v1', keyOf(1));
  for (let i = 0; i < 4; i++) {
    clock.advance(TTL / 4 - 1);
    assert.ok(cache.get('v1'));
  }
  clock.advance(4);
  assert.equal(cache.get('v1'), undefined);
});

test('counts only live entries in size', () => {
  const clock = fakeClock();
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL, now: clock.now });
  cache.set('old', keyOf(1));
  clock.advance(TTL / 2);
  cache.set('new', keyOf(2));
  assert.equal(cache.size, 2);
  clock.advance(TTL / 2);
  assert.equal(cache.size, 1);
});

test('evicts the least recently used key at the bound', () => {
  const cache = createKeyCache({ maxEntries: 2, ttlMs: TTL });
  cache.set('a', keyOf(1));
  cache.set('b', keyOf(2));
  assert.ok(cache.get('a')); // a is now more recent than b
  cache.set('c', keyOf(3));
  assert.equal(cache.size, 2);
  assert.equal(cache.get('b'), undefined);
  assert.deepEqual(cache.get('a'), keyOf(1));
  assert.deepEqual(cache.get('c'), keyOf(3));
});

test('evicts an expired key before a live one when full', () => {
  const clock = fakeClock();
  const cache = createKeyCache({ maxEntries: 2, ttlMs: TTL, now: clock.now });
  cache.set('a', keyOf(1));
  clock.advance(TTL / 2);
  cache.set('b', keyOf(2));
  assert.ok(cache.get('a')); // b is now least recently used, but a has expired by the next set
  clock.advance(TTL / 2);
  cache.set('c', keyOf(3));
  assert.deepEqual(cache.get('b'), keyOf(2));
  assert.deepEqual(cache.get('c'), keyOf(3));
});

test('replacing a key returns the new one', () => {
  const cache = createKeyCache({ maxEntries: 2, ttlMs: TTL });
  cache.set('a', keyOf(1));
  cache.set('a', keyOf(2));
  assert.equal(cache.size, 1);
  assert.deepEqual(cache.get('a'), keyOf(2));
});

test('wipes the buffer of an evicted key', (t) => {
  const fills = recordZeroFills(t);
  const cache = createKeyCache({ maxEntries: 1, ttlMs: TTL });
  cache.set('a', keyOf(0xa1));
  assert.equal(wasWiped(fills, keyOf(0xa1)), false);
  cache.set('b', keyOf(0xb2));
  assert.equal(wasWiped(fills, keyOf(0xa1)), true);
  assert.equal(wasWiped(fills, keyOf(0xb2)), false);
});

test('wipes the buffer of an expired key', (t) => {
  const fills = recordZeroFills(t);
  const clock = fakeClock();
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL, now: clock.now });
  cache.set('a', keyOf(0xa1));
  clock.advance(TTL);
  assert.equal(cache.get('a'), undefined);
  assert.equal(wasWiped(fills, keyOf(0xa1)), true);
});

test('wipes the buffers of deleted, replaced and cleared keys', (t) => {
  const fills = recordZeroFills(t);
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL });
  cache.set('a', keyOf(0xa1));
  cache.set('b', keyOf(0xb2));
  cache.set('c', keyOf(0xc3));
  cache.delete('a');
  assert.equal(wasWiped(fills, keyOf(0xa1)), true);
  assert.equal(cache.get('a'), undefined);
  cache.set('b', keyOf(0xb4));
  assert.equal(wasWiped(fills, keyOf(0xb2)), true);
  cache.clear();
  assert.equal(wasWiped(fills, keyOf(0xb4)), true);
  assert.equal(wasWiped(fills, keyOf(0xc3)), true);
  assert.equal(cache.size, 0);
});

test('deleteWhere removes and wipes only the matching keys', (t) => {
  const fills = recordZeroFills(t);
  const cache = createKeyCache({ maxEntries: 4, ttlMs: TTL });
  cache.set('org/v1/1', keyOf(0x11));
  cache.set('org/v1/2', keyOf(0x12));
  cache.set('org/v2/1', keyOf(0x21));
  assert.equal(cache.deleteWhere((id) => id.startsWith('org/v1/')), 2);
  assert.equal(cache.get('org/v1/1'), undefined);
  assert.equal(cache.get('org/v1/2'), undefined);
  assert.deepEqual(cache.get('org/v2/1'), keyOf(0x21));
  assert.equal(wasWiped(fills, keyOf(0x11)), true);
  assert.equal(wasWiped(fills, keyOf(0x12)), true);
  assert.equal(wasWiped(fills, keyOf(0x21)), false);
});

test('refuses a bound or TTL that is not positive', () => {
  assert.throws(() => createKeyCache({ maxEntries: 0, ttlMs: TTL }), RangeError);
  assert.throws(() => createKeyCache({ maxEntries: 1.5, ttlMs: TTL }), RangeError);
  assert.throws(() => createKeyCache({ maxEntries: 1, ttlMs: 0 }), RangeError);
});
