import { randomUUID } from 'node:crypto';
import type { WithTenantTx } from '../../db/tenant.js';
import type { Logger } from '../../log.js';
import { appendAuditEvents, outsideAuditScope } from '../audit/audit.context.js';
import { auditActions, resourceRef, type AuditEventBody } from '../audit/audit.events.js';
import { claimDueReminder, listReviewsDueForReminder, type ReminderWindow } from './access.repo.js';

/**
 * Automatic reminders of access review campaigns (P7). There is no cross-tenant job runner
 * (docs/security.md, "Known limits"): like head signing and SIEM delivery, reminders are checked
 * when an org has activity, at most once per `checkEveryMs` per org on each node.
 */
export interface ReviewReminders {
  /** After an org's events were appended: checks its campaigns in the background when its interval has passed. */
  noteActivity(orgId: string): void;
  /** Resolves when no background check runs. */
  drain(): Promise<void>;
}

/** What the reminders are built from. */
export interface ReviewRemindersDeps {
  withTenantTx: WithTenantTx;
  logger: Logger;
  /** After a reminder's event committed (head signing, SIEM delivery). */
  onAppended?: (orgId: string) => void;
  /** Checks an org's campaigns at most this often on this node (default 1 hour). */
  checkEveryMs?: number;
  /** Reminds of a campaign at most this often, by hand or automatically, across nodes (default 24 hours). */
  remindEveryMs?: number;
  /** Reminds of campaigns due within this long, or overdue (default 24 hours). */
  dueWithinMs?: number;
  now?: () => Date;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The event of an automatic reminder: the server acting, with no request and no personal data. */
function reminderEvent(reviewId: string, unreviewed: number): AuditEventBody {
  return {
    action: 'access.review.remind',
    actor: { type: 'system', id: 'reminders' },
    resource: resourceRef.entity('access_review', reviewId),
    outcome: 'success',
    status: null,
    reason: null,
    request_id: `reminder-${randomUUID()}`,
    pd: null,
    class: auditActions['access.review.remind'],
    detail: { unreviewed },
  };
}

/**
 * Builds the reminders. Each due campaign is claimed by a conditional UPDATE and its
 * `access.review.remind` event appended in the same transaction, so several nodes checking at
 * once send one reminder, and no reminder is counted without its event (A7).
 *
 * @example
 * const reminders = createReviewReminders({ withTenantTx, logger, onAppended: afterAppend });
 * // after appending events for orgId:
 * reminders.noteActivity(orgId);
 */
export function createReviewReminders(deps: ReviewRemindersDeps): ReviewReminders {
  const now = deps.now ?? (() => new Date());
  const checkEveryMs = deps.checkEveryMs ?? HOUR_MS;
  const window: ReminderWindow = { dueWithinMs: deps.dueWithinMs ?? DAY_MS, remindEveryMs: deps.remindEveryMs ?? DAY_MS };
  const lastChecked = new Map<string, number>();
  const running = new Map<string, Promise<unknown>>();

  async function sendDue(orgId: string): Promise<number> {
    // A short read first: most checks find nothing and write nothing.
    const due = await deps.withTenantTx(orgId, (tx) => listReviewsDueForReminder(tx, window));
    let sent = 0;
    for (const reviewId of due) {
      const claimed = await deps.withTenantTx(orgId, async (tx) => {
        const claim = await claimDueReminder(tx, reviewId, window);
        if (!claim) return false;
        // A7: never a reminder counted without its event — no event, no claim (rolled back).
        if ((await appendAuditEvents(tx, [{ body: reminderEvent(reviewId, claim.unreviewed) }])) !== 1) {
          throw new Error('the reminder event was not appended');
        }
        return true;
      });
      if (!claimed) continue;
      sent += 1;
      // The reminder's own append comes back to noteActivity, which this org's check in flight
      // (and its interval) turns away: no loop.
      deps.onAppended?.(orgId);
    }
    if (sent > 0) deps.logger.info({ orgId, sent }, 'access review reminders sent');
    return sent;
  }

  return {
    noteActivity(orgId) {
      const t = now().getTime();
      if (running.has(orgId) || t - (lastChecked.get(orgId) ?? Number.NEGATIVE_INFINITY) < checkEveryMs) return;
      lastChecked.set(orgId, t);
      // The check serves the org, not the request whose event triggered it.
      const run = outsideAuditScope(() =>
        Promise.resolve()
          .then(() => sendDue(orgId))
          .catch((err: unknown) => deps.logger.warn({ err, orgId }, 'sending access review reminders failed; retrying after the next check interval'))
          .finally(() => running.delete(orgId)),
      );
      running.set(orgId, run);
    },
    async drain() {
      while (running.size > 0) await Promise.all([...running.values()]);
    },
  };
}
