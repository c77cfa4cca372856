/**
 * RFC 6962 §2.1 Merkle Hash Trees over SHA-256 (the same algorithms RFC 9162 §2.1 restates), for
 * the audit log's signed checkpoints (SPEC A3). Pure: no I/O, no config; `Uint8Array` in and out.
 *
 * Leaves are handled as leaf hashes throughout: callers hash each leaf once with {@link leafHash}
 * (for the audit log, `leafHash(eventHash)`) and pass the 32-byte results around.
 *
 * Generation functions ({@link merkleRoot}, {@link inclusionProof}, {@link consistencyProof})
 * throw on arguments a correct caller never passes. Verification functions
 * ({@link verifyInclusion}, {@link verifyConsistency}) take untrusted input and only ever answer
 * `true` or `false`.
 *
 * Sizes and indexes are plain numbers; all size arithmetic uses division rather than the 32-bit
 * bitwise operators, so it is exact for every safe integer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 output length; every leaf hash, node hash, root and proof element has this length. */
export const HASH_BYTES = 32;

// RFC 6962 §2.1: domain separation between leaves and interior nodes (second-preimage defence).
const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

function toUint8Array(out: Buffer): Uint8Array {
  // A plain Uint8Array view, so results compare equal to other Uint8Arrays (not a Buffer).
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * MTH({}) — RFC 6962 §2.1: the hash of an empty list is the hash of the empty string,
 * `e3b0c442…b855`. Do not mutate; functions in this module return copies of it.
 */
export const EMPTY_ROOT: Uint8Array = toUint8Array(createHash('sha256').digest());

/**
 * Hashes one leaf: `SHA-256(0x00 ‖ data)` (RFC 6962 §2.1).
 *
 * @param data the leaf's bytes (for the audit log, an event hash).
 * @returns the 32-byte leaf hash, a new buffer.
 * @example
 * const leaf = leafHash(eventHash);
 */
export function leafHash(data: Uint8Array): Uint8Array {
  return toUint8Array(createHash('sha256').update(LEAF_PREFIX).update(data).digest());
}

/**
 * Hashes an interior node: `SHA-256(0x01 ‖ left ‖ right)` (RFC 6962 §2.1).
 *
 * @returns the 32-byte node hash, a new buffer.
 * @example
 * const parent = nodeHash(leafHash(a), leafHash(b));
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return toUint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_BYTES;
}

function assertLeafHash(value: unknown): asserts value is Uint8Array {
  if (!isHash(value)) throw new TypeError(`leaf hashes must be ${HASH_BYTES}-byte Uint8Arrays`);
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function assertSize(value: unknown, what: string): asserts value is number {
  if (!isSize(value)) throw new RangeError(`${what} must be a non-negative safe integer`);
}

function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  // Roots are public, so constant time is not needed for secrecy; it costs nothing here.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 6962 §2.1: k is the largest power of two smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isOdd(x: number): boolean {
  return x % 2 === 1;
}

function half(x: number): number {
  return Math.floor(x / 2);
}

/**
 * The "compact range" of a tree: one perfect-subtree root per set bit of `size`, largest first.
 * Appending a leaf works like incrementing a binary counter: each carry merges the two topmost
 * subtrees of equal height. Folding the stack from the right yields MTH, because RFC 6962 §2.1
 * always splits off the largest power-of-two prefix, which is exactly this decomposition.
 */
class CompactRange {
  readonly #stack: Uint8Array[] = [];
  #size = 0;

  /** Resumes from a frontier: the subtree roots of a tree of `size` leaves, largest first. */
  constructor(from?: Frontier) {
    if (from === undefined) return;
    assertSize(from.size, 'frontier size');
    if (from.hashes.length !== popcount(from.size)) {
      throw new RangeError('a frontier holds one subtree root per set bit of its size');
    }
    for (const h of from.hashes) {
      assertLeafHash(h);
      this.#stack.push(h.slice());
    }
    this.#size = from.size;
  }

  get size(): number {
    return this.#size;
  }

  frontier(): Frontier {
    return { size: this.#size, hashes: this.#stack.map((h) => h.slice()) };
  }

  push(leaf: Uint8Array): void {
    this.#stack.push(leaf);
    let carry = ++this.#size;
    while (carry % 2 === 0) {
      const right = this.#stack.pop();
      const left = this.#stack.pop();
      // Unreachable: an even counter always has two subtrees of equal height on top.
      if (left === undefined || right === undefined) throw new Error('compact range underflow');
      this.#stack.push(nodeHash(left, right));
      carry /= 2;
    }
  }

  root(): Uint8Array {
    let i = this.#stack.length - 1;
    let acc = this.#stack[i];
    if (acc === undefined) return EMPTY_ROOT.slice();
    for (i -= 1; i >= 0; i -= 1) {
      const left = this.#stack[i];
      if (left === undefined) throw new Error('compact range underflow'); // unreachable
      acc = nodeHash(left, acc);
    }
    // A single-leaf tree's root is the leaf hash itself; hand out a copy, not the caller's array.
    return this.#stack.length === 1 ? acc.slice() : acc;
  }
}

/** MTH(D[start:end]) without copying the array: O(end - start) time, O(log n) memory. */
function rangeRoot(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const range = new CompactRange();
  for (let i = start; i < end; i += 1) {
    const leaf = leafHashes[i];
    assertLeafHash(leaf);
    range.push(leaf);
  }
  return range.root();
}

/**
 * Computes the Merkle Tree Hash MTH(D[n]) of RFC 6962 §2.1 over already-hashed leaves.
 *
 * Iterative (a binary-counter stack of perfect-subtree roots): O(n) time, O(log n) extra
 * memory, no recursion, so a million leaves are fine.
 *
 * @param leafHashes the leaf hashes in log order, each from {@link leafHash}.
 * @returns the 32-byte root; {@link EMPTY_ROOT} (a copy) for an empty list.
 * @throws {TypeError} when an element is not a 32-byte Uint8Array.
 * @example
 * const root = merkleRoot(events.map((e) => leafHash(e.hash)));
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  return rangeRoot(leafHashes, 0, leafHashes.length);
}

/**
 * The state of a tree that later leaves extend: the roots of the perfect subtrees that make up
 * a tree of `size` leaves (one per set bit of `size`, largest first). Stored with each signed
 * head, so the next head costs only the leaves added since.
 */
export interface Frontier {
  size: number;
  hashes: readonly Uint8Array[];
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

/** Incremental Merkle tree over leaf hashes; see {@link createTreeBuilder}. */
export interface TreeBuilder {
  /** The builder's state, to resume from later with `createTreeBuilder(frontier)`. */
  frontier(): Frontier;
  /**
   * Appends one leaf hash.
   * @throws {TypeError} when `leafHash` is not a 32-byte Uint8Array.
   */
  push(leafHash: Uint8Array): void;
  /** Number of leaves pushed so far. */
  readonly size: number;
  /** MTH of the leaves pushed so far (a new buffer); does not change the builder. */
  root(): Uint8Array;
}

/**
 * Creates an incremental tree builder, so a verifier streaming an export computes the root as
 * it reads: O(1) amortised per push, O(log n) memory, `root()` in O(log n).
 *
 * @example
 * const tree = createTreeBuilder();
 * for await (const event of events) {
 *   tree.push(leafHash(event.hash));
 *   if (tree.size === head.treeSize && !equal(tree.root(), head.root)) report(tree.size);
 * }
 */
export function createTreeBuilder(from?: Frontier): TreeBuilder {
  const range = new CompactRange(from);
  return {
    frontier(): Frontier {
      return range.frontier();
    },
    push(leaf: Uint8Array): void {
      assertLeafHash(leaf);
      // Copied so a caller reusing its buffer cannot change a pending subtree.
      range.push(leaf.slice());
    },
    get size(): number {
      return range.size;
    },
    root(): Uint8Array {
      return range.root();
    },
  };
}

/**
 * Builds the audit path PATH(m, D[n]) of RFC 6962 §2.1.1: the sibling subtree hashes from the
 * leaf up to the root, in the order {@link verifyInclusion} consumes them.
 *
 * Each sibling is computed once over its index range, so the cost is O(n) hashes and O(log n)
 * memory on top of the input.
 *
 * @param leafHashes the log's leaf hashes; at least `treeSize` of them.
 * @param index the 0-based position of the leaf, `< treeSize`.
 * @param treeSize size of the tree the proof is for (e.g. a signed checkpoint's size); defaults
 *   to `leafHashes.length`.
 * @returns the audit path (empty for a one-leaf tree); new buffers.
 * @throws {RangeError} unless `0 <= index < treeSize <= leafHashes.length`.
 * @throws {TypeError} when a leaf hash in the range is not 32 bytes.
 * @example
 * const proof = inclusionProof(leaves, 5, head.treeSize);
 * verifyInclusion(leaves[5], 5, head.treeSize, proof, head.root); // true
 */
export function inclusionProof(
  leafHashes: readonly Uint8Array[],
  index: number,
  treeSize: number = leafHashes.length,
): Uint8Array[] {
  assertSize(treeSize, 'tree size');
  assertSize(index, 'leaf index');
  if (treeSize > leafHashes.length) throw new RangeError('tree size exceeds the number of leaves');
  if (index >= treeSize) throw new RangeError('leaf index must be smaller than the tree size');
  // Walk down from the root; RFC 6962 §2.1.1 appends each sibling after the deeper path, so the
  // siblings collected top-down are reversed at the end.
  const path: Uint8Array[] = [];
  let start = 0;
  let size = treeSize;
  let m = index;
  while (size > 1) {
    const k = splitPoint(size);
    if (m < k) {
      // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
      path.push(rangeRoot(leafHashes, start + k, start + size));
      size = k;
    } else {
      // PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])
      path.push(rangeRoot(leafHashes, start, start + k));
      start += k;
      m -= k;
      size -= k;
    }
  }
  assertLeafHash(leafHashes[start]);
  return path.reverse();
}

/**
 * Verifies an inclusion proof with the algorithm of RFC 9162 §2.1.3.2.
 *
 * Never throws: malformed input (index >= size, a proof of the wrong length, elements that are
 * not 32-byte Uint8Arrays, non-integer sizes) is simply `false`. The tree size is bound to the
 * root by whoever signed the tree head; pass the pair exactly as signed.
 *
 * @param leaf the leaf hash ({@link leafHash} of the entry).
 * @param index 0-based position of the leaf.
 * @param treeSize size of the tree `root` belongs to.
 * @param proof the audit path from {@link inclusionProof}.
 * @param root the tree head's root hash.
 * @returns whether `leaf` is at `index` in the tree of `treeSize` leaves with root `root`.
 * @example
 * if (!verifyInclusion(leafHash(event.hash), event.seq, head.treeSize, proof, head.root)) fail();
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(leaf) || !isHash(root) || !isSize(index) || !isSize(treeSize) || !Array.isArray(proof)) return false;
  // RFC 9162 §2.1.3.2 step 1.
  if (index >= treeSize) return false;
  // Step 2: fn is the leaf's index, sn the last index; they walk up the tree together.
  let fn = index;
  let sn = treeSize - 1;
  // Step 3.
  let r = leaf;
  // Step 4.
  for (const p of proof) {
    if (!isHash(p)) return false;
    // 4a: the proof is longer than the path.
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      // 4b: p is a left sibling.
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        // The right edge of an unbalanced tree: skip levels where the node has no sibling.
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      // p is a right sibling.
      r = nodeHash(r, p);
    }
    // 4c.
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5: sn === 0 means the proof was not too short.
  return sn === 0 && hashesEqual(r, root);
}

/**
 * Builds the consistency proof PROOF(m, D[n]) of RFC 6962 §2.1.2 between the tree of the first
 * `oldSize` leaves and the tree of the first `newSize` leaves.
 *
 * Empty when `oldSize` is 0 or equals `newSize` (nothing to prove). O(n) hashes, O(log n)
 * memory on top of the input.
 *
 * @param leafHashes the log's leaf hashes; at least `newSize` of them.
 * @returns the proof, in the order {@link verifyConsistency} consumes it; new buffers.
 * @throws {RangeError} unless `0 <= oldSize <= newSize <= leafHashes.length`.
 * @throws {TypeError} when a leaf hash in the range is not 32 bytes.
 * @example
 * const proof = consistencyProof(leaves, oldHead.treeSize, newHead.treeSize);
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number, newSize: number): Uint8Array[] {
  assertSize(oldSize, 'old tree size');
  assertSize(newSize, 'new tree size');
  if (newSize > leafHashes.length) throw new RangeError('new tree size exceeds the number of leaves');
  if (oldSize > newSize) throw new RangeError('old tree size must not exceed the new tree size');
  if (oldSize === 0 || oldSize === newSize) return [];
  // SUBPROOF(m, D[n], b), unrolled. Each step appends one subtree hash after the deeper
  // subproof, so hashes collected top-down are reversed at the end.
  const collected: Uint8Array[] = [];
  let start = 0;
  let size = newSize;
  let m = oldSize;
  let wholeOldTree = true; // b: D[0:m] is the whole old tree, whose root the verifier has.
  while (m < size) {
    const k = splitPoint(size);
    if (m <= k) {
      // SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      collected.push(rangeRoot(leafHashes, start + k, start + size));
      size = k;
    } else {
      // SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      collected.push(rangeRoot(leafHashes, start, start + k));
      start += k;
      m -= k;
      size -= k;
      wholeOldTree = false;
    }
  }
  // m == n: SUBPROOF(m, D[m], true) = {}, SUBPROOF(m, D[m], false) = {MTH(D[m])}.
  if (!wholeOldTree) collected.push(rangeRoot(leafHashes, start, start + size));
  return collected.reverse();
}

function isPowerOfTwo(x: number): boolean {
  if (x < 1) return false;
  while (x % 2 === 0) x /= 2;
  return x === 1;
}

/**
 * Verifies a consistency proof with the algorithm of RFC 9162 §2.1.4.2: the tree of `newSize`
 * leaves with root `newRoot` is an append-only extension of the tree of `oldSize` leaves with
 * root `oldRoot`.
 *
 * Edge cases: `oldSize > newSize` is `false`; `oldSize === newSize` needs an empty proof and
 * equal roots; `oldSize === 0` needs an empty proof and `oldRoot` equal to {@link EMPTY_ROOT}
 * (the root of the empty tree; any `newRoot` is consistent with it). Never throws: malformed
 * input is `false`.
 *
 * @example
 * if (!verifyConsistency(prev.treeSize, next.treeSize, prev.root, next.root, proof)) alarm();
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(oldSize) || !isSize(newSize) || !isHash(oldRoot) || !isHash(newRoot) || !Array.isArray(proof)) {
    return false;
  }
  if (!proof.every(isHash)) return false;
  if (oldSize > newSize) return false;
  if (oldSize === 0) {
    // MTH({}) is consistent with every tree (RFC 6962 §2.1.2 defines PROOF only for 0 < m).
    return proof.length === 0 && hashesEqual(oldRoot, EMPTY_ROOT) && (newSize > 0 || hashesEqual(newRoot, EMPTY_ROOT));
  }
  if (oldSize === newSize) return proof.length === 0 && hashesEqual(oldRoot, newRoot);

  // RFC 9162 §2.1.4.2 step 1.
  if (proof.length === 0) return false;
  // Step 2: when the old tree is a perfect subtree of the new one, its root is the first node
  // of the path and the proof omits it.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  // Step 3.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  // Step 4: skip the levels where the old tree's last node is a right child of a perfect subtree.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  const [first, ...rest] = path;
  if (first === undefined) return false; // unreachable: the path is non-empty
  let fr = first;
  let sr = first;
  // Step 6.
  for (const c of rest) {
    // 6a: the proof is longer than the path.
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      // 6b: c is a left sibling in both trees.
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      // c is a right sibling that exists only in the new tree.
      sr = nodeHash(sr, c);
    }
    // 6c.
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  return sn === 0 && hashesEqual(fr, oldRoot) && hashesEqual(sr, newRoot);
}
