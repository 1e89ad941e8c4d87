/**
 * Who a client is (src/relay/client-address.ts): IPv6 counted per network prefix, and forwarded
 * addresses believed only from a trusted proxy. Pure functions, checked directly and by properties.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clientAddress, clientKey, forwardedAddress, ipv6Groups, parseTrustedProxies } from '../../src/relay/client-address.js';

const hex = (groups: readonly number[]): string => groups.map((group) => group.toString(16)).join(':');

test('ipv6Groups reads every spelling of an address the same way', () => {
  assert.deepEqual(ipv6Groups('2001:db8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipv6Groups('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ipv6Groups('::1'), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipv6Groups('fe80::1%eth0'), [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipv6Groups('::ffff:192.0.2.1'), [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201]);
  assert.deepEqual(ipv6Groups('64:ff9b::192.0.2.33'), [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x221]);
  assert.equal(ipv6Groups('192.0.2.1'), undefined);
  assert.equal(ipv6Groups('2001:db8::1::2'), undefined);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
      assert.deepEqual(ipv6Groups(hex(groups)), groups);
      // Node's own canonical form (compressed) reads back to the same groups.
      assert.deepEqual(ipv6Groups(new URL(`http://[${hex(groups)}]/`).hostname.slice(1, -1)), groups);
    }),
  );
});

test('clientKey: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its prefix', () => {
  assert.equal(clientKey('192.0.2.7', 64), '192.0.2.7');
  assert.equal(clientKey('::ffff:192.0.2.7', 64), '192.0.2.7');
  assert.equal(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64), '2001:db8:1:2:0:0:0:0/64');
  assert.equal(clientKey('2001:db8:1:2::1', 64), clientKey('2001:db8:1:2:ffff::9', 64));
  assert.notEqual(clientKey('2001:db8:1:2::1', 64), clientKey('2001:db8:1:3::1', 64));
  assert.equal(clientKey('2001:db8:1:2::1', 48), clientKey('2001:db8:1:3::1', 48));
  assert.equal(clientKey('2001:db8:1:2::1', 128), '2001:db8:1:2:0:0:0:1/128');
  assert.equal(clientKey('2001:db8:1:2::1', 60), clientKey('2001:db8:1:f::1', 60));
  assert.notEqual(clientKey('2001:db8:1:2::1', 60), clientKey('2001:db8:1:12::1', 60));
  assert.equal(clientKey(undefined, 64), 'unknown');
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }),
      fc.integer({ min: 1, max: 64 }),
      (groups, otherTail, prefix) => {
        // Two addresses that share their first 64 bits share every key of a prefix up to 64.
        const other = [...groups.slice(0, 4), ...otherTail];
        assert.equal(clientKey(hex(groups), prefix), clientKey(hex(other), prefix));
      },
    ),
  );
});

test('parseTrustedProxies takes addresses and CIDRs of both families, and names what it cannot read', () => {
  const list = parseTrustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1']);
  assert.ok(list.check('10.200.0.1', 'ipv4'));
  assert.ok(list.check('127.0.0.1', 'ipv4'));
  assert.ok(!list.check('127.0.0.2', 'ipv4'));
  assert.ok(list.check('fd12::5', 'ipv6'));
  assert.ok(!list.check('2001:db8::1', 'ipv6'));
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0/8', '', '1.2.3.4/8/9', '10.0.0.0/x']) {
    assert.throws(() => parseTrustedProxies([bad]), (error: Error) => error instanceof RangeError && error.message.includes(JSON.stringify(bad)), bad);
  }
});

test('forwardedAddress drops quotes, brackets and ports', () => {
  assert.equal(forwardedAddress(' 192.0.2.60 '), '192.0.2.60');
  assert.equal(forwardedAddress('192.0.2.60:4711'), '192.0.2.60');
  assert.equal(forwardedAddress('"[2001:db8:cafe::17]:4711"'), '2001:db8:cafe::17');
  assert.equal(forwardedAddress('[2001:db8::1]'), '2001:db8::1');
  assert.equal(forwardedAddress('2001:db8::1'), '2001:db8::1');
  assert.equal(forwardedAddress('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(forwardedAddress('unknown'), undefined);
  assert.equal(forwardedAddress('_hidden'), undefined);
  assert.equal(forwardedAddress(''), undefined);
});

test('clientAddress believes forwarding headers only from a trusted proxy, read from the right', () => {
  const trusted = parseTrustedProxies(['127.0.0.1', '10.0.0.0/8']);
  const xff = (value: string) => ({ 'x-forwarded-for': value });
  // Not from a trusted proxy: the headers are ignored, whatever they say.
  assert.equal(clientAddress('127.0.0.2', xff('203.0.113.9'), trusted), '127.0.0.2');
  assert.equal(clientAddress('127.0.0.2', { forwarded: 'for=203.0.113.9' }, trusted), '127.0.0.2');
  // From the proxy: the rightmost address that is not a trusted proxy.
  assert.equal(clientAddress('127.0.0.1', xff('203.0.113.9'), trusted), '203.0.113.9');
  assert.equal(clientAddress('127.0.0.1', xff('198.51.100.1, 203.0.113.9, 10.1.2.3'), trusted), '203.0.113.9');
  // What a client wrote in front of the proxy's entry is not believed.
  assert.equal(clientAddress('127.0.0.1', xff('1.1.1.1, 203.0.113.9'), trusted), '203.0.113.9');
  // No header: the proxy itself. A garbled hop stops the walk at the last trusted address.
  assert.equal(clientAddress('127.0.0.1', {}, trusted), '127.0.0.1');
  assert.equal(clientAddress('127.0.0.1', xff('203.0.113.9, garbage'), trusted), '127.0.0.1');
  assert.equal(clientAddress('127.0.0.1', xff('garbage, 10.0.0.5'), trusted), '10.0.0.5');
  // Every hop trusted: the leftmost.
  assert.equal(clientAddress('127.0.0.1', xff('10.0.0.9, 10.0.0.5'), trusted), '10.0.0.9');
  // Forwarded (RFC 7239), used when there is no X-Forwarded-For.
  assert.equal(clientAddress('127.0.0.1', { forwarded: 'for=198.51.100.4;proto=https, for="[2001:db8::7]:443"' }, trusted), '2001:db8::7');
  assert.equal(clientAddress('127.0.0.1', { forwarded: 'For="192.0.2.43:80";by=10.0.0.1' }, trusted), '192.0.2.43');
  assert.equal(clientAddress('127.0.0.1', { forwarded: 'proto=https' }, trusted), '127.0.0.1');
  assert.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=198.51.100.4' }, trusted), '203.0.113.9');
  // A dual-stack listener sees the proxy as ::ffff:127.0.0.1.
  assert.equal(clientAddress('::ffff:127.0.0.1', xff('203.0.113.9'), trusted), '203.0.113.9');
  fc.assert(
    fc.property(fc.ipV4(), fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), { maxLength: 5 }), (peer, hops) => {
      // From an untrusted peer, no header changes anything.
      fc.pre(!trusted.check(peer, 'ipv4'));
      assert.equal(clientAddress(peer, xff(hops.join(', ')), trusted), peer);
    }),
  );
});
