import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** One message as the test SMTP server received it. */
export interface ReceivedMail {
  /** The envelope sender (MAIL FROM). */
  from: string;
  /** The envelope recipients (RCPT TO). */
  to: string[];
  /** The Subject header, RFC 2047 encoded-words decoded. */
  subject: string;
  /** The first text/plain body, transfer encoding undone, line endings `\n`. */
  text: string;
  /** Header names lower-cased, folded lines joined, values as sent (not decoded). */
  headers: Record<string, string>;
  /** The user name the client authenticated with, if it did. */
  authUser: string | undefined;
  /** The password it authenticated with (tests check the URL's credentials arrive). */
  authPassword: string | undefined;
  /** Whether the message came over TLS (smtps:// or STARTTLS). */
  secure: boolean;
  /** The whole message as received. */
  raw: string;
}

/** A running local SMTP server; see {@link startSmtpServer}. */
export interface TestSmtp {
  /** `smtp://127.0.0.1:<port>` (`smtps://` for an implicit-TLS server). */
  url: string;
  port: number;
  /** Every message received so far, oldest first. */
  messages: ReceivedMail[];
  /** The first message (already received or still to come) matching `predicate`. */
  waitFor(predicate: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/** Options of {@link startSmtpServer}. Without `tls` the server speaks plain SMTP only. */
export interface TestSmtpOptions {
  /**
   * A key and certificate. With `implicit` the server speaks TLS from the first byte
   * (smtps://, port 465 style); otherwise it offers STARTTLS.
   */
  tls?: { key: string; cert: string; implicit?: boolean };
}

type Waiter = { predicate: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void };

/**
 * Starts a real SMTP server on an ephemeral loopback port, so mail tests go through the
 * same nodemailer code, sockets and SMTP dialogue as production rather than a fake transport.
 * Any credentials are accepted and recorded.
 */
export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<Waiter>();
  const tls = options.tls;
  const implicit = tls?.implicit === true;

  const server = new SMTPServer({
    logger: false,
    secure: implicit,
    ...(tls === undefined ? {} : { key: tls.key, cert: tls.cert }),
    disabledCommands: tls === undefined ? ['STARTTLS'] : [],
    authOptional: true,
    allowInsecureAuth: true,
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      callback(null, { user: JSON.stringify({ username: auth.username ?? '', password: auth.password ?? '' }) });
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mail = toReceivedMail(Buffer.concat(chunks).toString('utf8'), session);
        messages.push(mail);
        for (const waiter of waiters) {
          if (waiter.predicate(mail)) {
            waiters.delete(waiter);
            waiter.resolve(mail);
          }
        }
        callback();
      });
    },
  });
  // Clients that drop the connection abruptly (a test closing its pool) must not fail the run.
  server.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `${implicit ? 'smtps' : 'smtp'}://127.0.0.1:${port}`,
    port,
    messages,
    waitFor(predicate, timeoutMs = 5000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching e-mail arrived within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The first match of `pattern` in `text` (its first group if it has one), or throws. */
export function firstMatch(text: string, pattern: RegExp): string {
  const match = pattern.exec(text);
  if (match === null) throw new Error(`no match for ${String(pattern)} in the e-mail`);
  return match[1] ?? match[0];
}

function toReceivedMail(raw: string, session: SMTPServerSession): ReceivedMail {
  // The CRLF before the terminating `.` belongs to the SMTP dialogue, not the body.
  const { headers, body } = splitMessage(raw.replace(/\r?\n$/, ''));
  const auth = session.user === undefined ? undefined : (JSON.parse(session.user) as { username: string; password: string });
  return {
    from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
    to: session.envelope.rcptTo.map((r) => r.address),
    subject: decodeEncodedWords(headers['subject'] ?? ''),
    text: textBody(headers, body),
    headers,
    authUser: auth?.username,
    authPassword: auth?.password,
    secure: session.secure,
    raw,
  };
}

/** RFC 5322 §2.1: headers, an empty line, the body. Folded header lines are joined. */
function splitMessage(raw: string): { headers: Record<string, string>; body: string } {
  const normalised = raw.replace(/\r\n/g, '\n');
  const end = normalised.indexOf('\n\n');
  const head = end === -1 ? normalised : normalised.slice(0, end);
  const body = end === -1 ? '' : normalised.slice(end + 2);
  const headers: Record<string, string> = {};
  // RFC 5322 §2.2.3: a line starting with whitespace continues the previous header.
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    // The first occurrence wins, like most readers; tests look for injected duplicates in `raw`.
    if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

/** The text/plain part: the body itself, or the first text/plain part of a multipart body. */
function textBody(headers: Record<string, string>, body: string): string {
  const contentType = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (/^multipart\//i.test(contentType) && boundary !== undefined) {
    for (const part of body.split(`--${boundary}`).slice(1)) {
      if (part.startsWith('--')) break;
      const inner = splitMessage(part.replace(/^[ \t]*\n/, ''));
      const innerType = inner.headers['content-type'] ?? 'text/plain';
      if (!/^(text\/plain|multipart\/)/i.test(innerType)) continue;
      const text = textBody(inner.headers, inner.body.replace(/\n$/, ''));
      if (text !== '' || /^text\/plain/i.test(innerType)) return text;
    }
    return '';
  }
  return decodeTransfer(body, headers['content-transfer-encoding'] ?? '7bit', charsetOf(contentType));
}

function charsetOf(contentType: string): BufferEncoding {
  const charset = /charset="?([^";]+)"?/i.exec(contentType)?.[1]?.toLowerCase();
  return charset === 'iso-8859-1' || charset === 'latin1' || charset === 'us-ascii' ? 'latin1' : 'utf8';
}

function decodeTransfer(body: string, encoding: string, charset: BufferEncoding): string {
  switch (encoding.toLowerCase()) {
    case 'quoted-printable':
      return decodeQuotedPrintable(body, charset);
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString(charset);
    default:
      return body;
  }
}

/** RFC 2045 §6.7: `=` at a line end is a soft break; `=XX` is one octet. */
export function decodeQuotedPrintable(text: string, charset: BufferEncoding = 'utf8'): string {
  const joined = text.replace(/[ \t]+$/gm, '').replace(/=\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString(charset);
}

/** RFC 2047: `=?charset?B|Q?text?=` words; whitespace between two encoded words is dropped. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, charset: string, kind: string, data: string) => {
      const encoding: BufferEncoding = /^(iso-8859-1|latin1|us-ascii)$/i.test(charset) ? 'latin1' : 'utf8';
      if (kind.toUpperCase() === 'B') return Buffer.from(data, 'base64').toString(encoding);
      // RFC 2047 §4.2: in Q, `_` stands for a space.
      return decodeQuotedPrintable(data.replace(/_/g, '=20'), encoding);
    });
}
