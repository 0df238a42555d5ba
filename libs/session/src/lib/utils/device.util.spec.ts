import { UNKNOWN_DEVICE, clientHintsOf, describeDevice } from './device.util';

describe('describeDevice', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36', 'Chrome 156 on Linux (desktop)', 'desktop'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox 133 on Windows 10 (desktop)', 'desktop'],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
      'Safari 17 on iOS 17.4 (phone)',
      'mobile',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      'Chrome 131 on Android 14 (phone)',
      'mobile',
    ],
    ['curl/8.5.0', 'curl 8.5.0', 'unknown'],
  ])('%s → %s', async (userAgent, label, type) => {
    const device = await describeDevice(userAgent);
    expect(device.label).toBe(label);
    expect(device.type).toBe(type);
  });

  it('gives every field for a known browser', async () => {
    expect(await describeDevice('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0')).toEqual({
      browser: 'Firefox',
      browserVersion: '133.0',
      os: 'Windows',
      osVersion: '10',
      type: 'desktop',
      label: 'Firefox 133 on Windows 10 (desktop)',
    });
  });

  it('says "Unknown device" without a user agent', async () => {
    for (const ua of [null, undefined, '', '   ']) {
      expect(await describeDevice(ua)).toEqual({ browser: null, browserVersion: null, os: null, osVersion: null, type: 'unknown', label: UNKNOWN_DEVICE });
    }
  });

  it('lets client hints win over a reduced user agent', async () => {
    const reduced = 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36';
    const device = await describeDevice(reduced, {
      brands: '"Not)A;Brand";v="8", "Chromium";v="156", "Microsoft Edge";v="156"',
      fullVersionList: '"Not)A;Brand";v="8.0.0.0", "Chromium";v="156.0.7000.12", "Microsoft Edge";v="156.0.3000.1"',
      mobile: '?1',
      platform: '"Android"',
      platformVersion: '"15.0.0"',
    });
    expect(device).toEqual({
      browser: 'Edge',
      browserVersion: '156.0.3000.1',
      os: 'Android',
      osVersion: '15',
      type: 'mobile',
      label: 'Edge 156 on Android 15 (phone)',
    });
  });

  it('reads the hints alone (no user agent)', async () => {
    const device = await describeDevice(null, { brands: '"Chromium";v="156"', platform: '"Linux"', mobile: '?0' });
    expect(device.label).toBe('Chromium 156 on Linux (desktop)');
  });

  it('ignores garbage hints and never throws', async () => {
    const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
    const garbage = [
      { brands: 'Chrome', platform: 'Windows', mobile: 'yes', platformVersion: '15' },
      { brands: '"unterminated', platform: '"Win\\dows"', platformVersion: '"../../etc"' },
      { brands: '"A";v=1', fullVersionList: '"x";v="1",', platform: '"' + 'W'.repeat(600) + '"' },
      { brands: `${'"a";v="1", '.repeat(100)}"b"` },
      { brands: '"Evil\u0007"', platform: '"\u00e9"' },
      { brands: 42, platform: {}, mobile: [] } as never,
    ];
    for (const hints of garbage) {
      expect((await describeDevice(ua, hints)).label).toBe('Chrome 156 on Linux (desktop)');
    }
    expect((await describeDevice(ua, 'nonsense' as never)).label).toBe('Chrome 156 on Linux (desktop)');
  });

  it('labels an unknown user agent by itself, shortened', async () => {
    expect((await describeDevice('x'.repeat(100))).label).toBe(`${'x'.repeat(57)}…`);
  });
});

describe('clientHintsOf', () => {
  it('reads the five headers, and nothing when none is sent', () => {
    const headers: Record<string, string> = { 'sec-ch-ua': '"Chromium";v="156"', 'sec-ch-ua-mobile': '?0' };
    expect(clientHintsOf((name) => headers[name])).toEqual({
      brands: '"Chromium";v="156"',
      fullVersionList: null,
      mobile: '?0',
      platform: null,
      platformVersion: null,
    });
    expect(clientHintsOf(() => undefined)).toBeUndefined();
  });
});
