import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  RECOVERY_CODE_COUNT,
  TOTP_SECRET_BYTES,
  base32Decode,
  base32Encode,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  normaliseRecoveryCode,
  otpauthUri,
  recoveryCodeMatches,
  totpCode,
  totpStep,
  verifyTotp,
} from './totp.js';
import type { TotpAlgorithm } from './totp.js';

const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'ascii'));

// RFC 6238 Appendix B seeds: the ASCII digits repeated to the hash's output length.
const seeds: Record<TotpAlgorithm, Uint8Array> = {
  sha1: ascii('12345678901234567890'),
  sha256: ascii('12345678901234567890123456789012'),
  sha512: ascii('1234567890123456789012345678901234567890123456789012345678901234'),
};

// RFC 6238 Appendix B: Unix time, step T (hex in the RFC), and the 8-digit codes.
const rfc6238: ReadonlyArray<{ time: number; step: number; codes: Record<TotpAlgorithm, string> }> = [
  { time: 59, step: 0x1, codes: { sha1: '94287082', sha256: '46119246', sha512: '90693936' } },
  {
    time: 1111111109,
    step: 0x23523ec,
    codes: { sha1: '07081804', sha256: '68084774', sha512: '25091201' },
  },
  {
    time: 1111111111,
    step: 0x23523ed,
    codes: { sha1: '14050471', sha256: '67062674', sha512: '99943326' },
  },
  {
    time: 1234567890,
    step: 0x273ef07,
    codes: { sha1: '89005924', sha256: '91819424', sha512: '93441116' },
  },
  {
    time: 2000000000,
    step: 0x3f940aa,
    codes: { sha1: '69279037', sha256: '90698825', sha512: '38618901' },
  },
  {
    time: 20000000000,
    step: 0x27bc86aa,
    codes: { sha1: '65353130', sha256: '77737706', sha512: '47863826' },
  },
];

for (const vector of rfc6238) {
  test(`computes the RFC 6238 Appendix B step for time ${vector.time}`, () => {
    assert.equal(totpStep(new Date(vector.time * 1000)), vector.step);
  });
  for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
    test(`matches RFC 6238 Appendix B for ${algorithm} at time ${vector.time}`, () => {
      const step = totpStep(new Date(vector.time * 1000));
      assert.equal(totpCode(seeds[algorithm], step, { digits: 8, algorithm }), vector.codes[algorithm]);
    });
    test(`verifies the RFC 6238 ${algorithm} code at time ${vector.time}`, () => {
      const result = verifyTotp(seeds[algorithm], vector.codes[algorithm], {
        now: new Date(vector.time * 1000),
        lastUsedStep: null,
        digits: 8,
        algorithm,
      });
      assert.deepEqual(result, { ok: true, step: vector.step });
    });
  }
}

test('matches RFC 4226 Appendix D HOTP values for counters 0 to 9', () => {
  const expected = [
    '755224', '287082', '359152', '969429', '338314',
    '254676', '287922', '162583', '399871', '520489',
  ];
  const actual = expected.map((_, counter) => totpCode(seeds.sha1, counter));
  assert.deepEqual(actual, expected);
});

test('keeps leading zeros in codes', () => {
  // RFC 6238 vector: 07081804 at T=0x23523EC with the SHA-1 seed.
  const code = totpCode(seeds.sha1, 0x23523ec, { digits: 8 });
  assert.equal(code, '07081804');
  assert.equal(code.length, 8);
});

test('refuses a negative or fractional counter and an empty secret', () => {
  assert.throws(() => totpCode(seeds.sha1, -1), RangeError);
  assert.throws(() => totpCode(seeds.sha1, 1.5), RangeError);
  assert.throws(() => totpCode(new Uint8Array(0), 1), RangeError);
});

test('computes the step with a custom period and refuses a bad period or date', () => {
  assert.equal(totpStep(new Date(119_999), 60), 1);
  assert.equal(totpStep(new Date(120_000), 60), 2);
  assert.throws(() => totpStep(new Date(0), 0), RangeError);
  assert.throws(() => totpStep(new Date(Number.NaN)), RangeError);
});

// RFC 4648 §10 test vectors, without the padding we do not emit.
const rfc4648: ReadonlyArray<[string, string]> = [
  ['', ''],
  ['f', 'MY'],
  ['fo', 'MZXQ'],
  ['foo', 'MZXW6'],
  ['foob', 'MZXW6YQ'],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI'],
];

for (const [plain, encoded] of rfc4648) {
  test(`base32 encodes ${JSON.stringify(plain)} as ${JSON.stringify(encoded)} (RFC 4648 §10)`, () => {
    assert.equal(base32Encode(ascii(plain)), encoded);
    assert.deepEqual(base32Decode(encoded), ascii(plain));
  });
}

test('base32 decodes lower case, spaces and padding', () => {
  assert.deepEqual(base32Decode('mzxw 6ytb oi======'), ascii('foobar'));
  assert.deepEqual(base32Decode('MY======'), ascii('f'));
  assert.deepEqual(base32Decode(' mzxq\t'), ascii('fo'));
});

test('base32 round-trips random secrets of every length up to 64 bytes', () => {
  for (let length = 0; length <= 64; length++) {
    const bytes = new Uint8Array(Buffer.from(Array.from({ length }, (_, i) => (i * 37 + length) & 0xff)));
    const encoded = base32Encode(bytes);
    assert.match(encoded, /^[A-Z2-7]*$/);
    assert.deepEqual(base32Decode(encoded), bytes);
  }
  const secret = generateTotpSecret();
  assert.deepEqual(base32Decode(base32Encode(secret)), secret);
});

test('base32 rejects invalid characters, impossible lengths and non-canonical input', () => {
  assert.throws(() => base32Decode('MZXW0YTB'), RangeError); // 0 is not in the alphabet
  assert.throws(() => base32Decode('MZXW1YTB'), RangeError);
  assert.throws(() => base32Decode('MZ=XW6'), RangeError); // padding in the middle
  assert.throws(() => base32Decode('MZXW-6YTB'), RangeError);
  assert.throws(() => base32Decode('M'), RangeError); // 1 char cannot end a quantum
  assert.throws(() => base32Decode('MZX'), RangeError);
  assert.throws(() => base32Decode('MZ'), RangeError); // spare bits of 'f' must be zero ('MY')
});

test('generates 160-bit TOTP secrets that differ', () => {
  const a = generateTotpSecret();
  const b = generateTotpSecret();
  assert.equal(TOTP_SECRET_BYTES, 20);
  assert.equal(a.length, 20);
  assert.equal(b.length, 20);
  assert.notDeepEqual(a, b);
});

// A fixed instant in the middle of a step, so ± one step is unambiguous.
const now = new Date(1_700_000_015_000);
const nowStep = totpStep(now);
const secret = seeds.sha1;
const codeAt = (step: number): string => totpCode(secret, step);

test('accepts the current step and reports it', () => {
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep), { now, lastUsedStep: null }), {
    ok: true,
    step: nowStep,
  });
});

test('accepts the previous and the next step within the default window', () => {
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep - 1), { now, lastUsedStep: null }), {
    ok: true,
    step: nowStep - 1,
  });
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep + 1), { now, lastUsedStep: null }), {
    ok: true,
    step: nowStep + 1,
  });
});

test('refuses codes two steps away', () => {
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep - 2), { now, lastUsedStep: null }), { ok: false });
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep + 2), { now, lastUsedStep: null }), { ok: false });
});

test('honours a window of 0 and a wider window', () => {
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep - 1), { now, lastUsedStep: null, window: 0 }), {
    ok: false,
  });
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep - 2), { now, lastUsedStep: null, window: 2 }), {
    ok: true,
    step: nowStep - 2,
  });
  assert.throws(() => verifyTotp(secret, codeAt(nowStep), { now, lastUsedStep: null, window: 11 }), RangeError);
});

test('refuses a wrong code', () => {
  const good = codeAt(nowStep);
  const wrong = `${good.slice(0, 5)}${(Number(good[5]) + 1) % 10}`;
  assert.deepEqual(verifyTotp(secret, wrong, { now, lastUsedStep: null }), { ok: false });
  assert.deepEqual(verifyTotp(seeds.sha256, good, { now, lastUsedStep: null }), { ok: false });
});

test('accepts a code only once: the same step is refused after it was used', () => {
  const code = codeAt(nowStep);
  const first = verifyTotp(secret, code, { now, lastUsedStep: null });
  assert.equal(first.ok, true);
  assert.ok(first.ok);
  assert.deepEqual(verifyTotp(secret, code, { now, lastUsedStep: first.step }), { ok: false });
});

test('refuses an earlier step once a later one was used, but accepts a later one', () => {
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep - 1), { now, lastUsedStep: nowStep }), { ok: false });
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep), { now, lastUsedStep: nowStep - 1 }), {
    ok: true,
    step: nowStep,
  });
  assert.deepEqual(verifyTotp(secret, codeAt(nowStep + 1), { now, lastUsedStep: nowStep }), {
    ok: true,
    step: nowStep + 1,
  });
});

test('refuses malformed codes: 5 digits, letters, 7 digits for 6, 8 digits for 6, non-ASCII digits', () => {
  const good = codeAt(nowStep);
  const options = { now, lastUsedStep: null };
  assert.deepEqual(verifyTotp(secret, good.slice(0, 5), options), { ok: false });
  assert.deepEqual(verifyTotp(secret, `${good.slice(0, 5)}a`, options), { ok: false });
  assert.deepEqual(verifyTotp(secret, 'abcdef', options), { ok: false });
  assert.deepEqual(verifyTotp(secret, `${good}0`, options), { ok: false });
  assert.deepEqual(verifyTotp(secret, `0${good}`, options), { ok: false });
  assert.deepEqual(verifyTotp(secret, totpCode(secret, nowStep, { digits: 8 }), options), { ok: false });
  // Full-width digits (U+FF10..U+FF19) that look like the code.
  const fullWidth = [...good].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
  assert.deepEqual(verifyTotp(secret, fullWidth, options), { ok: false });
  assert.deepEqual(verifyTotp(secret, `+${good.slice(1)}`, options), { ok: false });
  assert.deepEqual(verifyTotp(secret, '', options), { ok: false });
});

test('strips whitespace around and inside a code', () => {
  const good = codeAt(nowStep);
  const spaced = ` ${good.slice(0, 3)} ${good.slice(3)}\n`;
  assert.deepEqual(verifyTotp(secret, spaced, { now, lastUsedStep: null }), { ok: true, step: nowStep });
});

test('verifies 8-digit SHA-256 codes with a 60-second period', () => {
  const step = totpStep(now, 60);
  const code = totpCode(seeds.sha256, step, { digits: 8, algorithm: 'sha256' });
  const options = { now, lastUsedStep: null, digits: 8, algorithm: 'sha256', period: 60 } as const;
  assert.deepEqual(verifyTotp(seeds.sha256, code, options), { ok: true, step });
  assert.deepEqual(verifyTotp(seeds.sha256, code, { ...options, algorithm: 'sha1' }), { ok: false });
});

test('builds an otpauth URI in Key URI format', () => {
  const uri = otpauthUri({ secret: ascii('foobar'), accountName: 'ada@example.com', issuer: 'Strongroom' });
  assert.equal(
    uri,
    'otpauth://totp/Strongroom:ada%40example.com?secret=MZXW6YTBOI&issuer=Strongroom&algorithm=SHA1&digits=6&period=30',
  );
  const parsed = new URL(uri);
  assert.equal(parsed.protocol, 'otpauth:');
  assert.equal(parsed.host, 'totp');
  assert.equal(parsed.searchParams.get('secret'), 'MZXW6YTBOI');
});

test('percent-encodes special characters in the otpauth label and issuer', () => {
  const secret20 = generateTotpSecret();
  const uri = otpauthUri({
    secret: secret20,
    accountName: "o'brien+ops@example.com",
    issuer: 'ACME Co & Sons/EU?#',
  });
  const [prefix, query] = uri.split('?') as [string, string];
  assert.equal(
    prefix,
    'otpauth://totp/ACME%20Co%20%26%20Sons%2FEU%3F%23:o%27brien%2Bops%40example.com',
  );
  assert.doesNotMatch(uri, /[ +']/);
  const params = new URLSearchParams(query);
  assert.equal(params.get('issuer'), 'ACME Co & Sons/EU?#');
  assert.deepEqual(base32Decode(params.get('secret') ?? ''), secret20);
  assert.equal(params.get('algorithm'), 'SHA1');
  assert.equal(params.get('digits'), '6');
  assert.equal(params.get('period'), '30');
  assert.equal(decodeURIComponent(prefix.slice('otpauth://totp/'.length)), "ACME Co & Sons/EU?#:o'brien+ops@example.com");
});

test('names non-default algorithm, digits and period in the otpauth URI', () => {
  const uri = otpauthUri({
    secret: seeds.sha512,
    accountName: 'ada',
    issuer: 'Strongroom',
    algorithm: 'sha512',
    digits: 8,
    period: 60,
  });
  assert.match(uri, /&algorithm=SHA512&digits=8&period=60$/);
});

test('refuses a colon or an empty value in the otpauth issuer or account name', () => {
  assert.throws(() => otpauthUri({ secret, accountName: 'a:b', issuer: 'Strongroom' }), RangeError);
  assert.throws(() => otpauthUri({ secret, accountName: 'ada', issuer: 'Strong:room' }), RangeError);
  assert.throws(() => otpauthUri({ secret, accountName: '', issuer: 'Strongroom' }), RangeError);
});

const RECOVERY_FORMAT = /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/;

test('generates 10 recovery codes by default in xxxx-xxxx-xxxx-xxxx lower-case base32', () => {
  const codes = generateRecoveryCodes();
  assert.equal(RECOVERY_CODE_COUNT, 10);
  assert.equal(codes.length, 10);
  for (const code of codes) assert.match(code, RECOVERY_FORMAT);
  assert.equal(generateRecoveryCodes(3).length, 3);
  assert.throws(() => generateRecoveryCodes(0), RangeError);
  assert.throws(() => generateRecoveryCodes(101), RangeError);
});

test('recovery codes carry 80 bits each and use the whole alphabet', () => {
  const codes = Array.from({ length: 20 }, () => generateRecoveryCodes()).flat();
  for (const code of codes) {
    const normalised = normaliseRecoveryCode(code);
    assert.ok(normalised !== null);
    assert.equal(base32Decode(normalised).length * 8, 80);
  }
  // 3,200 characters: the chance any of the 32 symbols is missing is about 32·(31/32)^3200.
  const seen = new Set(codes.join('').replace(/-/g, ''));
  assert.equal(seen.size, 32);
});

test('recovery codes are unique across many batches', () => {
  const codes = Array.from({ length: 100 }, () => generateRecoveryCodes()).flat();
  assert.equal(codes.length, 1000);
  assert.equal(new Set(codes).size, 1000);
});

test('normalises upper case, dashes and spaces in recovery codes', () => {
  assert.equal(normaliseRecoveryCode('ABCD-EFGH-IJKL-MNOP'), 'abcdefghijklmnop');
  assert.equal(normaliseRecoveryCode(' abcd efgh\tijkl-mnop '), 'abcdefghijklmnop');
  assert.equal(normaliseRecoveryCode('abcdefgh234567qr'), 'abcdefgh234567qr');
});

test('refuses recovery codes of the wrong length or with characters outside the alphabet', () => {
  assert.equal(normaliseRecoveryCode('abcd-efgh-ijkl-mno'), null);
  assert.equal(normaliseRecoveryCode('abcd-efgh-ijkl-mnopq'), null);
  assert.equal(normaliseRecoveryCode('abcd-efgh-ijkl-mn0p'), null);
  assert.equal(normaliseRecoveryCode('abcd-efgh-ijkl-mn1p'), null);
  assert.equal(normaliseRecoveryCode('abcd-efgh-ijkl-mn8p'), null);
  assert.equal(normaliseRecoveryCode('abcd_efgh_ijkl_mnop'), null);
  assert.equal(normaliseRecoveryCode(''), null);
});

test('hashes recovery codes with SHA-256 under a domain-separation prefix', () => {
  const normalised = 'abcdefghijklmnop';
  const hash = hashRecoveryCode(normalised);
  assert.equal(hash.length, 32);
  const expected = createHash('sha256').update(`strongroom:recovery-code:v1:${normalised}`).digest();
  assert.deepEqual(Buffer.from(hash), expected);
  assert.notDeepEqual(Buffer.from(hash), createHash('sha256').update(normalised).digest());
  assert.throws(() => hashRecoveryCode('ABCD-EFGH-IJKL-MNOP'), RangeError);
});

test('matches a recovery code against its stored hash, whatever way it was typed', () => {
  const [display] = generateRecoveryCodes(1) as [string];
  const stored = hashRecoveryCode(normaliseRecoveryCode(display) ?? '');
  const typed = normaliseRecoveryCode(display.toUpperCase().replace(/-/g, ' '));
  assert.ok(typed !== null);
  assert.equal(recoveryCodeMatches(typed, stored), true);
});

test('refuses a different recovery code, a malformed one and a truncated stored hash', () => {
  const [a, b] = generateRecoveryCodes(2) as [string, string];
  const na = normaliseRecoveryCode(a) ?? '';
  const nb = normaliseRecoveryCode(b) ?? '';
  const stored = hashRecoveryCode(na);
  assert.equal(recoveryCodeMatches(nb, stored), false);
  assert.equal(recoveryCodeMatches(a, stored), false); // display form, not normalised
  assert.equal(recoveryCodeMatches(na, stored.subarray(0, 31)), false);
  const flipped = new Uint8Array(stored);
  flipped[0] = (flipped[0] ?? 0) ^ 1;
  assert.equal(recoveryCodeMatches(na, flipped), false);
});
