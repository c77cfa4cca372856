/**
 * The text of every e-mail the product sends. Pure functions, plain text only: no HTML means
 * no markup to escape and nothing a mail client loads from elsewhere.
 *
 * Subjects never carry a code, a link or a name from input: the disabled mailer logs the
 * subject, and a subject shows in notifications on a locked phone.
 */

/** A rendered e-mail, ready for `Mailer.send` together with a recipient. */
export interface MailContent {
  subject: string;
  text: string;
}

/** Options of {@link signInCodeMail}. */
export interface SignInCodeMailOptions {
  code: string;
  minutesValid: number;
  product: string;
}

/** Options of {@link lockoutWarningMail}. */
export interface LockoutWarningMailOptions {
  /** Failed sign-ins counted within the window. */
  attempts: number;
  windowMinutes: number;
  /** Where the attempts came from, when known. */
  sourceIp: string | null;
  /** When the threshold was crossed. */
  at: Date;
}

/** Options of {@link invitationMail}. */
export interface InvitationMailOptions {
  orgName: string;
  inviterName: string;
  role: string;
  acceptUrl: string;
  expiresAt: Date;
}

// Names come from users (an organisation's or a person's name): a line break in one could
// make the text look like it says something else, so every run of whitespace becomes a space.
function oneLine(value: string, max = 200): string {
  const flat = value.replace(/\s+/gu, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `2025-05-01 14:03 UTC`: one unambiguous form, whatever the server's locale or zone. */
function utc(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The e-mail carrying a one-time sign-in code. It says how long the code lasts, that staff
 * never ask for it (the usual phishing script is "read me the code we just sent"), and what
 * to do if the reader did not ask for it.
 */
export function signInCodeMail(opts: SignInCodeMailOptions): MailContent {
  const product = oneLine(opts.product, 60);
  return {
    subject: `Your ${product} sign-in code`,
    text: [
      `Your ${product} sign-in code is:`,
      '',
      `    ${opts.code}`,
      '',
      `It is valid for ${plural(opts.minutesValid, 'minute', 'minutes')} and can be used once.`,
      '',
      `${product} staff will never ask you for this code. Do not share it with anyone,`,
      'by phone, chat or e-mail.',
      '',
      'If you did not try to sign in, you can ignore this e-mail: without the code,',
      'nobody can use it to sign in.',
    ].join('\n'),
  };
}

/**
 * The warning sent when failed sign-ins to an account cross the throttle threshold. The
 * throttle blocks the source, not the account, so the text must not say the account is
 * locked: the owner can still sign in, and believing otherwise would send them to support.
 */
export function lockoutWarningMail(opts: LockoutWarningMailOptions): MailContent {
  const source = opts.sourceIp === null ? 'one source' : `the address ${oneLine(opts.sourceIp, 64)}`;
  return {
    subject: 'Failed sign-in attempts on your account',
    text: [
      `Someone failed to sign in to your account ${plural(opts.attempts, 'time', 'times')} within`,
      `${plural(opts.windowMinutes, 'minute', 'minutes')}, most recently at ${utc(opts.at)}, from ${source}.`,
      '',
      'Further attempts from that source are blocked for a while. You can still sign in',
      'as usual.',
      '',
      'If this was you, there is nothing to do. If it was not you, consider changing your',
      'password and turning on multi-factor authentication.',
    ].join('\n'),
  };
}

/**
 * The invitation to join an organisation. The link is the only action and sits on a line of
 * its own so mail clients do not break it; the expiry is stated so a late reader knows why
 * the link stopped working.
 */
export function invitationMail(opts: InvitationMailOptions): MailContent {
  const orgName = oneLine(opts.orgName);
  return {
    subject: 'You are invited to join an organisation on Strongroom',
    text: [
      `${oneLine(opts.inviterName)} invited you to join ${orgName} on Strongroom as ${oneLine(opts.role, 60)}.`,
      '',
      'To accept, open this link:',
      '',
      opts.acceptUrl,
      '',
      `The invitation expires at ${utc(opts.expiresAt)}.`,
      '',
      'If you were not expecting this invitation, you can ignore this e-mail.',
    ].join('\n'),
  };
}

/** What changed about a person's sign-in (a password set, a second factor added or removed). */
export interface SecurityChangeMailOptions {
  /** One line, e.g. "An authenticator app was added to your account". */
  change: string;
  at: Date;
}

/**
 * Tells a person that how they sign in changed (ASVS 6.2/6.5: notify on credential changes), so
 * a change they did not make — someone holding their session — does not go unnoticed.
 */
export function securityChangeMail(opts: SecurityChangeMailOptions): MailContent {
  return {
    subject: 'Your sign-in settings changed',
    text: [
      `${oneLine(opts.change)} at ${utc(opts.at)}.`,
      '',
      'If this was you, there is nothing to do. If it was not you, sign in, sign out',
      'everywhere, and check your password and authenticator; tell your administrator.',
    ].join('\n'),
  };
}
