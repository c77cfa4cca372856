import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { OidcConfigError, parseOidcProviders, type OidcProviderConfig } from './identity/oidc.js';

/** STRONGROOM_OIDC_PROVIDERS, parsed; its problems become config errors. */
function oidcProviders(json: string): OidcProviderConfig[] {
  try {
    return parseOidcProviders(json);
  } catch (err) {
    if (err instanceof OidcConfigError) throw new ConfigError([...err.problems]);
    throw err;
  }
}

const postgresUrl = z
  .string()
  .max(4096)
  .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
  .refine((v) => URL.canParse(v), 'must be a valid URL (check the host, port and escaping of the password)');

/**
 * Settings, by the environment variable that sets them. A JSON config file named by
 * STRONGROOM_CONFIG may set the same names; the environment wins over the file, and command
 * line flags win over both (O5).
 */
const settingsSchema = z
  .object({
    HOST: z.string().min(1).max(255).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8400),
    STRONGROOM_DATA_DIR: z.string().min(1).max(4096).default('.strongroom'),
    DATABASE_URL: postgresUrl.optional(),
    DATABASE_OWNER_URL: postgresUrl.optional(),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    STRONGROOM_KEY_PROVIDER: z.enum(['local']).default('local'),
    STRONGROOM_ROOT_KEY_FILE: z.string().min(1).max(4096).optional(),
    STRONGROOM_KEY_CACHE_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
    STRONGROOM_KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    STRONGROOM_AUDIT_HEAD_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
    STRONGROOM_AUDIT_RETENTION_OPERATIONAL_DAYS: z.coerce.number().int().min(1).max(36_500).default(30),
    STRONGROOM_AUDIT_RETENTION_SECURITY_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
    STRONGROOM_AUDIT_SINKS_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
    REDIS_URL: z
      .string()
      .max(4096)
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
      .optional(),
    STRONGROOM_TRUST_PROXY: z
      .string()
      .max(2000)
      .regex(/^(false|true|\d{1,2}|[0-9A-Fa-f:.\/]+(,[0-9A-Fa-f:.\/]+)*)$/, 'must be false, true, a hop count, or comma-separated addresses/CIDRs')
      .default('false'),
    STRONGROOM_TOKEN_ISSUER: z.string().min(1).max(500).default('strongroom'),
    STRONGROOM_TOKEN_AUDIENCE: z.string().min(1).max(500).default('strongroom-api'),
    STRONGROOM_PUBLIC_URL: z
      .string()
      .max(2000)
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be an http(s) URL with no query, e.g. https://vault.example.com')
      .optional(),
    SMTP_URL: z
      .string()
      .max(4096)
      .regex(/^smtps?:\/\/\S+$/, 'must be an smtp:// or smtps:// URL')
      .optional(),
    SMTP_FROM: z.string().min(3).max(320).regex(/^[^\r\n]+$/, 'must be one line').default('Strongroom <no-reply@localhost>'),
    STRONGROOM_OIDC_PROVIDERS: z.string().max(100_000).optional(),
    STRONGROOM_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
    STRONGROOM_SESSION_MAX_SECONDS: z.coerce.number().int().min(300).max(30 * 86_400).default(86_400),
    STRONGROOM_SESSION_IDLE_SECONDS: z.coerce.number().int().min(60).max(30 * 86_400).default(3600),
    STRONGROOM_STEP_UP_SECONDS: z.coerce.number().int().min(30).max(86_400).default(600),
    STRONGROOM_LOCKOUT_ATTEMPTS: z.coerce.number().int().min(3).max(100).default(5),
    STRONGROOM_LOCKOUT_WINDOW_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
    STRONGROOM_ALLOW_ORG_CREATION: z.enum(['true', 'false']).default('true'),
  })
  .strict();

type Settings = z.input<typeof settingsSchema>;
const settingNames = Object.keys(settingsSchema.shape) as (keyof Settings)[];

/** The server's configuration, frozen after start. */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** Absolute path of the data directory (PGlite files, local root key). */
  readonly dataDir: string;
  /** PostgreSQL server to use instead of embedded PGlite. */
  readonly databaseUrl: string | undefined;
  /** Connection for migrations, when the runtime login may not create tables. */
  readonly databaseOwnerUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly keyProvider: 'local';
  readonly rootKeyFile: string;
  readonly keyCache: { readonly maxEntries: number; readonly ttlMs: number };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly audit: {
    readonly headIntervalMs: number;
    readonly retentionDays: { readonly operational: number; readonly security: number };
    /** Let SIEM sinks reach loopback and private networks (development, in-cluster SIEMs). */
    readonly sinksAllowPrivateNetworks: boolean;
  };
  /**
   * Whom to believe about the client's address (X-Forwarded-For), as Fastify's `trustProxy`:
   * false, true (any), a hop count, or the proxies' addresses/CIDRs. Policies' IP allowlists
   * and audit records read the address this yields.
   */
  readonly trustProxy: boolean | number | string[];
  /** Redis for the cross-node authz broadcast; in-process without it. */
  readonly redisUrl: string | undefined;
  /** `iss` and `aud` of the access tokens this installation issues and accepts. */
  readonly tokens: { readonly issuer: string; readonly audience: string };
  /** Sign-in, sessions, e-mail and identity providers (I1–I5). */
  readonly identity: {
    /** Where people reach the server: links in e-mails and OIDC redirect URIs. */
    readonly publicUrl: string;
    readonly smtp: { readonly url: string; readonly from: string } | undefined;
    readonly oidcProviders: readonly OidcProviderConfig[];
    readonly allowOrgCreation: boolean;
    readonly session: {
      readonly accessTokenTtlSeconds: number;
      readonly maxSessionSeconds: number;
      readonly idleTimeoutSeconds: number;
      readonly stepUpSeconds: number;
    };
    readonly guard: { readonly maxFailures: number; readonly windowMs: number };
  };
}

function parseTrustProxy(value: string): boolean | number | string[] {
  if (value === 'false' || value === 'true') return value === 'true';
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',');
}

/** Raised with every problem found, each saying which setting to change. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`Strongroom cannot start because of its configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Where settings come from; the CLI passes `process.env` and its flags. */
export interface ConfigSources {
  env: Readonly<Record<string, string | undefined>>;
  /** Command line flags, by setting name (e.g. `{ PORT: '9000' }`). */
  flags?: Readonly<Partial<Record<keyof Settings, string>>>;
  cwd?: string;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError([`STRONGROOM_CONFIG: cannot read the file ${path}`]);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new ConfigError([`STRONGROOM_CONFIG: ${path} must hold a JSON object of settings, e.g. {"PORT": 8400}`]);
  }
}

/**
 * Reads and validates the configuration once. Throws {@link ConfigError} listing what to set.
 * Values of settings are never echoed in messages: a DATABASE_URL may carry a password.
 */
export function loadConfig(sources: ConfigSources): Config {
  const cwd = sources.cwd ?? process.cwd();
  const env = sources.env;
  const fromFile = env.STRONGROOM_CONFIG ? readConfigFile(resolve(cwd, env.STRONGROOM_CONFIG)) : {};
  // A JSON file may say 8400 or true where the environment can only say "8400" or "true".
  const merged: Record<string, unknown> = Object.fromEntries(
    Object.entries(fromFile).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'boolean' ? String(v) : v]),
  );
  for (const name of settingNames) {
    const value = sources.flags?.[name] ?? env[name];
    if (value !== undefined && value !== '') merged[name] = value;
  }
  const parsed = settingsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.') || 'config file';
        if (issue.code === 'unrecognized_keys') {
          return `STRONGROOM_CONFIG: unknown settings ${issue.keys.join(', ')} (known: ${settingNames.join(', ')})`;
        }
        return `${name}: ${issue.message}`;
      }),
    );
  }
  const s = parsed.data;
  const dataDir = isAbsolute(s.STRONGROOM_DATA_DIR) ? s.STRONGROOM_DATA_DIR : resolve(cwd, s.STRONGROOM_DATA_DIR);
  return Object.freeze({
    host: s.HOST,
    port: s.PORT,
    dataDir,
    databaseUrl: s.DATABASE_URL,
    databaseOwnerUrl: s.DATABASE_OWNER_URL,
    databasePoolSize: s.DATABASE_POOL_SIZE,
    keyProvider: s.STRONGROOM_KEY_PROVIDER,
    rootKeyFile: s.STRONGROOM_ROOT_KEY_FILE ? resolve(cwd, s.STRONGROOM_ROOT_KEY_FILE) : join(dataDir, 'root-key.json'),
    keyCache: Object.freeze({
      maxEntries: s.STRONGROOM_KEY_CACHE_SIZE,
      ttlMs: s.STRONGROOM_KEY_CACHE_TTL_SECONDS * 1000,
    }),
    logLevel: s.LOG_LEVEL,
    audit: Object.freeze({
      headIntervalMs: s.STRONGROOM_AUDIT_HEAD_INTERVAL_SECONDS * 1000,
      retentionDays: Object.freeze({
        operational: s.STRONGROOM_AUDIT_RETENTION_OPERATIONAL_DAYS,
        security: s.STRONGROOM_AUDIT_RETENTION_SECURITY_DAYS,
      }),
      sinksAllowPrivateNetworks: s.STRONGROOM_AUDIT_SINKS_ALLOW_PRIVATE === 'true',
    }),
    redisUrl: s.REDIS_URL,
    trustProxy: parseTrustProxy(s.STRONGROOM_TRUST_PROXY),
    tokens: Object.freeze({ issuer: s.STRONGROOM_TOKEN_ISSUER, audience: s.STRONGROOM_TOKEN_AUDIENCE }),
    identity: Object.freeze({
      publicUrl: (s.STRONGROOM_PUBLIC_URL ?? `http://${s.HOST.includes(':') ? `[${s.HOST}]` : s.HOST}:${s.PORT}`).replace(/\/$/, ''),
      smtp: s.SMTP_URL === undefined ? undefined : Object.freeze({ url: s.SMTP_URL, from: s.SMTP_FROM }),
      oidcProviders: s.STRONGROOM_OIDC_PROVIDERS === undefined ? [] : oidcProviders(s.STRONGROOM_OIDC_PROVIDERS),
      allowOrgCreation: s.STRONGROOM_ALLOW_ORG_CREATION === 'true',
      session: Object.freeze({
        accessTokenTtlSeconds: s.STRONGROOM_ACCESS_TOKEN_TTL_SECONDS,
        maxSessionSeconds: s.STRONGROOM_SESSION_MAX_SECONDS,
        idleTimeoutSeconds: s.STRONGROOM_SESSION_IDLE_SECONDS,
        stepUpSeconds: s.STRONGROOM_STEP_UP_SECONDS,
      }),
      guard: Object.freeze({ maxFailures: s.STRONGROOM_LOCKOUT_ATTEMPTS, windowMs: s.STRONGROOM_LOCKOUT_WINDOW_SECONDS * 1000 }),
    }),
  });
}
