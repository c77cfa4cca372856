import type { Database, Queryable } from './driver.js';

declare const tenantTxBrand: unique symbol;

/**
 * A transaction scoped to one tenant. Only {@link createTenantTx} makes one, so a repository
 * function that takes a `TenantTx` as its first argument cannot be called outside a tenant
 * transaction (STYLE: "make it impossible to forget").
 */
export interface TenantTx extends Queryable {
  readonly orgId: string;
  readonly [tenantTxBrand]: true;
}

/** Runs `fn` in a transaction where row-level security admits only `orgId`'s rows. */
export type WithTenantTx = <T>(orgId: string, fn: (tx: TenantTx) => Promise<T>) => Promise<T>;

/** Runs `fn` in a transaction on installation-wide tables (signing keys); no tenant is set. */
export type WithInstallationTx = <T>(fn: (q: Queryable) => Promise<T>) => Promise<T>;

/** Binds `withInstallationTx` to a database: the runtime role, with no tenant (RLS shows none). */
export function createInstallationTx(db: Database): WithInstallationTx {
  return (fn) => db.transaction({}, fn);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Binds `withTenantTx` to a database. The tenant is set with `set_config('app.org_id', $1,
 * true)` — transaction-local, never per connection (SPEC §1) — and the transaction runs as the
 * runtime role, so Postgres itself refuses any row of another org.
 *
 * @example
 * const withTenantTx = createTenantTx(db);
 * const vault = await withTenantTx(orgId, (tx) => findVault(tx, vaultId));
 */
export function createTenantTx(db: Database): WithTenantTx {
  return (orgId, fn) => {
    if (!UUID.test(orgId)) throw new TypeError('withTenantTx needs an org id that is a UUID');
    return db.transaction({ 'app.org_id': orgId }, (q) => {
      const tx = {
        orgId,
        query: <R extends object>(sql: string, params?: readonly unknown[]) => q.query<R>(sql, params),
      } as TenantTx;
      return fn(tx);
    });
  };
}
