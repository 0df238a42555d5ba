import { throttleAddress } from './client-address';

describe('finding 10: throttleAddress (the client address login attempts are counted under)', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2::a', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0003:0004:0005:0006', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['1::', '1:0:0:0::/64'],
    ['64:ff9b::203.0.113.7', '64:ff9b:0:0::/64'],
    ['::203.0.113.7', '0:0:0:0::/64'],
  ])('counts %s as %s', (ip, expected) => {
    expect(throttleAddress(ip)).toBe(expected);
  });

  it('puts two addresses of one /64 together and the next /64 apart', () => {
    expect(throttleAddress('2001:db8:1:2::1')).toBe(throttleAddress('2001:db8:1:2:8000::1'));
    expect(throttleAddress('2001:db8:1:2::1')).not.toBe(throttleAddress('2001:db8:1:3::1'));
  });

  it('keeps IPv4 addresses apart and what is not an address as given', () => {
    expect(throttleAddress('203.0.113.7')).not.toBe(throttleAddress('203.0.113.8'));
    expect(throttleAddress(undefined)).toBe('');
    expect(throttleAddress('')).toBe('');
    expect(throttleAddress('not-an-ip')).toBe('not-an-ip');
  });
});
