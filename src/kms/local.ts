/**
 * The `local` root-key provider (SPEC K1): the root key lives in a JSON key file on disk.
 * Development only — anyone who can read the file (or a backup of the data directory next to
 * it) holds every secret. Every open warns loudly; production uses an HSM/KMS provider.
 *
 * Key file (a keyring, so rotation can add keys later — K3):
 * ```json
 * { "format": "strongroom-local-keyring", "version": 1, "current": "local-…",
 *   "keys": [{ "id": "local-…", "key": "<base64 of 32 bytes>", "created_at": "<ISO 8601>" }] }
 * ```
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open as openFile, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { KEY_BYTES, open, randomKey, seal, wipe } from '../crypto/aead.js';
import { UnknownKeyError } from './provider.js';
import type { KeyProvider, WrappedKey } from './provider.js';

/** Options for {@link openLocalKeyProvider}. */
export interface LocalKeyProviderOptions {
  /** Path of the key file. */
  keyFile: string;
  /** Create the file with a fresh key when it does not exist. */
  create: boolean;
  /** Receives the development-only warning (and the creation notice) on every open. */
  onWarning: (message: string) => void;
}

const FORMAT = 'strongroom-local-keyring';
// A keyring with a few keys is well under this; anything bigger is not ours.
const MAX_FILE_BYTES = 1024 * 1024;
const ID_DOMAIN = new TextEncoder().encode('strongroom local key id\0');

const keyringSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  current: z.string().min(1).max(100),
  keys: z
    .array(
      z.object({
        id: z.string().regex(/^local-[0-9a-f]{16}$/, { error: 'must be "local-" followed by 16 hex digits' }),
        // Exactly 43 base64 characters + one "=" is the canonical encoding of 32 bytes; the
        // check runs before decoding so a wrong key is refused without echoing it.
        key: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, { error: 'must be the base64 encoding of exactly 32 bytes' }),
        created_at: z.iso.datetime({ offset: true }),
      }),
    )
    .min(1)
    .max(1000),
});

interface Keyring {
  current: string;
  keys: Map<string, Uint8Array>;
}

/**
 * Key id: `local-` + the first 16 hex digits of SHA-256("strongroom local key id\0" ‖ key).
 * A domain-separated fingerprint, so ids can be stored and logged without revealing the key.
 */
function keyIdFor(key: Uint8Array): string {
  return `local-${createHash('sha256').update(ID_DOMAIN).update(key).digest('hex').slice(0, 16)}`;
}

function devOnlyWarning(keyFile: string): string {
  return (
    `The local key provider keeps the root key in a plain file (${keyFile}) next to the data. ` +
    'It is for development only: anyone who can read that file can decrypt every secret. ' +
    'Use an HSM/KMS provider (pkcs11, aws-kms, gcp-kms, vault-transit) in production.'
  );
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function invalidFile(keyFile: string, problem: string): Error {
  return new Error(`The local root key file ${keyFile} is not a valid Strongroom keyring: ${problem}.`);
}

function parseKeyring(raw: Uint8Array, keyFile: string): Keyring {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    // V8's SyntaxError quotes the input around the error, which would put key text in logs;
    // so neither its message nor the error itself (as `cause`) is passed on.
    throw invalidFile(keyFile, 'it is not valid JSON');
  }
  const parsed = keyringSchema.safeParse(json);
  if (!parsed.success) {
    // Zod's messages name the expected shape, not the input; we add only the path.
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.map(String).join('.') || 'top level'}: ${issue.message}`)
      .join('; ');
    throw invalidFile(keyFile, problems);
  }
  const keys = new Map<string, Uint8Array>();
  try {
    for (const entry of parsed.data.keys) {
      if (keys.has(entry.id)) throw invalidFile(keyFile, `key id ${entry.id} appears more than once`);
      // Buffer.from may place small buffers in Node's shared pool; copy into a buffer of our
      // own so wipe() clears the only copy we control.
      const decoded = Buffer.from(entry.key, 'base64');
      const key = new Uint8Array(decoded);
      decoded.fill(0);
      if (key.length !== KEY_BYTES) {
        wipe(key);
        throw invalidFile(keyFile, `key ${entry.id} must be the base64 encoding of exactly ${KEY_BYTES} bytes`);
      }
      keys.set(entry.id, key);
      if (keyIdFor(key) !== entry.id) {
        throw invalidFile(keyFile, `key ${entry.id} does not match its id (the id is a fingerprint of the key)`);
      }
    }
    if (!keys.has(parsed.data.current)) {
      throw invalidFile(keyFile, `"current" names ${JSON.stringify(parsed.data.current)}, which is not in "keys"`);
    }
  } catch (err) {
    for (const key of keys.values()) wipe(key);
    throw err;
  }
  return { current: parsed.data.current, keys };
}

/** Reads and validates the key file; `undefined` when it does not exist. */
async function readKeyring(keyFile: string): Promise<Keyring | undefined> {
  let handle: FileHandle;
  try {
    handle = await openFile(keyFile, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new Error(`Cannot open the local root key file ${keyFile} (${errnoCode(err) ?? 'unknown error'}).`);
  }
  try {
    // fstat on the open handle, so the mode we check is the mode of the file we read.
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`The local root key file ${keyFile} is not a regular file.`);
    // POSIX permission bits only mean something off Windows.
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      throw new Error(
        `Refusing to use the local root key file ${keyFile}: its permissions (${mode}) let other users ` +
          `read or change it. Run: chmod 600 ${keyFile}`,
      );
    }
    if (info.size > MAX_FILE_BYTES) throw invalidFile(keyFile, 'it is too large');
    const raw = await handle.readFile();
    try {
      return parseKeyring(raw, keyFile);
    } finally {
      raw.fill(0);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Creates the key file with one fresh key. The content is written to a private temp file
 * (mode 0600, `wx`) and fsynced, then published under the final name with link(2), which —
 * unlike rename(2) — never replaces an existing file: if another process created the key file
 * meanwhile, its key wins and we load it, rather than silently replacing a root key that may
 * already wrap vault keys. Filesystems without hard links fall back to rename.
 */
async function createKeyFile(keyFile: string): Promise<Keyring | undefined> {
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  const key = randomKey();
  const id = keyIdFor(key);
  const content = `${JSON.stringify(
    {
      format: FORMAT,
      version: 1,
      current: id,
      keys: [
        {
          id,
          // A view over our buffer, not a copy, so no extra key bytes land in Node's pool.
          key: Buffer.from(key.buffer, key.byteOffset, key.length).toString('base64'),
          created_at: new Date().toISOString(),
        },
      ],
    },
    null,
    2,
  )}\n`;
  const tmp = `${keyFile}.${randomBytes(8).toString('hex')}.tmp`;
  let published = false;
  try {
    const handle = await openFile(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, keyFile);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') return undefined;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      if (await exists(keyFile)) return undefined;
      await rename(tmp, keyFile);
    }
    published = true;
    await syncDirectory(dirname(keyFile));
    return { current: id, keys: new Map([[id, key]]) };
  } finally {
    if (!published) wipe(key);
    await unlink(tmp).catch(() => undefined);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Makes the new directory entry durable; best effort (not every platform can fsync a directory). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await openFile(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability hint only; the key file itself was fsynced.
  }
}

function createProvider(keyring: Keyring): KeyProvider {
  const { current, keys } = keyring;
  let closed = false;
  const keyFor = (id: string): Uint8Array => {
    if (closed) throw new Error('The local key provider is closed.');
    const key = keys.get(id);
    if (key === undefined) throw new UnknownKeyError('local', id);
    return key;
  };
  return Object.freeze({
    name: 'local',
    currentKeyId: (): string => current,
    async wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<WrappedKey> {
      return { keyId: current, ciphertext: seal(keyFor(current), plaintext, aad) };
    },
    async unwrap(wrapped: WrappedKey, aad: Uint8Array): Promise<Uint8Array> {
      return open(keyFor(wrapped.keyId), wrapped.ciphertext, aad);
    },
    async health() {
      return closed ? { ok: false, detail: 'The local key provider is closed.' } : { ok: true };
    },
    async close(): Promise<void> {
      closed = true;
      for (const key of keys.values()) wipe(key);
      keys.clear();
    },
  });
}

/**
 * Opens the `local` key provider (SPEC K1; development only).
 *
 * - File present: refused unless its mode is private (no group/other bits; fix with
 *   `chmod 600`); shape, key lengths and key-id fingerprints are validated. Error messages
 *   never contain key material.
 * - File missing: created with a fresh key when `create` is true (parent directory 0700,
 *   file 0600, atomic and never overwriting); otherwise an error says how to fix it.
 *
 * `onWarning` receives the development-only warning on every successful open.
 *
 * @example
 * const provider = await openLocalKeyProvider({ keyFile: '.strongroom/root-key.json', create: true, onWarning: log.warn });
 */
export async function openLocalKeyProvider(opts: LocalKeyProviderOptions): Promise<KeyProvider> {
  const { keyFile } = opts;
  let keyring = await readKeyring(keyFile);
  let created = false;
  if (keyring === undefined) {
    if (!opts.create) {
      throw new Error(
        `The local root key file ${keyFile} does not exist. Start \`strongroom serve\` once to create it, ` +
          'or set STRONGROOM_ROOT_KEY_FILE to the path of an existing key file.',
      );
    }
    keyring = await createKeyFile(keyFile);
    created = keyring !== undefined;
    // Lost a creation race: another process published its key first; use that one.
    keyring ??= await readKeyring(keyFile);
    if (keyring === undefined) throw new Error(`The local root key file ${keyFile} disappeared while it was being created.`);
  }
  const warning = devOnlyWarning(keyFile);
  opts.onWarning(created ? `Created a new local root key at ${keyFile}. ${warning}` : warning);
  return createProvider(keyring);
}
