import type { SessionRecord } from '../interfaces/session-store.interface';
import { UNKNOWN_DEVICE, deviceDescriber } from '../utils/device.util';
import type { ClientHints, DeviceDescription, SessionDevice } from '../utils/device.util';

/** One session as `GET <prefix>/sessions` (and an app's admin listing) shows it. */
export class SessionView {
  /** Public handle of the session (not a credential). */
  id: string;
  /** Login time (ISO 8601). */
  createdAt: string;
  /** Last recorded activity (ISO 8601). */
  lastSeenAt: string;
  /** When the session ends unless it is used again (ISO 8601). */
  expiresAt: string;
  /** User agent seen at login. */
  userAgent: string | null;
  /** Client IP seen at login. */
  ip: string | null;
  /** Whether this is the session making the request. */
  current: boolean;
  /**
   * Browser, OS and device type in words, parsed from `userAgent` when listed (and, for the
   * current session, from the client hints of the listing request). Without the optional
   * peer `bowser`: `{ browser: null, os: null, type: 'unknown', label: <product token or user agent> }`.
   */
  device: SessionDevice;
}

/** Describes one user agent (see `deviceDescriber`). */
export type DescribeDevice = (userAgent: string | null | undefined, clientHints?: ClientHints | null) => DeviceDescription;

/**
 * The response item for a stored session. Fields are copied one by one, so hashes,
 * roles, claims and whatever a store adds later never reach a response. `describe`
 * (from `deviceDescriber()`) fills `device`; without it the device is unknown.
 */
export function toSessionView(
  record: SessionRecord,
  currentSessionId: string | undefined,
  describe?: DescribeDevice,
  currentHints?: ClientHints | null,
): SessionView {
  const current = record.id === currentSessionId;
  const described = describe?.(record.userAgent, current ? currentHints : undefined);
  return {
    id: record.id,
    createdAt: record.createdAt.toISOString(),
    lastSeenAt: record.lastSeenAt.toISOString(),
    expiresAt: record.expiresAt.toISOString(),
    userAgent: record.userAgent,
    ip: record.ip,
    current,
    device: described
      ? { browser: described.browser, os: described.os, type: described.type, label: described.label }
      : { browser: null, os: null, type: 'unknown', label: UNKNOWN_DEVICE },
  };
}

/**
 * Response items for a list of sessions, each with its `device` described (the parser is
 * loaded once). `currentHints` are the client hints of the request, applied to the
 * current session only: the others were recorded from other requests.
 */
export async function toSessionViews(
  records: SessionRecord[],
  currentSessionId: string | undefined,
  currentHints?: ClientHints | null,
): Promise<SessionView[]> {
  const describe = await deviceDescriber();
  return records.map((record) => toSessionView(record, currentSessionId, describe, currentHints));
}
