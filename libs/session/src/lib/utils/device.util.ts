/** What kind of device a session runs on. */
export type DeviceType = 'desktop' | 'mobile' | 'tablet' | 'tv' | 'bot' | 'unknown';

/**
 * User-Agent Client Hints as a request sent them (raw header values). Chromium sends the
 * low-entropy ones (`Sec-CH-UA`, `Sec-CH-UA-Mobile`, `Sec-CH-UA-Platform`) by default and the
 * high-entropy ones only when the server asked (`Accept-CH`).
 */
export interface ClientHints {
  /** `Sec-CH-UA`: brands and major versions, a structured-header list. */
  brands?: string | null;
  /** `Sec-CH-UA-Full-Version-List`: brands and full versions. */
  fullVersionList?: string | null;
  /** `Sec-CH-UA-Mobile`: `?1` or `?0`. */
  mobile?: string | null;
  /** `Sec-CH-UA-Platform`: `"Windows"`, `"Android"`, ... */
  platform?: string | null;
  /** `Sec-CH-UA-Platform-Version`: `"15.0.0"`. */
  platformVersion?: string | null;
}

/** A session's device in words, as the sessions list shows it. */
export interface DeviceDescription {
  /** Browser name ("Chrome"), or the client's product token ("curl"); null when unknown. */
  browser: string | null;
  /** Browser version as sent (major only when the client sends only that); null when unknown. */
  browserVersion: string | null;
  /** Operating system ("Windows", "iOS"); null when unknown. */
  os: string | null;
  /** Operating system version ("10", "17.4"); null when unknown. */
  osVersion: string | null;
  /** Device class. */
  type: DeviceType;
  /** All of it in words: "Chrome 156 on Linux (desktop)"; "Unknown device" without a user agent. */
  label: string;
}

/** The part of `DeviceDescription` the sessions list carries. */
export type SessionDevice = Pick<DeviceDescription, 'browser' | 'os' | 'type' | 'label'>;

/** What `describeDevice` says for a session without a user agent or client hints. */
export const UNKNOWN_DEVICE = 'Unknown device';

/** Longest client-hint header read; longer ones are ignored (a real one is under 200 bytes). */
const MAX_HINT = 512;

/** The shape of bowser's `parse` (an optional peer dependency). */
type BowserParse = (userAgent: string) => {
  browser: { name?: string; version?: string };
  os: { name?: string; version?: string; versionName?: string };
  platform: { type?: string };
};

let parser: Promise<BowserParse | null> | undefined;

/** Loads bowser once, on first use; null when it is not installed (then only the product token and hints are read). */
function loadParser(): Promise<BowserParse | null> {
  parser ??= import('bowser').then(
    (module: unknown) => {
      const candidate = module as { parse?: BowserParse; default?: { parse?: BowserParse } };
      return candidate.parse ?? candidate.default?.parse ?? null;
    },
    () => null,
  );
  return parser;
}

/**
 * Describes a device from its User-Agent and, when sent, its User-Agent Client Hints,
 * which win over the user agent (Chromium freezes its user agent string: "reduced UA").
 * Parsing uses the optional peer `bowser`, loaded on first call; without it only the hints
 * and the product token ("curl/8.5.0") are read. Never throws: garbage gives `unknown`.
 */
export async function describeDevice(
  userAgent: string | null | undefined,
  clientHints?: ClientHints | null,
): Promise<DeviceDescription> {
  return describeWith(await loadParser(), userAgent, clientHints);
}

/** Describes many user agents with one parser load (for a list). */
export async function deviceDescriber(): Promise<(userAgent: string | null | undefined, clientHints?: ClientHints | null) => DeviceDescription> {
  const parse = await loadParser();
  return (userAgent, clientHints) => describeWith(parse, userAgent, clientHints);
}

/** The client hints of a request, from a header reader (null for absent ones). */
export function clientHintsOf(header: (name: string) => string | undefined): ClientHints | undefined {
  const hints: ClientHints = {
    brands: header('sec-ch-ua') ?? null,
    fullVersionList: header('sec-ch-ua-full-version-list') ?? null,
    mobile: header('sec-ch-ua-mobile') ?? null,
    platform: header('sec-ch-ua-platform') ?? null,
    platformVersion: header('sec-ch-ua-platform-version') ?? null,
  };
  return Object.values(hints).some((value) => value) ? hints : undefined;
}

const BOWSER_TYPES: Record<string, DeviceType> = {
  desktop: 'desktop',
  mobile: 'mobile',
  tablet: 'tablet',
  tv: 'tv',
  bot: 'bot',
};
const TYPE_WORDS: Record<DeviceType, string | undefined> = {
  desktop: 'desktop',
  mobile: 'phone',
  tablet: 'tablet',
  tv: 'TV',
  bot: 'bot',
  unknown: undefined,
};

function describeWith(
  parse: BowserParse | null,
  userAgent: string | null | undefined,
  clientHints: ClientHints | null | undefined,
): DeviceDescription {
  const ua = typeof userAgent === 'string' ? userAgent.trim().slice(0, 1024) : '';
  let browser: string | null = null;
  let browserVersion: string | null = null;
  let os: string | null = null;
  let osVersion: string | null = null;
  let type: DeviceType = 'unknown';
  let productOnly = false;
  if (ua !== '' && parse) {
    try {
      const parsed = parse(ua);
      browser = parsed.browser.name || null;
      browserVersion = parsed.browser.version || null;
      os = parsed.os.name || null;
      osVersion =
        parsed.os.versionName || (os === 'iOS' || os === 'Android' ? parsed.os.version || null : null);
      type = BOWSER_TYPES[parsed.platform.type ?? ''] ?? 'unknown';
    } catch {
      // A user agent bowser chokes on is described by its product token below.
    }
  }
  if (ua !== '' && !browser) {
    const token = productToken(ua);
    if (token) [browser, browserVersion, productOnly] = [...token, true];
  }
  const hints = readHints(clientHints);
  if (hints.brand) {
    browser = hints.brand.name;
    browserVersion = hints.brand.version;
    productOnly = false;
  }
  if (hints.platform) {
    if (hints.platform !== os) osVersion = null;
    os = hints.platform;
  }
  if (hints.platformVersion) osVersion = hints.platformVersion;
  if (hints.mobile !== undefined && (type === 'unknown' || type === 'desktop' || type === 'mobile')) {
    type = hints.mobile ? 'mobile' : 'desktop';
  }
  return { browser, browserVersion, os, osVersion, type, label: labelOf(browser, productOnly ? browserVersion : majorOf(browserVersion), os, osVersion, type, ua) };
}

function labelOf(
  browser: string | null,
  browserVersion: string | null,
  os: string | null,
  osVersion: string | null,
  type: DeviceType,
  ua: string,
): string {
  if (!browser && !os) return ua === '' ? UNKNOWN_DEVICE : ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
  const name = browser ? [browser, browserVersion].filter(Boolean).join(' ') : 'Unknown browser';
  const system = os ? [os, osVersion].filter(Boolean).join(' ') : undefined;
  const words = TYPE_WORDS[type];
  return `${name}${system ? ` on ${system}` : ''}${words ? ` (${words})` : ''}`;
}

/** "156.0.7000.12" → "156" (a browser is named by its major version; a product token keeps its own). */
function majorOf(version: string | null): string | null {
  return version ? version.split('.')[0] : null;
}

/** "curl/8.5.0 (x86_64)" → ["curl", "8.5.0"]. */
function productToken(ua: string): [string, string] | undefined {
  const match = /^([A-Za-z][\w.-]{0,40})\/([\w.-]{1,20})/.exec(ua);
  if (!match || match[1] === 'Mozilla') return undefined;
  return [match[1], match[2]];
}

interface ReadHints {
  brand?: { name: string; version: string | null };
  platform?: string;
  platformVersion?: string;
  mobile?: boolean;
}

/** Brands that only say "Chromium-based": a more specific brand in the list wins. */
const GENERIC_BRANDS = new Set(['Chromium']);
const BRAND_NAMES: Record<string, string> = { 'Google Chrome': 'Chrome', 'Microsoft Edge': 'Edge' };

function readHints(hints: ClientHints | null | undefined): ReadHints {
  if (!hints || typeof hints !== 'object') return {};
  const read: ReadHints = {};
  const brand = pickBrand(hints.fullVersionList) ?? pickBrand(hints.brands);
  if (brand) read.brand = brand;
  const platform = sfString(hints.platform);
  if (platform && platform !== 'Unknown') read.platform = platform;
  const platformVersion = sfString(hints.platformVersion);
  if (platformVersion && /^[\d.]{1,20}$/.test(platformVersion) && platformVersion !== '0.0.0') {
    read.platformVersion = platformVersion.replace(/(\.0)+$/, '');
  }
  const mobile = typeof hints.mobile === 'string' ? hints.mobile.trim() : '';
  if (mobile === '?1') read.mobile = true;
  else if (mobile === '?0') read.mobile = false;
  return read;
}

/** The most specific real brand of a `Sec-CH-UA` list (GREASE brands such as "Not-A.Brand" skipped). */
function pickBrand(header: string | null | undefined): { name: string; version: string | null } | undefined {
  const items = sfList(header);
  if (!items) return undefined;
  const real = items.filter(({ value }) => !/not.?a.?brand/i.test(value) && !/[^\w .-]/.test(value));
  const chosen = real.find(({ value }) => !GENERIC_BRANDS.has(value)) ?? real[0];
  if (!chosen) return undefined;
  const version = chosen.params['v'];
  return { name: BRAND_NAMES[chosen.value] ?? chosen.value, version: version && /^[\w.]{1,32}$/.test(version) ? version : null };
}

/** An RFC 8941 sf-string ("Windows"), or undefined for anything else. */
function sfString(header: string | null | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > MAX_HINT) return undefined;
  const parsed = parseString(header.trim(), 0);
  return parsed && parsed.end === header.trim().length && parsed.value.length <= 64 ? parsed.value : undefined;
}

/** An RFC 8941 list of sf-strings with string parameters; undefined when it does not parse. */
function sfList(header: string | null | undefined): { value: string; params: Record<string, string> }[] | undefined {
  if (typeof header !== 'string' || header.length > MAX_HINT) return undefined;
  const text = header.trim();
  const items: { value: string; params: Record<string, string> }[] = [];
  let at = 0;
  while (at < text.length) {
    const item = parseString(text, at);
    if (!item || item.value.length > 64) return undefined;
    at = item.end;
    const params: Record<string, string> = {};
    while (text[at] === ';') {
      at = skipSpaces(text, at + 1);
      const key = /^[a-z*][a-z0-9_.*-]*/.exec(text.slice(at))?.[0];
      if (!key) return undefined;
      at += key.length;
      if (text[at] !== '=') return undefined;
      const value = parseString(text, at + 1);
      if (!value) return undefined;
      params[key] = value.value;
      at = value.end;
    }
    items.push({ value: item.value, params });
    at = skipSpaces(text, at);
    if (at === text.length) break;
    if (text[at] !== ',') return undefined;
    at = skipSpaces(text, at + 1);
    if (at === text.length || items.length > 16) return undefined;
  }
  return items.length > 0 ? items : undefined;
}

function skipSpaces(text: string, at: number): number {
  while (text[at] === ' ' || text[at] === '\t') at++;
  return at;
}

function parseString(text: string, start: number): { value: string; end: number } | undefined {
  if (text[start] !== '"') return undefined;
  let value = '';
  for (let at = start + 1; at < text.length; at++) {
    const char = text[at];
    if (char === '\\') {
      const next = text[at + 1];
      if (next !== '"' && next !== '\\') return undefined;
      value += next;
      at++;
    } else if (char === '"') {
      return { value, end: at + 1 };
    } else if (char < ' ' || char > '~') {
      return undefined;
    } else {
      value += char;
    }
  }
  return undefined;
}
