/**
 * Socket addresses as quiche takes them: IPv4 and IPv6 literals (every
 * textual form: compressed, embedded IPv4, zone) encode to Linux's
 * sockaddr layout and decode back to Node's canonical text; malformed
 * literals and ports are refused by name. And quiche's error codes by name.
 */
import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AF_INET6,
  decodeSockaddr,
  encodeSockaddr,
  quicheErrorName,
  SOCKADDR_IN_LEN,
  SOCKADDR_IN6_LEN,
} from '../src/index.js';

const roundTrip = (address: string, port = 443, scopeId = 0) => {
  const { buf, len } = encodeSockaddr(address, port, undefined, scopeId);
  return { len, decoded: decodeSockaddr(buf, 0, len), buf };
};

describe('encodeSockaddr / decodeSockaddr', () => {
  it('IPv4: 16 bytes, port big-endian, read back', () => {
    const { len, decoded, buf } = roundTrip('192.0.2.7', 0x1234);
    expect(len).toBe(SOCKADDR_IN_LEN);
    expect([buf[2], buf[3]]).toEqual([0x12, 0x34]);
    expect(decoded).toEqual({ family: 'IPv4', address: '192.0.2.7', port: 0x1234 });
  });

  it.each([
    ['::1', '::1'],
    ['::', '::'],
    ['2001:db8::8:800:200c:417a', '2001:db8::8:800:200c:417a'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['fe80::1:0:0:0:1', 'fe80:0:0:1::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:198.51.100.9', '::ffff:198.51.100.9'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('IPv6 %s: 28 bytes, read back as %s', (text, canonical) => {
    const { len, decoded, buf } = roundTrip(text, 8443);
    expect(len).toBe(SOCKADDR_IN6_LEN);
    expect(buf[0]! | (buf[1]! << 8)).toBe(AF_INET6);
    expect(decoded).toEqual({ family: 'IPv6', address: canonical, port: 8443, scopeId: 0 });
    expect(isIPv6(canonical)).toBe(true);
  });

  it('IPv6 with a zone: the zone text is dropped, the scope id is what is given', () => {
    expect(roundTrip('fe80::1%eth0', 1, 3).decoded).toEqual({
      family: 'IPv6',
      address: 'fe80::1',
      port: 1,
      scopeId: 3,
    });
  });

  it.each([
    '1::2::3',
    'gg::1',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    '::ffff:1.2.3',
    '12345::1',
    'localhost',
    '',
  ])('refuses %j', (text) => {
    expect(() => encodeSockaddr(text, 1)).toThrow(TypeError);
  });

  it('refuses ports outside 0..65535 and unknown families', () => {
    expect(() => encodeSockaddr('::1', 65536)).toThrow(RangeError);
    expect(() => encodeSockaddr('::1', -1)).toThrow(RangeError);
    expect(() => encodeSockaddr('::1', 1.5)).toThrow(RangeError);
    expect(() => decodeSockaddr(new Uint8Array(28).fill(0xee))).toThrow(/family/);
    expect(decodeSockaddr(new Uint8Array(28), 0, 0)).toBeNull();
  });
});

describe('quicheErrorName', () => {
  it('names quiche error codes, and nothing else', () => {
    expect(quicheErrorName(-1)).toBe('QUICHE_ERR_DONE');
    expect(quicheErrorName(-10)).toBe('QUICHE_ERR_TLS_FAIL');
    expect(quicheErrorName(-99)).toBeUndefined();
    expect(quicheErrorName(0)).toBeUndefined();
  });
});
