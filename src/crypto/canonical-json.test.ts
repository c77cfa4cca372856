import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes, canonicalize } from './canonical-json.js';

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

test('canonicalizes the RFC 8785 §3.2.2 sample', () => {
  const input = String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`;
  const expected =
    String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],` +
    String.raw`"string":"€$\u000f\nA'B\"\\\\\"/"}`;
  assert.equal(canonicalize(JSON.parse(input)), expected);
});

test('sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
  const input = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  const expected =
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
    '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
  assert.equal(canonicalize(input), expected);
  // U+1F600 (as surrogates D83D DE00) sorts before U+FB33: code units, not code points.
  assert.ok(canonicalize(input).indexOf('\ud83d\ude00') < canonicalize(input).indexOf('\ufb33'));
});

test('serializes numbers as ECMAScript does (RFC 8785 Appendix B samples)', () => {
  const samples: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // -0
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [bits, expected] of samples) {
    assert.equal(canonicalize(fromBits(bits)), expected, bits);
  }
});

test('escapes strings as RFC 8785 §3.2.2.2 prescribes', () => {
  assert.equal(canonicalize('\b\t\n\f\r"\\'), String.raw`"\b\t\n\f\r\"\\"`);
  assert.equal(canonicalize('\u0000\u0001\u001f'), String.raw`"\u0000\u0001\u001f"`);
  // Only controls, quote and backslash are escaped; "/", DEL, U+2028 and non-ASCII stay raw.
  assert.equal(canonicalize('/\u007f\u2028\u00e9\ud83d\ude00'), '"/\u007f\u2028\u00e9\ud83d\ude00"');
  for (let c = 0; c < 0x20; c += 1) {
    const out = canonicalize(String.fromCharCode(c));
    assert.match(out, /^"\\([btnfr]|u00[01][0-9a-f])"$/, `U+${c.toString(16)}`);
  }
});

test('serializes literals, arrays in order and nested objects sorted at every level', () => {
  assert.equal(canonicalize(null), 'null');
  assert.equal(canonicalize(true), 'true');
  assert.equal(canonicalize(false), 'false');
  assert.equal(canonicalize(-1.5), '-1.5');
  assert.equal(canonicalize(-0), '0');
  assert.equal(canonicalize(''), '""');
  assert.equal(canonicalize([]), '[]');
  assert.equal(canonicalize({}), '{}');
  assert.equal(canonicalize([3, 1, 2]), '[3,1,2]');
  const event = {
    type: 'secret.read',
    actor: { kind: 'agent', id: 'a_1', labels: { z: 1, a: [{ y: null, x: false }] } },
    at: '2024-01-01T00:00:00Z',
    seq: 42,
  };
  assert.equal(
    canonicalize(event),
    '{"actor":{"id":"a_1","kind":"agent","labels":{"a":[{"x":false,"y":null}],"z":1}},' +
      '"at":"2024-01-01T00:00:00Z","seq":42,"type":"secret.read"}',
  );
});

test('sorts keys by code unit, not by locale or number value', () => {
  assert.equal(canonicalize({ b: 1, B: 2, a: 3, '10': 4, '9': 5, '': 6 }), '{"":6,"10":4,"9":5,"B":2,"a":3,"b":1}');
});

test('accepts objects without a prototype and an own "__proto__" key', () => {
  const bare = Object.create(null) as Record<string, unknown>;
  bare['b'] = 1;
  bare['a'] = 2;
  assert.equal(canonicalize(bare), '{"a":2,"b":1}');
  assert.equal(canonicalize(JSON.parse('{"__proto__":{"x":1},"a":0}')), '{"__proto__":{"x":1},"a":0}');
});

test('gives the same output whatever order the keys were inserted in', () => {
  const entries: [string, unknown][] = [
    ['id', 'evt_1'],
    ['org', { id: 'o_1', name: 'Acme' }],
    ['é', 1],
    ['E', 2],
    ['\ud83d\ude00', [1, { b: 2, a: 1 }]],
    ['z', null],
  ];
  const expected = canonicalize(Object.fromEntries(entries));
  for (let round = 0; round < 50; round += 1) {
    const shuffled = entries.slice();
    for (let i = shuffled.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j] as [string, unknown], shuffled[i] as [string, unknown]];
    }
    assert.equal(canonicalize(Object.fromEntries(shuffled)), expected);
  }
  assert.equal(canonicalize({ a: { c: 1, d: 2 }, b: 0 }), canonicalize({ b: 0, a: { d: 2, c: 1 } }));
});

test('is the canonical form of its own output', () => {
  const value = { n: [1e21, 1e-7, 0.1], s: 'x\u0000"\\é', o: { b: [], a: {} } };
  const once = canonicalize(value);
  assert.equal(canonicalize(JSON.parse(once)), once);
});

test('encodes the canonical text as UTF-8', () => {
  assert.deepEqual(
    canonicalBytes({ '€': 'é' }),
    new Uint8Array([0x7b, 0x22, 0xe2, 0x82, 0xac, 0x22, 0x3a, 0x22, 0xc3, 0xa9, 0x22, 0x7d]),
  );
  assert.deepEqual(canonicalBytes('\ud83d\ude00'), new Uint8Array([0x22, 0xf0, 0x9f, 0x98, 0x80, 0x22]));
  assert.equal(Object.getPrototypeOf(canonicalBytes(1)), Uint8Array.prototype);
});

test('refuses values that are not JSON instead of dropping or converting them', () => {
  class Event {
    a = 1;
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  const cyclicArray: unknown[] = [];
  cyclicArray.push(cyclicArray);
  const withSymbolKey = { a: 1, [Symbol('s')]: 2 };
  const withHidden = Object.defineProperty({ a: 1 }, 'b', { value: 2, enumerable: false });
  const arrayWithProp = Object.assign([1, 2], { extra: 3 });
  const refused: [string, unknown][] = [
    ['undefined', undefined],
    ['undefined member', { a: undefined }],
    ['undefined element', [1, undefined]],
    ['sparse array', new Array<number>(3).fill(1, 0, 1)], // a hole at indexes 1 and 2
    ['array with a named property', arrayWithProp],
    ['function', () => 1],
    ['function member', { toJSON: () => 'x' }],
    ['symbol', Symbol('s')],
    ['symbol key', withSymbolKey],
    ['non-enumerable property', withHidden],
    ['bigint', 1n],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', [Number.NEGATIVE_INFINITY]],
    ['Date', new Date(0)],
    ['Map', new Map()],
    ['Set', new Set()],
    ['RegExp', /x/],
    ['Uint8Array', new Uint8Array(2)],
    ['boxed string', new String('x')],
    ['boxed number', new Number(1)],
    ['class instance', new Event()],
    ['nested class instance', { a: [{ b: new Event() }] }],
    ['cycle', cyclic],
    ['array cycle', cyclicArray],
    ['lone high surrogate', 'a\ud800b'],
    ['trailing high surrogate', 'a\ud83d'],
    ['lone low surrogate', '\ude00a'],
    ['reversed pair', '\ude00\ud83d'],
    ['lone surrogate in a key', { '\ud800': 1 }],
    ['lone surrogate nested', { a: ['ok', '\udfff'] }],
  ];
  for (const [name, value] of refused) {
    assert.throws(() => canonicalize(value), TypeError, name);
    assert.throws(() => canonicalBytes(value), TypeError, name);
  }
});

test('allows a shared, non-circular reference and names the path of a refused member', () => {
  const shared = { x: 1 };
  assert.equal(canonicalize({ a: shared, b: [shared] }), '{"a":{"x":1},"b":[{"x":1}]}');
  assert.throws(() => canonicalize({ actor: { tags: ['a', undefined] } }), {
    name: 'TypeError',
    message: /\$\["actor"\]\["tags"\]\[1\]/,
  });
  assert.throws(() => canonicalize({ secret: 'hunter2', n: Number.NaN }), (error: unknown) => {
    assert.ok(error instanceof TypeError);
    assert.equal(error.message.includes('hunter2'), false);
    return true;
  });
});
