import { UNKNOWN_DEVICE, describeUserAgent } from '../web/src/device';

// The demo page's "device and browser in words" (apps/demo-api/web/src/device.ts), on User-Agents of real browsers.
describe('the demo page names a session’s device, browser and OS in words', () => {
  it.each([
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
      'Chrome 156 on Linux (desktop)',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
      'Firefox 133 on Windows 10 (desktop)',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
      'Safari 17 on iOS 17.4 (phone)',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      'Chrome 131 on Android 14 (phone)',
    ],
    ['curl/8.5.0', 'curl 8.5.0'],
  ])('%s → %s', (userAgent, words) => {
    expect(describeUserAgent(userAgent)).toBe(words);
  });

  it('says so when there is no User-Agent', () => {
    expect(describeUserAgent(null)).toBe(UNKNOWN_DEVICE);
    expect(describeUserAgent('   ')).toBe(UNKNOWN_DEVICE);
  });
});
