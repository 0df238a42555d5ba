import type { NextFunction, Request, Response } from 'express';

/**
 * Deepest nesting of arrays and objects a request body may have (the body itself is
 * level 1). Our DTOs need 2; 32 leaves room for any real client. Deeper bodies would
 * make class-transformer and class-validator recurse until the stack overflows.
 */
export const MAX_BODY_DEPTH = 32;

/** `type` of the error `bodyDepthMiddleware` hands to the body error middleware, in body-parser's style. */
export const BODY_TOO_DEEP = 'entity.too.deep';

/** What a too-deep body is told (`validation_failed`, field `body`). */
export const BODY_TOO_DEEP_MESSAGE = `body is nested too deeply (at most ${MAX_BODY_DEPTH} levels of arrays and objects)`;

/**
 * True when `value` nests arrays and objects deeper than `max`. Iterative, so a deep
 * value cannot overflow the stack here; it stops at the first node past `max`, so it
 * visits at most the nodes of the first `max` levels (bounded by the body limit).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<[node: object, depth: number]> = [];
  if (value !== null && typeof value === 'object') pending.push([value, 1]);
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Refuses a parsed body nested deeper than MAX_BODY_DEPTH before any pipe transforms
 * it. It runs after the parsers: V8's JSON.parse is iterative (a 100 kB body of
 * nothing but brackets parses fine), the recursion is in what comes after.
 */
export function bodyDepthMiddleware(req: Request, _res: Response, next: NextFunction): void {
  if (nestedDeeperThan(req.body, MAX_BODY_DEPTH)) {
    next(Object.assign(new Error(BODY_TOO_DEEP_MESSAGE), { status: 400, type: BODY_TOO_DEEP }));
  } else {
    next();
  }
}

/** True for V8's "Maximum call stack size exceeded". */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}
