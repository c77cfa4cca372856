import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import type { WithTenantTx } from '../../db/tenant.js';
import { AppError } from '../../errors.js';
import { name as nameSchema } from '../../schemas.js';
import { generateToken } from '../tokens/tokens.fns.js';
import { insertToken } from '../tokens/tokens.repo.js';
import { insertOrg } from './orgs.repo.js';

const orgName = nameSchema(100);

/** What bootstrapping an org hands back, once. */
export interface BootstrappedOrg {
  orgId: string;
  name: string;
  /** The org's root token. Shown once; only its hash is stored. */
  token: string;
}

/**
 * Creates an org and its first credential, an org-owner root token (like Vault's root token:
 * how an operator starts before anyone can sign in). Org names are unique, whatever their case.
 */
export async function bootstrapOrg(deps: { withTenantTx: WithTenantTx }, rawName: string): Promise<BootstrappedOrg> {
  const parsed = orgName.safeParse(rawName);
  if (!parsed.success) {
    throw new AppError('VALIDATION_FAILED', 'An org name is 1 to 100 characters of text with no control characters.');
  }
  const name = parsed.data;
  const orgId = randomUUID();
  const issued = generateToken('root', orgId);
  try {
    await deps.withTenantTx(orgId, async (tx) => {
      await insertOrg(tx, name);
      await insertToken(tx, {
        tokenId: issued.tokenId,
        kind: 'root',
        role: 'owner',
        secretHash: issued.secretHash,
        description: 'root token (bootstrap)',
      });
    });
  } catch (err) {
    if (isUniqueViolation(err, 'orgs_name_key')) {
      throw new AppError('CONFLICT', `An org named "${name}" already exists.`, { cause: err });
    }
    throw err;
  }
  return { orgId, name, token: issued.token };
}
