import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import {
  escapeSdParamValue,
  frameOctetCounted,
  signatureHeader,
  syslogMessage,
  syslogPri,
  toDeliveredRecord,
  verifySignatureHeader,
  webhookBody,
  type SinkEventRow,
} from './format.js';

const ORG = '0b6c2f3e-6f0c-4d53-9a43-2a1a4c3d9e10';
const canonical = JSON.stringify({
  action: 'secret.read',
  actor: { type: 'root_token', id: 't1' },
  outcome: 'failure',
  seq: 7,
  time: '2026-03-01T12:34:56.123456Z',
});

function row(over: Partial<SinkEventRow> = {}): SinkEventRow {
  return {
    seq: 7,
    prev_hash: new Uint8Array(32).fill(1),
    hash: new Uint8Array(32).fill(2),
    event_time: new Date('2026-03-01T12:34:56.123Z'),
    canonical,
    ip: '203.0.113.9',
    user_agent: 'curl/8',
    ...over,
  };
}

test('a delivered record holds the chain position, the parsed event and only the IP and user agent', () => {
  const record = toDeliveredRecord(row());
  assert.deepEqual(Object.keys(record).sort(), ['event', 'hash', 'ip', 'prev_hash', 'seq', 'user_agent']);
  assert.equal(record.hash, '02'.repeat(32));
  assert.equal(record.prev_hash, '01'.repeat(32));
  assert.deepEqual(record.event, JSON.parse(canonical));
  assert.equal(record.ip, '203.0.113.9');
});

test('a pruned event is delivered with event null and no personal data', () => {
  const record = toDeliveredRecord(row({ canonical: null }));
  assert.equal(record.event, null);
  assert.equal(record.ip, null);
  assert.equal(record.user_agent, null);
  assert.equal(record.seq, 7);
});

test('the webhook signature is HMAC-SHA256 over "<t>.<body>" keyed by the secret as shown (Stripe scheme)', () => {
  const secret = 'whsec_test';
  const body = webhookBody(ORG, [toDeliveredRecord(row())]);
  const header = signatureHeader(new TextEncoder().encode(secret), 1_700_000_000, body);
  const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
  assert.equal(header, `t=1700000000,v1=${expected}`);
  assert.equal(verifySignatureHeader(secret, header, body, { nowSeconds: 1_700_000_100, toleranceSeconds: 300 }), true);
  assert.equal(verifySignatureHeader(secret, header, `${body} `, { nowSeconds: 1_700_000_100, toleranceSeconds: 300 }), false);
  assert.equal(verifySignatureHeader('whsec_other', header, body, { nowSeconds: 1_700_000_100, toleranceSeconds: 300 }), false);
  assert.equal(verifySignatureHeader(secret, header, body, { nowSeconds: 1_700_001_000, toleranceSeconds: 300 }), false, 'replay window');
});

test('SD-PARAM values escape ", \\ and ] (RFC 5424 §6.3.3)', () => {
  assert.equal(escapeSdParamValue('a"b\\c]d'), 'a\\"b\\\\c\\]d');
});

test('PRI is facility 13 (log audit) with severity 6 for success and 4 for failure and error', () => {
  assert.equal(syslogPri('success'), 110);
  assert.equal(syslogPri('failure'), 108);
  assert.equal(syslogPri('error'), 108);
  assert.equal(syslogPri(undefined), 110);
});

test('a syslog message is RFC 5424 with the action as MSGID and the record as MSG', () => {
  const record = toDeliveredRecord(row());
  const msg = syslogMessage(ORG, record, { eventTime: row().event_time, hostname: 'node a', appName: 'strongroom' });
  const sd = `[strongroom@32473 org="${ORG}" seq="7" hash="${'02'.repeat(32)}"]`;
  assert.equal(msg, `<108>1 2026-03-01T12:34:56.123456Z nodea strongroom - secret.read ${sd} ${JSON.stringify(record)}`);
  const pruned = syslogMessage(ORG, toDeliveredRecord(row({ canonical: null })), {
    eventTime: row().event_time,
    hostname: '',
    appName: 'x',
  });
  assert.match(pruned, /^<110>1 2026-03-01T12:34:56\.123Z - x - - \[strongroom@32473 /);
});

test('octet counting frames count UTF-8 bytes (RFC 6587 §3.4.1)', () => {
  // "<110>1 é" is 8 characters but 9 bytes: é is two.
  assert.equal(frameOctetCounted('<110>1 é').toString('utf8'), '9 <110>1 é');
});
