import { SessionValidationException } from '../exceptions/session-validation.exception';

/** The rule of one field of a JSON body; every field is optional (absent is fine). */
export interface BodyFieldRule {
  type: 'string' | 'boolean';
  /** Longest string accepted, in UTF-16 code units. Default: no limit. */
  maxLength?: number;
  /** Whether `null` counts as absent. Default: `false` (null is refused like any wrong type). */
  nullable?: boolean;
}

/** The fields a body may have, by name; any other field is refused. */
export type BodyRules = Readonly<Record<string, BodyFieldRule>>;

// A client picks the names of unknown fields: echo a few, shortened, never a whole body.
const MAX_NAMED_UNKNOWN = 10;
const MAX_NAME_LENGTH = 64;

/**
 * Checks a parsed request body against `rules`, the way the demo's class-validator pipe
 * does (`whitelist` + `forbidNonWhitelisted`), without class-validator: an absent body is
 * an empty one; anything but a JSON object is refused (field `body`); unknown fields are
 * refused by name. Throws `SessionValidationException` listing every fault; returns a new
 * object holding only the known fields that were present.
 */
export function validateBody<T extends object>(body: unknown, rules: BodyRules): T {
  if (body === undefined) return {} as T;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SessionValidationException(['body must be a JSON object'], ['body']);
  }
  const messages: string[] = [];
  const fields: string[] = [];
  const accepted: Record<string, unknown> = {};
  let unknown = 0;
  for (const name of Object.keys(body)) {
    const value = (body as Record<string, unknown>)[name];
    const rule = Object.hasOwn(rules, name) ? rules[name] : undefined;
    if (!rule) {
      if (unknown++ < MAX_NAMED_UNKNOWN) {
        const shown = name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name;
        messages.push(`property ${shown} should not exist`);
        fields.push(shown);
      }
      continue;
    }
    const fault = faultOf(name, value, rule);
    if (fault) {
      messages.push(fault);
      fields.push(name);
    } else if (value !== undefined && value !== null) {
      accepted[name] = value;
    }
  }
  if (fields.length > 0) throw new SessionValidationException(messages, fields);
  return accepted as T;
}

function faultOf(name: string, value: unknown, rule: BodyFieldRule): string | undefined {
  if (value === undefined || (value === null && rule.nullable)) return undefined;
  if (rule.type === 'boolean') return typeof value === 'boolean' ? undefined : `${name} must be a boolean value`;
  if (typeof value !== 'string') return `${name} must be a string`;
  if (rule.maxLength !== undefined && value.length > rule.maxLength) {
    return `${name} must be shorter than or equal to ${rule.maxLength} characters`;
  }
  return undefined;
}
