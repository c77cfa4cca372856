import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Raised when another live process holds the data directory. */
export class DataDirLockedError extends Error {
  readonly holderPid: number | undefined;
  constructor(message: string, holderPid: number | undefined) {
    super(message);
    this.name = 'DataDirLockedError';
    this.holderPid = holderPid;
  }
}

interface LockRecord {
  pid: number;
  host: string;
  nonce: string;
  command: string;
  since: string;
}

/** A held lock; `release` is idempotent. */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

const LOCK_FILE = 'strongroom.lock';
/** Nonces of the locks this process holds: a lock with our pid but another nonce is stale. */
const heldNonces = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readRecord(path: string): LockRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockRecord>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.nonce === 'string') {
      return parsed as LockRecord;
    }
  } catch {
    // unreadable or half-written: treated as held below
  }
  return undefined;
}

/**
 * Takes the data directory for this process. PGlite is one Postgres backend in one process; a
 * second process opening the same files would corrupt them, so a second `serve`, or a
 * `bootstrap` while serving, gets a {@link DataDirLockedError} naming the holder instead.
 *
 * A lock left by a process that died (kill -9, power loss) on this host is taken over: the
 * holder's pid is checked. A lock from another host (a shared volume) is never taken over.
 */
export function lockDataDir(dataDir: string, command: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE);
  const mine: LockRecord = { pid: process.pid, host: hostname(), nonce: randomUUID(), command, since: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
      return held(path, mine);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readRecord(path);
    if (holder === undefined) {
      throw new DataDirLockedError(
        `The data directory ${dataDir} is locked by another process (${path} is unreadable). ` +
          'If no Strongroom process is running, remove that file and try again.',
        undefined,
      );
    }
    // After kill -9 in a container, the restarted server often has the same pid (1) and host:
    // a lock naming our own pid that this process does not hold is a previous life's.
    const ours = holder.pid === process.pid;
    const live = ours ? heldNonces.has(holder.nonce) : isAlive(holder.pid);
    if (holder.host !== mine.host || live) {
      throw new DataDirLockedError(
        `The data directory ${dataDir} is in use by another Strongroom process ` +
          `(pid ${holder.pid} on ${holder.host}, "${holder.command}" since ${holder.since}). ` +
          'Stop it first, or point this command at the running server instead of the directory.',
        holder.pid,
      );
    }
    takeOverStale(path, holder);
  }
  throw new DataDirLockedError(`Could not lock the data directory ${dataDir}: it kept changing hands.`, undefined);
}

/**
 * Moves a dead holder's lock aside. Rename is atomic, so of two processes recovering at once
 * only one moves the stale file; if what we moved turns out to be a fresh lock (the other
 * process was quicker), it is put back with link(), which never overwrites.
 */
function takeOverStale(path: string, stale: LockRecord): void {
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = readRecord(aside);
  if (moved?.nonce !== stale.nonce) {
    try {
      linkSync(aside, path);
    } catch {
      // someone else holds it now; the next attempt will say who
    }
  }
  unlinkSync(aside);
}

function held(path: string, mine: LockRecord): DataDirLock {
  heldNonces.add(mine.nonce);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    heldNonces.delete(mine.nonce);
    process.removeListener('exit', release);
    // Only remove the file if it is still ours.
    if (readRecord(path)?.nonce === mine.nonce) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', release);
  return { path, release };
}
