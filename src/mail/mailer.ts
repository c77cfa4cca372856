import { createTransport } from 'nodemailer';
import type { Logger } from '../log.js';

/** One plain-text e-mail to one person. `text` may hold a one-time code: it is never logged. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/**
 * Sends the few e-mails the product needs (sign-in codes, lockout warnings, invitations).
 * Services take this interface, not nodemailer, so an installation without SMTP gets
 * {@link createDisabledMailer} and tests can pass a real local server's URL.
 */
export interface Mailer {
  /** False for the disabled mailer: callers may say "e-mail is not available" up front. */
  readonly configured: boolean;
  /**
   * Resolves once the SMTP server accepted the message. Rejects with a TypeError for a bad
   * recipient, or a {@link MailSendError} that names no body text.
   */
  send(message: MailMessage): Promise<void>;
  /** Closes pooled connections; call on shutdown. */
  close(): Promise<void>;
}

/** Options of {@link createSmtpMailer}. */
export interface SmtpMailerOptions {
  /**
   * `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it; add
   * `?requireTLS=true` to refuse a server that does not) or `smtps://…` (TLS from the start).
   */
  url: string;
  /** The From header, e.g. `Strongroom <no-reply@example.com>`. */
  from: string;
  /** Extra trusted CA (a private relay, tests); production uses the system trust store. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  logger: Logger;
}

/** Connecting, the greeting and any silence on the socket each give up after this. */
export const SMTP_TIMEOUT_MS = 10_000;
/** RFC 5321 §4.5.3.1.3: a forward-path holds at most 256 octets, 254 of them the address. */
const MAX_ADDRESS_OCTETS = 254;
// One bare addr-spec, nothing else: no display name, no list (`,` `;`), no group (`:`), no
// quoting or comments, no whitespace or control characters — any of those could smuggle a
// second recipient or a header into the message (header injection).
const ADDRESS = /^[^\s@,;:<>()"[\]\\\p{Cc}\p{Cf}]{1,64}@[^\s@,;:<>()"[\]\\\p{Cc}\p{Cf}]{1,253}$/u;
const LINE_BREAK = /[\r\n\u2028\u2029]/u;
// A nodemailer, Node or OpenSSL error code worth logging; anything else is dropped.
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,47}$/;

/** Why an e-mail was not sent, without anything from the message itself. */
export class MailSendError extends Error {
  override readonly name = 'MailSendError';
  /** nodemailer's or Node's code: ECONNECTION, EAUTH, ETIMEDOUT, EENVELOPE, ECONNREFUSED … */
  readonly code: string;
  /** The lower-level code behind `code`: ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT … */
  readonly reason: string | undefined;
  /** The SMTP reply code when the server refused something (e.g. 550). */
  readonly responseCode: number | undefined;

  constructor(code: string, reason: string | undefined, responseCode: number | undefined) {
    const detail = [code, reason, responseCode].filter((part) => part !== undefined).join(' ');
    super(`The e-mail could not be sent (${detail}).`);
    this.code = code;
    this.reason = reason;
    this.responseCode = responseCode;
  }
}

/**
 * Checks that `to` is exactly one plain address (`local@domain`). The address reaches the
 * To header and the RCPT command, so a line break or a list there would let whoever chose
 * the address (a sign-up form) add recipients or headers.
 *
 * @throws TypeError naming the rule broken, never the address.
 */
export function assertSingleRecipient(to: string): void {
  if (Buffer.byteLength(to, 'utf8') > MAX_ADDRESS_OCTETS) throw new TypeError('The recipient address is too long.');
  if (!ADDRESS.test(to)) throw new TypeError('The recipient must be one plain e-mail address.');
  const domain = recipientDomain(to);
  if (domain.startsWith('.') || domain.endsWith('.') || domain.includes('..')) {
    throw new TypeError('The recipient address has an invalid domain.');
  }
}

/** The part after `@`, lower-cased: what logs may say about a recipient. */
export function recipientDomain(to: string): string {
  return to.slice(to.lastIndexOf('@') + 1).toLowerCase();
}

function assertMessage(message: MailMessage): void {
  assertSingleRecipient(message.to);
  if (LINE_BREAK.test(message.subject)) throw new TypeError('The subject must be a single line.');
}

/** The scheme check, with an error that cannot echo the URL (it may hold the password). */
function assertSmtpUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new TypeError('The SMTP URL is not a valid URL.');
  }
  if (protocol !== 'smtp:' && protocol !== 'smtps:') throw new TypeError('The SMTP URL must start with smtp:// or smtps://.');
}

function errorCode(value: unknown): string | undefined {
  return typeof value === 'string' && ERROR_CODE.test(value) ? value : undefined;
}

/**
 * Reduces whatever nodemailer rejected with to codes. Its message and `response` are dropped:
 * the server's reply text may quote the recipient or the message.
 */
function toMailSendError(err: unknown): MailSendError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; originalCode?: unknown; responseCode?: unknown };
  const code = errorCode(e.code) ?? 'UNKNOWN';
  const reason = errorCode(e.originalCode);
  const responseCode = typeof e.responseCode === 'number' && Number.isInteger(e.responseCode) ? e.responseCode : undefined;
  return new MailSendError(code, reason === code ? undefined : reason, responseCode);
}

/**
 * An SMTP mailer over a pooled nodemailer transport. Credentials come in the URL. What
 * leaves this module about a failure — the rejection and the log line — is an error code
 * and the recipient's domain: the body holds one-time codes, and the server's reply text may
 * quote the message or the address.
 *
 * @throws TypeError when the URL is not smtp:// or smtps://, or `from` spans lines.
 */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  assertSmtpUrl(options.url);
  if (LINE_BREAK.test(options.from)) throw new TypeError('The From address must be a single line.');
  const { logger } = options;
  const transport = createTransport({
    url: options.url,
    pool: true,
    maxConnections: 2,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
    dnsTimeout: SMTP_TIMEOUT_MS,
    // Idle pooled connections close before the socket timeout would call them failed.
    idleTimeout: SMTP_TIMEOUT_MS / 2,
    tls: {
      minVersion: 'TLSv1.2',
      ...(options.tls?.ca === undefined ? {} : { ca: options.tls.ca }),
      ...(options.tls?.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.tls.rejectUnauthorized }),
    },
    // Our messages are plain text; nodemailer must never read a file or URL on our behalf.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  // A pooled transport may report a failure with no send waiting on it; unhandled, that
  // 'error' event would end the process.
  transport.on('error', (err: unknown) => {
    logger.warn({ mail: { code: toMailSendError(err).code } }, 'the SMTP connection pool reported an error');
  });

  return {
    configured: true,
    async send(message) {
      assertMessage(message);
      try {
        await transport.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          headers: {
            // RFC 3834 §5: tells auto-responders (out-of-office) not to answer.
            'Auto-Submitted': 'auto-generated',
            // Exchange's equivalent of the above.
            'X-Auto-Response-Suppress': 'All',
          },
        });
      } catch (err) {
        const failure = toMailSendError(err);
        logger.warn(
          {
            mail: {
              recipientDomain: recipientDomain(message.to),
              code: failure.code,
              reason: failure.reason,
              responseCode: failure.responseCode,
            },
          },
          'an e-mail could not be sent',
        );
        throw failure;
      }
    },
    async close() {
      transport.close();
    },
  };
}

/**
 * The mailer of an installation with no SMTP configured. Features that send mail keep their
 * answers (a sign-in code request still answers 202, revealing nothing), and the operator sees
 * a warning naming the subject and the recipient's domain — never the body with its code.
 */
export function createDisabledMailer(logger: Logger): Mailer {
  return {
    configured: false,
    async send(message) {
      assertMessage(message);
      logger.warn(
        { mail: { recipientDomain: recipientDomain(message.to) } },
        `no SMTP is configured: an e-mail (subject "${message.subject}") to ${recipientDomain(message.to)} was not sent`,
      );
    },
    async close() {},
  };
}
