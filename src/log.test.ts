import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, scrub, scrubText } from './log.js';

/** A debug logger writing into an array, and its records parsed. */
function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return {
    logger,
    text: () => lines.join(''),
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    last: () => JSON.parse(lines.at(-1) ?? 'null') as Record<string, unknown>,
  };
}

const TOKEN = `sr_root_${'aB3_-xYz9Q'.repeat(8)}Zz09-_`; // 86 characters after the prefix
const ISO = '2026-11-22T14:12:48Z';
const UUID = '3385b14e-b074-4163-8229-aeffc2901781';

describe('createLogger redaction by key', () => {
  test('redacts authorization, token, value and password fields, at any depth', () => {
    const log = capture();
    log.logger.info(
      {
        authorization: 'Bearer abc',
        token: 'tok-1',
        value: 'hunter2-value',
        password: 'pw-1',
        a: { value: 'nested-value', b: [{ Password: 'pw-2' }] },
        kept: 'visible',
      },
      'event',
    );
    const record = log.last();
    assert.equal(record.authorization, '[redacted]');
    assert.equal(record.token, '[redacted]');
    assert.equal(record.value, '[redacted]');
    assert.equal(record.password, '[redacted]');
    assert.deepEqual(record.a, { value: '[redacted]', b: [{ Password: '[redacted]' }] });
    assert.equal(record.kept, 'visible');
    for (const secret of ['abc', 'tok-1', 'hunter2-value', 'pw-1', 'nested-value', 'pw-2']) {
      assert.ok(!log.text().includes(secret), secret);
    }
  });
});

describe('createLogger scrubbing of text', () => {
  test('replaces e-mail addresses and phone numbers in messages and nested strings, keeping timestamps and UUIDs', () => {
    const log = capture();
    log.logger.info(
      { user: { note: 'reach alice@example.com or (555) 123-4567' }, list: ['+44 20 7946 0958'] },
      `mail bob.smith+x@mail.example.co.uk, call +44 20 7946 0958 at ${ISO} about ${UUID}`,
    );
    const record = log.last();
    assert.equal(record.msg, `mail [email], call [phone] at ${ISO} about ${UUID}`);
    assert.deepEqual(record.user, { note: 'reach [email] or [phone]' });
    assert.deepEqual(record.list, ['[phone]']);
  });

  test('redacts our tokens found in text', () => {
    const log = capture();
    log.logger.warn({ path: `/v1/x/${TOKEN}` }, `pasted ${TOKEN} here`);
    const record = log.last();
    assert.equal(record.msg, 'pasted [redacted] here');
    assert.equal(record.path, '/v1/x/[redacted]');
    assert.ok(!log.text().includes(TOKEN.slice(8, 40)));
  });

  test('cuts strings longer than 2048 characters', () => {
    const log = capture();
    log.logger.info({ blob: 'y'.repeat(5000) }, 'x'.repeat(3000));
    const record = log.last();
    assert.equal(typeof record.blob, 'string');
    assert.ok((record.blob as string).endsWith('[truncated]'));
    assert.ok((record.blob as string).length < 2100);
    assert.ok((record.msg as string).endsWith('[truncated]'));
    assert.ok((record.msg as string).length < 2100);
  });

  test('scrubs arguments interpolated into the message', () => {
    const log = capture();
    log.logger.info('user %s sent %j', 'carol@example.com', { email: 'dave@example.com', value: 'interp-secret' });
    const text = log.text();
    assert.ok(!text.includes('carol@example.com'));
    assert.ok(!text.includes('dave@example.com'));
    assert.ok(!text.includes('interp-secret'));
  });
});

describe('createLogger serializers', () => {
  test('an error keeps its type and scrubbed message, and nothing of it leaks unscrubbed', () => {
    const log = capture();
    class PaymentError extends Error {
      override name = 'PaymentError';
      details = { value: 'err-secret-value' };
    }
    log.logger.error({ err: new PaymentError('card of erin@example.com declined'), context: { value: 'ctx-secret' } });
    const record = log.last();
    const err = record.err as Record<string, unknown>;
    assert.equal(err.type, 'PaymentError');
    assert.equal(err.message, 'card of [email] declined');
    assert.deepEqual(record.context, { value: '[redacted]' });
    const text = log.text();
    assert.ok(!text.includes('erin@example.com'), 'not in the message pino derives from the error either');
    assert.ok(!text.includes('err-secret-value'));
    assert.ok(!text.includes('ctx-secret'));
  });

  test('an error logged directly is scrubbed too', () => {
    const log = capture();
    log.logger.error(new Error('mail frank@example.com failed'));
    const record = log.last();
    assert.equal((record.err as Record<string, unknown>).message, 'mail [email] failed');
    assert.ok(!log.text().includes('frank@example.com'));
  });

  test('an error cause keeps its type and scrubbed message', () => {
    const log = capture();
    const cause = new TypeError('lookup of gina@example.com');
    log.logger.error({ err: new Error('outer', { cause }) }, 'failed');
    const err = log.last().err as Record<string, unknown>;
    assert.deepEqual(err.cause, { type: 'TypeError', message: 'lookup of [email]' });
  });

  test('a request is logged as method, route and path only: no headers, query string or body', () => {
    class FakeRequest {
      method = 'PUT';
      url = '/v1/vaults/abc/secrets/db?token=abc&version=2';
      headers = { authorization: 'Bearer x-secret-bearer', cookie: 'sid=cookie-secret' };
      body = { value: 'body-secret' };
      routeOptions = { url: '/v1/vaults/:vaultId/secrets/*' };
    }
    const log = capture();
    log.logger.info({ req: new FakeRequest() }, 'request');
    assert.deepEqual(log.last().req, {
      method: 'PUT',
      route: '/v1/vaults/:vaultId/secrets/*',
      path: '/v1/vaults/abc/secrets/db',
    });
    const text = log.text();
    for (const leak of ['token=abc', 'x-secret-bearer', 'cookie-secret', 'body-secret', 'headers', 'body']) {
      assert.ok(!text.includes(leak), leak);
    }
  });

  test('a response is logged as its status code only', () => {
    const log = capture();
    log.logger.info({ res: { statusCode: 201, headers: { 'set-cookie': 'sid=res-secret' } } }, 'response');
    assert.deepEqual(log.last().res, { statusCode: 201 });
    assert.ok(!log.text().includes('res-secret'));
  });
});

describe('scrubText', () => {
  test('replaces e-mail addresses, phone numbers and tokens, leaving other text as it is', () => {
    assert.equal(scrubText('to a.b@example.org now'), 'to [email] now');
    assert.equal(scrubText('call (555) 123-4567 or 555-123-4567'), 'call [phone] or [phone]');
    assert.equal(scrubText('call +44 20 7946 0958'), 'call [phone]');
    assert.equal(scrubText(`Bearer ${TOKEN}`), 'Bearer [redacted]');
    const jwt = 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhZ2VudDp4In0.c2lnbmF0dXJlX2J5dGVzX2hlcmU';
    assert.equal(scrubText(`token ${jwt} sent`), 'token [redacted] sent');
    const plain = `at ${ISO}, id ${UUID}, 2026-11-22, v1.2.3, 42 items`;
    assert.equal(scrubText(plain), plain);
  });

  test('cuts a 64 KiB run of letters without finding an e-mail address in it', () => {
    const result = scrubText('a'.repeat(64 * 1024));
    assert.ok(result.endsWith('[truncated]'));
    assert.ok(result.length < 2100);
    assert.ok(!result.includes('[email]'));
  });

  test('keeps text of exactly 2048 characters whole', () => {
    const text = 'b'.repeat(2048);
    assert.equal(scrubText(text), text);
  });
});

describe('scrub', () => {
  test('returns a redacted deep copy and leaves the input untouched', () => {
    const input = { value: 'v', meta: { email: 'h@example.com', count: 3, ok: true, none: null }, tags: ['x@example.com'] };
    const copy = structuredClone(input);
    assert.deepEqual(scrub(input), {
      value: '[redacted]',
      meta: { email: '[email]', count: 3, ok: true, none: null },
      tags: ['[email]'],
    });
    assert.deepEqual(input, copy);
  });

  test('redacts secret keys whatever their case', () => {
    assert.deepEqual(scrub({ Authorization: 'a', 'X-Api-Key': 'b', Client_Secret: 'c' }), {
      Authorization: '[redacted]',
      'X-Api-Key': '[redacted]',
      Client_Secret: '[redacted]',
    });
  });

  test('stops at depth 8 and keeps at most 50 array items', () => {
    let deep: Record<string, unknown> = { value: 'bottom-secret' };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    const out = JSON.stringify(scrub(deep));
    assert.ok(out.includes('[truncated]'));
    assert.ok(!out.includes('bottom-secret'));
    assert.equal((scrub(Array.from({ length: 200 }, (_, i) => i)) as unknown[]).length, 50);
  });

  test('passes numbers, booleans, null and undefined through', () => {
    assert.equal(scrub(7), 7);
    assert.equal(scrub(false), false);
    assert.equal(scrub(null), null);
    assert.equal(scrub(undefined), undefined);
  });
});
