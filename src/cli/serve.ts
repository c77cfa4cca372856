import { buildApp } from '../app.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createConfiguredKeyring, ensureSchema, openConfiguredDatabase, openConfiguredKeyProvider } from '../runtime.js';

/**
 * `strongroom serve`: opens the database (migrating it), the key provider, and listens.
 * Prints one plain line with the URL and the database in use; everything else is JSON logs.
 */
export async function serve(config: Config, logger: Logger, version: string): Promise<void> {
  const database = await openConfiguredDatabase(config, 'serve');
  let provider: Awaited<ReturnType<typeof openConfiguredKeyProvider>> | undefined;
  try {
    await ensureSchema(database, logger);
    provider = await openConfiguredKeyProvider(config, logger);
    const keyring = createConfiguredKeyring(config, provider);
    const app = await buildApp({
      db: database.db,
      keyProvider: provider,
      keyring,
      logger,
      version,
      audit: config.audit,
      tokens: config.tokens,
      identity: config.identity,
      trustProxy: config.trustProxy,
      ...(config.redisUrl === undefined ? {} : { redisUrl: config.redisUrl }),
    });
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    process.stdout.write(`Strongroom ${version} listening on http://${host}:${port} (database: ${database.description})\n`);

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      await app.close();
      keyring.wipeAll();
      await provider?.close();
      await database.close();
      logger.flush();
      process.exit(0);
    };
    process.once('SIGINT', (s) => void stop(s));
    process.once('SIGTERM', (s) => void stop(s));
  } catch (err) {
    await provider?.close();
    await database.close();
    throw err;
  }
}
