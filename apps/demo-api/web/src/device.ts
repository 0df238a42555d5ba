import Bowser from 'bowser';

/** What the page shows for a session with no User-Agent. */
export const UNKNOWN_DEVICE = 'Unknown device';

const PLATFORMS: Record<string, string> = { desktop: 'desktop', mobile: 'phone', tablet: 'tablet', tv: 'TV', bot: 'bot' };

/**
 * A session's device, browser and OS in words, from its User-Agent: "Chrome 156 on Linux
 * (desktop)", "Safari 17 on iOS 17.4 (phone)". A client bowser does not know is shown by
 * its own product token ("curl 8.5.0"), so a script's session is still recognisable.
 */
export function describeUserAgent(userAgent: string | null | undefined): string {
  const ua = (userAgent ?? '').trim();
  if (ua === '') return UNKNOWN_DEVICE;
  const parsed = Bowser.parse(ua);
  const browserName = parsed.browser.name;
  const major = parsed.browser.version?.split('.')[0];
  const browser = browserName ? [browserName, major].filter(Boolean).join(' ') : productToken(ua);
  const osName = parsed.os.name;
  const osVersion = parsed.os.versionName ?? (osName === 'iOS' || osName === 'Android' ? parsed.os.version : undefined);
  const os = osName ? [osName, osVersion].filter(Boolean).join(' ') : undefined;
  const type = parsed.platform.type ? PLATFORMS[parsed.platform.type] : undefined;
  return `${browser}${os ? ` on ${os}` : ''}${type ? ` (${type})` : ''}`;
}

/** "curl/8.5.0 (x86_64)" → "curl 8.5.0"; anything else, shortened. */
function productToken(ua: string): string {
  const match = /^([A-Za-z][\w.-]{0,40})\/([\w.-]{1,20})/.exec(ua);
  if (match) return `${match[1]} ${match[2]}`;
  return ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
}
