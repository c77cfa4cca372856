import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  EMPTY_ROOT,
  HASH_BYTES,
  consistencyProof,
  createTreeBuilder,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const hexes = (list: readonly Uint8Array[]): string[] => list.map(hex);

function at<T>(list: readonly T[], i: number): T {
  const value = list[i];
  if (value === undefined) throw new Error(`no element ${i}`);
  return value;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

/** Distinct leaf hashes for property tests: leafHash of the 4-byte big-endian index. */
function makeLeaves(n: number): Uint8Array[] {
  const leaves: Uint8Array[] = [];
  const data = new Uint8Array(4);
  const view = new DataView(data.buffer);
  for (let i = 0; i < n; i += 1) {
    view.setUint32(0, i);
    leaves.push(leafHash(data));
  }
  return leaves;
}

// ---- Reference implementations, straight from the RFC 6962 §2.1 definitions (slicing). ----
// Deliberately naive and independent of merkle.ts except for the two hash primitives, which are
// themselves checked against raw SHA-256 below.

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function refMth(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return new Uint8Array(createHash('sha256').digest());
  if (d.length === 1) return at(d, 0);
  const k = largestPowerOfTwoBelow(d.length);
  return nodeHash(refMth(d.slice(0, k)), refMth(d.slice(k)));
}

function refPath(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = largestPowerOfTwoBelow(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}

function refSubproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const k = largestPowerOfTwoBelow(d.length);
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}

// ---- RFC 6962 test data from the Certificate Transparency reference implementation ----
// (certificate-transparency-go / Trillian merkle tests; "Generated from ReferenceMerkleTreeHash /
// ReferenceSnapshotConsistency in C++ version").

const CT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex);
const CT_LEAF_HASHES = CT_LEAVES.map(leafHash);

const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const ctRoot = (size: number): Uint8Array => unhex(at(CT_ROOTS, size - 1));

// CT's vectors number leaves from 1; these are converted to 0-based indexes.
const CT_INCLUSION = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CT_CONSISTENCY = [
  { oldSize: 1, newSize: 1, proof: [] },
  {
    oldSize: 1,
    newSize: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    oldSize: 6,
    newSize: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    oldSize: 2,
    newSize: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

// ---- Hash primitives ----

test('hashes a leaf as SHA-256(0x00 ‖ data) and a node as SHA-256(0x01 ‖ left ‖ right)', () => {
  const data = unhex('deadbeef');
  assert.equal(hex(leafHash(data)), createHash('sha256').update(unhex('00deadbeef')).digest('hex'));
  const l = leafHash(unhex('01'));
  const r = leafHash(unhex('02'));
  const expected = createHash('sha256').update(unhex('01')).update(l).update(r).digest('hex');
  assert.equal(hex(nodeHash(l, r)), expected);
  assert.equal(leafHash(data).length, HASH_BYTES);
  assert.equal(Object.getPrototypeOf(leafHash(data)), Uint8Array.prototype);
});

test('the empty root is SHA-256 of the empty string', () => {
  assert.equal(hex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hex(merkleRoot([])), hex(EMPTY_ROOT));
  assert.equal(hex(createTreeBuilder().root()), hex(EMPTY_ROOT));
  assert.notEqual(merkleRoot([]), EMPTY_ROOT, 'returns a copy, not the shared constant');
});

// ---- Known-answer tests ----

test('matches the CT reference roots for the 8 test leaves at every size 1..8', () => {
  for (let size = 1; size <= 8; size += 1) {
    const leaves = CT_LEAF_HASHES.slice(0, size);
    assert.equal(hex(merkleRoot(leaves)), at(CT_ROOTS, size - 1), `size ${size}`);
    assert.equal(hex(refMth(leaves)), at(CT_ROOTS, size - 1), `reference, size ${size}`);
  }
});

test('matches the CT reference inclusion proofs', () => {
  for (const { index, size, proof } of CT_INCLUSION) {
    const leaves = CT_LEAF_HASHES.slice(0, size);
    assert.deepEqual(hexes(inclusionProof(leaves, index)), proof, `leaf ${index} of ${size}`);
    assert.deepEqual(hexes(inclusionProof(CT_LEAF_HASHES, index, size)), proof, `leaf ${index} of ${size}/8`);
    assert.equal(verifyInclusion(at(CT_LEAF_HASHES, index), index, size, proof.map(unhex), ctRoot(size)), true);
  }
});

test('matches the CT reference consistency proofs', () => {
  for (const { oldSize, newSize, proof } of CT_CONSISTENCY) {
    assert.deepEqual(hexes(consistencyProof(CT_LEAF_HASHES, oldSize, newSize)), proof, `${oldSize} → ${newSize}`);
    assert.equal(verifyConsistency(oldSize, newSize, ctRoot(oldSize), ctRoot(newSize), proof.map(unhex)), true);
  }
});

// ---- Root computation ----

test('merkleRoot agrees with the recursive RFC definition for 0..100 leaves', () => {
  const all = makeLeaves(100);
  for (let n = 0; n <= 100; n += 1) {
    const leaves = all.slice(0, n);
    assert.equal(hex(merkleRoot(leaves)), hex(refMth(leaves)), `n = ${n}`);
  }
});

test('the tree builder root equals merkleRoot at every size 0..200 without being consumed', () => {
  const all = makeLeaves(200);
  const builder = createTreeBuilder();
  for (let n = 0; n <= 200; n += 1) {
    assert.equal(builder.size, n);
    const expected = hex(merkleRoot(all.slice(0, n)));
    assert.equal(hex(builder.root()), expected, `n = ${n}`);
    assert.equal(hex(builder.root()), expected, `n = ${n}, second call`);
    if (n < 200) builder.push(at(all, n));
  }
});

test('the tree builder is not affected by later changes to a pushed buffer or a returned root', () => {
  const leaves = makeLeaves(3);
  const builder = createTreeBuilder();
  const reused = at(leaves, 0).slice();
  builder.push(reused);
  reused.fill(0);
  const single = builder.root();
  assert.equal(hex(single), hex(at(leaves, 0)));
  single.fill(0);
  builder.push(at(leaves, 1));
  builder.push(at(leaves, 2));
  assert.equal(hex(builder.root()), hex(merkleRoot(leaves)));
});

test('rejects leaf hashes that are not 32-byte Uint8Arrays', () => {
  const builder = createTreeBuilder();
  assert.throws(() => builder.push(new Uint8Array(31)), TypeError);
  assert.throws(() => builder.push('ab' as unknown as Uint8Array), TypeError);
  assert.equal(builder.size, 0);
  assert.throws(() => merkleRoot([...makeLeaves(3), new Uint8Array(33)]), TypeError);
  assert.throws(() => merkleRoot(new Array<Uint8Array>(3)), TypeError);
});

test('builder and merkleRoot agree on 200,000 leaves', () => {
  const n = 200_000;
  const leaves = makeLeaves(n);
  const builder = createTreeBuilder();
  for (const leaf of leaves) builder.push(leaf);
  assert.equal(builder.size, n);
  assert.equal(hex(builder.root()), hex(merkleRoot(leaves)));
});

test('proofs verify in a tree of 5,000 leaves', () => {
  const n = 5_000;
  const leaves = makeLeaves(n);
  const root = merkleRoot(leaves);
  for (const index of [0, 1, 2_047, 2_048, 4_095, 4_096, 4_999]) {
    const proof = inclusionProof(leaves, index);
    assert.equal(verifyInclusion(at(leaves, index), index, n, proof, root), true, `leaf ${index}`);
    assert.equal(verifyInclusion(at(leaves, index), index, n, proof.slice(0, -1), root), false, `leaf ${index}`);
  }
  for (const oldSize of [1, 2_048, 2_049, 4_097, 4_999]) {
    const oldRoot = merkleRoot(leaves.slice(0, oldSize));
    const proof = consistencyProof(leaves, oldSize, n);
    assert.equal(verifyConsistency(oldSize, n, oldRoot, root, proof), true, `${oldSize} → ${n}`);
    assert.equal(verifyConsistency(oldSize, n, root, oldRoot, proof), false, `${oldSize} → ${n}`);
  }
});

// ---- Inclusion proofs, exhaustively for small trees ----

const MAX_N = 64;
const LEAVES = makeLeaves(MAX_N + 1);
const ROOTS = Array.from({ length: MAX_N + 2 }, (_, n) => merkleRoot(LEAVES.slice(0, n)));
const root = (n: number): Uint8Array => at(ROOTS, n);

/**
 * Bits to flip in a proof element: all 256 for small trees; for larger ones a few spread over
 * the hash (every element still gets tampered with; SHA-256 does the rest).
 */
function bitsToFlip(n: number, element: number): number[] {
  return n <= 8 ? Array.from({ length: HASH_BYTES * 8 }, (_, b) => b) : [element % 8, 128 + n % 128, 255];
}

/**
 * Other values to try in place of `i` in 0..limit: all of them for small trees, else the
 * neighbours, mirror images and edges, where an off-by-one would show.
 */
function others(i: number, n: number, limit: number): number[] {
  const all =
    n <= 16
      ? Array.from({ length: limit + 1 }, (_, j) => j)
      : [0, 1, i - 2, i - 1, i + 1, i + 2, i ^ 1, n - 1 - i, n - 2, n - 1, n, n + 1];
  return [...new Set(all)].filter((j) => j !== i && j >= 0 && j <= limit);
}

/** Length of PATH(i, D[n]) (RFC 6962 §2.1.1), without hashing. */
function pathLength(i: number, n: number): number {
  let length = 0;
  while (n > 1) {
    const k = largestPowerOfTwoBelow(n);
    if (i < k) n = k;
    else [i, n] = [i - k, n - k];
    length += 1;
  }
  return length;
}

test('inclusion proofs match the recursive RFC definition and verify for every leaf of trees of 1..64', () => {
  for (let n = 1; n <= MAX_N; n += 1) {
    const leaves = LEAVES.slice(0, n);
    for (let i = 0; i < n; i += 1) {
      const proof = inclusionProof(leaves, i);
      assert.equal(proof.length, pathLength(i, n));
      assert.deepEqual(hexes(proof), hexes(refPath(i, leaves)), `leaf ${i} of ${n}`);
      assert.deepEqual(hexes(inclusionProof(LEAVES, i, n)), hexes(proof), `leaf ${i} of ${n} (prefix)`);
      assert.equal(verifyInclusion(at(leaves, i), i, n, proof, root(n)), true, `leaf ${i} of ${n}`);
    }
  }
});

test('an inclusion proof with any bit flipped in any element fails', () => {
  for (let n = 2; n <= MAX_N; n += 1) {
    for (let i = 0; i < n; i += 1) {
      const proof = inclusionProof(LEAVES, i, n);
      for (let e = 0; e < proof.length; e += 1) {
        for (const bit of bitsToFlip(n, e)) {
          const tampered = proof.slice();
          tampered[e] = flipBit(at(proof, e), bit);
          const what = `leaf ${i}/${n} element ${e} bit ${bit}`;
          assert.equal(verifyInclusion(at(LEAVES, i), i, n, tampered, root(n)), false, what);
        }
      }
    }
  }
});

test('an inclusion proof fails for a wrong index, leaf, root or tree size', () => {
  for (let n = 1; n <= MAX_N; n += 1) {
    for (let i = 0; i < n; i += 1) {
      const leaf = at(LEAVES, i);
      const proof = inclusionProof(LEAVES, i, n);
      const ok = (l: Uint8Array, idx: number, size: number, p: Uint8Array[], r: Uint8Array): boolean =>
        verifyInclusion(l, idx, size, p, r);
      for (const j of others(i, n, n + 1)) {
        assert.equal(ok(leaf, j, n, proof, root(n)), false, `leaf ${i}/${n} as index ${j}`);
      }
      for (const j of others(i, n, n)) {
        assert.equal(ok(at(LEAVES, j), i, n, proof, root(n)), false, `leaf ${j} in place of ${i}/${n}`);
      }
      assert.equal(ok(flipBit(leaf, 0), i, n, proof, root(n)), false);
      assert.equal(ok(leaf, i, n, proof, flipBit(root(n), 255)), false);
      assert.equal(ok(leaf, i, n, proof, root(n + 1)), false);
      assert.equal(ok(leaf, i, n, proof, root(n - 1)), false);
      // A wrong size together with the root the log had at that size.
      const sizes = n <= 16 ? others(n, n, MAX_N + 1) : [i + 1, n - 2, n - 1, n + 1, n + 2, 2 * n, 64, 65];
      for (const m of sizes) {
        if (m <= i || m === n || m > MAX_N + 1) continue;
        assert.equal(ok(leaf, i, m, proof, root(m)), false, `leaf ${i}/${n} against size ${m}`);
        // A size whose audit path has another length fails even against the right root.
        if (pathLength(i, m) !== proof.length) {
          assert.equal(ok(leaf, i, m, proof, root(n)), false, `leaf ${i}/${n}, path length of size ${m}`);
        }
      }
      // Too long, too short.
      assert.equal(ok(leaf, i, n, [...proof, root(n)], root(n)), false);
      if (proof.length > 0) assert.equal(ok(leaf, i, n, proof.slice(0, -1), root(n)), false);
    }
  }
});

test('verifyInclusion returns false instead of throwing on malformed input', () => {
  const leaves = LEAVES.slice(0, 5);
  const proof = inclusionProof(leaves, 1);
  const leaf = at(leaves, 1);
  const r = root(5);
  assert.equal(verifyInclusion(leaf, 1, 5, proof, r), true);
  assert.equal(verifyInclusion(leaf, 5, 5, proof, r), false);
  assert.equal(verifyInclusion(leaf, 0, 0, [], EMPTY_ROOT), false);
  assert.equal(verifyInclusion(leaf, -1, 5, proof, r), false);
  assert.equal(verifyInclusion(leaf, 1.5, 5, proof, r), false);
  assert.equal(verifyInclusion(leaf, 1, Number.NaN, proof, r), false);
  assert.equal(verifyInclusion(leaf, 1, 2 ** 53, proof, r), false);
  assert.equal(verifyInclusion(leaf, 1, 5, [], r), false);
  assert.equal(verifyInclusion(leaf, 1, 5, [at(proof, 0), new Uint8Array(31), at(proof, 2)], r), false);
  assert.equal(verifyInclusion(leaf, 1, 5, [at(proof, 0), 'x' as unknown as Uint8Array, at(proof, 2)], r), false);
  assert.equal(verifyInclusion(leaf, 1, 5, null as unknown as Uint8Array[], r), false);
  assert.equal(verifyInclusion(leaf.subarray(1), 1, 5, proof, r), false);
  assert.equal(verifyInclusion(leaf, 1, 5, proof, r.subarray(0, 16)), false);
  assert.equal(verifyInclusion(undefined as unknown as Uint8Array, 1, 5, proof, r), false);
});

test('inclusion proofs work for sizes beyond 2^32 arithmetic (no 32-bit bit operators)', () => {
  // A proof for the last leaf of a tree of 2^33 + 1 leaves is one sibling: the root of the first
  // 2^33 leaves. Verification only does arithmetic on the sizes, so it can be checked directly.
  const size = 2 ** 33 + 1;
  const left = leafHash(unhex('aa'));
  const last = leafHash(unhex('bb'));
  const r = nodeHash(left, last);
  assert.equal(verifyInclusion(last, size - 1, size, [left], r), true);
  assert.equal(verifyInclusion(last, size - 1 - 2 ** 32, size - 2 ** 32, [left], r), true);
  assert.equal(verifyInclusion(last, size - 2, size, [left], r), false);
});

test('inclusionProof rejects an index or size out of range', () => {
  const leaves = LEAVES.slice(0, 4);
  assert.throws(() => inclusionProof(leaves, 4), RangeError);
  assert.throws(() => inclusionProof(leaves, -1), RangeError);
  assert.throws(() => inclusionProof(leaves, 0, 5), RangeError);
  assert.throws(() => inclusionProof([], 0), RangeError);
  assert.throws(() => inclusionProof(leaves, 0.5), RangeError);
});

// ---- Consistency proofs, exhaustively for small trees ----

test('consistency proofs match the recursive RFC definition and verify for every 0 <= m <= n <= 64', () => {
  for (let n = 0; n <= MAX_N; n += 1) {
    for (let m = 0; m <= n; m += 1) {
      const proof = consistencyProof(LEAVES, m, n);
      const expected = m === 0 || m === n ? [] : refSubproof(m, LEAVES.slice(0, n), true);
      assert.deepEqual(hexes(proof), hexes(expected), `${m} → ${n}`);
      assert.deepEqual(hexes(consistencyProof(LEAVES.slice(0, n), m, n)), hexes(proof), `${m} → ${n} (exact)`);
      assert.equal(verifyConsistency(m, n, root(m), root(n), proof), true, `${m} → ${n}`);
    }
  }
});

test('a tampered consistency proof, wrong old root or wrong new root fails', () => {
  for (let n = 1; n <= MAX_N; n += 1) {
    for (let m = 1; m < n; m += 1) {
      const proof = consistencyProof(LEAVES, m, n);
      const ok = (p: Uint8Array[], oldRoot = root(m), newRoot = root(n)): boolean =>
        verifyConsistency(m, n, oldRoot, newRoot, p);
      for (let e = 0; e < proof.length; e += 1) {
        for (const bit of [e % 8, 255]) {
          const tampered = proof.slice();
          tampered[e] = flipBit(at(proof, e), bit);
          assert.equal(ok(tampered), false, `${m} → ${n} el ${e} bit ${bit}`);
        }
      }
      assert.equal(ok(proof.slice(0, -1)), false, `${m} → ${n} truncated`);
      assert.equal(ok([...proof, root(n)]), false, `${m} → ${n} extended`);
      assert.equal(ok([]), false, `${m} → ${n} empty`);
      assert.equal(ok(proof.slice().reverse()), proof.length === 1, `${m} → ${n} reversed`);
      assert.equal(ok(proof, flipBit(root(m), 3)), false, `${m} → ${n} old root flipped`);
      assert.equal(ok(proof, root(m - 1)), false, `${m} → ${n} old root of size ${m - 1}`);
      assert.equal(ok(proof, root(m + 1)), false, `${m} → ${n} old root of size ${m + 1}`);
      assert.equal(ok(proof, root(m), flipBit(root(n), 200)), false, `${m} → ${n} new root flipped`);
      assert.equal(ok(proof, root(m), root(n + 1)), false, `${m} → ${n} new root of size ${n + 1}`);
      assert.equal(ok(proof, root(m), root(n - 1)), false, `${m} → ${n} new root of size ${n - 1}`);
      // The same proof presented for other sizes, with the log's roots for those sizes.
      for (const [m2, n2] of [
        [m + 1, n],
        [m - 1, n],
        [m, n + 1],
        [m, n - 1],
      ] as const) {
        if (m2 >= 1 && m2 < n2 && n2 <= MAX_N + 1) {
          assert.equal(verifyConsistency(m2, n2, root(m2), root(n2), proof), false, `${m} → ${n} as ${m2} → ${n2}`);
        }
      }
    }
  }
});

test('consistency proofs detect a rewritten history', () => {
  // A log that replaced leaf 3 after publishing a head of size 6.
  const forked = LEAVES.slice(0, 10);
  forked[3] = leafHash(unhex('ff'));
  const forkedRoot = merkleRoot(forked);
  for (let m = 4; m <= 6; m += 1) {
    assert.equal(verifyConsistency(m, 10, root(m), forkedRoot, consistencyProof(forked, m, 10)), false);
    assert.equal(verifyConsistency(m, 10, root(m), forkedRoot, consistencyProof(LEAVES, m, 10)), false);
  }
});

test('verifyConsistency handles the edge cases of RFC 6962 §2.1.2', () => {
  // Equal sizes: empty proof and equal roots.
  assert.equal(verifyConsistency(5, 5, root(5), root(5), []), true);
  assert.equal(verifyConsistency(5, 5, root(5), root(4), []), false);
  assert.equal(verifyConsistency(5, 5, root(5), root(5), [root(5)]), false);
  // Old size 0: the empty tree is a prefix of every tree; the proof must be empty.
  assert.equal(verifyConsistency(0, 7, EMPTY_ROOT, root(7), []), true);
  assert.equal(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []), true);
  assert.equal(verifyConsistency(0, 7, EMPTY_ROOT, root(7), [root(7)]), false);
  assert.equal(verifyConsistency(0, 7, root(1), root(7), []), false);
  assert.equal(verifyConsistency(0, 0, EMPTY_ROOT, root(1), []), false);
  // Old size greater than new size.
  assert.equal(verifyConsistency(8, 5, root(8), root(5), consistencyProof(LEAVES, 5, 8)), false);
  assert.equal(verifyConsistency(6, 5, root(6), root(5), []), false);
});

test('verifyConsistency returns false instead of throwing on malformed input', () => {
  const proof = consistencyProof(LEAVES, 3, 7);
  assert.equal(verifyConsistency(3, 7, root(3), root(7), proof), true);
  assert.equal(verifyConsistency(-1, 7, root(3), root(7), proof), false);
  assert.equal(verifyConsistency(3, 7.5, root(3), root(7), proof), false);
  assert.equal(verifyConsistency(3, Number.POSITIVE_INFINITY, root(3), root(7), proof), false);
  assert.equal(verifyConsistency(3, 7, root(3).subarray(1), root(7), proof), false);
  assert.equal(verifyConsistency(3, 7, root(3), null as unknown as Uint8Array, proof), false);
  assert.equal(verifyConsistency(3, 7, root(3), root(7), [...proof.slice(0, -1), new Uint8Array(32 + 1)]), false);
  assert.equal(verifyConsistency(3, 7, root(3), root(7), [1, 2] as unknown as Uint8Array[]), false);
  assert.equal(verifyConsistency(3, 7, root(3), root(7), 'proof' as unknown as Uint8Array[]), false);
});

test('consistencyProof rejects sizes out of range', () => {
  assert.throws(() => consistencyProof(LEAVES.slice(0, 4), 2, 5), RangeError);
  assert.throws(() => consistencyProof(LEAVES, 5, 4), RangeError);
  assert.throws(() => consistencyProof(LEAVES, -1, 4), RangeError);
  assert.throws(() => consistencyProof(LEAVES, 1, 2.5), RangeError);
  assert.deepEqual(consistencyProof(LEAVES, 0, 4), []);
  assert.deepEqual(consistencyProof(LEAVES, 4, 4), []);
});

test('a builder resumed from a frontier computes the same roots as one that saw every leaf', () => {
  const leaves = Array.from({ length: 300 }, (_, i) => leafHash(new Uint8Array([i & 0xff, i >> 8])));
  for (const cut of [0, 1, 2, 3, 7, 8, 100, 255, 256, 299]) {
    const first = createTreeBuilder();
    for (const l of leaves.slice(0, cut)) first.push(l);
    const saved = first.frontier();
    const resumed = createTreeBuilder({ size: saved.size, hashes: saved.hashes.map((h) => Buffer.from(h)) });
    for (const l of leaves.slice(cut)) resumed.push(l);
    assert.deepEqual(Buffer.from(resumed.root()), Buffer.from(merkleRoot(leaves)), `cut at ${cut}`);
  }
  assert.throws(() => createTreeBuilder({ size: 3, hashes: [leaves[0] as Uint8Array] }), RangeError);
});
