import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { DataDirLockedError } from '../db/data-dir-lock.js';
import { AppError } from '../errors.js';
import { createLogger } from '../log.js';
import { verifyDatabaseAudit, verifyExportedAudit } from './audit.js';
import { bootstrap } from './bootstrap.js';
import { migrate } from './migrate.js';
import { serve } from './serve.js';
import { usersImport } from './users.js';

const USAGE = `Usage: strongroom <command> [options]

Commands:
  serve        Run the server
               --port N  --host H  --data-dir DIR
  bootstrap    Create an org and print its root token (once)
               --org NAME  [--data-dir DIR]  [--json]
  migrate      Apply database migrations  [--data-dir DIR]
  users import Import people from another system (bcrypt or argon2id password hashes kept)
               --file PEOPLE.json  [--data-dir DIR]  [--json]
  audit verify Verify audit logs: chain, content, signed heads; name the first bad seq
               [--org ID]  [--data-dir DIR]          (the configured database)
               --file EXPORT.jsonl  --heads HEADS.json  (an export, offline)
               Exit code 0: all verified, 1: a log failed verification

Settings come from the environment (PORT, HOST, STRONGROOM_DATA_DIR, DATABASE_URL, ...) or a
JSON file named by STRONGROOM_CONFIG; flags win. With DATABASE_URL set, PostgreSQL is used
instead of embedded PGlite. See docs/operations.md.
`;

class UsageError extends Error {}

const version = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        org: { type: 'string' },
        file: { type: 'string' },
        heads: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function configFrom(values: ReturnType<typeof parse>['values']): Config {
  const flags: Record<string, string> = {};
  if (values.port !== undefined) flags.PORT = values.port;
  if (values.host !== undefined) flags.HOST = values.host;
  if (values['data-dir'] !== undefined) flags.STRONGROOM_DATA_DIR = values['data-dir'];
  return loadConfig({ env: process.env, flags });
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return;
  }
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'audit') return audit(rest, values);
  if (command === 'users') {
    if (rest[0] !== 'import' || rest.length > 1) throw new UsageError('users needs a subcommand: users import --file PEOPLE.json');
    if (values.file === undefined) throw new UsageError('users import needs --file PEOPLE.json');
    const logger = createLogger({ level: configFrom(values).logLevel, destination: pino.destination({ fd: 2, sync: true }) });
    return usersImport(configFrom(values), logger, { file: values.file, json: values.json });
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  const config = configFrom(values);
  switch (command) {
    case 'serve':
      return serve(config, createLogger({ level: config.logLevel }), version);
    case 'bootstrap': {
      if (values.org === undefined) throw new UsageError('bootstrap needs --org NAME');
      // Commands other than serve keep stdout for their result; logs go to stderr.
      const logger = createLogger({ level: config.logLevel, destination: pino.destination({ fd: 2, sync: true }) });
      return bootstrap(config, logger, { org: values.org, json: values.json });
    }
    case 'migrate':
      return migrate(config);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const ORG_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `strongroom audit verify`: sets the exit code, 0 when every log verified, 1 otherwise. */
async function audit(args: string[], values: ReturnType<typeof parse>['values']): Promise<void> {
  const [subcommand, ...rest] = args;
  if (subcommand !== 'verify') {
    throw new UsageError(subcommand === undefined ? 'audit needs a subcommand: audit verify' : `unknown audit subcommand "${subcommand}"`);
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (values.file !== undefined || values.heads !== undefined) {
    if (values.file === undefined || values.heads === undefined) throw new UsageError('audit verify needs both --file and --heads');
    if (values.org !== undefined || values['data-dir'] !== undefined) {
      throw new UsageError('audit verify --file reads no database: leave out --org and --data-dir');
    }
    // Offline: no configuration is read, so a bad environment cannot stop an auditor.
    process.exitCode = await verifyExportedAudit({ file: values.file, heads: values.heads });
    return;
  }
  if (values.org !== undefined && !ORG_ID.test(values.org)) throw new UsageError('--org takes an org id (a UUID)');
  const config = configFrom(values);
  // PostgreSQL prints uuids in lower case, and so do the events that carry them.
  process.exitCode = await verifyDatabaseAudit(config, { org: values.org?.toLowerCase() });
}

run(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`strongroom: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof DataDirLockedError || err instanceof AppError) {
    process.stderr.write(`strongroom: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`strongroom: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
