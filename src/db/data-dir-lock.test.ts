import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DataDirLockedError, lockDataDir, type DataDirLock } from './data-dir-lock.js';

const root = mkdtempSync(join(tmpdir(), 'sr-lock-test-'));
let counter = 0;
const held: DataDirLock[] = [];

after(() => {
  for (const lock of held) lock.release();
  rmSync(root, { recursive: true, force: true });
});

/** A path inside the test root that does not exist yet. */
function freshDir(): string {
  return join(root, `d${++counter}`, 'data');
}

function lock(dir: string, command = 'test'): DataDirLock {
  const l = lockDataDir(dir, command);
  held.push(l);
  return l;
}

/** The pid of a process that has exited (so no process has it, barring reuse). */
function deadPid(): number {
  const result = spawnSync('true');
  assert.equal(typeof result.pid, 'number');
  return result.pid as number;
}

function writeRecord(dir: string, record: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'strongroom.lock'), `${JSON.stringify(record)}\n`);
}

function readRecord(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, 'strongroom.lock'), 'utf8')) as Record<string, unknown>;
}

describe('lockDataDir', () => {
  test('creates a missing data directory readable only by its owner and writes a lock naming this process', () => {
    const dir = freshDir();
    const l = lock(dir, 'serve');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(l.path, join(dir, 'strongroom.lock'));
    assert.equal(statSync(l.path).mode & 0o777, 0o600);
    const record = readRecord(dir);
    assert.equal(record.pid, process.pid);
    assert.equal(record.host, hostname());
    assert.equal(record.command, 'serve');
    assert.equal(typeof record.nonce, 'string');
    assert.ok(!Number.isNaN(Date.parse(String(record.since))), 'since is a timestamp');
    l.release();
  });

  test('refuses a second lock on the same directory while the holder is alive, naming its pid', () => {
    const dir = freshDir();
    const first = lock(dir, 'serve');
    const before = readFileSync(first.path, 'utf8');
    assert.throws(
      () => lockDataDir(dir, 'bootstrap'),
      (err: unknown) => {
        assert.ok(err instanceof DataDirLockedError);
        assert.equal(err.holderPid, process.pid);
        assert.match(err.message, new RegExp(`pid ${process.pid}\\b`));
        assert.ok(err.message.includes(dir), 'the message names the data directory');
        assert.match(err.message, /in use/);
        return true;
      },
    );
    assert.equal(readFileSync(first.path, 'utf8'), before, 'the holder keeps its lock');
    first.release();
  });

  test('release removes the lock file, can be called again, and lets the directory be locked anew', () => {
    const dir = freshDir();
    const first = lock(dir);
    first.release();
    assert.equal(existsSync(join(dir, 'strongroom.lock')), false);
    assert.doesNotThrow(() => first.release());
    assert.equal(existsSync(join(dir, 'strongroom.lock')), false);
    const second = lock(dir);
    assert.equal(readRecord(dir).pid, process.pid);
    second.release();
    assert.equal(existsSync(join(dir, 'strongroom.lock')), false);
  });

  test('takes over a stale lock left by a dead process on this host', () => {
    const dir = freshDir();
    const pid = deadPid();
    writeRecord(dir, { pid, host: hostname(), nonce: 'stale', command: 'serve', since: '2026-01-01T00:00:00.000Z' });
    const l = lock(dir);
    const record = readRecord(dir);
    assert.equal(record.pid, process.pid);
    assert.notEqual(record.nonce, 'stale');
    assert.deepEqual(readdirSync(dir), ['strongroom.lock'], 'no moved-aside file is left behind');
    l.release();
    assert.equal(existsSync(l.path), false);
  });

  test('takes over a lock naming our own pid that this process does not hold (a restart reusing the pid)', () => {
    // In a container the restarted server is pid 1 again: the old lock names a live pid, ours.
    const dir = freshDir();
    writeRecord(dir, { pid: process.pid, host: hostname(), nonce: 'previous-life', command: 'serve', since: '2026-01-01T00:00:00.000Z' });
    const l = lock(dir);
    assert.notEqual(readRecord(dir).nonce, 'previous-life');
    assert.throws(() => lock(dir), DataDirLockedError, 'a lock this process does hold is still refused');
    l.release();
  });

  test('never takes over a lock from another host, even when its pid is not running here', () => {
    const dir = freshDir();
    const pid = deadPid();
    const record = { pid, host: 'elsewhere', nonce: 'theirs', command: 'serve', since: '2026-01-01T00:00:00.000Z' };
    writeRecord(dir, record);
    assert.throws(
      () => lockDataDir(dir, 'bootstrap'),
      (err: unknown) => {
        assert.ok(err instanceof DataDirLockedError);
        assert.equal(err.holderPid, pid);
        assert.match(err.message, /elsewhere/);
        return true;
      },
    );
    assert.deepEqual(readRecord(dir), record, 'the other host keeps its lock');
  });

  test('refuses an unreadable lock file and says to remove it', () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'strongroom.lock'), 'not json {');
    assert.throws(
      () => lockDataDir(dir, 'serve'),
      (err: unknown) => {
        assert.ok(err instanceof DataDirLockedError);
        assert.equal(err.holderPid, undefined);
        assert.ok(err.message.includes(join(dir, 'strongroom.lock')), 'the message names the file');
        assert.match(err.message, /remove that file/);
        return true;
      },
    );
    assert.equal(readFileSync(join(dir, 'strongroom.lock'), 'utf8'), 'not json {', 'the file is left alone');
  });

  test('release leaves a lock file alone once it belongs to someone else', () => {
    const dir = freshDir();
    const l = lock(dir);
    const theirs = { pid: process.pid, host: hostname(), nonce: 'someone-else', command: 'serve', since: new Date().toISOString() };
    writeFileSync(l.path, `${JSON.stringify(theirs)}\n`);
    l.release();
    assert.equal(existsSync(l.path), true);
    assert.deepEqual(readRecord(dir), theirs);
  });
});
