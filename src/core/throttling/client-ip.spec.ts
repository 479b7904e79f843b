import { ipKey } from './client-ip';

describe('ipKey', () => {
  it('keeps IPv4 addresses as they are', () => {
    expect(ipKey('203.0.113.7')).toBe('ip:203.0.113.7');
    expect(ipKey('203.0.113.8')).not.toBe(ipKey('203.0.113.7'));
  });

  it('reads IPv4-mapped IPv6 as the IPv4 address, in either notation', () => {
    expect(ipKey('::ffff:203.0.113.7')).toBe('ip:203.0.113.7');
    expect(ipKey('::FFFF:203.0.113.7')).toBe('ip:203.0.113.7');
    expect(ipKey('::ffff:cb00:7107')).toBe('ip:203.0.113.7');
    expect(ipKey('::ffff:127.0.0.1')).toBe(ipKey('127.0.0.1'));
  });

  it('groups IPv6 by /64, whatever the notation', () => {
    const key = ipKey('2001:db8:1:2::1');
    expect(key).toBe('ip:2001:db8:1:2::/64');
    for (const sameBlock of [
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0db8:0001:0002:0000:0000:0000:0002',
      '2001:DB8:1:2:a:b:c:d',
      '2001:db8:1:2::1%eth0',
    ]) {
      expect({ address: sameBlock, key: ipKey(sameBlock) }).toEqual({ address: sameBlock, key });
    }
    for (const otherBlock of ['2001:db8:1:3::1', '2001:db8:2:2::1', '2001:db9:1:2::1']) {
      expect({ address: otherBlock, key: ipKey(otherBlock) }).not.toEqual({ address: otherBlock, key });
    }
  });

  it('keeps the IPv6 loopback as one client', () => {
    expect(ipKey('::1')).toBe('ip:::1');
  });
});
