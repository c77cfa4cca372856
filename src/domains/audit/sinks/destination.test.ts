import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DestinationRefusedError, isNonPublicAddress, resolveDestination } from './destination.js';

test('loopback, private, link-local, unspecified and other non-public addresses are refused', () => {
  for (const address of [
    '127.0.0.1',
    '127.255.0.3',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '0.0.0.0',
    '100.64.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::a00:1',
    '2002:0a00:0001::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
    'not-an-ip',
  ]) {
    assert.equal(isNonPublicAddress(address), true, address);
  }
});

test('public addresses are allowed', () => {
  for (const address of ['8.8.8.8', '93.184.215.14', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '2a00:1450:4001::1']) {
    assert.equal(isNonPublicAddress(address), false, address);
  }
});

test('resolveDestination checks resolved names, and connects to the checked address', async () => {
  await assert.rejects(resolveDestination('localhost', { allowPrivateNetworks: false }), DestinationRefusedError);
  await assert.rejects(resolveDestination('[::1]', { allowPrivateNetworks: false }), DestinationRefusedError);
  const allowed = await resolveDestination('localhost', { allowPrivateNetworks: true });
  assert.equal(isNonPublicAddress(allowed.address), true);
  assert.equal(allowed.servername, 'localhost');
  assert.deepEqual(await resolveDestination('8.8.8.8', { allowPrivateNetworks: false }), {
    address: '8.8.8.8',
    family: 4,
    servername: undefined,
  });
});
