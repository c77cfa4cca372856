import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inspect } from 'node:util';
import { firstMatch, startSmtpServer, type TestSmtp } from '../../test/support/smtp.js';
import { createLogger, type Logger } from '../log.js';
import { MailSendError, assertSingleRecipient, createDisabledMailer, createSmtpMailer, type Mailer } from './mailer.js';
import { invitationMail, lockoutWarningMail, signInCodeMail } from './templates.js';

const FROM = 'no-reply@strongroom.test';
/** Stands for a one-time code: it must reach the recipient and nowhere else. */
const CANARY = 'CANARY-7f3a9c1e-body-secret';

let tmp: string;
let key: string;
let cert: string;
const cleanups: (() => Promise<void>)[] = [];

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-mail-'));
  // A self-signed certificate for 127.0.0.1, trusted by the mailer through its `tls.ca` option.
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(tmp, 'cert.pem'), 'utf8');
  key = readFileSync(join(tmp, 'key.pem'), 'utf8');
});

after(async () => {
  // Mailers first: the servers wait for open (pooled) connections to end.
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

function captureLogs(): { logger: Logger; logs: string[] } {
  const logs: string[] = [];
  return { logs, logger: createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } }) };
}

async function server(options: Parameters<typeof startSmtpServer>[0] = {}): Promise<TestSmtp> {
  const smtp = await startSmtpServer(options);
  cleanups.push(() => smtp.close());
  return smtp;
}

function mailer(options: Parameters<typeof createSmtpMailer>[0]): Mailer {
  const m = createSmtpMailer(options);
  cleanups.push(() => m.close());
  return m;
}

/** A loopback port nothing listens on: bound, read, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address.port;
}

test('a message sent through the SMTP mailer arrives with its sender, recipient, subject, text and Auto-Submitted header', async () => {
  const smtp = await server();
  const { logger } = captureLogs();
  const url = new URL(smtp.url);
  url.username = 'mailer';
  url.password = 'p@ss word';
  const m = mailer({ url: url.href, from: FROM, logger });
  assert.equal(m.configured, true);
  // Non-ASCII, an `=` and a line longer than 76 characters make nodemailer encode the
  // subject (RFC 2047) and the body (quoted-printable): the text must survive the round trip.
  const subject = 'Votre code de connexion — Strongroom';
  const text = `Bonjour Zoë,\n\nvotre code: 123456 (a=b)\n${'x'.repeat(120)}\nfin`;
  await m.send({ to: 'alice@example.com', subject, text });

  const received = await smtp.waitFor((r) => r.to.includes('alice@example.com'));
  assert.equal(received.from, FROM);
  assert.deepEqual(received.to, ['alice@example.com']);
  assert.equal(received.subject, subject);
  assert.equal(received.text, text);
  // The round trip went through the encodings the test server decodes.
  assert.match(received.headers['subject'] ?? '', /^=\?UTF-8\?/i);
  assert.equal(received.headers['content-transfer-encoding'], 'quoted-printable');
  assert.ok(!received.raw.includes(text));
  assert.equal(received.headers['auto-submitted'], 'auto-generated');
  assert.equal(received.headers['to'], 'alice@example.com');
  // The URL's credentials reach the server (decoded), and the connection was plain here.
  assert.equal(received.authUser, 'mailer');
  assert.equal(received.authPassword, 'p@ss word');
  assert.equal(received.secure, false);
  assert.equal(firstMatch(received.text, /code: (\d{6})/), '123456');
});

test('the pooled mailer delivers several messages in a row', async () => {
  const smtp = await server();
  const { logger } = captureLogs();
  const m = mailer({ url: smtp.url, from: FROM, logger });
  await Promise.all([1, 2, 3].map((n) => m.send({ to: `user${n}@example.com`, subject: `Message ${n}`, text: `body ${n}` })));
  assert.deepEqual(smtp.messages.map((r) => r.subject).sort(), ['Message 1', 'Message 2', 'Message 3']);
});

test('smtps:// connects over TLS to a server whose certificate is trusted through tls.ca', async () => {
  const smtp = await server({ tls: { key, cert, implicit: true } });
  assert.match(smtp.url, /^smtps:\/\//);
  const { logger } = captureLogs();
  const m = mailer({ url: smtp.url, from: FROM, tls: { ca: cert }, logger });
  await m.send({ to: 'bob@example.com', subject: 'Over TLS', text: 'hello' });
  const received = await smtp.waitFor((r) => r.subject === 'Over TLS');
  assert.equal(received.secure, true);
});

test('smtp:// upgrades with STARTTLS when the server offers it', async () => {
  const smtp = await server({ tls: { key, cert } });
  assert.match(smtp.url, /^smtp:\/\//);
  const { logger } = captureLogs();
  const m = mailer({ url: smtp.url, from: FROM, tls: { ca: cert }, logger });
  await m.send({ to: 'carol@example.com', subject: 'Upgraded', text: 'hello' });
  const received = await smtp.waitFor((r) => r.subject === 'Upgraded');
  assert.equal(received.secure, true);
});

test('a server whose certificate is not trusted is refused, and the error names no body text', async () => {
  const smtp = await server({ tls: { key, cert, implicit: true } });
  const { logger, logs } = captureLogs();
  const m = mailer({ url: smtp.url, from: FROM, logger });
  const err = await m.send({ to: 'dave@example.com', subject: 'Untrusted', text: CANARY }).then(
    () => assert.fail('the send should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof MailSendError);
  assert.match(String(err.reason), /CERT/);
  assert.doesNotMatch(inspect(err), new RegExp(CANARY));
  assert.equal(smtp.messages.length, 0);
  assert.ok(!logs.join('\n').includes(CANARY));
});

test('a recipient carrying a header, a list or a display name is refused before anything is sent', async () => {
  const smtp = await server();
  const { logger } = captureLogs();
  const m = mailer({ url: smtp.url, from: FROM, logger });
  for (const to of [
    'victim@example.com\r\nBcc: attacker@evil.test',
    'victim@example.com\nBcc: attacker@evil.test',
    'victim@example.com\rBcc: attacker@evil.test',
    'victim@example.com, attacker@evil.test',
    'victim@example.com;attacker@evil.test',
    'Victim <victim@example.com>',
    'group:victim@example.com;',
    'victim@example.com\u2028Bcc: attacker@evil.test',
    'a@b@example.com',
    'no-at-sign.example.com',
    '@example.com',
    'victim@',
    'victim@.example.com',
    'victim@example..com',
    `${'a'.repeat(64)}@${'b'.repeat(186)}.com`,
    ' victim@example.com',
  ]) {
    await assert.rejects(m.send({ to, subject: 'Injected', text: 'hello' }), TypeError, JSON.stringify(to));
  }
  await assert.rejects(m.send({ to: 'victim@example.com', subject: 'Hi\r\nBcc: attacker@evil.test', text: 'hello' }), TypeError);
  assert.equal(smtp.messages.length, 0);
});

test('ordinary single addresses are accepted as recipients', () => {
  for (const to of ['alice@example.com', 'first.last+tag@sub.example.co.uk', 'o\'brien@example.ie', 'zoë@exämple.de', 'root@localhost']) {
    assert.doesNotThrow(() => assertSingleRecipient(to), to);
  }
});

test('a send to a port nobody listens on rejects with an error and log lines that contain no body text', async () => {
  const port = await closedPort();
  const { logger, logs } = captureLogs();
  const m = mailer({ url: `smtp://127.0.0.1:${port}`, from: FROM, logger });
  const err = await m.send({ to: 'erin@example.com', subject: 'Your code', text: `Your code is ${CANARY}` }).then(
    () => assert.fail('the send should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof MailSendError);
  assert.match(err.code, /^E[A-Z]+$/);
  assert.equal(err.reason, 'ECONNREFUSED');
  for (const shown of [err.message, String(err.stack), inspect(err, { depth: 5 }), JSON.stringify(err)]) {
    assert.ok(!shown.includes(CANARY), shown);
    assert.ok(!shown.includes('erin'), shown);
  }
  const logged = logs.join('\n');
  assert.ok(!logged.includes(CANARY));
  // What is logged instead: the recipient's domain and the error code.
  assert.match(logged, /"recipientDomain":"example.com"/);
  assert.ok(logged.includes(`"code":"${err.code}"`), logged);
});

test('the SMTP URL must be smtp:// or smtps://, and a bad URL is refused without echoing it', () => {
  const { logger } = captureLogs();
  assert.throws(() => createSmtpMailer({ url: 'https://user:hunter2@mail.example.com', from: FROM, logger }), TypeError);
  assert.throws(() => createSmtpMailer({ url: 'direct://', from: FROM, logger }), TypeError);
  assert.throws(
    () => createSmtpMailer({ url: 'not a url hunter2', from: FROM, logger }),
    (e: unknown) => e instanceof TypeError && !e.message.includes('hunter2'),
  );
});

test('the disabled mailer logs a warning naming the subject and domain, never the body, and resolves', async () => {
  const { logger, logs } = captureLogs();
  const m = createDisabledMailer(logger);
  assert.equal(m.configured, false);
  await m.send({ to: 'frank@example.org', subject: 'Your Strongroom sign-in code', text: `Your code is ${CANARY}` });
  assert.equal(logs.length, 1);
  const line = JSON.parse(logs[0] ?? '{}') as { level: number; msg: string };
  assert.equal(line.level, 40);
  assert.equal(line.msg, 'no SMTP is configured: an e-mail (subject "Your Strongroom sign-in code") to example.org was not sent');
  assert.ok(!logs[0]?.includes(CANARY));
  assert.ok(!logs[0]?.includes('frank'));
  // It still refuses a bad recipient: callers behave the same whether SMTP is set up or not.
  await assert.rejects(m.send({ to: 'a@example.org\r\nBcc: b@evil.test', subject: 'x', text: 'y' }), TypeError);
});

test('the sign-in code mail states the code and its lifetime, warns against sharing, and keeps the code out of the subject', () => {
  const mail = signInCodeMail({ code: '493027', minutesValid: 10, product: 'Strongroom' });
  assert.equal(firstMatch(mail.text, /\b(\d{6})\b/), '493027');
  assert.match(mail.text, /valid for 10 minutes/);
  assert.match(mail.text, /Strongroom staff will never ask you for this code/);
  assert.match(mail.text, /did not try to sign in, you can ignore/);
  assert.ok(!mail.subject.includes('493027'));
  assert.match(mail.subject, /Strongroom/);
  assert.doesNotMatch(mail.text, /<[a-z]/i);
});

test('the lockout warning counts the attempts and names the source without saying the account is locked', () => {
  const at = new Date('2025-05-01T14:03:27Z');
  const mail = lockoutWarningMail({ attempts: 12, windowMinutes: 15, sourceIp: '203.0.113.9', at });
  assert.match(mail.text, /12 times within\s+15 minutes/);
  assert.match(mail.text, /203\.0\.113\.9/);
  assert.match(mail.text, /2025-05-01 14:03 UTC/);
  assert.match(mail.text, /You can still sign in/);
  assert.match(mail.text, /changing your\s+password/);
  assert.match(mail.text, /multi-factor/);
  for (const text of [mail.subject, mail.text]) assert.doesNotMatch(text, /\block(ed|out)?\b|suspended|disabled/i);

  const unknownSource = lockoutWarningMail({ attempts: 1, windowMinutes: 1, sourceIp: null, at });
  assert.match(unknownSource.text, /1 time within\s+1 minute,/);
  assert.doesNotMatch(unknownSource.text, /null/);
});

test('the invitation names the organisation, inviter, role and expiry, with the link on a line of its own', () => {
  const acceptUrl = 'https://vault.example.com/invitations/accept#token=sr_invite_abc';
  const mail = invitationMail({
    orgName: 'Acme\r\nBcc-like text',
    inviterName: 'Grace Hopper',
    role: 'admin',
    acceptUrl,
    expiresAt: new Date('2025-06-01T00:00:00Z'),
  });
  assert.ok(mail.text.split('\n').includes(acceptUrl));
  assert.match(mail.text, /Grace Hopper invited you to join Acme Bcc-like text on Strongroom as admin\./);
  assert.match(mail.text, /expires at 2025-06-01 00:00 UTC/);
  assert.ok(!mail.subject.includes('Acme'));
  assert.doesNotMatch(mail.text, /\r/);
});
